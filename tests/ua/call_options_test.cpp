// The open call API (options.hpp): every call operation takes options, and what the
// application asked for is exactly what the peer receives. Two user_agents on loopback;
// the callee reads what arrived through call::invite() and the events' messages, and a
// raw peer checks the bytes where a proxy or a challenge is involved.
#include <catch2/catch.hpp>
#include <optional>
#include <string>
#include <vector>

#include "sipkit/sdp/session.hpp"
#include "ua/raw_peer.hpp"
#include "ua/ua_test_support.hpp"

using namespace sipkit;
using namespace sipkit::test;
using parser::header_id;
using parser::method;
using ua::call;
using ua::call_state;
using ua::errc;

namespace {

/// A softphone's own offer: its ports, ICE candidates and SRTP key, nothing like
/// ua_config::media's.
const std::string app_offer =
    "v=0\r\n"
    "o=soft 1234 1 IN IP4 127.0.0.1\r\n"
    "s=softphone\r\n"
    "c=IN IP4 127.0.0.1\r\n"
    "t=0 0\r\n"
    "m=audio 50000 RTP/SAVP 0\r\n"
    "a=rtpmap:0 PCMU/8000\r\n"
    "a=candidate:1 1 UDP 2130706431 127.0.0.1 50000 typ host\r\n"
    "a=crypto:1 AES_CM_128_HMAC_SHA1_80 inline:WVNfX19zZW1jdGwgKCkgewkyMjA7fQp9CnVubGVz\r\n"
    "a=sendrecv\r\n";

/// An offer of a media engine without SRTP: RTP/AVP, which ua_config::media answers.
const std::string plain_offer =
    "v=0\r\n"
    "o=soft 1234 1 IN IP4 127.0.0.1\r\n"
    "s=softphone\r\n"
    "c=IN IP4 127.0.0.1\r\n"
    "t=0 0\r\n"
    "m=audio 50000 RTP/AVP 0\r\n"
    "a=rtpmap:0 PCMU/8000\r\n"
    "a=sendrecv\r\n";

/// The callee's own answer to it.
const std::string app_answer =
    "v=0\r\n"
    "o=callee 99 1 IN IP4 127.0.0.1\r\n"
    "s=-\r\n"
    "c=IN IP4 127.0.0.1\r\n"
    "t=0 0\r\n"
    "m=audio 52000 RTP/SAVP 0\r\n"
    "a=rtpmap:0 PCMU/8000\r\n"
    "a=crypto:1 AES_CM_128_HMAC_SHA1_80 inline:PS1uQCVeeCFCanVmcjkpPywjNWhcYD0mXXtxaVBR\r\n";

/// Caller and callee on one io_context; `policy` decides what the callee does.
struct pair {
  pair() : alice(io, loopback_config("alice")), bob(io, loopback_config("bob")) {
    REQUIRE_FALSE(alice.start());
    REQUIRE_FALSE(bob.start());
    bob.on_incoming_call([this](call c) {
      incoming = c;
      c.on_event([this](const ua::call_event& e) {
        if (e.message) bob_messages.push_back(*e.message);
        bob_kinds.push_back(e.what);
      });
      if (policy) policy(c);
    });
  }
  std::string bob_uri() const { return uri_of(bob, "bob"); }
  /// Alice's call with `o`; events' messages recorded.
  call dial(ua::call_options o = {}) {
    call c = alice.make_call(bob_uri(), std::move(o));
    c.on_event([this](const ua::call_event& e) {
      if (e.message) alice_messages.push_back(*e.message);
    });
    c.async_wait_connected([this](std::error_code ec) { connected = ec; });
    return c;
  }
  bool both_established() const {
    return connected && incoming && incoming.state() == call_state::established;
  }
  /// The last message of alice's events that is a response with `code`.
  const parser::message* alice_response(int code) const {
    for (auto it = alice_messages.rbegin(); it != alice_messages.rend(); ++it)
      if (it->is_response() && it->status_code() == code) return &*it;
    return nullptr;
  }

  boost::asio::io_context io;
  ua::user_agent alice, bob;
  call incoming;
  std::function<void(call)> policy;
  std::optional<std::error_code> connected;
  std::vector<parser::message> alice_messages, bob_messages;
  std::vector<ua::call_event::kind> bob_kinds;
};

void ring_and_answer(call c) {
  REQUIRE_FALSE(c.ring());
  REQUIRE_FALSE(c.answer());
}

/// Every header line of `m` named `name`, in order.
std::vector<std::string> values(const parser::message& m, std::string_view name) {
  std::vector<std::string> out;
  for (const auto& f : m.fields())
    if (parser::iequals(m.name_of(f), name)) out.emplace_back(m.value_of(f));
  return out;
}

}  // namespace

// ------------------------------------------------------------------ make_call

/// The callee answers with its own SDP (its media engine takes RTP/SAVP with SRTP keys;
/// ua_config::media has only RTP/AVP and would refuse the offer with 488).
void answer_with_app_sdp(call c) {
  REQUIRE_FALSE(c.ring());
  ua::answer_options a;
  a.sdp = app_answer;
  REQUIRE_FALSE(c.answer(a));
}

TEST_CASE("make_call sends the application's SDP offer byte for byte instead of local_media's") {
  pair p;
  p.policy = answer_with_app_sdp;
  ua::call_options o;
  o.sdp = app_offer;
  call c = p.dial(o);
  REQUIRE(run_until(p.io, [&] { return p.both_established(); }));
  CHECK_FALSE(*p.connected);
  CHECK(p.incoming.invite().body() == app_offer);
  CHECK(p.incoming.invite().get(header_id::content_type).value_or("") == "application/sdp");
  CHECK(p.incoming.remote_sdp() == app_offer);
  CHECK(c.local_sdp() == app_offer);
  CHECK(c.remote_sdp() == app_answer);
}

TEST_CASE("make_call takes the SDP from an sdp::session too") {
  pair p;
  p.policy = answer_with_app_sdp;
  sdp::session s;
  REQUIRE_FALSE(sdp::parse(app_offer, s));
  ua::call_options o;
  o.set_sdp(s);
  p.dial(o);
  REQUIRE(run_until(p.io, [&] { return p.both_established(); }));
  CHECK(p.incoming.invite().body() == s.serialize());
  CHECK(p.incoming.invite().body().find(
            "a=candidate:1 1 UDP 2130706431 127.0.0.1 50000 typ host\r\n") !=
        std::string_view::npos);
}

TEST_CASE("make_call adds the application's headers in order after the stack's own") {
  pair p;
  p.policy = ring_and_answer;
  ua::call_options o;
  o.headers = {{"X-Account", "42"},
               {"P-Preferred-Identity", "<sip:alice@example.com>"},
               {"X-Account", "43"}};
  p.dial(o);
  REQUIRE(run_until(p.io, [&] { return p.both_established(); }));
  const auto& inv = p.incoming.invite();
  CHECK(values(inv, "X-Account") == std::vector<std::string>{"42", "43"});
  CHECK(values(inv, "P-Preferred-Identity") == std::vector<std::string>{"<sip:alice@example.com>"});
  CHECK(inv.count(header_id::via) == 1);
}

TEST_CASE("make_call sends the Subject") {
  pair p;
  p.policy = ring_and_answer;
  ua::call_options o;
  o.subject = "34020000001320000001:0102030405,34020000002000000001:0";
  p.dial(o);
  REQUIRE(run_until(p.io, [&] { return p.both_established(); }));
  CHECK(values(p.incoming.invite(), "Subject") ==
        std::vector<std::string>{"34020000001320000001:0102030405,34020000002000000001:0"});
}

TEST_CASE("make_call uses the call's own From URI and display name") {
  pair p;
  p.policy = ring_and_answer;
  ua::call_options o;
  o.from_uri = "sip:34020000002000000001@3402000000";
  o.display_name = "Platform";
  p.dial(o);
  REQUIRE(run_until(p.io, [&] { return p.both_established(); }));
  auto from = p.incoming.invite().from();
  REQUIRE(from);
  CHECK(from->display_name == "\"Platform\"");
  CHECK(from->uri.raw == "sip:34020000002000000001@3402000000");
  CHECK_FALSE(from->tag.empty());
  CHECK(p.incoming.remote_party().find("<sip:34020000002000000001@3402000000>") !=
        std::string_view::npos);
}

TEST_CASE("make_call refuses headers the stack writes, non-token names and CR/LF") {
  const std::vector<ua::header_list> refused = {{{"Via", "SIP/2.0/UDP 192.0.2.1"}},
                                                {{"Call-ID", "x"}},
                                                {{"CSeq", "1 INVITE"}},
                                                {{"Contact", "<sip:x@192.0.2.1>"}},
                                                {{"content-length", "0"}},
                                                {{"Bad Name", "x"}},
                                                {{"X-A", "a\r\nVia: b"}},
                                                {{"RSeq", "1"}}};
  for (const auto& headers : refused) {
    CAPTURE(headers.front().first);
    pair p;
    p.policy = ring_and_answer;
    ua::call_options o;
    o.headers = headers;
    call c = p.dial(o);
    REQUIRE(run_until(p.io, [&] { return p.connected.has_value(); }));
    CHECK(*p.connected == std::errc::invalid_argument);
    CHECK(c.state() == call_state::terminated);
    CHECK_FALSE(p.incoming);  // nothing was sent
  }
  pair p;
  ua::call_options o;
  o.subject = "a\r\nVia: injected";
  p.dial(o);
  REQUIRE(run_until(p.io, [&] { return p.connected.has_value(); }));
  CHECK(*p.connected == std::errc::invalid_argument);
}

TEST_CASE("make_call through a pre-loaded route set sends the INVITE to the first route") {
  boost::asio::io_context io;
  ua::user_agent alice(io, loopback_config("alice"));
  REQUIRE_FALSE(alice.start());
  raw_peer proxy(io);
  ua::call_options o;
  o.route = {proxy.uri("p1") + ";lr", "sip:p2.example.com;lr"};
  call c = alice.make_call("sip:bob@192.0.2.99:5060", o);
  auto inv = proxy.next_request(method::invite);
  REQUIRE(inv);
  CHECK(inv->request_uri() == "sip:bob@192.0.2.99:5060");
  CHECK(inv->addresses(header_id::route) ==
        std::vector<std::string>{"<" + proxy.uri("p1") + ";lr>", "<sip:p2.example.com;lr>"});
}

TEST_CASE("make_call through the call's own outbound proxy") {
  boost::asio::io_context io;
  ua::user_agent alice(io, loopback_config("alice"));
  REQUIRE_FALSE(alice.start());
  raw_peer proxy(io);
  ua::call_options o;
  o.outbound_proxy = proxy.uri("proxy");
  call c = alice.make_call("sip:bob@192.0.2.99:5060", o);
  auto inv = proxy.next_request(method::invite);
  REQUIRE(inv);
  CHECK(inv->request_uri() == "sip:bob@192.0.2.99:5060");
  CHECK(inv->addresses(header_id::route) ==
        std::vector<std::string>{"<" + proxy.uri("proxy") + ";lr>"});
}

TEST_CASE("make_call answers a 401 with the call's own credentials") {
  boost::asio::io_context io;
  ua::user_agent alice(io, loopback_config("alice"));  // no agent-wide credentials
  REQUIRE_FALSE(alice.start());
  raw_peer peer(io);
  ua::call_options o;
  o.credentials = {{"sip.example.com", "alice-per-call", "secret"}};
  call c = alice.make_call(peer.uri("bob"), o);
  auto inv = peer.next_request(method::invite);
  REQUIRE(inv);
  peer.send(response_text(*inv, 401, "t401",
                          "WWW-Authenticate: Digest realm=\"sip.example.com\", nonce=\"abc\", "
                          "qop=\"auth\"\r\n"),
            inv->from);
  auto again = peer.next([](const peer_message& m) {
    return m.is_request(method::invite) && !m.header(header_id::authorization).empty();
  });
  REQUIRE(again);
  CHECK(again->header(header_id::authorization).find("username=\"alice-per-call\"") !=
        std::string::npos);
  CHECK(again->cseq_number() == inv->cseq_number() + 1);
}

// ------------------------------------------------------------------ delayed offer

TEST_CASE("Delayed offer, caller side: no SDP in the INVITE, the 200 offers, the ACK answers") {
  pair p;
  p.policy = ring_and_answer;
  ua::call_options o;
  o.delayed_offer = true;
  call c = p.dial(o);
  REQUIRE(run_until(p.io, [&] { return p.both_established(); }));
  CHECK_FALSE(*p.connected);
  CHECK(p.incoming.invite().body().empty());
  // Bob offered from its media in the 200; Alice answered in the ACK, and both agree.
  CHECK_FALSE(c.remote_sdp().empty());
  CHECK(c.remote_sdp() == p.incoming.local_sdp());
  CHECK_FALSE(p.incoming.remote_sdp().empty());
  CHECK(p.incoming.remote_sdp() == c.local_sdp());
  const auto* ok = p.alice_response(200);
  REQUIRE(ok);
  CHECK(ok->body() == c.remote_sdp());
}

TEST_CASE("Delayed offer, caller side: the application answers the 2xx's offer in the ACK") {
  pair p;
  p.policy = ring_and_answer;
  ua::call_options o;
  o.delayed_offer = true;
  std::string offer_seen;
  o.answer_offer = [&](std::string_view offer) {
    offer_seen = std::string(offer);
    return app_answer;
  };
  call c = p.dial(o);
  REQUIRE(run_until(p.io, [&] { return p.both_established(); }));
  CHECK(offer_seen == p.incoming.local_sdp());
  CHECK(p.incoming.remote_sdp() == app_answer);  // what the ACK carried
  CHECK(c.local_sdp() == app_answer);
}

TEST_CASE("Delayed offer, callee side: the application's offer goes in the 200, the ACK answers") {
  pair p;
  p.policy = [](call c) {
    ua::answer_options a;
    a.sdp = plain_offer;
    REQUIRE_FALSE(c.answer(a));
  };
  ua::call_options o;
  o.delayed_offer = true;
  call c = p.dial(o);
  REQUIRE(run_until(p.io, [&] { return p.both_established(); }));
  CHECK(c.remote_sdp() == plain_offer);
  CHECK(p.incoming.local_sdp() == plain_offer);
  // Alice's answer from her media (PCMU, port 40000) came in the ACK.
  CHECK(p.incoming.remote_sdp() == c.local_sdp());
  CHECK(p.incoming.remote_sdp().find("m=audio 40000 RTP/AVP 0\r\n") != std::string::npos);
}

TEST_CASE("Delayed offer in a reliable 183: the caller answers in the PRACK (RFC 3262 §5)") {
  pair p;
  p.policy = [](call c) {
    ua::ring_options r;
    r.code = 183;
    r.sdp = plain_offer;  // the INVITE had none: this reliable 183 offers
    REQUIRE_FALSE(c.ring(r));
  };
  ua::call_options o;
  o.delayed_offer = true;
  std::string offer_seen;
  o.answer_offer = [&](std::string_view offer) {
    offer_seen = std::string(offer);
    return app_answer;
  };
  call c = p.dial(o);
  // The PRACK carried Alice's answer: Bob has it before he answers the call.
  REQUIRE(run_until(p.io, [&] { return p.incoming && !p.incoming.remote_sdp().empty(); }));
  CHECK(offer_seen == plain_offer);
  CHECK(p.incoming.remote_sdp() == app_answer);
  CHECK(c.remote_sdp() == plain_offer);
  CHECK(c.local_sdp() == app_answer);
  REQUIRE_FALSE(p.incoming.answer());
  REQUIRE(run_until(p.io, [&] { return p.both_established(); }));
  CHECK_FALSE(*p.connected);
  // The 200 repeats Bob's offer; it is no second offer: nothing changes on either side.
  const auto* ok = p.alice_response(200);
  REQUIRE(ok);
  CHECK(ok->body() == plain_offer);
  CHECK(c.remote_sdp() == plain_offer);
  CHECK(c.local_sdp() == app_answer);
  CHECK(p.incoming.local_sdp() == plain_offer);
  CHECK(p.incoming.remote_sdp() == app_answer);
  const auto* progress = p.alice_response(183);
  REQUIRE(progress);
  CHECK(progress->get("RSeq"));
}

TEST_CASE("Delayed offer in a reliable 183: without an application answer, from our media") {
  pair p;
  p.policy = [](call c) {
    ua::ring_options r;
    r.code = 183;
    r.sdp = plain_offer;
    REQUIRE_FALSE(c.ring(r));
  };
  ua::call_options o;
  o.delayed_offer = true;
  call c = p.dial(o);
  REQUIRE(run_until(p.io, [&] { return p.incoming && !p.incoming.remote_sdp().empty(); }));
  // Alice's answer from her media (PCMU, port 40000) came in the PRACK.
  CHECK(p.incoming.remote_sdp() == c.local_sdp());
  CHECK(p.incoming.remote_sdp().find("m=audio 40000 RTP/AVP 0\r\n") != std::string::npos);
  REQUIRE_FALSE(p.incoming.answer());
  REQUIRE(run_until(p.io, [&] { return p.both_established(); }));
  CHECK(p.incoming.remote_sdp() == c.local_sdp());
  CHECK(c.remote_sdp() == plain_offer);
}

TEST_CASE("Delayed offer in a reliable 183 we cannot answer: PRACK without SDP, then CANCEL") {
  pair p;
  p.policy = [](call c) {
    ua::ring_options r;
    r.code = 183;
    r.sdp = app_offer;  // RTP/SAVP only: ua_config::media has nothing to answer it with
    REQUIRE_FALSE(c.ring(r));
  };
  ua::call_options o;
  o.delayed_offer = true;
  call c = p.dial(o);
  REQUIRE(run_until(p.io, [&] {
    return p.connected && p.incoming && p.incoming.state() == call_state::terminated;
  }));
  CHECK(*p.connected);
  CHECK(c.final_status() == 487);
  CHECK(p.incoming.remote_sdp().empty());
  const parser::message* cancel = nullptr;
  for (const auto& m : p.bob_messages)
    if (m.is_request() && m.method() == parser::method::cancel) cancel = &m;
  REQUIRE(cancel);
  CHECK(values(*cancel, "Reason") ==
        std::vector<std::string>{"SIP;cause=488;text=\"Not Acceptable Here\""});
}

// ------------------------------------------------------------------ ring / answer / reject

TEST_CASE("answer sends the application's SDP answer and headers in the 200") {
  pair p;
  p.policy = [](call c) {
    ua::answer_options a;
    a.sdp = app_answer;
    a.headers = {{"X-Media-Server", "ms-7"}};
    REQUIRE_FALSE(c.answer(a));
  };
  call c = p.dial();
  REQUIRE(run_until(p.io, [&] { return p.both_established(); }));
  CHECK(c.remote_sdp() == app_answer);
  CHECK(p.incoming.local_sdp() == app_answer);
  const auto* ok = p.alice_response(200);
  REQUIRE(ok);
  CHECK(ok->body() == app_answer);
  CHECK(values(*ok, "X-Media-Server") == std::vector<std::string>{"ms-7"});
}

TEST_CASE("ring sends a 183 with early-media SDP and the 200 repeats the same answer") {
  pair p;
  p.policy = [](call c) {
    ua::ring_options r;
    r.code = 183;
    r.sdp = app_answer;
    r.headers = {{"X-Early", "yes"}};
    REQUIRE_FALSE(c.ring(r));
  };
  call c = p.dial();
  REQUIRE(run_until(p.io, [&] { return p.alice_response(183) != nullptr; }));
  const auto* progress = p.alice_response(183);
  CHECK(progress->body() == app_answer);
  CHECK(values(*progress, "X-Early") == std::vector<std::string>{"yes"});
  CHECK(c.state() == call_state::early);
  // The caller supports 100rel: the 183 went reliably, so its SDP is the answer
  // (RFC 3262 §5), and once PRACKed the 200 carries the same description again.
  REQUIRE(run_until(p.io, [&] { return !c.remote_sdp().empty(); }));
  CHECK(c.remote_sdp() == app_answer);
  std::error_code answered;
  REQUIRE(run_until(p.io, [&] {
    answered = p.incoming.answer();
    return answered != errc::invalid_state;  // the PRACK may still be on its way
  }));
  CHECK_FALSE(answered);
  REQUIRE(run_until(p.io, [&] { return p.both_established(); }));
  CHECK(c.remote_sdp() == app_answer);
  REQUIRE(p.alice_response(200));
  CHECK(p.alice_response(200)->body() == app_answer);
}

TEST_CASE("ring with a reason phrase") {
  pair p;
  p.policy = [](call c) {
    ua::ring_options r;
    r.reason_phrase = "Ringing Loudly";
    REQUIRE_FALSE(c.ring(r));
  };
  p.dial();
  REQUIRE(run_until(p.io, [&] { return p.alice_response(180) != nullptr; }));
  CHECK(p.alice_response(180)->reason_phrase() == "Ringing Loudly");
}

TEST_CASE("reject sends Retry-After, Reason, Warning, the reason phrase and headers") {
  pair p;
  p.policy = [](call c) {
    ua::reject_options r;
    r.code = 486;
    r.reason_phrase = "Busy Here Now";
    r.retry_after = std::chrono::seconds(120);
    r.reason = "SIP;cause=600;text=\"Busy Everywhere\"";
    r.warning = "399 callee.example \"in a meeting\"";
    r.headers = {{"X-Queue", "full"}};
    REQUIRE_FALSE(c.reject(r));
  };
  call c = p.dial();
  REQUIRE(run_until(p.io, [&] { return p.connected.has_value(); }));
  CHECK(*p.connected == errc::rejected);
  CHECK(c.final_status() == 486);
  const auto* busy = p.alice_response(486);
  REQUIRE(busy);
  CHECK(busy->reason_phrase() == "Busy Here Now");
  CHECK(values(*busy, "Retry-After") == std::vector<std::string>{"120"});
  CHECK(values(*busy, "Reason") ==
        std::vector<std::string>{"SIP;cause=600;text=\"Busy Everywhere\""});
  CHECK(values(*busy, "Warning") ==
        std::vector<std::string>{"399 callee.example \"in a meeting\""});
  CHECK(values(*busy, "X-Queue") == std::vector<std::string>{"full"});
}

TEST_CASE("ring, answer and reject refuse bad headers with invalid_argument and send nothing") {
  pair p;
  std::vector<std::error_code> results;
  p.policy = [&](call c) {
    ua::ring_options r;
    r.headers = {{"To", "<sip:x@192.0.2.1>"}};
    results.push_back(c.ring(r));
    ua::answer_options a;
    a.headers = {{"X-A", "1\r\n2"}};
    results.push_back(c.answer(a));
    ua::reject_options j;
    j.warning = "399 h \"x\"\r\nVia: y";
    results.push_back(c.reject(j));
    ua::answer_options body_without_type;
    body_without_type.body = "hello";
    results.push_back(c.answer(body_without_type));
    CHECK(c.state() == call_state::incoming);  // nothing went out
    REQUIRE_FALSE(c.answer());
  };
  p.dial();
  REQUIRE(run_until(p.io, [&] { return p.both_established(); }));
  REQUIRE(results.size() == 4);
  for (auto ec : results) CHECK(ec == std::errc::invalid_argument);
  CHECK_FALSE(p.alice_response(180));
}

// ------------------------------------------------------------------ in the call

TEST_CASE("Hang-up with an RFC 3326 Reason: the peer's BYE event carries it") {
  pair p;
  p.policy = ring_and_answer;
  call c = p.dial();
  REQUIRE(run_until(p.io, [&] { return p.both_established(); }));
  ua::hangup_options h;
  h.reason = "Q.850;cause=16;text=\"Normal call clearing\"";
  h.headers = {{"X-Billing", "7"}};
  std::optional<std::error_code> done;
  c.async_hangup(h, [&](std::error_code ec) { done = ec; });
  REQUIRE(run_until(p.io, [&] { return done.has_value(); }));
  CHECK_FALSE(*done);
  REQUIRE(p.incoming.state() == call_state::terminated);
  REQUIRE_FALSE(p.bob_messages.empty());
  const auto& bye = p.bob_messages.back();
  CHECK(bye.method() == method::bye);
  CHECK(values(bye, "Reason") ==
        std::vector<std::string>{"Q.850;cause=16;text=\"Normal call clearing\""});
  CHECK(values(bye, "X-Billing") == std::vector<std::string>{"7"});
}

TEST_CASE("Hang-up refuses a CR/LF in the Reason with invalid_argument and keeps the call") {
  pair p;
  p.policy = ring_and_answer;
  call c = p.dial();
  REQUIRE(run_until(p.io, [&] { return p.both_established(); }));
  ua::hangup_options h;
  h.reason = "SIP;cause=200\r\nVia: x";
  std::optional<std::error_code> done;
  c.async_hangup(h, [&](std::error_code ec) { done = ec; });
  REQUIRE(run_until(p.io, [&] { return done.has_value(); }));
  CHECK(*done == std::errc::invalid_argument);
  CHECK(c.state() == call_state::established);
}

TEST_CASE("async_reoffer sends the application's new SDP in a re-INVITE") {
  pair p;
  p.policy = ring_and_answer;
  call c = p.dial();
  REQUIRE(run_until(p.io, [&] { return p.both_established(); }));
  std::string held = plain_offer;
  held.replace(held.find("o=soft 1234 1"), 13, "o=soft 1234 2");
  held.replace(held.find("a=sendrecv"), 10, "a=sendonly");
  ua::reoffer_options r;
  r.sdp = held;
  r.headers = {{"X-Why", "music"}};
  std::optional<int> status;
  c.async_reoffer(r, [&](std::error_code, int s) { status = s; });
  REQUIRE(run_until(p.io, [&] { return status.has_value(); }));
  CHECK(*status == 200);
  CHECK(p.incoming.remote_sdp() == held);
  CHECK(c.local_sdp() == held);
  CHECK(p.incoming.remote_on_hold());
  // The remote_hold event carries the re-INVITE.
  REQUIRE_FALSE(p.bob_kinds.empty());
  CHECK(p.bob_kinds.back() == ua::call_event::kind::remote_hold);
  const auto& reinvite = p.bob_messages.back();
  CHECK(reinvite.method() == method::invite);
  CHECK(reinvite.body() == held);
  CHECK(values(reinvite, "X-Why") == std::vector<std::string>{"music"});
}

TEST_CASE("async_reoffer with use_update sends the new SDP in an UPDATE") {
  pair p;
  p.policy = ring_and_answer;
  call c = p.dial();
  REQUIRE(run_until(p.io, [&] { return p.both_established(); }));
  std::string moved = c.local_sdp().empty() ? std::string() : std::string(c.local_sdp());
  REQUIRE_FALSE(moved.empty());
  const auto port = moved.find("m=audio 40000");
  REQUIRE(port != std::string::npos);
  moved.replace(port, 13, "m=audio 40002");
  const auto o_line = moved.find("o=");
  const auto version_end = moved.find(" IN IP4", o_line);
  const auto version_start = moved.rfind(' ', version_end - 1) + 1;
  moved.replace(version_start, version_end - version_start, "2");
  ua::reoffer_options r;
  r.sdp = moved;
  r.use_update = true;
  std::optional<int> status;
  c.async_reoffer(r, [&](std::error_code, int s) { status = s; });
  REQUIRE(run_until(p.io, [&] { return status.has_value(); }));
  CHECK(*status == 200);
  CHECK(p.incoming.remote_sdp() == moved);
  CHECK(c.local_sdp() == moved);
}

TEST_CASE("INFO and MESSAGE with options carry their headers; the event has the request") {
  pair p;
  p.policy = ring_and_answer;
  call c = p.dial();
  REQUIRE(run_until(p.io, [&] { return p.both_established(); }));
  ua::message_options info;
  info.headers = {{"Info-Package", "dtmf"}};
  info.content_type = "application/dtmf";
  info.body = "5";
  std::optional<int> status;
  c.async_info(info, [&](std::error_code, int s) { status = s; });
  REQUIRE(run_until(p.io, [&] { return status.has_value(); }));
  CHECK(*status == 200);
  REQUIRE_FALSE(p.bob_messages.empty());
  const auto& got = p.bob_messages.back();
  CHECK(got.method() == method::info);
  CHECK(values(got, "Info-Package") == std::vector<std::string>{"dtmf"});
  CHECK(got.body() == "5");

  status.reset();
  ua::message_options text;
  text.headers = {{"Subject", "hi"}};
  text.content_type = "text/plain";
  text.body = "hello";
  c.async_message(text, [&](std::error_code, int s) { status = s; });
  REQUIRE(run_until(p.io, [&] { return status.has_value(); }));
  CHECK(*status == 200);
  CHECK(p.bob_messages.back().method() == method::message);
  CHECK(values(p.bob_messages.back(), "Subject") == std::vector<std::string>{"hi"});
}

TEST_CASE("An in-dialog request of another method through async_send_request") {
  pair p;
  p.policy = ring_and_answer;
  call c = p.dial();
  REQUIRE(run_until(p.io, [&] { return p.both_established(); }));
  std::optional<int> status;
  c.async_send_request("OPTIONS", {}, [&](std::error_code, int s) { status = s; });
  REQUIRE(run_until(p.io, [&] { return status.has_value(); }));
  CHECK(*status == 200);
  // Methods with an operation of their own, and names that are not tokens, are refused.
  for (std::string m : {"BYE", "INVITE", "PRACK", "NOT A TOKEN"}) {
    CAPTURE(m);
    std::optional<std::error_code> ec;
    c.async_send_request(m, {}, [&](std::error_code e, int) { ec = e; });
    REQUIRE(run_until(p.io, [&] { return ec.has_value(); }));
    CHECK(*ec == std::errc::invalid_argument);
  }
  CHECK(c.state() == call_state::established);
}

// ------------------------------------------------------------------ out of dialog

TEST_CASE("async_send_request sends any method outside a dialog, with headers and body") {
  pair p;
  std::string event, body, from;
  p.bob.on_request("PUBLISH", [&](ua::incoming_request& in) {
    event = std::string(in.message().get(header_id::event).value_or(""));
    body = std::string(in.message().body());
    from = std::string(in.message().get(header_id::from).value_or(""));
    in.respond(in.make_response(200));
  });
  ua::request_options r;
  r.target_uri = p.bob_uri();
  r.from_uri = "sip:alice@example.com";
  r.display_name = "Alice";
  r.headers = {{"Event", "presence"}, {"Expires", "3600"}};
  r.content_type = "application/pidf+xml";
  r.body = "<presence/>";
  std::optional<int> status;
  p.alice.async_send_request("PUBLISH", r, [&](std::error_code, int s) { status = s; });
  REQUIRE(run_until(p.io, [&] { return status.has_value(); }));
  CHECK(*status == 200);
  CHECK(event == "presence");
  CHECK(body == "<presence/>");
  CHECK(from.rfind("\"Alice\" <sip:alice@example.com>;tag=", 0) == 0);
}

TEST_CASE("async_send_request refuses a call's methods and non-token methods") {
  pair p;
  ua::request_options r;
  r.target_uri = p.bob_uri();
  for (std::string m : {"INVITE", "BYE", "ACK", "CANCEL", "PUB LISH"}) {
    CAPTURE(m);
    std::optional<std::error_code> ec;
    p.alice.async_send_request(m, r, [&](std::error_code e, int) { ec = e; });
    REQUIRE(run_until(p.io, [&] { return ec.has_value(); }));
    CHECK(*ec == std::errc::invalid_argument);
  }
}

TEST_CASE("async_refer with options sends its headers in the REFER") {
  boost::asio::io_context io;
  ua::user_agent alice(io, loopback_config("alice"));
  REQUIRE_FALSE(alice.start());
  raw_peer bob(io);
  call c = alice.make_call(bob.uri("bob"));
  std::optional<std::error_code> connected;
  c.async_wait_connected([&](std::error_code ec) { connected = ec; });
  auto inv = bob.next_request(method::invite);
  REQUIRE(inv);
  bob.send(response_text(*inv, 200, "bob-1", "Contact: <" + bob.uri("bob") + ">\r\n",
                         sdp_offer("0", "PCMU/8000")),
           inv->from);
  REQUIRE(run_until(io, [&] { return connected.has_value(); }));
  REQUIRE_FALSE(*connected);
  ua::refer_options r;
  r.target = "sip:carol@192.0.2.9";
  r.headers = {{"Referred-By", "<sip:alice@example.com>"}, {"X-Transfer-Id", "t-1"}};
  std::optional<int> status;
  c.async_refer(r, [&](std::error_code, int s) { status = s; });
  auto refer = bob.next_request(method::refer);
  REQUIRE(refer);
  CHECK(refer->header("Refer-To").find("sip:carol@192.0.2.9") != std::string::npos);
  CHECK(refer->header("X-Transfer-Id") == "t-1");
  // The application's Referred-By replaces the stack's own (made from our From).
  CHECK(values(refer->msg, "Referred-By") == std::vector<std::string>{"<sip:alice@example.com>"});
  bob.send(response_text(*refer, 202, {}), refer->from);
  REQUIRE(run_until(io, [&] { return status.has_value(); }));
  CHECK(*status == 202);

  // A refused header: nothing is sent, invalid_argument.
  ua::refer_options bad = r;
  bad.headers = {{"CSeq", "9 REFER"}};
  std::optional<std::error_code> ec;
  c.async_refer(bad, [&](std::error_code e, int) { ec = e; });
  REQUIRE(run_until(io, [&] { return ec.has_value(); }));
  CHECK(*ec == std::errc::invalid_argument);
}
