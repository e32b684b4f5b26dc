// The manager's private match table (src/transaction/index_table.hpp): open addressing
// with backward-shift deletion must find every live entry after any erase pattern.
#include "transaction/index_table.hpp"

#include <catch2/catch.hpp>
#include <cstdint>
#include <map>
#include <random>

namespace {
namespace detail = sipkit::transaction::detail;
constexpr auto npos = detail::index_table::npos;
}  // namespace

TEST_CASE("index_table finds entries by hash and predicate, and misses absent ones") {
  detail::index_table t;
  REQUIRE(t.find(42, [](std::uint32_t) { return true; }) == npos);
  t.insert(42, 7);
  t.insert(42, 8);  // same hash, another key
  REQUIRE(t.find(42, [](std::uint32_t i) { return i == 8; }) == 8);
  REQUIRE(t.find(42, [](std::uint32_t i) { return i == 7; }) == 7);
  REQUIRE(t.find(43, [](std::uint32_t) { return true; }) == npos);
  REQUIRE(t.erase(42, 7));
  REQUIRE_FALSE(t.erase(42, 7));
  REQUIRE(t.find(42, [](std::uint32_t i) { return i == 8; }) == 8);
  REQUIRE(t.size() == 1);
}

TEST_CASE("index_table keeps every entry reachable through colliding inserts and erases") {
  detail::index_table t;
  std::map<std::uint32_t, std::uint64_t> live;  // index -> hash
  std::mt19937_64 rng(7);
  std::uint32_t next_index = 0;
  for (int step = 0; step < 20000; ++step) {
    if (live.empty() || rng() % 3 != 0) {
      // Few distinct low bits: long probe runs that wrap around the table end.
      const std::uint64_t hash = (rng() << 32) | (rng() % 97) | 0xFFFFFF00u;
      t.insert(hash, next_index);
      live[next_index++] = hash;
    } else {
      auto it = live.begin();
      std::advance(it, static_cast<long>(rng() % live.size()));
      REQUIRE(t.erase(it->second, it->first));
      live.erase(it);
    }
    if (step % 1000 == 0) {
      for (const auto& entry : live) {
        const std::uint32_t index = entry.first;  // a plain variable: lambdas capture it
        REQUIRE(t.find(entry.second, [&](std::uint32_t i) { return i == index; }) == index);
      }
    }
  }
  REQUIRE(t.size() == live.size());
  for (const auto& entry : live) {
    const std::uint32_t index = entry.first;
    REQUIRE(t.find(entry.second, [&](std::uint32_t i) { return i == index; }) == index);
  }
}
