// RFC 3264 offer/answer over sipkit::sdp::session (offer_answer.hpp).
#include "sipkit/ua/offer_answer.hpp"

#include <algorithm>
#include <array>
#include <cstdint>
#include <limits>
#include <stdexcept>
#include <string>
#include <string_view>
#include <utility>

#include "sdp_formats.hpp"
#include "sipkit/parser/uri.hpp"
#include "sipkit/transaction/branch.hpp"

namespace sipkit::ua {
namespace {

using parser::iequals;
using namespace detail::sdp_formats;

// RFC 3264 §5: session id and version "MUST be representable with a 64 bit signed integer".
constexpr std::uint64_t max_origin_number =
    static_cast<std::uint64_t>(std::numeric_limits<std::int64_t>::max());

// The local address as the owning description wants it (local_address checks it).
std::pair<std::string, std::string> address_of(std::string_view address) {
  const address_type a = local_address(address);
  return {std::string(a.addrtype), std::string(a.address)};
}

// The parts every description we write shares: o=, s=, c= at session level, t=0 0.
sdp::session skeleton(const local_media& local, std::uint64_t session_id, std::uint64_t version) {
  check_origin_numbers(session_id, version);
  auto [addrtype, address] = address_of(local.address);
  sdp::session s;
  s.origin = {local.username, session_id, version, "IN", addrtype, address};
  s.connection = sdp::connection{"IN", std::move(addrtype), std::move(address)};
  return s;
}

std::string rtpmap_value(std::string_view fmt, const codec& c) {
  std::string v(fmt);
  v += ' ';
  v += c.name;
  v += '/';
  v += std::to_string(c.clock_rate);
  // RFC 8866 §6.6: the channel count may be omitted when it is one.
  if (c.channels != 1) {
    v += '/';
    v += std::to_string(c.channels);
  }
  return v;
}

// The a= lines describing one codec under the fmt it goes by.
void add_format_attributes(sdp::media_description& m, const std::string& fmt, const codec& c) {
  if (is_rtp(m.proto)) m.attributes.push_back({"rtpmap", rtpmap_value(fmt, c)});
  if (!c.fmtp.empty()) m.attributes.push_back({"fmtp", fmt + ' ' + c.fmtp});
}

// The payload type of every codec of an offered stream: explicit ones first, so that an
// automatic choice can never take a number the caller asked for.
std::vector<std::uint8_t> assign_payload_types(const media_capability& stream) {
  std::array<bool, last_payload_type + 1> used{};
  std::vector<std::uint8_t> pts(stream.codecs.size());
  for (std::size_t i = 0; i < stream.codecs.size(); ++i) {
    const auto& pt = stream.codecs[i].payload_type;
    if (!pt) continue;
    if (*pt > last_payload_type) {
      throw std::invalid_argument("sipkit::ua: payload type above 127 for codec " +
                                  stream.codecs[i].name);
    }
    if (used[*pt]) {
      throw std::invalid_argument("sipkit::ua: two codecs of one stream use payload type " +
                                  std::to_string(*pt));
    }
    used[*pt] = true;
    pts[i] = *pt;
  }
  std::uint8_t next_dynamic = first_dynamic;
  for (std::size_t i = 0; i < stream.codecs.size(); ++i) {
    if (stream.codecs[i].payload_type) continue;
    if (const static_format* s = find_static(stream.codecs[i]); s && !used[s->payload_type]) {
      used[s->payload_type] = true;
      pts[i] = s->payload_type;
      continue;
    }
    while (next_dynamic <= last_payload_type && used[next_dynamic]) ++next_dynamic;
    if (next_dynamic > last_payload_type) {
      throw std::invalid_argument("sipkit::ua: more codecs than dynamic payload types (96-127)");
    }
    used[next_dynamic] = true;
    pts[i] = next_dynamic;
  }
  return pts;
}

void check_codec(const media_capability& stream, const codec& c) {
  if (c.name.empty()) throw std::invalid_argument("sipkit::ua: codec without a name");
  if (is_rtp(stream.proto) && (c.clock_rate == 0 || c.channels == 0)) {
    throw std::invalid_argument("sipkit::ua: RTP codec " + c.name +
                                " needs a clock rate and a channel count");
  }
}


// The c= that applies to a media section: its own first, else the session's (RFC 8866 §5.7).
const sdp::connection* connection_of(const sdp::session& s, const sdp::media_description& m) {
  if (!m.connections.empty()) return &m.connections.front();
  return s.connection ? &*s.connection : nullptr;
}

std::string_view bare_address(std::string_view address) noexcept {
  return address.substr(0, address.find('/'));  // drop a multicast "/ttl[/count]"
}

// RFC 2543 put a call on hold with c=0.0.0.0; RFC 3264 §8.4 asks us to understand it: nobody
// can receive there.
bool is_unspecified(std::string_view address) noexcept {
  const std::string_view a = bare_address(address);
  return a == "0.0.0.0" || a == "::";
}

// Answer side of one offered stream. `fmts` receives the accepted formats' (offer index,
// local codec) pairs in the offerer's order.
struct stream_match {
  std::vector<std::pair<std::size_t, const codec*>> formats;
  bool has_media_codec = false;
};

stream_match match_formats(const sdp::media_description& offered, const media_capability& cap) {
  stream_match out;
  for (std::size_t i = 0; i < offered.fmts.size(); ++i) {
    const auto id = identify(offered, offered.fmts[i]);
    if (!id) continue;
    const auto local = std::find_if(cap.codecs.begin(), cap.codecs.end(), [&](const codec& c) {
      return is_rtp(offered.proto) ? same_codec(*id, c) : iequals(id->name, c.name);
    });
    if (local == cap.codecs.end()) continue;
    out.formats.emplace_back(i, &*local);
    if (!is_auxiliary(local->name)) out.has_media_codec = true;
  }
  return out;
}

sdp::media_description rejected(const sdp::media_description& offered) {
  sdp::media_description m;
  m.media = offered.media;
  m.port = 0;
  m.proto = offered.proto;
  m.fmts = offered.fmts;  // §6: "at least one MUST be present"; the offer's are as good as any
  return m;
}

sdp::session bump_if_changed(sdp::session next, const sdp::session& current) {
  if (next == current) return next;
  if (current.origin.session_version >= max_origin_number) {
    throw std::invalid_argument("sipkit::ua: o= version would exceed 2^63-1 (RFC 3264 §5)");
  }
  next.origin.session_version = current.origin.session_version + 1;
  return next;
}

template <class Rule>
sdp::session redirect(const sdp::session& current, Rule rule) {
  sdp::session next = current;
  std::erase_if(next.attributes, [](const sdp::attribute& a) {
    return sdp::direction_from_name(a.name).has_value();
  });
  for (auto& m : next.media) {
    if (m.port == 0) continue;
    const sdp::direction d = rule(current.direction_of(m));
    // Rewrite only what changes, so an unchanged stream keeps its attribute order.
    if (d != current.direction_of(m) || !m.find_attribute(sdp::to_string(d))) m.set_direction(d);
  }
  return bump_if_changed(std::move(next), current);
}

}  // namespace

std::uint64_t random_session_id(transaction::branch_generator& generator) {
  return 1 + generator.next_u64() % ((std::uint64_t{1} << 62) - 1);
}

std::uint64_t random_session_id() {
  transaction::branch_generator generator;  // keyed from std::random_device
  return random_session_id(generator);
}

sdp::session make_offer(const local_media& local, std::uint64_t session_id, std::uint64_t version) {
  sdp::session offer = skeleton(local, session_id, version);
  for (const media_capability& stream : local.streams) {
    if (stream.codecs.empty()) {
      throw std::invalid_argument("sipkit::ua: " + stream.media + " stream without codecs");
    }
    for (const codec& c : stream.codecs) check_codec(stream, c);
    sdp::media_description& m = offer.media.emplace_back();
    m.media = stream.media;
    m.port = stream.port;
    m.proto = stream.proto;
    if (is_rtp(stream.proto)) {
      const std::vector<std::uint8_t> pts = assign_payload_types(stream);
      for (std::size_t i = 0; i < pts.size(); ++i) {
        m.fmts.push_back(std::to_string(pts[i]));
        add_format_attributes(m, m.fmts.back(), stream.codecs[i]);
      }
    } else {
      for (const codec& c : stream.codecs) {
        m.fmts.push_back(c.name);
        add_format_attributes(m, c.name, c);
      }
    }
    m.set_direction(stream.direction);
  }
  return offer;
}

std::optional<answer_result> make_answer(const sdp::session& offer, const local_media& local,
                                         std::uint64_t session_id, std::uint64_t version) {
  if (offer.version != 0) return std::nullopt;
  for (const auto& m : offer.media) {
    if (m.port != 0 && !connection_of(offer, m)) return std::nullopt;
  }

  answer_result result{skeleton(local, session_id, version), {}, false};
  result.answer.timings = offer.timings;  // §6: "The t= line in the answer MUST equal ..."
  std::vector<bool> used(local.streams.size(), false);

  for (const sdp::media_description& offered : offer.media) {
    stream_status status = stream_status::no_local_capability;
    const media_capability* cap = nullptr;
    stream_match match;
    const sdp::connection* conn = connection_of(offer, offered);
    if (offered.port == 0) {
      status = stream_status::disabled_by_offerer;
    } else if (conn->nettype != "IN" || (conn->addrtype != "IP4" && conn->addrtype != "IP6")) {
      status = stream_status::unsupported_connection;
    } else {
      for (std::size_t i = 0; i < local.streams.size(); ++i) {
        const media_capability& candidate = local.streams[i];
        if (used[i] || candidate.port == 0 || !iequals(candidate.media, offered.media) ||
            !iequals(candidate.proto, offered.proto)) {
          continue;
        }
        status = stream_status::no_common_codec;
        match = match_formats(offered, candidate);
        if (match.has_media_codec) {
          used[i] = true;
          cap = &candidate;
          status = stream_status::accepted;
          break;
        }
      }
    }
    result.streams.push_back(status);
    if (status != stream_status::accepted) {
      result.answer.media.push_back(rejected(offered));
      continue;
    }

    result.any_accepted = true;
    sdp::media_description& m = result.answer.media.emplace_back();
    m.media = offered.media;
    m.port = cap->port;
    m.proto = offered.proto;
    for (const auto& [index, c] : match.formats) {
      m.fmts.push_back(offered.fmts[index]);  // §6.1: the offerer's payload type numbers
      add_format_attributes(m, m.fmts.back(), *c);
    }
    // §6.1: the offer's direction seen from our side, restricted by what we are willing to do.
    const sdp::direction offered_direction = offer.direction_of(offered);
    const bool offerer_receives = receives(offered_direction) && !is_unspecified(conn->address);
    m.set_direction(direction_from(offerer_receives && sends(cap->direction),
                                   sends(offered_direction) && receives(cap->direction)));
  }
  return result;
}

std::vector<negotiated_stream> negotiated(const sdp::session& local, const sdp::session& remote) {
  std::vector<negotiated_stream> out;
  out.reserve(local.media.size());
  for (std::size_t i = 0; i < local.media.size(); ++i) {
    const sdp::media_description& ours = local.media[i];
    negotiated_stream& s = out.emplace_back();
    s.media = ours.media;
    s.local_port = ours.port;
    if (i >= remote.media.size()) continue;
    const sdp::media_description& theirs = remote.media[i];
    s.remote_port = theirs.port;
    const sdp::connection* conn = connection_of(remote, theirs);
    if (conn) s.remote_address = bare_address(conn->address);
    if (ours.port == 0 || theirs.port == 0 || !iequals(ours.media, theirs.media)) continue;

    // The remote list is its order of preference for what it receives; pick from it what we
    // listed too, keeping the remote number and parameters.
    const bool rtp = is_rtp(theirs.proto);
    for (const std::string& fmt : theirs.fmts) {
      const auto id = identify(theirs, fmt);
      if (!id) continue;
      const bool common = std::any_of(ours.fmts.begin(), ours.fmts.end(), [&](const auto& f) {
        if (!rtp) return iequals(f, fmt);
        const auto local_id = identify(ours, f);
        return local_id && same_codec(*local_id, *id);
      });
      if (!common) continue;
      codec c{std::string(id->name), id->clock_rate, id->channels,
              rtp ? payload_type_of(fmt) : std::nullopt, fmtp_of(theirs, fmt)};
      if (iequals(id->name, "telephone-event")) {
        if (!s.telephone_event) s.telephone_event = std::move(c);
      } else if (!s.chosen_codec && !is_auxiliary(id->name)) {
        s.chosen_codec = std::move(c);
      }
    }
    // RFC 4733 §2.1: events share the audio's clock, so prefer the event format at its rate.
    if (s.chosen_codec && s.telephone_event &&
        s.telephone_event->clock_rate != s.chosen_codec->clock_rate) {
      for (const std::string& fmt : theirs.fmts) {
        const auto id = identify(theirs, fmt);
        const format_identity wanted{"telephone-event", s.chosen_codec->clock_rate, 1};
        if (!id || !same_codec(*id, wanted)) continue;
        const bool common = std::any_of(ours.fmts.begin(), ours.fmts.end(), [&](const auto& f) {
          const auto local_id = identify(ours, f);
          return local_id && same_codec(*local_id, wanted);
        });
        if (common) {
          s.telephone_event = codec{"telephone-event", wanted.clock_rate, 1, payload_type_of(fmt),
                                    fmtp_of(theirs, fmt)};
          break;
        }
      }
    }
    s.accepted = s.chosen_codec.has_value();
    if (!s.accepted) continue;
    const sdp::direction mine = local.direction_of(ours);
    const sdp::direction peer = remote.direction_of(theirs);
    const bool peer_receives = receives(peer) && conn && !is_unspecified(conn->address);
    s.direction = direction_from(sends(mine) && peer_receives, receives(mine) && sends(peer));
  }
  return out;
}

sdp::session with_direction(const sdp::session& current, sdp::direction d) {
  return redirect(current, [d](sdp::direction) { return d; });
}

sdp::session hold(const sdp::session& current) {
  return redirect(current, [](sdp::direction d) {
    // §8.4: stop receiving, keep sending (music on hold) where we were sending.
    if (d == sdp::direction::sendrecv) return sdp::direction::sendonly;
    if (d == sdp::direction::recvonly) return sdp::direction::inactive;
    return d;
  });
}

const sdp::session& offer_answer_state::next(sdp::session proposed) {
  if (last_) {
    proposed.origin = last_->origin;  // §8: the o= line stays, except for the version
    proposed = bump_if_changed(std::move(proposed), *last_);
  }
  last_ = std::move(proposed);
  return *last_;
}

}  // namespace sipkit::ua
