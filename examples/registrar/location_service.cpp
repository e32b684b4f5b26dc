// location_service: bounded bindings per AOR and in total, a hash index by AOR and a
// time-ordered expiry queue.
#include "location_service.hpp"

#include <algorithm>
#include <cctype>

#include "sipkit/parser/uri.hpp"

namespace registrar {

std::optional<aor> parse_aor(std::string_view uri) {
  sipkit::parser::uri_view u;
  if (sipkit::parser::parse_uri(uri, u) || !u.is_sip()) return std::nullopt;
  aor a;
  a.user = sipkit::parser::unescape(u.user);
  for (char c : u.host) a.host += static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  a.key = "sip:" + a.user + "@" + a.host;
  return a;
}

std::optional<std::uint16_t> parse_q(std::string_view text) {
  // qvalue = ( "0" [ "." 0*3DIGIT ] ) / ( "1" [ "." 0*3("0") ] )
  if (text.empty() || (text[0] != '0' && text[0] != '1')) return std::nullopt;
  const bool one = text[0] == '1';
  unsigned value = one ? 1000 : 0;
  if (text.size() == 1) return static_cast<std::uint16_t>(value);
  if (text[1] != '.' || text.size() > 5) return std::nullopt;
  unsigned scale = 100;
  for (char c : text.substr(2)) {
    if (c < '0' || c > '9' || (one && c != '0')) return std::nullopt;
    value += static_cast<unsigned>(c - '0') * scale;
    scale /= 10;
  }
  return static_cast<std::uint16_t>(value);
}

namespace {

// RFC 3261 §10.3 step 7 / §19.1.4: bindings are compared as URIs, not as text.
bool same_uri(std::string_view a, std::string_view b) {
  sipkit::parser::uri_view ua, ub;
  if (sipkit::parser::parse_uri(a, ua) || sipkit::parser::parse_uri(b, ub)) return a == b;
  return sipkit::parser::uri_equal(ua, ub);
}

// lookup() order: highest q first (none given ranks as 1.0), then first registered first.
bool before(const binding& a, const binding& b) {
  const auto qa = a.q.value_or(1000), qb = b.q.value_or(1000);
  return qa != qb ? qa > qb : a.registered < b.registered;
}

}  // namespace

location_service::location_service(location_limits limits) : limits_(limits) {
  if (limits_.max_contacts == 0) limits_.max_contacts = 1;
}

void location_service::drop_stale_top() const {
  while (!queue_.empty() && !live(queue_.front())) {
    std::pop_heap(queue_.begin(), queue_.end(), later{});
    queue_.pop_back();
  }
}

void location_service::schedule(std::uint32_t slot) {
  record& r = records_[slot];
  ++r.generation;  // the slot's earlier entry, if any, is stale from now on
  auto earliest = r.bindings.front().expires_at;
  for (const auto& b : r.bindings) earliest = std::min(earliest, b.expires_at);
  queue_.push_back({earliest, slot, r.generation});
  std::push_heap(queue_.begin(), queue_.end(), later{});
  // Every update leaves a stale entry behind; once they outnumber the live ones (one per
  // AOR), keep only the live: O(queue) now and then, O(1) per update amortised.
  if (queue_.size() > 2 * index_.size() + 64) {
    std::erase_if(queue_, [this](const due& d) { return !live(d); });
    std::make_heap(queue_.begin(), queue_.end(), later{});
  }
}

void location_service::release(std::uint32_t slot) {
  record& r = records_[slot];
  index_.erase(r.key);
  ++r.generation;
  r.key.clear();
  r.bindings.clear();
  free_.push_back(slot);
}

void location_service::expire(clock_type::time_point now) {
  while (!queue_.empty() && queue_.front().at <= now) {
    const due d = queue_.front();
    std::pop_heap(queue_.begin(), queue_.end(), later{});
    queue_.pop_back();
    if (!live(d)) continue;
    auto& list = records_[d.slot].bindings;
    const auto dropped =
        std::erase_if(list, [now](const binding& b) { return b.expires_at <= now; });
    bindings_ -= dropped;
    if (list.empty())
      release(d.slot);
    else
      schedule(d.slot);
  }
}

std::span<const binding> location_service::lookup(std::string_view aor_key) const {
  auto it = index_.find(aor_key);
  if (it == index_.end()) return {};
  return records_[it->second].bindings;
}

std::optional<clock_type::time_point> location_service::next_expiry() const {
  drop_stale_top();
  if (queue_.empty()) return std::nullopt;
  return queue_.front().at;
}

location_service::status location_service::update(std::string_view aor_key,
                                                  std::string_view call_id, std::uint32_t cseq,
                                                  bool remove_all,
                                                  std::span<const contact_update> contacts,
                                                  clock_type::time_point now) {
  auto found = index_.find(aor_key);
  std::vector<binding>* current =
      found == index_.end() ? nullptr : &records_[found->second].bindings;
  const std::size_t before_size = current ? current->size() : 0;
  // Work on a copy (at most max_contacts + the request's contacts), commit only if it fits:
  // a REGISTER applies as a whole or not at all.
  std::vector<binding> next;
  if (current && !remove_all) next = *current;
  std::vector<bool> touched(next.size(), false);
  std::uint64_t fresh = registrations_;  // binding::registered of the new ones
  for (const auto& c : contacts) {
    if (c.expires > 0 && c.uri.size() > limits_.max_uri_length) return status::uri_too_long;
    auto it = std::find_if(next.begin(), next.end(),
                           [&](const binding& b) { return same_uri(b.uri, c.uri); });
    const auto i = static_cast<std::size_t>(it - next.begin());
    if (it != next.end() && it->call_id == call_id && it->cseq >= cseq)
      return status::cseq_out_of_order;
    if (c.expires <= 0) {
      if (it != next.end()) {
        next.erase(it);
        touched.erase(touched.begin() + static_cast<std::ptrdiff_t>(i));
      }
      continue;
    }
    binding b{c.uri, std::string(call_id), cseq, now + std::chrono::seconds(c.expires), now, c.q,
              0};
    if (it != next.end()) {
      b.registered = it->registered;  // a refresh keeps its place among equal q-values
      *it = std::move(b);
      touched[i] = true;
    } else {
      b.registered = fresh++;
      next.push_back(std::move(b));
      touched.push_back(true);
    }
  }
  while (next.size() > limits_.max_contacts) {
    if (!limits_.replace_oldest) return status::too_many_contacts;
    // RFC 5626 §7 style: the least recently refreshed binding not named in this request.
    std::size_t oldest = next.size();
    for (std::size_t i = 0; i < next.size(); ++i)
      if (!touched[i] &&
          (oldest == next.size() || next[i].refreshed_at < next[oldest].refreshed_at))
        oldest = i;
    if (oldest == next.size()) return status::too_many_contacts;  // the request alone is too many
    next.erase(next.begin() + static_cast<std::ptrdiff_t>(oldest));
    touched.erase(touched.begin() + static_cast<std::ptrdiff_t>(oldest));
  }
  if (next.size() > before_size && bindings_ - before_size + next.size() > limits_.max_bindings)
    return status::full;

  // Commit.
  bindings_ = bindings_ - before_size + next.size();
  registrations_ = fresh;
  if (next.empty()) {
    if (found != index_.end()) release(found->second);
    return status::ok;
  }
  std::uint32_t slot = 0;
  if (found != index_.end()) {
    slot = found->second;
  } else {
    if (free_.empty()) {
      slot = static_cast<std::uint32_t>(records_.size());
      records_.emplace_back();
    } else {
      slot = free_.back();
      free_.pop_back();
    }
    records_[slot].key.assign(aor_key);
    index_.emplace(records_[slot].key, slot);
  }
  // `registered` is unique per AOR, so the order is total: no stable sort (and its buffer).
  if (next.size() > 1) std::sort(next.begin(), next.end(), before);
  records_[slot].bindings = std::move(next);
  schedule(slot);
  return status::ok;
}

}  // namespace registrar
