// RFC 3264 offer/answer: offers, answers, the direction table, negotiated streams, hold and
// the o= version rules.
#include "sipkit/ua/offer_answer.hpp"

#include <catch2/catch.hpp>
#include <fstream>
#include <iterator>
#include <stdexcept>
#include <string>
#include <vector>

#include "sdp/sdp_test_util.hpp"

using sdp_test::crlf;
using namespace sipkit;
using namespace sipkit::ua;

namespace {

codec pcmu() { return {"PCMU", 8000}; }
codec pcma() { return {"PCMA", 8000}; }
codec events() { return {"telephone-event", 8000, 1, 101, "0-16"}; }

local_media local_audio(std::vector<codec> codecs, sdp::direction d = sdp::direction::sendrecv) {
  local_media me;
  me.address = "192.0.2.10";
  me.streams.push_back({"audio", 49170, "RTP/AVP", std::move(codecs), d});
  return me;
}

sdp::session parsed(std::string_view lf_text) {
  sdp::session s;
  const auto err = sdp::parse(crlf(lf_text), s);
  INFO(err.message());
  REQUIRE_FALSE(err);
  return s;
}

// A remote offer: one audio m= line with the given fmts and attribute lines.
sdp::session audio_offer(std::string_view m_line_and_attributes) {
  return parsed(
      "v=0\n"
      "o=bob 2808844564 2808844564 IN IP4 198.51.100.7\n"
      "s=-\n"
      "c=IN IP4 198.51.100.7\n"
      "t=0 0\n" +
      std::string(m_line_and_attributes));
}

const sdp::media_description& only_media(const answer_result& r) {
  REQUIRE(r.answer.media.size() == 1);
  return r.answer.media[0];
}

std::string rfc4475_body(const std::string& file) {
  std::ifstream in(std::string(SIPKIT_RFC4475_DIR) + "/" + file, std::ios::binary);
  REQUIRE(in);
  const std::string msg{std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
  const auto blank = msg.find("\r\n\r\n");
  REQUIRE(blank != std::string::npos);
  return msg.substr(blank + 4);
}

}  // namespace

// --- Offers (RFC 3264 §5) -------------------------------------------------------------------

TEST_CASE("Offer for PCMU, PCMA and telephone-event is canonical byte for byte") {
  const sdp::session offer =
      make_offer(local_audio({pcmu(), pcma(), events()}), 2890844526u, 2890844526u);
  CHECK(offer.serialize() == crlf("v=0\n"
                                  "o=- 2890844526 2890844526 IN IP4 192.0.2.10\n"
                                  "s=-\n"
                                  "c=IN IP4 192.0.2.10\n"
                                  "t=0 0\n"
                                  "m=audio 49170 RTP/AVP 0 8 101\n"
                                  "a=rtpmap:0 PCMU/8000\n"
                                  "a=rtpmap:8 PCMA/8000\n"
                                  "a=rtpmap:101 telephone-event/8000\n"
                                  "a=fmtp:101 0-16\n"
                                  "a=sendrecv\n"));
}

TEST_CASE("Offer gives codecs without a payload type the static one or the lowest free dynamic") {
  const sdp::session offer = make_offer(
      local_audio({{"opus", 48000, 2}, {"G722", 8000}, {"speex", 16000, 1, 96}, {"iLBC", 8000}}), 1,
      1);
  REQUIRE(offer.media.size() == 1);
  CHECK(offer.media[0].fmts == std::vector<std::string>{"97", "9", "96", "98"});
  CHECK(offer.media[0].find_attribute("rtpmap")->value == "97 opus/48000/2");
}

TEST_CASE("Offer with an IPv6 address writes IP6 in o= and c=") {
  local_media me = local_audio({pcmu()});
  me.address = "[2001:db8::10]";
  const sdp::session offer = make_offer(me, 7, 7);
  CHECK(offer.origin == sdp::origin{"-", 7, 7, "IN", "IP6", "2001:db8::10"});
  CHECK(offer.connection == sdp::connection{"IN", "IP6", "2001:db8::10"});
}

TEST_CASE("Offer writes the direction and port of each stream") {
  local_media me = local_audio({pcmu()}, sdp::direction::recvonly);
  me.streams.push_back({"video", 0, "RTP/AVP", {{"H261", 90000}}, sdp::direction::sendrecv});
  const sdp::session offer = make_offer(me, 1, 1);
  REQUIRE(offer.media.size() == 2);
  CHECK(offer.direction_of(offer.media[0]) == sdp::direction::recvonly);
  CHECK(offer.media[1].port == 0);
  CHECK(offer.media[1].fmts == std::vector<std::string>{"31"});
}

TEST_CASE("Offer refuses a local description the caller built wrongly") {
  local_media no_address = local_audio({pcmu()});
  no_address.address = "";
  CHECK_THROWS_AS(make_offer(no_address, 1, 1), std::invalid_argument);
  local_media bad_address = local_audio({pcmu()});
  bad_address.address = "192.0.2.10:5060";
  CHECK_THROWS_AS(make_offer(bad_address, 1, 1), std::invalid_argument);
  CHECK_THROWS_AS(make_offer(local_audio({}), 1, 1), std::invalid_argument);
  CHECK_THROWS_AS(make_offer(local_audio({{"opus", 48000, 2, 96}, {"speex", 8000, 1, 96}}), 1, 1),
                  std::invalid_argument);
  CHECK_THROWS_AS(make_offer(local_audio({pcmu()}), std::uint64_t{1} << 63, 1),
                  std::invalid_argument);
}

TEST_CASE("Random session ids are non-zero and below 2^62") {
  for (int i = 0; i < 100; ++i) {
    const std::uint64_t id = random_session_id();
    CHECK(id > 0);
    CHECK(id < (std::uint64_t{1} << 62));
  }
}

// --- Answers (RFC 3264 §6) ------------------------------------------------------------------

TEST_CASE("Answer keeps the offerer's dynamic payload type numbers") {
  const sdp::session offer = audio_offer(
      "m=audio 5004 RTP/AVP 111\n"
      "a=rtpmap:111 opus/48000/2\n");
  const auto r =
      make_answer(offer, local_audio({{"opus", 48000, 2, 96, "useinbandfec=1"}}), 42, 42);
  REQUIRE(r);
  const sdp::media_description& m = only_media(*r);
  CHECK(m.fmts == std::vector<std::string>{"111"});
  CHECK(m.attributes == std::vector<sdp::attribute>{{"rtpmap", "111 opus/48000/2"},
                                                    {"fmtp", "111 useinbandfec=1"},
                                                    {"sendrecv", std::nullopt}});
}

TEST_CASE("Answer is canonical byte for byte with our o=, c= and port") {
  const sdp::session offer = audio_offer(
      "m=audio 5004 RTP/AVP 0 101\n"
      "a=rtpmap:101 telephone-event/8000\n"
      "a=fmtp:101 0-15\n");
  local_media me = local_audio({pcmu(), events()});
  me.username = "alice";
  const auto r = make_answer(offer, me, 3, 4);
  REQUIRE(r);
  CHECK(r->answer.serialize() == crlf("v=0\n"
                                      "o=alice 3 4 IN IP4 192.0.2.10\n"
                                      "s=-\n"
                                      "c=IN IP4 192.0.2.10\n"
                                      "t=0 0\n"
                                      "m=audio 49170 RTP/AVP 0 101\n"
                                      "a=rtpmap:0 PCMU/8000\n"
                                      "a=rtpmap:101 telephone-event/8000\n"
                                      "a=fmtp:101 0-16\n"
                                      "a=sendrecv\n"));
  CHECK(r->streams == std::vector<stream_status>{stream_status::accepted});
  CHECK(r->any_accepted);
}

TEST_CASE("Answer lists the common formats in the offerer's order") {
  const sdp::session offer = audio_offer("m=audio 5004 RTP/AVP 8 0\n");
  const auto r = make_answer(offer, local_audio({pcmu(), pcma()}), 1, 1);
  REQUIRE(r);
  CHECK(only_media(*r).fmts == std::vector<std::string>{"8", "0"});
}

TEST_CASE("Answer drops the offered codecs the local side does not support") {
  const sdp::session offer = audio_offer(
      "m=audio 5004 RTP/AVP 96 0 97 8 101\n"
      "a=rtpmap:96 opus/48000/2\n"
      "a=rtpmap:97 iLBC/8000\n"
      "a=rtpmap:101 telephone-event/8000\n");
  const auto r = make_answer(offer, local_audio({pcma(), {"opus", 48000, 1}}), 1, 1);
  REQUIRE(r);
  // opus/48000/1 is not opus/48000/2: the channel count is part of the codec.
  CHECK(only_media(*r).fmts == std::vector<std::string>{"8"});
}

TEST_CASE("Answer matches encoding names case-insensitively") {
  const sdp::session offer = audio_offer(
      "m=audio 5004 RTP/AVP 98\n"
      "a=rtpmap:98 ILBC/8000\n");
  const auto r = make_answer(offer, local_audio({{"iLBC", 8000, 1, 97}}), 1, 1);
  REQUIRE(r);
  CHECK(only_media(*r).fmts == std::vector<std::string>{"98"});
  CHECK(only_media(*r).find_attribute("rtpmap")->value == "98 iLBC/8000");
}

TEST_CASE("Answer recognises a static payload type offered without rtpmap") {
  const sdp::session offer = audio_offer("m=audio 5004 RTP/AVP 18 9\n");
  const auto r = make_answer(offer, local_audio({{"G722", 8000}}), 1, 1);
  REQUIRE(r);
  CHECK(only_media(*r).fmts == std::vector<std::string>{"9"});
  CHECK(only_media(*r).find_attribute("rtpmap")->value == "9 G722/8000");
}

TEST_CASE("Answer keeps telephone-event when both sides support it") {
  const sdp::session offer = audio_offer(
      "m=audio 5004 RTP/AVP 0 100\n"
      "a=rtpmap:100 telephone-event/8000\n");
  const auto with_events = make_answer(offer, local_audio({pcmu(), events()}), 1, 1);
  REQUIRE(with_events);
  CHECK(only_media(*with_events).fmts == std::vector<std::string>{"0", "100"});
  const auto without = make_answer(offer, local_audio({pcmu()}), 1, 1);
  REQUIRE(without);
  CHECK(only_media(*without).fmts == std::vector<std::string>{"0"});
}

TEST_CASE("Answer rejects a stream with no common codec with port 0 and the offered formats") {
  const sdp::session offer = audio_offer(
      "m=audio 5004 RTP/AVP 96 4\n"
      "a=rtpmap:96 AMR/8000\n");
  const auto r = make_answer(offer, local_audio({pcmu(), pcma()}), 1, 1);
  REQUIRE(r);
  const sdp::media_description& m = only_media(*r);
  CHECK(m.port == 0);
  CHECK(m.proto == "RTP/AVP");
  CHECK(m.fmts == std::vector<std::string>{"96", "4"});
  CHECK(m.attributes.empty());
  CHECK(r->streams == std::vector<stream_status>{stream_status::no_common_codec});
  CHECK_FALSE(r->any_accepted);
}

TEST_CASE("Answer rejects a stream whose only common format is telephone-event") {
  const sdp::session offer = audio_offer(
      "m=audio 5004 RTP/AVP 96 101\n"
      "a=rtpmap:96 AMR/8000\n"
      "a=rtpmap:101 telephone-event/8000\n");
  const auto r = make_answer(offer, local_audio({pcmu(), events()}), 1, 1);
  REQUIRE(r);
  CHECK(only_media(*r).port == 0);
  CHECK(r->streams == std::vector<stream_status>{stream_status::no_common_codec});
}

TEST_CASE("Answer rejects video without a local video capability and accepts the audio") {
  const sdp::session offer = audio_offer(
      "m=audio 5004 RTP/AVP 0\n"
      "m=video 5006 RTP/AVP 96\n"
      "a=rtpmap:96 H264/90000\n"
      "a=fmtp:96 packetization-mode=1\n");
  const auto r = make_answer(offer, local_audio({pcmu()}), 1, 1);
  REQUIRE(r);
  REQUIRE(r->answer.media.size() == 2);
  CHECK(r->answer.media[0].port == 49170);
  CHECK(r->answer.media[1].media == "video");
  CHECK(r->answer.media[1].port == 0);
  CHECK(r->answer.media[1].fmts == std::vector<std::string>{"96"});
  CHECK(r->streams ==
        std::vector<stream_status>{stream_status::accepted, stream_status::no_local_capability});
  CHECK(r->any_accepted);
}

TEST_CASE("Answer rejects a stream with another proto than the local capability") {
  const sdp::session offer = audio_offer("m=audio 5004 RTP/SAVP 0\n");
  const auto r = make_answer(offer, local_audio({pcmu()}), 1, 1);
  REQUIRE(r);
  CHECK(only_media(*r).port == 0);
  CHECK(r->streams == std::vector<stream_status>{stream_status::no_local_capability});
}

TEST_CASE("Answer uses each local capability for one m= line only") {
  const sdp::session offer = audio_offer(
      "m=audio 5004 RTP/AVP 0\n"
      "m=audio 5006 RTP/AVP 0\n");
  const auto r = make_answer(offer, local_audio({pcmu()}), 1, 1);
  REQUIRE(r);
  REQUIRE(r->answer.media.size() == 2);
  CHECK(r->answer.media[0].port == 49170);
  CHECK(r->answer.media[1].port == 0);
}

TEST_CASE("Answer keeps a stream the offerer disabled at port 0") {
  const sdp::session offer = audio_offer("m=audio 0 RTP/AVP 0\n");
  const auto r = make_answer(offer, local_audio({pcmu()}), 1, 1);
  REQUIRE(r);
  CHECK(only_media(*r).port == 0);
  CHECK(r->streams == std::vector<stream_status>{stream_status::disabled_by_offerer});
  CHECK_FALSE(r->any_accepted);
}

TEST_CASE("Answer negotiates the direction by the RFC 3264 section 6.1 table") {
  struct row {
    sdp::direction offered, local, answered;
  };
  using d = sdp::direction;
  const row table[] = {
      {d::sendonly, d::sendrecv, d::recvonly}, {d::recvonly, d::sendrecv, d::sendonly},
      {d::inactive, d::sendrecv, d::inactive}, {d::sendrecv, d::sendrecv, d::sendrecv},
      {d::sendrecv, d::sendonly, d::sendonly}, {d::sendrecv, d::recvonly, d::recvonly},
      {d::sendrecv, d::inactive, d::inactive}, {d::sendonly, d::sendonly, d::inactive},
      {d::recvonly, d::recvonly, d::inactive},
  };
  for (const row& t : table) {
    const sdp::session offer =
        audio_offer("m=audio 5004 RTP/AVP 0\na=" + std::string(sdp::to_string(t.offered)) + "\n");
    const auto r = make_answer(offer, local_audio({pcmu()}, t.local), 1, 1);
    REQUIRE(r);
    INFO("offered " << sdp::to_string(t.offered) << ", local " << sdp::to_string(t.local));
    CHECK(r->answer.direction_of(only_media(*r)) == t.answered);
  }
}

TEST_CASE("Answer takes the offer's session-level direction when the stream has none") {
  sdp::session offer = audio_offer("m=audio 5004 RTP/AVP 0\n");
  offer.attributes.push_back({"sendonly", std::nullopt});
  const auto r = make_answer(offer, local_audio({pcmu()}), 1, 1);
  REQUIRE(r);
  CHECK(only_media(*r).attributes.back() == sdp::attribute{"recvonly", std::nullopt});
}

TEST_CASE("Answer to an RFC 2543 hold offer with c=0.0.0.0 does not send") {
  sdp::session offer = audio_offer("m=audio 5004 RTP/AVP 0\n");
  offer.connection->address = "0.0.0.0";
  const auto r = make_answer(offer, local_audio({pcmu()}), 1, 1);
  REQUIRE(r);
  CHECK(r->answer.direction_of(only_media(*r)) == sdp::direction::recvonly);
}

TEST_CASE("Answer copies the offer's t= line") {
  sdp::session offer = audio_offer("m=audio 5004 RTP/AVP 0\n");
  offer.timings = {sdp::timing{3149328700u, 0, {}, ""}};
  const auto r = make_answer(offer, local_audio({pcmu()}), 1, 1);
  REQUIRE(r);
  CHECK(r->answer.timings == offer.timings);
}

TEST_CASE("Answer with an IPv6 local address writes IP6") {
  local_media me = local_audio({pcmu()});
  me.address = "2001:db8::10";
  const auto r = make_answer(audio_offer("m=audio 5004 RTP/AVP 0\n"), me, 1, 1);
  REQUIRE(r);
  CHECK(r->answer.origin.addrtype == "IP6");
  CHECK(r->answer.connection == sdp::connection{"IN", "IP6", "2001:db8::10"});
}

TEST_CASE("Answer is impossible for an offer stream without any c= line") {
  sdp::session offer = audio_offer("m=audio 5004 RTP/AVP 0\n");
  offer.connection.reset();
  CHECK_FALSE(make_answer(offer, local_audio({pcmu()}), 1, 1));
  offer.media[0].connections.push_back({"IN", "IP4", "198.51.100.8"});
  CHECK(make_answer(offer, local_audio({pcmu()}), 1, 1));
}

TEST_CASE("Answer rejects a stream whose c= is not IN IP4 or IN IP6") {
  sdp::session offer = audio_offer("m=audio 5004 RTP/AVP 0\n");
  offer.connection = sdp::connection{"IN", "ATM", "NSAP"};
  const auto r = make_answer(offer, local_audio({pcmu()}), 1, 1);
  REQUIRE(r);
  CHECK(r->streams == std::vector<stream_status>{stream_status::unsupported_connection});
}

TEST_CASE("Answer matches non-RTP formats by their fmt token") {
  const sdp::session offer = audio_offer("m=image 5008 udptl t38\n");
  local_media me;
  me.address = "192.0.2.10";
  me.streams.push_back({"image", 6000, "udptl", {{"T38"}}, sdp::direction::sendrecv});
  const auto r = make_answer(offer, me, 1, 1);
  REQUIRE(r);
  CHECK(only_media(*r).port == 6000);
  CHECK(only_media(*r).fmts == std::vector<std::string>{"t38"});
  CHECK_FALSE(only_media(*r).find_attribute("rtpmap"));
}

TEST_CASE("Answer survives a serialize and parse round trip") {
  const sdp::session offer = audio_offer(
      "m=audio 5004 RTP/AVP 111 0 101\n"
      "a=rtpmap:111 opus/48000/2\n"
      "a=rtpmap:101 telephone-event/48000\n"
      "a=sendonly\n"
      "m=video 5006 RTP/AVP 96\n"
      "a=rtpmap:96 VP8/90000\n");
  const auto r = make_answer(
      offer, local_audio({{"opus", 48000, 2, 96, "minptime=10"}, pcmu(), events()}), 5, 6);
  REQUIRE(r);
  sdp::session again;
  REQUIRE_FALSE(sdp::parse(r->answer.serialize(), again));
  CHECK(again == r->answer);
}

TEST_CASE("Answer to the SDP body of RFC 4475 wsinv accepts audio and rejects the LPC video") {
  // Audio offers static 0 and 12 without rtpmap; video 31 carries the malformed
  // "a=rtpmap:31 LPC", which must not be mistaken for the static H261 of payload type 31.
  const std::string body = rfc4475_body("wsinv.dat");
  sdp::session offer;
  REQUIRE_FALSE(sdp::parse(body, offer));
  local_media me = local_audio({pcmu()});
  me.streams.push_back({"video", 49172, "RTP/AVP", {{"H261", 90000}}, sdp::direction::sendrecv});
  const auto r = make_answer(offer, me, 10, 10);
  REQUIRE(r);
  CHECK(r->answer.serialize() == crlf("v=0\n"
                                      "o=- 10 10 IN IP4 192.0.2.10\n"
                                      "s=-\n"
                                      "c=IN IP4 192.0.2.10\n"
                                      "t=0 0\n"
                                      "m=audio 49170 RTP/AVP 0\n"
                                      "a=rtpmap:0 PCMU/8000\n"
                                      "a=sendrecv\n"
                                      "m=video 0 RTP/AVP 31\n"));
  CHECK(r->streams ==
        std::vector<stream_status>{stream_status::accepted, stream_status::no_common_codec});
}

// --- What was negotiated --------------------------------------------------------------------

TEST_CASE("Negotiated reads the remote c= at media level over session level") {
  const sdp::session ours = make_offer(local_audio({pcmu()}), 1, 1);
  sdp::session theirs = audio_offer("m=audio 5004 RTP/AVP 0\n");
  CHECK(negotiated(ours, theirs)[0].remote_address == "198.51.100.7");
  theirs.media[0].connections.push_back({"IN", "IP4", "203.0.113.5"});
  const auto streams = negotiated(ours, theirs);
  REQUIRE(streams.size() == 1);
  CHECK(streams[0].remote_address == "203.0.113.5");
  CHECK(streams[0].remote_port == 5004);
  CHECK(streams[0].local_port == 49170);
}

TEST_CASE("Negotiated chooses the remote's first common codec with the remote payload type") {
  const sdp::session ours = make_offer(local_audio({pcmu(), {"opus", 48000, 2}, events()}), 1, 1);
  const sdp::session theirs = audio_offer(
      "m=audio 5004 RTP/AVP 110 0 100\n"
      "a=rtpmap:110 opus/48000/2\n"
      "a=fmtp:110 stereo=1\n"
      "a=rtpmap:100 telephone-event/8000\n");
  const auto streams = negotiated(ours, theirs);
  REQUIRE(streams.size() == 1);
  CHECK(streams[0].accepted);
  CHECK(streams[0].chosen_codec == codec{"opus", 48000, 2, 110, "stereo=1"});
  CHECK(streams[0].telephone_event == codec{"telephone-event", 8000, 1, 100, ""});
  CHECK(streams[0].direction == sdp::direction::sendrecv);
}

TEST_CASE("Negotiated prefers telephone-event at the chosen codec's clock rate") {
  const sdp::session ours = make_offer(
      local_audio({{"opus", 48000, 2}, events(), {"telephone-event", 48000, 1, 102}}), 1, 1);
  const sdp::session theirs = audio_offer(
      "m=audio 5004 RTP/AVP 111 101 102\n"
      "a=rtpmap:111 opus/48000/2\n"
      "a=rtpmap:101 telephone-event/8000\n"
      "a=rtpmap:102 telephone-event/48000\n");
  const auto streams = negotiated(ours, theirs);
  REQUIRE(streams[0].telephone_event);
  CHECK(streams[0].telephone_event->payload_type == 102);
}

TEST_CASE("Negotiated direction combines ours with the remote one") {
  const sdp::session ours = make_offer(local_audio({pcmu()}), 1, 1);
  sdp::session theirs = audio_offer("m=audio 5004 RTP/AVP 0\na=recvonly\n");
  CHECK(negotiated(ours, theirs)[0].direction == sdp::direction::sendonly);
  theirs.media[0].set_direction(sdp::direction::sendonly);
  CHECK(negotiated(ours, theirs)[0].direction == sdp::direction::recvonly);
  theirs.media[0].set_direction(sdp::direction::sendrecv);
  theirs.connection->address = "0.0.0.0";
  CHECK(negotiated(ours, theirs)[0].direction == sdp::direction::recvonly);
}

TEST_CASE("Negotiated marks a stream rejected with port 0 as not accepted") {
  const sdp::session ours = make_offer(local_audio({pcmu()}), 1, 1);
  const sdp::session theirs = audio_offer("m=audio 0 RTP/AVP 0\n");
  const auto streams = negotiated(ours, theirs);
  REQUIRE(streams.size() == 1);
  CHECK_FALSE(streams[0].accepted);
  CHECK_FALSE(streams[0].chosen_codec);
  CHECK(streams[0].direction == sdp::direction::inactive);
}

TEST_CASE("Negotiated from the answerer's side matches the answer it sent") {
  const sdp::session offer = audio_offer(
      "m=audio 5004 RTP/AVP 8 0\n"
      "a=sendonly\n");
  const auto r = make_answer(offer, local_audio({pcmu(), pcma()}), 1, 1);
  REQUIRE(r);
  const auto streams = negotiated(r->answer, offer);
  REQUIRE(streams.size() == 1);
  CHECK(streams[0].chosen_codec == codec{"PCMA", 8000, 1, 8, ""});
  CHECK(streams[0].direction == sdp::direction::recvonly);
}

// --- Hold, resume and the o= version (RFC 3264 §8) -------------------------------------------

TEST_CASE("with_direction sets every active stream and bumps the version") {
  local_media me = local_audio({pcmu()});
  me.streams.push_back({"video", 0, "RTP/AVP", {{"H261", 90000}}, sdp::direction::sendrecv});
  const sdp::session offer = make_offer(me, 100, 100);
  const sdp::session held = with_direction(offer, sdp::direction::sendonly);
  CHECK(held.origin.session_version == 101);
  CHECK(held.origin.session_id == 100);
  CHECK(held.direction_of(held.media[0]) == sdp::direction::sendonly);
  CHECK(held.media[1] == offer.media[1]);
  const sdp::session resumed = with_direction(held, sdp::direction::sendrecv);
  CHECK(resumed.origin.session_version == 102);
  CHECK(resumed.media == offer.media);
}

TEST_CASE("with_direction keeps the version when nothing changes") {
  const sdp::session offer = make_offer(local_audio({pcmu()}), 100, 100);
  CHECK(with_direction(offer, sdp::direction::sendrecv) == offer);
}

TEST_CASE("Hold makes sendrecv sendonly and recvonly inactive") {
  local_media me = local_audio({pcmu()});
  me.streams.push_back({"audio", 49172, "RTP/AVP", {pcma()}, sdp::direction::recvonly});
  const sdp::session held = hold(make_offer(me, 1, 1));
  CHECK(held.direction_of(held.media[0]) == sdp::direction::sendonly);
  CHECK(held.direction_of(held.media[1]) == sdp::direction::inactive);
  CHECK(held.origin.session_version == 2);
  CHECK(hold(held) == held);
}

TEST_CASE("offer_answer_state keeps the version of an unchanged re-offer") {
  offer_answer_state ours;
  const local_media me = local_audio({pcmu()});
  CHECK(ours.last() == nullptr);
  CHECK(ours.next(make_offer(me, 500, 500)).origin.session_version == 500);
  CHECK(ours.next(make_offer(me, 500, 500)).origin.session_version == 500);
  CHECK(ours.last()->origin.session_version == 500);
}

TEST_CASE("offer_answer_state bumps the version once per change and keeps the o= line") {
  offer_answer_state ours;
  local_media me = local_audio({pcmu()});
  ours.next(make_offer(me, 500, 500));
  me.address = "192.0.2.99";  // new media address: c= changes, o= must not (§8)
  me.streams[0].codecs.push_back(pcma());
  const sdp::session& second = ours.next(make_offer(me, 999, 999));
  CHECK(second.origin == sdp::origin{"-", 500, 501, "IN", "IP4", "192.0.2.10"});
  CHECK(second.connection->address == "192.0.2.99");
  CHECK(ours.next(hold(second)).origin.session_version == 502);
}
