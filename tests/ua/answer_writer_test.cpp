// write_answer against make_answer: for a corpus of offers and local descriptions, the text
// written straight from the parsed offer is byte for byte make_answer's serialized answer,
// with the same per-stream statuses, the same "cannot answer" cases and the same errors.
#include <catch2/catch.hpp>
#include <stdexcept>
#include <string>
#include <vector>

#include "sdp/sdp_test_util.hpp"
#include "sipkit/sdp/session_view.hpp"
#include "sipkit/ua/offer_answer.hpp"

using sdp_test::crlf;
using namespace sipkit;
using namespace sipkit::ua;

namespace {

local_media audio_video(std::string address = "192.0.2.10") {
  local_media me;
  me.address = std::move(address);
  me.username = "alice";
  me.streams.push_back({"audio", 49170, "RTP/AVP",
                        {{"PCMU", 8000}, {"PCMA", 8000}, {"telephone-event", 8000, 1, 101, "0-16"}},
                        sdp::direction::sendrecv});
  me.streams.push_back({"video", 51372, "RTP/AVP",
                        {{"H264", 90000, 1, 96, "profile-level-id=42e01f;packetization-mode=1"},
                         {"PS", 90000}},
                        sdp::direction::sendrecv});
  me.streams.push_back({"image", 40000, "udptl", {{"t38"}}, sdp::direction::sendrecv});
  return me;
}

local_media opus_webrtc() {
  local_media me;
  me.address = "[2001:db8::10]";
  me.streams.push_back({"audio", 50000, "UDP/TLS/RTP/SAVPF",
                        {{"opus", 48000, 2, std::nullopt, "minptime=10;useinbandfec=1"},
                         {"telephone-event", 48000}, {"telephone-event", 8000}},
                        sdp::direction::sendrecv});
  return me;
}

local_media receive_only() {
  local_media me;
  me.address = "gb.example.com";
  me.streams.push_back({"video", 6000, "RTP/AVP", {{"PS", 90000}, {"H264", 90000}},
                        sdp::direction::recvonly});
  me.streams.push_back({"audio", 6002, "RTP/AVP", {{"PCMA", 8000}}, sdp::direction::sendonly});
  return me;
}

const std::vector<std::string>& offers() {
  static const std::vector<std::string> corpus{
      // Audio and video, dynamic types, telephone-event.
      "v=0\no=bob 2808844564 2808844564 IN IP4 198.51.100.7\ns=call\nc=IN IP4 198.51.100.7\n"
      "t=0 0\nm=audio 49172 RTP/AVP 8 0 101\na=rtpmap:101 telephone-event/8000\n"
      "a=fmtp:101 0-15\nm=video 49174 RTP/AVP 97 96\na=rtpmap:97 VP8/90000\n"
      "a=rtpmap:96 h264/90000\na=fmtp:96 profile-level-id=42e01f\n",
      // A refused stream (port 0), an unknown one, and a T.38 image stream.
      "v=0\no=- 1 1 IN IP4 198.51.100.7\ns=-\nc=IN IP4 198.51.100.7\nt=0 0\n"
      "m=audio 0 RTP/AVP 0\nm=text 5000 RTP/AVP 98\na=rtpmap:98 t140/1000\n"
      "m=image 5002 udptl t38\na=T38FaxVersion:0\nm=audio 5004 RTP/AVP 18 0\n",
      // Hold: sendonly at media level, inactive, and the session-level direction.
      "v=0\no=- 2 3 IN IP4 198.51.100.7\ns=-\nc=IN IP4 198.51.100.7\nt=0 0\na=recvonly\n"
      "m=audio 6000 RTP/AVP 0 101\na=rtpmap:101 telephone-event/8000\na=sendonly\n"
      "m=video 6002 RTP/AVP 96\na=rtpmap:96 H264/90000\n",
      "v=0\no=- 2 4 IN IP4 198.51.100.7\ns=-\nc=IN IP4 198.51.100.7\nt=0 0\n"
      "m=audio 6000 RTP/AVP 8\na=inactive\n",
      // RFC 2543 hold (c=0.0.0.0), media-level c= over a session-level one, multicast TTL.
      "v=0\no=- 5 5 IN IP4 198.51.100.7\ns=-\nc=IN IP4 0.0.0.0\nt=0 0\n"
      "m=audio 6000 RTP/AVP 0\nm=video 6002 RTP/AVP 31\nc=IN IP4 198.51.100.8/127\n",
      // GB/T 28181: y= and f= lines, PS over RTP, recvonly playback request.
      "v=0\no=34020000001320000001 0 0 IN IP4 192.168.1.20\ns=Play\nu=34020000001320000001:0\n"
      "c=IN IP4 192.168.1.20\nt=0 0\nm=video 6000 RTP/AVP 96 98 97\na=recvonly\n"
      "a=rtpmap:96 PS/90000\na=rtpmap:98 H264/90000\na=rtpmap:97 MPEG4/90000\n"
      "y=0100000001\nf=v/2/5///a///\n",
      "v=0\no=34020000002000000001 0 0 IN IP4 192.168.1.30\ns=Playback\n"
      "u=34020000001320000001:3\nc=IN IP4 192.168.1.30\nt=3471292800 3471296400\n"
      "m=video 6000 TCP/RTP/AVP 96\na=rtpmap:96 PS/90000\na=setup:active\na=sendonly\n"
      "y=1100000002\n",
      // WebRTC-like: IPv6, SAVPF, many attributes, opus/2 and two telephone-event rates.
      "v=0\no=- 4611731400430051336 2 IN IP6 2001:db8::7\ns=-\nt=0 0\n"
      "a=group:BUNDLE 0\na=msid-semantic: WMS\n"
      "m=audio 9 UDP/TLS/RTP/SAVPF 111 63 103 126 110\nc=IN IP6 2001:db8::7\n"
      "a=rtcp:9 IN IP4 0.0.0.0\na=ice-ufrag:abcd\na=ice-pwd:0123456789abcdefghijklmn\n"
      "a=fingerprint:sha-256 AB:CD\na=setup:actpass\na=mid:0\na=sendrecv\na=rtcp-mux\n"
      "a=rtpmap:111 opus/48000/2\na=rtcp-fb:111 transport-cc\n"
      "a=fmtp:111 minptime=10;useinbandfec=1\na=rtpmap:63 red/48000/2\n"
      "a=rtpmap:103 ISAC/16000\na=rtpmap:126 telephone-event/8000\n"
      "a=rtpmap:110 telephone-event/48000\n",
      // IPv6 c= at session level, repeat times and a time zone, a malformed rtpmap.
      "v=0\no=carol 7 7 IN IP6 2001:db8::9\ns=-\nc=IN IP6 2001:db8::9\n"
      "t=2873397496 2873404696\nr=7d 1h 0 25h\nz=2882844526 -1h\n"
      "m=audio 7000 RTP/AVP 0 8\na=rtpmap:8 PCMA\n",
      // Only auxiliary formats in common; a stream answered by no capability; odd case.
      "v=0\no=- 9 9 IN IP4 198.51.100.7\ns=-\nc=IN IP4 198.51.100.7\nt=0 0\n"
      "m=AUDIO 6000 rtp/avp 13 101\na=rtpmap:101 TELEPHONE-EVENT/8000\n"
      "m=audio 6002 RTP/AVP 0\nm=audio 6004 RTP/AVP 8\n",
      // A c= that is not IN IP4/IP6, and a stream with no c= anywhere (cannot be answered).
      "v=0\no=- 10 10 IN IP4 198.51.100.7\ns=-\nt=0 0\n"
      "m=audio 6000 RTP/AVP 0\nc=ATM NSAP 47.0091.8100.0000.0060.3e64.fd01.0060.3e64.fd01.00\n",
      "v=0\no=- 11 11 IN IP4 198.51.100.7\ns=-\nt=0 0\nm=audio 6000 RTP/AVP 0\n",
      // v= other than 0: no answer at all.
      "v=1\no=- 12 12 IN IP4 198.51.100.7\ns=-\nc=IN IP4 198.51.100.7\nt=0 0\n"
      "m=audio 6000 RTP/AVP 0\n",
      // No m= line: an answer with none (and nothing accepted).
      "v=0\no=- 13 13 IN IP4 198.51.100.7\ns=-\nc=IN IP4 198.51.100.7\nt=0 0\n",
  };
  return corpus;
}

// make_answer's answer for `text`, as the call path produced it before write_answer.
std::optional<answer_result> old_path(const std::string& text, const local_media& me,
                                      std::uint64_t id, std::uint64_t version) {
  sdp::session offer;
  if (sdp::parse(text, offer)) return std::nullopt;
  return make_answer(offer, me, id, version);
}

}  // namespace

TEST_CASE("write_answer writes make_answer's answer byte for byte for a corpus of offers") {
  const std::vector<local_media> locals{audio_video(), audio_video("[2001:db8::10]"),
                                        opus_webrtc(), receive_only(), local_media{"198.51.100.1"}};
  std::size_t answered = 0;
  std::size_t accepted = 0;
  for (const auto& lf : offers()) {
    const std::string text = crlf(lf);
    for (const auto& me : locals) {
      INFO(text);
      INFO(me.address);
      const auto expected = old_path(text, me, 4242, 17);
      std::string written = "kept:";
      const auto got = write_answer(text, me, 4242, 17, written);
      REQUIRE(got.has_value() == expected.has_value());
      if (!expected) {
        CHECK(written == "kept:");
        continue;
      }
      ++answered;
      if (expected->any_accepted) ++accepted;
      CHECK(written == "kept:" + expected->answer.serialize());
      CHECK(got->any_accepted == expected->any_accepted);
      CHECK(std::vector<stream_status>(got->streams().begin(), got->streams().end()) ==
            expected->streams);
      // The text overload and the view overload are one path.
      sdp::session_view view;
      REQUIRE_FALSE(sdp::parse(text, view));
      std::string again;
      REQUIRE(write_answer(view, me, 4242, 17, again));
      CHECK("kept:" + again == written);
    }
  }
  // Every offer but the one without any c= and the v=1 one is answered, a third of them with a stream
  // accepted: the corpus exercises the writer, not only its refusals.
  CHECK(answered == (offers().size() - 2) * locals.size());
  CHECK(accepted > answered / 3);
  CHECK(accepted < answered);
}

TEST_CASE("write_answer does not answer what does not parse") {
  std::string out;
  CHECK_FALSE(write_answer(std::string_view("v=0\r\nm=audio\r\n"), audio_video(), 1, 1, out));
  CHECK(out.empty());
}

TEST_CASE("write_answer refuses a bad local description as make_answer does, writing nothing") {
  const std::string text = crlf(offers().front());
  std::string out;
  local_media bad = audio_video();
  bad.address = "not an address";
  CHECK_THROWS_AS(old_path(text, bad, 1, 1), std::invalid_argument);
  CHECK_THROWS_AS(write_answer(text, bad, 1, 1, out), std::invalid_argument);
  CHECK_THROWS_AS(write_answer(text, audio_video(), std::uint64_t{1} << 63, 1, out),
                  std::invalid_argument);
  // A line break in a field we write would split the answer (SDP injection).
  local_media crlf_fmtp = audio_video();
  crlf_fmtp.streams[0].codecs[2].fmtp = "0-16\r\na=evil";
  CHECK_THROWS_AS(old_path(text, crlf_fmtp, 1, 1)->answer.serialize(), std::invalid_argument);
  CHECK_THROWS_AS(write_answer(text, crlf_fmtp, 1, 1, out), std::invalid_argument);
  CHECK(out.empty());
}

TEST_CASE("write_answer reserves the answer's exact size once") {
  const std::string text = crlf(offers().front());
  std::string out;
  REQUIRE(write_answer(text, audio_video(), 4242, 17, out));
  // One reserve of the counted size (a library may round a capacity up a little).
  CHECK(out.capacity() - out.size() < 32);
}
