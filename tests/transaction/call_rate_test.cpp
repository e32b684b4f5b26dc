// A UAS's transaction layer at a sustained call rate, on the manual clock: what its
// lingering transactions (IST Accepted for Timer L, the BYE's NIST Completed for Timer J,
// 32 s each) hold at steady state, and that the default budget admits every call.
//
// Every tick (1 ms at full scale) ten calls arrive from one caller (UDP): an
// INVITE with SDP answered 200 with SDP from on_request, the ACK for the 2xx (a new branch:
// it matches no transaction and goes to the TU, §17.1.1.3 / RFC 6026), and the BYE,
// answered 200. A call's length does not change what lingers (each transaction lingers
// 32 s after its final response), so the BYE follows at once. Branches are numbered with
// fixed width, so every call's messages have the same size and the steady state is exact.
//
// Scale: the full run is 10,000 calls/s for 60 s (600,000 calls, 1,800,000 requests in).
// Sanitizer and debug builds run a fiftieth of the rate (200 calls/s, ten calls every
// 50 ms, 12,000 calls) with a fiftieth of the default budget: the same ratio of live
// transactions to the derived bound and of held bytes to the budget (both scale with the
// rate), in a fiftieth of the work.
#include <chrono>
#include <cstdio>
#include <iostream>
#include <string>

#include "sipkit/transaction/manager.hpp"
#include "support/fake_transport.hpp"
#include "transaction/harness.hpp"

using namespace sipkit::test;
using sipkit::parser::message;

namespace {

#if defined(__SANITIZE_ADDRESS__) || !defined(NDEBUG)
constexpr int k_scale = 50;
#elif defined(__has_feature)
#if __has_feature(address_sanitizer) || __has_feature(undefined_behavior_sanitizer)
constexpr int k_scale = 50;
#else
constexpr int k_scale = 1;
#endif
#else
constexpr int k_scale = 1;
#endif

constexpr int k_calls_per_second = 10'000 / k_scale;
// Ten calls arrive together every k_tick_ms: 10,000 calls/s in ticks of 1 ms, or the
// scaled rate in ticks of k_scale ms (32 s stays a whole number of ticks, so expiries and
// arrivals keep the steady state exact).
constexpr int k_tick_ms = k_scale;
constexpr int k_calls_per_tick = 10;
constexpr int k_seconds = 60;

constexpr std::string_view k_sdp =
    "v=0\r\no=user1 53655765 2353687637 IN IP4 192.0.2.1\r\ns=-\r\nc=IN IP4 192.0.2.1\r\n"
    "t=0 0\r\nm=audio 6000 RTP/AVP 0 8 101\r\na=rtpmap:0 PCMU/8000\r\na=rtpmap:8 PCMA/8000\r\n"
    "a=rtpmap:101 telephone-event/8000\r\na=sendrecv\r\n";

/// Answers every INVITE and BYE 200 at once (with SDP on the INVITE), counts the rest.
class answering_uas final : public tx::transaction_user {
 public:
  explicit answering_uas(manual_clock& clock) : clock_(clock) {}
  tx::manager* mgr = nullptr;
  std::size_t invites = 0, byes = 0, acks = 0, failures = 0, refused_responses = 0;

  void on_request(tx::transaction_id id, const message& req, const tx::endpoint&,
                  tx::transaction_id) override {
    message ok = sipkit::parser::make_response(req, 200, {}, "b8321234356");
    if (req.method() == sipkit::parser::method::invite) {
      ++invites;
      ok.add(header_id::contact, "<sip:bob@198.51.100.7:5060;transport=udp>");
      ok.set_body(k_sdp, "application/sdp");
    } else {
      ++byes;
    }
    if (mgr->respond(id, std::move(ok), clock_.now())) ++refused_responses;
  }
  void on_response(tx::transaction_id, const message&) override {}
  void on_ack(const message&, const tx::endpoint&, tx::transaction_id) override { ++acks; }
  void on_stray_response(const message&, const tx::endpoint&) override {}
  void on_failure(tx::transaction_id, std::error_code) override { ++failures; }

 private:
  manual_clock& clock_;
};

std::string via_n(std::string_view kind, int call) {
  char number[16];
  std::snprintf(number, sizeof number, "%09d", call);
  return "SIP/2.0/UDP 192.0.2.1:5060;branch=z9hG4bK" + std::string(kind) + number + ";rport";
}

}  // namespace

TEST_CASE("At 10,000 calls/s for 60 s the default budget refuses nothing and held bytes plateau") {
  manual_clock clock;
  fake_transport tp(clock, {"198.51.100.7", 5060, tx::transport_protocol::udp, 0});
  tp.set_record(false, false);
  answering_uas uas(clock);
  tx::manager_config cfg;  // the defaults, but for:
  cfg.seed = 7;
  // One caller address carries every call, like a trunk or a load generator: the
  // per-source rate limit (100/s by default) is for phones, so it is off here.
  cfg.rate_limit.requests_per_second = 0;
  cfg.max_held_bytes /= k_scale;
  cfg.log = sipkit::logger(sipkit::log_level::off);
  tx::manager mgr(tp, uas, cfg);
  uas.mgr = &mgr;
  clock.attach_manager(mgr);
  const tx::endpoint caller{"192.0.2.1", 5060, tx::transport_protocol::udp, 0};

  message invite = sample_request("INVITE", "z9hG4bKinvite", "192.0.2.1:5060", "UDP", 1);
  invite.set_body(k_sdp, "application/sdp");
  message bye = sample_request("BYE", "z9hG4bKbye", "192.0.2.1:5060", "UDP", 2);
  bye.set(header_id::to, "Bob <sip:bob@biloxi.example.com>;tag=b8321234356");
  message ack = sample_request("ACK", "z9hG4bKack", "192.0.2.1:5060", "UDP", 1);
  ack.set(header_id::to, "Bob <sip:bob@biloxi.example.com>;tag=b8321234356");

  const std::size_t steady_live = 2 * static_cast<std::size_t>(k_calls_per_second) * 32;
  std::size_t steady_held = 0, peak_held = 0, peak_live = 0, peak_memory = 0;
  bool plateau_exact = true;
  int call = 0;
  const auto t0 = std::chrono::steady_clock::now();
  for (int ms = 0; ms < k_seconds * 1000; ms += k_tick_ms) {
    if (ms > 0) clock.advance(std::chrono::milliseconds(k_tick_ms));  // Timer L and J expiries
    for (int c = 0; c < k_calls_per_tick; ++c, ++call) {
      message m = invite;
      m.set(header_id::via, via_n("inv", call));
      mgr.on_receive(std::move(m), caller, clock.now());
      m = ack;
      m.set(header_id::via, via_n("ack", call));
      mgr.on_receive(std::move(m), caller, clock.now());
      m = bye;
      m.set(header_id::via, via_n("bye", call));
      mgr.on_receive(std::move(m), caller, clock.now());
    }
    peak_held = std::max(peak_held, mgr.held_bytes());
    peak_live = std::max(peak_live, mgr.size());
    peak_memory = std::max(peak_memory, mgr.memory_bytes());
    // From 32 s on, each tick's new transactions replace those that expire.
    if (ms == 32'000) steady_held = mgr.held_bytes();
    if (ms >= 32'000 && (mgr.size() != steady_live || mgr.held_bytes() != steady_held))
      plateau_exact = false;
  }
  const auto t1 = std::chrono::steady_clock::now();

  const std::size_t calls = static_cast<std::size_t>(k_calls_per_second) * k_seconds;
  REQUIRE(uas.invites == calls);
  REQUIRE(uas.byes == calls);
  REQUIRE(uas.acks == calls);  // every 2xx ACK reached the TU
  REQUIRE(uas.failures == 0);
  REQUIRE(uas.refused_responses == 0);
  REQUIRE(mgr.stats().rejected_full == 0);
  REQUIRE(mgr.stats().rejected_bytes == 0);
  REQUIRE(mgr.stats().server_created == 2 * calls);
  // The plateau: 64 s of transactions at 2 per call, constant from 32 s to the end.
  REQUIRE(plateau_exact);
  REQUIRE(peak_live == steady_live);
  REQUIRE(peak_held == steady_held);
  // Both bounds of the budget keep headroom at this rate.
  REQUIRE(peak_live < mgr.max_live());
  REQUIRE(peak_held < cfg.max_held_bytes);
  REQUIRE(steady_live == std::size_t{640'000} / k_scale);
  // What one call costs in counted message bytes: its INVITE's matching part, the 200's
  // status line and To (IST Accepted), the BYE and its 200 (NIST Completed).
  const std::size_t per_call = steady_held / (steady_live / 2);
  REQUIRE(per_call < 1200);

  // After the last call, Timer L and J let everything go.
  clock.advance(std::chrono::seconds(32));
  REQUIRE(mgr.size() == 0);
  REQUIRE(mgr.held_bytes() == 0);
  REQUIRE(mgr.armed_timers() == 0);

  using ms_t = std::chrono::milliseconds;
  std::cout << "[call rate] " << k_calls_per_second << " calls/s for " << k_seconds
            << " s: peak live transactions " << peak_live << " (bound " << mgr.max_live()
            << "), peak held bytes " << peak_held << " (" << per_call << " per call; budget "
            << cfg.max_held_bytes << "), peak budgeted memory " << peak_memory << "; ran in "
            << std::chrono::duration_cast<ms_t>(t1 - t0).count() << " ms\n";
}
