// A bounded table of per-source-address state, private to the manager: the token buckets
// of the rate limiter (rate_limiter.hpp) and the amplification ledger (source_ledger.hpp).
//
// Keys are source addresses taken from the network (the host of an endpoint, an IP
// literal), so the table must not grow with what an attacker sends: it holds at most
// `max_entries` entries. Every lookup counts as use; entries are kept in a list ordered by
// last use, so that
//  - an entry unused for `idle` is forgotten (checked at the head of the list on every
//    lookup, amortised O(1)): each user chooses `idle` so that a forgotten entry means the
//    same as a fresh one, or errs in the safe direction;
//  - when the table is full, the least recently used entry is evicted to make room
//    (counted in evictions() and in the caller's counter, if it gave one).
// Lookups go through an open-addressing index of node numbers (index_table.hpp) hashed
// with the manager's random seed; host names compare case-insensitively (IPv6 hex
// digits). The entry found last is tried first: a stack mostly talks to the same peer
// several times in a row (a request in, its response out; a trunk), and then a lookup is
// one string comparison. Memory: one node per tracked source (the host string, which fits the small
// string buffer for IPv4 and short IPv6 literals, plus the value and 32 bytes of
// bookkeeping) and 16 bytes of index per node; nodes are allocated as sources appear,
// never beyond max_entries.
//
// `now` should not go backwards between calls; if it does, entries only expire later.
// Thread safety: none.
#pragma once

#include <cstdint>
#include <cstring>
#include <string>
#include <string_view>
#include <vector>

#include "sipkit/parser/uri.hpp"
#include "sipkit/transaction/timer.hpp"
#include "transaction/index_table.hpp"
#include "transaction/seeded_hash.hpp"

namespace sipkit::transaction::detail {

/// A loopback address as an IP literal (RFC 1122 §3.2.1.3, RFC 4291 §2.5.3): 127.0.0.0/8,
/// ::1 and IPv4-mapped 127.x.x.x, with or without IPv6 brackets. A host name never is one.
inline bool is_loopback(std::string_view host) noexcept {
  if (!host.empty() && host.front() == '[' && host.back() == ']')
    host = host.substr(1, host.size() - 2);
  if (host == "::1") return true;
  if (host.size() > 7 && parser::iequals(host.substr(0, 7), "::ffff:")) host.remove_prefix(7);
  if (host.size() < 9 || host.substr(0, 4) != "127.") return false;
  for (char c : host)
    if (c != '.' && (c < '0' || c > '9')) return false;
  return true;
}

template <class Value>
class source_table {
 public:
  static constexpr std::uint32_t npos = 0xFFFFFFFFu;

  /// `max_entries` 0 is taken as 1. `eviction_counter` (optional, must outlive the
  /// table) is incremented with every eviction.
  source_table(std::size_t max_entries, duration idle, std::uint64_t seed,
               std::uint64_t* eviction_counter = nullptr)
      : max_(max_entries == 0 ? 1 : max_entries),
        idle_(idle),
        seed_(seed),
        eviction_counter_(eviction_counter) {}

  /// The entry of `host`, nullptr when none; a found entry is marked used at `now`.
  Value* find(std::string_view host, time_point now) {
    expire(now);
    const std::uint32_t i = lookup(host);
    if (i == npos) return nullptr;
    touch(i, now);
    return &nodes_[i].value;
  }

  /// The entry of `host`, created as Value{} when absent; marked used at `now`. `created`
  /// (optional) tells whether it is new.
  Value& get(std::string_view host, time_point now, bool* created = nullptr) {
    expire(now);
    std::uint32_t i = lookup(host);
    if (created) *created = i == npos;
    if (i != npos) {
      touch(i, now);
      return nodes_[i].value;
    }
    if (size_ == max_) {
      ++evictions_;
      if (eviction_counter_) ++*eviction_counter_;
      remove(head_);
    }
    if (free_ != npos) {
      i = free_;
      free_ = nodes_[i].next;
    } else {
      i = static_cast<std::uint32_t>(nodes_.size());
      nodes_.emplace_back();
    }
    node& n = nodes_[i];
    n.host = std::string(host);  // not assign(): GCC bug 105329 warns there
    n.hash = hash_folded(host, seed_);
    n.value = Value{};
    n.used = now;
    n.live = true;
    last_ = i;
    link_tail(i);
    index_.insert(n.hash, i);
    ++size_;
    return n.value;
  }

  /// The entry of `host` if it is not idle at `now`, without changing anything
  /// (inspection).
  const Value* peek(std::string_view host, time_point now) const {
    const std::uint32_t i = lookup(host);
    if (i == npos || now - nodes_[i].used >= idle_) return nullptr;
    return &nodes_[i].value;
  }

  std::size_t size() const noexcept { return size_; }
  std::size_t max_size() const noexcept { return max_; }
  /// Entries dropped to make room while they were not yet idle.
  std::uint64_t evictions() const noexcept { return evictions_; }

 private:
  struct node {
    std::string host;
    std::uint64_t hash = 0;
    time_point used{};
    std::uint32_t prev = npos;  // towards the least recently used
    std::uint32_t next = npos;  // towards the most recently used; the free list's link
    bool live = false;
    Value value{};
  };

  static bool same_host(const std::string& h, std::string_view host) noexcept {
    if (h.size() != host.size()) return false;
    std::size_t i = 0;
    for (; i + 8 <= h.size(); i += 8) {
      std::uint64_t a, b;
      std::memcpy(&a, h.data() + i, 8);
      std::memcpy(&b, host.data() + i, 8);
      if (a != b) return parser::iequals(h, host);
    }
    for (; i < h.size(); ++i)
      if (h[i] != host[i]) return parser::iequals(h, host);
    return true;
  }

  std::uint32_t lookup(std::string_view host) const {
    if (last_ != npos && nodes_[last_].live && same_host(nodes_[last_].host, host)) return last_;
    const std::uint32_t i = index_.find(
        hash_folded(host, seed_), [&](std::uint32_t n) { return same_host(nodes_[n].host, host); });
    if (i != npos) last_ = i;
    return i;
  }

  void expire(time_point now) {
    while (head_ != npos && now - nodes_[head_].used >= idle_) remove(head_);
  }

  void touch(std::uint32_t i, time_point now) {
    node& n = nodes_[i];
    if (now > n.used) n.used = now;
    if (i == tail_) return;
    unlink(i);
    link_tail(i);
  }

  void link_tail(std::uint32_t i) {
    node& n = nodes_[i];
    n.prev = tail_;
    n.next = npos;
    if (tail_ != npos)
      nodes_[tail_].next = i;
    else
      head_ = i;
    tail_ = i;
  }

  void unlink(std::uint32_t i) {
    node& n = nodes_[i];
    if (n.prev != npos)
      nodes_[n.prev].next = n.next;
    else
      head_ = n.next;
    if (n.next != npos)
      nodes_[n.next].prev = n.prev;
    else
      tail_ = n.prev;
  }

  void remove(std::uint32_t i) {
    node& n = nodes_[i];
    index_.erase(n.hash, i);
    unlink(i);
    n.live = false;
    n.next = free_;
    free_ = i;
    --size_;
  }

  std::size_t max_;
  duration idle_;
  std::uint64_t seed_;
  std::uint64_t* eviction_counter_;
  std::vector<node> nodes_;
  index_table index_;
  std::uint32_t head_ = npos;
  std::uint32_t tail_ = npos;
  std::uint32_t free_ = npos;
  mutable std::uint32_t last_ = npos;  // the entry found last (a hint, see above)
  std::size_t size_ = 0;
  std::uint64_t evictions_ = 0;
};

}  // namespace sipkit::transaction::detail
