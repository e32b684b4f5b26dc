// One Asio steady_timer that follows a sans-I/O machine's next deadline: the piece every
// binding of a machine to Asio needs (transaction::asio_adapter, proxy::asio_adapter).
//
//   deadline_timer timer(executor, [&] { machine.on_timer(clock_type::now()); rearm(); });
//   void rearm() { timer.follow(machine.next_deadline()); }   // after every input
//
// Coalescing: the timer is armed at the deadline rounded up to a multiple of `grain`
// (default 4 ms), so every deadline inside one grain window is served by one wake-up and
// a new deadline in the window already armed costs no re-arm. Under load the lingering
// transactions' expiries (Timers J, K, L, I, M: tens of thousands per minute at a few
// thousand calls/s) otherwise cost one timerfd_settime, epoll_wait and context switch
// each. A timer fires at most `grain` late; against T1 (500 ms) and the 32 s lingering
// times that is noise. grain 0: no rounding.
//
// Ownership: `on_due` is kept for the timer's life. Destroying the timer cancels it; a
// completion already queued is ignored (it holds only a weak reference).
// Thread safety: none; use it on the executor given to the constructor (single-threaded
// or a strand). Errors: none (cancellation is handled inside).
#pragma once

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/steady_timer.hpp>
#include <functional>
#include <memory>
#include <optional>

#include "sipkit/transaction/timer.hpp"

namespace sipkit::transaction {

/// The default coalescing window of deadline_timer.
inline constexpr duration default_timer_grain{4};

class deadline_timer {
 public:
  /// `on_due` runs on the executor once the armed deadline has passed; it is expected
  /// to feed the machine the current time and call follow() again.
  deadline_timer(boost::asio::any_io_executor executor, std::function<void()> on_due,
                 duration grain = default_timer_grain);
  ~deadline_timer();
  deadline_timer(const deadline_timer&) = delete;
  deadline_timer& operator=(const deadline_timer&) = delete;

  /// Arms the timer at `deadline` rounded up to the grain (none: cancels it). Cheap when
  /// the rounded deadline is the one already armed.
  void follow(std::optional<time_point> deadline);

  /// The wake-up currently armed, if any (after rounding).
  std::optional<time_point> armed() const noexcept { return armed_; }
  duration grain() const noexcept { return grain_; }
  boost::asio::any_io_executor get_executor() noexcept { return timer_.get_executor(); }

  /// `t` rounded up to a multiple of `grain` on the clock's epoch (exposed for tests).
  static time_point round_up(time_point t, duration grain) noexcept;

 private:
  boost::asio::steady_timer timer_;
  std::function<void()> on_due_;
  duration grain_;
  std::optional<time_point> armed_;
  std::shared_ptr<deadline_timer*> self_;  // expires with the timer: late completions see it
};

}  // namespace sipkit::transaction
