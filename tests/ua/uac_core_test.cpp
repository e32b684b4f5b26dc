// The UA as UAC against a scripted raw peer: the agent calls the peer, the peer answers
// with hand-written SIP text (provisional and final responses, Record-Route, forks) and
// checks, field by field, the ACKs, CANCELs and BYEs the agent sends (RFC 3261 §9.1,
// §12.1.2, §12.2.1.1, §13.2.2.4, §17.1.1.3).
#include <catch2/catch.hpp>
#include <optional>
#include <string>
#include <vector>

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

/// The agent (alice) calls the raw peer (bob).
struct uac_fixture {
  uac_fixture() : agent(io, loopback_config("alice")), peer(io) { REQUIRE_FALSE(agent.start()); }

  /// make_call to the peer; returns the INVITE the peer received.
  peer_message dial() {
    c = agent.make_call(peer.uri("bob"));
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
  /// "Contact: <sip:<user>@127.0.0.1:P>\r\n": the peer's remote target.
  std::string contact_line(std::string_view user = "bob-ua") const {
    return "Contact: <" + peer.uri(user) + ">\r\n";
  }

  boost::asio::io_context io;
  ua::user_agent agent;
  raw_peer peer;
  call c;
  std::optional<std::error_code> connected;
  const std::string answer = sdp_offer("0", "PCMU/8000");
};

bool is_ack(const peer_message& p) { return p.is_request(method::ack); }

}  // namespace

TEST_CASE("UAC: the ACK for a 2xx is a new transaction routed by the reversed Record-Route") {
  uac_fixture f;
  auto inv = f.dial();
  const std::string rr =
      "Record-Route: <" + f.peer.uri("proxy1") + ";lr>, <" + f.peer.uri("proxy2") + ";lr>\r\n";
  f.reply(inv, 180, "bob-1", f.contact_line() + rr);
  f.reply(inv, 200, "bob-1", f.contact_line() + rr, f.answer);
  auto ack = f.peer.next(is_ack);
  REQUIRE(ack);
  CHECK(ack->cseq() == "1 ACK");
  CHECK(ack->branch() != inv.branch());  // §13.2.2.4: its own transaction
  CHECK(ack->branch().rfind("z9hG4bK", 0) == 0);
  CHECK(ack->request_uri() == f.peer.uri("bob-ua"));  // the 2xx's Contact
  // §12.1.2: the UAC's route set is the Record-Route in reverse order.
  CHECK(ack->addresses(header_id::route) ==
        std::vector<std::string>{"<" + f.peer.uri("proxy2") + ";lr>",
                                 "<" + f.peer.uri("proxy1") + ";lr>"});
  CHECK(ack->to_tag() == "bob-1");
  CHECK(ack->from_tag() == inv.from_tag());
  CHECK(ack->header(header_id::call_id) == inv.header(header_id::call_id));
  REQUIRE(run_until(f.io, [&] { return f.connected.has_value(); }));
  CHECK_FALSE(*f.connected);
  CHECK(f.c.state() == call_state::established);

  std::optional<std::error_code> hung_up;
  f.c.async_hangup([&](std::error_code ec) { hung_up = ec; });
  auto bye = f.peer.next_request(method::bye);
  REQUIRE(bye);
  CHECK(bye->cseq() == "2 BYE");
  CHECK(bye->request_uri() == f.peer.uri("bob-ua"));
  CHECK(bye->addresses(header_id::route) == ack->addresses(header_id::route));
  CHECK(bye->to_tag() == "bob-1");
  f.reply(*bye, 200, {});
  REQUIRE(run_until(f.io, [&] { return hung_up.has_value(); }));
  CHECK_FALSE(*hung_up);
  CHECK(f.c.final_status() == 200);
  CHECK(f.agent.call_count() == 0);
  CHECK(f.peer.unparsable().empty());
}

TEST_CASE("UAC: every retransmission of the 2xx is answered with the same ACK again") {
  uac_fixture f;
  auto inv = f.dial();
  f.reply(inv, 180, "bob-1", f.contact_line());
  const std::string ok = response_text(inv, 200, "bob-1", f.contact_line(), f.answer);
  f.peer.send(ok, inv.from);
  auto first = f.peer.next(is_ack);
  REQUIRE(first);
  CHECK(first->cseq() == "1 ACK");
  REQUIRE(run_until(f.io, [&] { return f.connected.has_value(); }));
  for (int i = 0; i < 2; ++i) {
    f.peer.send(ok, inv.from);  // as if our first ACK was lost
    auto again = f.peer.next(is_ack);
    REQUIRE(again);
    CHECK(again->cseq() == "1 ACK");
    CHECK(again->bytes == first->bytes);  // §13.2.2.4: the ACK is passed down again
  }
  CHECK(f.c.state() == call_state::established);
}

TEST_CASE("UAC: a second 2xx from another fork is ACKed and then ended by a BYE (13.2.2.4)") {
  uac_fixture f;
  auto inv = f.dial();
  f.reply(inv, 180, "fork-a", f.contact_line("a"));
  f.reply(inv, 180, "fork-b", f.contact_line("b"));
  REQUIRE(run_until(f.io, [&] { return f.c.state() == call_state::early; }));
  f.reply(inv, 200, "fork-a", f.contact_line("a"), f.answer);
  auto ack_a = f.peer.next(is_ack);
  REQUIRE(ack_a);
  CHECK(ack_a->to_tag() == "fork-a");
  CHECK(ack_a->request_uri() == f.peer.uri("a"));
  REQUIRE(run_until(f.io, [&] { return f.connected.has_value(); }));
  CHECK_FALSE(*f.connected);
  CHECK(f.c.remote_party().find("tag=fork-a") != std::string_view::npos);

  f.reply(inv, 200, "fork-b", f.contact_line("b"), f.answer);
  auto ack_b = f.peer.next(is_ack, 2000ms);
  auto bye_b = f.peer.next_request(method::bye, 2000ms);
  INFO("queued after the second 200: " << f.peer.inbox().size());
  REQUIRE(ack_b);
  CHECK(ack_b->to_tag() == "fork-b");
  CHECK(ack_b->request_uri() == f.peer.uri("b"));
  CHECK(ack_b->cseq() == "1 ACK");
  REQUIRE(bye_b);
  CHECK(bye_b->to_tag() == "fork-b");
  CHECK(bye_b->request_uri() == f.peer.uri("b"));
  f.reply(*bye_b, 200, {});
  settle(f.io);
  // The call stays on fork A.
  CHECK(f.c.state() == call_state::established);
  CHECK(f.c.remote_party().find("tag=fork-a") != std::string_view::npos);
  CHECK(f.agent.call_count() == 1);
}

TEST_CASE("UAC: a 486 is ACKed by the transaction layer and the call ends with errc::rejected") {
  uac_fixture f;
  auto inv = f.dial();
  f.reply(inv, 486, "busy-1");
  auto ack = f.peer.next(is_ack);
  REQUIRE(ack);
  // §17.1.1.3: the ACK of a non-2xx belongs to the INVITE's transaction.
  CHECK(ack->branch() == inv.branch());
  CHECK(ack->request_uri() == inv.request_uri());
  CHECK(ack->cseq() == "1 ACK");
  CHECK(ack->to_tag() == "busy-1");
  CHECK(ack->from_tag() == inv.from_tag());
  CHECK(ack->header(header_id::call_id) == inv.header(header_id::call_id));
  REQUIRE(run_until(f.io, [&] { return f.connected.has_value(); }));
  CHECK(*f.connected == errc::rejected);
  CHECK(f.c.final_status() == 486);
  CHECK(f.c.state() == call_state::terminated);
  CHECK(f.agent.call_count() == 0);
}

TEST_CASE("UAC: hanging up after only a 100 Trying sends CANCEL (RFC 3261 9.1)") {
  uac_fixture f;
  auto inv = f.dial();
  f.reply(inv, 100, {});
  settle(f.io);  // the agent has taken the 100
  std::optional<std::error_code> hung_up;
  f.c.async_hangup([&](std::error_code ec) { hung_up = ec; });
  // 100 is a provisional response: the CANCEL may go now (§9.1).
  auto cancel = f.peer.next_request(method::cancel, 2000ms);
  REQUIRE(cancel);
  CHECK(cancel->cseq() == "1 CANCEL");
  CHECK(cancel->branch() == inv.branch());
  CHECK(cancel->request_uri() == inv.request_uri());
  f.reply(*cancel, 200, "bob-1");
  f.reply(inv, 487, "bob-1");
  REQUIRE(run_until(f.io, [&] { return hung_up && f.connected; }));
  CHECK(*f.connected == errc::cancelled);
  CHECK(f.c.final_status() == 487);
}

TEST_CASE("UAC: a strict-routing Record-Route gets the 12.2.1.1 fix-up on the ACK and the BYE") {
  uac_fixture f;
  auto inv = f.dial();
  const std::string strict = f.peer.uri("strict");  // no ;lr: a strict router
  const std::string rr = "Record-Route: <" + strict + ">\r\n";
  f.reply(inv, 200, "bob-1", f.contact_line() + rr, f.answer);
  auto ack = f.peer.next(is_ack);
  REQUIRE(ack);
  CHECK(ack->request_uri() == strict);
  CHECK(ack->addresses(header_id::route) ==
        std::vector<std::string>{"<" + f.peer.uri("bob-ua") + ">"});
  REQUIRE(run_until(f.io, [&] { return f.connected.has_value(); }));
  CHECK_FALSE(*f.connected);

  std::optional<std::error_code> hung_up;
  f.c.async_hangup([&](std::error_code ec) { hung_up = ec; });
  auto bye = f.peer.next_request(method::bye);
  REQUIRE(bye);
  CHECK(bye->request_uri() == strict);  // the strict router's URI
  // The rest of the route set (none here), then the remote target last.
  CHECK(bye->addresses(header_id::route) ==
        std::vector<std::string>{"<" + f.peer.uri("bob-ua") + ">"});
  CHECK(bye->cseq() == "2 BYE");
  f.reply(*bye, 200, {});
  REQUIRE(run_until(f.io, [&] { return hung_up.has_value(); }));
  CHECK_FALSE(*hung_up);
}

TEST_CASE("UAC: with a strict router first, the ACK and the BYE are sent to that router (8.1.2)") {
  uac_fixture f;
  raw_peer target(f.io);  // the remote target (Contact) lives elsewhere than the router
  auto inv = f.dial();
  const std::string strict = f.peer.uri("strict");
  const std::string contact = "Contact: <" + target.uri("bob-ua") + ">\r\n";
  f.reply(inv, 200, "bob-1", contact + "Record-Route: <" + strict + ">\r\n", f.answer);
  auto ack = f.peer.next(is_ack, 2000ms);
  CHECK(ack);
  REQUIRE(run_until(f.io, [&] { return f.connected.has_value(); }));
  CHECK_FALSE(*f.connected);

  std::optional<std::error_code> hung_up;
  f.c.async_hangup([&](std::error_code ec) { hung_up = ec; });
  auto bye = f.peer.next_request(method::bye, 2000ms);
  INFO("messages at the remote target instead: " << target.inbox().size());
  REQUIRE(bye);
  CHECK(bye->request_uri() == strict);
  CHECK(target.inbox().empty());
  f.reply(*bye, 200, {});
  REQUIRE(run_until(f.io, [&] { return hung_up.has_value(); }));
  CHECK_FALSE(*hung_up);
}
