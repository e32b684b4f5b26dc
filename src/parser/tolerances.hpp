// Private: what the host code does after the grammar accepted a value.
//
// The grammar (grammar/sip_message.rl) accepts the union of RFC 3261 and the field
// tolerances of parser_options; these checks refuse a tolerated form when its flag is off,
// and turn Contact parameters that are not numbers back into generic parameters. The
// checks run only for a flag that is off, so the default parse pays nothing for them.
#pragma once

#include "parser/parse_state.hpp"
#include "sipkit/parser/limits.hpp"

namespace sipkit::parser {

/// True when every tolerance is on (nothing to check).
constexpr bool all_tolerated(const parser_options& o) noexcept {
  return o.underscore_in_host && o.status_line_without_reason && o.empty_list_elements &&
         o.trailing_semicolon && o.bare_lf && o.ipv6_three_colons;
}

/// c-p-expires and c-p-q (RFC 3261 §25): a value that is not delta-seconds / qvalue is a
/// generic parameter; `expires` then stays empty and `expires_not_a_number` is set.
void finish_address(name_addr_view& a) noexcept;

/// The first byte of `base`-relative input a disabled tolerance was needed for, as an
/// error; no error when the input needed none of the disabled ones. `headers_end` is the
/// end of the header block (message only: where bare LFs are looked for).
parse_error check_message_tolerances(const message_view& m, const parse_state& st,
                                     const parser_options& o, const char* headers_end);
/// The first LF in [st.base, end) without a CR before it, as an error; none when there is none.
parse_error first_bare_lf(const parse_state& st, const char* end);
parse_error check_uri_tolerances(const uri_view& u, const parse_state& st,
                                 const parser_options& o);
parse_error check_via_tolerances(const via_view& v, const parse_state& st,
                                 const parser_options& o);
parse_error check_addr_tolerances(const name_addr_view& a, const parse_state& st,
                                  const parser_options& o);

}  // namespace sipkit::parser
