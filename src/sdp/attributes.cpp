// Lazy readers for attribute values (attributes.hpp). They run on demand, after the
// one-pass parse, so a malformed rtpmap/fmtp costs nothing unless someone asks for it.
#include "sipkit/sdp/attributes.hpp"

#include <cstdint>
#include <limits>

namespace sipkit::sdp {
namespace {

bool is_digit(char c) noexcept { return c >= '0' && c <= '9'; }

// Whole of `s` as an unsigned number no larger than `max`.
bool read_number(std::string_view s, std::uint64_t max, std::uint64_t& out) noexcept {
  if (s.empty()) return false;
  std::uint64_t v = 0;
  for (char c : s) {
    if (!is_digit(c)) return false;
    const auto d = static_cast<std::uint64_t>(c - '0');
    if (v > (max - d) / 10) return false;
    v = v * 10 + d;
  }
  out = v;
  return true;
}

char lower(char c) noexcept {
  return (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c;
}

bool iequals(std::string_view a, std::string_view b) noexcept {
  if (a.size() != b.size()) return false;
  for (std::size_t i = 0; i < a.size(); ++i) {
    if (lower(a[i]) != lower(b[i])) return false;
  }
  return true;
}

std::string_view trim(std::string_view s) noexcept {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

}  // namespace

std::string_view to_string(direction d) noexcept {
  switch (d) {
    case direction::sendrecv:
      return "sendrecv";
    case direction::sendonly:
      return "sendonly";
    case direction::recvonly:
      return "recvonly";
    case direction::inactive:
      return "inactive";
  }
  return "sendrecv";
}

std::optional<direction> direction_from_name(std::string_view name) noexcept {
  if (name == "sendrecv") return direction::sendrecv;
  if (name == "sendonly") return direction::sendonly;
  if (name == "recvonly") return direction::recvonly;
  if (name == "inactive") return direction::inactive;
  return std::nullopt;
}

std::optional<rtpmap> parse_rtpmap(std::string_view value) noexcept {
  const auto space = value.find(' ');
  if (space == std::string_view::npos) return std::nullopt;
  rtpmap out;
  std::uint64_t n = 0;
  if (!read_number(value.substr(0, space), 127, n)) return std::nullopt;
  out.payload_type = static_cast<std::uint8_t>(n);

  std::string_view rest = value.substr(space + 1);
  const auto slash = rest.find('/');
  if (slash == std::string_view::npos || slash == 0) return std::nullopt;
  out.encoding_name = rest.substr(0, slash);
  rest.remove_prefix(slash + 1);

  const auto slash2 = rest.find('/');
  const std::string_view rate = rest.substr(0, slash2);
  if (!read_number(rate, std::numeric_limits<std::uint32_t>::max(), n)) return std::nullopt;
  out.clock_rate = static_cast<std::uint32_t>(n);

  if (slash2 != std::string_view::npos) {
    out.encoding_parameters = rest.substr(slash2 + 1);
    if (!read_number(out.encoding_parameters, std::numeric_limits<std::uint32_t>::max(), n) ||
        n == 0) {
      return std::nullopt;
    }
    out.channels = static_cast<std::uint32_t>(n);
  }
  return out;
}

std::optional<fmtp> parse_fmtp(std::string_view value) noexcept {
  const auto space = value.find(' ');
  if (space == 0 || space == std::string_view::npos || space + 1 == value.size()) {
    return std::nullopt;
  }
  return fmtp{value.substr(0, space), value.substr(space + 1)};
}

std::optional<std::string_view> fmtp_parameter(std::string_view parameters,
                                               std::string_view key) noexcept {
  while (!parameters.empty()) {
    const auto semi = parameters.find(';');
    const std::string_view item = trim(parameters.substr(0, semi));
    const auto eq = item.find('=');
    if (iequals(trim(item.substr(0, eq)), key)) {
      return eq == std::string_view::npos ? std::string_view{} : trim(item.substr(eq + 1));
    }
    if (semi == std::string_view::npos) break;
    parameters.remove_prefix(semi + 1);
  }
  return std::nullopt;
}

}  // namespace sipkit::sdp
