// RFC 3264 §6 answers written straight from a parsed offer to text (write_answer in
// offer_answer.hpp). make_answer's rules, decided once into fixed tables, then written twice
// by the same code: once to count the bytes, once into the string reserved to that size.
#include <algorithm>
#include <array>
#include <charconv>
#include <cstdint>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

#include "sdp_formats.hpp"
#include "sipkit/parser/uri.hpp"
#include "sipkit/ua/offer_answer.hpp"

namespace sipkit::ua {
namespace {

using parser::iequals;
using namespace detail::sdp_formats;


// RFC 8866 §5.7: the section's own first c=, else the session's.
const sdp::connection_view* connection_of(const sdp::session_view& s,
                                          const sdp::media_view& m) noexcept {
  const auto own = s.connections(m);
  return own.empty() ? s.connection() : &own.front();
}

// RFC 3264 §8.4: an RFC 2543 hold address (0.0.0.0, or ::) receives nothing.
bool is_unspecified(std::string_view address) noexcept {
  const std::string_view a = address.substr(0, address.find('/'));
  return a == "0.0.0.0" || a == "::";
}

// An accepted format: the offer's fmt (by index into the offer's fmt table of the section)
// and the local codec it matched.
struct accepted_format {
  std::uint16_t fmt = 0;
  const codec* local = nullptr;
};

// What the answer says for one offered m= line.
struct stream_plan {
  const media_capability* cap = nullptr;  // null: rejected (port 0, the offered fmts)
  std::uint16_t first = 0;                // its accepted formats in plan::formats
  std::uint16_t count = 0;
  sdp::direction direction = sdp::direction::inactive;
};

struct plan {
  std::array<stream_plan, sdp::session_view::max_media> streams{};
  std::array<accepted_format, sdp::session_view::max_fmts> formats{};
  std::uint16_t format_count = 0;
};

// The offered formats with a local codec, in the offerer's order (§6.1), appended to `p`;
// true when one of them can carry the media (not telephone-event, CN ... alone).
bool match_formats(const sdp::session_view& offer, const sdp::media_view& offered,
                   const media_capability& cap, plan& p) {
  bool media_codec = false;
  const auto fmts = offer.fmts(offered);
  const auto attributes = offer.attributes(offered);
  const bool rtp = is_rtp(offered.proto);
  for (std::size_t i = 0; i < fmts.size(); ++i) {
    const auto id = identify(offered.proto, attributes, fmts[i]);
    if (!id) continue;
    const auto local = std::find_if(cap.codecs.begin(), cap.codecs.end(), [&](const codec& c) {
      return rtp ? same_codec(*id, c) : iequals(id->name, c.name);
    });
    if (local == cap.codecs.end()) continue;
    p.formats[p.format_count++] = {static_cast<std::uint16_t>(i), &*local};
    if (!is_auxiliary(local->name)) media_codec = true;
  }
  return media_codec;
}

// Writes to a byte counter or to the output string. Every field goes through field(): the
// counting pass refuses a CR, LF or NUL there as session::serialize does, so it throws before
// anything is written, and the writing pass copies into the bytes the count reserved.
template <class Sink>
class line_writer {
 public:
  explicit line_writer(Sink& sink) : sink_(sink) {}
  line_writer& raw(std::string_view s) {
    sink_.put(s);
    return *this;
  }
  line_writer& field(std::string_view s) {
    if (Sink::checks && s.find_first_of(std::string_view("\r\n\0", 3)) != std::string_view::npos) {
      throw std::invalid_argument("sipkit::sdp::session::serialize: CR, LF or NUL in a field");
    }
    sink_.put(s);
    return *this;
  }
  line_writer& number(std::uint64_t v) {
    char buf[24];
    const auto r = std::to_chars(buf, buf + sizeof buf, v);
    sink_.put(std::string_view(buf, static_cast<std::size_t>(r.ptr - buf)));
    return *this;
  }

 private:
  Sink& sink_;
};

struct byte_counter {
  static constexpr bool checks = true;
  std::size_t n = 0;
  void put(std::string_view s) noexcept { n += s.size(); }
};
// Into storage of exactly the counted size: no capacity check per piece.
struct buffer_sink {
  static constexpr bool checks = false;
  char* next;
  void put(std::string_view s) noexcept {
    std::copy(s.begin(), s.end(), next);
    next += s.size();
  }
};

// The lines of the answer in session::serialize's order: v o s c t(r z), then per m= line the
// m= line, an rtpmap (RTP only) and fmtp per accepted format, and the direction.
template <class Sink>
void emit(Sink& sink, const sdp::session_view& offer, const plan& p, const local_media& local,
          const address_type& address, std::uint64_t session_id, std::uint64_t version) {
  line_writer<Sink> w(sink);
  w.raw("v=0\r\no=").field(local.username).raw(" ").number(session_id).raw(" ").number(version);
  w.raw(" IN ").raw(address.addrtype).raw(" ").field(address.address).raw("\r\ns=-\r\n");
  w.raw("c=IN ").raw(address.addrtype).raw(" ").field(address.address).raw("\r\n");
  for (const auto& t : offer.timings()) {  // §6: "The t= line in the answer MUST equal ..."
    w.raw("t=").number(t.start).raw(" ").number(t.stop).raw("\r\n");
    for (const auto r : offer.repeats(t)) w.raw("r=").field(r).raw("\r\n");
    if (!t.zone.empty()) w.raw("z=").field(t.zone).raw("\r\n");
  }
  const auto media = offer.media();
  for (std::size_t i = 0; i < media.size(); ++i) {
    const sdp::media_view& offered = media[i];
    const stream_plan& s = p.streams[i];
    const auto fmts = offer.fmts(offered);
    w.raw("m=").field(offered.media).raw(" ").number(s.cap ? s.cap->port : 0).raw(" ");
    w.field(offered.proto);
    if (!s.cap) {  // §6: "at least one MUST be present"; the offer's are as good as any
      for (const auto f : fmts) w.raw(" ").field(f);
      w.raw("\r\n");
      continue;
    }
    for (std::size_t k = s.first; k < s.first + s.count; ++k) {
      w.raw(" ").field(fmts[p.formats[k].fmt]);  // §6.1: the offerer's payload type numbers
    }
    w.raw("\r\n");
    const bool rtp = is_rtp(offered.proto);
    for (std::size_t k = s.first; k < s.first + s.count; ++k) {
      const std::string_view fmt = fmts[p.formats[k].fmt];
      const codec& c = *p.formats[k].local;
      if (rtp) {
        w.raw("a=rtpmap:").field(fmt).raw(" ").field(c.name).raw("/").number(c.clock_rate);
        // RFC 8866 §6.6: the channel count may be omitted when it is one.
        if (c.channels != 1) w.raw("/").number(c.channels);
        w.raw("\r\n");
      }
      if (!c.fmtp.empty()) w.raw("a=fmtp:").field(fmt).raw(" ").field(c.fmtp).raw("\r\n");
    }
    w.raw("a=").raw(sdp::to_string(s.direction)).raw("\r\n");
  }
}

}  // namespace

std::optional<answer_summary> write_answer(const sdp::session_view& offer,
                                           const local_media& local, std::uint64_t session_id,
                                           std::uint64_t version, std::string& out) {
  if (offer.version() != 0) return std::nullopt;
  for (const auto& m : offer.media()) {
    if (m.port != 0 && !connection_of(offer, m)) return std::nullopt;
  }
  check_origin_numbers(session_id, version);
  const address_type address = local_address(local.address);

  answer_summary result;
  plan p;
  // Which local capability answers which m= line; at most 16 of each are looked at per line,
  // and a capability beyond the bitmap's reach is as usable as make_answer's vector<bool> says.
  std::vector<bool> used_heap;
  std::array<bool, 32> used_small{};
  const bool small = local.streams.size() <= used_small.size();
  if (!small) used_heap.assign(local.streams.size(), false);
  auto used = [&](std::size_t i) -> bool { return small ? used_small[i] : used_heap[i]; };
  auto mark = [&](std::size_t i) {
    if (small) used_small[i] = true;
    else used_heap[i] = true;
  };

  const auto media = offer.media();
  for (std::size_t n = 0; n < media.size(); ++n) {
    const sdp::media_view& offered = media[n];
    stream_status status = stream_status::no_local_capability;
    stream_plan& s = p.streams[n];
    const sdp::connection_view* conn = connection_of(offer, offered);
    if (offered.port == 0) {
      status = stream_status::disabled_by_offerer;
    } else if (conn->nettype != "IN" || (conn->addrtype != "IP4" && conn->addrtype != "IP6")) {
      status = stream_status::unsupported_connection;
    } else {
      for (std::size_t i = 0; i < local.streams.size(); ++i) {
        const media_capability& candidate = local.streams[i];
        if (used(i) || candidate.port == 0 || !iequals(candidate.media, offered.media) ||
            !iequals(candidate.proto, offered.proto)) {
          continue;
        }
        status = stream_status::no_common_codec;
        const std::uint16_t first = p.format_count;
        if (match_formats(offer, offered, candidate, p)) {
          mark(i);
          s.cap = &candidate;
          s.first = first;
          s.count = static_cast<std::uint16_t>(p.format_count - first);
          status = stream_status::accepted;
          break;
        }
        p.format_count = first;  // a capability without a media codec leaves nothing behind
      }
    }
    result.status[result.stream_count++] = status;
    if (status != stream_status::accepted) continue;
    result.any_accepted = true;
    // §6.1: the offer's direction seen from our side, restricted by what we are willing to do.
    const sdp::direction offered_direction = offer.direction_of(offered);
    const bool offerer_receives = receives(offered_direction) && !is_unspecified(conn->address);
    s.direction = direction_from(offerer_receives && sends(s.cap->direction),
                                 sends(offered_direction) && receives(s.cap->direction));
  }

  byte_counter size;
  emit(size, offer, p, local, address, session_id, version);
  const std::size_t start = out.size();
  out.resize(start + size.n);
  buffer_sink sink{out.data() + start};
  emit(sink, offer, p, local, address, session_id, version);
  return result;
}

namespace detail::sdp_formats {

namespace {

// The text of a description split around its o= session version (v= is the first line and o=
// the second, RFC 8866 §5); nullopt when it does not look so.
struct around_version {
  std::string_view before, after;
};
std::optional<around_version> split_version(std::string_view text) noexcept {
  const auto line = text.find('\n');
  if (line == std::string_view::npos || text.substr(line + 1, 2) != "o=") return std::nullopt;
  const auto id = text.find(' ', line + 1);  // the username has no space (RFC 8866 §9)
  const auto version = id == std::string_view::npos ? id : text.find(' ', id + 1);
  const auto end = version == std::string_view::npos ? version : text.find(' ', version + 1);
  if (end == std::string_view::npos || end > text.find('\n', line + 1)) return std::nullopt;
  return around_version{text.substr(0, version + 1), text.substr(end)};
}

}  // namespace

bool same_session(std::string_view a, std::string_view b, bool ignore_version,
                  sdp::session_view& check) {
  if (a == b) return !sdp::parse(a, check);
  if (ignore_version) {
    const auto x = split_version(a);
    const auto y = split_version(b);
    // Texts equal but for the version parse alike (if b's version fits, which parse checks).
    if (x && y && x->before == y->before && x->after == y->after) {
      return !sdp::parse(a, check) && !sdp::parse(b, check);
    }
  }
  sdp::session first, second;
  if (sdp::parse(a, first) || sdp::parse(b, second)) return false;
  if (ignore_version) first.origin.session_version = second.origin.session_version;
  return first == second;
}

void set_answer_version(std::string& answer, std::string_view username, std::uint64_t version) {
  // "v=0\r\no=" <username> ' ' <session id> ' ' <version> ' ' ...: write_answer's own layout.
  const std::size_t id = 7 + username.size() + 1;
  const std::size_t first = answer.find(' ', id) + 1;
  const std::size_t last = answer.find(' ', first);
  char buf[24];
  const auto r = std::to_chars(buf, buf + sizeof buf, version);
  answer.replace(first, last - first, buf, static_cast<std::size_t>(r.ptr - buf));
}

}  // namespace detail::sdp_formats

std::optional<answer_summary> write_answer(std::string_view offer, const local_media& local,
                                           std::uint64_t session_id, std::uint64_t version,
                                           std::string& out) {
  sdp::session_view view;
  if (sdp::parse(offer, view)) return std::nullopt;
  return write_answer(view, local, session_id, version, out);
}

}  // namespace sipkit::ua
