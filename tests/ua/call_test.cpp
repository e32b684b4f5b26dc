// Calls between two user_agents on loopback: the whole UA stack (transport, transactions,
// dialogs, offer/answer) on both ends.
// clang-format off
#include <boost/asio/use_future.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/use_awaitable.hpp>
// Boost 1.81 enables co_await for g++ 12 and for clang 14 with libstdc++: the awaitable
// case below runs in both builds of the suite, so a toolchain without it fails loudly.
#if !defined(BOOST_ASIO_HAS_CO_AWAIT)
#error "sipkit's UA tests need Boost.Asio's co_await support (Boost >= 1.81 with C++20)"
#endif
#include <catch2/catch.hpp>
#include <optional>
#include <string>
#include <vector>

#include "sipkit/sdp/session.hpp"
#include "sipkit/transaction/error.hpp"
#include "sipkit/transport/error.hpp"
#include "ua/ua_test_support.hpp"
// clang-format on

using namespace sipkit;
using namespace sipkit::test;
using ua::call;
using ua::call_state;
using ua::errc;

namespace {

/// Caller and callee on one io_context; the callee's policy decides what incoming calls get.
struct pair_fixture {
  explicit pair_fixture(transport::protocol p = transport::protocol::udp)
      : protocol(p), alice(io, loopback_config("alice", p)), bob(io, loopback_config("bob", p)) {
    REQUIRE_FALSE(alice.start());
    REQUIRE_FALSE(bob.start());
    bob.on_incoming_call([this](call c) {
      incoming = c;
      c.on_event([this](const ua::call_event& e) {
        bob_events.push_back(e.what);
        if (e.what == ua::call_event::kind::info || e.what == ua::call_event::kind::message)
          bob_bodies.emplace_back(e.body);
      });
      if (on_incoming) on_incoming(c);
    });
  }
  std::string bob_uri() const { return uri_of(bob, "bob", protocol); }

  /// Alice calls Bob, Bob rings and answers; returns Alice's call once both are established.
  call establish() {
    on_incoming = [](call c) {
      REQUIRE_FALSE(c.ring());
      REQUIRE_FALSE(c.answer());
    };
    call c = alice.make_call(bob_uri());
    std::optional<std::error_code> connected;
    c.async_wait_connected([&](std::error_code ec) { connected = ec; });
    REQUIRE(run_until(
        io, [&] { return connected && incoming && incoming.state() == call_state::established; }));
    REQUIRE_FALSE(*connected);
    return c;
  }

  transport::protocol protocol;
  boost::asio::io_context io;
  ua::user_agent alice, bob;
  call incoming;
  std::function<void(call)> on_incoming;
  std::vector<ua::call_event::kind> bob_events;
  std::vector<std::string> bob_bodies;
};

}  // namespace

TEST_CASE("A call is established with an SDP offer in the INVITE and the answer in the 200") {
  pair_fixture f;
  call c = f.establish();
  CHECK(c.state() == call_state::established);
  CHECK(f.incoming.state() == call_state::established);
  CHECK(c.final_status() == 200);
  CHECK(c.call_id() == f.incoming.call_id());
  // Each side holds the other's description: Bob answered Alice's offer.
  CHECK(c.remote_sdp() == f.incoming.local_sdp());
  CHECK(f.incoming.remote_sdp() == c.local_sdp());
  sdp::session answer;
  REQUIRE_FALSE(sdp::parse(c.remote_sdp(), answer));
  REQUIRE(answer.media.size() == 1);
  CHECK(answer.media[0].fmts == std::vector<std::string>{"0", "8"});
  CHECK(answer.media[0].port == 40000);
}

TEST_CASE("The caller's BYE ends the call on both sides") {
  pair_fixture f;
  call c = f.establish();
  std::optional<std::error_code> hung_up;
  c.async_hangup([&](std::error_code ec) { hung_up = ec; });
  REQUIRE(run_until(f.io, [&] { return hung_up && f.incoming.state() == call_state::terminated; }));
  CHECK_FALSE(*hung_up);
  CHECK(c.state() == call_state::terminated);
  CHECK(c.final_status() == 200);
  CHECK(f.alice.call_count() == 0);
  CHECK(f.bob.call_count() == 0);
}

TEST_CASE("The callee's BYE ends the call on both sides") {
  pair_fixture f;
  call c = f.establish();
  std::optional<std::error_code> hung_up;
  f.incoming.async_hangup([&](std::error_code ec) { hung_up = ec; });
  REQUIRE(run_until(f.io, [&] { return hung_up && c.state() == call_state::terminated; }));
  CHECK_FALSE(*hung_up);
  CHECK(f.alice.call_count() == 0);
  CHECK(f.bob.call_count() == 0);
}

TEST_CASE("INFO and MESSAGE in a call reach the peer's event handler and are answered 200") {
  pair_fixture f;
  call c = f.establish();
  std::optional<int> info_status, message_status;
  c.async_info("application/dtmf-relay", "Signal=5\r\nDuration=160\r\n",
               [&](std::error_code ec, int s) {
                 CHECK_FALSE(ec);
                 info_status = s;
               });
  c.async_message("text/plain", "hello bob", [&](std::error_code ec, int s) {
    CHECK_FALSE(ec);
    message_status = s;
  });
  REQUIRE(run_until(f.io, [&] { return info_status && message_status; }));
  CHECK(*info_status == 200);
  CHECK(*message_status == 200);
  CHECK(f.bob_bodies == std::vector<std::string>{"Signal=5\r\nDuration=160\r\n", "hello bob"});
}

TEST_CASE("A rejected call completes with errc::rejected and the peer's status") {
  pair_fixture f;
  f.on_incoming = [](call c) { REQUIRE_FALSE(c.reject(486)); };
  call c = f.alice.make_call(f.bob_uri());
  std::optional<std::error_code> connected;
  c.async_wait_connected([&](std::error_code ec) { connected = ec; });
  REQUIRE(run_until(f.io, [&] { return connected.has_value(); }));
  CHECK(*connected == errc::rejected);
  CHECK(c.final_status() == 486);
  CHECK(c.state() == call_state::terminated);
  CHECK(f.incoming.state() == call_state::terminated);
}

TEST_CASE("Hanging up a ringing outgoing call sends CANCEL and ends both sides with 487") {
  pair_fixture f;
  f.on_incoming = [](call c) { REQUIRE_FALSE(c.ring()); };  // rings, never answers
  call c = f.alice.make_call(f.bob_uri());
  std::optional<std::error_code> connected, hung_up;
  c.async_wait_connected([&](std::error_code ec) { connected = ec; });
  REQUIRE(run_until(f.io, [&] { return c.state() == call_state::early; }));
  c.async_hangup([&](std::error_code ec) { hung_up = ec; });
  REQUIRE(run_until(f.io, [&] { return connected && hung_up; }));
  CHECK(*connected == errc::cancelled);
  CHECK_FALSE(*hung_up);
  CHECK(c.final_status() == 487);
  REQUIRE(run_until(f.io, [&] { return f.incoming.state() == call_state::terminated; }));
  CHECK(f.incoming.final_status() == 487);
}

TEST_CASE("Hanging up before any provisional response waits for one, then cancels (RFC 3261 9.1)") {
  pair_fixture f;
  f.on_incoming = [](call c) { REQUIRE_FALSE(c.ring()); };
  call c = f.alice.make_call(f.bob_uri());
  std::optional<std::error_code> connected, hung_up;
  c.async_wait_connected([&](std::error_code ec) { connected = ec; });
  c.async_hangup([&](std::error_code ec) { hung_up = ec; });  // still "calling"
  REQUIRE(run_until(f.io, [&] { return connected && hung_up; }));
  CHECK(*connected == errc::cancelled);
  CHECK(c.final_status() == 487);
}

TEST_CASE("Hold and resume by re-INVITE change the SDP direction and tell the peer") {
  pair_fixture f;
  call c = f.establish();
  std::optional<int> held;
  c.async_hold([&](std::error_code ec, int s) {
    CHECK_FALSE(ec);
    held = s;
  });
  REQUIRE(run_until(f.io, [&] { return held.has_value(); }));
  CHECK(*held == 200);
  CHECK(f.incoming.remote_on_hold());
  CHECK(c.local_sdp().find("a=sendonly") != std::string_view::npos);
  CHECK(c.remote_sdp().find("a=recvonly") != std::string_view::npos);
  sdp::session offer;
  REQUIRE_FALSE(sdp::parse(c.local_sdp(), offer));
  CHECK(offer.origin.session_version == 2);  // bumped by the re-offer (RFC 3264 §8)

  std::optional<int> resumed;
  c.async_resume([&](std::error_code ec, int s) {
    CHECK_FALSE(ec);
    resumed = s;
  });
  REQUIRE(run_until(f.io, [&] { return resumed.has_value(); }));
  CHECK_FALSE(f.incoming.remote_on_hold());
  CHECK(f.bob_events == std::vector<ua::call_event::kind>{ua::call_event::kind::state_changed,
                                                          ua::call_event::kind::state_changed,
                                                          ua::call_event::kind::state_changed,
                                                          ua::call_event::kind::remote_hold,
                                                          ua::call_event::kind::remote_resume});
}

TEST_CASE("A call over TCP is established and hung up") {
  pair_fixture f(transport::protocol::tcp);
  call c = f.establish();
  std::optional<std::error_code> hung_up;
  c.async_hangup([&](std::error_code ec) { hung_up = ec; });
  REQUIRE(run_until(f.io, [&] { return hung_up && f.incoming.state() == call_state::terminated; }));
  CHECK_FALSE(*hung_up);
}

TEST_CASE("A call to an agent without an incoming-call handler is answered 480") {
  pair_fixture f;
  f.bob.on_incoming_call(nullptr);
  call c = f.alice.make_call(f.bob_uri());
  std::optional<std::error_code> connected;
  c.async_wait_connected([&](std::error_code ec) { connected = ec; });
  REQUIRE(run_until(f.io, [&] { return connected.has_value(); }));
  CHECK(*connected == errc::rejected);
  CHECK(c.final_status() == 480);
}

TEST_CASE("A call to a host name is located by RFC 3263 before the INVITE goes out") {
  pair_fixture f;  // alice's resolver reads the hosts file only: no DNS server needed
  auto cfg = loopback_config("carol");
  cfg.dns.lookups = "f";
  cfg.dns.ipv6 = false;
  ua::user_agent carol(f.io, cfg);
  REQUIRE_FALSE(carol.start());
  f.on_incoming = [](call c) { REQUIRE_FALSE(c.answer()); };
  const auto bob = f.bob.local_address(transport::protocol::udp);
  call c = carol.make_call("sip:bob@localhost" + bob.substr(bob.rfind(':')));
  std::optional<std::error_code> connected;
  c.async_wait_connected([&](std::error_code ec) { connected = ec; });
  REQUIRE(
      run_until(f.io, [&] { return connected && f.incoming.state() == call_state::established; }));
  CHECK_FALSE(*connected);
}

TEST_CASE("A call to a host name that does not resolve fails with the resolver's error") {
  auto cfg = loopback_config("alice");
  cfg.dns.servers = "127.0.0.1:1";  // nothing answers there: the lookup fails fast
  cfg.dns.timeout = std::chrono::milliseconds(200);
  cfg.dns.tries = 1;
  boost::asio::io_context io;
  ua::user_agent alice(io, cfg);
  REQUIRE_FALSE(alice.start());
  call c = alice.make_call("sip:bob@example.invalid");
  std::optional<std::error_code> connected;
  c.async_wait_connected([&](std::error_code ec) { connected = ec; });
  REQUIRE(run_until(io, [&] { return connected.has_value(); }));
  CHECK(*connected == transport::error::dns_failure);
  CHECK(c.state() == call_state::terminated);
  CHECK(alice.call_count() == 0);
}

TEST_CASE("A call to a URI that is not sip or sips fails with errc::bad_target") {
  pair_fixture f;
  call c = f.alice.make_call("tel:+15551234567");
  std::optional<std::error_code> connected;
  c.async_wait_connected([&](std::error_code ec) { connected = ec; });
  REQUIRE(run_until(f.io, [&] { return connected.has_value(); }));
  CHECK(*connected == errc::bad_target);
}

TEST_CASE("A call to a port nobody listens on times out with Timer B") {
  auto cfg = loopback_config("alice");
  cfg.transactions.timers.t1 = std::chrono::milliseconds(5);  // Timer B = 64*T1 = 320 ms
  boost::asio::io_context io;
  ua::user_agent alice(io, cfg);
  REQUIRE_FALSE(alice.start());
  call c = alice.make_call("sip:nobody@127.0.0.1:9");
  std::optional<std::error_code> connected;
  c.async_wait_connected([&](std::error_code ec) { connected = ec; });
  REQUIRE(run_until(io, [&] { return connected.has_value(); }));
  CHECK(*connected == transaction::error::timeout);
  CHECK(alice.call_count() == 0);
}

TEST_CASE("MESSAGE outside a dialog reaches on_message and completes with 200 through use_future") {
  pair_fixture f;
  std::string got;
  f.bob.on_message([&](const ua::message_event& m) { got = std::string(m.body); });
  auto fut = f.alice.async_send_message(f.bob_uri(), "text/plain", "page", boost::asio::use_future);
  REQUIRE(run_until(f.io, [&] { return fut.wait_for(0s) == std::future_status::ready; }));
  auto [ec, status] = fut.get();
  CHECK_FALSE(ec);
  CHECK(status == 200);
  CHECK(got == "page");
}

TEST_CASE("MESSAGE outside a dialog tells the handler its source and the whole request") {
  pair_fixture f;
  std::optional<transaction::endpoint> source;
  std::string call_id, from;
  f.bob.on_message([&](const ua::message_event& m) {
    source = m.source;
    from = std::string(m.from);
    REQUIRE(m.request != nullptr);
    call_id = std::string(m.request->get(parser::header_id::call_id).value_or(""));
  });
  std::optional<int> status;
  f.alice.async_send_message(f.bob_uri(), "text/plain", "page",
                             [&](std::error_code, int s) { status = s; });
  REQUIRE(run_until(f.io, [&] { return status.has_value(); }));
  CHECK(*status == 200);
  REQUIRE(source);
  CHECK(source->host == "127.0.0.1");
  CHECK(std::to_string(source->port) ==
        f.alice.local_address(sipkit::transport::protocol::udp).substr(10));
  CHECK(source->protocol == transaction::transport_protocol::udp);
  CHECK_FALSE(call_id.empty());
  CHECK(from.find("alice") != std::string::npos);
}

TEST_CASE("MESSAGE outside a dialog carries the caller's From URI and extra headers") {
  pair_fixture f;
  std::string from, subject, body;
  f.bob.on_message([&](const ua::message_event& m) {
    from = std::string(m.from);
    subject = std::string(m.request->get("Subject").value_or(""));
    body = std::string(m.body);
  });
  ua::message_request r;
  r.target_uri = f.bob_uri();
  r.content_type = "Application/MANSCDP+xml";
  r.body = "<Notify/>";
  r.from_uri = "sip:34020000001320000001@3402000000";
  r.headers = {{"Subject", "keepalive"}};
  std::optional<int> status;
  f.alice.async_send_message(r, [&](std::error_code, int s) { status = s; });
  REQUIRE(run_until(f.io, [&] { return status.has_value(); }));
  CHECK(*status == 200);
  CHECK(from.rfind("<sip:34020000001320000001@3402000000>;tag=", 0) == 0);
  CHECK(subject == "keepalive");
  CHECK(body == "<Notify/>");

  // Headers the agent writes itself, and header injection, are refused before sending.
  for (const auto& bad : std::vector<std::pair<std::string, std::string>>{
           {"Call-ID", "x"}, {"v", "SIP/2.0/UDP h"}, {"Bad Name", "x"}, {"X-A", "a\r\nVia: b"}}) {
    CAPTURE(bad.first);
    ua::message_request refused = r;
    refused.headers = {bad};
    std::optional<std::error_code> ec;
    f.alice.async_send_message(refused, [&](std::error_code e, int) { ec = e; });
    REQUIRE(run_until(f.io, [&] { return ec.has_value(); }));
    CHECK(*ec == std::errc::invalid_argument);
  }
}

TEST_CASE("MESSAGE to an agent without a message handler is answered 405") {
  pair_fixture f;
  std::optional<int> status;
  f.alice.async_send_message(f.bob_uri(), "text/plain", "page", [&](std::error_code ec, int s) {
    CHECK(ec == errc::rejected);
    status = s;
  });
  REQUIRE(run_until(f.io, [&] { return status.has_value(); }));
  CHECK(*status == 405);
}

// The transaction layer returns a synchronous transport failure from start_client (it
// used to report it only through on_failure, before the agent knew the id): the request's
// handler completes with the transport's error, and the agent goes on.
TEST_CASE("MESSAGE too large for UDP completes with the transport's error; the next is sent") {
  boost::asio::io_context io;
  auto cfg = loopback_config("alice");
  cfg.transport.udp_to_tcp_threshold = 0;  // keep it on UDP (RFC 3261 18.1.1 off)
  ua::user_agent alice(io, cfg);
  ua::user_agent bob(io, loopback_config("bob"));
  REQUIRE_FALSE(alice.start());
  REQUIRE_FALSE(bob.start());
  std::vector<std::string> got;
  bob.on_message([&](const ua::message_event& m) { got.emplace_back(m.body); });
  std::optional<std::pair<std::error_code, int>> big, small;
  alice.async_send_message(uri_of(bob, "bob"), "text/plain", std::string(70000, 'x'),
                           [&](std::error_code ec, int s) { big.emplace(ec, s); });
  REQUIRE(run_until(io, [&] { return big.has_value(); }));
  CHECK(big->first == transport::error::message_too_large);
  CHECK(big->second == 0);
  alice.async_send_message(uri_of(bob, "bob"), "text/plain", "page",
                           [&](std::error_code ec, int s) { small.emplace(ec, s); });
  REQUIRE(run_until(io, [&] { return small.has_value(); }));
  CHECK_FALSE(small->first);
  CHECK(small->second == 200);
  CHECK(got == std::vector<std::string>{"page"});
}

TEST_CASE("OPTIONS is answered 200 by the stack, awaited with use_awaitable") {
  pair_fixture f;
  std::optional<int> status;
  boost::asio::co_spawn(
      f.io,
      [&]() -> boost::asio::awaitable<void> {
        auto [ec, s] = co_await f.alice.async_options(f.bob_uri(), boost::asio::use_awaitable);
        CHECK_FALSE(ec);
        status = s;
      },
      boost::asio::detached);
  REQUIRE(run_until(f.io, [&] { return status.has_value(); }));
  CHECK(*status == 200);
}

TEST_CASE("stop() hangs up every call and refuses new ones") {
  pair_fixture f;
  call c = f.establish();
  f.alice.stop();
  REQUIRE(run_until(f.io, [&] { return f.alice.call_count() == 0 && f.bob.call_count() == 0; }));
  CHECK(c.state() == call_state::terminated);
  call again = f.alice.make_call(f.bob_uri());
  std::optional<std::error_code> connected;
  again.async_wait_connected([&](std::error_code ec) { connected = ec; });
  REQUIRE(run_until(f.io, [&] { return connected.has_value(); }));
  CHECK(*connected == errc::invalid_state);
}

TEST_CASE("An UPDATE re-offers the session and is answered with the same SDP (RFC 3311)") {
  pair_fixture f;
  call c = f.establish();
  const std::string before(c.remote_sdp());
  std::optional<int> status;
  c.async_update([&](std::error_code ec, int s) {
    CHECK_FALSE(ec);
    status = s;
  });
  REQUIRE(run_until(f.io, [&] { return status.has_value(); }));
  CHECK(*status == 200);
  // An unchanged offer gets an unchanged answer: same o= version (RFC 3264 §8).
  CHECK(c.remote_sdp() == before);
  CHECK(c.state() == call_state::established);
  CHECK(f.incoming.state() == call_state::established);
}

namespace {
ua::ua_config with_session_timer(std::string user, std::chrono::seconds se,
                                 std::chrono::seconds min_se) {
  auto cfg = loopback_config(std::move(user));
  cfg.session_expires = se;
  cfg.min_se = min_se;
  return cfg;
}
}  // namespace

TEST_CASE(
    "A session timer is negotiated in the 2xx and its refreshes keep the call up (RFC 4028)") {
  boost::asio::io_context io;
  ua::user_agent alice(io, with_session_timer("alice", 2s, 1s));
  ua::user_agent bob(io, with_session_timer("bob", 2s, 1s));
  REQUIRE_FALSE(alice.start());
  REQUIRE_FALSE(bob.start());
  call incoming;
  bob.on_incoming_call([&](call c) {
    incoming = c;
    c.answer();
  });
  call c = alice.make_call(uri_of(bob, "bob"));
  REQUIRE(run_until(io, [&] {
    return c.state() == call_state::established && incoming &&
           incoming.state() == call_state::established;
  }));
  CHECK(c.session_interval() == 2s);
  CHECK(incoming.session_interval() == 2s);
  // Without a refresh bob would hang up after 2 s - 2/3 s (§10); alice refreshes at 1 s.
  run_until(
      io, [] { return false; }, 3500ms);
  CHECK(c.state() == call_state::established);
  CHECK(incoming.state() == call_state::established);
}

TEST_CASE("An interval below the UAS's Min-SE gets 422 and is retried with it (RFC 4028 7.4)") {
  boost::asio::io_context io;
  ua::user_agent alice(io, with_session_timer("alice", 1s, 1s));
  ua::user_agent bob(io, with_session_timer("bob", 3s, 3s));
  REQUIRE_FALSE(alice.start());
  REQUIRE_FALSE(bob.start());
  bob.on_incoming_call([](call c) { c.answer(); });
  call c = alice.make_call(uri_of(bob, "bob"));
  std::optional<std::error_code> connected;
  c.async_wait_connected([&](std::error_code ec) { connected = ec; });
  REQUIRE(run_until(io, [&] { return connected.has_value(); }));
  CHECK_FALSE(*connected);
  CHECK(c.session_interval() == 3s);
}

TEST_CASE("Without session timers configured on either side no interval is negotiated") {
  pair_fixture f;
  call c = f.establish();
  CHECK(c.session_interval() == 0s);
  CHECK(f.incoming.session_interval() == 0s);
}

TEST_CASE("A reliable 180 is PRACKed, so the callee does not give up on it (RFC 3262)") {
  auto fast = [](std::string user) {
    auto cfg = loopback_config(std::move(user));
    cfg.transactions.timers.t1 = std::chrono::milliseconds(10);  // 504 after 640 ms unPRACKed
    return cfg;
  };
  boost::asio::io_context io;
  ua::user_agent alice(io, fast("alice")), bob(io, fast("bob"));
  REQUIRE_FALSE(alice.start());
  REQUIRE_FALSE(bob.start());
  call incoming;
  bob.on_incoming_call([&](call c) {
    incoming = c;
    REQUIRE_FALSE(c.ring());
  });
  call c = alice.make_call(uri_of(bob, "bob"));
  REQUIRE(run_until(io, [&] { return c.state() == call_state::early; }));
  run_until(
      io, [] { return false; }, 1000ms);  // longer than 64*T1
  CHECK(incoming.state() == call_state::ringing);
  CHECK(c.state() == call_state::early);
  REQUIRE_FALSE(incoming.answer());
  REQUIRE(run_until(io, [&] { return c.state() == call_state::established; }));
}

TEST_CASE("Without 100rel on the caller the 180 is sent unreliably and the call still works") {
  auto cfg = loopback_config("alice");
  cfg.reliable_provisionals = false;
  boost::asio::io_context io;
  ua::user_agent alice(io, cfg), bob(io, loopback_config("bob"));
  REQUIRE_FALSE(alice.start());
  REQUIRE_FALSE(bob.start());
  bob.on_incoming_call([](call c) {
    REQUIRE_FALSE(c.ring());
    REQUIRE_FALSE(c.ring());  // a second unreliable 18x is fine
    REQUIRE_FALSE(c.answer());
  });
  call c = alice.make_call(uri_of(bob, "bob"));
  REQUIRE(run_until(io, [&] { return c.state() == call_state::established; }));
}

TEST_CASE("An UPDATE in an early dialog is answered before the call is (RFC 3311 5.1)") {
  pair_fixture f;
  f.on_incoming = [](call c) { REQUIRE_FALSE(c.ring()); };  // rings, not answered yet
  call c = f.alice.make_call(f.bob_uri());
  REQUIRE(run_until(f.io, [&] { return c.state() == call_state::early; }));
  std::optional<int> status;
  c.async_update([&](std::error_code ec, int s) {
    CHECK_FALSE(ec);
    status = s;
  });
  REQUIRE(run_until(f.io, [&] { return status.has_value(); }));
  CHECK(*status == 200);
  CHECK(c.state() == call_state::early);
  REQUIRE_FALSE(f.incoming.answer());
  REQUIRE(run_until(f.io, [&] { return c.state() == call_state::established; }));
}
