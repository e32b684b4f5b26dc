// Non-INVITE server transaction: every transition of RFC 3261 Figure 8 (§17.2.2).
#include "sipkit/transaction/server_non_invite.hpp"

#include "sipkit/transaction/error.hpp"
#include "transaction/harness.hpp"

using namespace sipkit::test;
using sipkit::transaction::server_non_invite;
using st = server_non_invite::state;

namespace {

struct nist_fixture {
  explicit nist_fixture(bool reliable = false)
      : request(sample_request("REGISTER")),
        nist(clock, server_non_invite(request, reliable, config)) {
    nist.start();
  }
  tx::action_list respond(int code) {
    return nist.handle(tx::response_from_tu{sample_response(request, code)});
  }
  void retransmit() { nist.handle(tx::request_received{request}); }
  manual_clock clock;
  tx::timer_config config;
  sipkit::parser::message request;
  machine_driver<server_non_invite> nist;
};

}  // namespace

TEST_CASE("NIST passes the request to the TU and waits in Trying") {
  nist_fixture f;
  REQUIRE(f.nist.to_tu().size() == 1);
  REQUIRE(f.nist.to_tu()[0].msg.method_text() == "REGISTER");
  REQUIRE(f.nist.machine().current_state() == st::trying);
  REQUIRE(f.nist.armed_count() == 0);
}

TEST_CASE("NIST discards request retransmissions in Trying") {
  nist_fixture f;
  f.retransmit();
  REQUIRE(f.nist.sent().empty());
  REQUIRE(f.nist.to_tu().size() == 1);
}

TEST_CASE("NIST sends a 1xx from the TU and enters Proceeding") {
  nist_fixture f;
  f.respond(100);
  REQUIRE(f.nist.machine().current_state() == st::proceeding);
  REQUIRE(f.nist.sent().size() == 1);
  REQUIRE(f.nist.sent()[0].msg.status_code() == 100);
}

TEST_CASE("NIST in Proceeding re-sends the last provisional on a retransmission") {
  nist_fixture f;
  f.respond(100);
  f.respond(183);
  f.retransmit();
  REQUIRE(f.nist.sent().size() == 3);
  REQUIRE(f.nist.sent()[2].msg.status_code() == 183);
}

TEST_CASE("NIST sends a final from the TU in Trying and enters Completed with Timer J = 64*T1") {
  nist_fixture f;
  f.clock.advance(1s);
  f.respond(200);
  REQUIRE(f.nist.machine().current_state() == st::completed);
  REQUIRE(f.nist.sent().size() == 1);
  REQUIRE(f.nist.deadline_of(tx::timer::j) == 33000);
}

TEST_CASE("NIST sends a final in Proceeding and enters Completed") {
  nist_fixture f;
  f.respond(100);
  f.respond(404);
  REQUIRE(f.nist.machine().current_state() == st::completed);
  REQUIRE(f.nist.sent()[1].msg.status_code() == 404);
}

TEST_CASE("NIST in Completed re-sends the final on each retransmission") {
  nist_fixture f;
  f.respond(200);
  f.clock.advance(3s);
  f.retransmit();
  f.retransmit();
  REQUIRE(f.nist.send_times() == ms_list({0, 3, 3}));
  REQUIRE(f.nist.sent()[2].msg.status_code() == 200);
  REQUIRE(f.nist.to_tu().size() == 1);
}

TEST_CASE("NIST refuses a second final from the TU") {
  nist_fixture f;
  f.respond(200);
  auto acts = f.respond(500);
  REQUIRE(acts.error == tx::error::invalid_state);
  REQUIRE(acts.empty());
  REQUIRE(f.nist.sent().size() == 1);
}

TEST_CASE("NIST refuses a status code outside 100-699") {
  nist_fixture f;
  auto rsp = sample_response(f.request, 200);
  rsp.set_status(700);
  auto acts = f.nist.handle(tx::response_from_tu{rsp});
  REQUIRE(acts.error == tx::error::invalid_message);
  REQUIRE(f.nist.machine().current_state() == st::trying);
}

TEST_CASE("NIST Timer J fires 64*T1 after Completed on UDP: Terminated") {
  nist_fixture f;
  f.respond(200);
  f.clock.advance(31999ms);
  REQUIRE_FALSE(f.nist.terminated());
  f.clock.advance(1ms);
  REQUIRE(f.nist.terminated_at() == 32000);
}

TEST_CASE("NIST on TCP terminates at once on a final (Timer J is zero)") {
  nist_fixture f(true);
  f.respond(200);
  REQUIRE(f.nist.sent().size() == 1);
  REQUIRE(f.nist.terminated_at() == 0);
}

TEST_CASE("NIST transport error in Proceeding informs the TU and terminates") {
  nist_fixture f;
  f.respond(100);
  f.nist.handle(tx::transport_failed{std::make_error_code(std::errc::broken_pipe)});
  REQUIRE(f.nist.failures().size() == 1);
  REQUIRE(f.nist.terminated());
}

TEST_CASE("NIST transport error in Completed informs the TU and terminates") {
  nist_fixture f;
  f.respond(200);
  f.nist.handle(tx::transport_failed{});
  REQUIRE(f.nist.failures()[0].second == tx::error::transport_failure);
  REQUIRE(f.nist.terminated());
  REQUIRE(f.nist.armed_count() == 0);
}
