// The UAS core's checks before any dialog or method logic (RFC 3261 §8.2.1-§8.2.3), in
// the RFC's order, each with its RFC 4475 torture case where one exists.
#include <algorithm>
#include <bit>
#include <cstring>
#include <boost/asio/ip/address.hpp>

#include "sipkit/dialog/dialog.hpp"
#include "sipkit/parser/uri.hpp"
#include "ua_impl.hpp"

namespace sipkit::ua {

using parser::header_id;
using parser::message;

namespace {

bool media_range_matches(std::string_view range, std::string_view type) {
  // "application/sdp;q=0.5" -> "application/sdp"; "*/*" and "application/*" match too.
  range = range.substr(0, range.find(';'));
  while (!range.empty() && (range.front() == ' ' || range.front() == '\t')) range.remove_prefix(1);
  while (!range.empty() && (range.back() == ' ' || range.back() == '\t')) range.remove_suffix(1);
  if (range == "*/*") return true;
  const auto slash = range.find('/');
  if (slash != std::string_view::npos && range.substr(slash) == "/*")
    return parser::iequals(range.substr(0, slash), type.substr(0, type.find('/')));
  return parser::iequals(range, type);
}

// §8.2.3 / §21.4.7: does an Accept header (all its lines) admit `type`? No Accept: yes.
bool accepts(const message& req, std::string_view type) {
  bool any = false;
  for (const auto& f : req.fields()) {
    if (!parser::iequals(req.name_of(f), "Accept")) continue;
    any = true;
    std::string_view v = req.value_of(f);
    if (v.find_first_not_of(" \t") == std::string_view::npos) continue;  // empty Accept
    while (!v.empty()) {
      const auto comma = v.find(',');
      if (media_range_matches(v.substr(0, comma), type)) return true;
      if (comma == std::string_view::npos) break;
      v.remove_prefix(comma + 1);
    }
  }
  return !any;
}

}  // namespace

bool uas_checks::addressed_to_us(const message& req) const {
  parser::uri_view uri;
  if (parser::parse_uri(req.request_uri(), uri)) return false;
  std::string host(uri.host);
  if (host.size() > 2 && host.front() == '[') host = host.substr(1, host.size() - 2);
  if (!ua_.config_.domain.empty() && parser::iequals(host, ua_.config_.domain)) return true;
  boost::system::error_code ec;
  const auto addr = boost::asio::ip::make_address(host, ec);
  if (ec) return false;
  for (const auto& l : ua_.net_.listeners())
    if (l.local.address == addr || l.local.address.is_unspecified()) return true;
  return false;
}

int uas_checks::precheck(const message& req, message& refusal) const {
  const auto m = req.method();
  if (m == parser::method::ack) return 0;  // never answered (§17.1.1.3)
  const std::string to_tag = tag_for_refusal();
  auto refuse = [&](int code, std::string_view reason = {}) {
    // §8.2.6.2: a final response to a request without To tag gets one.
    refusal = parser::make_response(req, code, reason, to_tag);
    ua_.add_common_headers(refusal);
    return code;
  };
  // §8.2.2... §21.5.7 (RFC 4475 badvers): only SIP/2.0.
  if (!parser::iequals(req.sip_version(), "SIP/2.0")) return refuse(505);
  // §8.1.1.5 / §20.16 (mismatch01, mismatch02): CSeq names the Request-Line's method.
  auto cseq = req.cseq();
  if (!cseq || cseq->method_text != req.method_text())
    return refuse(400, "CSeq method does not match the Request-Line");
  // §7.3.1 / §20 (multi01, mcl01): single-value headers appear once.
  for (auto id : {header_id::call_id, header_id::cseq, header_id::from, header_id::to,
                  header_id::max_forwards, header_id::content_length, header_id::content_type,
                  header_id::expires})
    if (req.count(id) > 1)
      return refuse(400, "More than one " + std::string(parser::header_name(id)) + " header");
  // §8.2.2.1 (unkscm, novelsc): we serve sip and sips Request-URIs only.
  parser::uri_view ruri;
  if (parser::parse_uri(req.request_uri(), ruri) || !ruri.is_sip()) {
    refuse(416);
    return 416;
  }
  // An endpoint processes a Max-Forwards of 0 as if it were positive (RFC 4475 zeromf);
  // only a request for somebody else, which would have to be forwarded, gets 483 (§16.3
  // item 3). "Somebody else" is known only when the agent has a domain configured.
  if (auto mf = req.get(header_id::max_forwards);
      mf && *mf == "0" && !ua_.config_.domain.empty() && !addressed_to_us(req))
    return refuse(483);
  if (m == parser::method::cancel) return 0;
  // §8.2.2.3 (bext01): the extensions we support are "timer" (RFC 4028: always; a peer
  // that asks gets a session timer whether or not ua_config::session_expires names an
  // interval of our own, §9) and "100rel" (RFC 3262, when on); any other Require is a 420
  // listing what we lack.
  std::string unsupported;
  for (const auto& f : req.fields()) {
    if (f.id != header_id::require) continue;
    for (auto tok : sipkit::dialog::split_address_list(req.value_of(f))) {
      if (parser::iequals(tok, "timer")) continue;
      if (ua_.config_.reliable_provisionals && parser::iequals(tok, "100rel")) continue;
      if (!unsupported.empty()) unsupported += ", ";
      unsupported += tok;
    }
  }
  if (!unsupported.empty()) {
    refuse(420);
    refusal.add(header_id::unsupported, unsupported);
    return 420;
  }
  // §8.2.3 (invut): we understand SDP bodies only.
  if (m == parser::method::invite && !req.body().empty()) {
    auto ct = req.get(header_id::content_type);
    if (!ct || !media_range_matches(*ct, "application/sdp")) {
      refuse(415);
      refusal.add("Accept", "application/sdp");
      return 415;
    }
  }
  // §8.2.3 / §21.4.7 (sdp01): our answer to an INVITE carries SDP; an Accept without it is 406.
  if (m == parser::method::invite && !accepts(req, "application/sdp")) return refuse(406);
  return 0;
}

namespace {

std::uint64_t mix(std::uint64_t h, std::uint64_t v) noexcept {
  h = (h ^ v) * 0x9E3779B97F4A7C15ull;
  return h ^ (h >> 29);
}

std::uint64_t mix_bytes(std::uint64_t h, std::string_view s) noexcept {
  std::size_t i = 0;
  for (; i + 8 <= s.size(); i += 8) {
    std::uint64_t w;
    std::memcpy(&w, s.data() + i, 8);
    h = mix(h, w);
  }
  std::uint64_t tail = 0;
  for (std::size_t shift = 0; i < s.size(); ++i, shift += 8)
    tail |= static_cast<std::uint64_t>(static_cast<unsigned char>(s[i])) << shift;
  return mix(h, tail ^ (static_cast<std::uint64_t>(s.size()) << 56));
}

}  // namespace

std::uint64_t uas_checks::key_hash(const message& req) const noexcept {
  // Keys come from the network: seeded per agent, so collisions cannot be precomputed
  // (and a collision only costs a comparison in same_key).
  if (seed_ == 0) seed_ = ua_.random_.next_u64() | 1;
  const auto cseq = req.cseq();
  std::uint64_t h = mix_bytes(seed_, req.from()->tag);
  h = mix_bytes(h, req.call_id());
  h = mix(h, cseq->number);
  h = mix_bytes(h, cseq->method_text);
  h ^= h >> 32;
  h *= 0xD6E8FEB86659FD93ull;
  return h ^ (h >> 32);
}

bool uas_checks::same_key(const message& req, tx::transaction_id other) const {
  const message* o = ua_.stack_.get().request(other);
  if (!o) return false;
  const auto a = req.cseq();
  const auto b = o->cseq();
  const auto fa = req.from();
  const auto fb = o->from();
  return b && fb && fa->tag == fb->tag && req.call_id() == o->call_id() &&
         a->number == b->number && a->method_text == b->method_text;
}

void uas_checks::insert(std::uint64_t hash, tx::transaction_id id) {
  if ((pending_count_ + 1) * 2 > pending_.size()) {
    // Grow at half full, so that probes stay short; the size only grows.
    std::vector<pending> old(std::max<std::size_t>(64, pending_.size() * 2));
    old.swap(pending_);
    pending_count_ = 0;
    for (const auto& p : old)
      if (p.id.valid()) insert(p.hash, p.id);
  }
  const std::size_t mask = pending_.size() - 1;
  std::size_t i = hash & mask;
  while (pending_[i].id.valid()) i = (i + 1) & mask;
  pending_[i] = {hash, id};
  ++pending_count_;
}

bool uas_checks::merged_request(tx::transaction_id id, const message& req) {
  // §8.2.2.2: a request without To tag whose From tag, Call-ID and CSeq match one we are
  // already serving on another transaction arrived twice through a forking proxy: 482.
  auto to = req.to();
  auto from = req.from();
  auto cseq = req.cseq();
  if (!to || !to->tag.empty() || !from || !cseq || req.method() == parser::method::cancel ||
      req.method() == parser::method::ack)
    return false;
  const std::uint64_t hash = key_hash(req);
  if (!pending_.empty()) {
    const std::size_t mask = pending_.size() - 1;
    for (std::size_t i = hash & mask; pending_[i].id.valid(); i = (i + 1) & mask) {
      if (pending_[i].hash != hash) continue;
      if (pending_[i].id == id) return false;  // the same transaction again
      if (same_key(req, pending_[i].id)) return true;
    }
  }
  insert(hash, id);
  if (hash_by_index_.size() <= id.index)
    hash_by_index_.resize(std::max<std::size_t>(64, std::bit_ceil(std::size_t{id.index} + 1)));
  hash_by_index_[id.index] = {hash, id};
  return false;
}

void uas_checks::forget(tx::transaction_id id) noexcept {
  if (id.index >= hash_by_index_.size() || !(hash_by_index_[id.index].id == id)) return;
  const std::uint64_t hash = hash_by_index_[id.index].hash;
  hash_by_index_[id.index] = {};
  const std::size_t mask = pending_.size() - 1;
  std::size_t i = hash & mask;
  while (!(pending_[i].id == id)) {
    if (!pending_[i].id.valid()) return;
    i = (i + 1) & mask;
  }
  // Backward-shift deletion: move up each later entry of the cluster whose home slot
  // does not lie between the hole and it, so that no probe meets a false end.
  std::size_t hole = i;
  for (std::size_t j = (i + 1) & mask; pending_[j].id.valid(); j = (j + 1) & mask) {
    const std::size_t home = pending_[j].hash & mask;
    const bool stays = hole <= j ? (hole < home && home <= j) : (hole < home || home <= j);
    if (stays) continue;
    pending_[hole] = pending_[j];
    hole = j;
  }
  pending_[hole] = {};
  --pending_count_;
}

std::string uas_checks::tag_for_refusal() const {
  return ua_.random_token(10);  // ua_ is a reference: not const here
}

}  // namespace sipkit::ua
