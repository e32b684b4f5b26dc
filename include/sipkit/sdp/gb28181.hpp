// GB/T 28181 (2016, Annex F) SDP lines, typed: y= (the stream's SSRC) and f= (media format).
//
//   // Platform side, reading the device's answer (or a device reading the play INVITE):
//   sipkit::sdp::session answer;
//   if (!sipkit::sdp::parse(body, answer)) {             // lenient: y= and f= are kept
//     if (auto y = sipkit::sdp::gb28181::ssrc_of(answer)) {
//       expect_rtp_with_ssrc(y->value);                  // y->live(): a Play stream
//     } else if (y.error) {
//       log(y.error.message());  // "syntax error in GB/T 28181 y= line (not 10 digits) at offset 9"
//     }
//   }
//
//   // Device side, writing its answer:
//   auto& video = answer.media[0];
//   sipkit::sdp::gb28181::set_ssrc(video, offered_ssrc);      // y=0100000001
//   sipkit::sdp::gb28181::media_format f;
//   f.video.codec = 2;       // H.264
//   f.video.resolution = 5;  // 720P
//   sipkit::sdp::gb28181::set_media_format(video, f);         // f=v/2/5///a///
//
// Both are lines of type letters RFC 8866 does not define, so they live in the extension
// lines of a session (session.hpp) or session_view (session_view.hpp) and are read from
// there on demand: a malformed y= does not make the SDP unparsable, only its reading here
// fails. GB/T 28181's examples put them at the end of the media section, after its a= lines;
// that is where the setters write them (y= before f=).
//
// The standard's numeric codes (Annex F):
//   f= v/<codec>/<resolution>/<frame rate>/<bitrate type>/<bitrate>a/<codec>/<bitrate>/<sample rate>
//   video codec 1 MPEG-4, 2 H.264, 3 SVAC, 4 3GP; resolution 1 QCIF, 2 CIF, 3 4CIF, 4 D1,
//   5 720P, 6 1080P/I; frame rate 0..99; bitrate type 1 CBR, 2 VBR; bitrate in kbit/s;
//   audio codec 1 G.711, 2 G.723.1, 3 G.729, 4 G.722.1; audio bitrate 1 5.3k, 2 6.3k, 3 8k,
//   4 16k, 5 24k, 6 32k, 7 48k, 8 64k; sample rate 1 8 kHz, 2 14 kHz, 3 16 kHz, 4 32 kHz.
//   Every '/' stays when a value is empty ("v/2/4///a///"); "v/a/1/8/1" is the audio-only
//   short form. There is no space between the video and audio parts and no channel count.
//
// Ownership: every value here is owning; nothing refers into the SDP after a call returns.
// Thread safety: pure functions on values, safe from any thread; the setters write to the
// object they are given. Errors: readings report a malformed line as a parse_error (offset
// into the line's value); the setters throw std::invalid_argument for values that cannot be
// written (see each), and std::bad_alloc.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "sipkit/sdp/session.hpp"
#include "sipkit/sdp/session_view.hpp"

namespace sipkit::sdp::gb28181 {

/// y=: the RTP SSRC (RFC 3550) of the stream, written as exactly 10 decimal digits. The
/// first digit is 0 for live video (s=Play) and 1 for history (Playback, Download); digits
/// 2 to 6 are digits 4 to 8 of the 20-digit SIP domain ID, the last four a stream number.
struct ssrc {
  std::uint32_t value = 0;

  /// First digit 0 (below 1,000,000,000): a live stream.
  bool live() const noexcept { return value < 1'000'000'000u; }
  /// First digit 1: a history stream (playback or download).
  bool history() const noexcept { return value / 1'000'000'000u == 1; }
  /// The y= value: 10 digits, zero-padded ("0100000001").
  std::string to_string() const;

  /// The SSRC GB/T 28181 prescribes: 0 (live) or 1 (history), digits 4 to 8 of `domain_id`,
  /// then `stream` as four digits. Throws std::invalid_argument when `domain_id` has fewer
  /// than 8 characters or they are not digits, or `stream` is above 9999.
  static ssrc make(bool history, std::string_view domain_id, std::uint32_t stream);

  bool operator==(const ssrc&) const = default;
};

/// The video part of f=; an empty field is std::nullopt.
struct video_format {
  std::optional<std::uint32_t> codec;         ///< 1 MPEG-4, 2 H.264, 3 SVAC, 4 3GP
  std::optional<std::uint32_t> resolution;    ///< 1 QCIF ... 6 1080P/I
  std::optional<std::uint32_t> frame_rate;    ///< frames per second, 0..99
  std::optional<std::uint32_t> bitrate_type;  ///< 1 CBR, 2 VBR
  std::optional<std::uint32_t> bitrate;       ///< kbit/s

  bool operator==(const video_format&) const = default;
};

/// The audio part of f=; an empty field is std::nullopt.
struct audio_format {
  std::optional<std::uint32_t> codec;        ///< 1 G.711, 2 G.723.1, 3 G.729, 4 G.722.1
  std::optional<std::uint32_t> bitrate;      ///< a code: 1 5.3 kbit/s ... 8 64 kbit/s
  std::optional<std::uint32_t> sample_rate;  ///< a code: 1 8 kHz, 2 14 kHz, 3 16 kHz, 4 32 kHz

  bool operator==(const audio_format&) const = default;
};

/// f=: what the stream carries.
struct media_format {
  video_format video;
  audio_format audio;

  /// The f= value in the complete structure: "v/2/5/25/1/4096a/1/8/1", "v/////a///".
  std::string to_string() const;

  bool operator==(const media_format&) const = default;
};

/// The typed reading of a y= or f= line: `value` when the line is there and well formed;
/// `error` (offset into the line's value) when it is there but malformed; neither when the
/// description has no such line.
template <class T>
struct reading {
  std::optional<T> value;
  parse_error error;

  explicit operator bool() const noexcept { return value.has_value(); }
  const T& operator*() const noexcept { return *value; }
  const T* operator->() const noexcept { return &*value; }
  bool missing() const noexcept { return !value && !error; }
};

/// Reads a y= value: exactly 10 ASCII digits whose number fits 32 bits. Errors
/// (errc::syntax / errc::value_out_of_range, reason "GB/T 28181 y= line (...)") leave `out`
/// unchanged.
parse_error parse_ssrc(std::string_view value, ssrc& out) noexcept;
/// Reads an f= value ("v/2/5/25/1/4096a/1/8/1", "v/2/4///a///", "v/a/1/8/1"): "v/", five
/// '/'-separated video fields (or none, for the audio-only form), "a", then three audio
/// fields each after a '/'. Each field is empty or decimal digits fitting 32 bits. Errors
/// (reason "GB/T 28181 f= line (...)", offset of the byte that broke the structure) leave
/// `out` unchanged.
parse_error parse_media_format(std::string_view value, media_format& out) noexcept;

/// The y= of a media section, else the session-level one.
reading<ssrc> ssrc_of(const session_view& s, const media_view& m) noexcept;
/// The description's y=: the first media section that has one, else the session level.
reading<ssrc> ssrc_of(const session_view& s) noexcept;
reading<ssrc> ssrc_of(const session& s, const media_description& m) noexcept;
reading<ssrc> ssrc_of(const session& s) noexcept;

/// The f= of a media section, else the session-level one; and the description's f=.
reading<media_format> media_format_of(const session_view& s, const media_view& m) noexcept;
reading<media_format> media_format_of(const session_view& s) noexcept;
reading<media_format> media_format_of(const session& s, const media_description& m) noexcept;
reading<media_format> media_format_of(const session& s) noexcept;

/// Writes y= into a media section: replaces its y= line, or adds one at the end of the
/// section (before an f= line that ends it).
void set_ssrc(media_description& m, const ssrc& v);
/// Writes the description's y=: where it already is (first media section with one, else the
/// session level), else in the last media section, else at session level.
void set_ssrc(session& s, const ssrc& v);
/// Writes f= into a media section: replaces its f= line, or adds one at the end. Every
/// media_format can be written, so only std::bad_alloc is thrown.
void set_media_format(media_description& m, const media_format& f);
/// Writes the description's f=, placed as set_ssrc(session&, ...) places y=.
void set_media_format(session& s, const media_format& f);

}  // namespace sipkit::sdp::gb28181
