// RFC 8866 §9 SDP grammar: one Ragel pass over a whole session description.
//
// Rule names follow the ABNF ('-' written '_') so this file reads next to the RFC. The
// order of lines (§5) is part of the machine, so an out-of-order line fails on its type
// letter. Actions only record positions into parse_state (src/sdp/parse_state.hpp); the
// digits of numeric fields are kept as spans and converted by the host code afterwards.
//
// Every decision point of the grammar is decided by one byte (each line starts with a type
// letter that is unique among the lines allowed next, and each field ends on a byte its
// characters exclude), so no action ever fires on an alternative that later dies.

#include "sdp/parse_state.hpp"

namespace sipkit::sdp {

%%{
  machine sdp;
  alphtype unsigned char;
  include sip_common "sip_common.rl";

  # ------------------------------------------------------------------ basic rules
  # §5: "a parser SHOULD accept records terminated with a single newline character".
  # Every line end is counted, so an extension line knows its position.
  action eol { ++st.lines; }
  EOL             = "\r"? "\n" @eol;
  VCHAR           = 0x21..0x7E;
  POS_DIGIT       = [1-9];
  integer         = POS_DIGIT DIGIT*;
  non_ws_string   = (VCHAR | 0x80..0xFF)+;
  byte_string     = (0x01..0x09 | 0x0B..0x0C | 0x0E..0xFF)+;
  text            = byte_string;
  # SDP's token-char is wider than SIP's token of sip_common (it adds # $ & ^ { | }).
  token_char      = alphanum | [!#$%&'*+\-.^_`{|}~];
  sdp_token       = token_char+;

  username        = non_ws_string;
  sess_id         = DIGIT+;
  sess_version    = DIGIT+;
  nettype         = sdp_token;
  addrtype        = sdp_token;
  # IP4/IP6/FQDN are all subsumed by extn-addr = non-ws-string, so the address is taken as
  # one non-ws-string and interpreted (if at all) by the layer that uses it.
  unicast_address = non_ws_string;
  connection_address = non_ws_string;
  bwtype          = sdp_token;
  bandwidth       = DIGIT+;
  # §5.9 says time = POS-DIGIT 9*DIGIT or "0"; real offers carry short values such as
  # "t=3149328700 0" and "t=1 0", so any digits are accepted and range-checked as 64-bit.
  time            = DIGIT+;
  fixed_len_time_unit = [dhms];
  typed_time      = DIGIT+ fixed_len_time_unit?;
  repeat_interval = POS_DIGIT DIGIT* fixed_len_time_unit?;
  attribute_name  = sdp_token;
  attribute_value = byte_string;
  media           = sdp_token;
  # port = 1*DIGIT comes from sip_common (same rule as RFC 3261).
  proto           = sdp_token ("/" sdp_token)*;
  fmt             = sdp_token;

  # ---------------------------------------------------------------------- actions
  action mark { st.mark = p; }
  action value_mark { st.value_mark = p + 1; }

  action version { st.version_text = st.span(st.mark, p); }

  action o_username { st.origin().username = st.span(st.mark, p); }
  action o_sess_id { st.session_id_text = st.span(st.mark, p); }
  action o_sess_version { st.session_version_text = st.span(st.mark, p); }
  action o_nettype { st.origin().nettype = st.span(st.mark, p); }
  action o_addrtype { st.origin().addrtype = st.span(st.mark, p); }
  action o_address { st.origin().address = st.span(st.mark, p); }

  action s_name { st.set_name(st.span(st.value_mark, p)); }
  action session_information { st.set_session_information(st.span(st.mark, p)); }
  action uri { st.set_uri(st.span(st.mark, p)); }
  action e_open { if (!st.open_email(p - 1)) fbreak; }
  action email { st.last_email() = st.span(st.mark, p); }
  action p_open { if (!st.open_phone(p - 1)) fbreak; }
  action phone { st.last_phone() = st.span(st.mark, p); }

  action c_session_open { st.conn = st.session_connection(); }
  action c_media_open { st.conn = st.open_media_connection(p - 1); if (st.conn == nullptr) fbreak; }
  action c_nettype { st.conn->nettype = st.span(st.mark, p); }
  action c_addrtype { st.conn->addrtype = st.span(st.mark, p); }
  action c_address { st.conn->address = st.span(st.mark, p); }

  action b_open { st.bw = st.open_bandwidth(p - 1); if (st.bw == nullptr) fbreak; }
  action b_type { st.bw->type = st.span(st.mark, p); }
  action b_value { st.last_bandwidth_text() = st.span(st.mark, p); }

  action t_open { if (!st.open_timing(p - 1)) fbreak; }
  action t_start { st.last_start_text() = st.span(st.mark, p); }
  action t_stop { st.last_stop_text() = st.span(st.mark, p); }
  action r_open { if (!st.open_repeat(p - 1)) fbreak; }
  action r_value { st.last_repeat() = st.span(st.mark, p); }
  action z_value { st.current_timing().zone = st.span(st.mark, p); }

  action session_key { st.set_session_key(st.span(st.mark, p)); }
  action media_key { st.current_media().key = st.span(st.mark, p); }

  action a_open { st.attr = st.open_attribute(p - 1); if (st.attr == nullptr) fbreak; }
  action a_name { st.attr->name = st.span(st.mark, p); }
  action a_value { st.attr->value = st.span(st.value_mark, p); st.attr->has_value = true; }

  action x_open { if (!st.open_extension(p)) fbreak; }
  action x_value { st.ext->value = st.span(st.value_mark, p); }

  action m_open { if (!st.open_media(p - 1)) fbreak; }
  action m_media { st.current_media().media = st.span(st.mark, p); }
  action m_port { st.last_port_text() = st.span(st.mark, p); }
  action m_port_count { st.last_port_count_text() = st.span(st.mark, p); }
  action m_proto { st.current_media().proto = st.span(st.mark, p); }
  action f_open { if (!st.open_fmt(p)) fbreak; st.mark = p; }
  action f_value { st.last_fmt() = st.span(st.mark, p); }
  action media_information { st.current_media().information = st.span(st.mark, p); }

  # ------------------------------------------------------------------------ lines
  version_field       = "v=" (DIGIT+ >mark %version) EOL;
  origin_field        = "o=" (username >mark %o_username) SP (sess_id >mark %o_sess_id)
                        SP (sess_version >mark %o_sess_version) SP (nettype >mark %o_nettype)
                        SP (addrtype >mark %o_addrtype) SP (unicast_address >mark %o_address)
                        EOL;
  # text is 1*byte; an empty s= is accepted (seen in the wild, and harmless).
  session_name_field  = "s=" @value_mark text? (EOL >s_name);
  session_information_field = "i=" (text >mark %session_information) EOL;
  uri_field           = "u=" (text >mark %uri) EOL;
  email_field         = "e=" @e_open (text >mark %email) EOL;
  phone_field         = "p=" @p_open (text >mark %phone) EOL;

  connection_value    = (nettype >mark %c_nettype) SP (addrtype >mark %c_addrtype)
                        SP (connection_address >mark %c_address);
  session_connection_field = "c=" @c_session_open connection_value EOL;
  media_connection_field = "c=" @c_media_open connection_value EOL;

  bandwidth_field     = "b=" @b_open (bwtype >mark %b_type) ":" (bandwidth >mark %b_value) EOL;

  time_field          = "t=" @t_open (time >mark %t_start) SP (time >mark %t_stop) EOL;
  repeat_field        = "r=" @r_open
                        ((repeat_interval SP typed_time (SP typed_time)+) >mark %r_value) EOL;
  zone_field          = "z=" ((time SP "-"? typed_time (SP time SP "-"? typed_time)*)
                        >mark %z_value) EOL;

  # k= is obsolete (§5.12) and its value is kept raw.
  session_key_field   = "k=" (text >mark %session_key) EOL;
  media_key_field     = "k=" (text >mark %media_key) EOL;

  # attribute-value is 1*byte; "a=name:" with nothing after is accepted and kept.
  attribute_field     = "a=" @a_open (attribute_name >mark %a_name)
                        (EOL | ":" @value_mark attribute_value? (EOL >a_value));

  media_field         = "m=" @m_open (media >mark %m_media) SP (port >mark %m_port)
                        ("/" (integer >mark %m_port_count))? SP (proto >mark %m_proto)
                        (SP (fmt >f_open %f_value))+ EOL;
  media_information_field = "i=" (text >mark %media_information) EOL;

  # A line of a type letter §5 does not define (GB/T 28181's y= and f=, vendor lines): kept
  # as an extension line, or refused by x_open under parse_options::strict(). Its letters
  # are disjoint from every known type letter, so it may follow any line (v= still comes
  # first) and each decision stays one byte.
  unknown_type        = alpha - [vosiuepcbtrzkam];
  extension_field     = (unknown_type @x_open) "=" @value_mark text? (EOL >x_value);
  ext                 = extension_field*;
  time_description    = time_field ext (repeat_field ext)* (zone_field ext)?;

  media_description   = media_field ext (media_information_field ext)?
                        (media_connection_field ext)* (bandwidth_field ext)*
                        (media_key_field ext)? (attribute_field ext)*;

  session_description = version_field ext origin_field ext session_name_field ext
                        (session_information_field ext)? (uri_field ext)? (email_field ext)*
                        (phone_field ext)* (session_connection_field ext)?
                        (bandwidth_field ext)* time_description+ (session_key_field ext)?
                        (attribute_field ext)* media_description*;

  main := session_description;
}%%

%% write data;

machine_result run_sdp_machine(parse_state& st, const unsigned char* p, const unsigned char* pe) {
  int cs;
  %% write init;
  %% write exec;
  machine_result r;
  r.stop = p;
  r.error = cs == sdp_error;
  r.accepted = cs >= sdp_first_final;
  return r;
}

}  // namespace sipkit::sdp
