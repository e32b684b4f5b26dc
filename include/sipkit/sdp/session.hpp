// An owning, editable SDP session description (RFC 8866) and its serializer.
//
//   sipkit::sdp::session offer;                    // v=0, o=- 0 0 IN IP4 0.0.0.0, s=-, t=0 0
//   offer.origin.address = "192.0.2.10";
//   offer.connection = sipkit::sdp::connection{"IN", "IP4", "192.0.2.10"};
//   auto& audio = offer.media.emplace_back();
//   audio.media = "audio"; audio.port = 49170; audio.proto = "RTP/AVP"; audio.fmts = {"0"};
//   audio.add_attribute("rtpmap", "0 PCMU/8000").add_attribute("rtcp-mux");
//   std::string body = offer.serialize();
//
// This is what code builds and edits; session_view (session_view.hpp) is what the parser
// produces. Converting a view copies every string once; the session then owns its data and
// does not depend on the parsed buffer.
//
// Serialization writes the canonical form: lines in RFC 8866 §5 order, one space between
// fields, CRLF line endings, numbers without leading zeros. parse(serialize(s)) gives back
// every field of s, and serializing a session parsed from canonical SDP reproduces its bytes.
// serialize() checks only that no field holds CR, LF or NUL (which would inject lines) and
// that an extension line's type letter is not one RFC 8866 defines; the other grammar rules
// (tokens without spaces, at least one timing and one fmt per m= line, ...) are the
// builder's to respect, and parsing the output reports any breach.
//
// Lines of unknown type letters (GB/T 28181's y= and f=, vendor lines; see parse_options)
// are kept as extension_line values at their level, each with its place among that level's
// RFC 8866 lines, so parse -> session -> serialize puts them back where they were: SDP that
// is canonical apart from them round-trips byte for byte. gb28181.hpp reads and writes y=
// and f= typed.
//
// Thread safety: a plain value type; concurrent reads are safe, writes need external locking.
// Errors: serialize() throws std::invalid_argument on CR/LF/NUL in a field or a known type
// letter in an extension line, add_attribute() on a name that is not an SDP token or a value
// with CR/LF/NUL (programming errors); everything may throw std::bad_alloc.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "sipkit/sdp/attributes.hpp"
#include "sipkit/sdp/session_view.hpp"

namespace sipkit::sdp {

/// o= line (§5.2).
struct origin {
  std::string username = "-";
  std::uint64_t session_id = 0;
  std::uint64_t session_version = 0;
  std::string nettype = "IN";
  std::string addrtype = "IP4";
  std::string address = "0.0.0.0";

  bool operator==(const origin&) const = default;
};

/// c= line (§5.7); `address` is raw, TTL and count suffixes included.
struct connection {
  std::string nettype = "IN";
  std::string addrtype = "IP4";
  std::string address;

  bool operator==(const connection&) const = default;
};

/// b= line (§5.8).
struct bandwidth {
  std::string type;
  std::uint64_t value = 0;

  bool operator==(const bandwidth&) const = default;
};

/// t= line with its r= lines and optional z= line (§5.9-5.11); repeats and zone are raw.
struct timing {
  std::uint64_t start = 0;
  std::uint64_t stop = 0;
  std::vector<std::string> repeats;
  std::string zone;  ///< empty: no z= line

  bool operator==(const timing&) const = default;
};

/// a= line (§5.13): a property attribute ("a=recvonly") has no value.
struct attribute {
  std::string name;
  std::optional<std::string> value;

  bool operator==(const attribute&) const = default;
};

/// A line whose type letter RFC 8866 does not define, as written ("y=0100000001" is
/// {'y', "0100000001"}); see extension_view for the parsed form.
struct extension_line {
  /// `after` value placing a line after every RFC 8866 line of its level.
  static constexpr std::size_t at_end = static_cast<std::size_t>(-1);

  char type = 0;  ///< an ASCII letter that is none of v o s i u e p c b t r z k a m
  std::string value;
  /// Written after this many RFC 8866 lines of its level, counted from v= (session) or from
  /// the m= line (media section), so 1 is right after v= or m= (0 counts as 1). at_end, or
  /// any number past the level's last line, writes it after all of them: that is where
  /// parsing puts a line that came after the last RFC 8866 line of its level, so lines
  /// added later (add_attribute) go before it, as GB/T 28181 wants for y= and f=.
  std::size_t after = at_end;

  bool operator==(const extension_line&) const = default;
};

/// m= line and the lines of its media section (§5.14).
struct media_description {
  std::string media;  ///< "audio", "video" ...
  std::uint16_t port = 0;
  std::uint32_t port_count = 0;  ///< 0: no "/<number of ports>"
  std::string proto = "RTP/AVP";
  std::vector<std::string> fmts;
  std::string information;  ///< i=, empty: absent
  std::vector<sdp::connection> connections;
  std::vector<sdp::bandwidth> bandwidths;
  std::string key;  ///< k=, empty: absent
  std::vector<attribute> attributes;
  std::vector<extension_line> extensions;  ///< lines of unknown type letters, in order

  /// First attribute with this name, or nullptr.
  const attribute* find_attribute(std::string_view name) const noexcept;
  /// Appends a=<name> (a property attribute such as "rtcp-mux") or a=<name>:<value>
  /// ("candidate", "1 1 UDP 2130706431 192.0.2.1 40000 typ host"), after the existing a=
  /// lines. Returns *this, so calls chain. Throws std::invalid_argument when `name` is not an
  /// SDP token (RFC 8866 §9 token-char) or `value` holds CR, LF or NUL.
  media_description& add_attribute(std::string name);
  media_description& add_attribute(std::string name, std::string value);
  /// Removes every direction attribute and appends a=<d>, so exactly one remains.
  void set_direction(sdp::direction d);
  /// First extension line of this type letter, or nullptr.
  const extension_line* find_extension(char type) const noexcept;
  /// Sets the value of the first extension line of this type letter, or appends one at the
  /// end of the media section. Throws std::invalid_argument when `type` is not an ASCII
  /// letter or is one RFC 8866 defines, or `value` holds CR, LF or NUL.
  media_description& set_extension(char type, std::string value);
  /// Removes every extension line of this type letter; returns how many there were.
  std::size_t remove_extensions(char type);
  /// Typed rtpmap / fmtp for a format; views point into this object's strings.
  std::optional<rtpmap> find_rtpmap(std::string_view fmt) const noexcept;
  std::optional<fmtp> find_fmtp(std::string_view fmt) const noexcept;

  bool operator==(const media_description&) const = default;
};

/// A whole session description. Default-constructed it is the smallest valid SDP:
/// "v=0", "o=- 0 0 IN IP4 0.0.0.0", "s=-", "t=0 0".
struct session {
  std::uint32_t version = 0;
  sdp::origin origin;
  std::string name = "-";   ///< s=; RFC 8866 §5.3 recommends "-" (or " ") when unnamed
  std::string information;  ///< i=, empty: absent
  std::string uri;          ///< u=, empty: absent
  std::vector<std::string> emails;
  std::vector<std::string> phones;
  std::optional<sdp::connection> connection;
  std::vector<sdp::bandwidth> bandwidths;
  std::vector<timing> timings{timing{}};
  std::string key;  ///< k=, empty: absent
  std::vector<attribute> attributes;
  std::vector<extension_line> extensions;  ///< session-level lines of unknown type letters
  std::vector<media_description> media;

  session() = default;
  /// Copies every field of a parsed view.
  explicit session(const session_view& view);

  /// The canonical SDP text (CRLF line endings). See the file comment for guarantees.
  std::string serialize() const;
  /// Appends the canonical text to `out` (reuses its capacity).
  void serialize_to(std::string& out) const;

  /// First session-level attribute with this name, or nullptr.
  const attribute* find_attribute(std::string_view name) const noexcept;
  /// Appends a session-level a= line (a=group:BUNDLE, a=ice-options:trickle ...); same rules
  /// as media_description::add_attribute.
  session& add_attribute(std::string name);
  session& add_attribute(std::string name, std::string value);
  /// Session-level extension lines; same rules as media_description's.
  const extension_line* find_extension(char type) const noexcept;
  session& set_extension(char type, std::string value);
  std::size_t remove_extensions(char type);
  /// The media's direction attribute, else the session's, else sendrecv (RFC 8866 §6.7).
  sdp::direction direction_of(const media_description& m) const noexcept;

  bool operator==(const session&) const = default;
};

/// Parses into an owning session: parse() into a session_view, then copy. Same options and
/// errors as parse(std::string_view, session_view&, const parse_options&); on error `out` is
/// left unchanged.
parse_error parse(std::string_view sdp, session& out, const parse_options& options = {});

}  // namespace sipkit::sdp
