// INVITE client transaction: every transition of RFC 3261 Figure 5 as updated by
// RFC 6026 §7.2, with exact schedules on the manual clock.
#include "sipkit/transaction/client_invite.hpp"

#include "sipkit/transaction/error.hpp"
#include "transaction/harness.hpp"

using namespace sipkit::test;
using sipkit::transaction::client_invite;
using st = client_invite::state;

namespace {

struct ict_fixture {
  explicit ict_fixture(bool reliable = false, tx::timer_config cfg = {})
      : config(cfg), ict(clock, client_invite(sample_request("INVITE"), reliable, config)) {
    ict.start();
  }
  void receive(int code, std::string_view tag = "8321234356") {
    auto rsp = sample_response(ict.machine().request(), code, tag);
    ict.handle(tx::response_received{rsp});
  }
  manual_clock clock;
  tx::timer_config config;
  machine_driver<client_invite> ict;
};

}  // namespace

TEST_CASE("ICT sends the INVITE and starts Timer A (T1) and Timer B (64*T1) on UDP") {
  ict_fixture f;
  REQUIRE(f.ict.send_times() == ms_list({0}));
  REQUIRE(f.ict.sent()[0].msg.method_text() == "INVITE");
  REQUIRE(f.ict.deadline_of(tx::timer::a) == 500);
  REQUIRE(f.ict.deadline_of(tx::timer::b) == 32000);
  REQUIRE(f.ict.machine().current_state() == st::calling);
}

TEST_CASE("ICT retransmits INVITE on Timer A at 0, 0.5, 1.5, 3.5, 7.5, 15.5, 31.5 s") {
  ict_fixture f;
  f.clock.advance(31999ms);
  REQUIRE(f.ict.send_times() == ms_list({0, 0.5, 1.5, 3.5, 7.5, 15.5, 31.5}));
  REQUIRE(f.ict.machine().current_state() == st::calling);
  REQUIRE(f.ict.to_tu().empty());
}

TEST_CASE("ICT Timer B fires at 32 s in Calling: timeout to the TU and Terminated") {
  ict_fixture f;
  f.clock.advance(40s);
  REQUIRE(f.ict.failures().size() == 1);
  REQUIRE(f.ict.failures()[0].first == 32000);
  REQUIRE(f.ict.failures()[0].second == tx::error::timeout);
  REQUIRE(f.ict.terminated_at() == 32000);
  REQUIRE(f.ict.sent().size() == 7);
}

TEST_CASE("ICT timers follow a configured T1") {
  tx::timer_config cfg;
  cfg.t1 = 100ms;
  ict_fixture f(false, cfg);
  f.clock.advance(10s);
  REQUIRE(f.ict.send_times() == ms_list({0, 0.1, 0.3, 0.7, 1.5, 3.1, 6.3}));
  REQUIRE(f.ict.terminated_at() == 6400);
}

TEST_CASE("ICT on TCP sends the INVITE once and times out on Timer B alone") {
  ict_fixture f(true);
  REQUIRE_FALSE(f.ict.armed(tx::timer::a));
  f.clock.advance(40s);
  REQUIRE(f.ict.send_times() == ms_list({0}));
  REQUIRE(f.ict.failures().size() == 1);
  REQUIRE(f.ict.terminated_at() == 32000);
}

TEST_CASE("ICT moves to Proceeding on a 1xx, passes it up and stops retransmitting") {
  ict_fixture f;
  f.clock.advance(1s);
  f.receive(180);
  REQUIRE(f.ict.machine().current_state() == st::proceeding);
  REQUIRE(f.ict.to_tu().size() == 1);
  REQUIRE(f.ict.to_tu()[0].msg.status_code() == 180);
  REQUIRE(f.ict.armed_count() == 0);
  f.clock.advance(100s);
  REQUIRE(f.ict.send_times() == ms_list({0, 0.5}));
  REQUIRE_FALSE(f.ict.terminated());
}

TEST_CASE("ICT passes every further 1xx to the TU in Proceeding") {
  ict_fixture f;
  f.receive(100);
  f.receive(180);
  f.receive(183);
  REQUIRE(f.ict.to_tu().size() == 3);
  REQUIRE(f.ict.to_tu()[2].msg.status_code() == 183);
  REQUIRE(f.ict.machine().current_state() == st::proceeding);
}

TEST_CASE(
    "ICT on 300-699 in Calling sends the ACK, passes the response up, Completed, Timer D 32 s") {
  ict_fixture f;
  f.clock.advance(600ms);
  f.receive(486);
  REQUIRE(f.ict.machine().current_state() == st::completed);
  REQUIRE(f.ict.sent().size() == 3);  // INVITE, INVITE at 0.5 s, ACK
  REQUIRE(f.ict.sent()[2].msg.method_text() == "ACK");
  REQUIRE(f.ict.to_tu().size() == 1);
  REQUIRE(f.ict.to_tu()[0].msg.status_code() == 486);
  REQUIRE_FALSE(f.ict.armed(tx::timer::a));
  REQUIRE_FALSE(f.ict.armed(tx::timer::b));
  REQUIRE(f.ict.deadline_of(tx::timer::d) == 32600);
}

TEST_CASE("ICT builds the ACK for a non-2xx final as RFC 3261 section 17.1.1.3 says") {
  ict_fixture f;
  f.receive(404);
  REQUIRE(f.ict.sent().back().msg.serialize() ==
          "ACK sip:bob@biloxi.example.com SIP/2.0\r\n"
          "Via: SIP/2.0/UDP 192.0.2.1:5060;branch=z9hG4bK74bf9\r\n"
          "Max-Forwards: 70\r\n"
          "Route: <sip:proxy.example.com;lr>\r\n"
          "From: Alice <sip:alice@atlanta.example.com>;tag=9fxced76sl\r\n"
          "To: Bob <sip:bob@biloxi.example.com>;tag=8321234356\r\n"
          "Call-ID: 3848276298220188511@atlanta.example.com\r\n"
          "CSeq: 314159 ACK\r\n"
          "Content-Length: 0\r\n"
          "\r\n");
}

TEST_CASE("ICT in Completed re-sends the ACK for a retransmitted final without telling the TU") {
  ict_fixture f;
  f.receive(486);
  f.clock.advance(2s);
  f.receive(486);
  f.receive(486);
  REQUIRE(f.ict.sent().size() == 4);
  REQUIRE(f.ict.sent()[3].msg.method_text() == "ACK");
  REQUIRE(f.ict.sent()[3].at_ms == 2000);
  REQUIRE(f.ict.to_tu().size() == 1);
  REQUIRE(f.ict.machine().current_state() == st::completed);
}

TEST_CASE("ICT Timer D fires 32 s after Completed on UDP: Terminated") {
  ict_fixture f;
  f.receive(500);
  f.clock.advance(31999ms);
  REQUIRE_FALSE(f.ict.terminated());
  f.clock.advance(1ms);
  REQUIRE(f.ict.terminated_at() == 32000);
  REQUIRE(f.ict.failures().empty());
}

TEST_CASE("ICT on TCP terminates at once on a non-2xx final (Timer D is zero)") {
  ict_fixture f(true);
  f.receive(603);
  REQUIRE(f.ict.sent().back().msg.method_text() == "ACK");
  REQUIRE(f.ict.to_tu().size() == 1);
  REQUIRE(f.ict.terminated_at() == 0);
}

TEST_CASE("ICT on 300-699 in Proceeding sends the ACK and enters Completed") {
  ict_fixture f;
  f.receive(180);
  f.receive(302);
  REQUIRE(f.ict.machine().current_state() == st::completed);
  REQUIRE(f.ict.sent().back().msg.method_text() == "ACK");
  REQUIRE(f.ict.to_tu().size() == 2);
  REQUIRE(f.ict.deadline_of(tx::timer::d) == 32000);
}

TEST_CASE("ICT on 2xx in Calling enters Accepted with Timer M = 64*T1 and sends no ACK") {
  ict_fixture f;
  f.clock.advance(700ms);
  f.receive(200);
  REQUIRE(f.ict.machine().current_state() == st::accepted);
  REQUIRE(f.ict.to_tu().size() == 1);
  REQUIRE(f.ict.sent().size() == 2);  // INVITE twice, no ACK: the TU acks a 2xx
  REQUIRE(f.ict.deadline_of(tx::timer::m) == 32700);
  REQUIRE_FALSE(f.ict.armed(tx::timer::a));
  REQUIRE_FALSE(f.ict.armed(tx::timer::b));
}

TEST_CASE("ICT on 2xx in Proceeding enters Accepted") {
  ict_fixture f;
  f.receive(180);
  f.receive(200);
  REQUIRE(f.ict.machine().current_state() == st::accepted);
  REQUIRE(f.ict.to_tu().size() == 2);
}

TEST_CASE("ICT in Accepted passes 2xx retransmissions and forked 2xx to the TU (RFC 6026)") {
  ict_fixture f;
  f.receive(200, "fork1");
  f.receive(200, "fork1");
  f.receive(200, "fork2");
  f.receive(486);  // not a 2xx: absorbed in Accepted
  REQUIRE(f.ict.to_tu().size() == 3);
  REQUIRE(f.ict.to_tu()[2].msg.to()->tag == "fork2");
  REQUIRE(f.ict.sent().size() == 1);
}

TEST_CASE("ICT Timer M fires in Accepted: Terminated, also on TCP") {
  ict_fixture f(true);
  f.receive(200);
  REQUIRE(f.ict.deadline_of(tx::timer::m) == 32000);
  f.clock.advance(32s);
  REQUIRE(f.ict.terminated_at() == 32000);
}

TEST_CASE("ICT transport error in Calling informs the TU and terminates") {
  ict_fixture f;
  auto ec = std::make_error_code(std::errc::connection_refused);
  f.ict.handle(tx::transport_failed{ec});
  REQUIRE(f.ict.failures().size() == 1);
  REQUIRE(f.ict.failures()[0].second == ec);
  REQUIRE(f.ict.terminated_at() == 0);
}

TEST_CASE("ICT transport error in Completed informs the TU and terminates") {
  ict_fixture f;
  f.receive(486);
  f.ict.handle(tx::transport_failed{});
  REQUIRE(f.ict.failures().size() == 1);
  REQUIRE(f.ict.failures()[0].second == tx::error::transport_failure);
  REQUIRE(f.ict.terminated());
}

TEST_CASE("ICT ignores a transport error in Proceeding and Accepted, where it sends nothing") {
  ict_fixture f;
  f.receive(180);
  REQUIRE(f.ict.handle(tx::transport_failed{}).empty());
  f.receive(200);
  REQUIRE(f.ict.handle(tx::transport_failed{}).empty());
  REQUIRE(f.ict.machine().current_state() == st::accepted);
}

TEST_CASE("make_cancel builds the CANCEL as RFC 3261 section 9.1 says") {
  auto cancel = tx::make_cancel(sample_request("INVITE"));
  REQUIRE(cancel.serialize() ==
          "CANCEL sip:bob@biloxi.example.com SIP/2.0\r\n"
          "Via: SIP/2.0/UDP 192.0.2.1:5060;branch=z9hG4bK74bf9\r\n"
          "Max-Forwards: 70\r\n"
          "Route: <sip:proxy.example.com;lr>\r\n"
          "From: Alice <sip:alice@atlanta.example.com>;tag=9fxced76sl\r\n"
          "To: Bob <sip:bob@biloxi.example.com>\r\n"
          "Call-ID: 3848276298220188511@atlanta.example.com\r\n"
          "CSeq: 314159 CANCEL\r\n"
          "Content-Length: 0\r\n"
          "\r\n");
}
