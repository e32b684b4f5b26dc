// invite_session, callee side: RFC 3261 §13.3 (answering, 2xx reliability of §13.3.1.4 as
// RFC 6026 leaves it to the TU), §9.2 (CANCEL), §15 (no BYE before the ACK).
#include "session/support/messages.hpp"
#include "sipkit/session/error.hpp"

using namespace sipkit::test;
using sipkit::session::error;
using st = invite_session::state;
using carrier = sipkit::session::offer_answer_state::carrier;
using invite_session_config = sipkit::session::invite_session_config;

namespace {

constexpr sipkit::transaction::transaction_id invite_tx{7, 1};

struct uas_call {
  explicit uas_call(std::string_view sdp = offer_sdp, bool reliable = false)
      : d(invite_session::make_uas(invite_at_bob(sdp), invite_tx,
                                   {std::string(bob_tag), std::string(bob_contact)},
                                   invite_session_config{{}, reliable})) {
    d.run(d.session().start(d.now()));
  }
  message sent_response(std::size_t i = 0) const {
    return d.last_of<invite_session::send_response>().at(i).response;
  }
  const invite_session::action_list& ack(std::string_view sdp = {}) {
    last_ack = request_from_alice("ACK", 314159, sdp);
    return d.run(d.session().on_ack(last_ack, d.now()));
  }
  message last_ack;  // alive while the test reads the actions that point to it
  session_driver d;
};

}  // namespace

TEST_CASE("UAS reports the INVITE's offer at start") {
  uas_call c;
  auto offers = c.d.last_of<invite_session::offer_received>();
  REQUIRE(offers.size() == 1);
  REQUIRE(offers[0].carrier == carrier::invite);
  REQUIRE(offers[0].message->body() == offer_sdp);
  REQUIRE(c.d.session().current_state() == st::incoming);
  uas_call none("");
  REQUIRE(none.d.last_of<invite_session::offer_needed>().size() == 1);
}

TEST_CASE("UAS basic call: 180 and 200 carry tag, Contact and Record-Route; the ACK confirms") {
  uas_call c;
  c.d.run(c.d.session().ring(180, {}, c.d.now()));
  auto ringing = c.sent_response();
  REQUIRE(start_line(ringing) == "SIP/2.0 180 Ringing");
  REQUIRE(ringing.to()->tag == bob_tag);
  REQUIRE(ringing.get(header_id::contact) == bob_contact);
  REQUIRE(ringing.get(header_id::record_route) == "<sip:ss1.example.com;lr>");
  REQUIRE(c.d.last_of<invite_session::send_response>()[0].tx == invite_tx);
  REQUIRE(c.d.session().current_state() == st::early);

  c.d.advance(1s);
  c.d.run(c.d.session().accept({.body = std::string(answer_sdp)}, c.d.now()));
  auto ok = c.sent_response();
  REQUIRE(start_line(ok) == "SIP/2.0 200 OK");
  REQUIRE(ok.to()->tag == bob_tag);
  REQUIRE(ok.get(header_id::contact) == bob_contact);
  REQUIRE(ok.get(header_id::record_route) == "<sip:ss1.example.com;lr>");
  REQUIRE(ok.get(header_id::cseq) == "314159 INVITE");
  REQUIRE(ok.body() == answer_sdp);
  REQUIRE(c.d.session().current_state() == st::accepted);
  REQUIRE(c.d.session().offer_answer().answer_carrier() == carrier::success);

  c.d.advance(100ms);
  c.ack();
  REQUIRE(c.d.session().current_state() == st::confirmed);
  auto changes = c.d.last_of<invite_session::state_changed>();
  REQUIRE(changes.size() == 1);
  REQUIRE(changes[0].from == st::accepted);
  REQUIRE(changes[0].cause->method() == sipkit::parser::method::ack);
}

TEST_CASE("UAS retransmits its 2xx on UDP at 500, 1500, 3500, 7500, 11500 ms ... capped at T2") {
  uas_call c;
  c.d.run(c.d.session().accept({.body = std::string(answer_sdp)}, c.d.now()));
  REQUIRE(c.d.session().timers().deadline(invite_session::timer::retransmit_2xx) ==
          sipkit::session::time_point{} + 500ms);
  c.d.advance_to(31999ms);
  REQUIRE(
      c.d.times_of<invite_session::send_response>() ==
      std::vector<long long>{0, 500, 1500, 3500, 7500, 11500, 15500, 19500, 23500, 27500, 31500});
  for (const auto& [at, r] : c.d.all<invite_session::send_response>()) {
    REQUIRE(r.tx == invite_tx);
    REQUIRE(r.response.status_code() == 200);
    REQUIRE(r.retransmission == (at != 0));
  }
}

TEST_CASE("UAS sends no 2xx retransmission on a reliable transport") {
  uas_call c(offer_sdp, true);
  c.d.run(c.d.session().accept({.body = std::string(answer_sdp)}, c.d.now()));
  c.d.advance_to(31999ms);
  REQUIRE(c.d.times_of<invite_session::send_response>() == std::vector<long long>{0});
  c.d.advance_to(32000ms);  // the ACK is still awaited for 64*T1
  REQUIRE(c.d.times_of<invite_session::send_request>() == std::vector<long long>{32000});
}

TEST_CASE("UAS without an ACK sends BYE at 64*T1 and ends with no_ack") {
  uas_call c;
  c.d.run(c.d.session().accept({.body = std::string(answer_sdp)}, c.d.now()));
  c.d.advance_to(32000ms);
  auto byes = c.d.all<invite_session::send_request>();
  REQUIRE(byes.size() == 1);
  REQUIRE(byes[0].first == 32000);
  const message& bye = byes[0].second.request;
  REQUIRE(start_line(bye) == "BYE sip:alice@pc33.atlanta.example.com SIP/2.0");
  REQUIRE(bye.get(header_id::route) == "<sip:ss1.example.com;lr>");
  REQUIRE(bye.get(header_id::from) == "Bob <sip:bob@biloxi.example.com>;tag=a6c85cf");
  REQUIRE(bye.get(header_id::to) == "Alice <sip:alice@atlanta.example.com>;tag=1928301774");
  REQUIRE(bye.get(header_id::cseq) == "1 BYE");
  REQUIRE(c.d.session().current_state() == st::terminating);
  REQUIRE_FALSE(c.d.session().next_deadline());
  // No more 2xx after the give-up.
  REQUIRE(c.d.times_of<invite_session::send_response>().back() == 31500);

  c.d.run(c.d.session().on_response(byes[0].second.id, bob_response(bye, 200), c.d.now()));
  auto ended = c.d.last_of<invite_session::ended>();
  REQUIRE(ended.size() == 1);
  REQUIRE(ended[0].status == 200);
  REQUIRE(ended[0].error == error::no_ack);
}

TEST_CASE("UAS: the ACK stops the 2xx retransmission") {
  uas_call c;
  c.d.run(c.d.session().accept({.body = std::string(answer_sdp)}, c.d.now()));
  c.d.advance_to(1600ms);
  c.ack();
  REQUIRE_FALSE(c.d.session().next_deadline());
  c.d.advance_to(60s);
  REQUIRE(c.d.times_of<invite_session::send_response>() == std::vector<long long>{0, 500, 1500});
  REQUIRE(c.d.all<invite_session::send_request>().empty());
  // A retransmitted ACK is absorbed.
  c.ack();
  REQUIRE(c.d.last().empty());
}

TEST_CASE("UAS: CANCEL gets 200, the INVITE 487, and the call ends cancelled") {
  uas_call c;
  c.d.run(c.d.session().ring(180, {}, c.d.now()));
  auto cancel_req = message::request("CANCEL", "sip:bob@biloxi.example.com");
  cancel_req.add(header_id::via, "SIP/2.0/UDP pc33.atlanta.example.com;branch=z9hG4bKnashds8");
  cancel_req.add(header_id::from, "Alice <sip:alice@atlanta.example.com>;tag=1928301774");
  cancel_req.add(header_id::to, "Bob <sip:bob@biloxi.example.com>");
  cancel_req.add(header_id::call_id, call_id);
  cancel_req.add(header_id::cseq, "314159 CANCEL");
  constexpr sipkit::transaction::transaction_id cancel_tx{9, 1};
  c.d.run(c.d.session().on_cancel(cancel_tx, cancel_req, c.d.now()));
  auto sent = c.d.last_of<invite_session::send_response>();
  REQUIRE(sent.size() == 2);
  REQUIRE(sent[0].tx == cancel_tx);
  REQUIRE(start_line(sent[0].response) == "SIP/2.0 200 OK");
  REQUIRE(sent[0].response.get(header_id::cseq) == "314159 CANCEL");
  REQUIRE(sent[1].tx == invite_tx);
  REQUIRE(start_line(sent[1].response) == "SIP/2.0 487 Request Terminated");
  REQUIRE(sent[1].response.to()->tag == bob_tag);
  auto ended = c.d.last_of<invite_session::ended>();
  REQUIRE(ended.size() == 1);
  REQUIRE(ended[0].status == 487);
  REQUIRE(ended[0].error == error::cancelled);
}

TEST_CASE("UAS hang-up before the ACK sends the BYE when the ACK comes") {
  uas_call c;
  c.d.run(c.d.session().accept({.body = std::string(answer_sdp)}, c.d.now()));
  c.d.run(c.d.session().hang_up(c.d.now()));
  REQUIRE(c.d.last_of<invite_session::send_request>().empty());
  REQUIRE(c.d.session().current_state() == st::accepted_bye_pending);
  c.d.advance_to(700ms);
  c.ack();
  auto byes = c.d.last_of<invite_session::send_request>();
  REQUIRE(byes.size() == 1);
  REQUIRE(start_line(byes[0].request) == "BYE sip:alice@pc33.atlanta.example.com SIP/2.0");
  REQUIRE(c.d.times_of<invite_session::send_request>() == std::vector<long long>{700});
  REQUIRE(c.d.session().current_state() == st::terminating);
}

TEST_CASE("UAS hang-up before answering rejects with 486") {
  uas_call c;
  c.d.run(c.d.session().hang_up(c.d.now()));
  auto sent = c.d.last_of<invite_session::send_response>();
  REQUIRE(sent.size() == 1);
  REQUIRE(start_line(sent[0].response) == "SIP/2.0 486 Busy Here");
  REQUIRE(c.d.last_of<invite_session::ended>()[0].error == error::rejected);
}

TEST_CASE("UAS: an offer in the 2xx is answered in the ACK") {
  uas_call c("");
  c.d.run(c.d.session().accept({.body = std::string(offer_sdp)}, c.d.now()));
  REQUIRE(c.sent_response().body() == offer_sdp);
  REQUIRE(c.d.session().offer_answer().current_state() ==
          sipkit::session::offer_answer_state::state::offer_sent);
  REQUIRE(c.d.session().offer_answer().offer_carrier() == carrier::success);
  c.ack(answer_sdp);
  auto answers = c.d.last_of<invite_session::answer_received>();
  REQUIRE(answers.size() == 1);
  REQUIRE(answers[0].carrier == carrier::ack);
  REQUIRE(c.d.session().offer_answer().remote_sdp() == answer_sdp);
}

TEST_CASE("UAS cannot accept an offer without an answer") {
  uas_call c;
  auto r = c.d.session().accept({}, c.d.now());
  REQUIRE(r.error == error::invalid_state);
  REQUIRE(r.empty());
  REQUIRE(c.d.session().current_state() == st::incoming);
}

TEST_CASE("UAS: a BYE before the final response gets 200 and the INVITE 487") {
  uas_call c;
  c.d.run(c.d.session().ring(180, {}, c.d.now()));
  c.d.run(c.d.session().on_request({11, 1}, request_from_alice("BYE", 314160), c.d.now()));
  auto sent = c.d.last_of<invite_session::send_response>();
  REQUIRE(sent.size() == 2);
  REQUIRE(start_line(sent[0].response) == "SIP/2.0 200 OK");
  REQUIRE(sent[0].response.get(header_id::cseq) == "314160 BYE");
  REQUIRE(sent[1].tx == invite_tx);
  REQUIRE(start_line(sent[1].response) == "SIP/2.0 487 Request Terminated");
  REQUIRE(c.d.last_of<invite_session::ended>()[0].error == error::session_ended);
}

TEST_CASE("UAS: give_up_ack sends the BYE at once and ends with no_ack") {
  uas_call c;
  c.d.run(c.d.session().accept({.body = std::string(answer_sdp)}, c.d.now()));
  c.d.advance_to(2s);
  c.d.run(c.d.session().give_up_ack(c.d.now()));
  REQUIRE(c.d.times_of<invite_session::send_request>() == std::vector<long long>{2000});
  REQUIRE_FALSE(c.d.session().next_deadline());
  auto bye = c.d.last_of<invite_session::send_request>()[0];
  c.d.run(c.d.session().on_response(bye.id, bob_response(bye.request, 200), c.d.now()));
  REQUIRE(c.d.last_of<invite_session::ended>()[0].error == error::no_ack);
}

TEST_CASE("UAS re-INVITE glare: the callee's re-INVITE gets 491 and the caller's too") {
  uas_call c;
  c.d.run(c.d.session().accept({.body = std::string(answer_sdp)}, c.d.now()));
  c.ack();
  c.d.run(c.d.session().reinvite({{.body = std::string(offer_sdp)}, 1s}, c.d.now()));
  auto re = c.d.last_of<invite_session::send_request>()[0];
  REQUIRE(start_line(re.request) == "INVITE sip:alice@pc33.atlanta.example.com SIP/2.0");
  REQUIRE(re.request.get(header_id::cseq) == "1 INVITE");
  REQUIRE(re.request.get(header_id::contact) == bob_contact);
  // Alice's re-INVITE crosses ours: 491 from us ...
  c.d.run(c.d.session().on_request({12, 1}, request_from_alice("INVITE", 314160, offer_sdp),
                                   c.d.now()));
  REQUIRE(start_line(c.d.last_of<invite_session::send_response>()[0].response) ==
          "SIP/2.0 491 Request Pending");
  // ... and 491 from her: ours goes again after the caller's 1 s.
  c.d.run(c.d.session().on_response(re.id, bob_response(re.request, 491), c.d.now()));
  REQUIRE(c.d.last_of<invite_session::request_completed>()[0].error == error::glare);
  c.d.advance(1s);
  auto again = c.d.all<invite_session::send_request>().back();
  REQUIRE(again.first == 1000);
  REQUIRE(again.second.request.get(header_id::cseq) == "2 INVITE");
}

TEST_CASE("UAS: an UPDATE offer while the INVITE's offer is unanswered gets 500 + Retry-After") {
  uas_call c;
  c.d.run(c.d.session().ring(180, {}, c.d.now()));
  c.d.run(c.d.session().on_request({13, 1}, request_from_alice("UPDATE", 314160, offer_sdp),
                                   c.d.now()));
  auto sent = c.d.last_of<invite_session::send_response>();
  REQUIRE(sent.size() == 1);
  REQUIRE(start_line(sent[0].response) == "SIP/2.0 500 Server Internal Error");
  REQUIRE(sent[0].response.get("Retry-After") == "1");
  REQUIRE(c.d.session().current_state() == st::early);
}

TEST_CASE("UAS: an UPDATE offer in the early dialog of an INVITE without offer is answered") {
  uas_call c("");
  c.d.run(c.d.session().ring(180, {}, c.d.now()));
  c.d.run(c.d.session().on_request({13, 1}, request_from_alice("UPDATE", 314160, offer_sdp),
                                   c.d.now()));
  REQUIRE(c.d.last_of<invite_session::offer_received>()[0].carrier == carrier::update);
  c.d.run(c.d.session().respond({13, 1}, 200, {.body = std::string(answer_sdp)}, c.d.now()));
  auto ok = c.d.last_of<invite_session::send_response>()[0].response;
  REQUIRE(start_line(ok) == "SIP/2.0 200 OK");
  REQUIRE(ok.get(header_id::cseq) == "314160 UPDATE");
  REQUIRE(ok.get(header_id::contact) == bob_contact);
  REQUIRE(ok.body() == answer_sdp);
  REQUIRE(c.d.session().current_state() == st::early);
  // The INVITE still completes, its 2xx without a new offer.
  c.d.run(c.d.session().accept({}, c.d.now()));
  c.ack();
  REQUIRE(c.d.session().current_state() == st::confirmed);
}

TEST_CASE("UAS: a CANCEL after the 2xx gets 200 and changes nothing (RFC 3261 9.2)") {
  uas_call c;
  c.d.run(c.d.session().accept({.body = std::string(answer_sdp)}, c.d.now()));
  auto cancel = message::request("CANCEL", "sip:bob@biloxi.example.com");
  cancel.add(header_id::via, "SIP/2.0/UDP pc33.atlanta.example.com;branch=z9hG4bKnashds8");
  cancel.add(header_id::from, "Alice <sip:alice@atlanta.example.com>;tag=1928301774");
  cancel.add(header_id::to, "Bob <sip:bob@biloxi.example.com>");
  cancel.add(header_id::call_id, call_id);
  cancel.add(header_id::cseq, "314159 CANCEL");
  c.d.run(c.d.session().on_cancel({9, 1}, cancel, c.d.now()));
  auto sent = c.d.last_of<invite_session::send_response>();
  REQUIRE(sent.size() == 1);
  REQUIRE(start_line(sent[0].response) == "SIP/2.0 200 OK");
  REQUIRE(c.d.session().current_state() == st::accepted);
}

TEST_CASE("UAS: once the INVITE is released a re-INVITE's 2xx is still sent again until its ACK") {
  uas_call c;
  c.d.run(c.d.session().accept({.body = std::string(answer_sdp)}, c.d.now()));
  c.ack();
  c.d.session().on_invite_transaction_ended();
  REQUIRE(c.d.session().invite().method_text().empty());
  c.d.advance_to(10s);
  const auto reinvite = request_from_alice("INVITE", 314160, offer_sdp);
  constexpr sipkit::transaction::transaction_id reinvite_tx{7, 2};
  c.d.run(c.d.session().on_request(reinvite_tx, reinvite, c.d.now()));
  REQUIRE(c.d.last_of<invite_session::request_received>().size() == 1);
  c.d.run(c.d.session().respond(reinvite_tx, 200, {.body = std::string(answer_sdp)}, c.d.now()));
  auto ok = c.d.last_of<invite_session::send_response>();
  REQUIRE(ok.size() == 1);
  REQUIRE(ok[0].tx == reinvite_tx);
  REQUIRE(ok[0].response.get(header_id::to) ==
          "Bob <sip:bob@biloxi.example.com>;tag=" + std::string(bob_tag));
  c.d.advance_to(11600ms);
  c.last_ack = request_from_alice("ACK", 314160);
  c.d.run(c.d.session().on_ack(c.last_ack, c.d.now()));
  REQUIRE_FALSE(c.d.session().next_deadline());
  c.d.advance_to(60s);
  // The initial 2xx at 0, the re-INVITE's at 10 s and again at 10.5 s and 11.5 s.
  REQUIRE(c.d.times_of<invite_session::send_response>() ==
          std::vector<long long>{0, 10000, 10500, 11500});
}
