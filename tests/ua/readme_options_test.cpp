// The README's "Shaping the messages" snippet, compiled and run: a call with an
// application SDP and extra headers, the callee reading the INVITE and answering with its
// own SDP. The code between the markers is the README's, verbatim.
#include <catch2/catch.hpp>
#include <cstdio>
#include <string>

#include "ua/ua_test_support.hpp"

using namespace sipkit::test;

namespace {

/// A stand-in for an application's media engine: its offer and its answer.
struct media_engine {
  std::string offer() const {
    return "v=0\r\no=engine 1 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\n"
           "m=audio 50000 RTP/AVP 0\r\na=rtpmap:0 PCMU/8000\r\n"
           "a=candidate:1 1 UDP 2130706431 127.0.0.1 50000 typ host\r\n";
  }
  std::string answer(std::string_view /*offer*/) const {
    return "v=0\r\no=engine 2 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\n"
           "m=audio 52000 RTP/AVP 0\r\na=rtpmap:0 PCMU/8000\r\n";
  }
};

}  // namespace

TEST_CASE("README: a call with an application SDP and extra headers") {
  boost::asio::io_context io;
  sipkit::ua::user_agent agent(io, loopback_config("alice")), callee(io, loopback_config("bob"));
  REQUIRE_FALSE(agent.start());
  REQUIRE_FALSE(callee.start());
  const std::string bob = uri_of(callee, "bob");
  media_engine engine;
  std::string seen_account;
  int last_status = 0;
  {
    auto& agent_b = callee;  // the README's callee code runs on its own agent here
    // ---- README begin
    namespace ua = sipkit::ua;

    // Callee: read the INVITE's headers, answer with the media engine's own SDP.
    agent_b.on_incoming_call([&](ua::call c) {
      seen_account = std::string(c.invite().get("X-Account").value_or(""));
      ua::answer_options a;
      a.sdp = engine.answer(c.invite().body());
      a.headers = {{"X-Media-Server", "ms-7"}};
      if (auto ec = c.answer(a)) std::printf("answer: %s\n", ec.message().c_str());
    });

    // Caller: the media engine's offer instead of ua_config::media's, and extra headers.
    ua::call_options o;
    o.sdp = engine.offer();
    o.subject = "support call";
    o.headers = {{"X-Account", "42"}, {"P-Preferred-Identity", "<sip:alice@example.com>"}};
    ua::call c = agent.make_call(bob, std::move(o));
    c.on_event([&](const ua::call_event& e) {
      if (e.message && e.message->is_response()) {  // the 180, the 200 ...
        std::printf("%d %s\n", e.message->status_code(),
                    std::string(e.message->reason_phrase()).c_str());
        last_status = e.message->status_code();
      }
    });
    // ---- README end
    REQUIRE(run_until(io, [&] { return c.state() == ua::call_state::established; }));
    CHECK(c.remote_sdp() == engine.answer({}));
    CHECK(c.local_sdp() == engine.offer());
  }
  CHECK(seen_account == "42");
  CHECK(last_status == 200);
}
