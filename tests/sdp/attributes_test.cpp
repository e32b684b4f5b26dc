// Typed attribute helpers: rtpmap, fmtp, direction (attributes.hpp and the view lookups).
#include "sipkit/sdp/attributes.hpp"

#include <catch2/catch.hpp>
#include <string>

#include "sdp/sdp_test_util.hpp"
#include "sipkit/sdp/session_view.hpp"

using sdp_test::crlf;
using namespace sipkit::sdp;

TEST_CASE("rtpmap reads payload type, encoding name and clock rate") {
  auto map = parse_rtpmap("0 PCMU/8000");
  REQUIRE(map);
  CHECK(map->payload_type == 0);
  CHECK(map->encoding_name == "PCMU");
  CHECK(map->clock_rate == 8000);
  CHECK(map->encoding_parameters.empty());
  CHECK(map->channels == 1);
}

TEST_CASE("rtpmap reads the channel count from the encoding parameters") {
  auto map = parse_rtpmap("111 opus/48000/2");
  REQUIRE(map);
  CHECK(map->payload_type == 111);
  CHECK(map->encoding_name == "opus");
  CHECK(map->clock_rate == 48000);
  CHECK(map->encoding_parameters == "2");
  CHECK(map->channels == 2);
}

TEST_CASE("rtpmap without a clock rate is malformed") {
  CHECK_FALSE(parse_rtpmap("31 LPC"));  // the RFC 4475 bodies carry this
}

TEST_CASE("rtpmap rejects payload types above 127 and overflowing numbers") {
  CHECK_FALSE(parse_rtpmap("128 foo/8000"));
  CHECK_FALSE(parse_rtpmap("96 foo/4294967296"));
  CHECK_FALSE(parse_rtpmap("96 foo/8000/0"));
  CHECK_FALSE(parse_rtpmap("x foo/8000"));
  CHECK_FALSE(parse_rtpmap("96 /8000"));
}

TEST_CASE("fmtp splits the format from its parameters") {
  auto f = parse_fmtp("101 0-15");
  REQUIRE(f);
  CHECK(f->format == "101");
  CHECK(f->parameters == "0-15");
  CHECK_FALSE(parse_fmtp("101"));
  CHECK_FALSE(parse_fmtp("101 "));
}

TEST_CASE("fmtp_parameter finds a key case-insensitively and trims spaces") {
  const std::string_view params = "profile-level-id=42e01f; packetization-mode=1;flag";
  CHECK(fmtp_parameter(params, "profile-level-id") == std::optional<std::string_view>("42e01f"));
  CHECK(fmtp_parameter(params, "Packetization-Mode") == std::optional<std::string_view>("1"));
  CHECK(fmtp_parameter(params, "flag") == std::optional<std::string_view>(""));
  CHECK_FALSE(fmtp_parameter(params, "level-asymmetry-allowed"));
}

TEST_CASE("direction names map to the four directions and nothing else") {
  CHECK(direction_from_name("sendrecv") == direction::sendrecv);
  CHECK(direction_from_name("sendonly") == direction::sendonly);
  CHECK(direction_from_name("recvonly") == direction::recvonly);
  CHECK(direction_from_name("inactive") == direction::inactive);
  CHECK_FALSE(direction_from_name("SendOnly"));
  CHECK_FALSE(direction_from_name("rtcp-mux"));
  CHECK(to_string(direction::recvonly) == "recvonly");
}

namespace {

const std::string directions_sdp = crlf(
    "v=0\n"
    "o=- 1 1 IN IP4 192.0.2.1\n"
    "s=-\n"
    "t=0 0\n"
    "a=recvonly\n"
    "m=audio 5004 RTP/AVP 0 101\n"
    "a=rtpmap:101 telephone-event/8000\n"
    "a=fmtp:101 0-15\n"
    "m=audio 5006 RTP/AVP 0\n"
    "a=inactive\n");

}  // namespace

TEST_CASE("SDP media without a direction attribute inherits the session's") {
  session_view sdp;
  REQUIRE_FALSE(parse(directions_sdp, sdp));
  CHECK(sdp.session_direction() == direction::recvonly);
  CHECK(sdp.direction_of(sdp.media()[0]) == direction::recvonly);
}

TEST_CASE("SDP media-level direction overrides the session-level one") {
  session_view sdp;
  REQUIRE_FALSE(parse(directions_sdp, sdp));
  CHECK(sdp.direction_of(sdp.media()[1]) == direction::inactive);
}

TEST_CASE("SDP direction defaults to sendrecv when no level names one") {
  session_view sdp;
  REQUIRE_FALSE(
      parse(crlf("v=0\no=- 1 1 IN IP4 192.0.2.1\ns=-\nt=0 0\nm=audio 1 RTP/AVP 0\n"), sdp));
  CHECK(sdp.session_direction() == direction::sendrecv);
  CHECK(sdp.direction_of(sdp.media()[0]) == direction::sendrecv);
}

TEST_CASE("SDP finds the rtpmap and fmtp of a payload type in its media section") {
  session_view sdp;
  REQUIRE_FALSE(parse(directions_sdp, sdp));
  const media_view& m = sdp.media()[0];
  auto map = sdp.find_rtpmap(m, "101");
  REQUIRE(map);
  CHECK(map->payload_type == 101);
  CHECK(map->encoding_name == "telephone-event");
  CHECK(map->clock_rate == 8000);
  auto f = sdp.find_fmtp(m, "101");
  REQUIRE(f);
  CHECK(f->parameters == "0-15");
  // "1" is a prefix of "101" but not its payload type.
  CHECK_FALSE(sdp.find_rtpmap(m, "10"));
  CHECK_FALSE(sdp.find_rtpmap(m, "0"));
  CHECK_FALSE(sdp.find_fmtp(sdp.media()[1], "101"));
}
