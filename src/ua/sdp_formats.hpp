// Private: what an SDP format stands for (RFC 3551 static payload types, rtpmap, fmtp), for
// offer_answer.cpp's RFC 3264 matching.
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>

#include "sipkit/sdp/session.hpp"
#include "sipkit/sdp/session_view.hpp"
#include "sipkit/ua/offer_answer.hpp"

namespace sipkit::ua::detail::sdp_formats {

// Send/receive as two permissions (RFC 3264 §5.1 defines the four attributes this way).
inline bool sends(sdp::direction d) noexcept {
  return d == sdp::direction::sendrecv || d == sdp::direction::sendonly;
}
inline bool receives(sdp::direction d) noexcept {
  return d == sdp::direction::sendrecv || d == sdp::direction::recvonly;
}
inline sdp::direction direction_from(bool send, bool receive) noexcept {
  if (send) return receive ? sdp::direction::sendrecv : sdp::direction::sendonly;
  return receive ? sdp::direction::recvonly : sdp::direction::inactive;
}

// RFC 3551 §6, tables 4 and 5: the payload types whose meaning is fixed, so an offer may
// list them without an rtpmap. (MPA's channel count is not fixed by the table; 1 here.)
struct static_format {
  std::uint8_t payload_type;
  std::string_view name;
  std::uint32_t clock_rate;
  std::uint32_t channels;
};
inline constexpr std::array<static_format, 24> static_formats{{
    {0, "PCMU", 8000, 1},   {3, "GSM", 8000, 1},    {4, "G723", 8000, 1},   {5, "DVI4", 8000, 1},
    {6, "DVI4", 16000, 1},  {7, "LPC", 8000, 1},    {8, "PCMA", 8000, 1},   {9, "G722", 8000, 1},
    {10, "L16", 44100, 2},  {11, "L16", 44100, 1},  {12, "QCELP", 8000, 1}, {13, "CN", 8000, 1},
    {14, "MPA", 90000, 1},  {15, "G728", 8000, 1},  {16, "DVI4", 11025, 1}, {17, "DVI4", 22050, 1},
    {18, "G729", 8000, 1},  {25, "CelB", 90000, 1}, {26, "JPEG", 90000, 1}, {28, "nv", 90000, 1},
    {31, "H261", 90000, 1}, {32, "MPV", 90000, 1},  {33, "MP2T", 90000, 1}, {34, "H263", 90000, 1},
}};

// RFC 3551 §3: 96-127 are the dynamic range.
inline constexpr std::uint8_t first_dynamic = 96;
inline constexpr std::uint8_t last_payload_type = 127;

// What a format stands for, whichever way the description said it.
struct format_identity {
  std::string_view name;
  std::uint32_t clock_rate = 0;
  std::uint32_t channels = 1;
};

/// The same codec: name (case-insensitive), clock rate, channels.
bool same_codec(const format_identity& f, const codec& c) noexcept;
bool same_codec(const format_identity& a, const format_identity& b) noexcept;
/// Comfort noise, DTMF and the like: not a media codec of their own.
bool is_auxiliary(std::string_view name) noexcept;
bool is_rtp(std::string_view proto) noexcept;
std::optional<std::uint8_t> payload_type_of(std::string_view fmt) noexcept;
const static_format* find_static(std::uint8_t pt) noexcept;
const static_format* find_static(const codec& c) noexcept;
bool value_is_for(const std::optional<std::string>& value, std::string_view fmt) noexcept;
/// What format `fmt` of `m` stands for (its rtpmap, else the static table); nullopt if unknown.
std::optional<format_identity> identify(const sdp::media_description& m, std::string_view fmt);
/// The fmtp parameters of `fmt` in `m`, "" when none.
std::string fmtp_of(const sdp::media_description& m, std::string_view fmt);

/// The same for a format of a parsed offer's m= line: `proto` and `attributes` are the
/// section's; the identity's name points into the attribute's value.
std::optional<format_identity> identify(std::string_view proto,
                                        std::span<const sdp::attribute_view> attributes,
                                        std::string_view fmt) noexcept;

/// local_media::address checked and split: the SDP address type ("IP4"/"IP6") and the address
/// without brackets (a view into `address`). Throws std::invalid_argument when it is not an
/// IPv4 or IPv6 literal or a hostname.
struct address_type {
  std::string_view addrtype;
  std::string_view address;
};
address_type local_address(std::string_view address);

/// RFC 3264 §5: o= session id and version "MUST be representable with a 64 bit signed
/// integer"; throws std::invalid_argument when one is not.
void check_origin_numbers(std::uint64_t session_id, std::uint64_t version);

/// Whether `a` and `b` parse to equal sdp::session values, the o= session version left out of
/// the comparison when `ignore_version`; false when either does not parse. Equal text (up to
/// the o= version) is only checked to parse, into `scratch` (whatever it held is gone); only
/// different texts are compared as sessions.
bool same_session(std::string_view a, std::string_view b, bool ignore_version,
                  sdp::session_view& scratch);

/// Rewrites the o= session version of an answer write_answer wrote for `username`.
void set_answer_version(std::string& answer, std::string_view username, std::uint64_t version);

}  // namespace sipkit::ua::detail::sdp_formats
