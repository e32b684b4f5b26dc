// invite_session inside the dialog: BYE (§15), re-INVITE and glare (§14), UPDATE
// (RFC 3311), generic requests, CSeq order (§12.2.2) and 481/408 (§12.2.1.2).
#include "session/support/messages.hpp"
#include "sipkit/session/error.hpp"

using namespace sipkit::test;
using sipkit::session::error;
using st = invite_session::state;
using rs = invite_session::reinvite_state;
using carrier = sipkit::session::offer_answer_state::carrier;
using oas = sipkit::session::offer_answer_state::state;

namespace {

constexpr std::string_view hold_sdp = "v=0\r\no=alice 1 2 IN IP4 192.0.2.101\r\na=sendonly\r\n";

/// Alice's side of a confirmed call (she called Bob).
struct confirmed_call {
  confirmed_call() : d(invite_session::make_uac(alice_invite())) {
    d.run(d.session().start(d.now()));
    invite = d.last_of<invite_session::send_request>()[0].request;
    const auto id = d.last_of<invite_session::send_request>()[0].id;
    d.run(d.session().on_response(id, bob_response(invite, 200, answer_sdp), d.now()));
    REQUIRE(d.session().current_state() == st::confirmed);
    d.clear();
  }
  /// Sends a request and returns it with its id.
  invite_session::send_request sent() const {
    auto s = d.last_of<invite_session::send_request>();
    REQUIRE(s.size() == 1);
    return s[0];
  }
  session_driver d;
  message invite;
};

/// Alice's side of a call in an early dialog (Bob sent 180).
struct early_call {
  early_call() : d(invite_session::make_uac(alice_invite())) {
    d.run(d.session().start(d.now()));
    invite = d.last_of<invite_session::send_request>()[0].request;
    id = d.last_of<invite_session::send_request>()[0].id;
  }
  session_driver d;
  message invite;
  sipkit::session::request_id id = 0;
};

}  // namespace

TEST_CASE("An incoming BYE gets 200 and ends the session") {
  confirmed_call c;
  const auto bye = request_from_bob("BYE", 1);
  c.d.run(c.d.session().on_request({3, 1}, bye, c.d.now()));
  auto sent = c.d.last_of<invite_session::send_response>();
  REQUIRE(sent.size() == 1);
  REQUIRE(sent[0].tx == sipkit::transaction::transaction_id{3, 1});
  REQUIRE(start_line(sent[0].response) == "SIP/2.0 200 OK");
  REQUIRE(sent[0].response.get(header_id::cseq) == "1 BYE");
  auto ended = c.d.last_of<invite_session::ended>();
  REQUIRE(ended.size() == 1);
  REQUIRE(ended[0].error == error::session_ended);
  REQUIRE(ended[0].cause->method() == sipkit::parser::method::bye);
  REQUIRE(c.d.session().current_state() == st::terminated);
}

TEST_CASE("Our BYE goes to the remote target with the next CSeq; its 200 ends the session") {
  confirmed_call c;
  c.d.run(c.d.session().hang_up(c.d.now()));
  auto bye = c.sent();
  REQUIRE(start_line(bye.request) == "BYE sip:bob@192.0.2.4 SIP/2.0");
  REQUIRE(bye.request.get(header_id::cseq) == "314160 BYE");
  REQUIRE(bye.request.get(header_id::route) == "<sip:ss1.example.com;lr>");
  REQUIRE(bye.next_hop_uri == "sip:ss1.example.com;lr");
  REQUIRE(c.d.session().current_state() == st::terminating);
  c.d.run(c.d.session().on_response(bye.id, bob_response(bye.request, 200), c.d.now()));
  auto ended = c.d.last_of<invite_session::ended>();
  REQUIRE(ended.size() == 1);
  REQUIRE(ended[0].status == 200);
  REQUIRE_FALSE(ended[0].error);
}

TEST_CASE("re-INVITE: offer out, answer in the 2xx, ACK with the re-INVITE's CSeq") {
  confirmed_call c;
  c.d.run(c.d.session().reinvite({{.body = std::string(hold_sdp)}, {}}, c.d.now()));
  auto re = c.sent();
  REQUIRE(start_line(re.request) == "INVITE sip:bob@192.0.2.4 SIP/2.0");
  REQUIRE(re.request.get(header_id::cseq) == "314160 INVITE");
  REQUIRE(re.request.get(header_id::contact) == alice_contact);
  REQUIRE(re.request.body() == hold_sdp);
  REQUIRE(c.d.session().current_reinvite_state() == rs::sent);
  REQUIRE(c.d.session().offer_answer().offer_carrier() == carrier::reinvite);

  c.d.run(c.d.session().on_response(re.id, bob_response(re.request, 200, answer_sdp), c.d.now()));
  auto acks = c.d.last_of<invite_session::send_ack>();
  REQUIRE(acks.size() == 1);
  REQUIRE(acks[0].ack.get(header_id::cseq) == "314160 ACK");
  auto done = c.d.last_of<invite_session::request_completed>();
  REQUIRE(done.size() == 1);
  REQUIRE(done[0].id == re.id);
  REQUIRE_FALSE(done[0].error);
  REQUIRE(c.d.session().current_reinvite_state() == rs::idle);
  REQUIRE(c.d.session().offer_answer().local_sdp() == hold_sdp);
  // Its 2xx again (same id, the ICT passes it on): the same ACK.
  c.d.run(c.d.session().on_response(re.id, bob_response(re.request, 200, answer_sdp), c.d.now()));
  REQUIRE(c.d.last_of<invite_session::send_ack>().size() == 1);
  REQUIRE(c.d.last_of<invite_session::send_ack>()[0].ack.get(header_id::cseq) == "314160 ACK");
}

TEST_CASE("re-INVITE glare: the peer's re-INVITE crossing ours gets 491") {
  confirmed_call c;
  c.d.run(c.d.session().reinvite({{.body = std::string(hold_sdp)}, {}}, c.d.now()));
  c.d.run(c.d.session().on_request({5, 1}, request_from_bob("INVITE", 1, answer_sdp), c.d.now()));
  auto sent = c.d.last_of<invite_session::send_response>();
  REQUIRE(sent.size() == 1);
  REQUIRE(start_line(sent[0].response) == "SIP/2.0 491 Request Pending");
  REQUIRE(c.d.last_of<invite_session::request_received>().empty());
  REQUIRE(c.d.session().current_reinvite_state() == rs::sent);
}

TEST_CASE("re-INVITE glare: a 491 to ours retries after the caller's delay, exactly") {
  confirmed_call c;
  c.d.advance_to(10s);
  c.d.run(c.d.session().reinvite({{.body = std::string(hold_sdp)}, 2500ms}, c.d.now()));
  auto re = c.sent();
  c.d.run(c.d.session().on_response(re.id, bob_response(re.request, 491), c.d.now()));
  auto done = c.d.last_of<invite_session::request_completed>();
  REQUIRE(done.size() == 1);
  REQUIRE(done[0].error == error::glare);
  REQUIRE(c.d.session().current_reinvite_state() == rs::glare_wait);
  REQUIRE(c.d.session().offer_answer().current_state() == oas::answered);
  REQUIRE(c.d.session().timers().deadline(invite_session::timer::glare_retry) ==
          sipkit::session::time_point{} + 12500ms);
  c.d.advance_to(12499ms);
  REQUIRE(c.d.times_of<invite_session::send_request>() == std::vector<long long>{10000});
  c.d.advance_to(12500ms);
  REQUIRE(c.d.times_of<invite_session::send_request>() == std::vector<long long>{10000, 12500});
  auto again = c.d.all<invite_session::send_request>().back().second;
  REQUIRE(start_line(again.request) == "INVITE sip:bob@192.0.2.4 SIP/2.0");
  REQUIRE(again.request.get(header_id::cseq) == "314161 INVITE");
  REQUIRE(again.request.body() == hold_sdp);
  REQUIRE(c.d.session().current_reinvite_state() == rs::sent);
}

TEST_CASE("An incoming re-INVITE is answered by the application; its 2xx is retransmitted") {
  confirmed_call c;
  constexpr sipkit::transaction::transaction_id re_tx{5, 1};
  c.d.run(c.d.session().on_request(re_tx, request_from_bob("INVITE", 1, hold_sdp), c.d.now()));
  REQUIRE(c.d.last_of<invite_session::offer_received>().size() == 1);
  auto got = c.d.last_of<invite_session::request_received>();
  REQUIRE(got.size() == 1);
  REQUIRE(got[0].tx == re_tx);
  REQUIRE(c.d.session().current_reinvite_state() == rs::received);
  // A second one before our answer: 500 with Retry-After (§14.2).
  c.d.run(c.d.session().on_request({6, 1}, request_from_bob("INVITE", 2, hold_sdp), c.d.now()));
  auto busy = c.d.last_of<invite_session::send_response>();
  REQUIRE(start_line(busy[0].response) == "SIP/2.0 500 Server Internal Error");
  REQUIRE(busy[0].response.get("Retry-After") == "1");

  c.d.run(c.d.session().respond(re_tx, 200, {.body = std::string(offer_sdp)}, c.d.now()));
  auto ok = c.d.last_of<invite_session::send_response>();
  REQUIRE(ok.size() == 1);
  REQUIRE(ok[0].tx == re_tx);
  REQUIRE(start_line(ok[0].response) == "SIP/2.0 200 OK");
  REQUIRE(ok[0].response.get(header_id::contact) == alice_contact);
  REQUIRE(ok[0].response.get(header_id::cseq) == "1 INVITE");
  REQUIRE(c.d.session().current_reinvite_state() == rs::awaiting_ack);
  c.d.advance_to(1600ms);
  REQUIRE(c.d.times_of<invite_session::send_response>() == std::vector<long long>{0, 0, 500, 1500});
  c.d.run(c.d.session().on_ack(request_from_bob("ACK", 1), c.d.now()));
  REQUIRE(c.d.session().current_reinvite_state() == rs::idle);
  REQUIRE_FALSE(c.d.session().next_deadline());
}

TEST_CASE("UPDATE with an offer in an early dialog, answered in its 2xx") {
  early_call c;
  auto r = bob_response(c.invite, 183, answer_sdp);
  r.add(header_id::require, "100rel");
  r.add("RSeq", "1");
  c.d.run(c.d.session().on_response(c.id, r, c.d.now()));
  REQUIRE(c.d.session().current_state() == st::early);
  REQUIRE(c.d.session().offer_answer().negotiated());

  c.d.run(c.d.session().update({.body = std::string(hold_sdp)}, c.d.now()));
  auto sent = c.d.last_of<invite_session::send_request>();
  REQUIRE(sent.size() == 1);
  const message& update = sent[0].request;
  REQUIRE(start_line(update) == "UPDATE sip:bob@192.0.2.4 SIP/2.0");
  REQUIRE(update.get(header_id::cseq) == "314160 UPDATE");
  REQUIRE(update.get(header_id::to) == "Bob <sip:bob@biloxi.example.com>;tag=a6c85cf");
  REQUIRE(update.get(header_id::contact) == alice_contact);
  REQUIRE(update.body() == hold_sdp);
  REQUIRE(c.d.session().offer_answer().current_state() == oas::offer_sent);
  // A second offer while this one is pending is refused (RFC 3311 §5.1).
  REQUIRE(c.d.session().update({.body = std::string(hold_sdp)}, c.d.now()).error ==
          error::request_pending);

  c.d.run(c.d.session().on_response(sent[0].id, bob_response(update, 200, answer_sdp), c.d.now()));
  auto answers = c.d.last_of<invite_session::answer_received>();
  REQUIRE(answers.size() == 1);
  REQUIRE(answers[0].carrier == carrier::update);
  REQUIRE(c.d.last_of<invite_session::request_completed>()[0].method ==
          sipkit::parser::method::update);
  REQUIRE(c.d.session().offer_answer().current_state() == oas::answered);
  REQUIRE(c.d.session().current_state() == st::early);
}

TEST_CASE("An incoming UPDATE offer over our pending offer gets 491, over the peer's 500") {
  confirmed_call c;
  c.d.run(c.d.session().update({.body = std::string(hold_sdp)}, c.d.now()));
  c.d.run(c.d.session().on_request({8, 1}, request_from_bob("UPDATE", 1, answer_sdp), c.d.now()));
  REQUIRE(start_line(c.d.last_of<invite_session::send_response>()[0].response) ==
          "SIP/2.0 491 Request Pending");

  confirmed_call p;
  p.d.run(p.d.session().on_request({8, 1}, request_from_bob("UPDATE", 1, hold_sdp), p.d.now()));
  REQUIRE(p.d.last_of<invite_session::offer_received>().size() == 1);
  p.d.run(p.d.session().on_request({9, 1}, request_from_bob("UPDATE", 2, hold_sdp), p.d.now()));
  auto busy = p.d.last_of<invite_session::send_response>()[0].response;
  REQUIRE(start_line(busy) == "SIP/2.0 500 Server Internal Error");
  REQUIRE(busy.get("Retry-After") == "1");
  // The first one answered: 200 with our Contact and the answer.
  p.d.run(p.d.session().respond({8, 1}, 200, {.body = std::string(offer_sdp)}, p.d.now()));
  auto ok = p.d.last_of<invite_session::send_response>()[0].response;
  REQUIRE(start_line(ok) == "SIP/2.0 200 OK");
  REQUIRE(ok.get(header_id::contact) == alice_contact);
  REQUIRE(ok.body() == offer_sdp);
  REQUIRE(p.d.session().offer_answer().current_state() == oas::answered);
}

TEST_CASE("A 481 to an in-dialog request ends the session") {
  confirmed_call c;
  c.d.run(c.d.session().request(
      "INFO", {.body = "Signal=1", .content_type = "application/dtmf-relay"}, c.d.now()));
  auto info = c.sent();
  REQUIRE(start_line(info.request) == "INFO sip:bob@192.0.2.4 SIP/2.0");
  REQUIRE(info.request.get(header_id::cseq) == "314160 INFO");
  REQUIRE(info.request.get(header_id::content_type) == "application/dtmf-relay");
  c.d.run(c.d.session().on_response(info.id, bob_response(info.request, 481), c.d.now()));
  auto done = c.d.last_of<invite_session::request_completed>();
  REQUIRE(done.size() == 1);
  REQUIRE(done[0].error == error::rejected);
  auto ended = c.d.last_of<invite_session::ended>();
  REQUIRE(ended.size() == 1);
  REQUIRE(ended[0].status == 481);
  REQUIRE(ended[0].error == error::session_ended);
}

TEST_CASE("A request with a lower CSeq than the last one gets 500") {
  confirmed_call c;
  c.d.run(c.d.session().on_request({3, 1}, request_from_bob("INFO", 10), c.d.now()));
  REQUIRE(c.d.last_of<invite_session::request_received>().size() == 1);
  c.d.run(c.d.session().on_request({4, 1}, request_from_bob("INFO", 9), c.d.now()));
  auto sent = c.d.last_of<invite_session::send_response>();
  REQUIRE(sent.size() == 1);
  REQUIRE(sent[0].tx == sipkit::transaction::transaction_id{4, 1});
  REQUIRE(start_line(sent[0].response) == "SIP/2.0 500 Server Internal Error");
  REQUIRE(c.d.last_of<invite_session::request_received>().empty());
}

TEST_CASE("An incoming INFO is reported and answered by the application") {
  confirmed_call c;
  auto info = request_from_bob("INFO", 1);
  info.set_body("Signal=5", "application/dtmf-relay");
  c.d.run(c.d.session().on_request({3, 1}, info, c.d.now()));
  auto got = c.d.last_of<invite_session::request_received>();
  REQUIRE(got.size() == 1);
  REQUIRE(got[0].request->body() == "Signal=5");
  REQUIRE(c.d.session().offer_answer().current_state() == oas::answered);  // not an offer
  c.d.run(c.d.session().respond({3, 1}, 200, {}, c.d.now()));
  auto ok = c.d.last_of<invite_session::send_response>();
  REQUIRE(start_line(ok[0].response) == "SIP/2.0 200 OK");
  REQUIRE(ok[0].response.get(header_id::cseq) == "1 INFO");
  REQUIRE(c.d.session().respond({3, 1}, 200, {}, c.d.now()).error == error::invalid_state);
}

TEST_CASE("A request from an unknown dialog gets 481") {
  confirmed_call c;
  c.d.run(c.d.session().on_request({3, 1}, request_from_bob("INFO", 1, {}, "other"), c.d.now()));
  REQUIRE(start_line(c.d.last_of<invite_session::send_response>()[0].response) ==
          "SIP/2.0 481 Call/Transaction Does Not Exist");
}

TEST_CASE("A re-INVITE without an offer: our 2xx offers and the ACK answers") {
  confirmed_call c;
  c.d.run(c.d.session().on_request({5, 1}, request_from_bob("INVITE", 1), c.d.now()));
  REQUIRE(c.d.last_of<invite_session::offer_needed>().size() == 1);
  c.d.run(c.d.session().respond({5, 1}, 200, {.body = std::string(offer_sdp)}, c.d.now()));
  REQUIRE(c.d.session().offer_answer().current_state() == oas::offer_sent);
  REQUIRE(c.d.session().offer_answer().offer_carrier() == carrier::success);
  const auto ack = request_from_bob("ACK", 1, answer_sdp);
  c.d.run(c.d.session().on_ack(ack, c.d.now()));
  auto answers = c.d.last_of<invite_session::answer_received>();
  REQUIRE(answers.size() == 1);
  REQUIRE(answers[0].carrier == carrier::ack);
  REQUIRE(c.d.session().current_reinvite_state() == rs::idle);
}

TEST_CASE("A 408 to our re-INVITE ends the session (RFC 3261 14.1)") {
  confirmed_call c;
  c.d.run(c.d.session().reinvite({{.body = std::string(hold_sdp)}, {}}, c.d.now()));
  auto re = c.sent();
  c.d.run(c.d.session().on_response(re.id, bob_response(re.request, 408), c.d.now()));
  REQUIRE(c.d.last_of<invite_session::request_completed>()[0].error == error::rejected);
  auto ended = c.d.last_of<invite_session::ended>();
  REQUIRE(ended.size() == 1);
  REQUIRE(ended[0].status == 408);
  REQUIRE(ended[0].error == error::session_ended);
}

TEST_CASE("A non-2xx to our re-INVITE keeps the session and the previous descriptions") {
  confirmed_call c;
  c.d.run(c.d.session().reinvite({{.body = std::string(hold_sdp)}, {}}, c.d.now()));
  auto re = c.sent();
  c.d.run(c.d.session().on_response(re.id, bob_response(re.request, 488), c.d.now()));
  REQUIRE(c.d.last_of<invite_session::ended>().empty());
  REQUIRE(c.d.session().current_state() == st::confirmed);
  REQUIRE(c.d.session().offer_answer().local_sdp() == offer_sdp);
  REQUIRE(c.d.session().offer_answer().current_state() == oas::answered);
}

TEST_CASE("A PRACK goes to the early dialog of the fork named") {
  early_call c;
  c.d.run(c.d.session().on_response(c.id, bob_response(c.invite, 180, {}, "fork1"), c.d.now()));
  c.d.run(c.d.session().on_response(c.id, bob_response(c.invite, 180, {}, "fork2"), c.d.now()));
  c.d.run(c.d.session().request("PRACK", {.headers = {{"RAck", "1 314159 INVITE"}}}, c.d.now(),
                                "fork2"));
  auto prack = c.d.last_of<invite_session::send_request>();
  REQUIRE(prack.size() == 1);
  REQUIRE(start_line(prack[0].request) == "PRACK sip:bob@192.0.2.4 SIP/2.0");
  REQUIRE(prack[0].request.get(header_id::to) == "Bob <sip:bob@biloxi.example.com>;tag=fork2");
  REQUIRE(prack[0].request.get(header_id::cseq) == "314160 PRACK");
  REQUIRE(prack[0].request.get("RAck") == "1 314159 INVITE");
  REQUIRE(c.d.session().request("PRACK", {}, c.d.now(), "nobody").error == error::invalid_state);
}

TEST_CASE("A module's request built on dialog_for_module takes the dialog's next CSeq") {
  confirmed_call c;
  auto* d = c.d.session().dialog_for_module();
  REQUIRE(d);
  REQUIRE(d->id().remote_tag == bob_tag);
  auto refer = d->make_request("REFER");
  refer.add("Refer-To", "<sip:carol@chicago.example.com>");
  c.d.run(c.d.session().send_built(std::move(refer), c.d.now()));
  auto sent = c.sent();
  REQUIRE(start_line(sent.request) == "REFER sip:bob@192.0.2.4 SIP/2.0");
  REQUIRE(sent.request.get(header_id::cseq) == "314160 REFER");
  REQUIRE(sent.request.get("Refer-To") == "<sip:carol@chicago.example.com>");
  REQUIRE(sent.next_hop_uri == "sip:ss1.example.com;lr");
  // The session's own next request follows it.
  c.d.run(c.d.session().request("INFO", {}, c.d.now()));
  REQUIRE(c.sent().request.get(header_id::cseq) == "314161 INFO");
  // Its 202 completes it like a request() of the session's own.
  c.d.clear();
  c.d.run(c.d.session().on_response(sent.id, bob_response(sent.request, 202), c.d.now()));
  auto done = c.d.last_of<invite_session::request_completed>();
  REQUIRE(done.size() == 1);
  REQUIRE(done[0].id == sent.id);
  REQUIRE(done[0].method == sipkit::parser::method::refer);
  REQUIRE_FALSE(done[0].error);
  REQUIRE(c.d.session().current_state() == st::confirmed);
}

TEST_CASE("A module's PRACK goes to the early dialog of its fork; a refresh UPDATE is allowed") {
  early_call c;
  c.d.run(c.d.session().on_response(c.id, bob_response(c.invite, 180, {}, "fork1"), c.d.now()));
  c.d.run(c.d.session().on_response(c.id, bob_response(c.invite, 180, {}, "fork2"), c.d.now()));
  REQUIRE_FALSE(c.d.session().dialog_for_module("nobody"));
  auto* fork2 = c.d.session().dialog_for_module("fork2");
  REQUIRE(fork2);
  auto prack = fork2->make_request("PRACK");
  prack.add("RAck", "1 314159 INVITE");
  c.d.run(c.d.session().send_built(std::move(prack), c.d.now()));
  auto sent = c.d.last_of<invite_session::send_request>();
  REQUIRE(sent.size() == 1);
  REQUIRE(sent[0].request.get(header_id::to) == "Bob <sip:bob@biloxi.example.com>;tag=fork2");
  REQUIRE(sent[0].request.get(header_id::cseq) == "314160 PRACK");
  REQUIRE(sent[0].next_hop_uri == "sip:ss1.example.com;lr");  // the 180's Record-Route

  // An UPDATE without a body refreshes (RFC 4028 §10); with one it must be update()'s.
  auto refresh = c.d.session().dialog_for_module("fork1")->make_request("UPDATE");
  c.d.run(c.d.session().send_built(refresh, c.d.now()));
  REQUIRE(c.d.last_of<invite_session::send_request>().at(0).request.get(header_id::cseq) ==
          "314160 UPDATE");
  auto offer = c.d.session().dialog_for_module("fork1")->make_request("UPDATE");
  offer.set_body(offer_sdp, "application/sdp");
  REQUIRE(c.d.session().send_built(offer, c.d.now()).error == error::invalid_state);
}

TEST_CASE("send_built refuses the session's own methods, unknown dialogs and an ended session") {
  confirmed_call c;
  auto* d = c.d.session().dialog_for_module();
  REQUIRE(c.d.session().send_built(d->make_request("BYE"), c.d.now()).error ==
          error::invalid_state);
  REQUIRE(c.d.session().send_built(d->make_request("INVITE"), c.d.now()).error ==
          error::invalid_state);
  auto stranger = d->make_request("INFO");
  stranger.set(header_id::to, "Bob <sip:bob@biloxi.example.com>;tag=other");
  REQUIRE(c.d.session().send_built(stranger, c.d.now()).error == error::invalid_state);
  const auto bye = request_from_bob("BYE", 1);
  c.d.run(c.d.session().on_request({3, 1}, bye, c.d.now()));
  REQUIRE(c.d.session().current_state() == st::terminated);
  REQUIRE_FALSE(c.d.session().dialog_for_module());
}
