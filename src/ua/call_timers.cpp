#include "call_timers.hpp"

#include <utility>

namespace sipkit::ua {

void call_timer_table::swap_slots(std::uint32_t a, std::uint32_t b) noexcept {
  std::swap(heap_[a], heap_[b]);
  place(a);
  place(b);
}

void call_timer_table::sift_up(std::uint32_t slot) noexcept {
  while (slot != 0) {
    const std::uint32_t parent = (slot - 1) / 2;
    if (!earlier(slot, parent)) return;
    swap_slots(slot, parent);
    slot = parent;
  }
}

void call_timer_table::sift_down(std::uint32_t slot) noexcept {
  const auto n = static_cast<std::uint32_t>(heap_.size());
  for (;;) {
    std::uint32_t first = slot;
    const std::uint32_t left = 2 * slot + 1, right = left + 1;
    if (left < n && earlier(left, first)) first = left;
    if (right < n && earlier(right, first)) first = right;
    if (first == slot) return;
    swap_slots(slot, first);
    slot = first;
  }
}

void call_timer_table::set(const call_ptr& c, tx::time_point when) {
  if (c->timer_slot == detail::call_impl::no_index) {
    c->timer_due = when;
    c->timer_slot = static_cast<std::uint32_t>(heap_.size());
    heap_.push_back(c);
    sift_up(c->timer_slot);
    return;
  }
  const tx::time_point before = c->timer_due;
  c->timer_due = when;
  if (when < before) sift_up(c->timer_slot);
  else if (before < when) sift_down(c->timer_slot);
}

void call_timer_table::clear(detail::call_impl& c) noexcept {
  const std::uint32_t slot = c.timer_slot;
  if (slot == detail::call_impl::no_index || slot >= heap_.size() || heap_[slot].get() != &c) return;
  const auto last = static_cast<std::uint32_t>(heap_.size() - 1);
  if (slot != last) swap_slots(slot, last);
  // Kept until the slot is settled: this may be the heap's last reference to `c`.
  call_ptr gone = std::move(heap_.back());
  heap_.pop_back();
  gone->timer_slot = detail::call_impl::no_index;
  if (slot != last) {
    detail::call_impl* moved = heap_[slot].get();  // the former last: up or down from here
    sift_up(slot);
    sift_down(moved->timer_slot);
  }
}

call_ptr call_timer_table::pop_due(tx::time_point now) {
  if (heap_.empty() || now < heap_.front()->timer_due) return nullptr;
  call_ptr c = heap_.front();
  clear(*c);
  return c;
}

}  // namespace sipkit::ua
