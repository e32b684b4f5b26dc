// Typed readings of the SDP attributes the stack itself needs: a=rtpmap, a=fmtp and the
// four direction attributes (RFC 8866 §6.6, §6.7, §6.15; RFC 3264 §5.1, §6.1).
//
//   if (auto map = sipkit::sdp::parse_rtpmap("96 opus/48000/2")) {
//     map->payload_type;   // 96
//     map->encoding_name;  // "opus"
//     map->clock_rate;     // 48000
//     map->channels;       // 2
//   }
//
// These functions read an attribute *value* (the text after "a=name:"); they are lazy on
// purpose: a malformed rtpmap does not make the whole SDP unparsable (RFC 4475's bodies
// carry "a=rtpmap:31 LPC", which has no clock rate), it only makes parse_rtpmap return
// std::nullopt.
//
// Ownership: every std::string_view in a result points into the value passed in, so that
// value (usually the SDP buffer) must outlive the result.
// Thread safety: pure functions on values; safe from any thread.
// Errors: std::nullopt when the value does not follow the attribute's grammar. Nothing throws.
#pragma once

#include <cstdint>
#include <optional>
#include <string_view>

namespace sipkit::sdp {

/// The media direction of RFC 8866 §6.7 / RFC 3264 §5.1. A media section without a direction
/// attribute inherits the session's; with none at either level it is sendrecv.
enum class direction : std::uint8_t { sendrecv, sendonly, recvonly, inactive };

/// "sendrecv", "sendonly", "recvonly" or "inactive" (also the attribute name).
std::string_view to_string(direction d) noexcept;

/// The direction an attribute name stands for, or nullopt if it is not a direction
/// attribute. Attribute names are case-sensitive (RFC 8866 §9: %s"sendrecv" ...).
std::optional<direction> direction_from_name(std::string_view attribute_name) noexcept;

/// a=rtpmap:<payload type> <encoding name>/<clock rate>[/<encoding parameters>]
/// (RFC 8866 §6.6).
struct rtpmap {
  std::uint8_t payload_type = 0;         ///< 0..127 (RTP payload types are 7 bits, RFC 3550 §5.1)
  std::string_view encoding_name;        ///< as written, e.g. "PCMU", "opus", "telephone-event"
  std::uint32_t clock_rate = 0;          ///< Hz
  std::string_view encoding_parameters;  ///< raw text after the second '/', empty if absent
  /// For audio the encoding parameters are the channel count; RFC 8866 §6.6 lets it be
  /// omitted when it is one, so 1 when absent.
  std::uint32_t channels = 1;

  bool operator==(const rtpmap&) const = default;
};

/// Reads an rtpmap value such as "0 PCMU/8000" or "96 opus/48000/2". nullopt when a part is
/// missing, the payload type is not 0..127, a number overflows, or the encoding parameters
/// are present but not a positive channel count.
std::optional<rtpmap> parse_rtpmap(std::string_view value) noexcept;

/// a=fmtp:<format> <format specific parameters> (RFC 8866 §6.15).
struct fmtp {
  std::string_view format;      ///< the fmt of the m= line this applies to, e.g. "96"
  std::string_view parameters;  ///< everything after the first space, e.g. "0-15"

  bool operator==(const fmtp&) const = default;
};

/// Reads an fmtp value such as "101 0-15" or "97 profile-level-id=42e01f;packetization-mode=1".
/// nullopt when there is no format or no parameters.
std::optional<fmtp> parse_fmtp(std::string_view value) noexcept;

/// Looks up one "key=value" item of `;`-separated fmtp parameters (the common convention of
/// RFC 6184, RFC 7587 ...): keys compare case-insensitively and surrounding spaces are
/// ignored. Returns the value ("" for a bare "key"), or nullopt when the key is absent.
std::optional<std::string_view> fmtp_parameter(std::string_view parameters,
                                               std::string_view key) noexcept;

}  // namespace sipkit::sdp
