// user_agent::on_outgoing / on_incoming: two agents over loopback call each other; each
// agent's outgoing hook adds a header, and the other agent's incoming hook records every
// message it receives, so the test sees what reached the peer on the wire.
#include <catch2/catch.hpp>
#include <optional>
#include <string>
#include <vector>

#include "ua/ua_test_support.hpp"

using namespace sipkit;
using namespace sipkit::test;
using parser::method;
using ua::call;
using ua::call_state;

namespace {

struct seen {
  std::string what;  // the method, or the status code and CSeq method ("200 INVITE")
  std::string hook;  // its X-Hook header, "" when absent
};

std::string what_of(const parser::message& m) {
  if (m.is_request()) return std::string(m.method_text());
  auto cs = m.cseq();
  return std::to_string(m.status_code()) + " " +
         (cs ? std::string(parser::method_name(cs->method)) : std::string());
}

struct hook_fixture {
  hook_fixture() : alice(io, loopback_config("alice")), bob(io, loopback_config("bob")) {
    REQUIRE_FALSE(alice.start());
    REQUIRE_FALSE(bob.start());
    alice.on_outgoing([](parser::message& m) { m.add("X-Hook", "alice"); });
    bob.on_outgoing([](parser::message& m) { m.add("X-Hook", "bob"); });
    alice.on_incoming([this](const parser::message& m) {
      at_alice.push_back({what_of(m), std::string(m.get("X-Hook").value_or(""))});
    });
    bob.on_incoming([this](const parser::message& m) {
      at_bob.push_back({what_of(m), std::string(m.get("X-Hook").value_or(""))});
    });
    bob.on_incoming_call([this](call c) {
      incoming = c;
      REQUIRE_FALSE(c.ring());
      REQUIRE_FALSE(c.answer());
    });
  }
  std::size_t count(const std::vector<seen>& list, std::string_view what) const {
    std::size_t n = 0;
    for (const auto& s : list) n += s.what == what ? 1 : 0;
    return n;
  }

  boost::asio::io_context io;
  ua::user_agent alice;
  ua::user_agent bob;
  call incoming;
  std::vector<seen> at_alice, at_bob;
};

}  // namespace

TEST_CASE("on_outgoing: a header it adds reaches the peer in INVITE, 18x, 200, ACK, BYE") {
  hook_fixture f;
  call c = f.alice.make_call(uri_of(f.bob, "bob"));
  std::optional<std::error_code> connected;
  c.async_wait_connected([&](std::error_code ec) { connected = ec; });
  REQUIRE(run_until(f.io, [&] {
    return connected && f.incoming && f.incoming.state() == call_state::established;
  }));
  CHECK_FALSE(*connected);
  std::optional<std::error_code> hung_up;
  c.async_hangup([&](std::error_code ec) { hung_up = ec; });
  REQUIRE(run_until(f.io, [&] { return hung_up && f.alice.call_count() == 0; }));
  REQUIRE(run_until(f.io, [&] { return f.bob.call_count() == 0; }));

  // Bob received each of Alice's requests once (no loss on loopback), each with her header.
  CHECK(f.count(f.at_bob, "INVITE") == 1);
  CHECK(f.count(f.at_bob, "ACK") == 1);
  CHECK(f.count(f.at_bob, "BYE") == 1);
  for (const auto& s : f.at_bob) {
    INFO(s.what);
    CHECK(s.hook == "alice");
  }
  // Alice received Bob's responses with his header; 100 Trying is the transaction layer's
  // own (user_agent.hpp: not shown to the hook).
  CHECK(f.count(f.at_alice, "180 INVITE") == 1);
  CHECK(f.count(f.at_alice, "200 INVITE") == 1);
  CHECK(f.count(f.at_alice, "200 BYE") == 1);
  for (const auto& s : f.at_alice) {
    INFO(s.what);
    CHECK(s.hook == (s.what.rfind("100 ", 0) == 0 ? "" : "bob"));
  }
}

TEST_CASE("on_outgoing may change the body of an out-of-dialog MESSAGE; on_incoming counts") {
  hook_fixture f;
  f.alice.on_outgoing([](parser::message& m) {
    if (m.is_request() && m.method() == method::message) m.set_body("rewritten", "text/x-hook");
  });
  std::string body, type;
  f.bob.on_message([&](const ua::message_event& m) {
    body = std::string(m.body);
    type = std::string(m.content_type);
  });
  std::optional<int> status;
  f.alice.async_send_message(uri_of(f.bob, "bob"), "text/plain", "original",
                             [&](std::error_code, int s) { status = s; });
  REQUIRE(run_until(f.io, [&] { return status.has_value(); }));
  CHECK(*status == 200);
  CHECK(body == "rewritten");
  CHECK(type == "text/x-hook");
  CHECK(f.at_bob.size() == 1);  // the MESSAGE
  REQUIRE(f.at_alice.size() == 1);
  CHECK(f.at_alice[0].what == "200 MESSAGE");

  // Removing the hooks: nothing more is recorded, nothing more is added.
  f.bob.on_incoming({});
  f.alice.on_outgoing({});
  status.reset();
  f.alice.async_send_message(uri_of(f.bob, "bob"), "text/plain", "plain",
                             [&](std::error_code, int s) { status = s; });
  REQUIRE(run_until(f.io, [&] { return status.has_value(); }));
  CHECK(body == "plain");
  CHECK(f.at_bob.size() == 1);
  CHECK(f.at_alice.size() == 2);
}
