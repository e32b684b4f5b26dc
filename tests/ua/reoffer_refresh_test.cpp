// The answering side of a peer's re-offer reads the offer and the previous descriptions as
// text (write_answer, no owning copies): RFC 3264 §8 must still decide as a comparison of
// sessions would. A re-offer that differs only in its o= version, or in non-canonical line
// ends, is a refresh (no remote_reoffer, our answer keeps its version); a change is news.
// User_agents on loopback, every wait bounded by run_until.
#include <catch2/catch.hpp>
#include <optional>
#include <string>
#include <vector>

#include "sipkit/sdp/session_view.hpp"
#include "ua/ua_test_support.hpp"

using namespace sipkit;
using namespace sipkit::test;
using ua::call;
using ua::call_event;
using ua::call_state;

namespace {

struct established_pair {
  established_pair() : alice(io, loopback_config("alice")), bob(io, loopback_config("bob")) {
    REQUIRE_FALSE(alice.start());
    REQUIRE_FALSE(bob.start());
    bob.on_incoming_call([this](call c) {
      incoming = c;
      c.on_event([this](const call_event& e) {
        if (e.what != call_event::kind::state_changed) kinds.push_back(e.what);
      });
      REQUIRE_FALSE(c.answer());
    });
    caller = alice.make_call(uri_of(bob, "bob"));
    REQUIRE(run_until(io, [&] {
      return caller.state() == call_state::established && incoming &&
             incoming.state() == call_state::established;
    }));
  }
  int reoffer(std::string sdp) {
    std::optional<int> status;
    caller.async_reoffer({.sdp = std::move(sdp)}, [&](std::error_code ec, int s) {
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
};

// `sdp` with its o= session version replaced by `version`.
std::string with_version(std::string sdp, const std::string& version) {
  const auto o = sdp.find("\no=") + 3;
  const auto id = sdp.find(' ', o) + 1;
  const auto first = sdp.find(' ', id) + 1;
  const auto last = sdp.find(' ', first);
  return sdp.replace(first, last - first, version);
}

std::uint64_t version_of(std::string_view sdp) {
  sdp::session_view view;
  REQUIRE_FALSE(sdp::parse(sdp, view));
  return view.origin().session_version;
}

std::string lf_only(std::string sdp) {
  std::string out;
  for (char ch : sdp) {
    if (ch != '\r') out += ch;
  }
  return out;
}

}  // namespace

TEST_CASE("A re-offer that changes only its o= version is a refresh, answered unchanged") {
  established_pair p;
  const std::string offer(p.caller.local_sdp());
  const std::string answer(p.caller.remote_sdp());
  CHECK(p.reoffer(with_version(offer, "9000")) == 200);
  CHECK(p.kinds.empty());
  CHECK(std::string(p.caller.remote_sdp()) == answer);  // RFC 3264 §8: same version, same text
}

TEST_CASE("A re-offer with bare LF line ends and a new version is still the same session") {
  established_pair p;
  const std::string offer(p.caller.local_sdp());
  const std::string answer(p.caller.remote_sdp());
  const std::string lf = lf_only(with_version(offer, "9001"));
  REQUIRE(lf != offer);
  CHECK(p.reoffer(lf) == 200);
  CHECK(p.kinds.empty());
  CHECK(std::string(p.caller.remote_sdp()) == answer);
}

TEST_CASE("A re-offer that moves the media is news; our unchanged answer keeps its version") {
  established_pair p;
  std::string offer = with_version(std::string(p.caller.local_sdp()), "9002");
  const auto m = offer.find("m=audio ");
  REQUIRE(m != std::string::npos);
  offer.replace(m + 8, offer.find(' ', m + 8) - (m + 8), "41234");
  const std::string answer(p.caller.remote_sdp());
  CHECK(p.reoffer(offer) == 200);
  CHECK(p.kinds == std::vector<call_event::kind>{call_event::kind::remote_reoffer});
  // The answer is the same media description (our port did not move), so its text and its
  // version stay: §8 bumps the version only when our description changes.
  CHECK(std::string(p.caller.remote_sdp()) == answer);
}

TEST_CASE("A hold re-offer changes our answer: its version goes up by one, then stays") {
  established_pair p;
  std::string offer = with_version(std::string(p.caller.local_sdp()), "9003");
  const auto a = offer.find("a=sendrecv");
  REQUIRE(a != std::string::npos);
  offer.replace(a, 10, "a=sendonly");
  const std::uint64_t before = version_of(p.caller.remote_sdp());
  CHECK(p.reoffer(offer) == 200);
  CHECK(p.kinds == std::vector<call_event::kind>{call_event::kind::remote_hold});
  const std::string held(p.caller.remote_sdp());
  CHECK(held.find("a=recvonly") != std::string::npos);
  CHECK(version_of(held) == before + 1);
  // The same hold offered again (new o= version): a refresh, our answer as it was.
  CHECK(p.reoffer(with_version(offer, "9004")) == 200);
  CHECK(p.kinds.size() == 1);
  CHECK(std::string(p.caller.remote_sdp()) == held);
}
