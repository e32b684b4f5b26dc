// Requests inside a dialog (RFC 3261 §12.2.1.1) and the ACK for a 2xx (§13.2.2.4): the
// exact bytes they serialize to and the local sequence number.
#include <catch2/catch.hpp>
#include <memory>
#include <string>
#include <string_view>

#include "sipkit/dialog/dialog.hpp"
#include "sipkit/parser/message_view.hpp"
#include "support/sip_text.hpp"

using sipkit::dialog::dialog;
using sipkit::parser::header_id;
using sipkit::parser::message;

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

// Bob's 200 OK as Alice receives it, through two Record-Routing proxies.
constexpr std::string_view ok_at_alice =
    "SIP/2.0 200 OK\n"
    "Via: SIP/2.0/UDP pc33.atlanta.com;branch=z9hG4bK776asdhds;received=192.0.2.1\n"
    "Record-Route: <sip:server10.biloxi.com;lr>\n"
    "Record-Route: <sip:bigbox3.site3.atlanta.com;lr>\n"
    "To: Bob <sip:bob@biloxi.com>;tag=a6c85cf\n"
    "From: Alice <sip:alice@atlanta.com>;tag=1928301774\n"
    "Call-ID: a84b4c76e66710@pc33.atlanta.com\n"
    "CSeq: 314159 INVITE\n"
    "Contact: <sip:bob@192.0.2.4>\n"
    "Content-Length: 0\n"
    "\n";

dialog alice_dialog() {
  auto d = dialog::create_uac(parse(alice_invite), parse(ok_at_alice));
  REQUIRE(d);
  return *d;
}

dialog bob_dialog() {
  auto invite = parse(alice_invite);
  auto ok = sipkit::parser::make_response(invite, 200, {}, "a6c85cf");
  ok.add(header_id::contact, "<sip:bob@192.0.2.4>");
  auto d = dialog::create_uas(invite, ok);
  REQUIRE(d);
  return *d;
}

}  // namespace

TEST_CASE("BYE in a UAC dialog serializes to the exact §12.2.1.1 request") {
  auto d = alice_dialog();
  CHECK(d.make_request("BYE").serialize() ==
        "BYE sip:bob@192.0.2.4 SIP/2.0\r\n"
        "Route: <sip:bigbox3.site3.atlanta.com;lr>\r\n"
        "Route: <sip:server10.biloxi.com;lr>\r\n"
        "Max-Forwards: 70\r\n"
        "From: Alice <sip:alice@atlanta.com>;tag=1928301774\r\n"
        "To: Bob <sip:bob@biloxi.com>;tag=a6c85cf\r\n"
        "Call-ID: a84b4c76e66710@pc33.atlanta.com\r\n"
        "CSeq: 314160 BYE\r\n"
        "Content-Length: 0\r\n"
        "\r\n");
}

TEST_CASE("re-INVITE in a UAC dialog carries our Contact and serializes exactly") {
  auto d = alice_dialog();
  CHECK(d.make_request("INVITE").serialize() ==
        "INVITE sip:bob@192.0.2.4 SIP/2.0\r\n"
        "Route: <sip:bigbox3.site3.atlanta.com;lr>\r\n"
        "Route: <sip:server10.biloxi.com;lr>\r\n"
        "Max-Forwards: 70\r\n"
        "From: Alice <sip:alice@atlanta.com>;tag=1928301774\r\n"
        "To: Bob <sip:bob@biloxi.com>;tag=a6c85cf\r\n"
        "Call-ID: a84b4c76e66710@pc33.atlanta.com\r\n"
        "CSeq: 314160 INVITE\r\n"
        "Contact: <sip:alice@pc33.atlanta.com>\r\n"
        "Content-Length: 0\r\n"
        "\r\n");
}

TEST_CASE("BYE in a UAS dialog goes to the caller's Contact with CSeq 1 and swapped From/To") {
  auto d = bob_dialog();
  CHECK(d.make_request("BYE").serialize() ==
        "BYE sip:alice@pc33.atlanta.com SIP/2.0\r\n"
        "Max-Forwards: 70\r\n"
        "From: Bob <sip:bob@biloxi.com>;tag=a6c85cf\r\n"
        "To: Alice <sip:alice@atlanta.com>;tag=1928301774\r\n"
        "Call-ID: a84b4c76e66710@pc33.atlanta.com\r\n"
        "CSeq: 1 BYE\r\n"
        "Content-Length: 0\r\n"
        "\r\n");
}

TEST_CASE("Only target refresh requests carry our Contact") {
  auto d = alice_dialog();
  CHECK(d.make_request("INVITE").get(header_id::contact) == "<sip:alice@pc33.atlanta.com>");
  CHECK(d.make_request("UPDATE").get(header_id::contact) == "<sip:alice@pc33.atlanta.com>");
  CHECK(d.make_request("NOTIFY").get(header_id::contact) == "<sip:alice@pc33.atlanta.com>");
  CHECK(d.make_request("SUBSCRIBE").get(header_id::contact) == "<sip:alice@pc33.atlanta.com>");
  CHECK(d.make_request("REFER").get(header_id::contact) == "<sip:alice@pc33.atlanta.com>");
  CHECK_FALSE(d.make_request("BYE").get(header_id::contact));
  CHECK_FALSE(d.make_request("INFO").get(header_id::contact));
  CHECK_FALSE(d.make_request("MESSAGE").get(header_id::contact));
  CHECK_FALSE(d.make_request("PRACK").get(header_id::contact));
}

TEST_CASE("make_request increments the CSeq number by one per request") {
  auto d = alice_dialog();
  CHECK(d.make_request("INFO").get(header_id::cseq) == "314160 INFO");
  CHECK(d.local_cseq() == 314160);
  CHECK(d.make_request("INVITE").get(header_id::cseq) == "314161 INVITE");
  CHECK(d.local_cseq() == 314161);
  CHECK(d.make_request("BYE").get(header_id::cseq) == "314162 BYE");
  CHECK(d.local_cseq() == 314162);
}

TEST_CASE("make_request copies From, To and Call-ID and adds no Via") {
  auto d = alice_dialog();
  auto req = d.make_request("OPTIONS");
  CHECK(req.get(header_id::from) == d.local_uri());
  CHECK(req.get(header_id::to) == d.remote_uri());
  CHECK(req.call_id() == "a84b4c76e66710@pc33.atlanta.com");
  CHECK(req.get(header_id::max_forwards) == "70");
  CHECK(req.count(header_id::via) == 0);
}

TEST_CASE("make_request keeps an extension method name verbatim") {
  auto d = bob_dialog();
  auto req = d.make_request("FOO");
  CHECK(req.method_text() == "FOO");
  CHECK(req.get(header_id::cseq) == "1 FOO");
  CHECK_FALSE(req.get(header_id::contact));
}

TEST_CASE("ACK for a 2xx serializes exactly, with the INVITE's CSeq number") {
  auto d = alice_dialog();
  CHECK(d.make_ack(314159).serialize() ==
        "ACK sip:bob@192.0.2.4 SIP/2.0\r\n"
        "Route: <sip:bigbox3.site3.atlanta.com;lr>\r\n"
        "Route: <sip:server10.biloxi.com;lr>\r\n"
        "Max-Forwards: 70\r\n"
        "From: Alice <sip:alice@atlanta.com>;tag=1928301774\r\n"
        "To: Bob <sip:bob@biloxi.com>;tag=a6c85cf\r\n"
        "Call-ID: a84b4c76e66710@pc33.atlanta.com\r\n"
        "CSeq: 314159 ACK\r\n"
        "Content-Length: 0\r\n"
        "\r\n");
}

TEST_CASE("make_ack does not change the local sequence number") {
  auto d = alice_dialog();
  d.make_request("INVITE");
  REQUIRE(d.local_cseq() == 314160);
  CHECK(d.make_ack(314160).get(header_id::cseq) == "314160 ACK");
  CHECK(d.local_cseq() == 314160);
  CHECK(d.make_request("BYE").get(header_id::cseq) == "314161 BYE");
}
