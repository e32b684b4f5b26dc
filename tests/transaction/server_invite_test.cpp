// INVITE server transaction: every transition of RFC 3261 Figure 7 (§17.2.1) as updated
// by RFC 6026 §7.1 (Accepted, Timer L).
#include "sipkit/transaction/server_invite.hpp"

#include "sipkit/transaction/client_invite.hpp"
#include "sipkit/transaction/error.hpp"
#include "transaction/harness.hpp"

using namespace sipkit::test;
using sipkit::transaction::server_invite;
using st = server_invite::state;

namespace {

struct ist_fixture {
  explicit ist_fixture(bool reliable = false)
      : request(sample_request("INVITE")), ist(clock, server_invite(request, reliable, config)) {
    ist.start();
  }
  tx::action_list respond(int code) {
    return ist.handle(tx::response_from_tu{sample_response(request, code)});
  }
  void retransmit() { ist.handle(tx::request_received{request}); }
  void ack() {
    auto a = tx::make_ack(request, sample_response(request, 486));
    ist.handle(tx::request_received{a});
  }
  manual_clock clock;
  tx::timer_config config;
  sipkit::parser::message request;
  machine_driver<server_invite> ist;
};

}  // namespace

TEST_CASE("IST passes the INVITE to the TU and starts the 200 ms Trying timer") {
  ist_fixture f;
  REQUIRE(f.ist.to_tu().size() == 1);
  REQUIRE(f.ist.machine().current_state() == st::proceeding);
  REQUIRE(f.ist.deadline_of(tx::timer::trying) == 200);
}

TEST_CASE("IST sends 100 Trying after 200 ms when the TU has not answered") {
  ist_fixture f;
  f.clock.advance(199ms);
  REQUIRE(f.ist.sent().empty());
  f.clock.advance(1ms);
  REQUIRE(f.ist.send_times() == ms_list({0.2}));
  const auto& trying = f.ist.sent()[0].msg;
  REQUIRE(trying.status_code() == 100);
  REQUIRE(trying.to()->tag.empty());
  REQUIRE(trying.get(header_id::via) == f.request.get(header_id::via));
  REQUIRE(trying.cseq()->number == 314159);
}

TEST_CASE("IST sends no 100 Trying when the TU answers within 200 ms") {
  ist_fixture f;
  f.clock.advance(100ms);
  f.respond(180);
  f.clock.advance(10s);
  REQUIRE(f.ist.sent().size() == 1);
  REQUIRE(f.ist.sent()[0].msg.status_code() == 180);
  REQUIRE(f.ist.armed_count() == 0);
}

TEST_CASE("IST in Proceeding sends 1xx from the TU and re-sends the last one on a retransmission") {
  ist_fixture f;
  f.respond(180);
  f.respond(183);
  f.retransmit();
  REQUIRE(f.ist.sent().size() == 3);
  REQUIRE(f.ist.sent()[2].msg.status_code() == 183);
  REQUIRE(f.ist.machine().current_state() == st::proceeding);
}

TEST_CASE("IST in Proceeding answers an early retransmission with the 100 Trying once sent") {
  ist_fixture f;
  f.retransmit();
  REQUIRE(f.ist.sent().empty());  // nothing sent yet, nothing to re-send
  f.clock.advance(300ms);
  f.retransmit();
  REQUIRE(f.ist.sent().size() == 2);
  REQUIRE(f.ist.sent()[1].msg.status_code() == 100);
}

TEST_CASE("IST on 300-699 from the TU enters Completed with Timer G = T1 and Timer H = 64*T1") {
  ist_fixture f;
  f.respond(486);
  REQUIRE(f.ist.machine().current_state() == st::completed);
  REQUIRE(f.ist.deadline_of(tx::timer::g) == 500);
  REQUIRE(f.ist.deadline_of(tx::timer::h) == 32000);
}

TEST_CASE("IST retransmits the final on Timer G doubling up to T2 until Timer H") {
  ist_fixture f;
  f.respond(486);
  f.clock.advance(31999ms);
  REQUIRE(f.ist.send_times() ==
          ms_list({0, 0.5, 1.5, 3.5, 7.5, 11.5, 15.5, 19.5, 23.5, 27.5, 31.5}));
}

TEST_CASE("IST Timer H fires without an ACK: failure to the TU and Terminated") {
  ist_fixture f;
  f.respond(486);
  f.clock.advance(32s);
  REQUIRE(f.ist.failures().size() == 1);
  REQUIRE(f.ist.failures()[0].first == 32000);
  REQUIRE(f.ist.failures()[0].second == tx::error::timeout);
  REQUIRE(f.ist.terminated_at() == 32000);
}

TEST_CASE("IST in Completed re-sends the final on an INVITE retransmission") {
  ist_fixture f;
  f.respond(486);
  f.clock.advance(100ms);
  f.retransmit();
  REQUIRE(f.ist.send_times() == ms_list({0, 0.1}));
  REQUIRE(f.ist.sent()[1].msg.status_code() == 486);
}

TEST_CASE("IST on ACK in Completed enters Confirmed with Timer I = T4 and stops G and H") {
  ist_fixture f;
  f.respond(486);
  f.clock.advance(1s);
  f.ack();
  REQUIRE(f.ist.machine().current_state() == st::confirmed);
  REQUIRE_FALSE(f.ist.armed(tx::timer::g));
  REQUIRE_FALSE(f.ist.armed(tx::timer::h));
  REQUIRE(f.ist.deadline_of(tx::timer::i) == 6000);
  REQUIRE(f.ist.to_tu().size() == 1);  // the ACK for a non-2xx stays in the transaction
}

TEST_CASE("IST in Confirmed absorbs ACK and INVITE retransmissions") {
  ist_fixture f;
  f.respond(486);
  f.ack();
  const auto sends = f.ist.sent().size();
  f.ack();
  f.retransmit();
  REQUIRE(f.ist.sent().size() == sends);
  REQUIRE(f.ist.to_tu().size() == 1);
}

TEST_CASE("IST Timer I fires T4 after Confirmed: Terminated") {
  ist_fixture f;
  f.respond(486);
  f.ack();
  f.clock.advance(5s);
  REQUIRE(f.ist.terminated_at() == 5000);
  REQUIRE(f.ist.failures().empty());
}

TEST_CASE("IST on 2xx from the TU enters Accepted with Timer L = 64*T1 (RFC 6026)") {
  ist_fixture f;
  f.clock.advance(50ms);
  f.respond(200);
  REQUIRE(f.ist.machine().current_state() == st::accepted);
  REQUIRE(f.ist.sent().size() == 1);
  REQUIRE(f.ist.deadline_of(tx::timer::l) == 32050);
  REQUIRE_FALSE(f.ist.armed(tx::timer::trying));
}

TEST_CASE("IST in Accepted absorbs INVITE retransmissions and never retransmits the 2xx") {
  ist_fixture f;
  f.respond(200);
  f.retransmit();
  f.clock.advance(20s);
  REQUIRE(f.ist.sent().size() == 1);
}

TEST_CASE("IST in Accepted sends further 2xx from the TU") {
  ist_fixture f;
  f.respond(200);
  f.clock.advance(500ms);
  f.respond(200);
  REQUIRE(f.ist.send_times() == ms_list({0, 0.5}));
  REQUIRE(f.ist.machine().current_state() == st::accepted);
}

TEST_CASE("IST in Accepted refuses a non-2xx from the TU") {
  ist_fixture f;
  f.respond(200);
  REQUIRE(f.respond(486).error == tx::error::invalid_state);
  REQUIRE(f.respond(180).error == tx::error::invalid_state);
}

TEST_CASE("IST in Accepted passes the ACK to the TU (RFC 6026)") {
  ist_fixture f;
  f.respond(200);
  f.ack();
  REQUIRE(f.ist.to_tu().size() == 2);
  REQUIRE(f.ist.to_tu()[1].msg.method_text() == "ACK");
  REQUIRE(f.ist.machine().current_state() == st::accepted);
}

TEST_CASE("IST Timer L fires: Terminated") {
  ist_fixture f;
  f.respond(200);
  f.clock.advance(32s);
  REQUIRE(f.ist.terminated_at() == 32000);
}

TEST_CASE("IST on TCP does not retransmit the final and waits for the ACK with Timer H") {
  ist_fixture f(true);
  f.respond(486);
  REQUIRE_FALSE(f.ist.armed(tx::timer::g));
  f.clock.advance(31s);
  REQUIRE(f.ist.sent().size() == 1);
  f.clock.advance(1s);
  REQUIRE(f.ist.terminated_at() == 32000);
}

TEST_CASE("IST on TCP terminates at once on the ACK (Timer I is zero)") {
  ist_fixture f(true);
  f.respond(486);
  f.ack();
  REQUIRE(f.ist.terminated_at() == 0);
}

TEST_CASE("IST on TCP keeps Timer L in Accepted") {
  ist_fixture f(true);
  f.respond(200);
  REQUIRE(f.ist.deadline_of(tx::timer::l) == 32000);
}

TEST_CASE("IST informs the TU of a transport error and keeps its state (RFC 6026)") {
  ist_fixture f;
  f.respond(486);
  f.ist.handle(tx::transport_failed{std::make_error_code(std::errc::network_unreachable)});
  REQUIRE(f.ist.failures().size() == 1);
  REQUIRE(f.ist.machine().current_state() == st::completed);
  REQUIRE_FALSE(f.ist.terminated());
}

TEST_CASE("IST refuses any response after a non-2xx final") {
  ist_fixture f;
  f.respond(486);
  REQUIRE(f.respond(200).error == tx::error::invalid_state);
}
