// A virtual clock for tests: time moves only when the test says so.
//
//   sipkit::test::manual_clock clock;
//   clock.attach_manager(mgr);                 // mgr.on_timer runs at each deadline
//   clock.advance(std::chrono::seconds(32));   // fires every due event in order
//
// Events are of two kinds: one-shot callbacks (schedule/cancel) and attached "sources",
// objects that report their next deadline and are told to fire (a transaction manager, a
// fake network). advance() repeatedly takes the earliest pending event at or before the
// target time, sets now() to its deadline, and fires it, so a callback always sees
// now() == its own deadline. Ties: sources first (in attach order), then callbacks in
// scheduling order. No threads, no sleeps.
//
// Thread safety: none (tests are single-threaded).
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <stdexcept>
#include <utility>
#include <vector>

namespace sipkit::test {

class manual_clock {
 public:
  using time_point = std::chrono::steady_clock::time_point;
  using duration = std::chrono::steady_clock::duration;

  time_point now() const noexcept { return now_; }
  /// Time since the start, in whole milliseconds (for exact schedule assertions).
  long long ms() const noexcept {
    return std::chrono::duration_cast<std::chrono::milliseconds>(now_ - time_point{}).count();
  }
  static long long ms_of(time_point t) noexcept {
    return std::chrono::duration_cast<std::chrono::milliseconds>(t - time_point{}).count();
  }

  /// A one-shot callback at `at` (in the past = at the next advance). Returns its id.
  std::uint64_t schedule(time_point at, std::function<void()> f) {
    const std::uint64_t id = ++seq_;
    callbacks_.emplace(key{at, id}, std::move(f));
    return id;
  }
  std::uint64_t schedule_in(duration d, std::function<void()> f) {
    return schedule(now_ + d, std::move(f));
  }
  /// Cancel a scheduled callback; false if it already ran or never existed.
  bool cancel(std::uint64_t id) {
    for (auto it = callbacks_.begin(); it != callbacks_.end(); ++it)
      if (it->first.id == id) {
        callbacks_.erase(it);
        return true;
      }
    return false;
  }

  /// A pollable source: `next()` gives its earliest deadline, `fire(now)` runs what is due.
  void attach(std::function<std::optional<time_point>()> next,
              std::function<void(time_point)> fire) {
    sources_.push_back({std::move(next), std::move(fire)});
  }
  /// Attach anything with next_deadline() and on_timer(now) (a transaction::manager).
  template <class M>
  void attach_manager(M& m) {
    attach([&m] { return m.next_deadline(); }, [&m](time_point t) { m.on_timer(t); });
  }

  void advance(duration d) { advance_to(now_ + d); }
  void advance_to(time_point target) {
    for (std::uint64_t guard = 0;; ++guard) {
      if (guard > 500'000'000) throw std::logic_error("manual_clock: event storm");
      std::optional<time_point> best;
      std::size_t best_source = sources_.size();
      for (std::size_t i = 0; i < sources_.size(); ++i) {
        auto t = sources_[i].next();
        if (t && (!best || *t < *best)) {
          best = t;
          best_source = i;
        }
      }
      const bool callback_first =
          !callbacks_.empty() && (!best || callbacks_.begin()->first.at < *best);
      if (callback_first) {
        auto it = callbacks_.begin();
        if (it->first.at > target) break;
        if (it->first.at > now_) now_ = it->first.at;
        auto f = std::move(it->second);
        callbacks_.erase(it);
        f();
      } else if (best) {
        if (*best > target) break;
        if (*best > now_) now_ = *best;
        sources_[best_source].fire(now_);
      } else {
        break;
      }
    }
    if (target > now_) now_ = target;
  }
  /// Fire everything already due (deliveries with zero latency, timers at now()).
  void run_due() { advance_to(now_); }
  /// Advance until nothing is pending (or `limit` is reached).
  void run_all(duration limit = std::chrono::hours(1)) {
    const time_point end = now_ + limit;
    while (now_ < end) {
      auto next = next_event();
      if (!next || *next > end) break;
      advance_to(*next);
    }
  }
  std::optional<time_point> next_event() const {
    std::optional<time_point> best;
    for (const auto& s : sources_) {
      auto t = s.next();
      if (t && (!best || *t < *best)) best = t;
    }
    if (!callbacks_.empty() && (!best || callbacks_.begin()->first.at < *best))
      best = callbacks_.begin()->first.at;
    return best;
  }
  std::size_t pending_callbacks() const noexcept { return callbacks_.size(); }

 private:
  struct key {
    time_point at;
    std::uint64_t id;
    bool operator<(const key& o) const noexcept { return at < o.at || (at == o.at && id < o.id); }
  };
  struct source {
    std::function<std::optional<time_point>()> next;
    std::function<void(time_point)> fire;
  };

  time_point now_{};
  std::uint64_t seq_ = 0;
  std::map<key, std::function<void()>> callbacks_;
  std::vector<source> sources_;
};

}  // namespace sipkit::test
