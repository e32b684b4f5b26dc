// session_view parsing: every line type, RFC examples, both line endings.
#include <catch2/catch.hpp>
#include <string>
#include <vector>

#include "sdp/sdp_test_util.hpp"
#include "sipkit/sdp/session_view.hpp"

using sdp_test::crlf;
using namespace sipkit::sdp;

namespace {

std::vector<std::string_view> to_vector(std::span<const std::string_view> s) {
  return {s.begin(), s.end()};
}

// RFC 8866 §5, the example session description.
const std::string rfc8866_example = crlf(
    "v=0\n"
    "o=jdoe 3724394400 3724394405 IN IP4 198.51.100.1\n"
    "s=Call to John Smith\n"
    "i=SDP Offer #1\n"
    "u=http://www.jdoe.example.com/home.html\n"
    "e=Jane Doe <jane@jdoe.example.com>\n"
    "p=+1 617 555-6011\n"
    "c=IN IP4 198.51.100.1\n"
    "t=0 0\n"
    "m=audio 49170 RTP/AVP 0\n"
    "m=audio 49180 RTP/AVP 0\n"
    "m=video 51372 RTP/AVP 99\n"
    "c=IN IP6 2001:db8::2\n"
    "a=rtpmap:99 h263-1998/90000\n");

}  // namespace

TEST_CASE("SDP parses the session-level lines of the RFC 8866 example") {
  session_view sdp;
  REQUIRE_FALSE(parse(rfc8866_example, sdp));
  CHECK(sdp.version() == 0);
  CHECK(sdp.origin().username == "jdoe");
  CHECK(sdp.origin().session_id == 3724394400u);
  CHECK(sdp.origin().session_version == 3724394405u);
  CHECK(sdp.origin().nettype == "IN");
  CHECK(sdp.origin().addrtype == "IP4");
  CHECK(sdp.origin().address == "198.51.100.1");
  CHECK(sdp.name() == "Call to John Smith");
  CHECK(sdp.information() == "SDP Offer #1");
  CHECK(sdp.uri() == "http://www.jdoe.example.com/home.html");
  CHECK(to_vector(sdp.emails()) ==
        std::vector<std::string_view>{"Jane Doe <jane@jdoe.example.com>"});
  CHECK(to_vector(sdp.phones()) == std::vector<std::string_view>{"+1 617 555-6011"});
  REQUIRE(sdp.connection() != nullptr);
  CHECK(sdp.connection()->nettype == "IN");
  CHECK(sdp.connection()->addrtype == "IP4");
  CHECK(sdp.connection()->address == "198.51.100.1");
  REQUIRE(sdp.timings().size() == 1);
  CHECK(sdp.timings()[0].start == 0);
  CHECK(sdp.timings()[0].stop == 0);
  CHECK(sdp.bandwidths().empty());
  CHECK(sdp.attributes().empty());
}

TEST_CASE("SDP parses the media sections of the RFC 8866 example") {
  session_view sdp;
  REQUIRE_FALSE(parse(rfc8866_example, sdp));
  REQUIRE(sdp.media().size() == 3);

  const media_view& a1 = sdp.media()[0];
  CHECK(a1.media == "audio");
  CHECK(a1.port == 49170);
  CHECK(a1.port_count == 0);
  CHECK(a1.proto == "RTP/AVP");
  CHECK(to_vector(sdp.fmts(a1)) == std::vector<std::string_view>{"0"});
  CHECK(sdp.connections(a1).empty());
  CHECK(sdp.attributes(a1).empty());

  CHECK(sdp.media()[1].port == 49180);

  const media_view& v = sdp.media()[2];
  CHECK(v.media == "video");
  CHECK(v.port == 51372);
  CHECK(to_vector(sdp.fmts(v)) == std::vector<std::string_view>{"99"});
  REQUIRE(sdp.connections(v).size() == 1);
  CHECK(sdp.connections(v)[0].addrtype == "IP6");
  CHECK(sdp.connections(v)[0].address == "2001:db8::2");
  REQUIRE(sdp.attributes(v).size() == 1);
  CHECK(sdp.attributes(v)[0].name == "rtpmap");
  CHECK(sdp.attributes(v)[0].value == "99 h263-1998/90000");
  CHECK(sdp.attributes(v)[0].has_value);
}

TEST_CASE("SDP parses the RFC 3264 section 10.1 offer") {
  const std::string offer = crlf(
      "v=0\n"
      "o=alice 2890844526 2890844526 IN IP4 host.anywhere.com\n"
      "s= \n"
      "c=IN IP4 host.anywhere.com\n"
      "t=0 0\n"
      "m=audio 49170 RTP/AVP 0\n"
      "a=rtpmap:0 PCMU/8000\n"
      "m=video 51372 RTP/AVP 31\n"
      "a=rtpmap:31 H261/90000\n"
      "m=video 53000 RTP/AVP 32\n"
      "a=rtpmap:32 MPV/90000\n");
  session_view sdp;
  REQUIRE_FALSE(parse(offer, sdp));
  CHECK(sdp.origin().username == "alice");
  CHECK(sdp.origin().session_id == 2890844526u);
  CHECK(sdp.name() == " ");
  CHECK(sdp.connection()->address == "host.anywhere.com");
  REQUIRE(sdp.media().size() == 3);
  CHECK(sdp.media()[0].port == 49170);
  CHECK(sdp.media()[1].port == 51372);
  CHECK(sdp.media()[2].port == 53000);
  CHECK(sdp.find_rtpmap(sdp.media()[0], "0")->encoding_name == "PCMU");
  CHECK(sdp.find_rtpmap(sdp.media()[1], "31")->encoding_name == "H261");
  CHECK(sdp.find_rtpmap(sdp.media()[2], "32")->clock_rate == 90000);
}

TEST_CASE("SDP parses the RFC 3264 section 10.1 answer with a rejected stream on port 0") {
  const std::string answer = crlf(
      "v=0\n"
      "o=bob 2890844730 2890844730 IN IP4 host.example.com\n"
      "s= \n"
      "c=IN IP4 host.example.com\n"
      "t=0 0\n"
      "m=audio 49920 RTP/AVP 0\n"
      "a=rtpmap:0 PCMU/8000\n"
      "m=video 0 RTP/AVP 31\n"
      "m=video 53002 RTP/AVP 32\n"
      "a=rtpmap:32 MPV/90000\n");
  session_view sdp;
  REQUIRE_FALSE(parse(answer, sdp));
  REQUIRE(sdp.media().size() == 3);
  CHECK(sdp.media()[1].port == 0);
  CHECK(to_vector(sdp.fmts(sdp.media()[1])) == std::vector<std::string_view>{"31"});
  CHECK(sdp.attributes(sdp.media()[1]).empty());
  CHECK(sdp.media()[2].port == 53002);
  REQUIRE(sdp.attributes(sdp.media()[2]).size() == 1);
  CHECK(sdp.attributes(sdp.media()[2])[0].value == "32 MPV/90000");
}

TEST_CASE("SDP keeps each media section's fmts, bandwidths and attributes apart") {
  const std::string text = crlf(
      "v=0\n"
      "o=- 1 1 IN IP4 192.0.2.1\n"
      "s=-\n"
      "b=CT:1000\n"
      "t=0 0\n"
      "a=group:BUNDLE 0 1\n"
      "m=audio 9 UDP/TLS/RTP/SAVPF 111 0 8 101\n"
      "c=IN IP4 0.0.0.0\n"
      "b=AS:64\n"
      "a=mid:0\n"
      "a=rtcp-mux\n"
      "m=video 9 UDP/TLS/RTP/SAVPF 96 97\n"
      "i=camera\n"
      "c=IN IP4 0.0.0.0\n"
      "b=AS:2000\n"
      "b=TIAS:2000000\n"
      "a=mid:1\n");
  session_view sdp;
  REQUIRE_FALSE(parse(text, sdp));
  REQUIRE(sdp.bandwidths().size() == 1);
  CHECK(sdp.bandwidths()[0].type == "CT");
  CHECK(sdp.bandwidths()[0].value == 1000);
  REQUIRE(sdp.attributes().size() == 1);
  CHECK(sdp.attributes()[0].name == "group");
  CHECK(sdp.attributes()[0].value == "BUNDLE 0 1");

  REQUIRE(sdp.media().size() == 2);
  const media_view& audio = sdp.media()[0];
  const media_view& video = sdp.media()[1];
  CHECK(audio.proto == "UDP/TLS/RTP/SAVPF");
  CHECK(to_vector(sdp.fmts(audio)) == std::vector<std::string_view>{"111", "0", "8", "101"});
  CHECK(to_vector(sdp.fmts(video)) == std::vector<std::string_view>{"96", "97"});
  REQUIRE(sdp.bandwidths(audio).size() == 1);
  CHECK(sdp.bandwidths(audio)[0].value == 64);
  REQUIRE(sdp.bandwidths(video).size() == 2);
  CHECK(sdp.bandwidths(video)[1].type == "TIAS");
  CHECK(sdp.bandwidths(video)[1].value == 2000000);
  REQUIRE(sdp.attributes(audio).size() == 2);
  CHECK(sdp.attributes(audio)[1].name == "rtcp-mux");
  CHECK_FALSE(sdp.attributes(audio)[1].has_value);
  CHECK(sdp.attributes(audio)[1].value.empty());
  REQUIRE(sdp.attributes(video).size() == 1);
  CHECK(sdp.attributes(video)[0].value == "1");
  CHECK(audio.information.empty());
  CHECK(video.information == "camera");
}

TEST_CASE("SDP accepts bare LF line endings") {
  const std::string text =
      "v=0\n"
      "o=- 7 8 IN IP6 2001:db8::1\n"
      "s=lf\n"
      "t=0 0\n"
      "m=audio 5004 RTP/AVP 0\n"
      "a=sendonly\n";
  session_view sdp;
  REQUIRE_FALSE(parse(text, sdp));
  CHECK(sdp.origin().session_id == 7);
  CHECK(sdp.origin().address == "2001:db8::1");
  CHECK(sdp.name() == "lf");
  REQUIRE(sdp.media().size() == 1);
  CHECK(sdp.media()[0].port == 5004);
  CHECK(sdp.attributes(sdp.media()[0])[0].name == "sendonly");
}

TEST_CASE("SDP accepts CRLF and LF mixed line by line") {
  const std::string text = "v=0\r\no=- 1 1 IN IP4 192.0.2.1\ns=x\r\nt=0 0\n";
  session_view sdp;
  REQUIRE_FALSE(parse(text, sdp));
  CHECK(sdp.name() == "x");
  CHECK(sdp.media().empty());
}

TEST_CASE("SDP keeps a multicast connection address with its TTL and count raw") {
  const std::string text = crlf(
      "v=0\n"
      "o=- 1 1 IN IP4 192.0.2.1\n"
      "s=-\n"
      "c=IN IP4 233.252.0.1/127/3\n"
      "t=0 0\n"
      "m=audio 49170/2 RTP/AVP 0\n");
  session_view sdp;
  REQUIRE_FALSE(parse(text, sdp));
  CHECK(sdp.connection()->address == "233.252.0.1/127/3");
  CHECK(sdp.media()[0].port == 49170);
  CHECK(sdp.media()[0].port_count == 2);
}

TEST_CASE("SDP parses repeat and zone lines into their time description") {
  const std::string text = crlf(
      "v=0\n"
      "o=- 1 1 IN IP4 192.0.2.1\n"
      "s=Seminar\n"
      "t=3034423619 3042462419\n"
      "r=7d 1h 0 25h\n"
      "r=604800 3600 0 90000\n"
      "z=2882844526 -1h 2898848070 0\n"
      "t=3042462419 0\n"
      "k=prompt\n"
      "m=audio 3456 RTP/AVP 0\n"
      "k=clear:secret\n");
  session_view sdp;
  REQUIRE_FALSE(parse(text, sdp));
  REQUIRE(sdp.timings().size() == 2);
  const timing_view& t0 = sdp.timings()[0];
  CHECK(t0.start == 3034423619u);
  CHECK(t0.stop == 3042462419u);
  CHECK(to_vector(sdp.repeats(t0)) ==
        std::vector<std::string_view>{"7d 1h 0 25h", "604800 3600 0 90000"});
  CHECK(t0.zone == "2882844526 -1h 2898848070 0");
  const timing_view& t1 = sdp.timings()[1];
  CHECK(t1.start == 3042462419u);
  CHECK(t1.stop == 0);
  CHECK(sdp.repeats(t1).empty());
  CHECK(t1.zone.empty());
  CHECK(sdp.key() == "prompt");
  CHECK(sdp.media()[0].key == "clear:secret");
}

TEST_CASE("SDP accepts several e= and p= lines and several media c= lines") {
  const std::string text = crlf(
      "v=0\n"
      "o=- 1 1 IN IP4 192.0.2.1\n"
      "s=-\n"
      "e=a@example.com\n"
      "e=b@example.com (Bee)\n"
      "p=+1 555 0100\n"
      "p=+1 555 0101\n"
      "t=0 0\n"
      "m=video 51372 RTP/AVP 99\n"
      "c=IN IP4 233.252.0.1/127\n"
      "c=IN IP4 233.252.0.2/127\n");
  session_view sdp;
  REQUIRE_FALSE(parse(text, sdp));
  CHECK(to_vector(sdp.emails()) ==
        std::vector<std::string_view>{"a@example.com", "b@example.com (Bee)"});
  CHECK(to_vector(sdp.phones()) == std::vector<std::string_view>{"+1 555 0100", "+1 555 0101"});
  CHECK(sdp.connection() == nullptr);
  REQUIRE(sdp.connections(sdp.media()[0]).size() == 2);
  CHECK(sdp.connections(sdp.media()[0])[1].address == "233.252.0.2/127");
}

TEST_CASE("SDP accepts an empty s= value and an empty attribute value") {
  const std::string text = crlf(
      "v=0\n"
      "o=- 1 1 IN IP4 192.0.2.1\n"
      "s=\n"
      "t=0 0\n"
      "a=tool:\n");
  session_view sdp;
  REQUIRE_FALSE(parse(text, sdp));
  CHECK(sdp.name().empty());
  REQUIRE(sdp.attributes().size() == 1);
  CHECK(sdp.attributes()[0].name == "tool");
  CHECK(sdp.attributes()[0].has_value);
  CHECK(sdp.attributes()[0].value.empty());
}

TEST_CASE("SDP keeps attribute values byte for byte, colons and UTF-8 included") {
  const std::string text = crlf(
      "v=0\n"
      "o=- 1 1 IN IP4 192.0.2.1\n"
      "s=Caf\xC3\xA9\n"
      "t=0 0\n"
      "a=fingerprint:sha-256 AB:CD:EF\n");
  session_view sdp;
  REQUIRE_FALSE(parse(text, sdp));
  CHECK(sdp.name() == "Caf\xC3\xA9");
  CHECK(sdp.attributes()[0].name == "fingerprint");
  CHECK(sdp.attributes()[0].value == "sha-256 AB:CD:EF");
}

TEST_CASE("SDP view fields point into the caller's buffer") {
  const std::string text = crlf("v=0\no=bob 1 2 IN IP4 192.0.2.1\ns=-\nt=0 0\n");
  session_view sdp;
  REQUIRE_FALSE(parse(text, sdp));
  CHECK(sdp.origin().username.data() == text.data() + 7);  // after "v=0\r\no="
}

TEST_CASE("SDP view reused for a second parse shows only the second description") {
  session_view sdp;
  REQUIRE_FALSE(parse(rfc8866_example, sdp));
  REQUIRE_FALSE(parse(crlf("v=0\no=- 1 1 IN IP4 192.0.2.1\ns=-\nt=0 0\n"), sdp));
  CHECK(sdp.media().empty());
  CHECK(sdp.emails().empty());
  CHECK(sdp.connection() == nullptr);
  CHECK(sdp.information().empty());
}

TEST_CASE("SDP session_view copies keep their sections readable") {
  session_view original;
  REQUIRE_FALSE(parse(rfc8866_example, original));
  const session_view copy = original;
  REQUIRE(copy.media().size() == 3);
  CHECK(copy.connections(copy.media()[2])[0].address == "2001:db8::2");
  CHECK(copy.attributes(copy.media()[2]).data() != original.attributes(original.media()[2]).data());
}

TEST_CASE("SDP session_view default-constructed is empty, value-initialised too") {
  // Construction leaves the tables unwritten (session_view.hpp); what a caller can read
  // before a parse must still be an empty description.
  const session_view plain;
  const session_view braced{};
  for (const session_view* v : {&plain, &braced}) {
    CHECK(v->version() == 0);
    CHECK(v->media().empty());
    CHECK(v->attributes().empty());
    CHECK(v->emails().empty());
    CHECK(v->phones().empty());
    CHECK(v->timings().empty());
    CHECK(v->bandwidths().empty());
    CHECK(v->extensions().empty());
    CHECK(v->connection() == nullptr);
    CHECK(v->name().empty());
    CHECK(v->origin().session_version == 0);
  }
}
