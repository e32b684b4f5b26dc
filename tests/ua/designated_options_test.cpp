// Every options struct of options.hpp takes C++20 designated initialisers without a
// warning: this file is compiled with -Wall -Wextra -Werror whatever the build's own
// flags (tests/ua/CMakeLists.txt), so `ring_options{.code = 183}` failing with g++'s
// missing-field-initializers (as it did while the structs derived from message_options)
// fails the build. The shared fields (headers, content_type, body) come last in each
// struct, after its own, so a designated list names them last.
#include <catch2/catch.hpp>
#include <optional>
#include <string>
#include <type_traits>
#include <vector>

#include "ua/ua_test_support.hpp"

using namespace sipkit;
using namespace sipkit::test;
using ua::call;
using ua::call_state;

namespace {

const std::string early_sdp =
    "v=0\r\n"
    "o=callee 7 1 IN IP4 127.0.0.1\r\n"
    "s=-\r\n"
    "c=IN IP4 127.0.0.1\r\n"
    "t=0 0\r\n"
    "m=audio 52000 RTP/AVP 0\r\n"
    "a=rtpmap:0 PCMU/8000\r\n";

const ua::header_list one_header{{"X-Test", "1"}};

static_assert(std::is_aggregate_v<ua::message_options> && std::is_aggregate_v<ua::call_options> &&
              std::is_aggregate_v<ua::ring_options> && std::is_aggregate_v<ua::answer_options> &&
              std::is_aggregate_v<ua::reject_options> && std::is_aggregate_v<ua::hangup_options> &&
              std::is_aggregate_v<ua::reoffer_options> && std::is_aggregate_v<ua::refer_options> &&
              std::is_aggregate_v<ua::request_options>);

}  // namespace

TEST_CASE("ring_options and reject_options take .code, .sdp, .reason and the shared fields") {
  const ua::ring_options ring{.code = 183};
  CHECK(ring.code == 183);
  CHECK(ring.sdp.empty());
  CHECK(ring.headers.empty());
  const ua::ring_options early{.code = 183, .sdp = early_sdp, .headers = one_header};
  CHECK(early.sdp == early_sdp);
  CHECK(early.reason_phrase.empty());
  CHECK(early.headers == one_header);

  const ua::reject_options busy{.code = 486};
  CHECK(busy.code == 486);
  CHECK_FALSE(busy.retry_after);
  const ua::reject_options decline{
      .code = 603, .retry_after = std::chrono::seconds(60), .reason = "SIP;cause=603"};
  CHECK(decline.code == 603);
  CHECK(decline.retry_after == std::chrono::seconds(60));
  CHECK(decline.reason == "SIP;cause=603");
  const ua::reject_options reason_only{.reason = "SIP;cause=600"};
  CHECK(reason_only.code == 486);  // the default stays
  CHECK(reason_only.reason == "SIP;cause=600");
}

TEST_CASE("call, answer and reoffer options take .sdp; hangup options take .reason") {
  const ua::call_options call_o{.sdp = early_sdp};
  CHECK(call_o.sdp == early_sdp);
  CHECK_FALSE(call_o.delayed_offer);
  const ua::call_options delayed{.delayed_offer = true, .subject = "s", .body = "x"};
  CHECK(delayed.delayed_offer);
  CHECK(delayed.subject == "s");
  CHECK(delayed.body == "x");

  const ua::answer_options answer_o{.sdp = early_sdp, .headers = one_header};
  CHECK(answer_o.sdp == early_sdp);
  CHECK(answer_o.headers == one_header);

  const ua::reoffer_options update{.sdp = early_sdp, .use_update = true};
  CHECK(update.sdp == early_sdp);
  CHECK(update.use_update);

  const ua::hangup_options bye{.reason = "Q.850;cause=16"};
  CHECK(bye.reason == "Q.850;cause=16");
  CHECK(bye.headers.empty());
}

TEST_CASE("refer, request and message options take their own fields and the shared ones") {
  const ua::refer_options refer{.target = "sip:carol@192.0.2.9", .headers = one_header};
  CHECK(refer.target == "sip:carol@192.0.2.9");
  CHECK(refer.headers == one_header);
  const ua::request_options request{.target_uri = "sip:bob@192.0.2.7",
                                    .display_name = "Alice",
                                    .content_type = "text/plain",
                                    .body = "hi"};
  CHECK(request.target_uri == "sip:bob@192.0.2.7");
  CHECK(request.from_uri.empty());
  CHECK(request.display_name == "Alice");
  CHECK(request.content_type == "text/plain");
  CHECK(request.body == "hi");
  const ua::message_request keepalive{.target_uri = "sip:p@192.0.2.1"};
  CHECK(keepalive.target_uri == "sip:p@192.0.2.1");
  const ua::message_options info{.content_type = "application/dtmf-relay", .body = "Signal=5"};
  CHECK(info.headers.empty());
  CHECK(info.body == "Signal=5");
}

TEST_CASE("ring({.code = 183, .sdp = ...}) and reject({.code = 603, .reason = ...}) reach the peer") {
  boost::asio::io_context io;
  ua::user_agent alice(io, loopback_config("alice")), bob(io, loopback_config("bob"));
  REQUIRE_FALSE(alice.start());
  REQUIRE_FALSE(bob.start());
  bob.on_incoming_call([](call c) {
    REQUIRE_FALSE(c.ring({.code = 183, .sdp = early_sdp, .headers = {{"X-Early", "yes"}}}));
    REQUIRE_FALSE(c.reject({.code = 603, .reason = "SIP;cause=603;text=\"Declined\""}));
  });
  std::vector<parser::message> responses;
  call c = alice.make_call(uri_of(bob, "bob"), {.subject = "designated"});
  c.on_event([&](const ua::call_event& e) {
    if (e.message && e.message->is_response()) responses.push_back(*e.message);
  });
  REQUIRE(run_until(io, [&] { return c.state() == call_state::terminated; }));
  REQUIRE(responses.size() >= 2);
  CHECK(responses.front().status_code() == 183);
  CHECK(responses.front().body() == early_sdp);
  CHECK(responses.front().get("X-Early") == "yes");
  CHECK(responses.back().status_code() == 603);
  CHECK(responses.back().get("Reason") == "SIP;cause=603;text=\"Declined\"");
  CHECK(c.final_status() == 603);
}
