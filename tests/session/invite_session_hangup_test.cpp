// invite_session::hang_up with the application's headers (an RFC 3326 Reason): they go in
// the CANCEL (RFC 3326 §2), also one that waits for a provisional (RFC 3261 §9.1), in the
// BYE that follows a 2xx crossing the CANCEL or waits for the ACK (§15), and in the 486.
// The CANCEL itself is built by the transaction layer (make_cancel) from the INVITE as the
// manager sent it and the action's headers: asserted here byte for byte.
#include <deque>
#include <string>
#include <utility>
#include <vector>

#include "session/support/messages.hpp"
#include "sipkit/session/error.hpp"
#include "sipkit/transaction/client_invite.hpp"

using namespace sipkit::test;
using sipkit::session::error;
using st = invite_session::state;

namespace {

constexpr std::string_view elsewhere = "SIP;cause=200;text=\"Call completed elsewhere\"";

sipkit::session::message_options hangup_headers() {
  sipkit::session::message_options o;
  o.headers = {{"Reason", std::string(elsewhere)}, {"X-Billing", "7"}};
  return o;
}

struct uac_call {
  uac_call() : d(invite_session::make_uac(alice_invite())) {
    d.run(d.session().start(d.now()));
    auto sent = d.last_of<invite_session::send_request>();
    REQUIRE(sent.size() == 1);
    invite_id = sent[0].id;
    invite = sent[0].request;
  }
  const invite_session::action_list& respond(int code, std::string_view sdp = {},
                                             std::string_view tag = bob_tag) {
    responses.push_back(bob_response(invite, code, sdp, tag));
    return d.run(d.session().on_response(invite_id, responses.back(), d.now()));
  }
  /// The CANCEL the transaction layer builds for `a`: the INVITE with the Via the
  /// manager gave it, and the action's headers.
  std::string cancel_text(const invite_session::cancel_invite& a) const {
    message sent = invite;
    sent.push_front(header_id::via, "SIP/2.0/UDP 192.0.2.1:5060;branch=z9hG4bKinv1");
    return sipkit::transaction::make_cancel(sent, a.headers).serialize();
  }
  std::deque<message> responses;
  session_driver d;
  sipkit::session::request_id invite_id = 0;
  message invite;
};

const std::string expected_cancel =
    "CANCEL sip:bob@biloxi.example.com SIP/2.0\r\n"
    "Via: SIP/2.0/UDP 192.0.2.1:5060;branch=z9hG4bKinv1\r\n"
    "Max-Forwards: 70\r\n"
    "From: Alice <sip:alice@atlanta.example.com>;tag=1928301774\r\n"
    "To: Bob <sip:bob@biloxi.example.com>\r\n"
    "Call-ID: a84b4c76e66710@pc33.atlanta.example.com\r\n"
    "CSeq: 314159 CANCEL\r\n"
    "Reason: SIP;cause=200;text=\"Call completed elsewhere\"\r\n"
    "X-Billing: 7\r\n"
    "Content-Length: 0\r\n"
    "\r\n";

constexpr sipkit::transaction::transaction_id invite_tx{7, 1};

std::size_t lines(const message& m, std::string_view name) {
  std::size_t n = 0;
  for (const auto& f : m.fields()) n += sipkit::parser::iequals(m.name_of(f), name) ? 1 : 0;
  return n;
}

}  // namespace

TEST_CASE("UAC hang-up with a Reason after a provisional: the CANCEL carries it at once") {
  uac_call c;
  c.respond(180);
  c.d.run(c.d.session().hang_up(hangup_headers(), c.d.now()));
  auto cancels = c.d.last_of<invite_session::cancel_invite>();
  REQUIRE(cancels.size() == 1);
  CHECK(cancels[0].invite == c.invite_id);
  CHECK(c.cancel_text(cancels[0]) == expected_cancel);
  CHECK(c.d.session().current_state() == st::cancelling);
}

TEST_CASE("UAC hang-up with a Reason before any provisional: the CANCEL waits and carries it") {
  uac_call c;
  c.d.run(c.d.session().hang_up(hangup_headers(), c.d.now()));
  REQUIRE(c.d.last_of<invite_session::cancel_invite>().empty());
  REQUIRE(c.d.session().current_state() == st::cancel_pending);
  c.d.advance(300ms);
  c.respond(100);
  auto cancels = c.d.last_of<invite_session::cancel_invite>();
  REQUIRE(cancels.size() == 1);
  CHECK(c.d.times_of<invite_session::cancel_invite>() == std::vector<long long>{300});
  CHECK(c.cancel_text(cancels[0]) == expected_cancel);
  c.respond(487);
  REQUIRE(c.d.last_of<invite_session::ended>().size() == 1);
  CHECK(c.d.last_of<invite_session::ended>()[0].error == error::cancelled);
}

TEST_CASE("UAC hang-up without headers: the CANCEL action carries none") {
  uac_call c;
  c.respond(180);
  c.d.run(c.d.session().hang_up(c.d.now()));
  auto cancels = c.d.last_of<invite_session::cancel_invite>();
  REQUIRE(cancels.size() == 1);
  CHECK(cancels[0].headers.empty());
}

TEST_CASE("A 2xx that crosses a CANCEL with a Reason: the BYE after the ACK carries it too") {
  uac_call c;
  c.respond(180);
  c.d.run(c.d.session().hang_up(hangup_headers(), c.d.now()));
  c.respond(200, answer_sdp);
  auto byes = c.d.last_of<invite_session::send_request>();
  REQUIRE(byes.size() == 1);
  const message& bye = byes[0].request;
  CHECK(start_line(bye) == "BYE sip:bob@192.0.2.4 SIP/2.0");
  CHECK(bye.get("Reason") == elsewhere);
  CHECK(bye.get("X-Billing") == "7");
  CHECK(lines(bye, "Reason") == 1);
}

TEST_CASE("Confirmed hang-up with a Reason: the BYE carries it") {
  uac_call c;
  c.respond(200, answer_sdp);
  c.d.run(c.d.session().hang_up(hangup_headers(), c.d.now()));
  auto byes = c.d.last_of<invite_session::send_request>();
  REQUIRE(byes.size() == 1);
  CHECK(byes[0].request.get("Reason") == elsewhere);
  CHECK(byes[0].request.get("X-Billing") == "7");
}

TEST_CASE("A second fork's 2xx after a CANCEL with a Reason: its BYE carries it too") {
  uac_call c;
  c.respond(180, {}, "fork1");
  c.respond(180, {}, "fork2");
  c.d.run(c.d.session().hang_up(hangup_headers(), c.d.now()));
  c.respond(200, answer_sdp, "fork1");
  REQUIRE(c.d.last_of<invite_session::send_request>().at(0).request.get("Reason") == elsewhere);
  c.d.advance(1s);
  c.respond(200, answer_sdp, "fork2");
  auto acks = c.d.last_of<invite_session::send_ack>();
  REQUIRE(acks.size() == 1);
  CHECK(acks[0].ack.get(header_id::to) == "Bob <sip:bob@biloxi.example.com>;tag=fork2");
  auto byes = c.d.last_of<invite_session::send_request>();
  REQUIRE(byes.size() == 1);
  CHECK(byes[0].request.serialize() ==
        "BYE sip:bob@192.0.2.4 SIP/2.0\r\n"
        "Route: <sip:ss1.example.com;lr>\r\n"
        "Max-Forwards: 70\r\n"
        "From: Alice <sip:alice@atlanta.example.com>;tag=1928301774\r\n"
        "To: Bob <sip:bob@biloxi.example.com>;tag=fork2\r\n"
        "Call-ID: a84b4c76e66710@pc33.atlanta.example.com\r\n"
        "CSeq: 314160 BYE\r\n"
        "Reason: SIP;cause=200;text=\"Call completed elsewhere\"\r\n"
        "X-Billing: 7\r\n"
        "Content-Length: 0\r\n"
        "\r\n");
}

TEST_CASE("Confirmed hang-up with a Reason: a fork answering afterwards gets it in its BYE") {
  uac_call c;
  c.respond(200, answer_sdp, "fork1");
  c.d.run(c.d.session().hang_up(hangup_headers(), c.d.now()));
  REQUIRE(c.d.last_of<invite_session::send_request>().at(0).request.get("Reason") == elsewhere);
  c.respond(200, answer_sdp, "fork2");
  auto byes = c.d.last_of<invite_session::send_request>();
  REQUIRE(byes.size() == 1);
  CHECK(byes[0].request.get(header_id::to) == "Bob <sip:bob@biloxi.example.com>;tag=fork2");
  CHECK(byes[0].request.get("Reason") == elsewhere);
  CHECK(byes[0].request.get("X-Billing") == "7");
  CHECK(lines(byes[0].request, "Reason") == 1);
}

TEST_CASE("A fork answering a live call gets a BYE without headers of its own") {
  uac_call c;
  c.respond(200, answer_sdp, "fork1");
  c.respond(200, answer_sdp, "fork2");
  auto byes = c.d.last_of<invite_session::send_request>();
  REQUIRE(byes.size() == 1);
  CHECK(byes[0].request.get(header_id::to) == "Bob <sip:bob@biloxi.example.com>;tag=fork2");
  CHECK(lines(byes[0].request, "Reason") == 0);
  CHECK(lines(byes[0].request, "X-Billing") == 0);
}

TEST_CASE("UAS hang-up with a Reason before the ACK: the BYE sent at the ACK carries it") {
  session_driver d(invite_session::make_uas(invite_at_bob(), invite_tx,
                                            {std::string(bob_tag), std::string(bob_contact)}));
  d.run(d.session().start(d.now()));
  d.run(d.session().accept({.body = std::string(answer_sdp)}, d.now()));
  d.run(d.session().hang_up(hangup_headers(), d.now()));
  REQUIRE(d.session().current_state() == st::accepted_bye_pending);
  REQUIRE(d.last_of<invite_session::send_request>().empty());
  auto ack = request_from_alice("ACK", 314159);
  d.run(d.session().on_ack(ack, d.now()));
  auto byes = d.last_of<invite_session::send_request>();
  REQUIRE(byes.size() == 1);
  CHECK(byes[0].request.get("Reason") == elsewhere);
  CHECK(byes[0].request.get("X-Billing") == "7");
}

TEST_CASE("UAS hang-up with a Reason before answering: the 486 carries it") {
  session_driver d(invite_session::make_uas(invite_at_bob(), invite_tx,
                                            {std::string(bob_tag), std::string(bob_contact)}));
  d.run(d.session().start(d.now()));
  d.run(d.session().hang_up(hangup_headers(), d.now()));
  auto sent = d.last_of<invite_session::send_response>();
  REQUIRE(sent.size() == 1);
  CHECK(start_line(sent[0].response) == "SIP/2.0 486 Busy Here");
  CHECK(sent[0].response.get("Reason") == elsewhere);
  CHECK(sent[0].response.get("X-Billing") == "7");
}
