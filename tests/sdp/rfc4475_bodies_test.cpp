// The SDP bodies of the RFC 4475 torture messages. The SIP parts are torture; the bodies
// are ordinary SDP and must parse (the rtpmap "31 LPC" without a clock rate is a malformed
// attribute value, not a malformed description). mismatch02's body lacks s= and t=.
#include <catch2/catch.hpp>
#include <fstream>
#include <iterator>
#include <string>

#include "sipkit/sdp/session_view.hpp"

using namespace sipkit::sdp;

namespace {

// The bytes after the first blank line of the message file.
std::string body_of(const std::string& file) {
  std::ifstream in(std::string(SIPKIT_RFC4475_DIR) + "/" + file, std::ios::binary);
  REQUIRE(in);
  const std::string msg{std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
  const auto blank = msg.find("\r\n\r\n");
  REQUIRE(blank != std::string::npos);
  return msg.substr(blank + 4);
}

// Shared shape of the torture bodies: one c= at session level, audio 0/12, video 31.
void check_torture_body(const session_view& sdp, std::string_view address) {
  CHECK(sdp.origin().username == "mhandley");
  CHECK(sdp.origin().session_id == 29739);
  CHECK(sdp.origin().session_version == 7272939);
  CHECK(sdp.origin().address == address);
  REQUIRE(sdp.media().size() == 2);
  const media_view& audio = sdp.media()[0];
  CHECK(audio.media == "audio");
  CHECK(audio.port == 49217);
  CHECK(audio.proto == "RTP/AVP");
  REQUIRE(sdp.fmts(audio).size() == 2);
  CHECK(sdp.fmts(audio)[0] == "0");
  CHECK(sdp.fmts(audio)[1] == "12");
  const media_view& video = sdp.media()[1];
  CHECK(video.port == 3227);
  REQUIRE(sdp.attributes(video).size() == 1);
  CHECK(sdp.attributes(video)[0].value == "31 LPC");
  CHECK_FALSE(sdp.find_rtpmap(video, "31"));
}

}  // namespace

TEST_CASE("SDP body of RFC 4475 wsinv parses") {
  const std::string body = body_of("wsinv.dat");
  session_view sdp;
  REQUIRE_FALSE(parse(body, sdp));
  check_torture_body(sdp, "192.0.2.3");
  CHECK(sdp.connection()->address == "192.0.2.4");
}

TEST_CASE("SDP body of RFC 4475 esc01 parses") {
  const std::string body = body_of("esc01.dat");
  session_view sdp;
  REQUIRE_FALSE(parse(body, sdp));
  check_torture_body(sdp, "192.0.2.1");
}

TEST_CASE("SDP body of RFC 4475 unreason parses") {
  const std::string body = body_of("unreason.dat");
  session_view sdp;
  REQUIRE_FALSE(parse(body, sdp));
  check_torture_body(sdp, "192.0.2.198");
}

TEST_CASE("SDP body of RFC 4475 lwsruri parses with a non-zero start time") {
  const std::string body = body_of("lwsruri.dat");
  session_view sdp;
  REQUIRE_FALSE(parse(body, sdp));
  check_torture_body(sdp, "192.0.2.1");
  CHECK(sdp.timings()[0].start == 3149328700u);
}

TEST_CASE("SDP body of RFC 4475 inv2543 parses") {
  const std::string body = body_of("inv2543.dat");
  session_view sdp;
  REQUIRE_FALSE(parse(body, sdp));
  CHECK(sdp.origin().address == "192.0.2.5");
  REQUIRE(sdp.media().size() == 1);
  CHECK(sdp.fmts(sdp.media()[0]).size() == 1);
}

TEST_CASE("SDP body of RFC 4475 mismatch02 lacks s= and fails on its c= line") {
  const std::string body = body_of("mismatch02.dat");
  session_view sdp;
  const auto err = parse(body, sdp);
  CHECK(err.code == errc::syntax);
  CHECK(err.offset == body.find("c=IN"));
  CHECK(err.reason == "SDP c= line (out of order)");
}
