// An owning, editable SDP session description (RFC 8866) and its serializer.
//
//   sipkit::sdp::session offer;                    // v=0, o=- 0 0 IN IP4 0.0.0.0, s=-, t=0 0
//   offer.origin.address = "192.0.2.10";
//   offer.connection = sipkit::sdp::connection{"IN", "IP4", "192.0.2.10"};
//   auto& audio = offer.media.emplace_back();
//   audio.media = "audio"; audio.port = 49170; audio.proto = "RTP/AVP"; audio.fmts = {"0"};
//   audio.attributes.push_back({"rtpmap", "0 PCMU/8000"});
//   std::string body = offer.serialize();
//
// This is what code builds and edits; session_view (session_view.hpp) is what the parser
// produces. Converting a view copies every string once; the session then owns its data and
// does not depend on the parsed buffer.
//
// Serialization writes the canonical form: lines in RFC 8866 §5 order, one space between
// fields, CRLF line endings, numbers without leading zeros. parse(serialize(s)) gives back
// every field of s, and serializing a session parsed from canonical SDP reproduces its bytes.
// serialize() checks only that no field holds CR, LF or NUL (which would inject lines); the
// other grammar rules (tokens without spaces, at least one timing and one fmt per m= line,
// ...) are the builder's to respect, and parsing the output reports any breach.
//
// Thread safety: a plain value type; concurrent reads are safe, writes need external locking.
// Errors: serialize() throws std::invalid_argument on CR/LF/NUL in a field (a programming
// error); everything may throw std::bad_alloc.
#pragma once

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

  /// First attribute with this name, or nullptr.
  const attribute* find_attribute(std::string_view name) const noexcept;
  /// Removes every direction attribute and appends a=<d>, so exactly one remains.
  void set_direction(sdp::direction d);
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
  /// The media's direction attribute, else the session's, else sendrecv (RFC 8866 §6.7).
  sdp::direction direction_of(const media_description& m) const noexcept;

  bool operator==(const session&) const = default;
};

/// Parses into an owning session: parse() into a session_view, then copy. Same errors as
/// parse(std::string_view, session_view&); on error `out` is left unchanged.
parse_error parse(std::string_view sdp, session& out);

}  // namespace sipkit::sdp
