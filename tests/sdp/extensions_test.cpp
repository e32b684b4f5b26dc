// Lines of unknown type letters (kept by default, refused in strict mode) and adding
// attributes to a session in one call.
#include <catch2/catch.hpp>
#include <stdexcept>
#include <string>

#include "sdp/sdp_test_util.hpp"
#include "sipkit/sdp/session.hpp"
#include "sipkit/sdp/session_view.hpp"

using sdp_test::crlf;
using namespace sipkit::sdp;

namespace {

const std::string head = crlf("v=0\no=- 1 1 IN IP4 192.0.2.1\ns=-\nt=0 0\n");

// Every RFC 8866 line of `canonical` (session_test.cpp) with unknown lines between them.
const std::string mixed = crlf(
    "v=0\n"
    "x=after v\n"
    "o=jdoe 3724394400 3724394405 IN IP4 198.51.100.1\n"
    "s=Call\n"
    "X=upper case letter\n"
    "i=SDP Offer #1\n"
    "c=IN IP4 198.51.100.1\n"
    "t=3034423619 3042462419\n"
    "w=between t and r\n"
    "r=7d 1h 0 25h\n"
    "t=0 0\n"
    "a=recvonly\n"
    "g=\n"
    "m=audio 49170 RTP/AVP 0 101\n"
    "y=0100000001\n"
    "c=IN IP4 233.252.0.1/127\n"
    "a=rtpmap:101 telephone-event/8000\n"
    "h=middle\n"
    "a=sendrecv\n"
    "f=v/2/4///a///\n"
    "m=video 0 RTP/AVP 96\n"
    "a=rtpmap:96 VP8/90000\n"
    "q=last line\n");

}  // namespace

TEST_CASE("SDP keeps session-level lines of unknown letters in order, with their position") {
  session_view sdp;
  REQUIRE_FALSE(parse(mixed, sdp));
  const auto x = sdp.extensions();
  REQUIRE(x.size() == 4);
  CHECK(x[0].type == 'x');
  CHECK(x[0].value == "after v");
  CHECK(x[0].after == 1);  // after v=
  CHECK(x[1].type == 'X');
  CHECK(x[1].after == 3);  // after v= o= s=
  CHECK(x[2].type == 'w');
  CHECK(x[2].value == "between t and r");
  CHECK(x[2].after == 6);  // v o s i c t
  CHECK(x[3].type == 'g');
  CHECK(x[3].value.empty());
  CHECK(x[3].after == 9);  // ... r t a
  CHECK(sdp.find_extension('w') == &x[2]);
  CHECK(sdp.find_extension('y') == nullptr);
  // The RFC 8866 lines around them read as usual.
  CHECK(sdp.information() == "SDP Offer #1");
  REQUIRE(sdp.timings().size() == 2);
  CHECK(sdp.repeats(sdp.timings()[0]).size() == 1);
  CHECK(sdp.attributes().size() == 1);
}

TEST_CASE("SDP keeps media-level lines of unknown letters in their section") {
  session_view sdp;
  REQUIRE_FALSE(parse(mixed, sdp));
  REQUIRE(sdp.media().size() == 2);
  const auto audio = sdp.extensions(sdp.media()[0]);
  REQUIRE(audio.size() == 3);
  CHECK(audio[0].type == 'y');
  CHECK(audio[0].value == "0100000001");
  CHECK(audio[0].after == 1);  // right after m=
  CHECK(audio[1].type == 'h');
  CHECK(audio[1].after == 3);  // m c a
  CHECK(audio[2].type == 'f');
  CHECK(audio[2].value == "v/2/4///a///");
  CHECK(audio[2].after == 4);  // the section's last line
  const auto video = sdp.extensions(sdp.media()[1]);
  REQUIRE(video.size() == 1);
  CHECK(video[0].type == 'q');
  CHECK(video[0].after == 2);
  CHECK(sdp.find_extension(sdp.media()[0], 'f') == &audio[2]);
  CHECK(sdp.find_extension(sdp.media()[1], 'f') == nullptr);
  CHECK(sdp.connections(sdp.media()[0]).size() == 1);
  CHECK(sdp.attributes(sdp.media()[0]).size() == 2);
}

TEST_CASE("SDP with unknown lines at every level round-trips byte for byte") {
  session s;
  REQUIRE_FALSE(parse(mixed, s));
  CHECK(s.serialize() == mixed);
  session again;
  REQUIRE_FALSE(parse(s.serialize(), again));
  CHECK(again == s);
}

TEST_CASE("SDP unknown lines with bare LF endings are kept and written with CRLF") {
  session s;
  REQUIRE_FALSE(parse("v=0\no=- 1 1 IN IP4 192.0.2.1\ns=-\nt=0 0\nm=video 1 RTP/AVP 96\ny=0100000001\n", s));
  REQUIRE(s.media.size() == 1);
  REQUIRE(s.media[0].extensions.size() == 1);
  CHECK(s.media[0].extensions[0].value == "0100000001");
  CHECK(s.serialize() == head + crlf("m=video 1 RTP/AVP 96\ny=0100000001\n"));
}

TEST_CASE("SDP strict mode refuses an unknown line in a media section at its type letter") {
  const std::string text = head + crlf("m=video 1 RTP/AVP 96\na=recvonly\ny=0100000001\n");
  session_view sdp;
  const auto err = parse(text, sdp, parse_options::strict());
  CHECK(err.code == errc::syntax);
  CHECK(err.offset == text.find("y="));
  CHECK(err.reason == "SDP line type (unknown or empty line)");
  CHECK_FALSE(parse(text, sdp));  // and the default keeps it
}

TEST_CASE("SDP strict mode refuses an unknown line right after v=") {
  const std::string text = crlf("v=0\nx=1\no=- 1 1 IN IP4 192.0.2.1\ns=-\nt=0 0\n");
  session s;
  const auto err = parse(text, s, parse_options::strict());
  CHECK(err.code == errc::syntax);
  CHECK(err.offset == 5);
  CHECK(err.reason == "SDP line type (unknown or empty line)");
}

TEST_CASE("SDP lenient mode still refuses a line that does not start with a letter") {
  session_view sdp;
  const std::string digit = head + crlf("1=x\n");
  auto err = parse(digit, sdp);
  CHECK(err.code == errc::syntax);
  CHECK(err.offset == head.size());
  CHECK(err.reason == "SDP line type (unknown or empty line)");
  err = parse(head + "\r\n", sdp);
  CHECK(err.code == errc::syntax);
  CHECK(err.offset == head.size());
}

TEST_CASE("SDP unknown line before v= is a missing v= in both modes") {
  session_view sdp;
  const std::string text = "y=0100000001\r\n" + head;
  auto err = parse(text, sdp);
  CHECK(err.code == errc::syntax);
  CHECK(err.offset == 0);
  CHECK(err.reason == "SDP v= line (missing)");
}

TEST_CASE("SDP unknown line without '=' or line ending fails inside the line") {
  session_view sdp;
  std::string text = head + crlf("y0100000001\n");
  auto err = parse(text, sdp);
  CHECK(err.code == errc::syntax);
  CHECK(err.offset == head.size() + 1);
  CHECK(err.reason == "SDP line");
  text = head + "y=0100000001";
  err = parse(text, sdp);
  CHECK(err.code == errc::syntax);
  CHECK(err.offset == text.size());
  CHECK(err.reason == "SDP line");
}

TEST_CASE("SDP with more unknown lines than the table holds fails on the extra line") {
  std::string text = head;
  for (std::size_t i = 0; i < session_view::max_extensions; ++i) text += "x=" + std::to_string(i) + "\r\n";
  const std::size_t extra = text.size();
  text += "x=extra\r\n";
  session_view sdp;
  const auto err = parse(text, sdp);
  CHECK(err.code == errc::too_many_headers);
  CHECK(err.offset == extra);
  CHECK(err.reason == "SDP line (unknown type)");
}

TEST_CASE("SDP unknown line that ended its section stays last when attributes are added") {
  session s;
  REQUIRE_FALSE(parse(head + crlf("m=video 1 RTP/AVP 96\na=recvonly\ny=0100000001\n"), s));
  REQUIRE(s.media[0].extensions.size() == 1);
  CHECK(s.media[0].extensions[0].after == extension_line::at_end);
  s.media[0].add_attribute("setup", "passive").add_attribute("connection", "new");
  CHECK(s.serialize() == head + crlf("m=video 1 RTP/AVP 96\na=recvonly\na=setup:passive\n"
                                     "a=connection:new\ny=0100000001\n"));
}

TEST_CASE("SDP unknown line in the middle of a section keeps its place") {
  const std::string text =
      head + crlf("m=video 1 RTP/AVP 96\na=recvonly\ny=0100000001\na=setup:passive\n");
  session s;
  REQUIRE_FALSE(parse(text, s));
  CHECK(s.media[0].extensions[0].after == 2);
  CHECK(s.serialize() == text);
  s.media[0].add_attribute("connection", "new");
  CHECK(s.serialize() == head + crlf("m=video 1 RTP/AVP 96\na=recvonly\ny=0100000001\n"
                                     "a=setup:passive\na=connection:new\n"));
}

TEST_CASE("SDP set_extension replaces the first line of its letter or appends one") {
  session s;
  s.set_extension('x', "one");
  media_description& m = s.media.emplace_back();
  m.media = "video";
  m.port = 9;
  m.fmts = {"96"};
  m.set_extension('y', "0100000001").set_extension('y', "0100000002");
  CHECK(m.extensions.size() == 1);
  CHECK(m.find_extension('y')->value == "0100000002");
  CHECK(s.find_extension('x')->value == "one");
  CHECK(s.serialize() ==
        crlf("v=0\no=- 0 0 IN IP4 0.0.0.0\ns=-\nt=0 0\nx=one\nm=video 9 RTP/AVP 96\ny=0100000002\n"));
  CHECK(m.remove_extensions('y') == 1);
  CHECK(m.find_extension('y') == nullptr);
}

TEST_CASE("SDP extension lines refuse RFC 8866 letters, non-letters and line breaks") {
  media_description m;
  CHECK_THROWS_AS(m.set_extension('a', "x"), std::invalid_argument);
  CHECK_THROWS_AS(m.set_extension('1', "x"), std::invalid_argument);
  CHECK_THROWS_AS(m.set_extension('y', "1\r\na=evil"), std::invalid_argument);
  session s;
  s.extensions.push_back({'m', "audio 1 RTP/AVP 0", extension_line::at_end});
  CHECK_THROWS_AS(s.serialize(), std::invalid_argument);
}

TEST_CASE("SDP add_attribute appends value and property attributes at media level") {
  session s;
  media_description& m = s.media.emplace_back();
  m.media = "audio";
  m.port = 40000;
  m.proto = "UDP/TLS/RTP/SAVPF";
  m.fmts = {"111"};
  m.add_attribute("rtpmap", "111 opus/48000/2")
      .add_attribute("candidate", "1 1 UDP 2130706431 192.0.2.1 40000 typ host")
      .add_attribute("setup", "actpass")
      .add_attribute("rtcp-mux");
  CHECK(s.serialize() == crlf("v=0\no=- 0 0 IN IP4 0.0.0.0\ns=-\nt=0 0\n"
                              "m=audio 40000 UDP/TLS/RTP/SAVPF 111\n"
                              "a=rtpmap:111 opus/48000/2\n"
                              "a=candidate:1 1 UDP 2130706431 192.0.2.1 40000 typ host\n"
                              "a=setup:actpass\n"
                              "a=rtcp-mux\n"));
  REQUIRE(m.find_attribute("rtcp-mux") != nullptr);
  CHECK_FALSE(m.find_attribute("rtcp-mux")->value.has_value());
}

TEST_CASE("SDP add_attribute appends session-level attributes") {
  session s;
  s.add_attribute("group", "BUNDLE 0").add_attribute("ice-lite");
  CHECK(s.serialize() == crlf("v=0\no=- 0 0 IN IP4 0.0.0.0\ns=-\nt=0 0\na=group:BUNDLE 0\n"
                              "a=ice-lite\n"));
}

TEST_CASE("SDP add_attribute refuses a name that is not a token and a value with CR or LF") {
  media_description m;
  CHECK_THROWS_AS(m.add_attribute(""), std::invalid_argument);
  CHECK_THROWS_AS(m.add_attribute("set up", "x"), std::invalid_argument);
  CHECK_THROWS_AS(m.add_attribute("crypto:1", "x"), std::invalid_argument);
  CHECK_THROWS_AS(m.add_attribute("crypto", "1 AES_CM_128_HMAC_SHA1_80\r\na=evil"),
                  std::invalid_argument);
  session s;
  CHECK_THROWS_AS(s.add_attribute("bad\n"), std::invalid_argument);
  CHECK(m.attributes.empty());
  CHECK(s.attributes.empty());
}
