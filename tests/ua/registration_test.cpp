// Registration (RFC 3261 §10.2) and digest authentication of requests (§22) between two
// user_agents on loopback: one registers, the other plays a small registrar built on
// on_request + digest_server.
#include <catch2/catch.hpp>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "sipkit/dialog/dialog.hpp"
#include "sipkit/ua/digest.hpp"
#include "ua/ua_test_support.hpp"

using namespace sipkit;
using namespace sipkit::test;
using sipkit::parser::header_id;
using ua::registration_state;

namespace {

struct registrar_fixture {
  registrar_fixture()
      : server(io, loopback_config("registrar")),
        auth(ua::digest_server_config{"example.com"},
             [](std::string_view user, std::string_view) -> std::optional<std::string> {
               if (user == "alice") return std::string("secret");
               return std::nullopt;
             }) {
    REQUIRE_FALSE(server.start());
    server.on_request("REGISTER", [this](ua::incoming_request& in) {
      registers.push_back(in.message());
      const auto now = std::chrono::steady_clock::now();
      auto v = auth.verify(in.message(), false, now);
      if (v.v != ua::digest_server::verdict::ok) {
        in.respond(auth.challenge(in.message(), false,
                                  v.v == ua::digest_server::verdict::stale_nonce, now));
        return;
      }
      auto expires = in.message().get(header_id::expires).value_or("3600");
      if (min_expires && expires != "0" && std::stoi(std::string(expires)) < *min_expires) {
        auto rsp = in.make_response(423);
        rsp.add("Min-Expires", std::to_string(*min_expires));
        in.respond(std::move(rsp));
        return;
      }
      auto ok = in.make_response(200);
      if (auto c = in.message().get(header_id::contact); c && *c != "*" && expires != "0")
        ok.add(header_id::contact,
               std::string(*c) +
                   ";expires=" + std::to_string(grant.value_or(std::stoi(std::string(expires)))));
      in.respond(std::move(ok));
    });
  }

  ua::user_agent make_client(std::string password = "secret") {
    auto cfg = loopback_config("alice");
    cfg.credentials = {{"example.com", "alice", std::move(password)}};
    return ua::user_agent(io, cfg);
  }
  ua::registration_options options() const {
    ua::registration_options o;
    o.registrar = "sip:" + server.local_address(transport::protocol::udp);
    o.aor = "sip:alice@example.com";
    o.expires = std::chrono::seconds(600);
    o.retry_interval = std::chrono::seconds(0);
    return o;
  }

  boost::asio::io_context io;
  ua::user_agent server;
  ua::digest_server auth;
  std::vector<parser::message> registers;
  std::optional<int> min_expires;
  std::optional<int> grant;
};

}  // namespace

TEST_CASE("Registration answers the digest challenge and is registered for the granted time") {
  registrar_fixture f;
  auto alice = f.make_client();
  REQUIRE_FALSE(alice.start());
  auto reg = alice.start_registration(f.options());
  REQUIRE(run_until(f.io, [&] { return reg.state() == registration_state::registered; }));
  CHECK(reg.expires() == std::chrono::seconds(600));
  REQUIRE(f.registers.size() == 2);  // the challenged one and the authorized one
  CHECK_FALSE(f.registers[0].get(header_id::authorization));
  REQUIRE(f.registers[1].get(header_id::authorization));
  CHECK(f.registers[1].get(header_id::authorization)->find("algorithm=SHA-256") !=
        std::string_view::npos);
  // §10.2.4: one Call-ID for the binding, CSeq + 1 per REGISTER.
  CHECK(f.registers[0].call_id() == f.registers[1].call_id());
  CHECK(f.registers[1].cseq()->number == f.registers[0].cseq()->number + 1);
  CHECK(f.registers[1].get(header_id::to) == "<sip:alice@example.com>");
  REQUIRE(reg.bindings().size() == 1);
}

TEST_CASE("Registration with a wrong password fails after one authorized try") {
  registrar_fixture f;
  auto alice = f.make_client("wrong");
  REQUIRE_FALSE(alice.start());
  auto reg = alice.start_registration(f.options());
  std::optional<ua::registration_event> failed;
  reg.on_event([&](const ua::registration_event& e) {
    if (e.state == registration_state::failed) failed = e;
  });
  REQUIRE(run_until(f.io, [&] { return failed.has_value(); }));
  CHECK(failed->status == 401);
  CHECK(f.registers.size() == 2);  // no loop on the same challenge
}

TEST_CASE("423 Interval Too Brief is retried with the Min-Expires asked for") {
  registrar_fixture f;
  f.min_expires = 1200;
  auto alice = f.make_client();
  REQUIRE_FALSE(alice.start());
  auto reg = alice.start_registration(f.options());
  REQUIRE(run_until(f.io, [&] { return reg.state() == registration_state::registered; }));
  CHECK(f.registers.back().get(header_id::expires) == "1200");
  CHECK(reg.expires() == std::chrono::seconds(1200));
}

TEST_CASE("A short granted expiry is refreshed with the same Call-ID and a higher CSeq") {
  registrar_fixture f;
  f.grant = 2;  // refreshed after 1 s (half of it)
  auto alice = f.make_client();
  REQUIRE_FALSE(alice.start());
  auto reg = alice.start_registration(f.options());
  REQUIRE(run_until(f.io, [&] { return reg.state() == registration_state::registered; }));
  const auto first = f.registers.size();
  REQUIRE(run_until(
      f.io, [&] { return f.registers.size() > first; }, 5000ms));
  CHECK(f.registers.back().call_id() == f.registers.front().call_id());
  CHECK(f.registers.back().cseq()->number > f.registers[first - 1].cseq()->number);
}

TEST_CASE("Unregistering sends Expires 0 for our Contact and ends the registration") {
  registrar_fixture f;
  auto alice = f.make_client();
  REQUIRE_FALSE(alice.start());
  auto reg = alice.start_registration(f.options());
  REQUIRE(run_until(f.io, [&] { return reg.state() == registration_state::registered; }));
  std::optional<int> status;
  reg.async_unregister([&](std::error_code ec, int s) {
    CHECK_FALSE(ec);
    status = s;
  });
  REQUIRE(run_until(f.io, [&] { return status.has_value(); }));
  CHECK(*status == 200);
  CHECK(reg.state() == registration_state::unregistered);
  CHECK(f.registers.back().get(header_id::expires) == "0");
  CHECK(f.registers.back().get(header_id::contact) != "*");
}

TEST_CASE("Unregistering all bindings sends Contact * with Expires 0") {
  registrar_fixture f;
  auto alice = f.make_client();
  REQUIRE_FALSE(alice.start());
  auto reg = alice.start_registration(f.options());
  REQUIRE(run_until(f.io, [&] { return reg.state() == registration_state::registered; }));
  std::optional<int> status;
  reg.async_unregister_all([&](std::error_code, int s) { status = s; });
  REQUIRE(run_until(f.io, [&] { return status.has_value(); }));
  CHECK(*status == 200);
  CHECK(f.registers.back().get(header_id::contact) == "*");
  CHECK(f.registers.back().get(header_id::expires) == "0");
}

TEST_CASE("An INVITE challenged with 407 is sent again with Proxy-Authorization and a new CSeq") {
  registrar_fixture f;  // only for its io_context; bob challenges itself
  auto bob_cfg = loopback_config("bob");
  ua::user_agent bob(f.io, bob_cfg);
  REQUIRE_FALSE(bob.start());
  ua::digest_server proxy_auth(
      ua::digest_server_config{"example.com"},
      [](std::string_view, std::string_view) -> std::optional<std::string> {
        return std::string("secret");
      });
  std::vector<parser::message> invites;
  bob.on_request("INVITE", [&](ua::incoming_request& in) {
    invites.push_back(in.message());
    const auto now = std::chrono::steady_clock::now();
    auto v = proxy_auth.verify(in.message(), true, now);
    if (v.v != ua::digest_server::verdict::ok) {
      in.respond(proxy_auth.challenge(in.message(), true, false, now));
      return;
    }
    in.respond(in.make_response(486));  // authenticated: the point is made
  });
  auto alice = f.make_client();
  REQUIRE_FALSE(alice.start());
  auto c = alice.make_call(uri_of(bob, "bob"));
  std::optional<std::error_code> done;
  c.async_wait_connected([&](std::error_code ec) { done = ec; });
  REQUIRE(run_until(f.io, [&] { return done.has_value(); }));
  CHECK(c.final_status() == 486);
  REQUIRE(invites.size() == 2);
  CHECK(invites[1].get(header_id::proxy_authorization));
  CHECK(invites[1].cseq()->number == 2);
  CHECK(invites[1].call_id() == invites[0].call_id());
  CHECK(invites[1].from()->tag == invites[0].from()->tag);
}

TEST_CASE("Registration binds every extra contact in the same REGISTER") {
  registrar_fixture f;
  auto alice = f.make_client();
  REQUIRE_FALSE(alice.start());
  auto opts = f.options();
  opts.extra_contacts = {"sip:alice@192.0.2.50:5060", "<sip:alice-desk@192.0.2.51>"};
  auto reg = alice.start_registration(opts);
  REQUIRE(run_until(f.io, [&] { return reg.state() == registration_state::registered; }));
  const auto& last = f.registers.back();
  REQUIRE(last.count(header_id::contact) == 3);  // ours and the two extra ones
  std::vector<std::string> contacts;
  for (const auto& field : last.fields())
    if (field.id == header_id::contact) contacts.emplace_back(last.value_of(field));
  CHECK(contacts[1] == "<sip:alice@192.0.2.50:5060>");
  CHECK(contacts[2] == "<sip:alice-desk@192.0.2.51>");
}
