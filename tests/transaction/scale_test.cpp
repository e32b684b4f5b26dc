// One manager holding 1,000,000 live server transactions: creation, matching of
// retransmissions among them, and clean removal. Timing is printed, never asserted.
#include <chrono>
#include <iostream>

#include "sipkit/transaction/manager.hpp"
#include "support/fake_transport.hpp"
#include "transaction/harness.hpp"

using namespace sipkit::test;
using sipkit::parser::message;

TEST_CASE("A manager holds 1,000,000 live server transactions and still matches them") {
  constexpr std::uint32_t k_count = 1'000'000;
  manual_clock clock;
  fake_transport tp(clock, {"198.51.100.7", 5060, tx::transport_protocol::tcp, 0});
  tp.set_record(false, false);
  recording_tu tu(clock);
  tu.record_requests = false;
  std::vector<tx::transaction_id> ids;
  ids.reserve(k_count);
  tu.request_hook = [&](tx::transaction_id id, const message&) { ids.push_back(id); };
  tx::manager_config cfg;
  cfg.max_transactions = k_count;
  cfg.seed = 5;
  // A million requests from one address at one instant: far beyond the default
  // per-source rate limit and byte budget, which this test is not about.
  cfg.rate_limit.requests_per_second = 0;
  cfg.max_held_bytes = 0;
  tx::manager mgr(tp, tu, cfg);
  // TCP: responses end each NIST at once, which empties the manager at the end.
  const tx::endpoint peer{"192.0.2.1", 5060, tx::transport_protocol::tcp, 1};

  const message base = sample_request("OPTIONS", "z9hG4bKx", "192.0.2.1:5060", "TCP");
  auto request_n = [&](std::uint32_t i) {
    message m = base;
    m.set(header_id::via, "SIP/2.0/TCP 192.0.2.1:5060;branch=z9hG4bKscale" + std::to_string(i));
    return m;
  };

  const auto t0 = std::chrono::steady_clock::now();
  for (std::uint32_t i = 0; i < k_count; ++i) mgr.on_receive(request_n(i), peer, clock.now());
  const auto t1 = std::chrono::steady_clock::now();
  REQUIRE(mgr.size() == k_count);
  REQUIRE(ids.size() == k_count);

  // Lookups: a retransmission of every 100th request matches its transaction.
  for (std::uint32_t i = 0; i < k_count; i += 100) mgr.on_receive(request_n(i), peer, clock.now());
  const auto t2 = std::chrono::steady_clock::now();
  REQUIRE(mgr.stats().retransmissions_absorbed == k_count / 100);
  REQUIRE(ids.size() == k_count);  // no new transaction was created
  // One more is refused with 503 (the manager is full).
  mgr.on_receive(request_n(k_count), peer, clock.now());
  REQUIRE(mgr.stats().rejected_full == 1);

  for (auto id : ids) REQUIRE_FALSE(mgr.respond(id, sample_response(base, 200), clock.now()));
  REQUIRE(mgr.size() == 0);
  REQUIRE(mgr.armed_timers() == 0);

  using ms = std::chrono::milliseconds;
  std::cout << "[scale] created " << k_count << " server transactions in "
            << std::chrono::duration_cast<ms>(t1 - t0).count() << " ms; " << k_count / 100
            << " retransmission lookups in " << std::chrono::duration_cast<ms>(t2 - t1).count()
            << " ms\n";
}
