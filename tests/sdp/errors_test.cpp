// Every SDP parse error: code, the line it names, and the byte offset.
#include <catch2/catch.hpp>
#include <string>

#include "sdp/sdp_test_util.hpp"
#include "sipkit/sdp/session_view.hpp"

using sdp_test::crlf;
using namespace sipkit::sdp;

namespace {

const std::string head = crlf("v=0\no=- 1 1 IN IP4 192.0.2.1\ns=-\nt=0 0\n");

parse_error parse_text(const std::string& text, const parse_options& options = {}) {
  session_view sdp;
  return parse(text, sdp, options);
}

}  // namespace

TEST_CASE("SDP without a leading v= line fails at offset 0") {
  const auto err = parse_text(crlf("o=- 1 1 IN IP4 192.0.2.1\ns=-\nt=0 0\n"));
  CHECK(err.code == errc::syntax);
  CHECK(err.offset == 0);
  CHECK(err.reason == "SDP v= line (missing)");
}

TEST_CASE("SDP empty input fails as a missing v= line") {
  const auto err = parse_text("");
  CHECK(err.code == errc::syntax);
  CHECK(err.offset == 0);
  CHECK(err.reason == "SDP v= line (missing)");
}

TEST_CASE("SDP s= before o= fails on the s of the misplaced line") {
  const auto err = parse_text(crlf("v=0\ns=-\no=- 1 1 IN IP4 192.0.2.1\nt=0 0\n"));
  CHECK(err.code == errc::syntax);
  CHECK(err.offset == 5);
  CHECK(err.reason == "SDP s= line (out of order)");
  CHECK(err.message() == "syntax error in SDP s= line (out of order) at offset 5");
}

TEST_CASE("SDP c= after an a= line in a media section is out of order") {
  const std::string text = head + crlf("m=audio 1 RTP/AVP 0\na=sendonly\nc=IN IP4 192.0.2.2\n");
  const auto err = parse_text(text);
  CHECK(err.code == errc::syntax);
  CHECK(err.offset == text.find("c=IN"));
  CHECK(err.reason == "SDP c= line (out of order)");
}

TEST_CASE("SDP session-level i= after c= is out of order") {
  const std::string text =
      crlf("v=0\no=- 1 1 IN IP4 192.0.2.1\ns=-\nc=IN IP4 192.0.2.1\ni=late\nt=0 0\n");
  const auto err = parse_text(text);
  CHECK(err.code == errc::syntax);
  CHECK(err.offset == text.find("i=late"));
  CHECK(err.reason == "SDP i= line (out of order)");
}

TEST_CASE("SDP second s= line is rejected") {
  const std::string text = crlf("v=0\no=- 1 1 IN IP4 192.0.2.1\ns=-\ns=again\nt=0 0\n");
  const auto err = parse_text(text);
  CHECK(err.code == errc::syntax);
  CHECK(err.offset == text.find("s=again"));
  CHECK(err.reason == "SDP s= line (out of order)");
}

TEST_CASE("SDP without a t= line fails at the end of input") {
  const std::string text = crlf("v=0\no=- 1 1 IN IP4 192.0.2.1\ns=-\n");
  const auto err = parse_text(text);
  CHECK(err.code == errc::syntax);
  CHECK(err.offset == text.size());
  CHECK(err.reason == "SDP t= line (missing)");
}

TEST_CASE("SDP with a non-numeric m= port fails on the port") {
  const std::string text = head + crlf("m=audio x49170 RTP/AVP 0\n");
  const auto err = parse_text(text);
  CHECK(err.code == errc::syntax);
  CHECK(err.offset == text.find("x49170"));
  CHECK(err.reason == "SDP m= line");
}

TEST_CASE("SDP m= port above 65535 is out of range at its first digit") {
  const std::string text = head + crlf("m=audio 65536 RTP/AVP 0\n");
  const auto err = parse_text(text);
  CHECK(err.code == errc::value_out_of_range);
  CHECK(err.offset == text.find("65536"));
  CHECK(err.reason == "SDP m= line");
}

TEST_CASE("SDP m= port 65535 is accepted") {
  session_view sdp;
  REQUIRE_FALSE(parse(head + crlf("m=audio 65535 RTP/AVP 0\n"), sdp));
  CHECK(sdp.media()[0].port == 65535);
}

TEST_CASE("SDP sess-id above 2^64-1 is out of range, 2^64-1 is accepted") {
  const std::string over = crlf("v=0\no=- 18446744073709551616 1 IN IP4 192.0.2.1\ns=-\nt=0 0\n");
  const auto err = parse_text(over);
  CHECK(err.code == errc::value_out_of_range);
  CHECK(err.offset == 9);  // "v=0\r\no=- " is 9 bytes
  CHECK(err.reason == "SDP o= line");

  session_view sdp;
  REQUIRE_FALSE(parse(crlf("v=0\no=- 18446744073709551615 1 IN IP4 192.0.2.1\ns=-\nt=0 0\n"), sdp));
  CHECK(sdp.origin().session_id == 18446744073709551615u);
}

TEST_CASE("SDP reports the first of several overflowing numbers") {
  const std::string text = crlf(
      "v=0\no=- 1 1 IN IP4 192.0.2.1\ns=-\nb=AS:99999999999999999999\n"
      "t=99999999999999999999 0\n");
  const auto err = parse_text(text);
  CHECK(err.code == errc::value_out_of_range);
  CHECK(err.offset == text.find("99999"));
  CHECK(err.reason == "SDP b= line");
}

TEST_CASE("SDP v= number above 32 bits is out of range") {
  const auto err = parse_text(crlf("v=4294967296\no=- 1 1 IN IP4 192.0.2.1\ns=-\nt=0 0\n"));
  CHECK(err.code == errc::value_out_of_range);
  CHECK(err.offset == 2);
  CHECK(err.reason == "SDP v= line");
}

TEST_CASE("SDP with more media sections than the table holds fails on the extra m= line") {
  std::string text = head;
  std::size_t extra = 0;
  for (std::size_t i = 0; i <= session_view::max_media; ++i) {
    if (i == session_view::max_media) extra = text.size();
    text += crlf("m=audio 1 RTP/AVP 0\n");
  }
  const auto err = parse_text(text);
  CHECK(err.code == errc::too_many_headers);
  CHECK(err.offset == extra);
  CHECK(err.reason == "SDP m= line");
}

TEST_CASE("SDP with more attributes than the table holds fails on the extra a= line") {
  std::string text = head + crlf("m=audio 1 RTP/AVP 0\n");
  std::size_t extra = 0;
  for (std::size_t i = 0; i <= session_view::max_attributes; ++i) {
    if (i == session_view::max_attributes) extra = text.size();
    text += crlf("a=x\n");
  }
  const auto err = parse_text(text);
  CHECK(err.code == errc::too_many_headers);
  CHECK(err.offset == extra);
  CHECK(err.reason == "SDP a= line");
}

TEST_CASE("SDP with exactly as many attributes as the table holds parses") {
  std::string text = head;
  for (std::size_t i = 0; i < session_view::max_attributes; ++i) text += crlf("a=x\n");
  session_view sdp;
  REQUIRE_FALSE(parse(text, sdp));
  CHECK(sdp.attributes().size() == session_view::max_attributes);
}

TEST_CASE("SDP with more fmts than the table holds fails on the extra fmt") {
  std::string line = "m=audio 1 RTP/AVP";
  for (std::size_t i = 0; i < session_view::max_fmts; ++i) {
    line += ' ';
    line += std::to_string(i % 128);
  }
  const std::string text = head + line + " 7\r\n";
  const auto err = parse_text(text);
  CHECK(err.code == errc::too_many_headers);
  CHECK(err.offset == text.size() - 3);
  CHECK(err.reason == "SDP m= line");
}

TEST_CASE("SDP line with an unknown type letter is rejected in strict mode") {
  const std::string text = head + crlf("x=unknown\n");
  const auto err = parse_text(text, parse_options::strict());
  CHECK(err.code == errc::syntax);
  CHECK(err.offset == head.size());
  CHECK(err.reason == "SDP line type (unknown or empty line)");
}

TEST_CASE("SDP empty line is rejected where a line must start") {
  const std::string text = head + "\r\n";
  const auto err = parse_text(text);
  CHECK(err.code == errc::syntax);
  CHECK(err.offset == head.size());
  CHECK(err.reason == "SDP line type (unknown or empty line)");
}

TEST_CASE("SDP space between type letter and = fails inside the line") {
  const std::string text = head + crlf("m =video 3227 RTP/AVP 31\n");
  const auto err = parse_text(text);
  CHECK(err.code == errc::syntax);
  CHECK(err.offset == head.size() + 1);
  CHECK(err.reason == "SDP m= line");
}

TEST_CASE("SDP last line without a line ending fails at the end of input") {
  const std::string text = head + "a=sendonly";
  const auto err = parse_text(text);
  CHECK(err.code == errc::syntax);
  CHECK(err.offset == text.size());
  CHECK(err.reason == "SDP a= line");
}

TEST_CASE("SDP bare CR is not a line ending") {
  const std::string text = "v=0\ro=- 1 1 IN IP4 192.0.2.1\r\ns=-\r\nt=0 0\r\n";
  const auto err = parse_text(text);
  CHECK(err.code == errc::syntax);
  CHECK(err.offset == 4);
  CHECK(err.reason == "SDP v= line");
}

TEST_CASE("SDP o= line with a missing field fails at the line ending") {
  const std::string text = crlf("v=0\no=- 1 1 IN IP4\ns=-\nt=0 0\n");
  const auto err = parse_text(text);
  CHECK(err.code == errc::syntax);
  CHECK(err.offset == text.find("IP4") + 3);
  CHECK(err.reason == "SDP o= line");
}

TEST_CASE("SDP m= line without a fmt fails") {
  const std::string text = head + crlf("m=audio 1 RTP/AVP\n");
  const auto err = parse_text(text);
  CHECK(err.code == errc::syntax);
  CHECK(err.offset == text.size() - 2);
  CHECK(err.reason == "SDP m= line");
}

TEST_CASE("SDP m= port count of zero is a syntax error") {
  const std::string text = head + crlf("m=audio 1/0 RTP/AVP 0\n");
  const auto err = parse_text(text);
  CHECK(err.code == errc::syntax);
  CHECK(err.offset == text.find("/0") + 1);
  CHECK(err.reason == "SDP m= line");
}

TEST_CASE("SDP NUL byte inside a value is rejected") {
  const std::string text = head + std::string("a=tool:x\0y\r\n", 12);
  const auto err = parse_text(text);
  CHECK(err.code == errc::syntax);
  CHECK(err.offset == head.size() + 8);
  CHECK(err.reason == "SDP a= line");
}
