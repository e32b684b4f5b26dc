// A hang-up's Reason and headers in the CANCEL (RFC 3326 §2 allows a Reason there; RFC
// 3261 §9.1 fixes only the Request-URI, Call-ID, To, From, CSeq number, Via and Route):
// between two agents, the callee reads it from the call_event's message; against a raw
// peer, the CANCEL's bytes, also when it had to wait for a provisional, and the
// on_outgoing hook seeing the CANCEL.
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

const std::string elsewhere = "SIP;cause=200;text=\"Call completed elsewhere\"";

ua::hangup_options completed_elsewhere() {
  ua::hangup_options h;
  h.reason = elsewhere;
  h.headers = {{"X-Billing", "7"}};
  return h;
}

/// Every header line of `m` named `name`, in order.
std::vector<std::string> values(const parser::message& m, std::string_view name) {
  std::vector<std::string> out;
  for (const auto& f : m.fields())
    if (parser::iequals(m.name_of(f), name)) out.emplace_back(m.value_of(f));
  return out;
}

/// The agent (alice) calls the raw peer (bob).
struct uac_fixture {
  uac_fixture() : agent(io, loopback_config("alice")), peer(io) { REQUIRE_FALSE(agent.start()); }
  peer_message dial() {
    c = agent.make_call(peer.uri("bob"));
    c.async_wait_connected([this](std::error_code ec) { connected = ec; });
    auto inv = peer.next_request(method::invite);
    REQUIRE(inv);
    return std::move(*inv);
  }
  void reply(const peer_message& req, int code, std::string_view tag, std::string_view extra = {}) {
    peer.send(response_text(req, code, tag, extra), req.from);
  }
  boost::asio::io_context io;
  ua::user_agent agent;
  raw_peer peer;
  call c;
  std::optional<std::error_code> connected;
};

}  // namespace

TEST_CASE("Hang-up while ringing: the callee's cancelled event carries the CANCEL's Reason") {
  boost::asio::io_context io;
  ua::user_agent alice(io, loopback_config("alice")), bob(io, loopback_config("bob"));
  REQUIRE_FALSE(alice.start());
  REQUIRE_FALSE(bob.start());
  call incoming;
  std::optional<parser::message> ended_by;
  bob.on_incoming_call([&](call c) {
    incoming = c;
    c.on_event([&](const ua::call_event& e) {
      if (e.state == call_state::terminated && e.message) ended_by = *e.message;
    });
    REQUIRE_FALSE(c.ring());
  });
  call c = alice.make_call(uri_of(bob, "bob"));
  REQUIRE(run_until(io, [&] { return c.state() == call_state::early; }));
  std::optional<std::error_code> done;
  c.async_hangup(completed_elsewhere(), [&](std::error_code ec) { done = ec; });
  REQUIRE(run_until(io, [&] { return done && ended_by; }));
  CHECK_FALSE(*done);
  CHECK(c.final_status() == 487);
  CHECK(incoming.state() == call_state::terminated);
  REQUIRE(ended_by->method() == method::cancel);
  CHECK(values(*ended_by, "Reason") == std::vector<std::string>{elsewhere});
  CHECK(values(*ended_by, "X-Billing") == std::vector<std::string>{"7"});
}

TEST_CASE("Hang-up after a 180: the CANCEL on the wire is the 9.1 CANCEL plus the Reason") {
  uac_fixture f;
  auto inv = f.dial();
  f.reply(inv, 180, "bob-1", "Contact: <" + f.peer.uri("bob-ua") + ">\r\n");
  REQUIRE(run_until(f.io, [&] { return f.c.state() == call_state::early; }));
  std::optional<std::error_code> done;
  f.c.async_hangup(completed_elsewhere(), [&](std::error_code ec) { done = ec; });
  auto cancel = f.peer.next_request(method::cancel);
  REQUIRE(cancel);
  // §9.1 fields, then the hang-up's headers (its extra headers, then the Reason), then
  // Content-Length.
  const std::string expected =
      "CANCEL " + inv.request_uri() + " SIP/2.0\r\n" + "Via: " + inv.header(header_id::via) +
      "\r\n" + "Max-Forwards: 70\r\n" + "From: " + inv.header(header_id::from) + "\r\n" +
      "To: " + inv.header(header_id::to) + "\r\n" + "Call-ID: " + inv.header(header_id::call_id) +
      "\r\n" + "CSeq: 1 CANCEL\r\n" + "X-Billing: 7\r\n" + "Reason: " + elsewhere + "\r\n";
  CHECK(cancel->bytes.substr(0, expected.size()) == expected);
  CHECK(cancel->bytes.find("Content-Length: 0\r\n") != std::string::npos);
  f.reply(*cancel, 200, "bob-1");
  f.reply(inv, 487, "bob-1");
  REQUIRE(run_until(f.io, [&] { return done && f.connected; }));
  CHECK(*f.connected == errc::cancelled);
  CHECK(f.peer.unparsable().empty());
}

TEST_CASE("Hang-up before any provisional: the CANCEL waits for the 100 and carries the Reason") {
  uac_fixture f;
  auto inv = f.dial();
  std::optional<std::error_code> done;
  f.c.async_hangup(completed_elsewhere(), [&](std::error_code ec) { done = ec; });
  settle(f.io);
  // §9.1: no CANCEL before a provisional response.
  CHECK(f.peer.count([](const peer_message& m) { return m.is_request(method::cancel); }) == 0);
  f.reply(inv, 100, {});
  auto cancel = f.peer.next_request(method::cancel);
  REQUIRE(cancel);
  CHECK(cancel->branch() == inv.branch());
  CHECK(cancel->header("Reason") == elsewhere);
  CHECK(cancel->header("X-Billing") == "7");
  f.reply(*cancel, 200, "bob-1");
  f.reply(inv, 487, "bob-1");
  REQUIRE(run_until(f.io, [&] { return done && f.connected; }));
  CHECK(*f.connected == errc::cancelled);
}

TEST_CASE("A 2xx crossing a CANCEL with a Reason: ACKed, then BYEd with the same Reason") {
  uac_fixture f;
  auto inv = f.dial();
  const std::string contact = "Contact: <" + f.peer.uri("bob-ua") + ">\r\n";
  f.reply(inv, 180, "bob-1", contact);
  REQUIRE(run_until(f.io, [&] { return f.c.state() == call_state::early; }));
  std::optional<std::error_code> done;
  f.c.async_hangup(completed_elsewhere(), [&](std::error_code ec) { done = ec; });
  auto cancel = f.peer.next_request(method::cancel);
  REQUIRE(cancel);
  f.peer.send(response_text(inv, 200, "bob-1", contact, sdp_offer("0", "PCMU/8000")), inv.from);
  auto bye = f.peer.next_request(method::bye);
  REQUIRE(bye);
  CHECK(f.peer.count([](const peer_message& m) { return m.is_request(method::ack); }) == 1);
  CHECK(bye->header("Reason") == elsewhere);
  CHECK(bye->header("X-Billing") == "7");
  f.reply(*bye, 200, {});
  REQUIRE(run_until(f.io, [&] { return done.has_value(); }));
}

TEST_CASE("on_outgoing sees the hang-up's CANCEL, with the INVITE's Via, and may add to it") {
  uac_fixture f;
  std::vector<std::string> seen;
  std::string cancel_via;
  f.agent.on_outgoing([&](parser::message& m) {
    if (!m.is_request()) return;
    seen.emplace_back(m.method_text());
    if (m.method() == method::cancel) {
      cancel_via = std::string(m.get(header_id::via).value_or(""));
      m.add("P-Hook", "cancel");
    }
  });
  auto inv = f.dial();
  f.reply(inv, 180, "bob-1", "Contact: <" + f.peer.uri("bob-ua") + ">\r\n");
  REQUIRE(run_until(f.io, [&] { return f.c.state() == call_state::early; }));
  f.c.async_hangup(completed_elsewhere(), [](std::error_code) {});
  auto cancel = f.peer.next_request(method::cancel);
  REQUIRE(cancel);
  CHECK(seen == std::vector<std::string>{"INVITE", "CANCEL"});
  CHECK(cancel_via == inv.header(header_id::via));
  CHECK(cancel->header("Reason") == elsewhere);  // the hang-up's headers were in before
  CHECK(cancel->header("P-Hook") == "cancel");
  f.reply(*cancel, 200, "bob-1");
  f.reply(inv, 487, "bob-1");
  REQUIRE(run_until(f.io, [&] { return f.connected.has_value(); }));
}
