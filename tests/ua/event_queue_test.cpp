// user_agent::async_next_event: events of every kind pulled from one queue, in the order
// they happened, with a callback token and with use_future; the bound and the errors.
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/use_future.hpp>
#include <catch2/catch.hpp>
#include <future>
#include <optional>
#include <string>
#include <vector>

#include "ua/ua_test_support.hpp"

using namespace sipkit;
using namespace sipkit::test;
using ua::agent_event;
using ua::call;
using ua::call_event;
using ua::call_state;

namespace {

ua::ua_config queued(std::string user, std::size_t capacity = 64) {
  auto cfg = loopback_config(std::move(user));
  cfg.event_queue = capacity;
  return cfg;
}

/// Pulls events with a callback token, one after the other, into `out`.
struct puller {
  ua::user_agent& agent;
  std::vector<agent_event> out;
  std::function<void(agent_event&)> on_event;
  void start() {
    agent.async_next_event([this](std::error_code ec, agent_event e) {
      REQUIRE_FALSE(ec);
      out.push_back(std::move(e));
      if (on_event) on_event(out.back());
      start();
    });
  }
};

}  // namespace

TEST_CASE("async_next_event: a call's events are pulled in order with a callback token") {
  boost::asio::io_context io;
  ua::user_agent alice(io, queued("alice"));
  ua::user_agent bob(io, queued("bob"));
  REQUIRE_FALSE(alice.start());
  REQUIRE_FALSE(bob.start());
  // Bob has no on_incoming_call: the call comes out of his queue; he answers it there.
  puller at_bob{bob, {}, {}};
  at_bob.on_event = [](agent_event& e) {
    if (e.what != agent_event::kind::incoming_call) return;
    REQUIRE_FALSE(e.call.ring());
    REQUIRE_FALSE(e.call.answer());
  };
  at_bob.start();
  puller at_alice{alice, {}, {}};
  at_alice.start();

  call c = alice.make_call(uri_of(bob, "bob"));
  auto established = [](const puller& p) {
    for (const auto& e : p.out)
      if (e.what == agent_event::kind::call && e.state == call_state::established) return true;
    return false;
  };
  REQUIRE(run_until(io, [&] { return established(at_alice) && established(at_bob); }));

  // Bob: the incoming call, then its state changes in order.
  REQUIRE(at_bob.out.size() == 4);
  CHECK(at_bob.out[0].what == agent_event::kind::incoming_call);
  CHECK(at_bob.out[0].call.state() != call_state::terminated);
  std::vector<call_state> bob_states;
  for (std::size_t i = 1; i < at_bob.out.size(); ++i) {
    CHECK(at_bob.out[i].what == agent_event::kind::call);
    CHECK(at_bob.out[i].call_what == call_event::kind::state_changed);
    CHECK(at_bob.out[i].call.call_id() == at_bob.out[0].call.call_id());
    bob_states.push_back(at_bob.out[i].state);
  }
  CHECK(bob_states == std::vector<call_state>{call_state::ringing, call_state::answered,
                                              call_state::established});
  // Alice: her call's states, with the responses that caused them.
  REQUIRE(at_alice.out.size() == 2);
  CHECK(at_alice.out[0].state == call_state::early);
  CHECK(at_alice.out[0].status == 180);
  CHECK(at_alice.out[1].state == call_state::established);
  CHECK(at_alice.out[1].status == 200);
  CHECK(at_alice.out[1].call.call_id() == c.call_id());
  CHECK(at_alice.out[1].as_call_event().status == 200);
  CHECK(alice.events_queued() == 0);
  CHECK(alice.events_dropped() == 0);
}

TEST_CASE("async_next_event with use_future: MESSAGEs queued before the pull come in order") {
  boost::asio::io_context io;
  ua::user_agent alice(io, loopback_config("alice"));
  ua::user_agent bob(io, queued("bob"));
  REQUIRE_FALSE(alice.start());
  REQUIRE_FALSE(bob.start());
  // One after the other (each sent once the previous one was answered), so the order in
  // which they were queued is known.
  for (const char* text : {"one", "two", "three"}) {
    std::optional<int> status;
    alice.async_send_message(uri_of(bob, "bob"), "text/plain", text,
                             [&](std::error_code, int s) { status = s; });
    REQUIRE(run_until(io, [&] { return status.has_value(); }));
    CHECK(*status == 200);  // answered by the agent once queued
  }
  CHECK(bob.events_queued() == 3);
  std::vector<std::string> bodies;
  for (int i = 0; i < 3; ++i) {
    auto fut = bob.async_next_event(boost::asio::use_future);
    REQUIRE(run_until(io, [&] { return fut.wait_for(0s) == std::future_status::ready; }));
    auto [ec, e] = fut.get();
    CHECK_FALSE(ec);
    CHECK(e.what == agent_event::kind::message);
    CHECK(e.content_type == "text/plain");
    CHECK(e.from.find("sip:alice@") != std::string::npos);
    REQUIRE(e.request);
    CHECK(e.request->method() == parser::method::message);
    bodies.emplace_back(e.body);
  }
  CHECK(bodies == std::vector<std::string>{"one", "two", "three"});
  CHECK(bob.events_queued() == 0);
}

TEST_CASE("async_next_event: an event's body and Content-Type are views into its own message") {
  boost::asio::io_context io;
  ua::user_agent alice(io, loopback_config("alice"));
  ua::user_agent bob(io, queued("bob"));
  REQUIRE_FALSE(alice.start());
  REQUIRE_FALSE(bob.start());
  std::optional<std::error_code> sent;
  alice.async_send_message(uri_of(bob, "bob"), "text/plain", "kept",
                           [&](std::error_code ec, int) { sent = ec; });
  auto fut = bob.async_next_event(boost::asio::use_future);
  REQUIRE(run_until(io, [&] { return fut.wait_for(0s) == std::future_status::ready; }));
  auto [ec, e] = fut.get();
  REQUIRE_FALSE(ec);
  REQUIRE(e.message);
  CHECK(e.body == "kept");
  CHECK(e.content_type == "text/plain");
  // Not copies beside the message: the message's own bytes.
  CHECK(e.body.data() == e.message->body().data());
  CHECK(e.content_type.data() == e.message->get(parser::header_id::content_type)->data());
  // A copy shares the message: its views stay good after the original is gone.
  std::optional<agent_event> copy(e);
  e = agent_event{};
  CHECK(copy->body == "kept");
  CHECK(copy->content_type == "text/plain");
  CHECK(copy->as_call_event().body == "kept");
}

TEST_CASE("async_next_event: a full queue drops and counts; a handler takes precedence") {
  boost::asio::io_context io;
  ua::user_agent alice(io, loopback_config("alice"));
  ua::user_agent bob(io, queued("bob", 2));
  REQUIRE_FALSE(alice.start());
  REQUIRE_FALSE(bob.start());
  int answered = 0;
  auto send = [&](const char* text) {
    alice.async_send_message(uri_of(bob, "bob"), "text/plain", text,
                             [&](std::error_code, int) { ++answered; });
  };
  for (const char* text : {"a", "b", "c"}) send(text);
  REQUIRE(run_until(io, [&] { return answered == 3; }));
  CHECK(bob.events_queued() == 2);
  CHECK(bob.events_dropped() == 1);

  std::vector<std::string> by_handler;
  bob.on_message([&](const ua::message_event& m) { by_handler.emplace_back(m.body); });
  send("d");
  REQUIRE(run_until(io, [&] { return answered == 4; }));
  CHECK(by_handler == std::vector<std::string>{"d"});
  CHECK(bob.events_queued() == 2);
  CHECK(bob.events_dropped() == 1);
}

TEST_CASE("async_next_event without a queue fails with invalid_state") {
  boost::asio::io_context io;
  ua::user_agent alice(io, loopback_config("alice"));
  std::optional<std::error_code> result;
  alice.async_next_event([&](std::error_code ec, agent_event) { result = ec; });
  REQUIRE(run_until(io, [&] { return result.has_value(); }));
  CHECK(*result == make_error_code(ua::errc::invalid_state));
}

TEST_CASE("async_next_event with use_awaitable: a loop that answers the calls it pulls") {
  boost::asio::io_context io;
  ua::user_agent alice(io, loopback_config("alice"));
  ua::user_agent bob(io, queued("bob"));
  REQUIRE_FALSE(alice.start());
  REQUIRE_FALSE(bob.start());
  std::vector<agent_event::kind> kinds;
  // eXosip_event_wait style: one loop pulls every event of the agent.
  boost::asio::co_spawn(
      io,
      [&]() -> boost::asio::awaitable<void> {
        for (;;) {
          auto [ec, e] = co_await bob.async_next_event(boost::asio::use_awaitable);
          if (ec) co_return;
          kinds.push_back(e.what);
          if (e.what == agent_event::kind::incoming_call) (void)e.call.answer();
          if (e.what == agent_event::kind::call && e.state == call_state::established) co_return;
        }
      },
      boost::asio::detached);
  call c = alice.make_call(uri_of(bob, "bob"));
  std::optional<std::error_code> connected;
  c.async_wait_connected([&](std::error_code ec) { connected = ec; });
  REQUIRE(run_until(io, [&] { return connected && kinds.size() == 3; }));
  CHECK_FALSE(*connected);
  CHECK(kinds == std::vector<agent_event::kind>{agent_event::kind::incoming_call,
                                                agent_event::kind::call, agent_event::kind::call});
}

TEST_CASE("async_next_event: a registration's events and a MESSAGE share the queue in order") {
  boost::asio::io_context io;
  ua::user_agent registrar(io, loopback_config("registrar"));
  ua::user_agent alice(io, queued("alice"));
  REQUIRE_FALSE(registrar.start());
  REQUIRE_FALSE(alice.start());
  registrar.on_request("REGISTER", [](ua::incoming_request& in) {
    auto ok = in.make_response(200);
    if (auto c = in.message().get(parser::header_id::contact))
      ok.add(parser::header_id::contact, std::string(*c) + ";expires=600");
    in.respond(std::move(ok));
  });
  ua::registration_options o;
  o.registrar = "sip:" + registrar.local_address(transport::protocol::udp);
  o.expires = std::chrono::seconds(600);
  auto reg = alice.start_registration(o);
  REQUIRE(run_until(io, [&] { return reg.state() == ua::registration_state::registered; }));
  std::optional<int> status;
  registrar.async_send_message(uri_of(alice, "alice"), "text/plain", "after",
                               [&](std::error_code, int s) { status = s; });
  REQUIRE(run_until(io, [&] { return status.has_value(); }));

  std::vector<agent_event> got;
  for (int i = 0; i < 3; ++i) {
    auto fut = alice.async_next_event(boost::asio::use_future);
    REQUIRE(run_until(io, [&] { return fut.wait_for(0s) == std::future_status::ready; }));
    auto [ec, e] = fut.get();
    REQUIRE_FALSE(ec);
    got.push_back(std::move(e));
  }
  // registering (the REGISTER went out), registered (its 200), then the MESSAGE.
  CHECK(got[0].what == agent_event::kind::registration);
  CHECK(got[0].registration_info.state == ua::registration_state::registering);
  CHECK(got[1].what == agent_event::kind::registration);
  CHECK(got[1].registration_info.state == ua::registration_state::registered);
  CHECK(got[1].registration_info.status == 200);
  CHECK(got[1].registration_info.expires == std::chrono::seconds(600));
  CHECK(got[1].registration.state() == ua::registration_state::registered);
  CHECK(got[2].what == agent_event::kind::message);
  CHECK(got[2].body == "after");
  CHECK(alice.events_queued() == 0);
}
