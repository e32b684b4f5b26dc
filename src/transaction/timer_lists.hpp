// The manager's timers: one sorted, intrusive, doubly linked list per timer interval.
// Private to the manager.
//
// Why not a binary heap: with tens of thousands of transactions lingering in Completed
// (Timers J and K over UDP), every push and pop of a heap moves entries along a path of
// log2(n) levels and each move writes the entry's position back into its (cold)
// transaction slot: ~15 cache misses per operation. But RFC 3261 timers come in a few
// fixed intervals (T1, 2*T1, ..., T2, T4, 64*T1, Timer D, 200 ms), and a timer armed
// later with the same interval expires later. Keeping one list per interval makes arming
// an append at the tail, stopping an unlink, and firing a pop at a head; the neighbours
// touched were armed at about the same time, so they tend to be in cache.
//
// Order: deadlines are kept sorted inside each list even when `now` does not grow
// monotonically or when more distinct intervals appear than there are lists (an entry
// is then inserted by walking back from the tail). Across lists, the earliest head
// fires first, ties broken by arming order (a 32-bit sequence compared with wrap-around).
//
// Nodes live inside the caller's storage: `Nodes` is a callable giving `timer_node&` for
// a node id. Thread safety: none.
#pragma once

#include <array>
#include <cstdint>
#include <optional>

#include "sipkit/transaction/timer.hpp"

namespace sipkit::transaction::detail {

struct timer_node {
  static constexpr std::uint32_t npos = 0xFFFFFFFFu;
  static constexpr std::uint8_t unlinked = 0xFF;

  time_point deadline{};
  std::uint32_t seq = 0;  // arming order, for ties
  std::uint32_t prev = npos;
  std::uint32_t next = npos;
  std::uint8_t list = unlinked;
  timer which = timer::a;

  bool armed() const noexcept { return list != unlinked; }
};

template <class Nodes>
class timer_lists {
 public:
  static constexpr std::uint32_t npos = timer_node::npos;
  /// More distinct intervals than this share lists (still correct, inserts get slower).
  static constexpr std::size_t max_lists = 16;

  explicit timer_lists(Nodes nodes) : nodes_(nodes) {}

  /// Arm node `id` as `which`, due at `deadline`; re-arming moves it.
  void arm(std::uint32_t id, timer which, time_point deadline, time_point now) {
    timer_node& n = nodes_(id);
    if (n.armed()) unlink(id);
    n.deadline = deadline;
    n.seq = next_seq_++;
    n.which = which;
    const std::uint8_t l = list_for(deadline - now);
    n.list = l;
    list& ls = lists_[l];
    // Walk back past later deadlines (rare: only when intervals share a list or `now`
    // went back); equal deadlines stay in arming order.
    std::uint32_t after = ls.tail;
    while (after != npos && nodes_(after).deadline > deadline) after = nodes_(after).prev;
    n.prev = after;
    if (after == npos) {
      n.next = ls.head;
      ls.head = id;
    } else {
      n.next = nodes_(after).next;
      nodes_(after).next = id;
    }
    if (n.next == npos)
      ls.tail = id;
    else
      nodes_(n.next).prev = id;
    ++armed_;
  }

  /// Disarm node `id` (no-op when it is not armed).
  void disarm(std::uint32_t id) noexcept {
    if (nodes_(id).armed()) unlink(id);
  }

  /// The earliest deadline, nullopt when nothing is armed.
  std::optional<time_point> next_deadline() const noexcept {
    const std::uint32_t id = earliest();
    if (id == npos) return std::nullopt;
    return nodes_(id).deadline;
  }

  /// Disarm and return the earliest node due at or before `now`, or npos.
  std::uint32_t pop_due(time_point now) noexcept {
    const std::uint32_t id = earliest();
    if (id == npos || nodes_(id).deadline > now) return npos;
    unlink(id);
    return id;
  }

  std::size_t size() const noexcept { return armed_; }

 private:
  struct list {
    duration::rep interval = 0;
    std::uint32_t head = npos;
    std::uint32_t tail = npos;
  };

  std::uint8_t list_for(time_point::duration d) {
    const auto interval = std::chrono::duration_cast<duration>(d).count();
    for (std::size_t i = 0; i < used_; ++i)
      if (lists_[i].interval == interval) return static_cast<std::uint8_t>(i);
    if (used_ < max_lists) {
      lists_[used_].interval = interval;
      return static_cast<std::uint8_t>(used_++);
    }
    // Out of lists: share the one with the nearest interval.
    std::size_t best = 0;
    for (std::size_t i = 1; i < used_; ++i)
      if (distance(lists_[i].interval, interval) < distance(lists_[best].interval, interval))
        best = i;
    return static_cast<std::uint8_t>(best);
  }
  static duration::rep distance(duration::rep a, duration::rep b) noexcept {
    return a > b ? a - b : b - a;
  }

  std::uint32_t earliest() const noexcept {
    std::uint32_t best = npos;
    for (std::size_t i = 0; i < used_; ++i) {
      const std::uint32_t h = lists_[i].head;
      if (h == npos) continue;
      if (best == npos || before(nodes_(h), nodes_(best))) best = h;
    }
    return best;
  }
  static bool before(const timer_node& a, const timer_node& b) noexcept {
    if (a.deadline != b.deadline) return a.deadline < b.deadline;
    return static_cast<std::int32_t>(a.seq - b.seq) < 0;
  }

  void unlink(std::uint32_t id) noexcept {
    timer_node& n = nodes_(id);
    list& ls = lists_[n.list];
    if (n.prev == npos)
      ls.head = n.next;
    else
      nodes_(n.prev).next = n.next;
    if (n.next == npos)
      ls.tail = n.prev;
    else
      nodes_(n.next).prev = n.prev;
    n.prev = n.next = npos;
    n.list = timer_node::unlinked;
    --armed_;
  }

  Nodes nodes_;
  std::array<list, max_lists> lists_{};
  std::size_t used_ = 0;
  std::size_t armed_ = 0;
  std::uint32_t next_seq_ = 0;
};

}  // namespace sipkit::transaction::detail
