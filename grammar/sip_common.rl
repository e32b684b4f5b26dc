# Shared machines for the sipkit grammars: RFC 3261 §25.1 basic rules, tokens, LWS and
# line folding, quoted strings, comments, hosts and IP addresses.
#
# Grammar only: no actions here. Host grammars (sip_message.rl, sdp.rl) include this
# file with  `include sip_common "sip_common.rl";`  and attach their own actions.
# Names follow the RFC ABNF with '-' written as '_'.
%%{
  machine sip_common;

  CRLF            = "\r\n";
  # A line end as sipkit reads it: CRLF, or a bare LF (parser_options::bare_lf; the host
  # code refuses a bare LF afterwards when that tolerance is off).
  EOL_lf          = "\r"? "\n";
  SP              = " ";
  HTAB            = "\t";
  WSP             = SP | HTAB;
  DQUOTE          = "\"";
  ALPHA           = [A-Za-z];
  DIGIT           = [0-9];
  HEXDIG          = [0-9A-Fa-f];
  LHEX            = [0-9a-f];
  alphanum        = ALPHA | DIGIT;

  # RFC 3261 §25.1: line folding is a CRLF followed by at least one WSP.
  LWS             = (WSP* EOL_lf)? WSP+;
  SWS             = LWS?;
  HCOLON          = WSP* ":" SWS;

  UTF8_CONT       = 0x80..0xBF;
  UTF8_NONASCII   = (0xC0..0xDF UTF8_CONT)
                  | (0xE0..0xEF UTF8_CONT{2})
                  | (0xF0..0xF7 UTF8_CONT{3})
                  | (0xF8..0xFB UTF8_CONT{4})
                  | (0xFC..0xFD UTF8_CONT{5});
  TEXT_UTF8char   = 0x21..0x7E | UTF8_NONASCII;
  TEXT_UTF8_TRIM  = TEXT_UTF8char+ (LWS* TEXT_UTF8char)*;

  reserved        = [;/?:@&=+$,];
  mark            = [\-_.!~*'()];
  unreserved      = alphanum | mark;
  escaped         = "%" HEXDIG HEXDIG;

  token           = (alphanum | [\-.!%*_+`'~])+;
  separators      = [()<>@,;:\\"/\[\]?={}] | SP | HTAB;
  word            = (alphanum | [\-.!%*_+`'~()<>:\\"/\[\]?{}])+;

  STAR            = SWS "*" SWS;
  SLASH           = SWS "/" SWS;
  EQUAL           = SWS "=" SWS;
  LPAREN          = SWS "(" SWS;
  RPAREN          = SWS ")" SWS;
  RAQUOT          = ">" SWS;
  LAQUOT          = SWS "<";
  COMMA           = SWS "," SWS;
  SEMI            = SWS ";" SWS;
  COLON           = SWS ":" SWS;
  LDQUOT          = SWS DQUOTE;
  RDQUOT          = DQUOTE SWS;

  # Comments nest; Ragel machines are regular, so nesting is bounded at three levels,
  # which covers every User-Agent/Server comment seen in practice.
  ctext           = 0x21..0x27 | 0x2A..0x5B | 0x5D..0x7E | UTF8_NONASCII | LWS;
  quoted_pair     = "\\" (0x00..0x09 | 0x0B..0x0C | 0x0E..0x7F);
  comment_3       = "(" (ctext | quoted_pair)* ")";
  comment_2       = "(" (ctext | quoted_pair | comment_3)* ")";
  comment         = "(" (ctext | quoted_pair | comment_2)* ")";

  qdtext          = LWS | 0x21 | 0x23..0x5B | 0x5D..0x7E | UTF8_NONASCII;
  # The quoted text without the surrounding SWS, so actions can mark its bytes.
  quoted_string_body = DQUOTE (qdtext | quoted_pair)* DQUOTE;
  quoted_string   = SWS quoted_string_body;

  # Hosts (RFC 3261 §25.1). '_' may stand where '-' may (parser_options::underscore_in_host:
  # the host code refuses it afterwards when that tolerance is off).
  label_sep       = [\-_];
  domainlabel     = alphanum | alphanum (alphanum | label_sep)* alphanum;
  toplabel        = ALPHA | ALPHA (alphanum | label_sep)* alphanum;
  hostname        = (domainlabel ".")* toplabel "."?;
  IPv4address     = DIGIT{1,3} "." DIGIT{1,3} "." DIGIT{1,3} "." DIGIT{1,3};
  # IPv6 (RFC 5954: RFC 3986's IPv6address; RFC 5118 lists the forms). The machines take a
  # cheap superset, the bytes an IPv6 address is made of; the exact RFC 3986 form is checked
  # by ip_literal.cpp on the span, from an action on the closing ']'. Spelt out here, the
  # exact form is inlined at every host (URI, Via, maddr, parameter values): the message
  # machine measured 4,697 states that way against 2,313 with the superset.
  IPv6chars       = (HEXDIG | ":" | ".")+;
  IPv6reference   = "[" IPv6chars "]";
  port            = DIGIT+;
}%%
