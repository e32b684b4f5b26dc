#include "parser/ip_literal.hpp"

#include <cstddef>

#include "parser/parse_state.hpp"

namespace sipkit::parser {
namespace {

bool is_hex(char c) noexcept {
  return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
}
bool is_digit(char c) noexcept { return c >= '0' && c <= '9'; }

// RFC 3986 dec-octet: "0" to "255" without leading zeros. Returns the bytes read, 0 if none.
std::size_t dec_octet(std::string_view t, std::size_t pos) noexcept {
  std::size_t n = 0;
  unsigned value = 0;
  while (pos + n < t.size() && is_digit(t[pos + n]) && n < 3) {
    value = value * 10 + static_cast<unsigned>(t[pos + n] - '0');
    ++n;
  }
  if (n == 0 || value > 255 || (n > 1 && t[pos] == '0')) return 0;
  if (pos + n < t.size() && is_digit(t[pos + n])) return 0;  // a fourth digit
  return n;
}

// RFC 3986 IPv4address at pos that runs to the end of t; the offset of the first misfit
// otherwise (npos when it fits).
std::size_t ipv4_tail(std::string_view t, std::size_t pos) noexcept {
  for (int part = 0; part < 4; ++part) {
    if (part > 0) {
      if (pos >= t.size() || t[pos] != '.') return pos;
      ++pos;
    }
    const std::size_t n = dec_octet(t, pos);
    if (n == 0) return pos;
    pos += n;
  }
  return pos == t.size() ? std::string_view::npos : pos;
}

ip_check check_rfc3986(std::string_view t) noexcept {
  std::size_t pos = 0;
  int groups = 0;         // 16-bit groups written out (an IPv4 tail counts two)
  bool elided = false;    // "::" seen
  if (t.size() >= 2 && t[0] == ':' && t[1] == ':') {
    elided = true;
    pos = 2;
  } else if (!t.empty() && t[0] == ':') {
    return {ip_form::invalid, 0};
  }
  while (pos < t.size()) {
    // A piece: h16, or an IPv4 tail when a '.' comes before the next ':'.
    std::size_t end = pos;
    while (end < t.size() && t[end] != ':' && t[end] != '.') ++end;
    if (end < t.size() && t[end] == '.') {
      const std::size_t bad = ipv4_tail(t, pos);
      if (bad != std::string_view::npos) return {ip_form::invalid, bad};
      groups += 2;
      if (groups > 8) return {ip_form::invalid, pos};
      pos = t.size();
      break;
    }
    const std::size_t len = end - pos;
    if (len == 0 || len > 4) return {ip_form::invalid, pos};
    for (std::size_t i = pos; i < end; ++i)
      if (!is_hex(t[i])) return {ip_form::invalid, i};
    if (++groups > 8) return {ip_form::invalid, pos};
    pos = end;
    if (pos == t.size()) break;
    // ':' — one separates two pieces, two elide groups (once), a third is never RFC 3986.
    if (pos + 1 < t.size() && t[pos + 1] == ':') {
      if (elided) return {ip_form::invalid, pos};
      elided = true;
      pos += 2;
      if (pos < t.size() && t[pos] == ':') return {ip_form::invalid, pos};
    } else {
      ++pos;
      if (pos == t.size()) return {ip_form::invalid, pos - 1};  // trailing single ':'
    }
  }
  if (elided ? groups > 7 : groups != 8) return {ip_form::invalid, t.size()};
  return {ip_form::valid, 0};
}

}  // namespace

ip_check check_ipv6_address(std::string_view t) noexcept {
  ip_check strict = check_rfc3986(t);
  if (strict.form == ip_form::valid) return strict;
  // RFC 3261's ABNF (hexpart ":" IPv4address) made "x::" ":" IPv4 the way to write an
  // elided IPv4 tail; RFC 5118 §4.10 documents that devices send it. Read it as the
  // two-colon address it meant, and only that: ":::" directly before the IPv4 tail.
  const std::size_t three = t.find(":::");
  if (three == std::string_view::npos || t.size() > 64) return strict;
  if (ipv4_tail(t, three + 3) != std::string_view::npos) return strict;
  char fixed[64];
  std::size_t n = 0;
  for (std::size_t i = 0; i < t.size(); ++i)
    if (i != three) fixed[n++] = t[i];
  if (check_rfc3986(std::string_view(fixed, n)).form != ip_form::valid) return strict;
  return {ip_form::three_colons, three};
}

bool is_ipv4_address(std::string_view t) noexcept {
  std::size_t pos = 0;
  for (int part = 0; part < 4; ++part) {
    if (part > 0) {
      if (pos >= t.size() || t[pos] != '.') return false;
      ++pos;
    }
    std::size_t digits = 0;
    while (pos < t.size() && is_digit(t[pos]) && digits < 4) ++pos, ++digits;
    if (digits == 0 || digits > 3) return false;
  }
  return pos == t.size();
}

void parse_state::check_ipv6(const char* open, const char* close) {
  const std::string_view text(open + 1, static_cast<std::size_t>(close - open - 1));
  const ip_check c = check_ipv6_address(text);
  if (c.form == ip_form::invalid && bad_ip_at == nullptr) bad_ip_at = text.data() + c.at;
  if (c.form == ip_form::three_colons && three_colon_at == nullptr)
    three_colon_at = text.data() + c.at;
}

void parse_state::check_ip_address(const char* from, const char* to) {
  const std::string_view text(from, static_cast<std::size_t>(to - from));
  if (text.find(':') == std::string_view::npos) {
    if (!is_ipv4_address(text) && bad_ip_at == nullptr) bad_ip_at = from;
    return;
  }
  const ip_check c = check_ipv6_address(text);
  if (c.form == ip_form::invalid && bad_ip_at == nullptr) bad_ip_at = from + c.at;
  if (c.form == ip_form::three_colons && three_colon_at == nullptr) three_colon_at = from + c.at;
}

}  // namespace sipkit::parser
