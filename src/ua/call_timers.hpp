// Private: the agent's one timer for all its calls. Each call has at most one deadline
// (the earliest of its session and modules, call_binding::arm_timer); the calls with one
// sit in a binary min-heap that knows each call's place (call_impl::timer_slot), so a
// deadline moves or goes in O(log n) with no allocation per call, and one Asio timer waits
// for the earliest. The Asio timer is re-armed only when the earliest deadline moves
// earlier; when it fires early (the call it was armed for moved or ended) it re-arms for
// the new earliest. quinn-proto's TimerTable/poll_timeout, applied to calls.
//
// Not thread-safe: the agent's thread only. The heap holds a reference to each call with
// a deadline, so a call stays alive until its deadline fires or is cleared (end_call).
#pragma once

#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <cstdint>
#include <vector>

#include "continuation.hpp"

namespace sipkit::ua {

class call_timer_table {
 public:
  explicit call_timer_table(boost::asio::io_context& io) : timer_(io) {}

  /// `c`'s deadline becomes `when` (it is added if it had none).
  void set(const call_ptr& c, tx::time_point when);
  /// `c` has no deadline any more (nothing if it had none).
  void clear(detail::call_impl& c) noexcept;
  /// The call whose deadline is the earliest, if that deadline is at or before `now`,
  /// taken out of the table; nullptr otherwise.
  call_ptr pop_due(tx::time_point now);
  std::size_t size() const noexcept { return heap_.size(); }
  /// Arms the Asio timer for the earliest deadline when it is earlier than the one it is
  /// armed for (or it is idle). `fire` runs on expiry (error_code: operation_aborted when
  /// re-armed or cancelled).
  template <class Fire>
  void arm(Fire&& fire) {
    if (heap_.empty()) return;
    const tx::time_point first = heap_.front()->timer_due;
    if (armed_ && armed_at_ <= first) return;
    armed_ = true;
    armed_at_ = first;
    timer_.expires_at(first);
    timer_.async_wait(std::forward<Fire>(fire));
  }
  /// The Asio timer completed (not aborted): it is idle until the next arm().
  void fired() noexcept { armed_ = false; }
  void cancel() noexcept {
    armed_ = false;
    timer_.cancel();
  }

 private:
  bool earlier(std::uint32_t a, std::uint32_t b) const noexcept {
    return heap_[a]->timer_due < heap_[b]->timer_due;
  }
  void place(std::uint32_t slot) noexcept { heap_[slot]->timer_slot = slot; }
  void swap_slots(std::uint32_t a, std::uint32_t b) noexcept;
  void sift_up(std::uint32_t slot) noexcept;
  void sift_down(std::uint32_t slot) noexcept;

  std::vector<call_ptr> heap_;
  boost::asio::steady_timer timer_;
  tx::time_point armed_at_{};
  bool armed_ = false;
};

}  // namespace sipkit::ua
