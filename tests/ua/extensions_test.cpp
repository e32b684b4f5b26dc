// The UA's SIP extensions against a scripted raw peer: merged requests (RFC 3261
// §8.2.2.2), reliable provisional responses on both ends (RFC 3262), session timers
// (RFC 4028) and UPDATE in an early dialog (RFC 3311). The peer plays the other side with
// hand-written SIP text and checks, field by field, what the agent puts on the wire.
#include <catch2/catch.hpp>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
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

ua::ua_config agent_config(bool fast_timers) {
  auto cfg = loopback_config("bob");
  if (fast_timers) {
    cfg.transactions.timers.t1 = fast_t1;
    cfg.transactions.timers.t2 = fast_t2;
  }
  return cfg;
}

/// An agent with RFC 4028 session timers of 2 s (Min-SE 1 s) and small T1.
ua::ua_config timer_config() {
  auto cfg = agent_config(true);
  cfg.session_expires = 2s;
  cfg.min_se = 1s;
  return cfg;
}

/// Whether any line of a comma-list header (Require, Supported ...) lists `token`.
bool lists_token(const peer_message& m, header_id id, std::string_view token) {
  for (const auto& f : m.msg.fields()) {
    if (f.id != id) continue;
    std::string_view v = m.msg.value_of(f);
    while (!v.empty()) {
      auto comma = v.find(',');
      auto item = v.substr(0, comma);
      while (!item.empty() && item.front() == ' ') item.remove_prefix(1);
      while (!item.empty() && item.back() == ' ') item.remove_suffix(1);
      if (parser::iequals(item, token)) return true;
      if (comma == std::string_view::npos) break;
      v.remove_prefix(comma + 1);
    }
  }
  return false;
}

bool is_bye(const peer_message& p) { return p.is_request(method::bye); }
bool is_prack(const peer_message& p) { return p.is_request(method::prack); }
bool is_180(const peer_message& p) { return p.is_response(180, method::invite); }
bool is_ack(const peer_message& p) { return p.is_request(method::ack); }

/// The agent (bob) answers; the raw peer (alice) calls it. `policy` decides what an
/// incoming call gets (default: ring, then answer).
struct uas_fixture {
  explicit uas_fixture(bool fast_timers = false) : uas_fixture(agent_config(fast_timers)) {}
  explicit uas_fixture(ua::ua_config cfg) : agent(io, std::move(cfg)), peer(io) {
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
      ++offered;
      incoming = c;
      policy(c);
    });
  }

  /// "Contact: <sip:alice@127.0.0.1:P>\r\n": the peer's remote target.
  std::string contact_line() const { return "Contact: <" + peer.uri("alice") + ">\r\n"; }
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
    if (m == "INVITE") r.extra = contact_line();
    return r;
  }
  request_text invite(std::uint32_t cseq = 10, std::string body = sdp_offer("0", "PCMU/8000")) {
    auto r = out_of_dialog("INVITE", cseq);
    r.body = std::move(body);
    return r;
  }
  /// Learn the dialog (agent's tag and Contact) from a response of the agent that made it
  /// (a 180 for an early dialog, the 200 for a confirmed one).
  void learn_dialog(const peer_message& rsp) {
    agent_tag = rsp.to_tag();
    agent_contact = rsp.contact_uri();
    REQUIRE_FALSE(agent_tag.empty());
    REQUIRE_FALSE(agent_contact.empty());
  }
  /// A request inside the dialog learnt by learn_dialog.
  request_text in_dialog(std::string_view m, std::uint32_t cseq) {
    auto r = out_of_dialog(m, cseq);
    r.uri = agent_contact;
    r.to = to + ";tag=" + agent_tag;
    return r;
  }
  /// PRACK (RFC 3262 §7.1) in the early dialog with this RAck value ("<rseq> 10 INVITE").
  request_text prack(std::uint32_t cseq, std::string_view rack) {
    auto r = in_dialog("PRACK", cseq);
    r.extra = "RAck: " + std::string(rack) + "\r\n";
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

  /// `inv`, the agent's 200 (the default policy answers), the peer's ACK: established on
  /// both ends. Returns the 200.
  peer_message establish(const request_text& inv) {
    send(inv);
    auto ok = peer.next_response(200, method::invite);
    REQUIRE(ok);
    learn_dialog(*ok);
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
  std::string agent_tag, agent_contact;  // of the dialog, after learn_dialog()
  call incoming;
  int offered = 0;  // calls handed to on_incoming_call
  /// What an incoming call gets (set by the constructor: ring, then answer).
  std::function<void(call)> policy;
};

/// The agent (alice) calls the raw peer (bob).
struct uac_fixture {
  uac_fixture() : agent(io, loopback_config("alice")), peer(io) { REQUIRE_FALSE(agent.start()); }

  /// make_call to the peer; returns the INVITE the peer received.
  peer_message dial(ua::call_options options = {}) {
    c = agent.make_call(peer.uri("bob"), std::move(options));
    c.async_wait_connected([this](std::error_code ec) { connected = ec; });
    auto inv = peer.next_request(method::invite);
    REQUIRE(inv);
    return std::move(*inv);
  }
  /// Send the peer's response to `req` back to where `req` came from (the agent).
  void reply(const peer_message& req, int code, std::string_view tag, std::string_view extra = {},
             std::string_view body = {}) {
    peer.send(response_text(req, code, tag, extra, body), req.from);
  }
  /// "Contact: <sip:bob-ua@127.0.0.1:P>\r\n": the peer's remote target.
  std::string contact_line() const { return "Contact: <" + peer.uri("bob-ua") + ">\r\n"; }

  boost::asio::io_context io;
  ua::user_agent agent;
  raw_peer peer;
  call c;
  std::optional<std::error_code> connected;
  const std::string answer = sdp_offer("0", "PCMU/8000");
};

}  // namespace

// ------------------------------------------------------------------ RFC 3261 §8.2.2.2

TEST_CASE("extensions: a merged INVITE (same From tag, Call-ID and CSeq, new branch) gets 482",
          "[extensions]") {
  uas_fixture f;
  f.policy = [](call c) { REQUIRE_FALSE(c.ring()); };
  auto first = f.invite();
  f.send(first);
  auto ringing = f.peer.next_response(180, method::invite);
  REQUIRE(ringing);
  REQUIRE(f.incoming);
  CHECK(f.incoming.state() == call_state::ringing);

  // The same request again through another path of a forking proxy: only the branch differs.
  auto second = first;
  second.branch = f.peer.new_branch();
  f.send(second);
  auto merged = f.peer.next([&](const peer_message& p) {
    return p.msg.is_response() && p.msg.status_code() >= 200 && p.branch() == second.branch;
  });
  REQUIRE(merged);
  INFO(merged->bytes);
  CHECK(merged->msg.status_code() == 482);
  CHECK(merged->cseq() == "10 INVITE");
  CHECK(merged->header(header_id::call_id) == f.call_id);
  CHECK(merged->from_tag() == f.from_tag);
  CHECK_FALSE(merged->to_tag().empty());  // §8.2.6.2
  f.send(f.ack_for_failure(second, *merged));
  settle(f.io);
  CHECK(f.offered == 1);  // the application never saw the merged copy
  CHECK(f.agent.call_count() == 1);
  CHECK(f.incoming.state() == call_state::ringing);

  // The first INVITE still goes on: answered, ACKed, established.
  REQUIRE_FALSE(f.incoming.answer());
  auto ok = f.peer.next_response(200, method::invite);
  REQUIRE(ok);
  CHECK(ok->branch() == first.branch);
  CHECK(ok->to_tag() == ringing->to_tag());
  f.send(f.ack_for_2xx(*ok));
  REQUIRE(run_until(f.io, [&] { return f.incoming.state() == call_state::established; }));
  CHECK(f.agent.call_count() == 1);
  CHECK(f.peer.count([&](const peer_message& p) {
    return p.msg.is_response() && p.branch() == second.branch && p.msg.status_code() != 482;
  }) == 0);
  CHECK(f.peer.unparsable().empty());
}

TEST_CASE("extensions: among 40 INVITEs in progress, only the copy of one of them gets 482",
          "[extensions]") {
  // More requests than the merged-request table's first size holds: it grows, and every
  // request is still told apart from the others by its CSeq.
  uas_fixture f;
  f.policy = [](call c) { REQUIRE_FALSE(c.ring()); };
  std::vector<request_text> sent;
  for (std::uint32_t i = 0; i < 40; ++i) {
    sent.push_back(f.invite(10 + i));
    f.send(sent.back());
  }
  settle(f.io);
  CHECK(f.offered == 40);
  auto copy = sent[27];
  copy.branch = f.peer.new_branch();
  f.send(copy);
  auto merged = f.peer.next([&](const peer_message& p) {
    return p.msg.is_response() && p.msg.status_code() >= 200 && p.branch() == copy.branch;
  });
  REQUIRE(merged);
  CHECK(merged->msg.status_code() == 482);
  CHECK(merged->cseq() == "37 INVITE");
  // next() took that one from the inbox: no other INVITE was refused as merged.
  CHECK(f.peer.count([](const peer_message& p) {
    return p.msg.is_response() && p.msg.status_code() == 482;
  }) == 0);
}

// ------------------------------------------------------------------ RFC 3262, UAS

TEST_CASE("extensions: a reliable 180 without PRACK is retransmitted, then the INVITE gets 504",
          "[extensions]") {
  // RFC 3262's schedule towards a peer that never PRACKs: the amplification budget, which
  // stops it for sources that have not proven they receive, is off for loopback here.
  auto cfg = agent_config(true);
  cfg.transactions.exempt_loopback = true;
  uas_fixture f(std::move(cfg));
  f.policy = [](call c) { REQUIRE_FALSE(c.ring()); };
  auto inv = f.invite();
  inv.extra += "Supported: 100rel\r\n";
  f.send(inv);
  auto first = f.peer.next_response(180, method::invite);
  REQUIRE(first);
  INFO(first->bytes);
  CHECK(lists_token(*first, header_id::require, "100rel"));
  const std::string rseq = first->header("RSeq");
  REQUIRE_FALSE(rseq.empty());
  const auto rseq_value = std::stoull(rseq);
  CHECK(rseq_value >= 1);
  CHECK(rseq_value <= 2147483647ull);  // §7.1: 1 .. 2^31 - 1

  // No PRACK: the same 180 again, same RSeq (§3).
  auto again1 = f.peer.next_response(180, method::invite);
  auto again2 = f.peer.next_response(180, method::invite);
  REQUIRE(again1);
  REQUIRE(again2);
  CHECK(again1->header("RSeq") == rseq);
  CHECK(again2->header("RSeq") == rseq);
  CHECK(again1->to_tag() == first->to_tag());
  CHECK(again2->to_tag() == first->to_tag());

  // After 64*T1 without PRACK the INVITE is refused with a 5xx: 504.
  auto final_rsp = f.peer.next_final(method::invite);
  REQUIRE(final_rsp);
  CHECK(final_rsp->msg.status_code() == 504);
  CHECK(final_rsp->cseq() == "10 INVITE");
  CHECK(final_rsp->to_tag() == first->to_tag());
  f.send(f.ack_for_failure(inv, *final_rsp));
  REQUIRE(run_until(f.io, [&] { return f.incoming.state() == call_state::terminated; }));
  CHECK(f.incoming.final_status() == 504);
  CHECK(f.agent.call_count() == 0);
  // Every 180 that came before the 504 was the same reliable provisional.
  for (const auto& m : f.peer.take_all(is_180)) CHECK(m.header("RSeq") == rseq);
}

TEST_CASE("extensions: a PRACK naming the reliable 180 gets 200 and stops its retransmissions",
          "[extensions]") {
  uas_fixture f(true);
  f.policy = [](call c) { REQUIRE_FALSE(c.ring()); };
  auto inv = f.invite();
  inv.extra += "Supported: 100rel\r\n";
  f.send(inv);
  auto ringing = f.peer.next_response(180, method::invite);
  REQUIRE(ringing);
  const std::string rseq = ringing->header("RSeq");
  REQUIRE_FALSE(rseq.empty());
  f.learn_dialog(*ringing);

  f.send(f.prack(11, rseq + " 10 INVITE"));
  auto ok = f.peer.next_final(method::prack);
  REQUIRE(ok);
  CHECK(ok->msg.status_code() == 200);
  CHECK(ok->cseq() == "11 PRACK");
  CHECK(ok->to_tag() == f.agent_tag);
  // Whatever the agent sent before it took the PRACK is in the queue now; drop it.
  settle(f.io);
  f.peer.clear();
  // Negative check, bounded by the run: 32 T1 hold the retransmission slots at 15 and 31
  // T1 after the first 180, and none is used.
  const bool another_180 = run_until(
      f.io, [&] { return f.peer.count(is_180) > 0; }, 32 * fast_t1);
  CHECK_FALSE(another_180);
  CHECK(f.incoming.state() == call_state::ringing);

  // The call goes on: answered, ACKed, established.
  REQUIRE_FALSE(f.incoming.answer());
  auto inv_ok = f.peer.next_response(200, method::invite);
  REQUIRE(inv_ok);
  CHECK(inv_ok->to_tag() == f.agent_tag);
  f.send(f.ack_for_2xx(*inv_ok));
  REQUIRE(run_until(f.io, [&] { return f.incoming.state() == call_state::established; }));
}

TEST_CASE("extensions: a PRACK whose RAck names no reliable provisional is answered 481",
          "[extensions]") {
  uas_fixture f;
  f.policy = [](call c) { REQUIRE_FALSE(c.ring()); };
  auto inv = f.invite();
  inv.extra += "Supported: 100rel\r\n";
  f.send(inv);
  auto ringing = f.peer.next_response(180, method::invite);
  REQUIRE(ringing);
  const std::string rseq = ringing->header("RSeq");
  REQUIRE_FALSE(rseq.empty());
  f.learn_dialog(*ringing);

  // A response number we never sent.
  f.send(f.prack(11, std::to_string(std::stoull(rseq) + 1) + " 10 INVITE"));
  auto wrong_rseq = f.peer.next_final(method::prack);
  REQUIRE(wrong_rseq);
  CHECK(wrong_rseq->msg.status_code() == 481);
  CHECK(wrong_rseq->cseq() == "11 PRACK");
  // The right response number, but the CSeq of another INVITE.
  f.send(f.prack(12, rseq + " 9 INVITE"));
  auto wrong_cseq = f.peer.next_final(method::prack);
  REQUIRE(wrong_cseq);
  CHECK(wrong_cseq->msg.status_code() == 481);
  CHECK(wrong_cseq->cseq() == "12 PRACK");
  CHECK(f.incoming.state() == call_state::ringing);

  // The reliable 180 is still pending: the right RAck is taken.
  f.send(f.prack(13, rseq + " 10 INVITE"));
  auto right = f.peer.next_final(method::prack);
  REQUIRE(right);
  CHECK(right->msg.status_code() == 200);
  CHECK(right->cseq() == "13 PRACK");
}

// ------------------------------------------------------------------ RFC 3262, UAC

TEST_CASE("extensions: the UAC PRACKs each new reliable 18x once, in its early dialog",
          "[extensions]") {
  uac_fixture f;
  auto inv = f.dial();
  INFO(inv.bytes);
  CHECK(lists_token(inv, header_id::supported, "100rel"));

  const std::string ringing =
      response_text(inv, 180, "bob-1", f.contact_line() + "Require: 100rel\r\nRSeq: 7\r\n");
  f.peer.send(ringing, inv.from);
  auto prack = f.peer.next_request(method::prack);
  REQUIRE(prack);
  INFO(prack->bytes);
  CHECK(prack->request_uri() == f.peer.uri("bob-ua"));  // the 180's Contact
  CHECK(prack->to_tag() == "bob-1");
  CHECK(prack->from_tag() == inv.from_tag());
  CHECK(prack->header(header_id::call_id) == inv.header(header_id::call_id));
  CHECK(prack->cseq() == "2 PRACK");
  CHECK(prack->header("RAck") == "7 1 INVITE");
  CHECK(prack->branch() != inv.branch());
  f.reply(*prack, 200, {});
  REQUIRE(run_until(f.io, [&] { return f.c.state() == call_state::early; }));

  // A retransmission of that 180, then a new reliable 180 (RSeq 8). The agent takes them
  // in order, so a PRACK for the retransmission would come before the one for RSeq 8.
  f.peer.send(ringing, inv.from);
  f.peer.send(response_text(inv, 180, "bob-1", f.contact_line() + "Require: 100rel\r\nRSeq: 8\r\n"),
              inv.from);
  auto second = f.peer.next_request(method::prack);
  REQUIRE(second);
  INFO(second->bytes);
  CHECK(second->header("RAck") == "8 1 INVITE");
  CHECK(second->cseq() == "3 PRACK");
  CHECK(second->to_tag() == "bob-1");
  CHECK(second->request_uri() == f.peer.uri("bob-ua"));
  f.reply(*second, 200, {});
  // Negative check, bounded by the run: no further PRACK (none for the retransmission).
  const bool another_prack = run_until(
      f.io, [&] { return f.peer.count(is_prack) > 0; }, 300ms);
  CHECK_FALSE(another_prack);

  // The call completes in the same dialog; the BYE's CSeq follows the two PRACKs.
  f.reply(inv, 200, "bob-1", f.contact_line(), f.answer);
  auto ack = f.peer.next(is_ack);
  REQUIRE(ack);
  CHECK(ack->cseq() == "1 ACK");
  REQUIRE(run_until(f.io, [&] { return f.connected.has_value(); }));
  CHECK_FALSE(*f.connected);
  std::optional<std::error_code> hung_up;
  f.c.async_hangup([&](std::error_code ec) { hung_up = ec; });
  auto bye = f.peer.next_request(method::bye);
  REQUIRE(bye);
  CHECK(bye->cseq() == "4 BYE");
  f.reply(*bye, 200, {});
  REQUIRE(run_until(f.io, [&] { return hung_up.has_value(); }));
  CHECK(f.peer.unparsable().empty());
}

TEST_CASE("extensions: each fork's reliable 183 offer is answered in that fork's PRACK",
          "[extensions]") {
  // A forking proxy (the peer) brings two early dialogs, each offering in a reliable 183
  // (the INVITE had no SDP). RFC 3261 §13.2.1, RFC 3262 §5: one exchange per dialog.
  uac_fixture f;
  const std::string offer1 = sdp_offer("0", "PCMU/8000");
  const std::string offer2 = sdp_offer("8", "PCMA/8000");
  const std::string answer1 = "v=0\r\no=alice 1 1 IN IP4 127.0.0.1\r\ns=one\r\n";
  const std::string answer2 = "v=0\r\no=alice 2 1 IN IP4 127.0.0.1\r\ns=two\r\n";
  std::vector<std::string> offers_seen;
  ua::call_options o;
  o.delayed_offer = true;
  o.answer_offer = [&](std::string_view offer) {
    offers_seen.emplace_back(offer);
    return offer == offer1 ? answer1 : offer == offer2 ? answer2 : std::string();
  };
  auto inv = f.dial(o);
  INFO(inv.bytes);
  CHECK(inv.msg.body().empty());
  f.peer.send(response_text(inv, 183, "fork-1", f.contact_line() + "Require: 100rel\r\nRSeq: 1\r\n",
                            offer1),
              inv.from);
  f.peer.send(response_text(inv, 183, "fork-2", f.contact_line() + "Require: 100rel\r\nRSeq: 1\r\n",
                            offer2),
              inv.from);
  auto prack_of = [&](std::string_view tag) {
    return f.peer.next([&](const peer_message& p) { return is_prack(p) && p.to_tag() == tag; });
  };
  auto prack1 = prack_of("fork-1");
  auto prack2 = prack_of("fork-2");
  REQUIRE(prack1);
  REQUIRE(prack2);
  INFO(prack1->bytes);
  INFO(prack2->bytes);
  CHECK(prack1->msg.body() == answer1);
  CHECK(prack2->msg.body() == answer2);
  CHECK(prack1->header(header_id::content_type) == "application/sdp");
  CHECK(prack2->header(header_id::content_type) == "application/sdp");
  CHECK(prack1->header("RAck") == "1 1 INVITE");
  CHECK(prack2->header("RAck") == "1 1 INVITE");
  CHECK(prack1->cseq() == "2 PRACK");
  CHECK(prack2->cseq() == "2 PRACK");
  CHECK(offers_seen == std::vector<std::string>{offer1, offer2});
  f.reply(*prack1, 200, {});
  f.reply(*prack2, 200, {});

  // The second fork answers: its 200 repeats its offer (no new offer); the ACK is empty.
  f.reply(inv, 200, "fork-2", f.contact_line(), offer2);
  auto ack = f.peer.next(is_ack);
  REQUIRE(ack);
  INFO(ack->bytes);
  CHECK(ack->to_tag() == "fork-2");
  CHECK(ack->msg.body().empty());
  REQUIRE(run_until(f.io, [&] { return f.connected.has_value(); }));
  CHECK_FALSE(*f.connected);
  CHECK(f.c.remote_sdp() == offer2);
  CHECK(f.c.local_sdp() == answer2);
  CHECK(offers_seen.size() == 2);
  std::optional<std::error_code> hung_up;
  f.c.async_hangup([&](std::error_code ec) { hung_up = ec; });
  auto bye = f.peer.next_request(method::bye);
  REQUIRE(bye);
  CHECK(bye->to_tag() == "fork-2");
  CHECK(bye->cseq() == "3 BYE");
  f.reply(*bye, 200, {});
  REQUIRE(run_until(f.io, [&] { return hung_up.has_value(); }));
  CHECK(f.peer.unparsable().empty());
}

// ------------------------------------------------------------------ RFC 4028

TEST_CASE("extensions: the non-refresher UAS sends BYE when the refresher never refreshes",
          "[extensions]") {
  uas_fixture f(timer_config());
  auto inv = f.invite();
  inv.extra += "Supported: timer\r\nSession-Expires: 2;refresher=uac\r\n";
  auto ok = f.establish(inv);
  INFO(ok.bytes);
  CHECK(ok.header(header_id::session_expires) == "2;refresher=uac");
  CHECK(lists_token(ok, header_id::require, "timer"));  // §9: the UAC refreshes
  CHECK(f.incoming.session_interval() == 2s);

  // No refresh comes: the agent ends the session before it expires (§10).
  auto bye = f.peer.next_request(method::bye, 5000ms);
  REQUIRE(bye);
  CHECK(bye->request_uri() == f.peer.uri("alice"));
  CHECK(bye->from_tag() == f.agent_tag);
  CHECK(bye->to_tag() == f.from_tag);
  CHECK(bye->header(header_id::call_id) == f.call_id);
  f.peer.send(response_text(*bye, 200), bye->from);
  REQUIRE(run_until(f.io, [&] { return f.incoming.state() == call_state::terminated; }));
  CHECK(f.agent.call_count() == 0);
}

TEST_CASE("extensions: UPDATE refreshes from the refresher keep the session up", "[extensions]") {
  uas_fixture f(timer_config());
  auto inv = f.invite();
  inv.extra += "Supported: timer\r\nSession-Expires: 2;refresher=uac\r\n";
  auto ok = f.establish(inv);
  REQUIRE(ok.header(header_id::session_expires) == "2;refresher=uac");

  for (std::uint32_t cseq = 11; cseq <= 13; ++cseq) {
    // Negative check, bounded by the run: one second without a refresh is less than the
    // 2 - 2/3 s the agent waits, so no BYE yet.
    const bool bye = run_until(
        f.io, [&] { return f.peer.count(is_bye) > 0; }, 1000ms);
    REQUIRE_FALSE(bye);
    auto update = f.in_dialog("UPDATE", cseq);
    update.extra = f.contact_line() + "Supported: timer\r\nSession-Expires: 2;refresher=uac\r\n";
    f.send(update);
    auto rsp = f.peer.next_final(method::update);
    REQUIRE(rsp);
    INFO(rsp->bytes);
    CHECK(rsp->msg.status_code() == 200);
    CHECK(rsp->cseq() == std::to_string(cseq) + " UPDATE");
    CHECK(rsp->to_tag() == f.agent_tag);
    CHECK(rsp->header(header_id::session_expires) == "2;refresher=uac");
  }
  settle(f.io);
  CHECK(f.peer.count(is_bye) == 0);
  CHECK(f.incoming.state() == call_state::established);
  CHECK(f.incoming.session_interval() == 2s);
}

// RFC 4028 §9: "If the refresher parameter in the Session-Expires header field in the 2xx
// response has a value of 'uac', the UAS MUST place a Require header field into the
// response with the value 'timer'" — for a session refresh as for the initial INVITE.
TEST_CASE("extensions: the 200 to a refreshing UPDATE with refresher=uac has Require: timer",
          "[extensions]") {
  uas_fixture f(timer_config());
  auto inv = f.invite();
  inv.extra += "Supported: timer\r\nSession-Expires: 2;refresher=uac\r\n";
  f.establish(inv);
  auto update = f.in_dialog("UPDATE", 11);
  update.extra = f.contact_line() + "Supported: timer\r\nSession-Expires: 2;refresher=uac\r\n";
  f.send(update);
  auto rsp = f.peer.next_final(method::update);
  REQUIRE(rsp);
  INFO(rsp->bytes);
  REQUIRE(rsp->msg.status_code() == 200);
  CHECK(rsp->header(header_id::session_expires) == "2;refresher=uac");
  CHECK(lists_token(*rsp, header_id::require, "timer"));
}

TEST_CASE("extensions: an INVITE with a Session-Expires below the Min-SE gets 422 with Min-SE",
          "[extensions]") {
  auto cfg = agent_config(false);
  cfg.session_expires = 1800s;
  cfg.min_se = 90s;
  uas_fixture f(cfg);
  auto inv = f.invite();
  inv.extra += "Supported: timer\r\nSession-Expires: 1\r\n";
  f.send(inv);
  auto rsp = f.peer.next_final(method::invite);
  REQUIRE(rsp);
  INFO(rsp->bytes);
  CHECK(rsp->msg.status_code() == 422);
  CHECK(rsp->header("Min-SE") == "90");
  CHECK(rsp->cseq() == "10 INVITE");
  CHECK_FALSE(rsp->to_tag().empty());
  CHECK_FALSE(f.incoming);  // refused before the application saw it
  CHECK(f.agent.call_count() == 0);
  f.send(f.ack_for_failure(inv, *rsp));
}

// ua_config documents min_se as "the smallest interval we accept (422 below it)" and
// session_expires = 0 as "none, but a peer's Session-Expires is still honoured". With the
// defaults (0 and 90 s) the agent honours the peer's interval, so its Min-SE is the local
// minimum RFC 4028 §9 lets it enforce with a 422 (§8.1), as it does when session_expires
// is set; accepting 1 s instead means a BYE after 2/3 s unless the peer refreshes.
TEST_CASE("extensions: with the default config a Session-Expires of 1 s is refused with 422",
          "[extensions]") {
  uas_fixture f;  // session_expires 0, min_se 90 s
  REQUIRE(f.agent.config().session_expires.count() == 0);
  REQUIRE(f.agent.config().min_se == 90s);
  auto inv = f.invite();
  inv.extra += "Supported: timer\r\nSession-Expires: 1\r\n";
  f.send(inv);
  auto rsp = f.peer.next_final(method::invite);
  REQUIRE(rsp);
  INFO(rsp->bytes);
  CHECK(rsp->msg.status_code() == 422);
  CHECK(rsp->header("Min-SE") == "90");
  if (rsp->msg.status_code() / 100 == 2)
    f.send(f.ack_for_2xx(*rsp));
  else
    f.send(f.ack_for_failure(inv, *rsp));
  if (f.incoming) CHECK(f.incoming.session_interval() != 1s);
}

// Issue 10: an INVITE with Require: timer was answered 420 unless session_expires > 0,
// although the agent runs a session timer for any peer that asks. RFC 4028 §9: a UAS
// that supports the extension accepts it; ours always does.
TEST_CASE("extensions: Require: timer with Session-Expires is accepted with session_expires 0",
          "[extensions]") {
  uas_fixture f;  // session_expires 0, min_se 90 s
  REQUIRE(f.agent.config().session_expires.count() == 0);
  auto inv = f.invite();
  inv.extra += "Supported: timer\r\nRequire: timer\r\nSession-Expires: 1800;refresher=uac\r\n";
  auto ok = f.establish(inv);
  INFO(ok.bytes);
  CHECK(ok.msg.status_code() == 200);
  CHECK(ok.header(header_id::session_expires) == "1800;refresher=uac");
  CHECK(lists_token(ok, header_id::require, "timer"));  // §9: the UAC refreshes
  CHECK(f.incoming.session_interval() == 1800s);
}

// ------------------------------------------------------------------ RFC 3311

TEST_CASE("extensions: an UPDATE offer in the early dialog after an unreliable 180 is answered",
          "[extensions]") {
  uas_fixture f;
  f.policy = [](call c) { REQUIRE_FALSE(c.ring()); };
  // No offer in the INVITE (and no 100rel): when the UPDATE comes, no offer of either side
  // is waiting for its answer (§5.2).
  auto inv = f.invite(10, "");
  f.send(inv);
  auto ringing = f.peer.next_response(180, method::invite);
  REQUIRE(ringing);
  CHECK(ringing->header("RSeq").empty());  // unreliable
  CHECK_FALSE(lists_token(*ringing, header_id::require, "100rel"));
  f.learn_dialog(*ringing);

  auto update = f.in_dialog("UPDATE", 11);
  update.extra = f.contact_line();
  update.body = sdp_offer("0", "PCMU/8000");
  f.send(update);
  auto rsp = f.peer.next_final(method::update);
  REQUIRE(rsp);
  INFO(rsp->bytes);
  CHECK(rsp->msg.status_code() == 200);
  CHECK(rsp->cseq() == "11 UPDATE");
  CHECK(rsp->to_tag() == f.agent_tag);
  CHECK(rsp->header(header_id::content_type) == "application/sdp");
  sdp::session answer;
  REQUIRE_FALSE(sdp::parse(rsp->msg.body(), answer));
  REQUIRE(answer.media.size() == 1);
  CHECK(answer.media[0].port != 0);
  CHECK(answer.media[0].fmts == std::vector<std::string>{"0"});
  CHECK(f.incoming.state() == call_state::ringing);

  // The INVITE still completes.
  REQUIRE_FALSE(f.incoming.answer());
  auto ok = f.peer.next_response(200, method::invite);
  REQUIRE(ok);
  f.send(f.ack_for_2xx(*ok));
  REQUIRE(run_until(f.io, [&] { return f.incoming.state() == call_state::established; }));
}

// RFC 3311 §5.2: "if an UPDATE is received that contains an offer, and the UAS has received
// an offer (in an UPDATE, PRACK, or INVITE) to which it has not yet generated an answer, the
// UAS MUST reject the UPDATE with a 500 response, and MUST include a Retry-After header
// field". The agent's unreliable 180 carries no answer to the INVITE's offer.
TEST_CASE("extensions: an UPDATE offer while the INVITE's offer is unanswered gets 500",
          "[extensions]") {
  uas_fixture f;
  f.policy = [](call c) { REQUIRE_FALSE(c.ring()); };
  auto inv = f.invite();  // with an offer
  f.send(inv);
  auto ringing = f.peer.next_response(180, method::invite);
  REQUIRE(ringing);
  CHECK(ringing->msg.body().empty());  // no answer yet
  f.learn_dialog(*ringing);

  auto update = f.in_dialog("UPDATE", 11);
  update.extra = f.contact_line();
  update.body = sdp_offer("0", "PCMU/8000", 2);
  f.send(update);
  auto rsp = f.peer.next_final(method::update);
  REQUIRE(rsp);
  INFO(rsp->bytes);
  CHECK(rsp->msg.status_code() == 500);
  CHECK_FALSE(rsp->header("Retry-After").empty());
}
