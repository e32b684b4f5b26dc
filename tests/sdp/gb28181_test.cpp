// GB/T 28181 y= and f= lines: typed readings from the view and the owning session, setters,
// and the byte-for-byte round trip of a live-video INVITE's SDP.
#include "sipkit/sdp/gb28181.hpp"

#include <catch2/catch.hpp>
#include <stdexcept>
#include <string>

#include "sdp/sdp_test_util.hpp"

using sdp_test::crlf;
using namespace sipkit::sdp;
namespace gb = sipkit::sdp::gb28181;

namespace {

// A platform's play INVITE body in the form of GB/T 28181-2016 Annex F, with a vendor line
// of a letter RFC 8866 does not define (x=) after y= and f=.
const std::string play_offer = crlf(
    "v=0\n"
    "o=34020000002000000001 0 0 IN IP4 192.0.2.20\n"
    "s=Play\n"
    "c=IN IP4 192.0.2.20\n"
    "t=0 0\n"
    "m=video 30000 RTP/AVP 96 98 97\n"
    "a=recvonly\n"
    "a=rtpmap:96 PS/90000\n"
    "a=rtpmap:98 H264/90000\n"
    "a=rtpmap:97 MPEG4/90000\n"
    "y=0100000001\n"
    "f=v/2/4///a///\n"
    "x=vendor 1\n");

// TCP variant: the a=setup lines come after y= (as some platforms write them).
const std::string tcp_playback = crlf(
    "v=0\n"
    "o=34020000002000000001 0 0 IN IP4 192.0.2.20\n"
    "s=Playback\n"
    "u=34020000001320000001:0\n"
    "c=IN IP4 192.0.2.20\n"
    "t=1498173736 1498174066\n"
    "m=video 30002 TCP/RTP/AVP 96\n"
    "a=recvonly\n"
    "a=rtpmap:96 PS/90000\n"
    "y=1000000025\n"
    "a=setup:passive\n"
    "a=connection:new\n"
    "f=v/2/5/25/1/4096a/1/8/1\n");

media_description video_section() {
  media_description m;
  m.media = "video";
  m.port = 30000;
  m.fmts = {"96"};
  m.add_attribute("sendonly").add_attribute("rtpmap", "96 PS/90000");
  return m;
}

}  // namespace

TEST_CASE("GB28181 play INVITE SDP with y=, f= and an unknown line round-trips byte for byte") {
  session s;
  REQUIRE_FALSE(parse(play_offer, s));
  CHECK(s.serialize() == play_offer);
  REQUIRE_FALSE(parse(tcp_playback, s));
  CHECK(s.serialize() == tcp_playback);
}

TEST_CASE("GB28181 y= and f= read typed from the parsed view") {
  session_view v;
  REQUIRE_FALSE(parse(play_offer, v));
  const auto y = gb::ssrc_of(v, v.media()[0]);
  REQUIRE(y);
  CHECK(y->value == 100000001u);
  CHECK(y->live());
  CHECK_FALSE(y->history());
  CHECK(gb::ssrc_of(v).value == y.value);
  const auto f = gb::media_format_of(v, v.media()[0]);
  REQUIRE(f);
  CHECK(f->video.codec == 2u);
  CHECK(f->video.resolution == 4u);
  CHECK_FALSE(f->video.frame_rate);
  CHECK_FALSE(f->video.bitrate_type);
  CHECK_FALSE(f->video.bitrate);
  CHECK(f->audio == gb::audio_format{});
  CHECK(gb::media_format_of(v).value == f.value);
}

TEST_CASE("GB28181 y= and f= read typed from the owning session") {
  session s;
  REQUIRE_FALSE(parse(tcp_playback, s));
  const auto y = gb::ssrc_of(s);
  REQUIRE(y);
  CHECK(y->value == 1000000025u);
  CHECK(y->history());
  CHECK_FALSE(y->live());
  const auto f = gb::media_format_of(s, s.media[0]);
  REQUIRE(f);
  CHECK(f->video == gb::video_format{2, 5, 25, 1, 4096});
  CHECK(f->audio == gb::audio_format{1, 8, 1});
}

TEST_CASE("GB28181 reading of a description without y= or f= is missing, not an error") {
  session s;
  REQUIRE_FALSE(parse(crlf("v=0\no=- 1 1 IN IP4 192.0.2.1\ns=-\nt=0 0\nm=video 1 RTP/AVP 96\n"), s));
  const auto y = gb::ssrc_of(s);
  CHECK_FALSE(y);
  CHECK(y.missing());
  CHECK_FALSE(y.error);
  CHECK(gb::media_format_of(s, s.media[0]).missing());
}

TEST_CASE("GB28181 malformed y= parses leniently and fails only in its typed reading") {
  const std::string text =
      crlf("v=0\no=- 1 1 IN IP4 192.0.2.1\ns=-\nt=0 0\nm=video 1 RTP/AVP 96\ny=12345\n");
  session_view v;
  REQUIRE_FALSE(parse(text, v));
  const auto y = gb::ssrc_of(v, v.media()[0]);
  CHECK_FALSE(y);
  CHECK_FALSE(y.missing());
  CHECK(y.error.code == errc::syntax);
  CHECK(y.error.offset == 5);
  CHECK(y.error.reason == "GB/T 28181 y= line (not 10 digits)");
  session s;
  REQUIRE_FALSE(parse(text, s));
  CHECK(s.serialize() == text);
}

TEST_CASE("GB28181 y= value must be exactly 10 digits that fit 32 bits") {
  gb::ssrc out{7};
  auto err = gb::parse_ssrc("01000000x1", out);
  CHECK(err.code == errc::syntax);
  CHECK(err.offset == 8);
  err = gb::parse_ssrc("01000000011", out);
  CHECK(err.code == errc::syntax);
  CHECK(err.offset == 10);
  CHECK(err.reason == "GB/T 28181 y= line (not 10 digits)");
  err = gb::parse_ssrc("", out);
  CHECK(err.code == errc::syntax);
  CHECK(err.offset == 0);
  err = gb::parse_ssrc("4294967296", out);
  CHECK(err.code == errc::value_out_of_range);
  CHECK(err.reason == "GB/T 28181 y= line (above 32 bits)");
  CHECK(out.value == 7u);  // unchanged by errors
  REQUIRE_FALSE(gb::parse_ssrc("4294967295", out));
  CHECK(out.value == 4294967295u);
  CHECK_FALSE(out.live());
  CHECK_FALSE(out.history());
}

TEST_CASE("GB28181 ssrc writes 10 zero-padded digits and builds from a domain ID") {
  CHECK(gb::ssrc{1}.to_string() == "0000000001");
  CHECK(gb::ssrc{1000000025}.to_string() == "1000000025");
  const auto live = gb::ssrc::make(false, "34020000002000000001", 13);
  CHECK(live.to_string() == "0200000013");  // 0, digits 4-8 "20000", stream 0013
  CHECK(live.live());
  const auto history = gb::ssrc::make(true, "3402000000", 9999);
  CHECK(history.to_string() == "1200009999");
  CHECK(history.history());
  CHECK_THROWS_AS(gb::ssrc::make(false, "3402000", 1), std::invalid_argument);
  CHECK_THROWS_AS(gb::ssrc::make(false, "340x000000", 1), std::invalid_argument);
  CHECK_THROWS_AS(gb::ssrc::make(false, "3402000000", 10000), std::invalid_argument);
}

TEST_CASE("GB28181 f= reads the full, empty-field and audio-only forms") {
  gb::media_format f;
  REQUIRE_FALSE(gb::parse_media_format("v/2/5/25/1/4096a/1/8/1", f));
  CHECK(f.video == gb::video_format{2, 5, 25, 1, 4096});
  CHECK(f.audio == gb::audio_format{1, 8, 1});
  REQUIRE_FALSE(gb::parse_media_format("v/////a///", f));
  CHECK(f == gb::media_format{});
  REQUIRE_FALSE(gb::parse_media_format("v/2/4///a///", f));
  CHECK(f.video == gb::video_format{2, 4, std::nullopt, std::nullopt, std::nullopt});
  REQUIRE_FALSE(gb::parse_media_format("v/a/1/8/1", f));
  CHECK(f.video == gb::video_format{});
  CHECK(f.audio == gb::audio_format{1, 8, 1});
  REQUIRE_FALSE(gb::parse_media_format("v/////a/1/8/1", f));
  CHECK(f.audio == gb::audio_format{1, 8, 1});
}

TEST_CASE("GB28181 malformed f= values name the byte that broke the structure") {
  gb::media_format f;
  f.video.codec = 9;
  auto err = gb::parse_media_format("", f);
  CHECK(err.code == errc::syntax);
  CHECK(err.offset == 0);
  CHECK(err.reason == "GB/T 28181 f= line (no leading v/)");
  err = gb::parse_media_format("v/2/5/25/1/4096", f);
  CHECK(err.offset == 15);
  CHECK(err.reason == "GB/T 28181 f= line (no a part)");
  err = gb::parse_media_format("v/2/5/25/1a///", f);  // four video fields
  CHECK(err.offset == 10);
  CHECK(err.reason == "GB/T 28181 f= line (field count)");
  err = gb::parse_media_format("v/2/5/25/1/1/1a///", f);  // six
  CHECK(err.offset == 12);
  CHECK(err.reason == "GB/T 28181 f= line (field count)");
  err = gb::parse_media_format("v/////a//", f);  // two audio fields
  CHECK(err.reason == "GB/T 28181 f= line (field count)");
  err = gb::parse_media_format("v/////a1//", f);  // no '/' after a
  CHECK(err.offset == 7);
  err = gb::parse_media_format("v/2/x///a///", f);
  CHECK(err.offset == 4);
  CHECK(err.reason == "GB/T 28181 f= line (not a number)");
  err = gb::parse_media_format("v/////99999999999a///", f);
  CHECK(err.code == errc::value_out_of_range);
  CHECK(err.offset == 6);
  CHECK(f.video.codec == 9u);  // unchanged by errors
}

TEST_CASE("GB28181 media_format writes the complete structure") {
  CHECK(gb::media_format{}.to_string() == "v/////a///");
  gb::media_format f;
  f.video = {2, 5, 25, 1, 4096};
  f.audio = {1, 8, 1};
  CHECK(f.to_string() == "v/2/5/25/1/4096a/1/8/1");
  f.video = {2, 4, std::nullopt, std::nullopt, std::nullopt};
  f.audio = {};
  CHECK(f.to_string() == "v/2/4///a///");
  gb::media_format back;
  REQUIRE_FALSE(gb::parse_media_format(f.to_string(), back));
  CHECK(back == f);
}

TEST_CASE("GB28181 setters write y= then f= after the media section's a= lines") {
  session answer;
  answer.media.push_back(video_section());
  gb::media_format f;
  f.video.codec = 2;
  gb::set_media_format(answer.media[0], f);
  gb::set_ssrc(answer.media[0], gb::ssrc{100000001});  // goes ahead of the f= line
  answer.media[0].add_attribute("setup", "active");     // and a= lines ahead of both
  CHECK(answer.serialize() == crlf("v=0\no=- 0 0 IN IP4 0.0.0.0\ns=-\nt=0 0\n"
                                   "m=video 30000 RTP/AVP 96\na=sendonly\na=rtpmap:96 PS/90000\n"
                                   "a=setup:active\ny=0100000001\nf=v/2////a///\n"));
  gb::set_ssrc(answer.media[0], gb::ssrc{100000002});  // replaces in place
  CHECK(answer.media[0].extensions.size() == 2);
  CHECK(gb::ssrc_of(answer)->value == 100000002u);
  CHECK(gb::media_format_of(answer, answer.media[0]).value == f);
}

TEST_CASE("GB28181 session setters use the line already there, else the last media section") {
  session s;
  gb::set_ssrc(s, gb::ssrc{1});  // no media: session level
  CHECK(s.find_extension('y')->value == "0000000001");
  gb::set_ssrc(s, gb::ssrc{2});  // still there, replaced
  CHECK(s.extensions.size() == 1);
  CHECK(s.find_extension('y')->value == "0000000002");

  session t;
  t.media.push_back(video_section());
  t.media.push_back(video_section());
  gb::set_ssrc(t, gb::ssrc{3});
  gb::set_media_format(t, gb::media_format{});
  CHECK(t.media[0].extensions.empty());
  REQUIRE(t.media[1].extensions.size() == 2);
  CHECK(t.media[1].extensions[0].value == "0000000003");
  CHECK(t.media[1].extensions[1].value == "v/////a///");
  CHECK(gb::ssrc_of(t, t.media[0]).missing());  // none in media 0, none at session level
}

TEST_CASE("GB28181 media-level reading falls back to a session-level line") {
  session s;
  s.set_extension('y', "0100000009");
  s.media.push_back(video_section());
  const auto y = gb::ssrc_of(s, s.media[0]);
  REQUIRE(y);
  CHECK(y->value == 100000009u);
  session_view v;
  const std::string text = s.serialize();
  REQUIRE_FALSE(parse(text, v));
  CHECK(gb::ssrc_of(v, v.media()[0])->value == 100000009u);
}
