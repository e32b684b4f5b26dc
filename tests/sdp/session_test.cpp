// Owning session: copy from a view, canonical serializer, round trips, builder output.
#include "sipkit/sdp/session.hpp"

#include <catch2/catch.hpp>
#include <stdexcept>
#include <string>

#include "sdp/sdp_test_util.hpp"

using sdp_test::crlf;
using namespace sipkit::sdp;

namespace {

// Canonical: every line type, every optional field, CRLF, no leading zeros.
const std::string canonical = crlf(
    "v=0\n"
    "o=jdoe 3724394400 3724394405 IN IP4 198.51.100.1\n"
    "s=Call to John Smith\n"
    "i=SDP Offer #1\n"
    "u=http://www.jdoe.example.com/home.html\n"
    "e=Jane Doe <jane@jdoe.example.com>\n"
    "p=+1 617 555-6011\n"
    "c=IN IP4 198.51.100.1\n"
    "b=CT:128\n"
    "t=3034423619 3042462419\n"
    "r=7d 1h 0 25h\n"
    "z=2882844526 -1h 2898848070 0\n"
    "t=0 0\n"
    "k=prompt\n"
    "a=recvonly\n"
    "a=tool:\n"
    "m=audio 49170/2 RTP/AVP 0 101\n"
    "i=voice\n"
    "c=IN IP4 233.252.0.1/127\n"
    "c=IN IP4 233.252.0.2/127\n"
    "b=AS:64\n"
    "k=clear:x\n"
    "a=rtpmap:101 telephone-event/8000\n"
    "a=fmtp:101 0-15\n"
    "a=sendrecv\n"
    "m=video 0 UDP/TLS/RTP/SAVPF 96\n"
    "a=rtpmap:96 VP8/90000\n");

}  // namespace

TEST_CASE("SDP session copies every field of a view") {
  session s;
  REQUIRE_FALSE(parse(canonical, s));
  CHECK(s.version == 0);
  CHECK(s.origin == origin{"jdoe", 3724394400u, 3724394405u, "IN", "IP4", "198.51.100.1"});
  CHECK(s.name == "Call to John Smith");
  CHECK(s.information == "SDP Offer #1");
  CHECK(s.uri == "http://www.jdoe.example.com/home.html");
  CHECK(s.emails == std::vector<std::string>{"Jane Doe <jane@jdoe.example.com>"});
  CHECK(s.phones == std::vector<std::string>{"+1 617 555-6011"});
  CHECK(s.connection == connection{"IN", "IP4", "198.51.100.1"});
  CHECK(s.bandwidths == std::vector<bandwidth>{{"CT", 128}});
  REQUIRE(s.timings.size() == 2);
  CHECK(s.timings[0] ==
        timing{3034423619u, 3042462419u, {"7d 1h 0 25h"}, "2882844526 -1h 2898848070 0"});
  CHECK(s.timings[1] == timing{0, 0, {}, ""});
  CHECK(s.key == "prompt");
  CHECK(s.attributes == std::vector<attribute>{{"recvonly", std::nullopt}, {"tool", ""}});
  REQUIRE(s.media.size() == 2);
  const media_description& a = s.media[0];
  CHECK(a.media == "audio");
  CHECK(a.port == 49170);
  CHECK(a.port_count == 2);
  CHECK(a.proto == "RTP/AVP");
  CHECK(a.fmts == std::vector<std::string>{"0", "101"});
  CHECK(a.information == "voice");
  CHECK(a.connections == std::vector<connection>{{"IN", "IP4", "233.252.0.1/127"},
                                                 {"IN", "IP4", "233.252.0.2/127"}});
  CHECK(a.bandwidths == std::vector<bandwidth>{{"AS", 64}});
  CHECK(a.key == "clear:x");
  CHECK(a.attributes.size() == 3);
  CHECK(s.media[1].proto == "UDP/TLS/RTP/SAVPF");
  CHECK(s.media[1].port == 0);
}

TEST_CASE("SDP serializing a parsed canonical description reproduces its bytes") {
  session s;
  REQUIRE_FALSE(parse(canonical, s));
  CHECK(s.serialize() == canonical);
}

TEST_CASE("SDP parse of serialize gives back every field") {
  session s;
  REQUIRE_FALSE(parse(canonical, s));
  s.media[1].attributes.push_back({"fmtp", "96 max-fs=12288"});
  s.origin.session_version += 1;
  session again;
  REQUIRE_FALSE(parse(s.serialize(), again));
  CHECK(again == s);
}

TEST_CASE("SDP serializer writes LF input in canonical CRLF form") {
  const std::string lf = "v=00\no=- 007 1 IN IP4 192.0.2.1\ns=-\nt=0 0\nm=audio 0049 RTP/AVP 0\n";
  session s;
  REQUIRE_FALSE(parse(lf, s));
  CHECK(s.serialize() == crlf("v=0\no=- 7 1 IN IP4 192.0.2.1\ns=-\nt=0 0\nm=audio 49 RTP/AVP 0\n"));
}

TEST_CASE("SDP default session serializes to the smallest valid description") {
  CHECK(session{}.serialize() == crlf("v=0\no=- 0 0 IN IP4 0.0.0.0\ns=-\nt=0 0\n"));
}

TEST_CASE("SDP builder output is canonical byte for byte") {
  session offer;
  offer.origin = {"alice", 2890844526u, 2890844526u, "IN", "IP4", "host.atlanta.example.com"};
  offer.name = " ";
  offer.connection = connection{"IN", "IP4", "host.atlanta.example.com"};
  media_description& audio = offer.media.emplace_back();
  audio.media = "audio";
  audio.port = 49170;
  audio.fmts = {"0", "8", "97"};
  audio.attributes = {
      {"rtpmap", "0 PCMU/8000"}, {"rtpmap", "8 PCMA/8000"}, {"rtpmap", "97 iLBC/8000"}};
  audio.set_direction(direction::sendonly);
  media_description& video = offer.media.emplace_back();
  video.media = "video";
  video.port = 51372;
  video.fmts = {"31", "32"};
  video.attributes = {{"rtpmap", "31 H261/90000"}, {"rtpmap", "32 MPV/90000"}};

  CHECK(offer.serialize() == crlf("v=0\n"
                                  "o=alice 2890844526 2890844526 IN IP4 host.atlanta.example.com\n"
                                  "s= \n"
                                  "c=IN IP4 host.atlanta.example.com\n"
                                  "t=0 0\n"
                                  "m=audio 49170 RTP/AVP 0 8 97\n"
                                  "a=rtpmap:0 PCMU/8000\n"
                                  "a=rtpmap:8 PCMA/8000\n"
                                  "a=rtpmap:97 iLBC/8000\n"
                                  "a=sendonly\n"
                                  "m=video 51372 RTP/AVP 31 32\n"
                                  "a=rtpmap:31 H261/90000\n"
                                  "a=rtpmap:32 MPV/90000\n"));
}

TEST_CASE("SDP set_direction leaves exactly one direction attribute") {
  media_description m;
  m.attributes = {
      {"sendonly", std::nullopt}, {"rtcp-mux", std::nullopt}, {"inactive", std::nullopt}};
  m.set_direction(direction::recvonly);
  CHECK(m.attributes ==
        std::vector<attribute>{{"rtcp-mux", std::nullopt}, {"recvonly", std::nullopt}});
}

TEST_CASE("SDP owning session resolves direction media first, then session, then sendrecv") {
  session s;
  s.media.resize(2);
  s.media[1].attributes = {{"inactive", std::nullopt}};
  CHECK(s.direction_of(s.media[0]) == direction::sendrecv);
  s.attributes = {{"sendonly", std::nullopt}};
  CHECK(s.direction_of(s.media[0]) == direction::sendonly);
  CHECK(s.direction_of(s.media[1]) == direction::inactive);
}

TEST_CASE("SDP owning media finds rtpmap and fmtp of a format") {
  media_description m;
  m.attributes = {{"rtpmap", "111 opus/48000/2"}, {"fmtp", "111 minptime=10;useinbandfec=1"}};
  auto map = m.find_rtpmap("111");
  REQUIRE(map);
  CHECK(map->channels == 2);
  auto f = m.find_fmtp("111");
  REQUIRE(f);
  CHECK(fmtp_parameter(f->parameters, "useinbandfec") == std::optional<std::string_view>("1"));
  CHECK_FALSE(m.find_rtpmap("11"));
}

TEST_CASE("SDP session outlives the buffer it was parsed from") {
  session s;
  {
    std::string buffer = canonical;
    REQUIRE_FALSE(parse(buffer, s));
    buffer.assign(buffer.size(), 'X');
  }
  CHECK(s.origin.username == "jdoe");
  CHECK(s.serialize() == canonical);
}

TEST_CASE("SDP parse into a session leaves it unchanged on error") {
  session s;
  s.name = "kept";
  const auto err = parse(std::string_view("v=0\r\nx=1\r\n"), s);
  CHECK(err.code == errc::syntax);
  CHECK(s.name == "kept");
}

TEST_CASE("SDP serializer refuses a field that would inject a line") {
  session s;
  s.name = "x\r\na=evil";
  CHECK_THROWS_AS(s.serialize(), std::invalid_argument);
  session t;
  t.attributes.push_back({"tool", std::string("a\0b", 3)});
  CHECK_THROWS_AS(t.serialize(), std::invalid_argument);
}
