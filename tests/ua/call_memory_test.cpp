// Heap bytes held per established call (dialog + call state + SDP, no media), measured by
// replacing the global operator new/delete of this test binary only.
//
// Both ends run in this process, so the figure is the heap growth for N established calls
// divided by 2N: the average of a caller's and a callee's state. Transactions are let to
// finish first (tiny T1/T4), so lingering Completed/Accepted transactions are not counted:
// what remains is what a long call costs.
#include <malloc.h>

#include <atomic>
#include <catch2/catch.hpp>
#include <cstdio>
#include <cstdlib>
#include <new>
#include <vector>

#include "ua/ua_test_support.hpp"

namespace {
std::atomic<long long> g_live_bytes{0};
}  // namespace

void* operator new(std::size_t n) {
  void* p = std::malloc(n ? n : 1);
  if (!p) throw std::bad_alloc();
  g_live_bytes += static_cast<long long>(malloc_usable_size(p));
  return p;
}
void* operator new[](std::size_t n) { return ::operator new(n); }
void operator delete(void* p) noexcept {
  if (!p) return;
  g_live_bytes -= static_cast<long long>(malloc_usable_size(p));
  std::free(p);
}
void operator delete[](void* p) noexcept { ::operator delete(p); }
void operator delete(void* p, std::size_t) noexcept { ::operator delete(p); }
void operator delete[](void* p, std::size_t) noexcept { ::operator delete(p); }

using namespace sipkit;
using namespace sipkit::test;

TEST_CASE("An established call holds under 4 KiB of heap on each side") {
  auto fast = [](std::string user) {
    auto cfg = loopback_config(std::move(user));
    // Short timers so that every transaction of a call has ended before the heap is
    // measured, yet 64*T1 (the 2xx's wait for its ACK) far above a loaded machine's
    // scheduling delays: with T1 = 1 ms a late ACK ended calls on a busy CI host.
    cfg.transactions.timers.t1 = std::chrono::milliseconds(10);
    cfg.transactions.timers.t2 = std::chrono::milliseconds(40);
    cfg.transactions.timers.t4 = std::chrono::milliseconds(10);
    cfg.transactions.timers.d = std::chrono::milliseconds(10);
    // Hundreds of calls per second between two agents on loopback: past the per-source
    // rate limit, which this test does not measure.
    cfg.transactions.exempt_loopback = true;
    return cfg;
  };
  boost::asio::io_context io;
  ua::user_agent alice(io, fast("alice")), bob(io, fast("bob"));
  REQUIRE_FALSE(alice.start());
  REQUIRE_FALSE(bob.start());
  std::vector<ua::call> incoming;
  bob.on_incoming_call([&](ua::call c) {
    c.ring();
    c.answer();
    incoming.push_back(c);
  });
  const std::string target = uri_of(bob, "bob");
  std::vector<ua::call> calls;
  auto establish = [&](std::size_t n) {
    const std::size_t first = calls.size();
    for (std::size_t i = 0; i < n; ++i) calls.push_back(alice.make_call(target));
    REQUIRE(run_until(
        io,
        [&] {
          for (std::size_t i = first; i < calls.size(); ++i)
            if (calls[i].state() != ua::call_state::established) return false;
          return incoming.size() == calls.size() &&
                 incoming.back().state() == ua::call_state::established;
        },
        20000ms));
    // Let every transaction of these calls end (64*T1 = 640 ms, Timer K/I = T4).
    run_until(
        io, [] { return false; }, 1000ms);
  };

  establish(20);  // warm-up: buffers, tables and socket state that do not grow per call
  calls.reserve(1000);
  incoming.reserve(1000);
  const long long before = g_live_bytes.load();
  constexpr std::size_t n = 200;
  establish(n);
  const long long after = g_live_bytes.load();
  const double per_side = static_cast<double>(after - before) / (2.0 * n);
  std::printf("heap per established call and side: %.0f bytes (%zu calls)\n", per_side, n);
  CHECK(per_side < 4096.0);
  CHECK(alice.call_count() == 20 + n);
}
