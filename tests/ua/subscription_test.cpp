// SUBSCRIBE/NOTIFY (RFC 6665) between two user_agents on loopback: alice subscribes,
// bob is the notifier of a "presence" package.
#include <catch2/catch.hpp>
#include <optional>
#include <string>
#include <vector>

#include "ua/ua_test_support.hpp"

using namespace sipkit;
using namespace sipkit::test;
using ua::subscription_state;

namespace {

struct subscribe_fixture {
  subscribe_fixture() : alice(io, loopback_config("alice")), bob(io, loopback_config("bob")) {
    REQUIRE_FALSE(alice.start());
    REQUIRE_FALSE(bob.start());
    bob.on_subscribe("presence", [this](ua::notifier n) {
      notifiers.push_back(n);
      n.on_end([this](std::string_view reason) { ended.emplace_back(reason); });
      REQUIRE_FALSE(n.accept("text/plain", "open"));
    });
  }
  ua::subscription subscribe(std::chrono::seconds expires = std::chrono::seconds(600),
                             std::string event = "presence") {
    ua::subscribe_options o;
    o.target = uri_of(bob, "bob");
    o.event = std::move(event);
    o.accept = "text/plain";
    o.expires = expires;
    auto s = alice.subscribe(o);
    s.on_notify([this](const ua::notify_event& e) {
      states.push_back(e.state);
      bodies.emplace_back(e.body);
      reasons.emplace_back(e.reason);
    });
    return s;
  }

  boost::asio::io_context io;
  ua::user_agent alice, bob;
  std::vector<ua::notifier> notifiers;
  std::vector<std::string> ended;
  std::vector<subscription_state> states;
  std::vector<std::string> bodies, reasons;
};

}  // namespace

TEST_CASE("A subscription is accepted and its first NOTIFY carries the state (RFC 6665 4.2.1.2)") {
  subscribe_fixture f;
  auto s = f.subscribe();
  REQUIRE(run_until(f.io, [&] { return !f.states.empty(); }));
  CHECK(f.states.front() == subscription_state::active);
  CHECK(f.bodies.front() == "open");
  CHECK(s.state() == subscription_state::active);
  REQUIRE(f.notifiers.size() == 1);
  CHECK(f.notifiers[0].event() == "presence");
  CHECK(f.notifiers[0].subscriber().find("sip:alice@") != std::string_view::npos);
}

TEST_CASE("Each notify() reaches the subscriber with the new body") {
  subscribe_fixture f;
  auto s = f.subscribe();
  REQUIRE(run_until(f.io, [&] { return !f.states.empty(); }));
  std::optional<int> status;
  f.notifiers[0].async_notify("text/plain", "closed", [&](std::error_code ec, int code) {
    CHECK_FALSE(ec);
    status = code;
  });
  REQUIRE(run_until(f.io, [&] { return status && f.bodies.size() == 2; }));
  CHECK(*status == 200);
  CHECK(f.bodies[1] == "closed");
}

TEST_CASE("Unsubscribing gets a 200 and a final NOTIFY, and ends the notifier") {
  subscribe_fixture f;
  auto s = f.subscribe();
  REQUIRE(run_until(f.io, [&] { return !f.states.empty(); }));
  std::optional<int> status;
  s.async_unsubscribe([&](std::error_code ec, int code) {
    CHECK_FALSE(ec);
    status = code;
  });
  REQUIRE(run_until(f.io, [&] {
    return status && s.state() == subscription_state::terminated && !f.ended.empty();
  }));
  CHECK(*status == 200);
  CHECK(f.states.back() == subscription_state::terminated);
  CHECK(f.ended.front() == "timeout");
}

TEST_CASE("The notifier's async_terminate ends the subscription with its reason") {
  subscribe_fixture f;
  auto s = f.subscribe();
  REQUIRE(run_until(f.io, [&] { return !f.states.empty(); }));
  f.notifiers[0].async_terminate("deactivated", [](std::error_code, int) {});
  REQUIRE(run_until(f.io, [&] { return s.state() == subscription_state::terminated; }));
  CHECK(f.reasons.back() == "deactivated");
  CHECK(f.notifiers[0].state() == subscription_state::terminated);
}

TEST_CASE("A short subscription is refreshed in its dialog and notified again") {
  subscribe_fixture f;
  auto s = f.subscribe(std::chrono::seconds(2));  // refreshed after 1 s
  REQUIRE(run_until(
      f.io, [&] { return f.states.size() >= 2; }, 5000ms));
  CHECK(f.notifiers.size() == 1);  // the refresh was inside the dialog, not a new one
  CHECK(f.states[1] == subscription_state::active);
  CHECK(s.state() == subscription_state::active);
}

TEST_CASE("A SUBSCRIBE for a package nobody serves is answered 489 and ends the subscription") {
  subscribe_fixture f;
  auto s = f.subscribe(std::chrono::seconds(600), "message-summary");
  REQUIRE(run_until(f.io, [&] { return s.state() == subscription_state::terminated; }));
  CHECK(s.final_status() == 489);
  CHECK(f.states == std::vector<subscription_state>{subscription_state::terminated});
  CHECK(f.notifiers.empty());
}

TEST_CASE("A rejected SUBSCRIBE ends the subscription with the notifier's status") {
  subscribe_fixture f;
  f.bob.on_subscribe("presence", [](ua::notifier n) { REQUIRE_FALSE(n.reject(403)); });
  auto s = f.subscribe();
  REQUIRE(run_until(f.io, [&] { return s.state() == subscription_state::terminated; }));
  CHECK(s.final_status() == 403);
}

TEST_CASE("A subscription nobody refreshes expires at the notifier with reason timeout") {
  boost::asio::io_context io;
  ua::user_agent bob(io, loopback_config("bob"));
  REQUIRE_FALSE(bob.start());
  std::vector<std::string> ended;
  std::vector<ua::notifier> notifiers;
  bob.on_subscribe("presence", [&](ua::notifier n) {
    notifiers.push_back(n);
    n.on_end([&](std::string_view reason) { ended.emplace_back(reason); });
    REQUIRE_FALSE(n.accept("text/plain", "open"));
  });
  auto alice = std::make_unique<ua::user_agent>(io, loopback_config("alice"));
  REQUIRE_FALSE(alice->start());
  ua::subscribe_options o;
  o.target = uri_of(bob, "bob");
  o.event = "presence";
  o.expires = std::chrono::seconds(2);
  auto s = alice->subscribe(o);
  REQUIRE(run_until(io, [&] { return s.state() == subscription_state::active; }));
  alice.reset();  // the subscriber disappears without unsubscribing
  REQUIRE(run_until(
      io, [&] { return !ended.empty(); }, 6000ms));
  CHECK(ended.front() == "timeout");  // RFC 6665 §4.2.2
  CHECK(notifiers[0].state() == subscription_state::terminated);
}
