// The timers of one session-layer machine (invite_session, a module, a subscription, a
// registration): one deadline per named timer, and the earliest of them.
//
//   enum class call_timer : std::uint8_t { retransmit_2xx, ack_wait, count };
//   timer_table<call_timer> timers;
//   timers.arm(call_timer::retransmit_2xx, now + t1);
//   ...the binding arms one real timer at timers.next_deadline(); when it fires:
//   while (auto t = timers.pop_due(now)) on_timer(*t, now);
//
// Why a table and not "start/stop timer" actions: a machine owns a handful of named
// timers (the RFC's, where it names them), and its binding needs one real timer per
// machine, armed at next_deadline() after every event (quinn-proto's poll_timeout). Tests
// read deadline(t) and assert exact schedules on a manual clock.
//
// `Timer` is an enum whose last enumerator is `count`. Thread safety: a plain value.
#pragma once

#include <array>
#include <cstddef>
#include <optional>

#include "sipkit/transaction/timer.hpp"

namespace sipkit::session {

using transaction::duration;
using transaction::time_point;
using transaction::timer_config;

template <class Timer>
class timer_table {
 public:
  static constexpr std::size_t size = static_cast<std::size_t>(Timer::count);

  /// Arms `t` to fire at `at`; re-arming replaces its deadline.
  void arm(Timer t, time_point at) noexcept { deadlines_[index(t)] = at; }
  /// Disarms `t` (no-op when it is not armed).
  void cancel(Timer t) noexcept { deadlines_[index(t)].reset(); }
  void cancel_all() noexcept { deadlines_.fill(std::nullopt); }
  bool armed(Timer t) const noexcept { return deadlines_[index(t)].has_value(); }
  std::optional<time_point> deadline(Timer t) const noexcept { return deadlines_[index(t)]; }

  /// The earliest deadline of all armed timers; nullopt when none is armed.
  std::optional<time_point> next_deadline() const noexcept {
    std::optional<time_point> earliest;
    for (const auto& d : deadlines_)
      if (d && (!earliest || *d < *earliest)) earliest = d;
    return earliest;
  }

  /// Disarms and returns the earliest timer due at or before `now` (ties: the lower
  /// enumerator first); nullopt when none is due.
  std::optional<Timer> pop_due(time_point now) noexcept {
    std::optional<std::size_t> best;
    for (std::size_t i = 0; i < size; ++i) {
      const auto& d = deadlines_[i];
      if (d && *d <= now && (!best || *d < *deadlines_[*best])) best = i;
    }
    if (!best) return std::nullopt;
    deadlines_[*best].reset();
    return static_cast<Timer>(*best);
  }

 private:
  static constexpr std::size_t index(Timer t) noexcept { return static_cast<std::size_t>(t); }
  std::array<std::optional<time_point>, size> deadlines_{};
};

}  // namespace sipkit::session
