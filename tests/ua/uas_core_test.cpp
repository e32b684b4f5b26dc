// The UA as UAS against a scripted raw peer: the peer calls the agent with hand-written
// SIP text and checks, field by field, what the agent's UAS core answers (RFC 3261 §8.2,
// §9.2, §12.2.2, §13.3, §14).
#include <algorithm>
#include <boost/asio/post.hpp>
#include <catch2/catch.hpp>
#include <functional>
#include <memory>
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

constexpr auto fast_t1 = 10ms;
constexpr auto fast_t2 = 40ms;

ua::ua_config agent_config(bool fast_timers,
                           const std::function<void(ua::ua_config&)>& tweak = {}) {
  auto cfg = loopback_config("bob");
  if (fast_timers) {
    cfg.transactions.timers.t1 = fast_t1;
    cfg.transactions.timers.t2 = fast_t2;
  }
  if (tweak) tweak(cfg);
  return cfg;
}

/// For tests of RFC behaviour that the transaction layer's hostile-traffic limits would
/// cut short on loopback (retransmissions towards a peer that never answers).
void trust_loopback(ua::ua_config& cfg) { cfg.transactions.exempt_loopback = true; }

/// Tokens of every line of a comma-list header, sorted.
std::vector<std::string> list_tokens(const peer_message& m, header_id id) {
  std::vector<std::string> out;
  for (const auto& f : m.msg.fields()) {
    if (f.id != id) continue;
    std::string_view v = m.msg.value_of(f);
    while (!v.empty()) {
      auto comma = v.find(',');
      auto item = v.substr(0, comma);
      while (!item.empty() && item.front() == ' ') item.remove_prefix(1);
      while (!item.empty() && item.back() == ' ') item.remove_suffix(1);
      if (!item.empty()) out.emplace_back(item);
      if (comma == std::string_view::npos) break;
      v.remove_prefix(comma + 1);
    }
  }
  std::sort(out.begin(), out.end());
  return out;
}

// Sorted. NOTIFY (for our own subscriptions), REFER and UPDATE (in calls) and PRACK
// (RFC 3262 is on by default) are always taken;
// SUBSCRIBE only when the agent serves an event package, which this fixture's does not.
const std::vector<std::string> k_allowed = {"ACK",    "BYE",     "CANCEL", "INFO",
                                            "INVITE", "MESSAGE", "NOTIFY", "OPTIONS",
                                            "PRACK",  "REFER",   "UPDATE"};

/// The agent (bob) answers; the raw peer (alice) calls it. `policy` decides what an
/// incoming call gets (default: ring, then answer).
struct uas_fixture {
  explicit uas_fixture(bool fast_timers = false,
                       const std::function<void(ua::ua_config&)>& tweak = {})
      : agent(io, agent_config(fast_timers, tweak)), peer(io) {
    REQUIRE_FALSE(agent.start());
    agent_ep = udp_endpoint(agent.local_address(transport::protocol::udp));
    agent_uri = "sip:bob@" + agent.local_address(transport::protocol::udp);
    call_id = peer.new_token("raw-call-") + "@127.0.0.1";
    from_tag = peer.new_token("alice-");
    from = "<" + peer.uri("alice") + ">;tag=" + from_tag;
    to = "<" + agent_uri + ">";
    policy = [](call c) {
      REQUIRE_FALSE(c.ring());
      REQUIRE_FALSE(c.answer());
    };
    agent.on_incoming_call([this](call c) {
      incoming = c;
      c.on_event([this](const ua::call_event& e) { events.push_back(e.what); });
      policy(c);
    });
  }

  /// A request from the peer outside any dialog (To without tag).
  request_text out_of_dialog(std::string_view m, std::uint32_t cseq) {
    request_text r;
    r.method = std::string(m);
    r.uri = agent_uri;
    r.sent_by = peer.host_port();
    r.branch = peer.new_branch();
    r.from = from;
    r.to = to;
    r.call_id = call_id;
    r.cseq = std::to_string(cseq) + " " + std::string(m);
    if (m == "INVITE") r.extra = "Contact: <" + peer.uri("alice") + ">\r\n";
    return r;
  }
  request_text invite(std::uint32_t cseq = 10, std::string body = sdp_offer("0", "PCMU/8000")) {
    auto r = out_of_dialog("INVITE", cseq);
    r.body = std::move(body);
    return r;
  }
  /// A request inside the dialog the agent's 2xx made (after establish()).
  request_text in_dialog(std::string_view m, std::uint32_t cseq) {
    auto r = out_of_dialog(m, cseq);
    r.uri = agent_contact;
    r.to = to + ";tag=" + agent_tag;
    return r;
  }
  /// The peer's ACK for the agent's 2xx `ok` (§13.2.2.4): a new transaction.
  std::string ack_for_2xx(const peer_message& ok) {
    request_text r;
    r.method = "ACK";
    r.uri = ok.contact_uri();
    r.sent_by = peer.host_port();
    r.branch = peer.new_branch();
    r.from = from;
    r.to = ok.header(header_id::to);
    r.call_id = call_id;
    r.cseq = std::to_string(ok.cseq_number()) + " ACK";
    return r.text();
  }
  /// The peer's ACK for a non-2xx final response to `inv` (§17.1.1.3): same branch.
  std::string ack_for_failure(const request_text& inv, const peer_message& rsp) {
    request_text r = inv;
    r.method = "ACK";
    r.to = rsp.header(header_id::to);
    r.cseq = std::to_string(rsp.cseq_number()) + " ACK";
    r.extra.clear();
    r.body.clear();
    return r.text();
  }
  void send(const request_text& r) { peer.send(r.text(), agent_ep); }
  void send(const std::string& text) { peer.send(text, agent_ep); }

  /// INVITE (CSeq 10), the agent's 180 and 200, the peer's ACK: established on both
  /// ends. Returns the 200.
  peer_message establish() {
    send(invite());
    auto ok = peer.next_response(200, method::invite);
    REQUIRE(ok);
    agent_tag = ok->to_tag();
    agent_contact = ok->contact_uri();
    REQUIRE_FALSE(agent_tag.empty());
    REQUIRE_FALSE(agent_contact.empty());
    send(ack_for_2xx(*ok));
    REQUIRE(run_until(io, [&] { return incoming && incoming.state() == call_state::established; }));
    settle(io);
    peer.clear();  // the 180 and any 200 retransmitted before the ACK
    return std::move(*ok);
  }

  boost::asio::io_context io;
  ua::user_agent agent;
  raw_peer peer;
  udp::endpoint agent_ep;
  std::string agent_uri, call_id, from_tag, from, to;
  std::string agent_tag, agent_contact;  // of the dialog, after establish()
  call incoming;
  std::vector<ua::call_event::kind> events;
  /// What an incoming call gets (set by the constructor: ring, then answer).
  std::function<void(call)> policy;
};

}  // namespace

TEST_CASE("UAS: an unacknowledged 200 is retransmitted, then a BYE ends the call after 64*T1") {
  // The RFC's schedule towards a peer that never ACKs: the amplification budget, which
  // stops it for sources that have not proven they receive, is off for loopback here.
  uas_fixture f(true, trust_loopback);
  std::optional<std::error_code> connected;
  f.policy = [&](call c) {
    REQUIRE_FALSE(c.ring());
    REQUIRE_FALSE(c.answer());
    c.async_wait_connected([&](std::error_code ec) { connected = ec; });
  };
  f.send(f.invite());
  auto ringing = f.peer.next_response(180, method::invite);
  REQUIRE(ringing);
  auto ok = f.peer.next_response(200, method::invite);
  REQUIRE(ok);
  CHECK(ok->to_tag() == ringing->to_tag());
  // The peer never ACKs: the same 200 comes again, byte for byte (§13.3.1.4).
  auto again1 = f.peer.next_response(200, method::invite);
  auto again2 = f.peer.next_response(200, method::invite);
  REQUIRE(again1);
  REQUIRE(again2);
  CHECK(again1->bytes == ok->bytes);
  CHECK(again2->bytes == ok->bytes);

  auto bye = f.peer.next_request(method::bye);
  REQUIRE(bye);
  CHECK(bye->request_uri() == f.peer.uri("alice"));  // the INVITE's Contact
  // In the agent's request its own tag is the From tag, the peer's the To tag (§12.2.1.1).
  CHECK(bye->from_tag() == ok->to_tag());
  CHECK(bye->to_tag() == f.from_tag);
  CHECK(bye->header(header_id::call_id) == f.call_id);
  REQUIRE(bye->msg.cseq());
  CHECK(bye->msg.cseq()->method == method::bye);
  // Every 200 that came before the BYE was the same retransmitted response.
  for (const auto& m :
       f.peer.take_all([](const peer_message& p) { return p.is_response(200, method::invite); }))
    CHECK(m.bytes == ok->bytes);

  f.peer.send(response_text(*bye, 200), bye->from);
  REQUIRE(
      run_until(f.io, [&] { return connected && f.incoming.state() == call_state::terminated; }));
  CHECK(*connected == errc::no_ack);
  CHECK(f.agent.call_count() == 0);
  CHECK(f.peer.unparsable().empty());
}

namespace {
/// Sends an INVITE from a caller that never ACKs (a new Call-ID and From tag) and returns
/// the final response it got.
std::optional<peer_message> invite_from_new_caller(uas_fixture& f, std::string_view prefix) {
  f.call_id = f.peer.new_token(prefix) + "@127.0.0.1";
  f.from_tag = f.peer.new_token("spoof-");
  f.from = "<" + f.peer.uri("alice") + ">;tag=" + f.from_tag;
  f.send(f.invite());
  return f.peer.next([&](const peer_message& m) {
    return m.msg.is_response() && m.msg.status_code() >= 200 &&
           m.header(header_id::call_id) == f.call_id;
  });
}
}  // namespace

TEST_CASE(
    "UAS: calls awaiting their ACK have a pool of their own: full of young 2xx, a new INVITE gets "
    "503 and no call ends") {
  // max_calls 1 counts established calls only; two calls may await their ACK. T1 of 20 s:
  // no waiting 2xx gets anywhere near overdue within the test.
  uas_fixture f(false, [](ua::ua_config& cfg) {
    cfg.max_calls = 1;
    cfg.max_calls_awaiting_ack = 2;
    cfg.transactions.timers.t1 = 20s;
    cfg.transactions.timers.t2 = 40s;
  });
  std::vector<call> calls;
  f.policy = [&](call c) {
    calls.push_back(c);
    REQUIRE_FALSE(c.answer());
  };
  // Three callers that never ACK: the first two are answered, the third is refused
  // (§21.5.4 503 with Retry-After) while both 2xx are younger than T1.
  std::vector<std::string> call_ids;
  std::vector<peer_message> oks;
  for (int i = 0; i < 2; ++i) {
    auto ok = invite_from_new_caller(f, "never-acks-");
    REQUIRE(ok);
    CHECK(ok->msg.status_code() == 200);
    call_ids.push_back(f.call_id);
    oks.push_back(std::move(*ok));
  }
  auto refused = invite_from_new_caller(f, "one-too-many-");
  REQUIRE(refused);
  CHECK(refused->msg.status_code() == 503);
  const auto retry_after = refused->header("Retry-After");
  REQUIRE_FALSE(retry_after.empty());
  const int seconds = std::stoi(retry_after);
  CHECK(seconds >= 1);
  CHECK(seconds <= 20);  // when the oldest 2xx turns T1 old
  settle(f.io);
  CHECK(f.peer.count([](const peer_message& m) { return m.is_request(method::bye); }) == 0);
  CHECK(calls.size() == 2);  // the application never saw the refused one
  CHECK(f.agent.calls_refused_awaiting_ack() == 1);
  CHECK(f.agent.calls_evicted_awaiting_ack() == 0);
  CHECK(f.agent.calls_awaiting_ack() == 2);
  CHECK(calls[0].state() == call_state::answered);
  CHECK(calls[1].state() == call_state::answered);

  // The newest caller ACKs: established, and out of the pool.
  f.call_id = call_ids[1];
  f.from = oks[1].header(header_id::from);
  f.send(f.ack_for_2xx(oks[1]));
  REQUIRE(run_until(f.io, [&] { return calls[1].state() == call_state::established; }));
  CHECK(f.agent.calls_awaiting_ack() == 1);

  // One established call fills max_calls: a new INVITE is refused with 486.
  auto busy = invite_from_new_caller(f, "late-");
  REQUIRE(busy);
  CHECK(busy->msg.status_code() == 486);
}

TEST_CASE(
    "UAS: a full pool of calls awaiting their ACK with a 2xx past T1: that call ends with a BYE "
    "and the new INVITE is answered") {
  // T1 50 ms: the oldest 2xx is overdue once it has been sent again twice (T1, 3*T1),
  // long before its own 64*T1 (3.2 s) would end it.
  uas_fixture f(false, [](ua::ua_config& cfg) {
    cfg.max_calls_awaiting_ack = 2;
    cfg.transactions.timers.t1 = 50ms;
    cfg.transactions.timers.t2 = 200ms;
    trust_loopback(cfg);  // the 2xx retransmissions reach the caller that never ACKs
  });
  std::vector<call> calls;
  f.policy = [&](call c) {
    calls.push_back(c);
    REQUIRE_FALSE(c.answer());
  };
  std::vector<std::string> call_ids;
  for (int i = 0; i < 2; ++i) {
    auto ok = invite_from_new_caller(f, "never-acks-");
    REQUIRE(ok);
    CHECK(ok->msg.status_code() == 200);
    call_ids.push_back(f.call_id);
  }
  // The first call's 200 twice more: it has waited at least 3*T1 for its ACK.
  auto first_200 = [&](const peer_message& m) {
    return m.is_response(200, method::invite) && m.header(header_id::call_id) == call_ids[0];
  };
  REQUIRE(run_until(f.io, [&] { return f.peer.count(first_200) >= 2; }));

  auto ok = invite_from_new_caller(f, "newcomer-");
  REQUIRE(ok);
  CHECK(ok->msg.status_code() == 200);
  auto bye = f.peer.next_request(method::bye);
  REQUIRE(bye);
  CHECK(bye->header(header_id::call_id) == call_ids[0]);
  CHECK(f.agent.calls_evicted_awaiting_ack() == 1);
  CHECK(f.agent.calls_refused_awaiting_ack() == 0);
  CHECK(f.agent.calls_awaiting_ack() == 2);
  REQUIRE(calls.size() == 3);
  CHECK(calls[1].state() == call_state::answered);
  f.peer.send(response_text(*bye, 200), bye->from);
  REQUIRE(run_until(f.io, [&] { return calls[0].state() == call_state::terminated; }));
}

TEST_CASE("UAS: the ACK stops the 200 retransmissions and establishes the call") {
  uas_fixture f(true);
  std::optional<std::error_code> connected;
  f.policy = [&](call c) {
    REQUIRE_FALSE(c.ring());
    REQUIRE_FALSE(c.answer());
    c.async_wait_connected([&](std::error_code ec) { connected = ec; });
  };
  f.send(f.invite());
  auto ok = f.peer.next_response(200, method::invite);
  REQUIRE(ok);
  f.send(f.ack_for_2xx(*ok));
  REQUIRE(run_until(f.io, [&] { return connected.has_value(); }));
  CHECK_FALSE(*connected);
  CHECK(f.incoming.state() == call_state::established);
  // Whatever the agent sent before it took the ACK is in the queue now; drop it.
  settle(f.io);
  f.peer.clear();
  // Negative check, bounded by the run: four T2 intervals hold several retransmission
  // slots, and none is used.
  const bool another_200 = run_until(
      f.io, [&] { return f.peer.count([](const peer_message& p) { return p.msg.is_response(); }); },
      4 * fast_t2);
  CHECK_FALSE(another_200);
  CHECK(f.incoming.state() == call_state::established);
}

TEST_CASE("UAS: a BYE whose To tag matches no dialog is answered 481 and the call goes on") {
  uas_fixture f;
  f.establish();
  auto bye = f.in_dialog("BYE", 11);
  bye.to = f.to + ";tag=no-such-dialog";
  f.send(bye);
  auto rsp = f.peer.next_final(method::bye);
  REQUIRE(rsp);
  CHECK(rsp->msg.status_code() == 481);
  CHECK(rsp->to_tag() == "no-such-dialog");  // a To tag in the request is kept (§8.2.6.2)
  CHECK(rsp->cseq() == "11 BYE");
  CHECK(rsp->header(header_id::call_id) == f.call_id);
  CHECK(f.incoming.state() == call_state::established);
  CHECK(f.agent.call_count() == 1);
}

TEST_CASE("UAS: an INFO outside any dialog is answered 481") {
  uas_fixture f;
  f.send(f.out_of_dialog("INFO", 1));
  auto rsp = f.peer.next_final(method::info);
  REQUIRE(rsp);
  CHECK(rsp->msg.status_code() == 481);
  CHECK(rsp->cseq() == "1 INFO");
  CHECK(rsp->from_tag() == f.from_tag);
  CHECK(rsp->header(header_id::call_id) == f.call_id);
  CHECK(f.agent.call_count() == 0);
}

TEST_CASE("UAS: a CANCEL that matches no INVITE is answered 481 (RFC 3261 9.2)") {
  uas_fixture f;
  auto cancel = f.out_of_dialog("CANCEL", 1);
  f.send(cancel);
  auto rsp = f.peer.next_final(method::cancel);
  REQUIRE(rsp);
  CHECK(rsp->msg.status_code() == 481);
  CHECK(rsp->cseq() == "1 CANCEL");
  CHECK(rsp->branch() == cancel.branch);
  CHECK(f.agent.call_count() == 0);
}

TEST_CASE("UAS: an in-dialog request with a CSeq lower than the last one is answered 500") {
  uas_fixture f;
  f.establish();  // INVITE had CSeq 10
  f.send(f.in_dialog("INFO", 12));
  auto first = f.peer.next_final(method::info);
  REQUIRE(first);
  CHECK(first->msg.status_code() == 200);
  CHECK(first->cseq() == "12 INFO");
  f.send(f.in_dialog("INFO", 11));  // §12.2.2: lower than 12
  auto second = f.peer.next_final(method::info);
  REQUIRE(second);
  CHECK(second->msg.status_code() == 500);
  CHECK(second->cseq() == "11 INFO");
  CHECK(second->to_tag() == f.agent_tag);
  CHECK(f.incoming.state() == call_state::established);
}

TEST_CASE("UAS: OPTIONS is answered 200 with Allow of every handled method and Accept SDP") {
  uas_fixture f;
  f.send(f.out_of_dialog("OPTIONS", 1));
  auto rsp = f.peer.next_final(method::options);
  REQUIRE(rsp);
  CHECK(rsp->msg.status_code() == 200);
  CHECK(rsp->cseq() == "1 OPTIONS");
  CHECK_FALSE(rsp->to_tag().empty());
  CHECK(list_tokens(*rsp, header_id::allow) == k_allowed);
  CHECK(rsp->header("Accept") == "application/sdp");
  CHECK(f.peer.unparsable().empty());
  CHECK(f.agent.call_count() == 0);
}

// Issue 17: a registrar's 200 listing thousands of bindings outgrew a UDP datagram; the
// transport refused it and the handler never knew. respond() now says so, and the agent
// goes on answering.
TEST_CASE(
    "UAS: respond() of a response too large for UDP returns the error, the next request "
    "is answered") {
  // The transport's refusal, not the amplification budget's (which would suppress a
  // 70 KB response to a source that has not proven it receives first).
  uas_fixture f(false, trust_loopback);
  std::vector<std::error_code> results;
  bool answered_after = false;
  f.agent.on_request("OPTIONS", [&](ua::incoming_request& in) {
    auto rsp = in.make_response(200);
    if (in.message().cseq()->number == 1) rsp.add("X-Padding", std::string(70000, 'x'));
    results.push_back(in.respond(std::move(rsp)));
    answered_after = in.answered();
  });
  f.send(f.out_of_dialog("OPTIONS", 1));
  REQUIRE(run_until(f.io, [&] { return !results.empty(); }));
  CHECK(results[0]);  // the transport's error (message too large for UDP)
  CHECK(answered_after);
  f.send(f.out_of_dialog("OPTIONS", 2));
  auto rsp = f.peer.next_final(method::options);
  REQUIRE(rsp);
  CHECK(rsp->msg.status_code() == 200);
  CHECK(rsp->cseq() == "2 OPTIONS");
  REQUIRE(results.size() == 2);
  CHECK_FALSE(results[1]);
}

TEST_CASE("UAS: a method the agent does not handle (SUBSCRIBE) is answered 405 with Allow") {
  uas_fixture f;
  auto sub = f.out_of_dialog("SUBSCRIBE", 1);
  sub.extra = "Event: presence\r\nContact: <" + f.peer.uri("alice") + ">\r\n";
  f.send(sub);
  auto rsp = f.peer.next_final(method::subscribe);
  REQUIRE(rsp);
  CHECK(rsp->msg.status_code() == 405);
  CHECK(rsp->cseq() == "1 SUBSCRIBE");
  CHECK(list_tokens(*rsp, header_id::allow) == k_allowed);  // §8.2.1: MUST
}

TEST_CASE("UAS: an unknown method (FOO) is answered 501") {
  uas_fixture f;
  f.send(f.out_of_dialog("FOO", 1));
  auto rsp = f.peer.next([](const peer_message& p) {
    return p.msg.is_response() && p.msg.status_code() >= 200 && p.cseq() == "1 FOO";
  });
  REQUIRE(rsp);
  CHECK(rsp->msg.status_code() == 501);
  CHECK(rsp->header(header_id::call_id) == f.call_id);
}

// "precondition" (RFC 3312): an extension the agent does not support (it does support
// 100rel and, when configured, timer).
TEST_CASE("UAS: an INVITE with Require: precondition is answered 420 with Unsupported") {
  uas_fixture f;
  auto inv = f.invite();
  inv.extra += "Require: precondition\r\n";
  f.send(inv);
  auto rsp = f.peer.next_final(method::invite);
  REQUIRE(rsp);
  CHECK(rsp->msg.status_code() == 420);
  CHECK(rsp->header(header_id::unsupported) == "precondition");
  CHECK(rsp->cseq() == "10 INVITE");
  CHECK_FALSE(f.incoming);  // refused before the application saw it
  CHECK(f.agent.call_count() == 0);
  f.send(f.ack_for_failure(inv, *rsp));
}

TEST_CASE("UAS: an INVITE with a text/plain body is answered 415 with Accept: application/sdp") {
  uas_fixture f;
  auto inv = f.invite(10, "hello");
  inv.content_type = "text/plain";
  f.send(inv);
  auto rsp = f.peer.next_final(method::invite);
  REQUIRE(rsp);
  CHECK(rsp->msg.status_code() == 415);
  CHECK(rsp->header("Accept") == "application/sdp");
  CHECK_FALSE(f.incoming);
  CHECK(f.agent.call_count() == 0);
  f.send(f.ack_for_failure(inv, *rsp));
}

TEST_CASE("UAS: the core's 420 and 415 refusals of an INVITE carry a To tag (8.2.6.2)") {
  uas_fixture f;
  auto require = f.invite(10);
  require.extra += "Require: precondition\r\n";
  f.send(require);
  auto r420 = f.peer.next_final(method::invite);
  REQUIRE(r420);
  REQUIRE(r420->msg.status_code() == 420);
  f.send(f.ack_for_failure(require, *r420));

  auto text = f.invite(11, "hello");
  text.content_type = "text/plain";
  f.send(text);
  auto r415 = f.peer.next([](const peer_message& p) { return p.is_response(415, method::invite); });
  REQUIRE(r415);
  f.send(f.ack_for_failure(text, *r415));
  INFO("420: " << r420->bytes);
  INFO("415: " << r415->bytes);
  CHECK_FALSE(r420->to_tag().empty());
  CHECK_FALSE(r415->to_tag().empty());
}

TEST_CASE("UAS: an offer of only a codec the agent lacks makes answer() fail and sends 488") {
  uas_fixture f;
  std::optional<std::error_code> answered;
  f.policy = [&](call c) { answered = c.answer(); };
  auto inv = f.invite(10, sdp_offer("18", "G729/8000"));
  f.send(inv);
  auto rsp = f.peer.next_final(method::invite);
  REQUIRE(rsp);
  REQUIRE(answered);
  CHECK(*answered == errc::rejected);
  CHECK(rsp->msg.status_code() == 488);
  CHECK(rsp->cseq() == "10 INVITE");
  CHECK_FALSE(rsp->to_tag().empty());
  CHECK(f.incoming.state() == call_state::terminated);
  CHECK(f.incoming.final_status() == 488);
  CHECK(f.agent.call_count() == 0);
  f.send(f.ack_for_failure(inv, *rsp));
}

TEST_CASE("UAS: CANCEL of a ringing INVITE gets 200, the INVITE 487 with the 180's To tag") {
  uas_fixture f;
  f.policy = [](call c) { REQUIRE_FALSE(c.ring()); };
  auto inv = f.invite();
  f.send(inv);
  auto ringing = f.peer.next_response(180, method::invite);
  REQUIRE(ringing);
  // §9.1: same Request-URI, Call-ID, From, To (no tag), CSeq number and Via as the INVITE.
  auto cancel = inv;
  cancel.method = "CANCEL";
  cancel.cseq = "10 CANCEL";
  cancel.extra.clear();
  cancel.body.clear();
  f.send(cancel);
  auto cancel_ok = f.peer.next_final(method::cancel);
  auto terminated = f.peer.next_final(method::invite);
  REQUIRE(cancel_ok);
  REQUIRE(terminated);
  CHECK(cancel_ok->msg.status_code() == 200);
  CHECK(cancel_ok->cseq() == "10 CANCEL");
  CHECK(cancel_ok->to_tag() == ringing->to_tag());  // §9.2: SHOULD be the same
  CHECK(terminated->msg.status_code() == 487);
  CHECK(terminated->cseq() == "10 INVITE");
  CHECK(terminated->to_tag() == ringing->to_tag());
  f.send(f.ack_for_failure(inv, *terminated));
  REQUIRE(run_until(f.io, [&] { return f.incoming.state() == call_state::terminated; }));
  CHECK(f.incoming.final_status() == 487);
  CHECK(f.agent.call_count() == 0);
}

TEST_CASE("UAS: a re-INVITE with a sendonly offer is answered recvonly and puts the call on hold") {
  uas_fixture f;
  f.establish();
  f.events.clear();
  auto reinvite = f.in_dialog("INVITE", 11);
  reinvite.body = sdp_offer("0", "PCMU/8000", 2, "sendonly");
  f.send(reinvite);
  auto ok = f.peer.next_response(200, method::invite);
  REQUIRE(ok);
  CHECK(ok->cseq() == "11 INVITE");
  CHECK(ok->to_tag() == f.agent_tag);
  CHECK(ok->header(header_id::content_type) == "application/sdp");
  sdp::session answer;
  REQUIRE_FALSE(sdp::parse(ok->msg.body(), answer));
  REQUIRE(answer.media.size() == 1);
  CHECK(answer.direction_of(answer.media[0]) == sdp::direction::recvonly);
  CHECK(answer.media[0].fmts == std::vector<std::string>{"0"});
  f.send(f.ack_for_2xx(*ok));
  CHECK(f.incoming.remote_on_hold());
  CHECK(f.events == std::vector<ua::call_event::kind>{ua::call_event::kind::remote_hold});
  CHECK(f.incoming.state() == call_state::established);
}

TEST_CASE("UAS: a re-INVITE while the agent's own re-INVITE is pending is answered 491 (14.2)") {
  uas_fixture f;
  f.establish();
  std::optional<int> held;
  f.incoming.async_hold([&](std::error_code, int s) { held = s; });
  auto own = f.peer.next_request(method::invite);  // the agent's re-INVITE, left unanswered
  REQUIRE(own);
  auto reinvite = f.in_dialog("INVITE", 11);
  reinvite.body = sdp_offer("0", "PCMU/8000", 2, "sendonly");
  f.send(reinvite);
  auto rsp = f.peer.next([](const peer_message& p) {
    return p.msg.is_response() && p.msg.status_code() >= 200 && p.cseq() == "11 INVITE";
  });
  REQUIRE(rsp);
  INFO(rsp->bytes);
  CHECK(rsp->msg.status_code() == 491);
  if (rsp->msg.status_code() / 100 == 2) f.send(f.ack_for_2xx(*rsp));
}

// A registrar whose bindings live in Redis answers from the store's completion handler,
// after its request handler returned: defer() hands it the response.
TEST_CASE("UAS: a deferred request is answered from a later completion, not with 500") {
  uas_fixture f;
  std::shared_ptr<ua::deferred_request> held;
  std::error_code sent = make_error_code(std::errc::io_error);
  f.agent.on_request("OPTIONS", [&](ua::incoming_request& in) {
    held = in.defer();
    CHECK(in.defer() == held);  // the same promise
    boost::asio::post(f.io, [&] {
      auto rsp = held->make_response(202);
      rsp.add("X-Later", "yes");
      sent = held->respond(std::move(rsp));
    });
  });
  f.send(f.out_of_dialog("OPTIONS", 1));
  auto rsp = f.peer.next_final(method::options);
  REQUIRE(rsp);
  CHECK(rsp->msg.status_code() == 202);
  CHECK(rsp->msg.get("X-Later") == "yes");
  CHECK_FALSE(sent);
  CHECK(held->answered());
  CHECK(held->message().cseq()->number == 1);  // its own copy of the request
  CHECK(held->respond(held->make_response(200)) == ua::errc::invalid_state);
}

TEST_CASE("UAS: a deferred request dropped unanswered is answered 500") {
  uas_fixture f;
  f.agent.on_request("OPTIONS", [&](ua::incoming_request& in) {
    boost::asio::post(f.io, [d = in.defer()] {});  // released unanswered
  });
  f.send(f.out_of_dialog("OPTIONS", 1));
  auto rsp = f.peer.next_final(method::options);
  REQUIRE(rsp);
  CHECK(rsp->msg.status_code() == 500);
}
