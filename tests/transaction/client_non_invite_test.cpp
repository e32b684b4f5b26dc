// Non-INVITE client transaction: every transition of RFC 3261 Figure 6 (§17.1.2).
#include "sipkit/transaction/client_non_invite.hpp"

#include "sipkit/transaction/error.hpp"
#include "transaction/harness.hpp"

using namespace sipkit::test;
using sipkit::transaction::client_non_invite;
using st = client_non_invite::state;

namespace {

struct nict_fixture {
  explicit nict_fixture(bool reliable = false, tx::timer_config cfg = {})
      : config(cfg), nict(clock, client_non_invite(sample_request("OPTIONS"), reliable, config)) {
    nict.start();
  }
  void receive(int code) {
    auto rsp = sample_response(nict.machine().request(), code);
    nict.handle(tx::response_received{rsp});
  }
  manual_clock clock;
  tx::timer_config config;
  machine_driver<client_non_invite> nict;
};

}  // namespace

TEST_CASE("NICT sends the request and starts Timer E (T1) and Timer F (64*T1) on UDP") {
  nict_fixture f;
  REQUIRE(f.nict.send_times() == ms_list({0}));
  REQUIRE(f.nict.deadline_of(tx::timer::e) == 500);
  REQUIRE(f.nict.deadline_of(tx::timer::f) == 32000);
  REQUIRE(f.nict.machine().current_state() == st::trying);
}

TEST_CASE("NICT retransmits on Timer E doubling from T1 and capped at T2 in Trying") {
  nict_fixture f;
  f.clock.advance(31999ms);
  REQUIRE(f.nict.send_times() ==
          ms_list({0, 0.5, 1.5, 3.5, 7.5, 11.5, 15.5, 19.5, 23.5, 27.5, 31.5}));
}

TEST_CASE("NICT Timer F fires at 32 s: timeout to the TU and Terminated") {
  nict_fixture f;
  f.clock.advance(60s);
  REQUIRE(f.nict.failures().size() == 1);
  REQUIRE(f.nict.failures()[0].first == 32000);
  REQUIRE(f.nict.failures()[0].second == tx::error::timeout);
  REQUIRE(f.nict.terminated_at() == 32000);
  REQUIRE(f.nict.sent().size() == 11);
}

TEST_CASE("NICT moves to Proceeding on 1xx and then retransmits every T2") {
  nict_fixture f;
  f.clock.advance(600ms);  // sends at 0 and 0.5; E next at 1.5
  f.receive(100);
  REQUIRE(f.nict.machine().current_state() == st::proceeding);
  REQUIRE(f.nict.to_tu().size() == 1);
  f.clock.advance(31399ms);
  // E fires at 1.5 s (already armed), then is reset to T2 each time (§17.1.2.2).
  REQUIRE(f.nict.send_times() == ms_list({0, 0.5, 1.5, 5.5, 9.5, 13.5, 17.5, 21.5, 25.5, 29.5}));
}

TEST_CASE("NICT passes further 1xx to the TU in Proceeding") {
  nict_fixture f;
  f.receive(100);
  f.receive(180);
  REQUIRE(f.nict.to_tu().size() == 2);
  REQUIRE(f.nict.machine().current_state() == st::proceeding);
}

TEST_CASE("NICT Timer F fires in Proceeding: timeout and Terminated") {
  nict_fixture f;
  f.receive(100);
  f.clock.advance(32s);
  REQUIRE(f.nict.failures().size() == 1);
  REQUIRE(f.nict.terminated_at() == 32000);
}

TEST_CASE("NICT on a final in Trying passes it up, enters Completed with Timer K = T4") {
  nict_fixture f;
  f.clock.advance(200ms);
  f.receive(200);
  REQUIRE(f.nict.machine().current_state() == st::completed);
  REQUIRE(f.nict.to_tu().size() == 1);
  REQUIRE_FALSE(f.nict.armed(tx::timer::e));
  REQUIRE_FALSE(f.nict.armed(tx::timer::f));
  REQUIRE(f.nict.deadline_of(tx::timer::k) == 5200);
}

TEST_CASE("NICT on a final in Proceeding enters Completed") {
  nict_fixture f;
  f.receive(180);
  f.receive(404);
  REQUIRE(f.nict.machine().current_state() == st::completed);
  REQUIRE(f.nict.to_tu().size() == 2);
}

TEST_CASE("NICT in Completed absorbs response retransmissions") {
  nict_fixture f;
  f.receive(200);
  f.receive(200);
  f.receive(180);
  REQUIRE(f.nict.to_tu().size() == 1);
  REQUIRE(f.nict.sent().size() == 1);
}

TEST_CASE("NICT Timer K fires T4 after Completed: Terminated") {
  nict_fixture f;
  f.receive(200);
  f.clock.advance(4999ms);
  REQUIRE_FALSE(f.nict.terminated());
  f.clock.advance(1ms);
  REQUIRE(f.nict.terminated_at() == 5000);
}

TEST_CASE("NICT on TCP does not retransmit and times out on Timer F") {
  nict_fixture f(true);
  REQUIRE_FALSE(f.nict.armed(tx::timer::e));
  f.clock.advance(40s);
  REQUIRE(f.nict.send_times() == ms_list({0}));
  REQUIRE(f.nict.terminated_at() == 32000);
}

TEST_CASE("NICT on TCP terminates at once on a final (Timer K is zero)") {
  nict_fixture f(true);
  f.receive(200);
  REQUIRE(f.nict.to_tu().size() == 1);
  REQUIRE(f.nict.terminated_at() == 0);
}

TEST_CASE("NICT transport error in Trying informs the TU and terminates") {
  nict_fixture f;
  auto ec = std::make_error_code(std::errc::host_unreachable);
  f.nict.handle(tx::transport_failed{ec});
  REQUIRE(f.nict.failures().size() == 1);
  REQUIRE(f.nict.failures()[0].second == ec);
  REQUIRE(f.nict.terminated_at() == 0);
}

TEST_CASE("NICT transport error in Proceeding informs the TU and terminates") {
  nict_fixture f;
  f.receive(100);
  f.nict.handle(tx::transport_failed{});
  REQUIRE(f.nict.failures()[0].second == tx::error::transport_failure);
  REQUIRE(f.nict.terminated());
}

TEST_CASE("NICT T2 caps Timer E when configured") {
  tx::timer_config cfg;
  cfg.t2 = 1000ms;
  nict_fixture f(false, cfg);
  f.clock.advance(5s);
  REQUIRE(f.nict.send_times() == ms_list({0, 0.5, 1.5, 2.5, 3.5, 4.5}));
}
