// Private: the exact check of IP address literals the grammar takes as a byte superset.
//
// grammar/sip_message.rl accepts "[" (HEXDIG | ":" | ".")+ "]" wherever RFC 3261 allows an
// IPv6reference and calls these functions on the span: the exact RFC 3986 §3.2.2 grammar as
// a Ragel machine would be inlined at every host of the message grammar.
#pragma once

#include <string_view>

namespace sipkit::parser {

enum class ip_form : unsigned char {
  valid,         ///< the exact RFC grammar
  three_colons,  ///< RFC 3261's original ABNF bug ("2001:db8:::192.0.2.1", RFC 5118 §4.10)
  invalid,
};

struct ip_check {
  ip_form form = ip_form::invalid;
  std::size_t at = 0;  ///< offset in the text of the first byte that does not fit
};

/// RFC 3986 §3.2.2 IPv6address (RFC 5954 §4.1), without brackets. "::" stands for at least
/// one group; an IPv4 tail (dec-octets, no leading zeros) counts for two groups.
ip_check check_ipv6_address(std::string_view text) noexcept;

/// RFC 3261 §25.1 IPv4address (1 to 3 digits per part, as the rest of the grammar reads it).
bool is_ipv4_address(std::string_view text) noexcept;

}  // namespace sipkit::parser
