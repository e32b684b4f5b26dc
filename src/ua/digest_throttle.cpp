// digest_server's throttle tables: failures per source and per user (a window, then a lock)
// and the good (user, source) pairs that a lock of their source spares (digest.hpp).
#include <algorithm>
#include <iterator>
#include <limits>

#include "sipkit/ua/digest.hpp"

namespace sipkit::ua {

// ------------------------------------------------------------------ throttle tables

bool digest_server::locked(const failure_table& t, const std::string& key, time_point now) const {
  auto it = t.index.find(key);
  return it != t.index.end() && now < it->second->locked_until;
}

bool digest_server::count_failure(failure_table& t, const std::string& key, std::uint32_t limit,
                                  std::size_t max_entries, time_point now) {
  const auto window = cfg_.throttle.window;
  auto it = t.index.find(key);
  if (it == t.index.end()) {
    // Entries whose window and lock are over go first (they count nothing any more), then,
    // while the table is full, the one whose window started first.
    while (!t.order.empty()) {
      const failure_entry& front = t.order.front();
      const bool over = now >= front.window_start + window && now >= front.locked_until;
      if (!over && t.index.size() < std::max<std::size_t>(1, max_entries)) break;
      if (!over) ++stats_.evicted;
      t.index.erase(front.key);
      t.order.pop_front();
    }
    t.order.push_back({key, now, {}, 0});
    const auto pos = std::prev(t.order.end());
    it = t.index.emplace(pos->key, pos).first;
  }
  failure_entry& e = *it->second;
  if (now < e.locked_until) {  // counted (a good-pair source failing), never extended
    if (e.failures < std::numeric_limits<std::uint32_t>::max()) ++e.failures;
    return false;
  }
  if (now >= e.window_start + window) {  // a new window starts with this failure
    e.window_start = now;
    e.failures = 0;
    t.order.splice(t.order.end(), t.order, it->second);
  }
  if (++e.failures < limit) return false;
  e.locked_until = now + window;
  return true;
}

bool digest_server::is_good_pair(const std::string& key, time_point now) const {
  auto it = good_.index.find(key);
  return it != good_.index.end() && now - it->second->last <= cfg_.throttle.good_pair_lifetime;
}

void digest_server::remember_good_pair(std::string key, time_point now) {
  if (auto it = good_.index.find(key); it != good_.index.end()) {
    it->second->last = now;
    good_.order.splice(good_.order.end(), good_.order, it->second);
    return;
  }
  const std::size_t bound = std::max<std::size_t>(1, cfg_.throttle.max_good_pairs);
  while (!good_.order.empty() &&
         (good_.index.size() >= bound ||
          now - good_.order.front().last > cfg_.throttle.good_pair_lifetime)) {
    good_.index.erase(good_.order.front().key);
    good_.order.pop_front();
  }
  good_.order.push_back({std::move(key), now});
  const auto pos = std::prev(good_.order.end());
  good_.index.emplace(pos->key, pos);
}

}  // namespace sipkit::ua
