// RFC 3261 §18.2.1 / RFC 3581 §4 top-Via fix-ups and the 400 for malformed requests,
// tested without sockets.
#include "transport/support.hpp"

using namespace sipkit::transport;
using namespace sipkit::transport::test;
namespace parser = sipkit::parser;

namespace {

// The view points into `value`: callers keep the string alive.
parser::via_view via_of(const std::string& value) {
  parser::via_view v;
  REQUIRE(!parser::parse_via(value, v));
  return v;
}

endpoint ep(const char* addr, std::uint16_t port) { return {*parse_ip(addr), port}; }

}  // namespace

TEST_CASE("received is added when sent-by differs from the source address") {
  std::string received;
  std::optional<std::uint16_t> rport;
  const std::string value = "SIP/2.0/UDP bob.example.com:5060;branch=z9hG4bK1";
  compute_via_fixups(via_of(value), ep("192.0.2.4", 5060), received, rport);
  CHECK(received == "192.0.2.4");
  CHECK(!rport);
}

TEST_CASE("received is not added when sent-by is the source address") {
  std::string received;
  std::optional<std::uint16_t> rport;
  const std::string value = "SIP/2.0/UDP 192.0.2.4:5070;branch=z9hG4bK1";
  compute_via_fixups(via_of(value), ep("192.0.2.4", 6000), received, rport);
  CHECK(received.empty());
  CHECK(!rport);
}

TEST_CASE("empty rport is filled and received always added (RFC 3581 section 4)") {
  std::string received;
  std::optional<std::uint16_t> rport;
  const std::string value = "SIP/2.0/UDP 192.0.2.4:5070;rport;branch=z9hG4bK1";
  const auto v = via_of(value);
  compute_via_fixups(v, ep("192.0.2.4", 6000), received, rport);
  CHECK(received == "192.0.2.4");
  REQUIRE(rport == 6000);
  CHECK(fixed_via_parm(v, received, rport) ==
        "SIP/2.0/UDP 192.0.2.4:5070;rport=6000;branch=z9hG4bK1;received=192.0.2.4");
}

TEST_CASE("IPv6 sent-by compares as an address and received has no brackets") {
  std::string received;
  std::optional<std::uint16_t> rport;
  const std::string value = "SIP/2.0/TCP [2001:db8::1]:5060;branch=z9hG4bK1";
  compute_via_fixups(via_of(value), ep("2001:db8::1", 1), received, rport);
  CHECK(received.empty());
  compute_via_fixups(via_of(value), ep("2001:db8::2", 1), received, rport);
  CHECK(received == "2001:db8::2");
}

TEST_CASE("an existing received parameter is replaced in place") {
  const std::string value = "SIP/2.0/UDP h.example.com;received=10.0.0.1;branch=z9hG4bK1";
  const auto v = via_of(value);
  CHECK(fixed_via_parm(v, "192.0.2.9", std::nullopt) ==
        "SIP/2.0/UDP h.example.com;received=192.0.2.9;branch=z9hG4bK1");
}

TEST_CASE("to_message writes the fix-ups into the top via-parm only") {
  static parser::message_view view;
  const std::string bytes =
      "OPTIONS sip:b@example.com SIP/2.0\r\n"
      "Via: SIP/2.0/UDP a.example.com;rport;branch=z9hG4bK1, SIP/2.0/UDP c.example.com;branch=z9hG4bK2\r\n"
      "Via: SIP/2.0/UDP d.example.com;branch=z9hG4bK3\r\n"
      "From: <sip:a@example.com>;tag=1\r\nTo: <sip:b@example.com>\r\nCall-ID: x\r\n"
      "CSeq: 1 OPTIONS\r\nContent-Length: 0\r\n\r\n";
  REQUIRE(!parser::parse_message(bytes, view));
  incoming_message in;
  in.view = &view;
  compute_via_fixups(*view.top_via(), ep("192.0.2.7", 7777), in.received, in.rport);
  auto m = in.to_message();
  CHECK(m.get(parser::header_id::via) ==
        "SIP/2.0/UDP a.example.com;rport=7777;branch=z9hG4bK1;received=192.0.2.7, "
        "SIP/2.0/UDP c.example.com;branch=z9hG4bK2");
  CHECK(m.count(parser::header_id::via) == 2);
  CHECK(m.serialize().find("Via: SIP/2.0/UDP d.example.com;branch=z9hG4bK3\r\n") != std::string::npos);
}

TEST_CASE("400 for a malformed request copies the dialog headers and adds a To tag") {
  const std::string bad =
      "INVITE sip:b@example.com SIP/2.0\r\n"
      "Via: SIP/2.0/UDP 192.0.2.1:5060;branch=z9hG4bKx\r\n"
      "From: <sip:a@example.com>;tag=1\r\n"
      "To: <sip:b@example.com>\r\n"
      "Call-ID: abc\r\n"
      "CSeq: 1 INVITE\r\n"
      "Max-Forwards: \x01\r\n\r\n";
  auto r = make_bad_request_response(bad, "syntax error in Max-Forwards header at offset 200",
                                     ep("192.0.2.1", 5060));
  REQUIRE(r);
  CHECK(r->rfind("SIP/2.0 400 Bad Request (syntax error in Max-Forwards header at offset 200)\r\n"
                 "Via: SIP/2.0/UDP 192.0.2.1:5060;branch=z9hG4bKx\r\n"
                 "From: <sip:a@example.com>;tag=1\r\n"
                 "To: <sip:b@example.com>;tag=sk",
                 0) == 0);
  CHECK(r->find("Call-ID: abc\r\nCSeq: 1 INVITE\r\nContent-Length: 0\r\n\r\n") != std::string::npos);
  static parser::message_view view;
  CHECK(!parser::parse_message(*r, view));
}

TEST_CASE("no 400 without a readable start line and Via, and never for ACK") {
  const auto src = ep("192.0.2.1", 5060);
  CHECK(!make_bad_request_response("garbage", "x", src));
  CHECK(!make_bad_request_response("INVITE sip:b SIP/2.0\r\nFrom: x\r\n\r\n", "x", src));
  CHECK(!make_bad_request_response("INVITE sip:b SIP/2.0\r\nVia: nonsense\r\n\r\n", "x", src));
  CHECK(!make_bad_request_response(
      "ACK sip:b SIP/2.0\r\nVia: SIP/2.0/UDP 192.0.2.1;branch=z9hG4bKx\r\nCSeq: x\r\n\r\n", "x", src));
  CHECK(!make_bad_request_response("SIP/2.0 200 OK\r\nVia: SIP/2.0/UDP h;branch=z9hG4bKx\r\n\r\n",
                                   "x", src));
}

TEST_CASE("400 never copies control characters into the response") {
  const std::string bad =
      "BYE sip:b@example.com SIP/2.0\r\n"
      "Via: SIP/2.0/UDP 192.0.2.1:5060;branch=z9hG4bKx\r\n"
      "Call-ID: ab\x07" "c\r\n\r\n";
  auto r = make_bad_request_response(bad, "bad\r\nInjected: yes", ep("192.0.2.1", 5060));
  REQUIRE(r);
  INFO(*r);
  CHECK(r->find("Call-ID") == std::string::npos);
  CHECK(r->find("\r\nInjected") == std::string::npos);
}
