// The SDP layer's leniency as the user_agent sees it: a GB/T 28181 play INVITE (y=, f= and
// a line of a letter RFC 8866 does not define) is answered 200, not 488; an application
// adds its own attributes to an offer built from local_media in one call each.
#include <catch2/catch.hpp>
#include <string>

#include "sdp/sdp_test_util.hpp"
#include "sipkit/sdp/gb28181.hpp"
#include "sipkit/sdp/session.hpp"
#include "sipkit/ua/offer_answer.hpp"
#include "ua/raw_peer.hpp"
#include "ua/ua_test_support.hpp"

using namespace sipkit;
using namespace sipkit::test;
using parser::method;
using sdp_test::crlf;

namespace {

// GB/T 28181-2016 Annex F play offer: recvonly PS over RTP, y= SSRC, f= format, and x=.
const std::string play_offer = crlf(
    "v=0\n"
    "o=34020000002000000001 0 0 IN IP4 127.0.0.1\n"
    "s=Play\n"
    "c=IN IP4 127.0.0.1\n"
    "t=0 0\n"
    "m=video 30000 RTP/AVP 96 98\n"
    "a=recvonly\n"
    "a=rtpmap:96 PS/90000\n"
    "a=rtpmap:98 H264/90000\n"
    "y=0100000001\n"
    "f=v/2/4///a///\n"
    "x=vendor line\n");

}  // namespace

TEST_CASE("UA answers a GB28181 play INVITE with y=, f= and an unknown line 200, not 488") {
  boost::asio::io_context io;
  auto cfg = loopback_config("34020000001320000001");
  // A camera: sends PS video, nothing else.
  cfg.media.streams = {{.media = "video",
                        .port = 40010,
                        .codecs = {{"PS", 90000}},
                        .direction = sdp::direction::sendonly}};
  ua::user_agent agent(io, cfg);
  REQUIRE_FALSE(agent.start());
  agent.on_incoming_call([](ua::call c) { REQUIRE_FALSE(c.answer()); });

  raw_peer platform(io);
  const std::string agent_uri =
      "sip:34020000001320000001@" + agent.local_address(transport::protocol::udp);
  request_text invite;
  invite.method = "INVITE";
  invite.uri = agent_uri;
  invite.sent_by = platform.host_port();
  invite.branch = platform.new_branch();
  invite.from = "<" + platform.uri("34020000002000000001") + ">;tag=platform-1";
  invite.to = "<" + agent_uri + ">";
  invite.call_id = "gb-play-1@127.0.0.1";
  invite.cseq = "1 INVITE";
  invite.extra = "Contact: <" + platform.uri("34020000002000000001") + ">\r\n" +
                 "Subject: 34020000001320000001:0100000001,34020000002000000001:0\r\n";
  invite.body = play_offer;
  platform.send(invite.text(), udp_endpoint(agent.local_address(transport::protocol::udp)));

  const auto final = platform.next_final(method::invite);
  REQUIRE(final);
  CHECK(final->msg.status_code() == 200);
  sdp::session answer;
  REQUIRE_FALSE(sdp::parse(final->msg.body(), answer));
  REQUIRE(answer.media.size() == 1);
  CHECK(answer.media[0].media == "video");
  CHECK(answer.media[0].port == 40010);
  CHECK(answer.media[0].fmts == std::vector<std::string>{"96"});
  CHECK(answer.direction_of(answer.media[0]) == sdp::direction::sendonly);
  REQUIRE(answer.media[0].find_rtpmap("96"));
  CHECK(answer.media[0].find_rtpmap("96")->encoding_name == "PS");
}

TEST_CASE("UA offer built from local_media takes application attributes in one call each") {
  ua::local_media me{.address = "192.0.2.10"};
  me.streams.push_back({.media = "audio", .port = 49170, .codecs = {{"PCMU", 8000}}});
  sdp::session offer = ua::make_offer(me, 42, 42);
  offer.media[0]
      .add_attribute("crypto",
                     "1 AES_CM_128_HMAC_SHA1_80 inline:WVNfX19zZW1jdGwgKCkgewkyMjA7fQp9CnVubGVz")
      .add_attribute("candidate", "1 1 UDP 2130706431 192.0.2.10 49170 typ host")
      .add_attribute("setup", "actpass")
      .add_attribute("rtcp-mux");
  sdp::gb28181::set_ssrc(offer, sdp::gb28181::ssrc{100000001});
  const std::string text = offer.serialize();
  CHECK(text == crlf("v=0\no=- 42 42 IN IP4 192.0.2.10\ns=-\nc=IN IP4 192.0.2.10\nt=0 0\n"
                     "m=audio 49170 RTP/AVP 0\na=rtpmap:0 PCMU/8000\na=sendrecv\n"
                     "a=crypto:1 AES_CM_128_HMAC_SHA1_80 "
                     "inline:WVNfX19zZW1jdGwgKCkgewkyMjA7fQp9CnVubGVz\n"
                     "a=candidate:1 1 UDP 2130706431 192.0.2.10 49170 typ host\n"
                     "a=setup:actpass\na=rtcp-mux\ny=0100000001\n"));
  sdp::session back;
  REQUIRE_FALSE(sdp::parse(text, back));
  CHECK(back == offer);
}
