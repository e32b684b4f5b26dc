// Events carry the message that caused them (issue 11): pulled events (async_next_event)
// own a copy of it for calls, registrations, subscriptions and MESSAGEs; registration
// events carry the registrar's response (the 200 with its Date, the 423, the 403);
// refer_progress carries the NOTIFY; and a peer's re-offer that changes the session other
// than by hold raises remote_reoffer (a refresh that changes nothing raises nothing).
// User_agents on loopback, every wait bounded by run_until.
#include <boost/asio/use_future.hpp>
#include <catch2/catch.hpp>
#include <future>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "ua/ua_test_support.hpp"

using namespace sipkit;
using namespace sipkit::test;
using parser::header_id;
using ua::agent_event;
using ua::call;
using ua::call_event;
using ua::call_state;
using ua::registration_state;

namespace {

ua::ua_config queued(std::string user) {
  auto cfg = loopback_config(std::move(user));
  cfg.event_queue = 64;
  return cfg;
}

/// The next pulled event (use_future), within run_until's deadline.
agent_event pull(boost::asio::io_context& io, ua::user_agent& agent) {
  auto fut = agent.async_next_event(boost::asio::use_future);
  REQUIRE(run_until(io, [&] { return fut.wait_for(0s) == std::future_status::ready; }));
  auto [ec, e] = fut.get();
  REQUIRE_FALSE(ec);
  return std::move(e);
}

const std::string gb_date = "2026-12-02T13:00:00.000";

/// A registrar that answers REGISTER with `status` (423 with Min-Expires 1200 while the
/// REGISTER asks for less) and a GB28181 Date in its 200.
struct registrar {
  explicit registrar(boost::asio::io_context& io) : agent(io, loopback_config("registrar")) {
    REQUIRE_FALSE(agent.start());
    agent.on_request("REGISTER", [this](ua::incoming_request& in) {
      const auto expires = std::stoi(std::string(in.message().get(header_id::expires).value_or("0")));
      if (status == 200 && min_expires && expires < *min_expires) {
        auto rsp = in.make_response(423);
        rsp.add("Min-Expires", std::to_string(*min_expires));
        in.respond(std::move(rsp));
        return;
      }
      auto rsp = in.make_response(status);
      if (status == 200) {
        rsp.add(header_id::contact, std::string(in.message().get(header_id::contact).value_or("")) +
                                        ";expires=" + std::to_string(expires));
        rsp.add("Date", gb_date);
      }
      in.respond(std::move(rsp));
    });
  }
  ua::registration_options options() const {
    ua::registration_options o;
    o.registrar = "sip:" + agent.local_address(transport::protocol::udp);
    o.expires = std::chrono::seconds(600);
    o.retry_interval = std::chrono::seconds(0);
    return o;
  }
  ua::user_agent agent;
  int status = 200;
  std::optional<int> min_expires;
};

/// (state, status of the event's message or 0 without one) of registration events.
using reg_step = std::pair<registration_state, int>;

/// Alice calls bob, bob answers; bob's events (kinds, copies of their messages, and the
/// SDPs his call had when each came) are recorded.
struct call_pair {
  call_pair() : alice(io, loopback_config("alice")), bob(io, loopback_config("bob")) {
    REQUIRE_FALSE(alice.start());
    REQUIRE_FALSE(bob.start());
    bob.on_incoming_call([this](call c) {
      incoming = c;
      // Not capturing `c`: the call keeps its handler, which must not keep the call.
      c.on_event([this](const call_event& e) {
        if (e.what == call_event::kind::state_changed) return;
        kinds.push_back(e.what);
        messages.push_back(e.message ? std::optional<parser::message>(*e.message) : std::nullopt);
        sdps.emplace_back(incoming.remote_sdp(), incoming.local_sdp());
      });
      REQUIRE_FALSE(c.answer());
    });
    caller = alice.make_call(uri_of(bob, "bob"));
    REQUIRE(run_until(io, [&] {
      return caller.state() == call_state::established && incoming &&
             incoming.state() == call_state::established;
    }));
  }
  /// Alice's re-offer with `o`; the peer's final status.
  int reoffer(ua::reoffer_options o) {
    std::optional<int> status;
    caller.async_reoffer(std::move(o), [&](std::error_code ec, int s) {
      CHECK_FALSE(ec);
      status = s;
    });
    REQUIRE(run_until(io, [&] { return status.has_value(); }));
    return *status;
  }

  boost::asio::io_context io;
  ua::user_agent alice, bob;
  call caller, incoming;
  std::vector<call_event::kind> kinds;
  std::vector<std::optional<parser::message>> messages;
  std::vector<std::pair<std::string, std::string>> sdps;  // remote, local at the event
};

/// Alice's offer moved to another RTP port: a change that is not hold.
const std::string moved_offer =
    "v=0\r\n"
    "o=alice 77 2 IN IP4 127.0.0.1\r\n"
    "s=-\r\n"
    "c=IN IP4 127.0.0.1\r\n"
    "t=0 0\r\n"
    "m=audio 41000 RTP/AVP 0\r\n"
    "a=rtpmap:0 PCMU/8000\r\n"
    "a=sendrecv\r\n";

}  // namespace

// ------------------------------------------------------------------ pulled events own it

TEST_CASE("Pulled call events own the response that caused them") {
  boost::asio::io_context io;
  ua::user_agent alice(io, queued("alice"));
  ua::user_agent bob(io, loopback_config("bob"));
  REQUIRE_FALSE(alice.start());
  REQUIRE_FALSE(bob.start());
  bob.on_incoming_call([](call c) {
    REQUIRE_FALSE(c.ring());
    REQUIRE_FALSE(c.answer());
  });
  call c = alice.make_call(uri_of(bob, "bob"));
  const agent_event ringing = pull(io, alice);
  agent_event established = pull(io, alice);
  REQUIRE(run_until(io, [&] { return c.state() == call_state::established; }));
  REQUIRE(ringing.message);
  CHECK(ringing.message->status_code() == 180);
  CHECK(ringing.status == 180);
  REQUIRE(established.message);
  CHECK(established.state == call_state::established);
  CHECK(established.message->status_code() == 200);
  CHECK(established.message->call_id() == c.call_id());
  CHECK(established.message->body() == c.remote_sdp());
  CHECK(established.as_call_event().message == established.message.get());
  // Owned: a copy of the event keeps the same message after the original is gone.
  const agent_event kept = established;
  established = agent_event{};
  REQUIRE(kept.message);
  CHECK(kept.message->status_code() == 200);
}

TEST_CASE("A pulled registration event owns the 200 with its Date") {
  boost::asio::io_context io;
  registrar r(io);
  ua::user_agent alice(io, queued("alice"));
  REQUIRE_FALSE(alice.start());
  auto reg = alice.start_registration(r.options());
  const agent_event registering = pull(io, alice);
  const agent_event registered = pull(io, alice);
  CHECK(registering.registration_info.state == registration_state::registering);
  CHECK_FALSE(registering.message);  // our own REGISTER caused it
  CHECK(registering.registration_info.message == nullptr);
  CHECK(registered.registration_info.state == registration_state::registered);
  REQUIRE(registered.message);
  CHECK(registered.registration_info.message == registered.message.get());
  CHECK(registered.message->status_code() == 200);
  CHECK(registered.message->get("Date") == gb_date);
}

TEST_CASE("A pulled NOTIFY owns the NOTIFY with its Subscription-State") {
  boost::asio::io_context io;
  ua::user_agent alice(io, queued("alice"));
  ua::user_agent bob(io, loopback_config("bob"));
  REQUIRE_FALSE(alice.start());
  REQUIRE_FALSE(bob.start());
  bob.on_subscribe("presence", [](ua::notifier n) { REQUIRE_FALSE(n.accept("text/plain", "open")); });
  ua::subscribe_options o;
  o.target = uri_of(bob, "bob");
  o.event = "presence";
  o.accept = "text/plain";
  auto s = alice.subscribe(o);
  const agent_event e = pull(io, alice);
  CHECK(e.what == agent_event::kind::subscription);
  REQUIRE(e.message);
  CHECK(e.message->method() == parser::method::notify);
  CHECK(e.message->get("Subscription-State").value_or("").substr(0, 6) == "active");
  CHECK(e.message->body() == "open");
  CHECK(e.body == "open");
}

TEST_CASE("A pulled MESSAGE owns the request; request is the same object") {
  boost::asio::io_context io;
  ua::user_agent alice(io, loopback_config("alice"));
  ua::user_agent bob(io, queued("bob"));
  REQUIRE_FALSE(alice.start());
  REQUIRE_FALSE(bob.start());
  ua::request_options m{.target_uri = uri_of(bob, "bob"),
                        .headers = {{"X-Seq", "7"}},
                        .content_type = "text/plain",
                        .body = "hello"};
  alice.async_send_message(m, [](std::error_code, int) {});
  const agent_event e = pull(io, bob);
  CHECK(e.what == agent_event::kind::message);
  REQUIRE(e.message);
  CHECK(e.request == e.message);
  CHECK(e.message->method() == parser::method::message);
  CHECK(e.message->get("X-Seq") == "7");
  CHECK(e.message->body() == "hello");
}

// ------------------------------------------------------------------ registration events

TEST_CASE("Registration events carry the 423 that raised the expiry, then the 200") {
  boost::asio::io_context io;
  registrar r(io);
  r.min_expires = 1200;
  ua::user_agent alice(io, loopback_config("alice"));
  REQUIRE_FALSE(alice.start());
  auto reg = alice.start_registration(r.options());
  std::vector<reg_step> steps;
  std::optional<std::string> min_expires, date;
  reg.on_event([&](const ua::registration_event& e) {
    steps.emplace_back(e.state, e.message ? e.message->status_code() : 0);
    if (e.message && e.message->status_code() == 423)
      min_expires = std::string(e.message->get("Min-Expires").value_or(""));
    if (e.message && e.message->status_code() == 200)
      date = std::string(e.message->get("Date").value_or(""));
  });
  REQUIRE(run_until(io, [&] { return reg.state() == registration_state::registered; }));
  REQUIRE(steps.size() >= 2);
  CHECK(steps[steps.size() - 2] == reg_step{registration_state::registering, 423});
  CHECK(steps.back() == reg_step{registration_state::registered, 200});
  CHECK(min_expires == "1200");
  CHECK(date == gb_date);
}

TEST_CASE("A registration refused 403 fails with the 403 in its event") {
  boost::asio::io_context io;
  registrar r(io);
  r.status = 403;
  ua::user_agent alice(io, loopback_config("alice"));
  REQUIRE_FALSE(alice.start());
  auto reg = alice.start_registration(r.options());
  std::optional<int> failed_with;
  reg.on_event([&](const ua::registration_event& e) {
    if (e.state == registration_state::failed) failed_with = e.message ? e.message->status_code() : 0;
  });
  REQUIRE(run_until(io, [&] { return failed_with.has_value(); }));
  CHECK(*failed_with == 403);
}

// ------------------------------------------------------------------ refer_progress

TEST_CASE("refer_progress events carry the NOTIFY with its sipfrag and Subscription-State") {
  boost::asio::io_context io;
  ua::user_agent alice(io, loopback_config("alice")), bob(io, loopback_config("bob")),
      carol(io, loopback_config("carol"));
  REQUIRE_FALSE(alice.start());
  REQUIRE_FALSE(bob.start());
  REQUIRE_FALSE(carol.start());
  call bob_call;
  bob.on_incoming_call([&](call c) {
    bob_call = c;
    REQUIRE_FALSE(c.answer());
  });
  carol.on_incoming_call([](call c) { REQUIRE_FALSE(c.answer()); });
  bob.on_refer([&](call, std::string_view to) { return bob.make_call(to); });
  call c = alice.make_call(uri_of(bob, "bob"));
  std::vector<std::pair<int, parser::message>> notifies;
  c.on_event([&](const call_event& e) {
    if (e.what != call_event::kind::refer_progress) return;
    REQUIRE(e.message);
    notifies.emplace_back(e.status, *e.message);
  });
  REQUIRE(run_until(io, [&] {
    return c.state() == call_state::established && bob_call &&
           bob_call.state() == call_state::established;
  }));
  c.async_refer(uri_of(carol, "carol"), [](std::error_code, int) {});
  REQUIRE(run_until(io, [&] { return !notifies.empty() && notifies.back().first == 200; }));
  for (const auto& [status, notify] : notifies) {
    CHECK(notify.method() == parser::method::notify);
    CHECK(notify.get(header_id::event).value_or("").substr(0, 5) == "refer");
    CHECK(notify.get(header_id::content_type).value_or("").substr(0, 15) == "message/sipfrag");
    CHECK(notify.body().rfind("SIP/2.0 " + std::to_string(status) + " ", 0) == 0);
  }
  CHECK(notifies.front().second.get("Subscription-State").value_or("").substr(0, 6) == "active");
  // The last one (the final 200) ends the implicit subscription (RFC 3515 §2.4.5).
  CHECK(notifies.back().second.get("Subscription-State").value_or("").substr(0, 10) ==
        "terminated");
}

// ------------------------------------------------------------------ remote_reoffer

TEST_CASE("A re-INVITE moving the media raises remote_reoffer after its 200") {
  call_pair p;
  CHECK(p.reoffer({.sdp = moved_offer}) == 200);
  REQUIRE(p.kinds == std::vector<call_event::kind>{call_event::kind::remote_reoffer});
  REQUIRE(p.messages[0]);
  CHECK(p.messages[0]->method() == parser::method::invite);
  CHECK(p.messages[0]->body() == moved_offer);
  // At the event the new offer is remote_sdp() and our answer (sent) is local_sdp().
  CHECK(p.sdps[0].first == moved_offer);
  CHECK(p.sdps[0].second == p.caller.remote_sdp());
  CHECK(p.sdps[0].second.find("m=audio 40000 RTP/AVP 0") != std::string::npos);
  CHECK_FALSE(p.incoming.remote_on_hold());
}

TEST_CASE("An UPDATE moving the media raises remote_reoffer with the UPDATE") {
  call_pair p;
  CHECK(p.reoffer({.sdp = moved_offer, .use_update = true}) == 200);
  REQUIRE(p.kinds == std::vector<call_event::kind>{call_event::kind::remote_reoffer});
  REQUIRE(p.messages[0]);
  CHECK(p.messages[0]->method() == parser::method::update);
  CHECK(p.incoming.remote_sdp() == moved_offer);
}

TEST_CASE("A refresh that changes nothing raises no event; hold raises only remote_hold") {
  call_pair p;
  // The same description again (RFC 4028 refresh by re-INVITE), then an UPDATE without SDP.
  CHECK(p.reoffer({}) == 200);
  std::optional<int> updated;
  p.caller.async_update([&](std::error_code, int s) { updated = s; });
  REQUIRE(run_until(p.io, [&] { return updated.has_value(); }));
  CHECK(*updated == 200);
  CHECK(p.kinds.empty());
  std::optional<int> held;
  p.caller.async_hold([&](std::error_code, int s) { held = s; });
  REQUIRE(run_until(p.io, [&] { return held.has_value(); }));
  CHECK(*held == 200);
  CHECK(p.kinds == std::vector<call_event::kind>{call_event::kind::remote_hold});
}
