// Route sets (RFC 3261 §12.1.1, §12.1.2), how requests carry them (§12.2.1.1, loose and
// strict routing) and the first hop of a request (§8.1.2).
#include <catch2/catch.hpp>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "sipkit/dialog/dialog.hpp"
#include "sipkit/parser/message_view.hpp"
#include "support/sip_text.hpp"

using sipkit::dialog::dialog;
using sipkit::dialog::first_hop_uri;
using sipkit::parser::header_id;
using sipkit::parser::message;
using strings = std::vector<std::string>;

namespace {

using sipkit::test::parse;  // tests/support/sip_text.hpp

constexpr std::string_view alice_invite =
    "INVITE sip:bob@biloxi.com SIP/2.0\n"
    "Via: SIP/2.0/UDP pc33.atlanta.com;branch=z9hG4bK776asdhds\n"
    "Max-Forwards: 70\n"
    "To: Bob <sip:bob@biloxi.com>\n"
    "From: Alice <sip:alice@atlanta.com>;tag=1928301774\n"
    "Call-ID: a84b4c76e66710@pc33.atlanta.com\n"
    "CSeq: 314159 INVITE\n"
    "Contact: <sip:alice@pc33.atlanta.com>\n"
    "Content-Length: 0\n"
    "\n";

// A 200 OK at Alice with the given Record-Route lines (each ends in "\n").
message ok_with(std::string_view record_route_lines) {
  std::string text =
      "SIP/2.0 200 OK\n"
      "Via: SIP/2.0/UDP pc33.atlanta.com;branch=z9hG4bK776asdhds;received=192.0.2.1\n";
  text += record_route_lines;
  text +=
      "To: Bob <sip:bob@biloxi.com>;tag=a6c85cf\n"
      "From: Alice <sip:alice@atlanta.com>;tag=1928301774\n"
      "Call-ID: a84b4c76e66710@pc33.atlanta.com\n"
      "CSeq: 314159 INVITE\n"
      "Contact: <sip:bob@192.0.2.4>\n"
      "Content-Length: 0\n"
      "\n";
  return parse(text);
}

dialog uac_with(std::string_view record_route_lines) {
  auto d = dialog::create_uac(parse(alice_invite), ok_with(record_route_lines));
  REQUIRE(d);
  return *d;
}

// The INVITE at Bob with the given Record-Route lines, and Bob's dialog.
dialog uas_with(std::string_view record_route_lines) {
  std::string text =
      "INVITE sip:bob@192.0.2.4 SIP/2.0\n"
      "Via: SIP/2.0/UDP server10.biloxi.com;branch=z9hG4bK4b43c2ff8.1\n"
      "Via: SIP/2.0/UDP pc33.atlanta.com;branch=z9hG4bK776asdhds;received=192.0.2.1\n"
      "Max-Forwards: 69\n";
  text += record_route_lines;
  text +=
      "To: Bob <sip:bob@biloxi.com>\n"
      "From: Alice <sip:alice@atlanta.com>;tag=1928301774\n"
      "Call-ID: a84b4c76e66710@pc33.atlanta.com\n"
      "CSeq: 314159 INVITE\n"
      "Contact: <sip:alice@pc33.atlanta.com>\n"
      "Content-Length: 0\n"
      "\n";
  auto invite = parse(text);
  auto ok = sipkit::parser::make_response(invite, 200, {}, "a6c85cf");
  ok.add(header_id::contact, "<sip:bob@192.0.2.4>");
  auto d = dialog::create_uas(invite, ok);
  REQUIRE(d);
  return *d;
}

strings routes_of(const message& m) {
  strings out;
  for (const auto& f : m.fields())
    if (f.id == header_id::route) out.emplace_back(m.value_of(f));
  return out;
}

}  // namespace

// --- Building the route set ------------------------------------------------------------

TEST_CASE("UAC route set is the Record-Route of the response in reverse, over several headers") {
  auto d = uac_with(
      "Record-Route: <sip:p3.example.com;lr>\n"
      "Record-Route: <sip:p2.example.com;lr>\n"
      "Record-Route: <sip:p1.example.com;lr>\n");
  CHECK(d.route_set() ==
        strings{"<sip:p1.example.com;lr>", "<sip:p2.example.com;lr>", "<sip:p3.example.com;lr>"});
}

TEST_CASE("UAC route set reverses the values of a comma list inside one Record-Route") {
  auto d = uac_with(
      "Record-Route: <sip:p4.example.com;lr>\n"
      "Record-Route: <sip:p3.example.com;lr>, <sip:p2.example.com;lr>,<sip:p1.example.com;lr>\n");
  CHECK(d.route_set() == strings{"<sip:p1.example.com;lr>", "<sip:p2.example.com;lr>",
                                 "<sip:p3.example.com;lr>", "<sip:p4.example.com;lr>"});
}

TEST_CASE("UAC route set does not split at commas inside quoted display names") {
  auto d = uac_with(
      "Record-Route: \"Proxy, Two\" <sip:p2.example.com;lr>, \"Edge, \\\"One\\\"\" "
      "<sip:p1.example.com;lr>\n");
  CHECK(d.route_set() == strings{"\"Edge, \\\"One\\\"\" <sip:p1.example.com;lr>",
                                 "\"Proxy, Two\" <sip:p2.example.com;lr>"});
}

TEST_CASE("Route set values keep their URI and header parameters") {
  auto d = uac_with("Record-Route: <sip:p1.example.com;lr;transport=tcp>;ftag=1928301774\n");
  CHECK(d.route_set() == strings{"<sip:p1.example.com;lr;transport=tcp>;ftag=1928301774"});
}

TEST_CASE("UAS route set is the Record-Route of the request in order") {
  auto d = uas_with(
      "Record-Route: <sip:p1.example.com;lr>, <sip:p2.example.com;lr>\n"
      "Record-Route: <sip:p3.example.com;lr>\n");
  CHECK(d.route_set() ==
        strings{"<sip:p1.example.com;lr>", "<sip:p2.example.com;lr>", "<sip:p3.example.com;lr>"});
}

// --- Loose routing ---------------------------------------------------------------------

TEST_CASE("make_request writes one Route header per route, in route set order") {
  auto d = uac_with(
      "Record-Route: <sip:p3.example.com;lr>, <sip:p2.example.com;lr>\n"
      "Record-Route: <sip:p1.example.com;lr>\n");
  CHECK(routes_of(d.make_request("BYE")) ==
        strings{"<sip:p1.example.com;lr>", "<sip:p2.example.com;lr>", "<sip:p3.example.com;lr>"});
}

TEST_CASE("UAS requests carry the Route headers in the order of the request's Record-Route") {
  auto d = uas_with("Record-Route: <sip:p1.example.com;lr>, <sip:p2.example.com;lr>\n");
  CHECK(routes_of(d.make_request("BYE")) ==
        strings{"<sip:p1.example.com;lr>", "<sip:p2.example.com;lr>"});
}

TEST_CASE("Loose routing keeps the remote target as the Request-URI") {
  auto d = uac_with("Record-Route: <sip:p2.example.com;lr>, <sip:p1.example.com;lr>\n");
  auto bye = d.make_request("BYE");
  CHECK(bye.request_uri() == "sip:bob@192.0.2.4");
  CHECK(bye.request_uri() == d.remote_target());
}

TEST_CASE("Without a route set a request has no Route header") {
  auto d = uac_with("");
  auto bye = d.make_request("BYE");
  CHECK(bye.count(header_id::route) == 0);
  CHECK(bye.request_uri() == "sip:bob@192.0.2.4");
}

// --- Strict routing (§12.2.1.1) --------------------------------------------------------

TEST_CASE("Strict first route: its URI is the Request-URI, the rest and the remote target follow") {
  auto d = uac_with(
      "Record-Route: <sip:p3.example.com;lr>, <sip:p2.example.com;lr>\n"
      "Record-Route: <sip:p1.example.com>\n");
  auto bye = d.make_request("BYE");
  CHECK(bye.request_uri() == "sip:p1.example.com");
  CHECK(routes_of(bye) ==
        strings{"<sip:p2.example.com;lr>", "<sip:p3.example.com;lr>", "<sip:bob@192.0.2.4>"});
}

TEST_CASE("Strict routing request serializes exactly") {
  auto d = uac_with("Record-Route: <sip:p1.example.com>\n");
  CHECK(d.make_request("BYE").serialize() ==
        "BYE sip:p1.example.com SIP/2.0\r\n"
        "Route: <sip:bob@192.0.2.4>\r\n"
        "Max-Forwards: 70\r\n"
        "From: Alice <sip:alice@atlanta.com>;tag=1928301774\r\n"
        "To: Bob <sip:bob@biloxi.com>;tag=a6c85cf\r\n"
        "Call-ID: a84b4c76e66710@pc33.atlanta.com\r\n"
        "CSeq: 314160 BYE\r\n"
        "Content-Length: 0\r\n"
        "\r\n");
}

TEST_CASE("Strict routing keeps the route set itself unchanged") {
  auto d = uac_with("Record-Route: <sip:p2.example.com;lr>, <sip:p1.example.com>\n");
  d.make_request("BYE");
  CHECK(d.route_set() == strings{"<sip:p1.example.com>", "<sip:p2.example.com;lr>"});
}

TEST_CASE("Strict routing strips the method parameter and headers from the Request-URI") {
  auto d =
      uac_with("Record-Route: <sip:p1.example.com;transport=tcp;method=INVITE?X-Hdr=1>;ftag=x\n");
  auto bye = d.make_request("BYE");
  CHECK(bye.request_uri() == "sip:p1.example.com;transport=tcp");
  CHECK(routes_of(bye) == strings{"<sip:bob@192.0.2.4>"});
}

TEST_CASE("Strict routing strips URI headers from a route URI without parameters") {
  auto d = uac_with("Record-Route: <sip:p1.example.com?X-Hdr=1>\n");
  CHECK(d.make_request("BYE").request_uri() == "sip:p1.example.com");
}

TEST_CASE("Strict routing keeps maddr, transport and other parameters in the Request-URI") {
  auto d = uac_with("Record-Route: <sip:p1.example.com;maddr=192.0.2.9;transport=udp;foo>\n");
  CHECK(d.make_request("BYE").request_uri() ==
        "sip:p1.example.com;maddr=192.0.2.9;transport=udp;foo");
}

TEST_CASE("A later strict route does not trigger the fix-up") {
  auto d = uac_with("Record-Route: <sip:p2.example.com>, <sip:p1.example.com;lr>\n");
  auto bye = d.make_request("BYE");
  CHECK(bye.request_uri() == "sip:bob@192.0.2.4");
  CHECK(routes_of(bye) == strings{"<sip:p1.example.com;lr>", "<sip:p2.example.com>"});
}

TEST_CASE("UAS with a strict first route applies the same fix-up") {
  auto d = uas_with("Record-Route: <sip:p1.example.com>, <sip:p2.example.com;lr>\n");
  auto bye = d.make_request("BYE");
  CHECK(bye.request_uri() == "sip:p1.example.com");
  CHECK(routes_of(bye) == strings{"<sip:p2.example.com;lr>", "<sip:alice@pc33.atlanta.com>"});
}

TEST_CASE("ACK for a 2xx follows the strict routing fix-up too") {
  auto d = uac_with("Record-Route: <sip:p2.example.com;lr>, <sip:p1.example.com>\n");
  auto ack = d.make_ack(314159);
  CHECK(ack.request_uri() == "sip:p1.example.com");
  CHECK(routes_of(ack) == strings{"<sip:p2.example.com;lr>", "<sip:bob@192.0.2.4>"});
}

// --- First hop (§8.1.2) ----------------------------------------------------------------

TEST_CASE("first_hop_uri is the top Route's URI with a loose route set") {
  auto d =
      uac_with("Record-Route: <sip:p2.example.com;lr>, <sip:p1.example.com;lr;transport=tcp>\n");
  CHECK(first_hop_uri(d.make_request("BYE")) == "sip:p1.example.com;lr;transport=tcp");
}

TEST_CASE("first_hop_uri is the Request-URI without Route") {
  auto d = uac_with("");
  CHECK(first_hop_uri(d.make_request("BYE")) == "sip:bob@192.0.2.4");
}

TEST_CASE("first_hop_uri takes the first value of a Route comma list") {
  auto req = message::request("OPTIONS", "sip:bob@biloxi.com");
  req.add(header_id::route, "\"Out, bound\" <sip:out.example.com;lr>, <sip:p2.example.com;lr>");
  req.add(header_id::route, "<sip:p3.example.com;lr>");
  CHECK(first_hop_uri(req) == "sip:out.example.com;lr");
}

TEST_CASE("first_hop_uri is empty when the top Route does not parse") {
  auto req = message::request("OPTIONS", "sip:bob@biloxi.com");
  req.add(header_id::route, "<not a uri");
  CHECK(first_hop_uri(req).empty());
}

TEST_CASE("next_hop_uri is the remote target without a route set") {
  CHECK(uac_with("").next_hop_uri() == "sip:bob@192.0.2.4");
}

TEST_CASE("next_hop_uri is the first route's URI with a loose first route") {
  auto d = uac_with("Record-Route: <sip:p2.example.com;lr>, <sip:p1.example.com;lr>\n");
  CHECK(d.next_hop_uri() == "sip:p1.example.com;lr");
}

TEST_CASE("next_hop_uri is the strict first route's URI, which is also the Request-URI") {
  auto d = uac_with(
      "Record-Route: <sip:p3.example.com;lr>, <sip:p2.example.com;lr>\n"
      "Record-Route: <sip:p1.example.com>\n");
  CHECK(d.next_hop_uri() == "sip:p1.example.com");
  CHECK(first_hop_uri(d.make_request("BYE")) != d.next_hop_uri());  // why next_hop_uri exists
}
