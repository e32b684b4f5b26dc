#include <catch2/catch.hpp>
#include <string>
#include <vector>

#include "sipkit/parser/stream_framer.hpp"

using namespace sipkit::parser;

namespace {

const std::string k_a =
    "OPTIONS sip:a@example.com SIP/2.0\r\nCall-ID: 1\r\nContent-Length: 0\r\n\r\n";
const std::string k_b =
    "MESSAGE sip:b@example.com SIP/2.0\r\nl: 5\r\nCall-ID: 2\r\n\r\nhello";
const std::string k_c =
    "SIP/2.0 200 OK\r\nContent-Length:\r\n  3\r\n\r\nabc";

std::vector<std::string> drain(stream_framer& f, parse_error* last = nullptr) {
  std::vector<std::string> out;
  for (;;) {
    auto r = f.next();
    if (r.error) {
      if (last) *last = r.error;
      return out;
    }
    out.emplace_back(r.message);
  }
}

}  // namespace

TEST_CASE("stream framer splits back-to-back messages", "[framer]") {
  stream_framer f;
  f.feed(k_a + k_b + k_c);
  parse_error last;
  CHECK(drain(f, &last) == std::vector<std::string>{k_a, k_b, k_c});
  CHECK(last.code == errc::need_more);
  CHECK(f.buffered() == 0);
}

TEST_CASE("stream framer gives the same result at every split point", "[framer]") {
  const std::string stream = "\r\n\r\n" + k_a + "\r\n" + k_b + "\r\n\r\n" + k_c;
  for (std::size_t split = 0; split <= stream.size(); ++split) {
    for (std::size_t split2 = split; split2 <= stream.size(); split2 += 7) {
      stream_framer f;
      std::vector<std::string> got;
      for (auto chunk : {stream.substr(0, split), stream.substr(split, split2 - split),
                         stream.substr(split2)}) {
        f.feed(chunk);
        for (auto& m : drain(f)) got.push_back(m);
      }
      INFO("split at " << split << "," << split2);
      REQUIRE(got == std::vector<std::string>{k_a, k_b, k_c});
      REQUIRE(f.pings_received() == 2);
    }
  }
}

TEST_CASE("stream framer feeds byte by byte", "[framer]") {
  const std::string stream = k_b + k_a;
  stream_framer f;
  std::vector<std::string> got;
  for (char c : stream) {
    f.feed(std::string_view(&c, 1));
    for (auto& m : drain(f)) got.push_back(m);
  }
  CHECK(got == std::vector<std::string>{k_b, k_a});
}

TEST_CASE("stream framer counts CRLFCRLF keep-alive pings", "[framer]") {
  stream_framer f;
  f.feed("\r\n\r\n\r\n\r\n\r\n");
  parse_error last;
  CHECK(drain(f, &last).empty());
  CHECK(last.code == errc::need_more);
  CHECK(f.pings_received() == 2);
}

TEST_CASE("stream framer requires Content-Length", "[framer]") {
  stream_framer f;
  f.feed("OPTIONS sip:a SIP/2.0\r\nCall-ID: 1\r\n\r\n");
  auto r = f.next();
  CHECK(r.error.code == errc::missing_content_length);
  CHECK(f.next().error.code == errc::missing_content_length);  // the stream stays failed
}

TEST_CASE("stream framer rejects conflicting Content-Length values", "[framer]") {
  stream_framer f;
  f.feed("OPTIONS sip:a SIP/2.0\r\nl: 1\r\nContent-Length: 2\r\n\r\nab");
  CHECK(f.next().error.code == errc::bad_content_length);
}

TEST_CASE("stream framer bounds the header block and the body", "[framer]") {
  parser_limits limits;
  limits.max_message_size = 128;
  limits.max_body_size = 64;
  stream_framer f(limits);
  f.feed(k_a);
  CHECK_FALSE(f.next().error);
  f.feed(std::string(200, 'X'));
  auto r = f.next();
  CHECK(r.error.code == errc::message_too_large);
  CHECK(r.error.offset == k_a.size());

  stream_framer g(limits);
  g.feed("MESSAGE sip:a SIP/2.0\r\nContent-Length: 100000\r\n\r\n");
  CHECK(g.next().error.code == errc::body_too_large);
}

TEST_CASE("stream framer reports stream offsets in errors", "[framer]") {
  stream_framer f;
  f.feed(k_a + k_a);
  drain(f);
  f.feed("BAD sip:x SIP/2.0\r\nl: x\r\n\r\n");
  auto r = f.next();
  CHECK(r.error.code == errc::syntax);
  // At the value in fault (issue 15: it used to be the start of the message).
  CHECK(r.error.offset == 2 * k_a.size() + std::string("BAD sip:x SIP/2.0\r\nl: ").size());
}

TEST_CASE("stream framer reports a bad Content-Length at its value", "[framer]") {
  const std::string ncl = "INVITE sip:a@b SIP/2.0\r\nCall-ID: n\r\nContent-Length: -999\r\n\r\n";
  stream_framer f;
  f.feed(k_a + ncl);
  drain(f);
  auto r = f.next();
  CHECK(r.error.code == errc::syntax);
  CHECK(r.error.offset == k_a.size() + ncl.find("-999"));
  CHECK(r.error.reason == "Content-Length header");

  const std::string two = "MESSAGE sip:a@b SIP/2.0\r\nl: 1\r\nContent-Length: 2\r\n\r\nab";
  stream_framer g;
  g.feed(two);
  auto r2 = g.next();
  CHECK(r2.error.code == errc::bad_content_length);
  CHECK(r2.error.offset == two.find("2\r\n"));

  parser_limits limits;
  limits.max_body_size = 10;
  stream_framer h(limits);
  const std::string big = "MESSAGE sip:a@b SIP/2.0\r\nContent-Length: 100\r\n\r\n";
  h.feed(big);
  auto r3 = h.next();
  CHECK(r3.error.code == errc::body_too_large);
  CHECK(r3.error.offset == big.find("100"));
}
