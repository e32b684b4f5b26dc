// A parsed SDP session description (RFC 8866) that points into the caller's buffer.
//
//   sipkit::sdp::session_view sdp;
//   if (auto err = sipkit::sdp::parse(body, sdp)) {
//     log(err.message());          // "syntax error in SDP m= line at offset 87"
//   } else {
//     for (const auto& m : sdp.media()) {
//       auto dir = sdp.direction_of(m);          // media level overrides session level
//       auto map = sdp.find_rtpmap(m, "96");     // typed a=rtpmap for payload type 96
//     }
//   }
//
// Ownership: every std::string_view in a session_view (and in the values read from it) points
// into the buffer passed to parse(); that buffer must outlive the view and those values.
// Convert to sipkit::sdp::session (session.hpp) for an owning, editable copy.
//
// Storage: all tables are fixed inline arrays (capacities below), so parsing allocates
// nothing. A description that needs more entries than a table holds is rejected with
// errc::too_many_headers, never truncated. A session_view is about 17 KiB; constructing one
// writes only its counts and scalars (the table entries are written by parse() as it fills
// them and never read past the counts), so a fresh one on the stack per parse is cheap.
// Reuse one rather than copying it around. Copying is safe: sections refer to the tables by
// index, not pointer.
//
// Grammar: RFC 8866 §9, one pass, lines in the order of §5:
//   v o s i? u? e* p* c? b* (t r* z?)+ k? a*   then per media section   m i? c* b* k? a*
// Line endings may be CRLF or a bare LF (§5). z= is accepted after the r= lines of any time
// description, which covers both RFC 8866 (z= inside the time description) and RFC 4566
// (one z= after all of them). Type letters are case-sensitive.
//
// Unknown lines: §5 says a line whose type letter the parser does not know MUST be ignored
// or the whole description rejected. Devices send such lines for real (GB/T 28181's y= and
// f=, vendor extensions), so by default a line of any other ASCII letter ("y=0100000001",
// "x=anything", an empty value too) is kept as an extension line, in order, at the level
// (session or media section) where it appeared, with the number of RFC 8866 lines of that
// level before it: session -> serialize puts it back in the same place. parse_options::
// strict() keeps the rejection, with the offset of the type letter. A line that does not
// start with a letter (an empty line, " a=x") is a syntax error either way, and nothing but
// v= may come first. Two more leniencies, both seen in the wild and both preserved by a
// round trip: an empty s= value, and an empty attribute value ("a=x:").
//
// Thread safety: a view may be read from several threads at once; parsing into it is not
// synchronised.
#pragma once

#include <cstddef>
#include <cstdint>
#include <new>
#include <optional>
#include <span>
#include <string_view>
#include <type_traits>

#include "sipkit/parser/error.hpp"
#include "sipkit/sdp/attributes.hpp"

namespace sipkit::sdp {

using parse_error = sipkit::parser::parse_error;
using errc = sipkit::parser::errc;

/// o=<username> <sess-id> <sess-version> <nettype> <addrtype> <unicast-address> (§5.2)
struct origin_view {
  std::string_view username;  ///< "-" when the host has no user ids
  std::uint64_t session_id = 0;
  std::uint64_t session_version = 0;
  std::string_view nettype;   ///< "IN"
  std::string_view addrtype;  ///< "IP4" / "IP6"
  std::string_view address;
};

/// c=<nettype> <addrtype> <connection-address> (§5.7). `address` is kept raw, so a
/// multicast "233.252.0.1/127/3" keeps its TTL and address count.
struct connection_view {
  std::string_view nettype;
  std::string_view addrtype;
  std::string_view address;
};

/// b=<bwtype>:<bandwidth> (§5.8), e.g. type "AS", value in kilobits per second.
struct bandwidth_view {
  std::string_view type;
  std::uint64_t value = 0;
};

/// A slice of one of the session_view's tables; read it through the session_view accessor
/// that takes the owning record (e.g. session_view::fmts(const media_view&)).
struct index_range {
  std::uint16_t first = 0;
  std::uint16_t count = 0;
};

/// t=<start-time> <stop-time> (§5.9), NTP seconds, 0 meaning unbounded; with its r= lines
/// (§5.10, raw values such as "7d 1h 0 25h") and its z= line (§5.11, raw, empty if absent).
struct timing_view {
  std::uint64_t start = 0;
  std::uint64_t stop = 0;
  index_range repeat_range;  ///< read with session_view::repeats(timing)
  std::string_view zone;
};

/// a=<name> or a=<name>:<value> (§5.13). `has_value` tells "a=x" from "a=x:".
struct attribute_view {
  std::string_view name;
  std::string_view value;
  bool has_value = false;
};

/// One media description: m=<media> <port>[/<number of ports>] <proto> <fmt> ... (§5.14)
/// and the i=/c=/b=/k=/a= lines that follow it.
struct media_view {
  std::string_view media;  ///< "audio", "video", "application" ...
  std::uint16_t port = 0;
  std::uint32_t port_count = 0;  ///< the "/2" of "49170/2"; 0 when absent (the RFC's is >= 1)
  std::string_view proto;        ///< "RTP/AVP", "UDP/TLS/RTP/SAVPF" ...
  std::string_view information;  ///< i=, empty if absent
  std::string_view key;          ///< k= (obsolete, §5.12), empty if absent
  // Slices of the session_view's tables; use the session_view accessors.
  index_range fmt_range;
  index_range connection_range;
  index_range bandwidth_range;
  index_range attribute_range;
  index_range extension_range;  ///< lines of unknown type letters (parse_options)
};

/// A line whose type letter RFC 8866 does not define (parse_options::unknown_lines), as
/// written: "y=0100000001" is {'y', "0100000001", n}. GB/T 28181's y= and f= are read typed by
/// gb28181.hpp.
struct extension_view {
  char type = 0;           ///< the type letter, an ASCII letter none of v o s i u e p c b t r z k a m
  std::string_view value;  ///< everything after '=' up to the line end; may be empty
  /// How many RFC 8866 lines of its level come before it: at session level counting from
  /// v= (so at least 1), in a media section counting from its m= line (at least 1).
  std::uint16_t after = 0;
};

/// What parse() tolerates beyond RFC 8866. Default-constructed: every tolerance on.
struct parse_options {
  /// Keep lines of unknown type letters as extension lines (session_view::extensions).
  /// Off: such a line is errc::syntax at its type letter, reason "SDP line type (unknown or
  /// empty line)" (RFC 8866 §5 "reject").
  bool unknown_lines = true;

  /// Everything by RFC 8866: every tolerance off.
  static constexpr parse_options strict() noexcept { return parse_options{.unknown_lines = false}; }
};

struct parse_state;

namespace detail {

/// Room for N entries that construction leaves unwritten: an std::array of these records
/// would be written in full by every constructor (their members have default values), ~17
/// KiB per session_view, more than parsing a typical offer costs. The owner writes an entry
/// before it reads it (session_view: parse() writes entries below its counts).
template <class T, std::size_t N>
class unwritten_table {
  static_assert(std::is_trivially_copyable_v<T> && std::is_trivially_destructible_v<T>);

 public:
  T* data() noexcept { return std::launder(reinterpret_cast<T*>(bytes_)); }
  const T* data() const noexcept { return std::launder(reinterpret_cast<const T*>(bytes_)); }
  T& operator[](std::size_t i) noexcept { return data()[i]; }
  const T& operator[](std::size_t i) const noexcept { return data()[i]; }

 private:
  // A byte array implicitly creates the T objects (all implicit-lifetime types) it holds.
  alignas(T) std::byte bytes_[sizeof(T) * N];
};

}  // namespace detail

class session_view {
 public:
  /// An empty view (no media, no lines); only the counts and scalars are written.
  session_view() noexcept {}

  static constexpr std::size_t max_media = 16;
  static constexpr std::size_t max_attributes = 256;  ///< session and media levels (WebRTC offers carry 100+)
  static constexpr std::size_t max_fmts = 128;        ///< over all m= lines
  static constexpr std::size_t max_connections = 16;  ///< media-level c= lines, all sections
  static constexpr std::size_t max_bandwidths = 16;   ///< b= lines, all levels
  static constexpr std::size_t max_timings = 8;
  static constexpr std::size_t max_repeats = 16;
  static constexpr std::size_t max_emails = 8;
  static constexpr std::size_t max_phones = 8;
  static constexpr std::size_t max_extensions = 32;  ///< unknown-letter lines, all levels

  // Session level, in line order.
  std::uint32_t version() const noexcept { return version_; }  ///< v=, 0 in RFC 8866
  const origin_view& origin() const noexcept { return origin_; }
  std::string_view name() const noexcept { return name_; }                ///< s=
  std::string_view information() const noexcept { return information_; }  ///< i=, "" if absent
  std::string_view uri() const noexcept { return uri_; }                  ///< u=, "" if absent
  std::span<const std::string_view> emails() const noexcept {
    return {emails_.data(), email_count_};
  }
  std::span<const std::string_view> phones() const noexcept {
    return {phones_.data(), phone_count_};
  }
  /// Session-level c=, or nullptr (then every media section must carry its own, §5.7).
  const connection_view* connection() const noexcept {
    return has_connection_ ? &connection_ : nullptr;
  }
  std::span<const bandwidth_view> bandwidths() const noexcept {
    return {bandwidths_.data(), session_bandwidths_};
  }
  std::span<const timing_view> timings() const noexcept { return {timings_.data(), timing_count_}; }
  std::span<const std::string_view> repeats(const timing_view& t) const noexcept {
    return slice(repeats_, t.repeat_range);
  }
  std::string_view key() const noexcept { return key_; }  ///< k=, "" if absent
  std::span<const attribute_view> attributes() const noexcept {
    return {attributes_.data(), session_attributes_};
  }
  /// Session-level lines of unknown type letters, in order (empty when parsed strictly).
  std::span<const extension_view> extensions() const noexcept {
    return {extensions_.data(), session_extensions_};
  }

  // Media sections.
  std::span<const media_view> media() const noexcept { return {media_.data(), media_count_}; }
  std::span<const std::string_view> fmts(const media_view& m) const noexcept {
    return slice(fmts_, m.fmt_range);
  }
  std::span<const connection_view> connections(const media_view& m) const noexcept {
    return slice(connections_, m.connection_range);
  }
  std::span<const bandwidth_view> bandwidths(const media_view& m) const noexcept {
    return slice(bandwidths_, m.bandwidth_range);
  }
  std::span<const attribute_view> attributes(const media_view& m) const noexcept {
    return slice(attributes_, m.attribute_range);
  }
  std::span<const extension_view> extensions(const media_view& m) const noexcept {
    return slice(extensions_, m.extension_range);
  }

  // Typed helpers.
  /// The media's direction: its own direction attribute, else the session's, else sendrecv
  /// (RFC 8866 §6.7).
  sdp::direction direction_of(const media_view& m) const noexcept;
  /// The session-level direction attribute, or sendrecv.
  sdp::direction session_direction() const noexcept;
  /// The first a=<name> of the media section (or of the session, for the overload without
  /// media), or nullptr.
  const attribute_view* find_attribute(const media_view& m, std::string_view name) const noexcept;
  const attribute_view* find_attribute(std::string_view name) const noexcept;
  /// The first extension line of this type letter in the media section (or of the session,
  /// for the overload without media), or nullptr.
  const extension_view* find_extension(const media_view& m, char type) const noexcept;
  const extension_view* find_extension(char type) const noexcept;
  /// The a=rtpmap of the media section whose payload type is `fmt`, read with parse_rtpmap;
  /// nullopt if there is none or it is malformed.
  std::optional<rtpmap> find_rtpmap(const media_view& m, std::string_view fmt) const noexcept;
  /// The a=fmtp of the media section whose format is `fmt`, or nullopt.
  std::optional<fmtp> find_fmtp(const media_view& m, std::string_view fmt) const noexcept;

 private:
  friend struct parse_state;
  friend parse_error parse(std::string_view sdp, session_view& out,
                           const parse_options& options) noexcept;

  template <class T, std::size_t N>
  static std::span<const T> slice(const detail::unwritten_table<T, N>& table,
                                  index_range r) noexcept {
    return {table.data() + r.first, r.count};
  }

  std::uint32_t version_ = 0;
  origin_view origin_;
  std::string_view name_;
  std::string_view information_;
  std::string_view uri_;
  std::string_view key_;
  connection_view connection_;
  bool has_connection_ = false;

  std::uint16_t email_count_ = 0;
  std::uint16_t phone_count_ = 0;
  std::uint16_t timing_count_ = 0;
  std::uint16_t repeat_count_ = 0;
  std::uint16_t media_count_ = 0;
  std::uint16_t fmt_count_ = 0;
  std::uint16_t connection_count_ = 0;
  std::uint16_t bandwidth_count_ = 0;
  std::uint16_t session_bandwidths_ = 0;
  std::uint16_t attribute_count_ = 0;
  std::uint16_t session_attributes_ = 0;
  std::uint16_t extension_count_ = 0;
  std::uint16_t session_extensions_ = 0;

  detail::unwritten_table<std::string_view, max_emails> emails_;
  detail::unwritten_table<std::string_view, max_phones> phones_;
  detail::unwritten_table<timing_view, max_timings> timings_;
  detail::unwritten_table<std::string_view, max_repeats> repeats_;
  detail::unwritten_table<media_view, max_media> media_;
  detail::unwritten_table<std::string_view, max_fmts> fmts_;
  detail::unwritten_table<connection_view, max_connections> connections_;
  detail::unwritten_table<bandwidth_view, max_bandwidths> bandwidths_;
  detail::unwritten_table<attribute_view, max_attributes> attributes_;
  detail::unwritten_table<extension_view, max_extensions> extensions_;
};

/// Parses one SDP session description in a single pass. On success returns a parse_error
/// whose code is errc::ok (it converts to false); `out` is then complete. On failure `out`
/// holds whatever was read before the error and must not be used. Errors:
///  - errc::syntax: a line breaks the RFC 8866 §9 grammar, is out of the §5 order, does not
///    start with a letter (or, with options.unknown_lines off, has an unknown type letter),
///    or a required line (v, o, s, t) is missing; `reason` names the
///    line ("SDP m= line", "SDP c= line (out of order)") and `offset` is the first byte that
///    could not be accepted (the input length when it ended early).
///  - errc::value_out_of_range: a number overflows its field (port > 65535, a 64-bit
///    sess-id/sess-version/time/bandwidth, a 32-bit version/port count); `offset` is the
///    number's first digit.
///  - errc::too_many_headers: a table capacity above was exceeded; `offset` is the start of
///    the line (or fmt) that did not fit.
/// Never throws, never allocates.
parse_error parse(std::string_view sdp, session_view& out,
                  const parse_options& options = {}) noexcept;

}  // namespace sipkit::sdp
