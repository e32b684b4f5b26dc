// invite_session, caller side: RFC 3261 §13.2 (INVITE, ACK for 2xx, forks), §9.1 (CANCEL).
#include <deque>

#include "session/support/messages.hpp"
#include "sipkit/session/error.hpp"
#include "sipkit/session/reliable_provisional.hpp"
#include "sipkit/transaction/error.hpp"

using namespace sipkit::test;
using sipkit::session::error;
using st = invite_session::state;
using carrier = sipkit::session::offer_answer_state::carrier;

namespace {

struct uac_call {
  uac_call(std::string_view sdp = offer_sdp) : d(invite_session::make_uac(alice_invite(sdp))) {
    d.run(d.session().start(d.now()));
    auto sent = d.last_of<invite_session::send_request>();
    REQUIRE(sent.size() == 1);
    invite_id = sent[0].id;
    invite = sent[0].request;
  }
  const invite_session::action_list& respond(int code, std::string_view sdp = {},
                                             std::string_view tag = bob_tag) {
    // Kept: the actions' `cause` points into the response (valid while it lives).
    responses.push_back(bob_response(invite, code, sdp, tag));
    return d.run(d.session().on_response(invite_id, responses.back(), d.now()));
  }
  std::deque<message> responses;
  session_driver d;
  sipkit::session::request_id invite_id = 0;
  message invite;
};

}  // namespace

TEST_CASE("UAC sends the INVITE as the caller built it, without Via") {
  uac_call c;
  REQUIRE(start_line(c.invite) == "INVITE sip:bob@biloxi.example.com SIP/2.0");
  REQUIRE(c.invite.count(header_id::via) == 0);
  REQUIRE(c.invite.get(header_id::cseq) == "314159 INVITE");
  REQUIRE(c.invite.body() == offer_sdp);
  REQUIRE(c.d.last_of<invite_session::send_request>()[0].next_hop_uri.empty());
  REQUIRE(c.d.session().current_state() == st::calling);
  REQUIRE(c.d.session().offer_answer().current_state() ==
          sipkit::session::offer_answer_state::state::offer_sent);
}

TEST_CASE("UAC basic call: 180 makes an early dialog, 200 is ACKed with the exact ACK") {
  uac_call c;
  c.respond(100);
  REQUIRE(c.d.session().current_state() == st::proceeding);
  c.respond(180);
  REQUIRE(c.d.session().current_state() == st::early);
  auto changes = c.d.last_of<invite_session::state_changed>();
  REQUIRE(changes.size() == 1);
  REQUIRE(changes[0].from == st::proceeding);
  REQUIRE(changes[0].to == st::early);
  REQUIRE(c.d.session().early_dialogs().size() == 1);

  c.d.advance(2s);
  c.respond(200, answer_sdp);
  auto acks = c.d.last_of<invite_session::send_ack>();
  REQUIRE(acks.size() == 1);
  const message& ack = acks[0].ack;
  REQUIRE(start_line(ack) == "ACK sip:bob@192.0.2.4 SIP/2.0");
  REQUIRE(ack.get(header_id::cseq) == "314159 ACK");
  REQUIRE(ack.get(header_id::route) == "<sip:ss1.example.com;lr>");
  REQUIRE(ack.get(header_id::from) == "Alice <sip:alice@atlanta.example.com>;tag=1928301774");
  REQUIRE(ack.get(header_id::to) == "Bob <sip:bob@biloxi.example.com>;tag=a6c85cf");
  REQUIRE(ack.call_id() == call_id);
  REQUIRE(ack.count(header_id::via) == 0);
  REQUIRE(acks[0].next_hop_uri == "sip:ss1.example.com;lr");
  REQUIRE_FALSE(acks[0].retransmission);
  REQUIRE(c.d.session().current_state() == st::confirmed);
  auto answers = c.d.last_of<invite_session::answer_received>();
  REQUIRE(answers.size() == 1);
  REQUIRE(answers[0].carrier == carrier::success);
  REQUIRE(c.d.session().offer_answer().remote_sdp() == answer_sdp);
  // The ACK goes before the application hears of the confirmed state.
  REQUIRE(std::holds_alternative<invite_session::send_ack>(c.d.last().items.front()));
}

TEST_CASE("UAC sends the same ACK again for a retransmission of the 2xx") {
  uac_call c;
  c.respond(200, answer_sdp);
  const message first = c.d.last_of<invite_session::send_ack>()[0].ack;
  c.d.advance(500ms);
  c.respond(200, answer_sdp);
  auto again = c.d.last_of<invite_session::send_ack>();
  REQUIRE(again.size() == 1);
  REQUIRE(again[0].retransmission);
  REQUIRE(again[0].ack.serialize() == first.serialize());
  REQUIRE(c.d.last_of<invite_session::state_changed>().empty());
  // After the ICT is gone (Timer M), the binding hands the 2xx over as stray.
  auto r = bob_response(c.invite, 200, answer_sdp);
  c.d.run(c.d.session().on_stray_response(r, c.d.now()));
  REQUIRE(c.d.last_of<invite_session::send_ack>().size() == 1);
}

TEST_CASE("UAC hang-up after a provisional cancels; the 487 ends the call as cancelled") {
  uac_call c;
  c.respond(180);
  c.d.run(c.d.session().hang_up(c.d.now()));
  auto cancels = c.d.last_of<invite_session::cancel_invite>();
  REQUIRE(cancels.size() == 1);
  REQUIRE(cancels[0].invite == c.invite_id);
  REQUIRE(c.d.session().current_state() == st::cancelling);
  c.respond(487);
  auto ended = c.d.last_of<invite_session::ended>();
  REQUIRE(ended.size() == 1);
  REQUIRE(ended[0].status == 487);
  REQUIRE(ended[0].error == error::cancelled);
  REQUIRE(c.d.session().current_state() == st::terminated);
}

TEST_CASE("UAC hang-up before any provisional sends the CANCEL on the first 1xx") {
  uac_call c;
  c.d.run(c.d.session().hang_up(c.d.now()));
  REQUIRE(c.d.last_of<invite_session::cancel_invite>().empty());
  REQUIRE(c.d.session().current_state() == st::cancel_pending);
  c.d.advance(300ms);
  c.respond(100);
  REQUIRE(c.d.last_of<invite_session::cancel_invite>().size() == 1);
  REQUIRE(c.d.times_of<invite_session::cancel_invite>() == std::vector<long long>{300});
  REQUIRE(c.d.session().current_state() == st::cancelling);
}

TEST_CASE("UAC ACKs and BYEs a 2xx that crosses its CANCEL") {
  uac_call c;
  c.respond(180);
  c.d.run(c.d.session().hang_up(c.d.now()));
  c.respond(200, answer_sdp);
  const auto& items = c.d.last().items;
  REQUIRE(items.size() >= 2);
  auto* ack = std::get_if<invite_session::send_ack>(&items[0]);
  auto* bye = std::get_if<invite_session::send_request>(&items[1]);
  REQUIRE(ack);
  REQUIRE(bye);
  REQUIRE(start_line(ack->ack) == "ACK sip:bob@192.0.2.4 SIP/2.0");
  REQUIRE(start_line(bye->request) == "BYE sip:bob@192.0.2.4 SIP/2.0");
  REQUIRE(bye->request.get(header_id::cseq) == "314160 BYE");
  REQUIRE(bye->request.get(header_id::route) == "<sip:ss1.example.com;lr>");
  REQUIRE(c.d.session().current_state() == st::terminating);
  auto ok = bob_response(bye->request, 200);
  c.d.run(c.d.session().on_response(bye->id, ok, c.d.now()));
  auto ended = c.d.last_of<invite_session::ended>();
  REQUIRE(ended.size() == 1);
  REQUIRE(ended[0].error == error::cancelled);
}

TEST_CASE("UAC ACKs and BYEs the 2xx of a second fork, once") {
  uac_call c;
  c.respond(180, {}, "fork1");
  c.respond(180, {}, "fork2");
  REQUIRE(c.d.session().early_dialogs().size() == 2);
  c.respond(200, answer_sdp, "fork1");
  REQUIRE(c.d.session().current_state() == st::confirmed);
  REQUIRE(c.d.session().early_dialogs().empty());
  REQUIRE(c.d.session().current_dialog()->id().remote_tag == "fork1");

  c.respond(200, answer_sdp, "fork2");
  auto acks = c.d.last_of<invite_session::send_ack>();
  auto byes = c.d.last_of<invite_session::send_request>();
  REQUIRE(acks.size() == 1);
  REQUIRE(byes.size() == 1);
  REQUIRE(acks[0].ack.get(header_id::to) == "Bob <sip:bob@biloxi.example.com>;tag=fork2");
  REQUIRE(acks[0].ack.get(header_id::cseq) == "314159 ACK");
  REQUIRE(start_line(byes[0].request) == "BYE sip:bob@192.0.2.4 SIP/2.0");
  REQUIRE(byes[0].request.get(header_id::to) == "Bob <sip:bob@biloxi.example.com>;tag=fork2");
  REQUIRE(byes[0].request.get(header_id::cseq) == "314160 BYE");
  REQUIRE(c.d.last_of<invite_session::state_changed>().empty());
  REQUIRE(c.d.session().current_dialog()->id().remote_tag == "fork1");

  // Its retransmission is ACKed again, with no second BYE.
  c.respond(200, answer_sdp, "fork2");
  REQUIRE(c.d.last_of<invite_session::send_ack>().size() == 1);
  REQUIRE(c.d.last_of<invite_session::send_ack>()[0].retransmission);
  REQUIRE(c.d.last_of<invite_session::send_request>().empty());
  // The call itself is untouched.
  REQUIRE(c.d.session().current_state() == st::confirmed);
}

TEST_CASE("UAC: a 486 ends the call as rejected") {
  uac_call c;
  c.respond(180);
  c.respond(486);
  auto ended = c.d.last_of<invite_session::ended>();
  REQUIRE(ended.size() == 1);
  REQUIRE(ended[0].status == 486);
  REQUIRE(ended[0].error == error::rejected);
  REQUIRE(ended[0].cause->status_code() == 486);
  REQUIRE(c.d.session().early_dialogs().empty());
}

TEST_CASE("UAC: an INVITE timeout ends the call with 408") {
  uac_call c;
  c.d.advance(32s);
  c.d.run(
      c.d.session().on_request_failed(c.invite_id, sipkit::transaction::error::timeout, c.d.now()));
  auto ended = c.d.last_of<invite_session::ended>();
  REQUIRE(ended.size() == 1);
  REQUIRE(ended[0].status == 408);
  REQUIRE(ended[0].error == sipkit::transaction::error::timeout);
}

TEST_CASE("UAC: an offer in the 2xx is answered in the ACK") {
  uac_call c("");
  c.respond(200, offer_sdp);
  REQUIRE(c.d.last_of<invite_session::send_ack>().empty());
  auto offers = c.d.last_of<invite_session::offer_received>();
  REQUIRE(offers.size() == 1);
  REQUIRE(offers[0].carrier == carrier::success);
  REQUIRE(c.d.session().current_state() == st::confirmed);
  c.d.run(c.d.session().answer(answer_sdp, c.d.now()));
  auto acks = c.d.last_of<invite_session::send_ack>();
  REQUIRE(acks.size() == 1);
  REQUIRE(acks[0].ack.body() == answer_sdp);
  REQUIRE(acks[0].ack.get(header_id::content_type) == "application/sdp");
  REQUIRE(acks[0].ack.get(header_id::cseq) == "314159 ACK");
  REQUIRE(c.d.session().offer_answer().current_state() ==
          sipkit::session::offer_answer_state::state::answered);
  REQUIRE(c.d.session().offer_answer().answer_carrier() == carrier::ack);
}

TEST_CASE("UAC: a reliable 183 with SDP answers the INVITE's offer") {
  uac_call c;
  auto r = bob_response(c.invite, 183, answer_sdp);
  r.add(header_id::require, "100rel");
  r.add("RSeq", "1");
  c.d.run(c.d.session().on_response(c.invite_id, r, c.d.now()));
  auto answers = c.d.last_of<invite_session::answer_received>();
  REQUIRE(answers.size() == 1);
  REQUIRE(answers[0].carrier == carrier::reliable_provisional);
  REQUIRE(c.d.last_of<invite_session::provisional_received>().size() == 1);
  // An unreliable 183 would not have: its SDP is a preview (§13.2.1).
  uac_call u;
  u.respond(183, answer_sdp);
  REQUIRE(u.d.last_of<invite_session::answer_received>().empty());
}

namespace {

/// Bob's reliable 183 (RFC 3262 §7.1: Require: 100rel, RSeq) with `sdp` as its body.
message reliable_183(const message& invite, std::string_view sdp, std::string_view rseq = "1",
                     std::string_view tag = bob_tag) {
  auto r = bob_response(invite, 183, sdp, tag);
  r.add(header_id::require, "100rel");
  r.add("RSeq", rseq);
  return r;
}

/// The PRACK of `provisional` as the 100rel module builds it in its early dialog, with
/// `answer` as its body (none when empty), sent through the session.
const invite_session::action_list& send_prack(uac_call& c, const message& provisional,
                                              std::string_view answer,
                                              std::string_view tag = bob_tag) {
  sipkit::session::reliable_provisional_uac rp;
  auto* d = c.d.session().dialog_for_module(tag);
  REQUIRE(d);
  auto r = rp.on_provisional(provisional, *d);
  REQUIRE(r.prack);
  if (!answer.empty()) r.prack->set_body(answer, "application/sdp");
  return c.d.run(c.d.session().send_built(std::move(*r.prack), c.d.now()));
}

}  // namespace

TEST_CASE("UAC: an offer in a reliable 183 (INVITE without SDP) is answered in the PRACK") {
  uac_call c("");
  c.d.advance(1s);
  const auto ringing = reliable_183(c.invite, offer_sdp);
  c.d.run(c.d.session().on_response(c.invite_id, ringing, c.d.now()));
  auto offers = c.d.last_of<invite_session::offer_received>();
  REQUIRE(offers.size() == 1);
  REQUIRE(offers[0].carrier == carrier::reliable_provisional);
  REQUIRE(c.d.last_of<invite_session::provisional_received>().size() == 1);
  REQUIRE(c.d.session().offer_answer().current_state() ==
          sipkit::session::offer_answer_state::state::offer_received);

  send_prack(c, ringing, answer_sdp);
  auto sent = c.d.last_of<invite_session::send_request>();
  REQUIRE(sent.size() == 1);
  REQUIRE(sent[0].request.serialize() ==
          "PRACK sip:bob@192.0.2.4 SIP/2.0\r\n"
          "Route: <sip:ss1.example.com;lr>\r\n"
          "Max-Forwards: 70\r\n"
          "From: Alice <sip:alice@atlanta.example.com>;tag=1928301774\r\n"
          "To: Bob <sip:bob@biloxi.example.com>;tag=a6c85cf\r\n"
          "Call-ID: a84b4c76e66710@pc33.atlanta.example.com\r\n"
          "CSeq: 314160 PRACK\r\n"
          "RAck: 1 314159 INVITE\r\n"
          "Content-Type: application/sdp\r\n"
          "Content-Length: 33\r\n"
          "\r\n"
          "v=0\r\no=bob 2 2 IN IP4 192.0.2.4\r\n");
  const auto& oa = c.d.session().offer_answer();
  REQUIRE(oa.current_state() == sipkit::session::offer_answer_state::state::answered);
  REQUIRE(oa.answer_carrier() == carrier::prack);
  REQUIRE(oa.local_sdp() == answer_sdp);
  REQUIRE(oa.remote_sdp() == offer_sdp);
}

TEST_CASE("UAC: after a PRACK answered the 183's offer, the 2xx's SDP is no second offer") {
  uac_call c("");
  const auto ringing = reliable_183(c.invite, offer_sdp);
  c.d.run(c.d.session().on_response(c.invite_id, ringing, c.d.now()));
  send_prack(c, ringing, answer_sdp);
  auto prack = c.d.last_of<invite_session::send_request>().at(0);
  c.d.advance(500ms);
  auto prack_ok = bob_response(prack.request, 200);
  c.d.run(c.d.session().on_response(prack.id, prack_ok, c.d.now()));
  REQUIRE(c.d.last_of<invite_session::request_completed>().size() == 1);

  // RFC 3262 §5 / RFC 3261 §13.2.1: the exchange is complete; the 2xx repeats the
  // description, the ACK carries nothing and nobody is asked for an answer.
  c.d.advance(2s);
  c.respond(200, offer_sdp);
  REQUIRE(c.d.last_of<invite_session::offer_received>().empty());
  REQUIRE(c.d.last_of<invite_session::answer_received>().empty());
  auto acks = c.d.last_of<invite_session::send_ack>();
  REQUIRE(acks.size() == 1);
  REQUIRE(acks[0].ack.body().empty());
  REQUIRE(acks[0].ack.get(header_id::content_type) == std::nullopt);
  REQUIRE(acks[0].ack.get(header_id::cseq) == "314159 ACK");
  REQUIRE(c.d.session().current_state() == st::confirmed);
  const auto& oa = c.d.session().offer_answer();
  REQUIRE(oa.current_state() == sipkit::session::offer_answer_state::state::answered);
  REQUIRE(oa.answer_carrier() == carrier::prack);
  REQUIRE(oa.local_sdp() == answer_sdp);
  REQUIRE(oa.remote_sdp() == offer_sdp);
  // answer() has nothing to answer.
  REQUIRE(c.d.session().answer(answer_sdp, c.d.now()).error == error::invalid_state);
}

namespace {

// Two forks of a delayed-offer INVITE, each offering in its reliable 183.
constexpr std::string_view fork1_offer = "v=0\r\no=bob 7 7 IN IP4 192.0.2.4\r\n";
constexpr std::string_view fork2_offer = "v=0\r\no=carol 9 9 IN IP4 192.0.2.5\r\n";
constexpr std::string_view fork1_answer = "v=0\r\no=alice 3 3 IN IP4 192.0.2.101\r\n";
constexpr std::string_view fork2_answer = "v=0\r\no=alice 4 4 IN IP4 192.0.2.101\r\n";

std::string prack_to(std::string_view tag, std::string_view body) {
  return "PRACK sip:bob@192.0.2.4 SIP/2.0\r\n"
         "Route: <sip:ss1.example.com;lr>\r\n"
         "Max-Forwards: 70\r\n"
         "From: Alice <sip:alice@atlanta.example.com>;tag=1928301774\r\n"
         "To: Bob <sip:bob@biloxi.example.com>;tag=" +
         std::string(tag) +
         "\r\n"
         "Call-ID: a84b4c76e66710@pc33.atlanta.example.com\r\n"
         "CSeq: 314160 PRACK\r\n"
         "RAck: 1 314159 INVITE\r\n"
         "Content-Type: application/sdp\r\n"
         "Content-Length: " +
         std::to_string(body.size()) + "\r\n\r\n" + std::string(body);
}

/// fork1 and fork2 each send their reliable 183 with their offer, in that order; returns
/// the two 183s (the PRACKs refer to them), kept in c.responses like respond()'s, so that
/// the events' messages stay valid.
std::pair<const message&, const message&> both_forks_offer(uac_call& c) {
  for (std::string_view tag : {"fork1", "fork2"}) {
    c.responses.push_back(
        reliable_183(c.invite, tag == "fork1" ? fork1_offer : fork2_offer, "1", tag));
    c.d.run(c.d.session().on_response(c.invite_id, c.responses.back(), c.d.now()));
  }
  const auto n = c.responses.size();
  return {c.responses[n - 2], c.responses[n - 1]};
}

}  // namespace

TEST_CASE("UAC: offers in the reliable 183s of two forks are each answered in that fork's PRACK") {
  using oas = sipkit::session::offer_answer_state::state;
  uac_call c("");
  const auto r1 = reliable_183(c.invite, fork1_offer, "1", "fork1");
  const auto r2 = reliable_183(c.invite, fork2_offer, "1", "fork2");
  c.d.run(c.d.session().on_response(c.invite_id, r1, c.d.now()));
  auto offers = c.d.last_of<invite_session::offer_received>();
  REQUIRE(offers.size() == 1);
  REQUIRE(offers[0].message->to()->tag == "fork1");
  c.d.advance(100ms);
  c.d.run(c.d.session().on_response(c.invite_id, r2, c.d.now()));
  // RFC 3261 §13.2.1, RFC 3262 §5: offer/answer is per dialog; fork2's offer is its own.
  offers = c.d.last_of<invite_session::offer_received>();
  REQUIRE(offers.size() == 1);
  REQUIRE(offers[0].carrier == carrier::reliable_provisional);
  REQUIRE(offers[0].message->to()->tag == "fork2");
  REQUIRE(offers[0].message->body() == fork2_offer);
  REQUIRE(c.d.session().offer_answer("fork1").current_state() == oas::offer_received);
  REQUIRE(c.d.session().offer_answer("fork1").remote_sdp() == fork1_offer);
  REQUIRE(c.d.session().offer_answer("fork2").current_state() == oas::offer_received);
  REQUIRE(c.d.session().offer_answer("fork2").remote_sdp() == fork2_offer);

  // The second fork's PRACK first: it answers fork2's offer, fork1's stays open.
  send_prack(c, r2, fork2_answer, "fork2");
  auto sent = c.d.last_of<invite_session::send_request>();
  REQUIRE(sent.size() == 1);
  REQUIRE(sent[0].request.serialize() == prack_to("fork2", fork2_answer));
  REQUIRE(c.d.session().offer_answer("fork2").current_state() == oas::answered);
  REQUIRE(c.d.session().offer_answer("fork2").answer_carrier() == carrier::prack);
  REQUIRE(c.d.session().offer_answer("fork2").local_sdp() == fork2_answer);
  REQUIRE(c.d.session().offer_answer("fork1").current_state() == oas::offer_received);

  send_prack(c, r1, fork1_answer, "fork1");
  sent = c.d.last_of<invite_session::send_request>();
  REQUIRE(sent.size() == 1);
  REQUIRE(sent[0].request.serialize() == prack_to("fork1", fork1_answer));
  REQUIRE(c.d.session().offer_answer("fork1").current_state() == oas::answered);
  REQUIRE(c.d.session().offer_answer("fork1").local_sdp() == fork1_answer);
  REQUIRE(c.d.session().offer_answer("fork1").remote_sdp() == fork1_offer);
  REQUIRE(c.d.session().offer_answer("fork2").local_sdp() == fork2_answer);
}

TEST_CASE("UAC: a PRACK without a body refuses only its own fork's offer") {
  using oas = sipkit::session::offer_answer_state::state;
  uac_call c("");
  const auto [r1, r2] = both_forks_offer(c);
  send_prack(c, r1, {}, "fork1");
  REQUIRE(c.d.last_of<invite_session::send_request>().at(0).request.body().empty());
  REQUIRE(c.d.session().offer_answer("fork1").current_state() == oas::no_offer);
  REQUIRE(c.d.session().offer_answer("fork2").current_state() == oas::offer_received);
  send_prack(c, r2, fork2_answer, "fork2");
  REQUIRE(c.d.last_of<invite_session::send_request>().at(0).request.body() == fork2_answer);
  REQUIRE(c.d.session().offer_answer("fork2").current_state() == oas::answered);
}

TEST_CASE("UAC: the 2xx of the second offering fork keeps its exchange; its SDP is no offer") {
  using oas = sipkit::session::offer_answer_state::state;
  uac_call c("");
  const auto [r1, r2] = both_forks_offer(c);
  send_prack(c, r1, fork1_answer, "fork1");
  send_prack(c, r2, fork2_answer, "fork2");

  c.d.advance(2s);
  c.respond(200, fork2_offer, "fork2");
  REQUIRE(c.d.last_of<invite_session::offer_received>().empty());
  REQUIRE(c.d.last_of<invite_session::answer_received>().empty());
  auto acks = c.d.last_of<invite_session::send_ack>();
  REQUIRE(acks.size() == 1);
  REQUIRE(acks[0].ack.get(header_id::to) == "Bob <sip:bob@biloxi.example.com>;tag=fork2");
  REQUIRE(acks[0].ack.body().empty());
  REQUIRE(c.d.session().current_state() == st::confirmed);
  REQUIRE(c.d.session().current_dialog()->id().remote_tag == "fork2");
  REQUIRE(c.d.session().early_dialogs().empty());
  const auto& oa = c.d.session().offer_answer();
  REQUIRE(oa.current_state() == oas::answered);
  REQUIRE(oa.answer_carrier() == carrier::prack);
  REQUIRE(oa.local_sdp() == fork2_answer);
  REQUIRE(oa.remote_sdp() == fork2_offer);
  REQUIRE(c.d.session().answer(fork2_answer, c.d.now()).error == error::invalid_state);

  // fork1's late 2xx is ACKed and BYEd as before; the call's exchange stays fork2's.
  c.respond(200, fork1_offer, "fork1");
  REQUIRE(c.d.last_of<invite_session::send_ack>().size() == 1);
  REQUIRE(c.d.last_of<invite_session::send_request>().size() == 1);
  REQUIRE(c.d.last_of<invite_session::offer_received>().empty());
  REQUIRE(c.d.session().offer_answer().remote_sdp() == fork2_offer);
}

TEST_CASE("UAC: two forks' reliable 183s answer our offer each in its dialog; the 2xx picks one") {
  using oas = sipkit::session::offer_answer_state::state;
  uac_call c;  // the INVITE offers
  const auto r1 = reliable_183(c.invite, fork1_offer, "1", "fork1");
  const auto r2 = reliable_183(c.invite, fork2_offer, "1", "fork2");
  c.d.run(c.d.session().on_response(c.invite_id, r1, c.d.now()));
  REQUIRE(c.d.last_of<invite_session::answer_received>().size() == 1);
  c.d.run(c.d.session().on_response(c.invite_id, r2, c.d.now()));
  auto answers = c.d.last_of<invite_session::answer_received>();
  REQUIRE(answers.size() == 1);
  REQUIRE(answers[0].carrier == carrier::reliable_provisional);
  REQUIRE(answers[0].message->to()->tag == "fork2");
  REQUIRE(c.d.session().offer_answer("fork1").remote_sdp() == fork1_offer);
  REQUIRE(c.d.session().offer_answer("fork2").remote_sdp() == fork2_offer);
  REQUIRE(c.d.session().offer_answer("fork2").local_sdp() == offer_sdp);
  // The first early dialog's exchange is what offer_answer() shows before the 2xx.
  REQUIRE(c.d.session().offer_answer().remote_sdp() == fork1_offer);

  c.respond(200, fork2_offer, "fork2");
  REQUIRE(c.d.last_of<invite_session::answer_received>().empty());
  REQUIRE(c.d.last_of<invite_session::send_ack>().at(0).ack.body().empty());
  const auto& oa = c.d.session().offer_answer();
  REQUIRE(oa.current_state() == oas::answered);
  REQUIRE(oa.answer_carrier() == carrier::reliable_provisional);
  REQUIRE(oa.local_sdp() == offer_sdp);
  REQUIRE(oa.remote_sdp() == fork2_offer);
}

TEST_CASE("UAC: a fork that answers only in its 2xx answers the INVITE's offer, not a repeat") {
  using oas = sipkit::session::offer_answer_state::state;
  uac_call c;  // the INVITE offers
  // fork1 answers in a reliable 183; fork2 rings without SDP, then answers in its 2xx.
  c.d.run(c.d.session().on_response(c.invite_id, reliable_183(c.invite, fork1_offer, "1", "fork1"),
                                    c.d.now()));
  REQUIRE(c.d.last_of<invite_session::answer_received>().size() == 1);
  c.respond(180, {}, "fork2");
  REQUIRE(c.d.session().offer_answer("fork2").current_state() == oas::offer_sent);
  c.respond(200, fork2_offer, "fork2");
  // RFC 3261 §13.2.1: fork2's dialog had no exchange yet; its 2xx carries the answer.
  auto answers = c.d.last_of<invite_session::answer_received>();
  REQUIRE(answers.size() == 1);
  REQUIRE(answers[0].carrier == carrier::success);
  REQUIRE(answers[0].message->to()->tag == "fork2");
  const auto& oa = c.d.session().offer_answer();
  REQUIRE(oa.current_state() == oas::answered);
  REQUIRE(oa.local_sdp() == offer_sdp);
  REQUIRE(oa.remote_sdp() == fork2_offer);
}

TEST_CASE("UAC: an UPDATE offer in an early dialog meets that fork's exchange only") {
  using oas = sipkit::session::offer_answer_state::state;
  uac_call c("");
  const auto [r1, r2] = both_forks_offer(c);
  send_prack(c, r2, fork2_answer, "fork2");  // fork2 negotiated, fork1's offer still open

  // fork1: its own offer awaits our answer, so a new one is 500 + Retry-After (RFC 3311
  // §5.2).
  c.d.run(c.d.session().on_request({8, 1}, request_from_bob("UPDATE", 1, fork1_offer, "fork1"),
                                   c.d.now()));
  auto busy = c.d.last_of<invite_session::send_response>().at(0).response;
  REQUIRE(start_line(busy) == "SIP/2.0 500 Server Internal Error");
  REQUIRE(busy.get("Retry-After") == "1");
  REQUIRE(c.d.last_of<invite_session::offer_received>().empty());

  // fork2: its exchange is complete, so the UPDATE offers and its 2xx answers.
  const auto update = request_from_bob("UPDATE", 1, fork2_offer, "fork2");
  c.d.run(c.d.session().on_request({9, 1}, update, c.d.now()));
  auto offers = c.d.last_of<invite_session::offer_received>();
  REQUIRE(offers.size() == 1);
  REQUIRE(offers[0].carrier == carrier::update);
  REQUIRE(offers[0].message->from()->tag == "fork2");
  c.d.run(c.d.session().respond({9, 1}, 200, {.body = std::string(fork2_answer)}, c.d.now()));
  REQUIRE(start_line(c.d.last_of<invite_session::send_response>().at(0).response) ==
          "SIP/2.0 200 OK");
  REQUIRE(c.d.session().offer_answer("fork2").answer_carrier() == carrier::update);
  REQUIRE(c.d.session().offer_answer("fork1").current_state() == oas::offer_received);
}

TEST_CASE("UAC: a PRACK without a body refuses the reliable 183's offer") {
  uac_call c("");
  const auto ringing = reliable_183(c.invite, offer_sdp);
  c.d.run(c.d.session().on_response(c.invite_id, ringing, c.d.now()));
  send_prack(c, ringing, {});
  auto sent = c.d.last_of<invite_session::send_request>();
  REQUIRE(sent.size() == 1);
  REQUIRE(sent[0].request.body().empty());
  REQUIRE(sent[0].request.get("RAck") == "1 314159 INVITE");
  REQUIRE(c.d.session().offer_answer().current_state() ==
          sipkit::session::offer_answer_state::state::no_offer);
  REQUIRE_FALSE(c.d.session().offer_answer().negotiated());
}

TEST_CASE("UAC: a PRACK for a 183 that answered our INVITE's offer carries no offer/answer") {
  uac_call c;
  const auto ringing = reliable_183(c.invite, answer_sdp);
  c.d.run(c.d.session().on_response(c.invite_id, ringing, c.d.now()));
  REQUIRE(c.d.session().offer_answer().answer_carrier() == carrier::reliable_provisional);
  send_prack(c, ringing, {});
  REQUIRE(c.d.last_of<invite_session::send_request>().size() == 1);
  REQUIRE(c.d.session().offer_answer().current_state() ==
          sipkit::session::offer_answer_state::state::answered);
  REQUIRE(c.d.session().offer_answer().answer_carrier() == carrier::reliable_provisional);
}

TEST_CASE("UAC: retry sends the INVITE again with a new CSeq and the given headers") {
  uac_call c;
  auto challenge = bob_response(c.invite, 407);
  c.d.run(c.d.session().retry(c.invite_id, {{"Proxy-Authorization", "Digest username=\"alice\""}},
                              c.d.now()));
  auto sent = c.d.last_of<invite_session::send_request>();
  REQUIRE(sent.size() == 1);
  REQUIRE(sent[0].id != c.invite_id);
  REQUIRE(start_line(sent[0].request) == "INVITE sip:bob@biloxi.example.com SIP/2.0");
  REQUIRE(sent[0].request.get(header_id::cseq) == "314160 INVITE");
  REQUIRE(sent[0].request.get(header_id::proxy_authorization) == "Digest username=\"alice\"");
  REQUIRE(sent[0].request.body() == offer_sdp);
  REQUIRE(c.d.session().current_state() == st::calling);
  // The old id is gone; the 200 to the new one is ACKed with the new CSeq.
  REQUIRE(c.d.session().retry(c.invite_id, {}, c.d.now()).error == error::invalid_state);
  auto ok = bob_response(sent[0].request, 200, answer_sdp);
  c.d.run(c.d.session().on_response(sent[0].id, ok, c.d.now()));
  REQUIRE(c.d.last_of<invite_session::send_ack>()[0].ack.get(header_id::cseq) == "314160 ACK");
}

TEST_CASE("UAC hang-up before answering an offer in the 2xx still ACKs before the BYE") {
  uac_call c("");
  c.respond(200, offer_sdp);
  c.d.run(c.d.session().hang_up(c.d.now()));
  const auto& items = c.d.last().items;
  REQUIRE(std::holds_alternative<invite_session::send_ack>(items.at(0)));
  auto* bye = std::get_if<invite_session::send_request>(&items.at(1));
  REQUIRE(bye);
  REQUIRE(bye->request.get(header_id::cseq) == "314160 BYE");
}

TEST_CASE("UAC: a 2xx without Contact cannot make a dialog and is dropped") {
  uac_call c;
  auto ok = bob_response(c.invite, 200, answer_sdp);
  ok.remove(header_id::contact);
  c.d.run(c.d.session().on_response(c.invite_id, ok, c.d.now()));
  REQUIRE(c.d.last().empty());
  REQUIRE(c.d.session().current_state() == st::calling);
}

TEST_CASE("UAC: a BYE that times out ends the call with 408") {
  uac_call c;
  c.respond(200, answer_sdp);
  c.d.run(c.d.session().hang_up(c.d.now()));
  auto bye = c.d.last_of<invite_session::send_request>()[0];
  c.d.advance(32s);
  c.d.run(c.d.session().on_request_failed(bye.id, sipkit::transaction::error::timeout, c.d.now()));
  auto ended = c.d.last_of<invite_session::ended>();
  REQUIRE(ended.size() == 1);
  REQUIRE(ended[0].status == 408);
  REQUIRE(ended[0].error == sipkit::transaction::error::timeout);
}

TEST_CASE("UAC: once the INVITE transaction is over the INVITE is released, the ACK kept") {
  uac_call c;
  c.d.session().on_invite_transaction_ended();  // too early: still calling
  REQUIRE(c.d.session().invite().method() == sipkit::parser::method::invite);
  c.respond(200, answer_sdp);
  c.d.session().on_invite_transaction_ended();
  REQUIRE(c.d.session().invite().method_text().empty());
  // A stray retransmission of the 2xx is still ACKed; requests still use the dialog.
  auto ok = bob_response(c.invite, 200, answer_sdp);
  c.d.run(c.d.session().on_stray_response(ok, c.d.now()));
  REQUIRE(c.d.last_of<invite_session::send_ack>().size() == 1);
  c.d.run(c.d.session().hang_up(c.d.now()));
  REQUIRE(c.d.last_of<invite_session::send_request>()[0].request.get(header_id::cseq) ==
          "314160 BYE");
}

TEST_CASE("UAC: sent_request gives the INVITE while it is pending, nothing after its 2xx") {
  uac_call c;
  const message* sent = c.d.session().sent_request(c.invite_id);
  REQUIRE(sent);
  REQUIRE(sent->serialize() == c.invite.serialize());
  REQUIRE_FALSE(c.d.session().sent_request(c.invite_id + 1));
  c.respond(200, answer_sdp);
  REQUIRE_FALSE(c.d.session().sent_request(c.invite_id));
}

TEST_CASE("UAC: after the INVITE is released a stray 2xx gets the same ACK, byte for byte") {
  uac_call c;
  c.respond(180);
  c.respond(200, answer_sdp);
  const std::string first = c.d.last_of<invite_session::send_ack>().at(0).ack.serialize();
  c.d.advance(32s);  // Timer M (64*T1)
  c.d.session().on_invite_transaction_ended();
  REQUIRE(c.d.session().early_dialogs().empty());
  auto ok = bob_response(c.invite, 200, answer_sdp);
  c.d.run(c.d.session().on_stray_response(ok, c.d.now()));
  auto again = c.d.last_of<invite_session::send_ack>();
  REQUIRE(again.size() == 1);
  REQUIRE(again[0].retransmission);
  REQUIRE(again[0].ack.serialize() == first);
  REQUIRE(again[0].next_hop_uri == "sip:ss1.example.com;lr");
}
