// RFC 3261 §25 message grammar: one Ragel pass over start line and headers.
//
// Rule names follow the ABNF ('-' written '_') so this file reads next to the RFC.
// Actions only record positions into parse_state (src/parser/parse_state.hpp); numbers
// are converted and limits checked by the host code in message_view.cpp afterwards.
//
// Where the grammar is ambiguous until a later byte (a URI's "user:pass@" versus
// "host:port", a display name versus a bare URI), actions keep temporary marks and
// commit them only on the byte that decides, so dead alternatives leave no trace.

#include "parser/byte_class.hpp"
#include "parser/parse_state.hpp"

namespace sipkit::parser {
namespace {

inline bool parse_port(const char* from, const char* to, std::uint16_t& out) {
  std::uint32_t v = 0;
  for (const char* c = from; c < to; ++c) {
    v = v * 10 + static_cast<std::uint32_t>(*c - '0');
    if (v > 65535) return false;
  }
  out = static_cast<std::uint16_t>(v);
  return true;
}

inline uri_scheme scheme_of(std::string_view s) {
  if (iequals(s, "sip")) return uri_scheme::sip;
  if (iequals(s, "sips")) return uri_scheme::sips;
  if (iequals(s, "tel")) return uri_scheme::tel;
  return uri_scheme::other;
}

}  // namespace

%%{
  machine sip_message;
  include sip_common "sip_common.rl";

  action mark { st.mark = p; }
  action value_mark { st.value_mark = p; }

  # ---------------------------------------------------------------- fast runs
  # A skip action moves p to the last byte of the run of its class that starts at p, in
  # one table-driven loop instead of one generated state per byte. It may only sit on
  # transitions into a state that loops on every byte of the class with the skip as its
  # only action, so skipping is exactly what the machine would have done byte by byte;
  # tests/parser/check_skip_loops.py proves this on the state graph (ctest: skip_loops).
  action skip_token { p = skip_run<k_token>(p + 1, pe) - 1; }
  action skip_word { p = skip_run<k_word>(p + 1, pe) - 1; }
  action skip_text { p = skip_run<k_text>(p + 1, pe) - 1; }
  action skip_qdtext { p = skip_run<k_qdtext>(p + 1, pe) - 1; }
  action skip_alphanum { p = skip_run<k_alphanum>(p + 1, pe) - 1; }
  action skip_digit { p = skip_run<k_digit>(p + 1, pe) - 1; }

  # The same languages as sip_common.rl's, written so that the skips land on loops.
  token_f         = token $skip_token;
  word_f          = word $skip_word;
  digits_f        = DIGIT+ $skip_digit;
  qd_ascii        = 0x21 | 0x23..0x5B | 0x5D..0x7E;
  quoted_string_body_f = DQUOTE (qd_ascii $skip_qdtext | LWS | UTF8_NONASCII | quoted_pair)*
                         DQUOTE;
  # domainlabel and toplabel: alphanum runs joined by runs of '-'. A label that starts
  # with a digit may still be part of an IPv4address, so it gets no skip.
  label_alpha     = ALPHA (label_sep* (alphanum $skip_alphanum))*;
  domainlabel_f   = label_alpha | DIGIT (label_sep* alphanum)*;
  hostname_f      = (domainlabel_f ".")* label_alpha "."?;

  # ---------------------------------------------------------------- URI actions
  # The slot was zeroed when it was handed out (next_addr, reset, parse_uri): a URI can only
  # be entered once per slot, since a display name never contains the ':' after a scheme.
  action uri_begin {
    st.uri_start = p;
    st.user_start = nullptr;
    st.user_colon = nullptr;
    st.params_start = nullptr;
    st.params_end = nullptr;
    st.uri_port_overflow_at = nullptr;
  }
  # A port overflow inside a URI only counts once the URI is over: until '@' the same
  # digits may turn out to be a password.
  action uri_end {
    st.uri->raw = st.span(st.uri_start, p);
    st.note_port_overflow(st.uri_port_overflow_at);
  }
  action scheme_sip { st.uri->scheme = uri_scheme::sip; st.uri->scheme_text = st.span(st.uri_start, p); }
  action scheme_sips { st.uri->scheme = uri_scheme::sips; st.uri->scheme_text = st.span(st.uri_start, p); }
  action scheme_other {
    st.uri->scheme_text = st.span(st.uri_start, p);
    st.uri->scheme = scheme_of(st.uri->scheme_text);
  }
  action opaque_mark { st.mark = p; }
  action opaque_end { st.uri->opaque = st.span(st.mark, p); }
  action user_mark { st.user_start = p; st.user_colon = nullptr; }
  action user_colon { if (st.user_colon == nullptr) st.user_colon = p; }
  # '@' decides: what came before was userinfo, and anything the host:port reading of
  # the same bytes recorded is void.
  action userinfo_commit {
    const char* user_end = st.user_colon ? st.user_colon : p;
    st.uri->user = st.span(st.user_start, user_end);
    st.uri->password = st.user_colon ? st.span(st.user_colon + 1, p) : std::string_view{};
    st.uri->host = {};
    st.uri->host_type = host_kind::none;
    st.uri->port = 0;
    st.uri->params = {};
    st.uri->headers = {};
    st.uri->transport_param = st.uri->user_param = st.uri->method_param = {};
    st.uri->maddr_param = st.uri->ttl_param = {};
    st.uri->lr = false;
    st.params_start = st.params_end = nullptr;
    st.uri_port_overflow_at = nullptr;
  }
  action host_mark { st.host_start = p; }
  action kind_hostname { st.pending_host_kind = host_kind::hostname; }
  action kind_ipv4 { st.pending_host_kind = host_kind::ipv4; }
  action kind_ipv6 { st.pending_host_kind = host_kind::ipv6; }
  # IPv6 references: the grammar takes IPv6chars, ip_literal.cpp checks RFC 3986's form on
  # the closing ']' (a '[' only ever starts an IPv6 reference, so no dead alternative
  # reaches it).
  action v6_open { st.v6_start = p; }
  action v6_close { st.check_ipv6(st.v6_start, p); }
  IPv6reference_c = IPv6reference >v6_open @v6_close;

  action uri_host_end {
    st.uri->host = st.span(st.host_start, p);
    st.uri->host_type = st.pending_host_kind;
  }
  action uri_port_end {
    if (!parse_port(st.mark, p, st.uri->port)) st.uri_port_overflow_at = st.mark;
  }
  action uri_param_begin { if (st.params_start == nullptr) st.params_start = p; }
  action uri_param_end { st.params_end = p; st.uri->params = st.span(st.params_start, st.params_end); }
  action uri_transport { st.uri->transport_param = st.span(st.value_mark, p); }
  action uri_user_param { st.uri->user_param = st.span(st.value_mark, p); }
  action uri_method { st.uri->method_param = st.span(st.value_mark, p); }
  action uri_ttl { st.uri->ttl_param = st.span(st.value_mark, p); }
  action uri_maddr { st.uri->maddr_param = st.span(st.value_mark, p); }
  action uri_lr { st.uri->lr = true; }
  action uri_headers_end { st.uri->headers = st.span(st.mark, p); }

  # ---------------------------------------------------------------- URI grammar
  user_unreserved = [&=+$,;?/];
  user            = (unreserved | escaped | user_unreserved)+;
  password        = (unreserved | escaped | [&=+$,])*;
  userinfo        = user >user_mark (":" >user_colon password)? "@" >userinfo_commit;

  # GB/T 28181 names a SIP domain by ten digits ("sip:34020000001320000001@3402000000"),
  # which RFC 3261's hostname refuses (its toplabel starts with a letter) and devices send
  # in every REGISTER. A host of digits only, without dots (so never an IPv4address), is
  # taken as a host name.
  numeric_domain  = DIGIT+;
  host            = ( hostname %kind_hostname
                    | numeric_domain %kind_hostname
                    | IPv4address %kind_ipv4
                    | IPv6reference_c %kind_ipv6 ) >host_mark;
  host_f          = ( hostname_f %kind_hostname
                    | numeric_domain %kind_hostname
                    | IPv4address %kind_ipv4
                    | IPv6reference_c %kind_ipv6 ) >host_mark;
  uri_host        = host_f %uri_host_end;
  hostport        = uri_host (":" digits_f >mark %uri_port_end)?;

  param_unreserved = [\[\]/:&+$];
  paramchar       = param_unreserved | unreserved | escaped;
  pname           = paramchar+;
  pvalue          = paramchar+;
  known_uri_param = "transport"i | "user"i | "method"i | "ttl"i | "maddr"i | "lr"i;
  uri_parameter   = ( "transport"i "=" (token >value_mark %uri_transport)
                    | "user"i "=" (token >value_mark %uri_user_param)
                    | "method"i "=" (token >value_mark %uri_method)
                    | "ttl"i "=" (DIGIT{1,3} >value_mark %uri_ttl)
                    | "maddr"i "=" (host >value_mark %uri_maddr)
                    | "lr"i %uri_lr ("=" pvalue)?
                    | (pname - known_uri_param) ("=" pvalue)?
                    ) >uri_param_begin %uri_param_end;
  uri_parameters  = (";" uri_parameter)*;

  hnv_unreserved  = [\[\]/?:+$];
  hname           = (hnv_unreserved | unreserved | escaped)+;
  hvalue          = (hnv_unreserved | unreserved | escaped)*;
  uri_headers     = "?" (hname "=" hvalue ("&" hname "=" hvalue)*) >mark %uri_headers_end;

  SIP_URI         = ( "sip"i %scheme_sip | "sips"i %scheme_sips ) ":"
                    userinfo? hostport uri_parameters uri_headers?;

  # A bare addr-spec (no < >) must not contain ',', ';' or '?' (RFC 3261 §20): its
  # parameters belong to the header, not the URI.
  bare_user       = (unreserved | escaped | [&=+$/])+;
  bare_userinfo   = bare_user >user_mark (":" >user_colon password)? "@" >userinfo_commit;
  SIP_URI_bare    = ( "sip"i %scheme_sip | "sips"i %scheme_sips ) ":" bare_userinfo? hostport;

  uric            = reserved | unreserved | escaped;
  uric_bare       = [/?:@&=+$] | unreserved | escaped;
  scheme          = ALPHA (ALPHA | DIGIT | [+\-.])*;
  other_scheme    = scheme - ("sip"i | "sips"i);
  absoluteURI     = other_scheme %scheme_other ":" (uric*) >opaque_mark %opaque_end;
  absoluteURI_bare = other_scheme %scheme_other ":"
                     ((uric_bare - [;?,]) (uric_bare - [;?,])*) >opaque_mark %opaque_end;

  URI             = (SIP_URI | absoluteURI) >uri_begin %uri_end;

  # The full URI (Request-URI, name-addr) is one sub-machine, `uri`, that the contexts
  # call instead of embedding a copy each: every context follows a URI with a byte no URI
  # can continue with (SP, '>', end of input), so the URI ends at the first byte it cannot
  # take, and that byte goes back to the caller. Errors inside the URI stop the machine on
  # the same byte as an embedded copy would.
  action uri_call { fcall uri; }
  action uri_return {
    // Entered as parse_uri's machine nothing may follow; the error stops on this byte.
    if (top == 0) fgoto *sip_message_error;
    fhold;
    fret;
  }
  URI_bare        = (SIP_URI_bare | absoluteURI_bare) >uri_begin %uri_end;

  # ---------------------------------------------------------------- generic params
  action hparam_begin { if (st.params_start == nullptr) st.params_start = p; }
  action hparam_end { st.params_end = p; }
  gen_value       = token | host | quoted_string_body_f;

  # ---------------------------------------------------------------- name-addr
  # Slots are taken on the ':' or ',' before a value, never on its first byte: the URI
  # machine's own entering action runs first on that byte and must already see its slot.
  action addr_next { if (st.next_addr() == nullptr) fbreak; }
  action item_mark { st.item_start = p; }
  action dn_mark { st.dn_start = p; }
  action dn_end { st.dn_end = p; }
  action angle_open {
    st.addr->display_name = st.span(st.dn_start, st.dn_end);
    st.addr->angle_brackets = true;
    st.addr->star = false;
  }
  action addr_uri_done { st.params_start = st.params_end = nullptr; }
  action addr_end {
    st.addr->raw = st.span(st.item_start, p);
    st.addr->params = st.span(st.params_start, st.params_end);
  }
  action addr_star { st.addr->star = true; }
  action tag_value { st.addr->tag = st.span(st.value_mark, p); }
  # expires and q share the generic parameter's value machine (one copy instead of three);
  # the name's leaving action says which typed field the value goes to.
  action param_is_expires { st.addr_param = addr_param_kind::expires; }
  action param_is_q { st.addr_param = addr_param_kind::q; }
  action param_is_other { st.addr_param = addr_param_kind::other; }
  action addr_param_value {
    if (st.addr_param == addr_param_kind::expires) st.addr->expires = st.span(st.value_mark, p);
    else if (st.addr_param == addr_param_kind::q) st.addr->q = st.span(st.value_mark, p);
  }

  display_name    = (token (LWS token)*) >dn_mark %dn_end
                  | quoted_string_body_f >dn_mark %dn_end;
  name_addr       = (display_name SWS)? "<" >angle_open @uri_call ">" >addr_uri_done SWS;
  addr_spec_bare  = URI_bare %addr_uri_done;

  # c-p-expires and c-p-q take any gen-value: a value that is not delta-seconds / qvalue is
  # still a contact-extension (RFC 3261 §25), and the host code (finish_address) keeps
  # only well-formed numbers in the typed fields.
  known_addr_param = "tag"i | "expires"i | "q"i;
  addr_param      = ( "tag"i EQUAL (token_f >value_mark %tag_value)
                    | ( "expires"i %param_is_expires | "q"i %param_is_q
                      | (token - known_addr_param) %param_is_other )
                      (EQUAL gen_value >value_mark %addr_param_value)?
                    ) >hparam_begin %hparam_end;
  # One trailing ';' (parser_options::trailing_semicolon). Without SWS after it: what
  # follows (the line end, a ',') takes the whitespace, and a SEMI here cost ~40 states
  # in each of the six places an address is inlined.
  addr_value      = (name_addr | addr_spec_bare) (SEMI addr_param)* (SWS ";")?;

  # One value per header (From, To) or a comma list (Contact, Route, Record-Route).
  addr_single     = addr_value >item_mark %addr_end;
  addr_list       = addr_single (SWS "," @addr_next SWS addr_single)*;
  contact_list    = ("*" >item_mark %addr_star %addr_end) | addr_list;

  # ---------------------------------------------------------------- Via
  action via_begin {
    st.via = st.next_via();
    if (st.via == nullptr) fbreak;
    st.item_start = p;
    st.params_start = st.params_end = nullptr;
  }
  action via_end {
    st.via->raw = st.span(st.item_start, p);
    st.via->params = st.span(st.params_start, st.params_end);
  }
  action via_protocol_name { st.via->protocol_name = st.span(st.mark, p); }
  action via_protocol_version { st.via->protocol_version = st.span(st.mark, p); }
  action via_transport { st.via->transport = st.span(st.mark, p); }
  action via_host_end {
    st.via->host = st.span(st.host_start, p);
    st.via->host_type = st.pending_host_kind;
  }
  action via_port_end { if (!parse_port(st.mark, p, st.via->port)) st.note_port_overflow(st.mark); }
  action via_branch { st.via->branch = st.span(st.value_mark, p); }
  action via_received { st.via->received = st.span(st.value_mark, p); }
  action via_rport { st.via->has_rport = true; }
  action via_rport_value { st.via->rport = st.span(st.value_mark, p); }
  # RFC 3261 §20.42 received = IPv4address / IPv6address (RFC 5118 §4.5 also sees it in
  # brackets); IPv6chars holds both, ip_literal.cpp tells them apart.
  action received_check { st.check_ip_address(st.value_mark, p); }
  action via_maddr { st.via->maddr = st.span(st.value_mark, p); }
  action via_ttl { st.via->ttl = st.span(st.value_mark, p); }

  sent_protocol   = token_f >mark %via_protocol_name SLASH token_f >mark %via_protocol_version
                    SLASH token_f >mark %via_transport;
  sent_by         = host_f %via_host_end (COLON digits_f >mark %via_port_end)?;
  known_via_param = "branch"i | "received"i | "rport"i | "maddr"i | "ttl"i;
  via_params      = ( "branch"i EQUAL (token_f >value_mark %via_branch)
                    | "received"i EQUAL ((IPv6chars %received_check | IPv6reference_c)
                                          >value_mark %via_received)
                    | "rport"i %via_rport (EQUAL (DIGIT+ >value_mark %via_rport_value))?
                    | "maddr"i EQUAL (host >value_mark %via_maddr)
                    | "ttl"i EQUAL (DIGIT{1,3} >value_mark %via_ttl)
                    | (token - known_via_param) (EQUAL gen_value)?
                    ) >hparam_begin %hparam_end;
  via_parm        = (sent_protocol LWS sent_by (SEMI via_params)*) >via_begin %via_end;
  via_value       = via_parm (SWS "," SWS via_parm)*;

  # ---------------------------------------------------------------- CSeq, Call-ID ...
  action cseq_number_mark { if (st.cseq_out != nullptr) st.cseq_number_start = p; }
  action cseq_number_end { if (st.cseq_out != nullptr) st.cseq_number_end = p; }
  action cseq_method_end {
    if (st.cseq_out != nullptr) st.cseq_out->method_text = st.span(st.mark, p);
  }
  Method          = token_f;
  cseq_value      = digits_f >cseq_number_mark %cseq_number_end LWS Method >mark %cseq_method_end;

  callid          = word_f ("@" word_f)?;
  delta_seconds   = digits_f;

  action ctype_type { if (!st.duplicate) st.msg_ctype().type = st.span(st.mark, p); }
  action ctype_subtype { if (!st.duplicate) st.msg_ctype().subtype = st.span(st.mark, p); }
  action ctype_params_end {
    if (!st.duplicate) st.msg_ctype().params = st.span(st.params_start, st.params_end);
  }
  m_parameter     = (token EQUAL (token_f | quoted_string_body_f)) >hparam_begin %hparam_end;
  media_type      = token_f >mark %ctype_type SLASH token_f >mark %ctype_subtype
                    ((SEMI m_parameter)* %ctype_params_end);

  option_tag      = token_f;
  # Empty elements (",a", "a,,b", "a,") are parser_options::empty_list_elements.
  option_list     = COMMA* option_tag (COMMA+ option_tag)* COMMA*;
  method_list     = (COMMA* Method (COMMA+ Method)* COMMA*)?;

  # ---------------------------------------------------------------- auth
  action auth_begin { st.auth = st.next_auth(); if (st.auth == nullptr) fbreak; st.params_start = st.params_end = nullptr; }
  action auth_scheme_end { st.auth->scheme = st.span(st.mark, p); }
  action auth_params_end { st.auth->params = st.span(st.params_start, st.params_end); }
  action a_username { st.auth->username = st.span(st.value_mark, p); }
  action a_realm { st.auth->realm = st.span(st.value_mark, p); }
  action a_nonce { st.auth->nonce = st.span(st.value_mark, p); }
  action a_uri { st.auth->uri = st.span(st.value_mark, p); }
  action a_response { st.auth->response = st.span(st.value_mark, p); }
  action a_algorithm { st.auth->algorithm = st.span(st.value_mark, p); }
  action a_cnonce { st.auth->cnonce = st.span(st.value_mark, p); }
  action a_opaque { st.auth->opaque = st.span(st.value_mark, p); }
  action a_qop { st.auth->qop = st.span(st.value_mark, p); }
  action a_nc { st.auth->nc = st.span(st.value_mark, p); }
  action a_stale { st.auth->stale = st.span(st.value_mark, p); }
  action a_domain { st.auth->domain = st.span(st.value_mark, p); }
  action a_userhash { st.auth->userhash = st.span(st.value_mark, p); }

  auth_val        = (token_f | quoted_string_body_f) >value_mark;
  known_auth_param = "username"i | "realm"i | "nonce"i | "uri"i | "response"i | "algorithm"i
                   | "cnonce"i | "opaque"i | "qop"i | "nc"i | "stale"i | "domain"i | "userhash"i;
  auth_param      = ( "username"i EQUAL auth_val %a_username
                    | "realm"i EQUAL auth_val %a_realm
                    | "nonce"i EQUAL auth_val %a_nonce
                    | "uri"i EQUAL auth_val %a_uri
                    | "response"i EQUAL auth_val %a_response
                    | "algorithm"i EQUAL auth_val %a_algorithm
                    | "cnonce"i EQUAL auth_val %a_cnonce
                    | "opaque"i EQUAL auth_val %a_opaque
                    | "qop"i EQUAL auth_val %a_qop
                    | "nc"i EQUAL auth_val %a_nc
                    | "stale"i EQUAL auth_val %a_stale
                    | "domain"i EQUAL auth_val %a_domain
                    | "userhash"i EQUAL auth_val %a_userhash
                    | (token - known_auth_param) EQUAL auth_val
                    ) >hparam_begin %hparam_end;
  auth_value      = (token_f >mark %auth_scheme_end LWS auth_param (COMMA auth_param)*)
                    >auth_begin %auth_params_end;

  # ---------------------------------------------------------------- header lines
  action name_start { st.name_start = p; st.context = "header name"; }
  action name_end { st.name_end = p; }
  action line_end {
    if (st.header != nullptr) {
      st.header->value = st.span(st.header->value.data(), p);
      if (static_cast<std::size_t>(p - st.name_start) > st.limits->max_line_length) {
        st.fail_limit(errc::line_too_long, "header line", st.name_start);
        fbreak;
      }
    }
  }

  action h_via { if (!st.open_header(header_id::via, p)) fbreak; }
  action h_from { if (!st.open_header(header_id::from, p)) fbreak; }
  action h_to { if (!st.open_header(header_id::to, p)) fbreak; }
  action h_call_id { if (!st.open_header(header_id::call_id, p)) fbreak; }
  action h_cseq { if (!st.open_header(header_id::cseq, p)) fbreak; }
  action h_max_forwards { if (!st.open_header(header_id::max_forwards, p)) fbreak; }
  action h_content_length { if (!st.open_header(header_id::content_length, p)) fbreak; }
  action h_content_type { if (!st.open_header(header_id::content_type, p)) fbreak; }
  action h_contact { if (!st.open_header(header_id::contact, p)) fbreak; }
  action h_route { if (!st.open_header(header_id::route, p)) fbreak; }
  action h_record_route { if (!st.open_header(header_id::record_route, p)) fbreak; }
  action h_expires { if (!st.open_header(header_id::expires, p)) fbreak; }
  action h_require { if (!st.open_header(header_id::require, p)) fbreak; }
  action h_supported { if (!st.open_header(header_id::supported, p)) fbreak; }
  action h_proxy_require { if (!st.open_header(header_id::proxy_require, p)) fbreak; }
  action h_unsupported { if (!st.open_header(header_id::unsupported, p)) fbreak; }
  action h_allow { if (!st.open_header(header_id::allow, p)) fbreak; }
  action h_www_authenticate { if (!st.open_header(header_id::www_authenticate, p)) fbreak; }
  action h_proxy_authenticate { if (!st.open_header(header_id::proxy_authenticate, p)) fbreak; }
  action h_authorization { if (!st.open_header(header_id::authorization, p)) fbreak; }
  action h_proxy_authorization { if (!st.open_header(header_id::proxy_authorization, p)) fbreak; }
  action h_content_encoding { if (!st.open_header(header_id::content_encoding, p)) fbreak; }
  action h_subject { if (!st.open_header(header_id::subject, p)) fbreak; }
  action h_event { if (!st.open_header(header_id::event, p)) fbreak; }
  action h_allow_events { if (!st.open_header(header_id::allow_events, p)) fbreak; }
  action h_refer_to { if (!st.open_header(header_id::refer_to, p)) fbreak; }
  action h_referred_by { if (!st.open_header(header_id::referred_by, p)) fbreak; }
  action h_session_expires { if (!st.open_header(header_id::session_expires, p)) fbreak; }
  action h_identity { if (!st.open_header(header_id::identity, p)) fbreak; }
  action h_extension { if (!st.open_header(header_id::extension, p)) fbreak; }

  action call_id_value { if (!st.duplicate) st.msg_call_id(st.span(st.mark, p)); }
  action cseq_begin { st.cseq_out = st.duplicate ? nullptr : st.msg_cseq(); }

  # TEXT-UTF8char | UTF8-CONT | LWS, with the single-byte part as one class for the skip.
  header_value    = ((0x21..0x7E | UTF8_CONT) $skip_text | UTF8_NONASCII | LWS)*;
  hc              = WSP* ":";

  # Header names: every known name in long and compact form; anything else is an
  # extension-header. Subtraction keeps the alternatives disjoint.
  n_via           = "Via"i | "v"i;
  n_from          = "From"i | "f"i;
  n_to            = "To"i | "t"i;
  n_call_id       = "Call-ID"i | "i"i;
  n_cseq          = "CSeq"i;
  n_max_forwards  = "Max-Forwards"i;
  n_content_length = "Content-Length"i | "l"i;
  n_content_type  = "Content-Type"i | "c"i;
  n_contact       = "Contact"i | "m"i;
  n_route         = "Route"i;
  n_record_route  = "Record-Route"i;
  n_expires       = "Expires"i;
  n_require       = "Require"i;
  n_supported     = "Supported"i | "k"i;
  n_proxy_require = "Proxy-Require"i;
  n_unsupported   = "Unsupported"i;
  n_allow         = "Allow"i;
  n_www_authenticate = "WWW-Authenticate"i;
  n_proxy_authenticate = "Proxy-Authenticate"i;
  n_authorization = "Authorization"i;
  n_proxy_authorization = "Proxy-Authorization"i;
  n_content_encoding = "Content-Encoding"i | "e"i;
  n_subject       = "Subject"i | "s"i;
  n_event         = "Event"i | "o"i;
  n_allow_events  = "Allow-Events"i | "u"i;
  n_refer_to      = "Refer-To"i | "r"i;
  n_referred_by   = "Referred-By"i | "b"i;
  n_session_expires = "Session-Expires"i | "x"i;
  n_identity      = "Identity"i | "y"i;
  known_name      = n_via | n_from | n_to | n_call_id | n_cseq | n_max_forwards
                  | n_content_length | n_content_type | n_contact | n_route | n_record_route
                  | n_expires | n_require | n_supported | n_proxy_require | n_unsupported
                  | n_allow | n_www_authenticate | n_proxy_authenticate | n_authorization
                  | n_proxy_authorization | n_content_encoding | n_subject | n_event
                  | n_allow_events | n_refer_to | n_referred_by | n_session_expires
                  | n_identity;

  message_header  = ( n_via %name_end hc @h_via SWS via_value
                    | n_from %name_end hc @h_from SWS addr_single
                    | n_to %name_end hc @h_to SWS addr_single
                    | n_call_id %name_end hc @h_call_id SWS (callid >mark %call_id_value)
                    | n_cseq %name_end hc @h_cseq @cseq_begin SWS cseq_value
                    | n_max_forwards %name_end hc @h_max_forwards SWS digits_f
                    | n_content_length %name_end hc @h_content_length SWS digits_f
                    | n_content_type %name_end hc @h_content_type SWS media_type
                    | n_contact %name_end hc @h_contact SWS contact_list
                    | n_route %name_end hc @h_route SWS addr_list
                    | n_record_route %name_end hc @h_record_route SWS addr_list
                    | n_expires %name_end hc @h_expires SWS delta_seconds
                    | n_require %name_end hc @h_require SWS option_list
                    | n_supported %name_end hc @h_supported SWS option_list?
                    | n_proxy_require %name_end hc @h_proxy_require SWS option_list
                    | n_unsupported %name_end hc @h_unsupported SWS option_list
                    | n_allow %name_end hc @h_allow SWS method_list
                    | n_www_authenticate %name_end hc @h_www_authenticate SWS auth_value
                    | n_proxy_authenticate %name_end hc @h_proxy_authenticate SWS auth_value
                    | n_authorization %name_end hc @h_authorization SWS auth_value
                    | n_proxy_authorization %name_end hc @h_proxy_authorization SWS auth_value
                    | n_content_encoding %name_end hc @h_content_encoding header_value
                    | n_subject %name_end hc @h_subject header_value
                    | n_event %name_end hc @h_event header_value
                    | n_allow_events %name_end hc @h_allow_events header_value
                    | n_refer_to %name_end hc @h_refer_to header_value
                    | n_referred_by %name_end hc @h_referred_by header_value
                    | n_session_expires %name_end hc @h_session_expires header_value
                    | n_identity %name_end hc @h_identity header_value
                    | (token - known_name) %name_end hc @h_extension header_value
                    ) >name_start WSP* (EOL_lf >line_end);

  # ---------------------------------------------------------------- start lines
  action method_end {
    st.msg_method(st.span(st.mark, p));
    st.uri = st.msg_request_uri();
    st.context = "Request-URI";
  }
  action version_end { st.msg_version(st.span(st.mark, p)); }
  action request_uri_end { st.context = "SIP-Version"; }
  action status_end { st.msg_status(st.span(st.mark, p)); st.context = "Reason-Phrase"; }
  action reason_end { st.msg_reason(st.span(st.mark, p)); }
  action headers_done { st.headers_complete = true; fbreak; }
  action status_line_begin { st.context = "Status-Line"; }

  SIP_Version     = "SIP"i "/" DIGIT+ "." DIGIT+;
  # A plain token: until it leaves "SIP/", the method is ambiguous with a Status-Line.
  Request_Line    = token >mark %method_end SP @uri_call
                    (SP >request_uri_end) (SIP_Version >mark %version_end) EOL_lf;
  Reason_Phrase   = (reserved | unreserved | escaped | UTF8_NONASCII | UTF8_CONT | SP | HTAB)*;
  Status_Code     = DIGIT{3};
  Status_Line     = (SIP_Version >mark %version_end) SP @status_line_begin
                    (Status_Code >mark %status_end) (SP (Reason_Phrase >mark %reason_end))? EOL_lf;

  SIP_message     = (Request_Line | Status_Line) message_header* EOL_lf @headers_done;

  main           := SIP_message;
  # Also the uri entry point (parse_uri): the URI states stay final for the end of input.
  uri            := URI <: (any @uri_return)?;
  via_only       := via_value;
  name_addr_only := addr_single;
  cseq_only      := cseq_value;
  auth_only      := auth_value;
}%%

%% write data;

machine_result run_sip_machine(entry_point entry, parse_state& st, const char* p, const char* pe) {
  const char* eof = pe;
  int cs = sip_message_start;
  int stack[1];  // fcall uri: a URI never contains another call
  int top = 0;
  switch (entry) {
    case entry_point::message: cs = sip_message_en_main; break;
    case entry_point::uri: cs = sip_message_en_uri; break;
    case entry_point::via: cs = sip_message_en_via_only; break;
    case entry_point::name_addr: cs = sip_message_en_name_addr_only; break;
    case entry_point::cseq: cs = sip_message_en_cseq_only; break;
    case entry_point::auth: cs = sip_message_en_auth_only; break;
  }
  %% write exec;
  machine_result r;
  r.stop = p;
  r.error = cs == sip_message_error;
  // Inside a called URI the caller's rest is still pending, final state or not.
  r.accepted = cs >= sip_message_first_final && top == 0;
  return r;
}

}  // namespace sipkit::parser
