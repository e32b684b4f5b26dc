// White-box test of the agent's offer template (src/ua/offer_text.hpp): every offer it
// writes is byte for byte make_offer(...).serialize(), for any session id and version,
// and a different local_media rebuilds the template.
#include "offer_text.hpp"

#include <catch2/catch.hpp>
#include <cstdint>
#include <limits>
#include <stdexcept>
#include <string>

#include "sipkit/sdp/session.hpp"

using namespace sipkit;
using ua::codec;
using ua::local_media;
using ua::media_capability;

namespace {
local_media audio(std::string address, std::string username = "-") {
  local_media m;
  m.address = std::move(address);
  m.username = std::move(username);
  m.streams = {media_capability{
      "audio",
      41000,
      "RTP/AVP",
      {codec{"PCMU", 8000}, codec{"PCMA", 8000}, codec{"telephone-event", 8000, 1, 101, "0-16"}}}};
  return m;
}
constexpr std::uint64_t max_origin = std::numeric_limits<std::int64_t>::max();
}  // namespace

TEST_CASE("offer text: the template gives make_offer's text for every id and version") {
  ua::detail::offer_text t;
  std::string out = "left over";
  const local_media v4 = audio("192.0.2.10");
  for (std::uint64_t id : {std::uint64_t{1}, std::uint64_t{7}, std::uint64_t{2890844526u},
                           (std::uint64_t{1} << 62) - 1, max_origin})
    for (std::uint64_t version : {std::uint64_t{1}, std::uint64_t{2}, max_origin}) {
      t.write(v4, id, version, out);
      CHECK(out == ua::make_offer(v4, id, version).serialize());
    }
  CHECK(out.find("o=- 9223372036854775807 9223372036854775807 IN IP4 192.0.2.10\r\n") !=
        std::string::npos);
}

TEST_CASE("offer text: another local_media (address, username, streams) rebuilds it") {
  ua::detail::offer_text t;
  std::string out;
  local_media m = audio("192.0.2.10");
  t.write(m, 5, 1, out);
  CHECK(out == ua::make_offer(m, 5, 1).serialize());
  const local_media v6 = audio("2001:db8::1", "alice");
  t.write(v6, 6, 2, out);
  CHECK(out == ua::make_offer(v6, 6, 2).serialize());
  CHECK(out.find("o=alice 6 2 IN IP6 2001:db8::1\r\n") != std::string::npos);
  m.streams.push_back(media_capability{"image", 0, "udptl", {codec{"t38"}}});
  m.streams[0].direction = sdp::direction::sendonly;
  t.write(m, 8, 3, out);
  CHECK(out == ua::make_offer(m, 8, 3).serialize());
  CHECK(out.find("a=sendonly") != std::string::npos);
  CHECK(out.find("m=image 0 udptl t38") != std::string::npos);
  t.write(v6, 9, 4, out);  // back to the first again
  CHECK(out == ua::make_offer(v6, 9, 4).serialize());
}

TEST_CASE("offer text: what make_offer refuses is refused, each time") {
  ua::detail::offer_text t;
  std::string out;
  const local_media ok = audio("192.0.2.10");
  CHECK_THROWS_AS(t.write(ok, max_origin + 1, 1, out), std::invalid_argument);
  CHECK_THROWS_AS(t.write(ok, 1, max_origin + 1, out), std::invalid_argument);
  local_media no_codecs = ok;
  no_codecs.streams[0].codecs.clear();
  CHECK_THROWS_AS(t.write(no_codecs, 1, 1, out), std::invalid_argument);
  CHECK_THROWS_AS(t.write(no_codecs, 2, 1, out), std::invalid_argument);
  t.write(ok, 3, 1, out);  // a refused media leaves nothing behind: the next write works
  CHECK(out == ua::make_offer(ok, 3, 1).serialize());
}
