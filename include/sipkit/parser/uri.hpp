// URIs as the SIP grammar sees them (RFC 3261 §19.1, §25; IPv6 references per RFC 5118).
//
// `uri_view` is zero-copy: every field is a std::string_view into the buffer that was
// parsed, which must outlive the view. Fields hold the bytes as written on the wire
// (still %-escaped); use `unescape()` or `uri_equal()` where RFC 3261 §19.1.4 asks for
// comparison after unescaping. Views are plain values, safe to copy and to read from
// several threads.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "sipkit/parser/error.hpp"
#include "sipkit/parser/limits.hpp"

namespace sipkit::parser {

enum class uri_scheme : std::uint8_t { sip, sips, tel, other };
enum class host_kind : std::uint8_t { none, hostname, ipv4, ipv6 };

/// A URI parsed in place. For `sip`/`sips` all fields apply; for any other scheme
/// (`tel:`, `http:`, `urn:` ...) only `raw`, `scheme_text` and `opaque` are set.
struct uri_view {
  std::string_view raw;          ///< the whole URI
  std::string_view scheme_text;  ///< "sip", "SIPS", "tel" ... as written
  std::string_view user;         ///< userinfo user part, escaped form; empty when absent
  std::string_view password;     ///< after ':' in userinfo; empty when absent
  std::string_view host;         ///< hostname, IPv4 or "[IPv6]" including the brackets
  std::string_view params;       ///< uri-parameters without the first ';' ("lr;transport=tcp")
  std::string_view headers;      ///< URI headers after '?', without the '?'
  std::string_view opaque;       ///< non-SIP schemes: everything after "scheme:"

  // Parameters the stack itself needs, captured during the parse.
  std::string_view transport_param;  ///< ;transport=
  std::string_view user_param;       ///< ;user=
  std::string_view method_param;     ///< ;method=
  std::string_view maddr_param;      ///< ;maddr=
  std::string_view ttl_param;        ///< ;ttl=

  // The small fields last, together: no padding between the views (a message_view holds
  // over a hundred URIs).
  uri_scheme scheme = uri_scheme::other;
  host_kind host_type = host_kind::none;
  std::uint16_t port = 0;            ///< 0 when the URI has no port
  bool lr = false;                   ///< ;lr present (RFC 3261 §16.12 loose routing)

  bool is_sip() const noexcept { return scheme == uri_scheme::sip || scheme == uri_scheme::sips; }
  bool empty() const noexcept { return raw.empty(); }
  /// Any uri-parameter by name (case-insensitive). Returns the raw value, an empty view
  /// for a parameter without '=', or nullopt when absent.
  std::optional<std::string_view> param(std::string_view name) const noexcept;
};

/// Parse a complete URI (SIP, SIPS or absoluteURI). The whole input must be the URI.
/// `options` selects the field tolerances ('_' in hosts, three-colon IPv6 references).
parse_error parse_uri(std::string_view text, uri_view& out, const parser_limits& limits = {},
                      const parser_options& options = {});

/// %-decode (RFC 3986 §2.1). Invalid escapes are copied through unchanged.
std::string unescape(std::string_view text);

/// RFC 3261 §19.1.4 comparison of two SIP/SIPS URIs: scheme, user and password
/// case-sensitive after unescaping, host case-insensitive, port/transport/user/ttl/
/// method/maddr parameters must match when present in either, other parameters only
/// when present in both; headers must match. Non-SIP URIs compare byte-exact.
bool uri_equal(const uri_view& a, const uri_view& b);

/// The URI as a Request-URI may carry it (RFC 3261 §19.1.1 Table 1): `u.raw` without its
/// headers ("?...") and without a method parameter; everything else byte for byte. For a
/// strict router's Route (§12.2.1.1) and a 3xx Contact (§8.1.3.4, §19.1.5).
std::string request_uri_form(const uri_view& u);

/// Case-insensitive ASCII equality, used everywhere SIP names are compared.
bool iequals(std::string_view a, std::string_view b) noexcept;

}  // namespace sipkit::parser
