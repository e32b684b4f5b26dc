// What an SDP format stands for (sdp_formats.hpp).
#include "sdp_formats.hpp"

#include <algorithm>
#include <charconv>
#include <limits>
#include <stdexcept>
#include <string>

#include "sipkit/parser/uri.hpp"

namespace sipkit::ua::detail::sdp_formats {

using parser::iequals;

bool same_codec(const format_identity& f, const codec& c) noexcept {
  return iequals(f.name, c.name) && f.clock_rate == c.clock_rate && f.channels == c.channels;
}

bool same_codec(const format_identity& a, const format_identity& b) noexcept {
  return iequals(a.name, b.name) && a.clock_rate == b.clock_rate && a.channels == b.channels;
}

// Formats that ride along with a media codec but cannot carry the media themselves
// (RFC 4733 events, RFC 3389 comfort noise, RFC 2198 redundancy, FEC, RFC 4588 rtx): a
// stream whose only common formats are these has no common codec.
bool is_auxiliary(std::string_view name) noexcept {
  constexpr std::array<std::string_view, 6> names{"telephone-event", "CN",      "red",
                                                  "ulpfec",          "flexfec", "rtx"};
  return std::any_of(names.begin(), names.end(),
                     [&](std::string_view n) { return iequals(n, name); });
}

// Every RTP profile spells its proto ".../RTP/AVP..." or "RTP/..." (RFC 3551, 3711, 4585,
// 5764); other protos (udptl, TCP/MSRP ...) have fmts that are not payload types.
bool is_rtp(std::string_view proto) noexcept {
  return proto.find("RTP/") != std::string_view::npos;
}

std::optional<std::uint8_t> payload_type_of(std::string_view fmt) noexcept {
  unsigned v = 0;
  const auto r = std::from_chars(fmt.data(), fmt.data() + fmt.size(), v);
  if (r.ec != std::errc{} || r.ptr != fmt.data() + fmt.size() || v > last_payload_type) {
    return std::nullopt;
  }
  return static_cast<std::uint8_t>(v);
}

const static_format* find_static(std::uint8_t pt) noexcept {
  for (const auto& s : static_formats) {
    if (s.payload_type == pt) return &s;
  }
  return nullptr;
}

const static_format* find_static(const codec& c) noexcept {
  for (const auto& s : static_formats) {
    if (same_codec(format_identity{s.name, s.clock_rate, s.channels}, c)) return &s;
  }
  return nullptr;
}

// "<fmt> ...": the value of an rtpmap/fmtp for this format.
bool value_is_for(const std::optional<std::string>& value, std::string_view fmt) noexcept {
  if (!value) return false;
  const std::string_view v = *value;
  return v.size() > fmt.size() && v.substr(0, fmt.size()) == fmt && v[fmt.size()] == ' ';
}

// An rtpmap names the format (RFC 8866 §6.6); without one, a static payload type means what
// RFC 3551 says. A present but malformed rtpmap ("31 LPC" of RFC 4475) is not overridden by
// the table: the offerer meant something, and we cannot tell what.
std::optional<format_identity> identify(const sdp::media_description& m, std::string_view fmt) {
  if (!is_rtp(m.proto)) return format_identity{fmt, 0, 1};
  for (const auto& a : m.attributes) {
    if (a.name == "rtpmap" && value_is_for(a.value, fmt)) {
      const auto map = sdp::parse_rtpmap(*a.value);
      if (!map) return std::nullopt;
      return format_identity{map->encoding_name, map->clock_rate, map->channels};
    }
  }
  const auto pt = payload_type_of(fmt);
  if (!pt) return std::nullopt;
  if (const static_format* s = find_static(*pt)) {
    return format_identity{s->name, s->clock_rate, s->channels};
  }
  return std::nullopt;
}

std::string fmtp_of(const sdp::media_description& m, std::string_view fmt) {
  for (const auto& a : m.attributes) {
    if (a.name == "fmtp" && value_is_for(a.value, fmt)) return a.value->substr(fmt.size() + 1);
  }
  return {};
}

std::optional<format_identity> identify(std::string_view proto,
                                        std::span<const sdp::attribute_view> attributes,
                                        std::string_view fmt) noexcept {
  if (!is_rtp(proto)) return format_identity{fmt, 0, 1};
  for (const auto& a : attributes) {
    // A value-less "a=rtpmap" is never for a format, as value_is_for says of the owning form.
    if (a.name != "rtpmap" || !a.has_value || a.value.size() <= fmt.size() ||
        a.value.substr(0, fmt.size()) != fmt || a.value[fmt.size()] != ' ') {
      continue;
    }
    const auto map = sdp::parse_rtpmap(a.value);
    if (!map) return std::nullopt;
    return format_identity{map->encoding_name, map->clock_rate, map->channels};
  }
  const auto pt = payload_type_of(fmt);
  if (!pt) return std::nullopt;
  if (const static_format* s = find_static(*pt)) {
    return format_identity{s->name, s->clock_rate, s->channels};
  }
  return std::nullopt;
}

void check_origin_numbers(std::uint64_t session_id, std::uint64_t version) {
  constexpr auto max = static_cast<std::uint64_t>(std::numeric_limits<std::int64_t>::max());
  if (session_id > max || version > max) {
    throw std::invalid_argument(
        "sipkit::ua: o= session id and version must fit a signed 64-bit "
        "integer (RFC 3264 §5)");
  }
}

namespace {

// Four decimal octets of 1-3 digits, none above 255: a subset of RFC 3261's IPv4address
// (which check_address's grammar accepts too), so the fast path never changes an answer.
bool is_dotted_quad(std::string_view s) noexcept {
  int octets = 0;
  std::size_t i = 0;
  while (octets < 4) {
    unsigned value = 0;
    std::size_t digits = 0;
    while (i < s.size() && s[i] >= '0' && s[i] <= '9' && digits < 3) {
      value = value * 10 + static_cast<unsigned>(s[i] - '0');
      ++i;
      ++digits;
    }
    if (digits == 0 || value > 255) return false;
    if (++octets < 4) {
      if (i >= s.size() || s[i] != '.') return false;
      ++i;
    }
  }
  return i == s.size();
}

// `bare` is `address` without brackets.
address_type check_address(std::string_view address, std::string_view bare) {
  if (!bare.empty()) {
    // The SIP URI grammar already knows IPv4, IPv6 and hostnames; the URI is built on the
    // stack when it fits, since this runs for every answer.
    const bool v6 = bare.find(':') != std::string_view::npos;
    const std::string_view head = v6 ? "sip:[" : "sip:";
    const std::size_t size = head.size() + bare.size() + (v6 ? 1 : 0);
    std::array<char, 320> stack;
    std::string heap;
    char* p = stack.data();
    if (size > stack.size()) {
      heap.resize(size);
      p = heap.data();
    }
    std::copy(head.begin(), head.end(), p);
    std::copy(bare.begin(), bare.end(), p + head.size());
    if (v6) p[size - 1] = ']';
    const std::string_view uri(p, size);
    parser::uri_view view;
    if (!parser::parse_uri(uri, view) && view.port == 0 && view.params.empty() &&
        view.headers.empty() && view.user.empty() && uri.size() == view.raw.size()) {
      if (view.host_type == parser::host_kind::ipv6) return {"IP6", bare};
      if (view.host_type == parser::host_kind::ipv4 ||
          view.host_type == parser::host_kind::hostname) {
        return {"IP4", bare};
      }
    }
  }
  throw std::invalid_argument("sipkit::ua: local_media::address is not an IP address or host: \"" +
                              std::string(address) + "\"");
}

}  // namespace

address_type local_address(std::string_view address) {
  std::string_view bare = address;
  if (bare.size() > 2 && bare.front() == '[' && bare.back() == ']') {
    bare = bare.substr(1, bare.size() - 2);
  }
  // Every answer checks the configured address: a plain dotted quad, the usual case, is
  // recognised without a grammar run (and without remembering anything between calls).
  if (address.size() == bare.size() && is_dotted_quad(bare)) return {"IP4", bare};
  return check_address(address, bare);
}


}  // namespace sipkit::ua::detail::sdp_formats
