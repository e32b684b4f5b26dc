// Per-call credentials (call_options::credentials) answer every challenge of the call,
// not only the INVITE's: RFC 3261 §22.2/§22.3 — a UA retries a request challenged with
// 401/407 with credentials, also in a dialog (BYE, re-INVITE). The agent's own
// credentials are different and the peer would refuse them; a second 401 to the retried
// request with the same nonce (not stale) ends it, without a third try.
#include <catch2/catch.hpp>
#include <chrono>
#include <optional>
#include <string>
#include <vector>

#include "sipkit/ua/digest.hpp"
#include "ua/raw_peer.hpp"
#include "ua/ua_test_support.hpp"

using namespace sipkit;
using namespace sipkit::test;
using parser::header_id;
using parser::method;
using ua::call;
using ua::call_state;

namespace {

constexpr std::string_view realm = "sip.example.com";

/// Alice (the agent, with agent-wide credentials of her own) calls a raw peer that
/// challenges in-dialog requests with a digest_server knowing only the call's user.
struct fixture {
  fixture()
      : agent(io, config()),
        peer(io),
        server(ua::digest_server_config{std::string(realm)},
               [](std::string_view user, std::string_view) -> std::optional<std::string> {
                 if (user == "alice-per-call") return std::string("per-call-secret");
                 return std::nullopt;
               }) {
    REQUIRE_FALSE(agent.start());
  }
  static ua::ua_config config() {
    auto cfg = loopback_config("alice");
    cfg.credentials = {{std::string(realm), "alice-agent", "agent-secret"}};
    return cfg;
  }
  /// make_call with per-call credentials, answered 200 by the peer and ACKed.
  peer_message establish() {
    ua::call_options o;
    o.credentials = {{std::string(realm), "alice-per-call", "per-call-secret"}};
    c = agent.make_call(peer.uri("bob"), o);
    c.async_wait_connected([this](std::error_code ec) { connected = ec; });
    auto inv = peer.next_request(method::invite);
    REQUIRE(inv);
    peer.send(response_text(*inv, 200, "bob-1", contact(), sdp_offer("0", "PCMU/8000")), inv->from);
    REQUIRE(peer.next_request(method::ack));
    REQUIRE(run_until(io, [&] { return connected.has_value(); }));
    REQUIRE_FALSE(*connected);
    return std::move(*inv);
  }
  std::string contact() const { return "Contact: <" + peer.uri("bob-ua") + ">\r\n"; }
  /// The digest_server's 401 for `req`, sent back to the agent; returns its challenge.
  std::string challenge(const peer_message& req) {
    auto rsp = server.challenge(req.msg, false, false, std::chrono::steady_clock::now());
    peer.send(rsp.serialize(), req.from);
    return std::string(rsp.get(header_id::www_authenticate).value_or(""));
  }
  ua::digest_server::verdict verify(const peer_message& req) {
    return server.verify(req.msg, false, std::chrono::steady_clock::now()).v;
  }
  static bool authorized(const peer_message& m) {
    return !m.header(header_id::authorization).empty();
  }

  boost::asio::io_context io;
  ua::user_agent agent;
  raw_peer peer;
  ua::digest_server server;
  call c;
  std::optional<std::error_code> connected;
};

}  // namespace

TEST_CASE("A BYE challenged with 401 is retried with the call's own credentials") {
  fixture f;
  f.establish();
  std::optional<std::error_code> done;
  f.c.async_hangup([&](std::error_code ec) { done = ec; });
  auto bye = f.peer.next_request(method::bye);
  REQUIRE(bye);
  CHECK(bye->header(header_id::authorization).empty());
  f.challenge(*bye);
  auto again = f.peer.next(
      [](const peer_message& m) { return m.is_request(method::bye) && fixture::authorized(m); });
  REQUIRE(again);
  CHECK(again->header(header_id::authorization).find("username=\"alice-per-call\"") !=
        std::string::npos);
  CHECK(again->cseq_number() == bye->cseq_number() + 1);
  CHECK(again->to_tag() == "bob-1");
  CHECK(f.verify(*again) == ua::digest_server::verdict::ok);
  f.peer.send(response_text(*again, 200), again->from);
  REQUIRE(run_until(f.io, [&] { return done.has_value(); }));
  CHECK_FALSE(*done);
  CHECK(f.c.state() == call_state::terminated);
  CHECK(f.c.final_status() == 200);
}

TEST_CASE("A re-INVITE challenged with 401 is retried with the call's own credentials") {
  fixture f;
  f.establish();
  std::optional<int> status;
  f.c.async_reoffer(ua::reoffer_options{}, [&](std::error_code, int code) { status = code; });
  auto reinvite = f.peer.next_request(method::invite);
  REQUIRE(reinvite);
  CHECK(reinvite->to_tag() == "bob-1");
  f.challenge(*reinvite);
  // The 401 is ACKed by the transaction layer; the new INVITE carries the credentials.
  auto again = f.peer.next(
      [](const peer_message& m) { return m.is_request(method::invite) && fixture::authorized(m); });
  REQUIRE(again);
  CHECK(again->header(header_id::authorization).find("username=\"alice-per-call\"") !=
        std::string::npos);
  CHECK(again->cseq_number() == reinvite->cseq_number() + 1);
  CHECK(f.verify(*again) == ua::digest_server::verdict::ok);
  f.peer.send(response_text(*again, 200, {}, f.contact(), sdp_offer("0", "PCMU/8000", 2)),
              again->from);
  REQUIRE(run_until(f.io, [&] { return status.has_value(); }));
  CHECK(*status == 200);
  CHECK(f.c.state() == call_state::established);
  auto ack = f.peer.next([&](const peer_message& m) {
    return m.is_request(method::ack) && m.cseq_number() == again->cseq_number();
  });
  CHECK(ack);
}

TEST_CASE("A second 401 with the same nonce to the retried BYE ends it: no third BYE") {
  fixture f;
  f.establish();
  std::optional<std::error_code> done;
  f.c.async_hangup([&](std::error_code ec) { done = ec; });
  auto bye = f.peer.next_request(method::bye);
  REQUIRE(bye);
  const std::string www = f.challenge(*bye);
  REQUIRE_FALSE(www.empty());
  auto again = f.peer.next(
      [](const peer_message& m) { return m.is_request(method::bye) && fixture::authorized(m); });
  REQUIRE(again);
  // Refused again with the very same challenge (same nonce, no stale=true).
  f.peer.send(response_text(*again, 401, {}, "WWW-Authenticate: " + www + "\r\n"), again->from);
  REQUIRE(run_until(f.io, [&] { return done.has_value(); }));
  CHECK(f.c.state() == call_state::terminated);
  CHECK(f.c.final_status() == 401);
  settle(f.io);
  CHECK(f.peer.count([](const peer_message& m) { return m.is_request(method::bye); }) == 0);
}

TEST_CASE("A BYE challenged by a proxy (407) and then the UAS (401) answers both, per call") {
  // §22.3: each challenge of the request is answered, with the call's credentials for
  // each realm; the proxy's Proxy-Authorization stays on the request the UAS challenges.
  fixture f;
  ua::digest_server proxy(
      ua::digest_server_config{"proxy.example.com"},
      [](std::string_view user, std::string_view) -> std::optional<std::string> {
        if (user == "alice-proxy") return std::string("proxy-secret");
        return std::nullopt;
      });
  ua::call_options o;
  o.credentials = {{std::string(realm), "alice-per-call", "per-call-secret"},
                   {"proxy.example.com", "alice-proxy", "proxy-secret"}};
  f.c = f.agent.make_call(f.peer.uri("bob"), o);
  auto inv = f.peer.next_request(method::invite);
  REQUIRE(inv);
  f.peer.send(response_text(*inv, 200, "bob-1", f.contact(), sdp_offer("0", "PCMU/8000")),
              inv->from);
  REQUIRE(f.peer.next_request(method::ack));
  REQUIRE(run_until(f.io, [&] { return f.c.state() == call_state::established; }));

  std::optional<std::error_code> done;
  f.c.async_hangup([&](std::error_code ec) { done = ec; });
  auto bye = f.peer.next_request(method::bye);
  REQUIRE(bye);
  const auto now = std::chrono::steady_clock::now();
  f.peer.send(proxy.challenge(bye->msg, true, false, now).serialize(), bye->from);
  auto second = f.peer.next([&](const peer_message& m) {
    return m.is_request(method::bye) && m.cseq_number() == bye->cseq_number() + 1;
  });
  REQUIRE(second);
  CHECK(proxy.verify(second->msg, true, now).v == ua::digest_server::verdict::ok);
  f.challenge(*second);
  auto third = f.peer.next([&](const peer_message& m) {
    return m.is_request(method::bye) && m.cseq_number() == bye->cseq_number() + 2;
  });
  REQUIRE(third);
  CHECK(third->header(header_id::authorization).find("username=\"alice-per-call\"") !=
        std::string::npos);
  CHECK(third->header(header_id::proxy_authorization).find("username=\"alice-proxy\"") !=
        std::string::npos);
  CHECK(f.verify(*third) == ua::digest_server::verdict::ok);
  CHECK(proxy.verify(third->msg, true, now).v == ua::digest_server::verdict::ok);
  f.peer.send(response_text(*third, 200), third->from);
  REQUIRE(run_until(f.io, [&] { return done.has_value(); }));
  CHECK(f.c.final_status() == 200);
}
