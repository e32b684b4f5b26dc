// Call transfer by REFER (RFC 3515) between three user_agents on loopback, and the
// Replaces header parser (RFC 3891).
#include <catch2/catch.hpp>
#include <optional>
#include <string>
#include <vector>

#include "ua/ua_test_support.hpp"

using namespace sipkit;
using namespace sipkit::test;
using ua::call;
using ua::call_state;

namespace {

struct transfer_fixture {
  transfer_fixture()
      : alice(io, loopback_config("alice")),
        bob(io, loopback_config("bob")),
        carol(io, loopback_config("carol")) {
    REQUIRE_FALSE(alice.start());
    REQUIRE_FALSE(bob.start());
    REQUIRE_FALSE(carol.start());
    auto answer = [](call c) {
      c.ring();
      c.answer();
    };
    bob.on_incoming_call([this, answer](call c) {
      bob_call = c;
      answer(c);
    });
    carol.on_incoming_call([this, answer](call c) {
      carol_call = c;
      answer(c);
    });
  }
  call establish() {
    call c = alice.make_call(uri_of(bob, "bob"));
    c.on_event([this](const ua::call_event& e) {
      if (e.what == ua::call_event::kind::refer_progress) progress.push_back(e.status);
    });
    REQUIRE(run_until(io, [&] {
      return c.state() == call_state::established && bob_call &&
             bob_call.state() == call_state::established;
    }));
    return c;
  }

  boost::asio::io_context io;
  ua::user_agent alice, bob, carol;
  call bob_call, carol_call;
  std::vector<int> progress;
};

}  // namespace

TEST_CASE("REFER is accepted 202 and the transferee's new call is reported by NOTIFYs") {
  transfer_fixture f;
  std::string referred;
  call transferred;
  f.bob.on_refer([&](call, std::string_view to) {
    referred = std::string(to);
    transferred = f.bob.make_call(to);
    return transferred;
  });
  call c = f.establish();
  std::optional<int> status;
  c.async_refer(uri_of(f.carol, "carol"), [&](std::error_code ec, int s) {
    CHECK_FALSE(ec);
    status = s;
  });
  REQUIRE(
      run_until(f.io, [&] { return status && !f.progress.empty() && f.progress.back() == 200; }));
  CHECK(*status == 202);
  CHECK(referred == uri_of(f.carol, "carol"));
  CHECK(f.progress.front() == 100);  // §2.4.4: Trying first
  CHECK(transferred.state() == call_state::established);
  REQUIRE(f.carol_call);
}

TEST_CASE("A REFER the transferee declines is notified as 603") {
  transfer_fixture f;
  f.bob.on_refer([](call, std::string_view) { return call(); });
  call c = f.establish();
  std::optional<int> status;
  c.async_refer(uri_of(f.carol, "carol"), [&](std::error_code, int s) { status = s; });
  REQUIRE(
      run_until(f.io, [&] { return status && !f.progress.empty() && f.progress.back() == 603; }));
  CHECK(*status == 202);
}

TEST_CASE("A REFER to an agent without a refer handler is refused 603") {
  transfer_fixture f;
  call c = f.establish();
  std::optional<int> status;
  c.async_refer(uri_of(f.carol, "carol"), [&](std::error_code ec, int s) {
    CHECK(ec == ua::errc::rejected);
    status = s;
  });
  REQUIRE(run_until(f.io, [&] { return status.has_value(); }));
  CHECK(*status == 603);
  CHECK(c.state() == call_state::established);  // the call itself goes on
}

TEST_CASE("Replaces gives the Call-ID, both tags and early-only (RFC 3891 6.1)") {
  auto r = ua::parse_replaces("425928@bobster.example.org;to-tag=7743;from-tag=6472;early-only");
  REQUIRE(r);
  CHECK(r->call_id == "425928@bobster.example.org");
  CHECK(r->to_tag == "7743");
  CHECK(r->from_tag == "6472");
  CHECK(r->early_only);
}

TEST_CASE("Replaces without a from-tag is refused") {
  CHECK_FALSE(ua::parse_replaces("425928@bobster.example.org;to-tag=7743"));
  CHECK_FALSE(ua::parse_replaces(";to-tag=1;from-tag=2"));
}
