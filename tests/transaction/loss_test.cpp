// 10,000 NICT/NIST and 10,000 ICT/IST exchanges over a UDP-like fake network that loses
// 30% of the datagrams in each direction (seeded). Every exchange must complete or time
// out exactly as RFC 3261 §17 / RFC 6026 say, and nothing may be left behind.
#include <map>
#include <set>

#include "sipkit/transaction/client_invite.hpp"
#include "sipkit/transaction/error.hpp"
#include "sipkit/transaction/manager.hpp"
#include "support/fake_transport.hpp"
#include "transaction/harness.hpp"

using namespace sipkit::test;
using sipkit::parser::message;

namespace {

constexpr int k_exchanges = 10000;
constexpr long long k_latency_ms = 10;

struct lossy_net {
  lossy_net()
      : a_tp(clock, {"192.0.2.1", 5060, tx::transport_protocol::udp, 0}),
        b_tp(clock, {"198.51.100.7", 5060, tx::transport_protocol::udp, 0}),
        a_tu(clock),
        b_tu(clock),
        a(a_tp, a_tu, cfg(11)),
        b(b_tp, b_tu, cfg(12)) {
    clock.attach_manager(a);
    clock.attach_manager(b);
    a_tp.set_record(true, false);
    b_tp.set_record(true, false);
    a_tp.connect(
        [this](message m, const tx::endpoint& s) { b.on_receive(std::move(m), s, clock.now()); },
        std::chrono::milliseconds(k_latency_ms), 0.3, 1001);
    b_tp.connect(
        [this](message m, const tx::endpoint& s) { a.on_receive(std::move(m), s, clock.now()); },
        std::chrono::milliseconds(k_latency_ms), 0.3, 2002);
  }
  static tx::manager_config cfg(std::uint64_t seed) {
    tx::manager_config c;
    c.seed = seed;
    // 10,000 requests in 10 s from one address: 10 times the default per-source rate
    // limit, which would answer most of them 503. This test is about loss, so the limit
    // is off; the amplification budget stays on (the UAC is an unproven UDP source).
    c.rate_limit.requests_per_second = 0;
    return c;
  }
  /// Start exchange i at i ms (staggered so that retransmissions interleave).
  void start_all(std::string_view method) {
    for (int i = 0; i < k_exchanges; ++i) {
      clock.schedule(std::chrono::steady_clock::time_point{} + std::chrono::milliseconds(i),
                     [this, i, method] {
                       auto r = a.start_client(
                           sample_uac_request(method, static_cast<std::uint32_t>(i + 1),
                                              "call-" + std::to_string(i)),
                           {bob}, clock.now());
                       REQUIRE(r);
                       started[r.id] = {i, clock.ms()};
                     });
    }
  }
  struct start_info {
    int index;
    long long at_ms;
  };
  manual_clock clock;
  fake_transport a_tp, b_tp;
  recording_tu a_tu, b_tu;
  tx::manager a, b;
  tx::endpoint bob{"198.51.100.7", 5060, tx::transport_protocol::udp, 0};
  std::unordered_map<tx::transaction_id, start_info> started;
};

/// Send times (ms) per origin transaction, for messages whose method/status matches.
template <class Pred>
std::unordered_map<tx::transaction_id, std::vector<long long>> sends_by_origin(
    const fake_transport& tp, Pred pred) {
  std::unordered_map<tx::transaction_id, std::vector<long long>> out;
  for (const auto& r : tp.sent())
    if (pred(r.msg)) out[r.origin].push_back(manual_clock::ms_of(r.at));
  return out;
}

bool is_prefix_of_schedule(const std::vector<long long>& sends, long long start,
                           const std::vector<long long>& offsets) {
  if (sends.size() > offsets.size()) return false;
  for (std::size_t i = 0; i < sends.size(); ++i)
    if (sends[i] != start + offsets[i]) return false;
  return true;
}

}  // namespace

TEST_CASE("10,000 NICT/NIST exchanges under 30% loss complete or time out as RFC 3261 says") {
  lossy_net n;
  n.b_tu.request_hook = [&](tx::transaction_id id, const message& req) {
    REQUIRE_FALSE(n.b.respond(id, sample_response(req, 200), n.clock.now()));
  };
  n.start_all("OPTIONS");
  n.clock.advance(std::chrono::seconds(200));

  // Client side: every transaction ended exactly once, with a final or with Timer F.
  const auto e_offsets = ms_list({0, 0.5, 1.5, 3.5, 7.5, 11.5, 15.5, 19.5, 23.5, 27.5, 31.5});
  const auto requests = sends_by_origin(n.a_tp, [](const message& m) { return m.is_request(); });
  std::unordered_map<tx::transaction_id, long long> final_at;
  for (const auto& r : n.a_tu.responses) {
    REQUIRE(r.msg.status_code() == 200);
    REQUIRE(final_at.emplace(r.id, r.at_ms).second);  // absorbed in Completed: only once
  }
  std::size_t timeouts = 0;
  REQUIRE(n.started.size() == static_cast<std::size_t>(k_exchanges));
  for (const auto& [id, info] : n.started) {
    const auto& sends = requests.at(id);
    REQUIRE(is_prefix_of_schedule(sends, info.at_ms, e_offsets));
    const bool completed = final_at.count(id) != 0;
    const auto terminated = n.a_tu.terminated_at.at(id);
    if (completed) {
      REQUIRE(final_at[id] >= info.at_ms + 2 * k_latency_ms);
      REQUIRE(terminated == final_at[id] + 5000);  // Timer K = T4
    } else {
      ++timeouts;
      REQUIRE(sends.size() == e_offsets.size());
      REQUIRE(terminated == info.at_ms + 32000);  // Timer F = 64*T1
    }
  }
  std::size_t failures_timeout = 0;
  for (const auto& f : n.a_tu.failures) {
    REQUIRE(f.ec == tx::error::timeout);
    REQUIRE(f.at_ms == n.started.at(f.id).at_ms + 32000);
    ++failures_timeout;
  }
  REQUIRE(failures_timeout == timeouts);
  REQUIRE(final_at.size() + timeouts == static_cast<std::size_t>(k_exchanges));

  // Server side: one transaction per request that got through; Timer J after the 200.
  std::set<std::string> call_ids;
  for (const auto& r : n.b_tu.requests)
    REQUIRE(call_ids.insert(std::string(r.msg.call_id())).second);
  const auto finals = sends_by_origin(n.b_tp, [](const message& m) { return m.is_response(); });
  for (const auto& r : n.b_tu.requests) {
    const auto& sent = finals.at(r.id);
    REQUIRE(sent.front() == r.at_ms);  // answered at once
    REQUIRE(n.b_tu.terminated_at.at(r.id) == r.at_ms + 32000);
  }
  REQUIRE(n.b_tu.failures.empty());

  // Real peers under loss never run into the amplification budget.
  REQUIRE(n.a.stats().amplification_suppressed == 0);
  REQUIRE(n.b.stats().amplification_suppressed == 0);

  // No leaks.
  REQUIRE(n.a.size() == 0);
  REQUIRE(n.b.size() == 0);
  REQUIRE(n.a.armed_timers() == 0);
  REQUIRE(n.b.armed_timers() == 0);
  REQUIRE(final_at.size() > 9900);  // loss is survivable: retransmissions do their job
}

TEST_CASE("10,000 ICT/IST exchanges under 30% loss complete or time out as RFC 3261/6026 say") {
  lossy_net n;
  // Odd CSeq: 200 (IST -> Accepted); even: 486 (IST -> Completed, ACK expected).
  n.b_tu.request_hook = [&](tx::transaction_id id, const message& req) {
    const int code = req.cseq()->number % 2 ? 200 : 486;
    REQUIRE_FALSE(n.b.respond(id, sample_response(req, code), n.clock.now()));
  };
  n.start_all("INVITE");
  n.clock.advance(std::chrono::seconds(200));

  const auto a_offsets = ms_list({0, 0.5, 1.5, 3.5, 7.5, 15.5, 31.5});
  const auto invites = sends_by_origin(n.a_tp, [](const message& m) {
    return m.is_request() && m.method() == sipkit::parser::method::invite;
  });
  std::unordered_map<tx::transaction_id, long long> first_final;
  for (const auto& r : n.a_tu.responses) {
    REQUIRE(r.msg.status_code() >= 200);
    first_final.emplace(r.id, r.at_ms);  // 2xx retransmissions would also be passed up
  }
  std::size_t timeouts = 0;
  for (const auto& [id, info] : n.started) {
    REQUIRE(is_prefix_of_schedule(invites.at(id), info.at_ms, a_offsets));
    const auto terminated = n.a_tu.terminated_at.at(id);
    if (first_final.count(id)) {
      // Timer D (32 s) after a non-2xx, Timer M (64*T1 = 32 s) after a 2xx.
      REQUIRE(terminated == first_final[id] + 32000);
    } else {
      ++timeouts;
      REQUIRE(invites.at(id).size() == a_offsets.size());
      REQUIRE(terminated == info.at_ms + 32000);  // Timer B
    }
  }
  for (const auto& f : n.a_tu.failures) {
    REQUIRE(f.ec == tx::error::timeout);
    REQUIRE(f.at_ms == n.started.at(f.id).at_ms + 32000);
  }
  REQUIRE(n.a_tu.failures.size() == timeouts);

  // ACKs the client sent, per Call-ID, to check Timer I exactly.
  std::map<std::string, std::vector<long long>> acks;
  for (const auto& r : n.a_tp.sent())
    if (r.msg.is_request() && r.msg.method() == sipkit::parser::method::ack)
      acks[std::string(r.msg.call_id())].push_back(manual_clock::ms_of(r.at));

  std::unordered_map<tx::transaction_id, long long> server_failed;
  for (const auto& f : n.b_tu.failures) {
    REQUIRE(f.ec == tx::error::timeout);
    server_failed[f.id] = f.at_ms;
  }
  for (const auto& r : n.b_tu.requests) {
    const auto terminated = n.b_tu.terminated_at.at(r.id);
    if (r.msg.cseq()->number % 2) {
      REQUIRE(terminated == r.at_ms + 32000);  // Timer L
      REQUIRE(server_failed.count(r.id) == 0);
    } else if (server_failed.count(r.id)) {
      REQUIRE(server_failed[r.id] == r.at_ms + 32000);  // Timer H: no ACK arrived
      REQUIRE(terminated == r.at_ms + 32000);
    } else {
      // Confirmed by an ACK that arrived k_latency after one of the client's ACK sends,
      // then Timer I = T4.
      const auto& sent = acks.at(std::string(r.msg.call_id()));
      const long long ack_arrival = terminated - 5000;
      REQUIRE(std::find(sent.begin(), sent.end(), ack_arrival - k_latency_ms) != sent.end());
    }
  }
  REQUIRE(n.a.stats().amplification_suppressed == 0);
  REQUIRE(n.b.stats().amplification_suppressed == 0);

  REQUIRE(n.a.size() == 0);
  REQUIRE(n.b.size() == 0);
  REQUIRE(n.a.armed_timers() == 0);
  REQUIRE(n.b.armed_timers() == 0);
}
