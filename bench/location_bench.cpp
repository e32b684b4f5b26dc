// location_bench: the registrar example's location service (examples/registrar/
// location_service.hpp) holding many AORs: a new AOR, a refresh, a lookup and an expiry, per
// binding, with heap allocations per operation. AORs come in a shuffled order, as
// registrations do (an order that follows the keys would flatter an ordered map's cache
// behaviour). The argument is the number of AORs (one binding each).
#include <benchmark/benchmark.h>

#include <algorithm>
#include <chrono>
#include <memory>
#include <random>
#include <string>
#include <utility>
#include <vector>

#include "alloc_counter.hpp"
#include "registrar/location_service.hpp"

namespace {

using registrar::clock_type;
using registrar::contact_update;
using registrar::location_service;
using std::chrono::seconds;

struct population {
  std::vector<std::string> keys;
  std::vector<std::vector<contact_update>> contacts;
};

const population& aors(std::size_t n) {
  static std::vector<std::pair<std::size_t, population>> made;
  for (const auto& [size, p] : made)
    if (size == n) return p;
  population p;
  std::vector<std::size_t> order(n);
  for (std::size_t i = 0; i < n; ++i) order[i] = i;
  std::shuffle(order.begin(), order.end(), std::mt19937(42));
  for (auto i : order) {
    p.keys.push_back("sip:user" + std::to_string(i) + "@example.com");
    p.contacts.push_back({{"sip:user" + std::to_string(i) + "@192.0.2.10:5060", 3600}});
  }
  made.emplace_back(n, std::move(p));
  return made.back().second;
}

location_service filled(const population& p, clock_type::time_point at) {
  location_service db({.max_contacts = 16, .max_bindings = 2 * p.keys.size()});
  for (std::size_t i = 0; i < p.keys.size(); ++i)
    (void)db.update(p.keys[i], "call", 1, false, p.contacts[i], at);
  return db;
}

void report(benchmark::State& state, std::uint64_t allocs, std::size_t ops) {
  state.SetItemsProcessed(static_cast<std::int64_t>(ops));
  state.counters["allocs_per_op"] =
      benchmark::Counter(static_cast<double>(allocs) / static_cast<double>(ops));
}

// A REGISTER for an AOR the registrar does not hold yet (into an empty table, filled to n).
void BM_location_new_aor(benchmark::State& state) {
  const auto& p = aors(static_cast<std::size_t>(state.range(0)));
  std::uint64_t allocs = 0;
  std::size_t ops = 0;
  for (auto _ : state) {
    state.PauseTiming();
    auto db = std::make_unique<location_service>(
        registrar::location_limits{.max_contacts = 16, .max_bindings = 2 * p.keys.size()});
    state.ResumeTiming();
    const auto a0 = sipkit::bench::allocation_count();
    for (std::size_t i = 0; i < p.keys.size(); ++i)
      benchmark::DoNotOptimize(db->update(p.keys[i], "call", 1, false, p.contacts[i], {}));
    allocs += sipkit::bench::allocation_count() - a0;
    ops += p.keys.size();
    state.PauseTiming();
    db.reset();
    state.ResumeTiming();
  }
  report(state, allocs, ops);
}

// A REGISTER refreshing the one binding of an AOR among n.
void BM_location_refresh(benchmark::State& state) {
  const auto& p = aors(static_cast<std::size_t>(state.range(0)));
  auto db = filled(p, {});
  std::uint32_t cseq = 1;
  clock_type::time_point now{};
  std::uint64_t allocs = 0;
  std::size_t ops = 0;
  for (auto _ : state) {
    ++cseq;
    now += seconds(1);
    const auto a0 = sipkit::bench::allocation_count();
    for (std::size_t i = 0; i < p.keys.size(); ++i)
      benchmark::DoNotOptimize(db.update(p.keys[i], "call", cseq, false, p.contacts[i], now));
    allocs += sipkit::bench::allocation_count() - a0;
    ops += p.keys.size();
  }
  report(state, allocs, ops);
}

// A lookup (a 302, a proxy's target set) of an AOR among n, in another shuffled order.
void BM_location_lookup(benchmark::State& state) {
  const auto& p = aors(static_cast<std::size_t>(state.range(0)));
  const auto db = filled(p, {});
  std::vector<std::size_t> order(p.keys.size());
  for (std::size_t i = 0; i < order.size(); ++i) order[i] = i;
  std::shuffle(order.begin(), order.end(), std::mt19937(7));
  std::uint64_t allocs = 0;
  std::size_t ops = 0;
  for (auto _ : state) {
    const auto a0 = sipkit::bench::allocation_count();
    for (auto i : order) benchmark::DoNotOptimize(db.lookup(p.keys[i]).size());
    allocs += sipkit::bench::allocation_count() - a0;
    ops += order.size();
  }
  report(state, allocs, ops);
}

// Every binding of n AORs expiring, registered one millisecond apart.
void BM_location_expire(benchmark::State& state) {
  const auto& p = aors(static_cast<std::size_t>(state.range(0)));
  std::uint64_t allocs = 0;
  std::size_t ops = 0;
  for (auto _ : state) {
    state.PauseTiming();
    auto db = std::make_unique<location_service>(
        registrar::location_limits{.max_contacts = 16, .max_bindings = 2 * p.keys.size()});
    for (std::size_t i = 0; i < p.keys.size(); ++i)
      (void)db->update(p.keys[i], "call", 1, false, p.contacts[i],
                       clock_type::time_point{} + std::chrono::milliseconds(i));
    state.ResumeTiming();
    const auto a0 = sipkit::bench::allocation_count();
    db->expire(clock_type::time_point{} + std::chrono::hours(24));
    allocs += sipkit::bench::allocation_count() - a0;
    ops += p.keys.size();
    state.PauseTiming();
    db.reset();
    state.ResumeTiming();
  }
  report(state, allocs, ops);
}

BENCHMARK(BM_location_new_aor)->Arg(10000)->Arg(100000)->Unit(benchmark::kMillisecond);
BENCHMARK(BM_location_refresh)->Arg(10000)->Arg(100000)->Unit(benchmark::kMillisecond);
BENCHMARK(BM_location_lookup)->Arg(10000)->Arg(100000)->Unit(benchmark::kMillisecond);
BENCHMARK(BM_location_expire)->Arg(10000)->Arg(100000)->Unit(benchmark::kMillisecond);

}  // namespace

BENCHMARK_MAIN();
