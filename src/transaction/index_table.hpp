// A hash table of slot indices with open addressing (linear probing, backward-shift
// deletion), private to the manager.
//
// Why not std::unordered_set: every insert there allocates a node, and a lookup walks
// bucket -> node -> slot, three cache misses with a million live transactions. Here an
// entry is 8 bytes inline (the slot index and the low 32 bits of its hash), so a lookup
// is one miss in the table and one in the slot that holds the key. The table does not
// know the keys: callers pass the key's hash and a predicate that compares the key kept
// in a slot. Hashes must already be seeded (manager.cpp) so that probe runs cannot be
// built by an attacker.
//
// Thread safety: none.
#pragma once

#include <cstdint>
#include <vector>

namespace sipkit::transaction::detail {

class index_table {
 public:
  static constexpr std::uint32_t npos = 0xFFFFFFFFu;

  /// The index of the first entry with this hash for which `match(index)` is true, or
  /// npos.
  template <class Match>
  std::uint32_t find(std::uint64_t hash, Match&& match) const {
    if (entries_.empty()) return npos;
    const auto low = static_cast<std::uint32_t>(hash);
    for (std::size_t pos = low & mask_;; pos = (pos + 1) & mask_) {
      const entry& e = entries_[pos];
      if (e.index == npos) return npos;
      if (e.hash_low == low && match(e.index)) return e.index;
    }
  }

  /// Add `index` under `hash` (duplicates are the caller's business).
  void insert(std::uint64_t hash, std::uint32_t index) {
    // Load factor at most 1/2: probe runs stay short even with clustering.
    if ((size_ + 1) * 2 > entries_.size()) grow();
    place({index, static_cast<std::uint32_t>(hash)});
    ++size_;
  }

  /// Remove the entry of `index` stored under `hash`; false when there is none.
  bool erase(std::uint64_t hash, std::uint32_t index) {
    if (entries_.empty()) return false;
    std::size_t hole = static_cast<std::uint32_t>(hash) & mask_;
    for (;; hole = (hole + 1) & mask_) {
      if (entries_[hole].index == npos) return false;
      if (entries_[hole].index == index) break;
    }
    // Backward shift: pull later entries of the run into the hole when their home
    // position allows it, so that no tombstones are needed.
    for (std::size_t next = (hole + 1) & mask_;; next = (next + 1) & mask_) {
      const entry& e = entries_[next];
      if (e.index == npos) break;
      const std::size_t home = e.hash_low & mask_;
      // Distance from home to `next` versus to `hole`, both modulo the table size.
      if (((next - home) & mask_) >= ((next - hole) & mask_)) {
        entries_[hole] = e;
        hole = next;
      }
    }
    entries_[hole] = {npos, 0};
    --size_;
    return true;
  }

  std::size_t size() const noexcept { return size_; }

 private:
  struct entry {
    std::uint32_t index;
    std::uint32_t hash_low;  // probe start and a cheap filter before the key compare
  };

  void place(entry e) {
    std::size_t pos = e.hash_low & mask_;
    while (entries_[pos].index != npos) pos = (pos + 1) & mask_;
    entries_[pos] = e;
  }

  void grow() {
    std::vector<entry> old = std::move(entries_);
    const std::size_t capacity = old.empty() ? 64 : old.size() * 2;
    entries_.assign(capacity, entry{npos, 0});
    mask_ = capacity - 1;
    for (const entry& e : old)
      if (e.index != npos) place(e);
  }

  std::vector<entry> entries_;
  std::size_t mask_ = 0;
  std::size_t size_ = 0;
};

}  // namespace sipkit::transaction::detail
