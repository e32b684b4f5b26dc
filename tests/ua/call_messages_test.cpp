// Incoming messages are readable: call::invite() is the INVITE that created the call, for
// as long as the call lives (also once the session let its own copy go), and each
// call_event carries the message that caused it (RFC 3261 responses, the peer's ACK, BYE).
#include <catch2/catch.hpp>
#include <optional>
#include <string>
#include <vector>

#include "ua/ua_test_support.hpp"

using namespace sipkit;
using namespace sipkit::test;
using parser::header_id;
using parser::method;
using ua::call;
using ua::call_state;

namespace {

/// Short timers, so that the INVITE transactions end (Timer L / M = 64*T1) within the
/// test's bounded waits.
ua::ua_config fast(std::string user) {
  auto cfg = loopback_config(std::move(user));
  cfg.transactions.timers.t1 = std::chrono::milliseconds(10);
  cfg.transactions.timers.t2 = std::chrono::milliseconds(40);
  cfg.transactions.timers.t4 = std::chrono::milliseconds(10);
  cfg.transactions.timers.d = std::chrono::milliseconds(10);
  return cfg;
}

struct recorded {
  ua::call_event::kind what;
  call_state state;
  std::optional<parser::message> message;
};

}  // namespace

TEST_CASE("on_incoming_call reads the INVITE's headers and body before ringing") {
  boost::asio::io_context io;
  ua::user_agent alice(io, loopback_config("alice")), bob(io, loopback_config("bob"));
  REQUIRE_FALSE(alice.start());
  REQUIRE_FALSE(bob.start());
  std::string subject, x_device, body, state_then;
  bob.on_incoming_call([&](call c) {
    state_then = std::string(ua::to_string(c.state()));
    subject = std::string(c.invite().get("Subject").value_or(""));
    x_device = std::string(c.invite().get("x-device").value_or(""));  // any case
    body = std::string(c.invite().body());
    c.reject(603, {});
  });
  ua::call_options o;
  o.subject = "camera 7";
  o.headers = {{"X-Device", "34020000001320000007"}};
  call c = alice.make_call(uri_of(bob, "bob"), o);
  REQUIRE(run_until(io, [&] { return c.state() == call_state::terminated; }));
  CHECK(state_then == "incoming");
  CHECK(subject == "camera 7");
  CHECK(x_device == "34020000001320000007");
  // Alice's offer from her media.
  CHECK(body.rfind("v=0\r\n", 0) == 0);
  CHECK(body.find("m=audio 40000 RTP/AVP 0 8\r\n") != std::string::npos);
}

TEST_CASE("call::invite() outlives the INVITE transaction on both sides") {
  boost::asio::io_context io;
  ua::user_agent alice(io, fast("alice")), bob(io, fast("bob"));
  REQUIRE_FALSE(alice.start());
  REQUIRE_FALSE(bob.start());
  call incoming;
  bob.on_incoming_call([&](call c) {
    incoming = c;
    c.ring();
    c.answer();
  });
  ua::call_options o;
  o.subject = "kept";
  call c = alice.make_call(uri_of(bob, "bob"), o);
  REQUIRE(run_until(io, [&] { return incoming && incoming.state() == call_state::established; }));
  // The sessions release their INVITE when its transaction ends (Timer L on Bob's side,
  // Timer M on Alice's: 64*T1 = 640 ms here); from then on invite() is the call's own
  // (moved out of the session), so the reference it returns changes.
  const parser::message* alice_before = &c.invite();
  const parser::message* bob_before = &incoming.invite();
  REQUIRE(alice_before->get("Subject").has_value());
  REQUIRE(bob_before->get("Subject").has_value());
  const std::string call_id(c.call_id());
  REQUIRE(run_until(io, [&] {
    return &c.invite() != alice_before && &incoming.invite() != bob_before;
  }));
  for (const call* k : {&c, &incoming}) {
    CHECK(k->invite().method() == method::invite);
    CHECK(k->invite().get("Subject").value_or("") == "kept");
    CHECK(k->invite().call_id() == call_id);
    CHECK_FALSE(k->invite().body().empty());
  }
  CHECK(incoming.invite().body() == c.local_sdp());
}

TEST_CASE("Each state event carries the message that caused it: 180, 200 and the ACK") {
  boost::asio::io_context io;
  ua::user_agent alice(io, loopback_config("alice")), bob(io, loopback_config("bob"));
  REQUIRE_FALSE(alice.start());
  REQUIRE_FALSE(bob.start());
  std::vector<recorded> bob_events;
  call incoming;
  bob.on_incoming_call([&](call c) {
    incoming = c;
    c.on_event([&](const ua::call_event& e) {
      bob_events.push_back({e.what, e.state,
                            e.message ? std::optional<parser::message>(*e.message) : std::nullopt});
    });
    c.ring();
    c.answer();
  });
  std::vector<recorded> alice_events;
  call c = alice.make_call(uri_of(bob, "bob"));
  c.on_event([&](const ua::call_event& e) {
    alice_events.push_back({e.what, e.state,
                            e.message ? std::optional<parser::message>(*e.message) : std::nullopt});
  });
  REQUIRE(run_until(io, [&] {
    return c.state() == call_state::established && incoming &&
           incoming.state() == call_state::established;
  }));
  // Alice: early (the 180), established (the 200); Bob: ringing and answered by its own
  // operations (no message), established by the ACK.
  REQUIRE(alice_events.size() == 2);
  CHECK(alice_events[0].state == call_state::early);
  REQUIRE(alice_events[0].message);
  CHECK(alice_events[0].message->status_code() == 180);
  CHECK(alice_events[1].state == call_state::established);
  REQUIRE(alice_events[1].message);
  CHECK(alice_events[1].message->status_code() == 200);
  CHECK(alice_events[1].message->body() == c.remote_sdp());
  REQUIRE(bob_events.size() == 3);
  CHECK(bob_events[0].state == call_state::ringing);
  CHECK_FALSE(bob_events[0].message);
  CHECK(bob_events[1].state == call_state::answered);
  CHECK_FALSE(bob_events[1].message);
  CHECK(bob_events[2].state == call_state::established);
  REQUIRE(bob_events[2].message);
  CHECK(bob_events[2].message->method() == method::ack);
}

TEST_CASE("The terminated event of a rejected call carries the final response") {
  boost::asio::io_context io;
  ua::user_agent alice(io, loopback_config("alice")), bob(io, loopback_config("bob"));
  REQUIRE_FALSE(alice.start());
  REQUIRE_FALSE(bob.start());
  bob.on_incoming_call([&](call c) { c.reject(480, "Temporarily Unavailable"); });
  std::optional<parser::message> ended;
  call c = alice.make_call(uri_of(bob, "bob"));
  c.on_event([&](const ua::call_event& e) {
    if (e.state == call_state::terminated && e.message) ended = *e.message;
  });
  REQUIRE(run_until(io, [&] { return c.state() == call_state::terminated; }));
  REQUIRE(ended);
  CHECK(ended->status_code() == 480);
  CHECK(ended->reason_phrase() == "Temporarily Unavailable");
}
