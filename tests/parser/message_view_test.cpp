#include <catch2/catch.hpp>
#include <memory>
#include <string>
#include <vector>

#include "sipkit/parser/message_view.hpp"

using namespace sipkit::parser;

namespace {

const std::string k_invite =
    "INVITE sip:bob@biloxi.example.com SIP/2.0\r\n"
    "Via: SIP/2.0/UDP pc33.atlanta.example.com:5060;branch=z9hG4bK776asdhds;rport\r\n"
    "Max-Forwards: 70\r\n"
    "To: Bob <sip:bob@biloxi.example.com>\r\n"
    "From: Alice <sip:alice@atlanta.example.com>;tag=1928301774\r\n"
    "Call-ID: a84b4c76e66710@pc33.atlanta.example.com\r\n"
    "CSeq: 314159 INVITE\r\n"
    "Contact: <sip:alice@pc33.atlanta.example.com>\r\n"
    "Route: <sip:p1.example.com;lr>, <sip:p2.example.com;lr>\r\n"
    "Supported: replaces, timer\r\n"
    "Allow: INVITE, ACK, CANCEL, BYE\r\n"
    "Expires: 120\r\n"
    "Content-Type: application/sdp\r\n"
    "Content-Length: 4\r\n"
    "\r\n"
    "v=0\n";

struct fixture {
  std::unique_ptr<message_view> view = std::make_unique<message_view>();
  parse_error parse(std::string_view text, const parser_limits& limits = {},
                    framing mode = framing::datagram) {
    return parse_message(text, *view, limits, mode);
  }
};

}  // namespace

TEST_CASE("message view: a typical INVITE gives every transaction field", "[message_view]") {
  fixture f;
  REQUIRE_FALSE(f.parse(k_invite));
  const auto& m = *f.view;
  CHECK(m.is_request());
  CHECK(m.method() == method::invite);
  CHECK(m.request_uri().user == "bob");
  CHECK(m.sip_version() == "SIP/2.0");
  CHECK(m.top_via()->branch == "z9hG4bK776asdhds");
  CHECK(m.top_via()->port == 5060);
  CHECK(m.top_via()->has_rport);
  CHECK(m.top_via()->has_rfc3261_branch());
  CHECK(m.from()->display_name == "Alice");
  CHECK(m.from()->tag == "1928301774");
  CHECK(m.to()->tag.empty());
  CHECK(m.call_id() == "a84b4c76e66710@pc33.atlanta.example.com");
  CHECK(m.cseq()->number == 314159);
  CHECK(m.cseq()->method == method::invite);
  CHECK(m.max_forwards() == 70u);
  CHECK(m.expires() == 120u);
  CHECK(m.content_length() == 4u);
  CHECK(m.body() == "v=0\n");
  CHECK(m.bytes().size() == k_invite.size());
  CHECK(m.list_contains(header_id::supported, "TIMER"));
  CHECK(m.list_contains(header_id::allow, "BYE"));
  std::vector<std::string_view> routes;
  for (const auto& a : m.addresses())
    if (a.header == header_id::route) routes.push_back(a.uri.host);
  CHECK(routes == std::vector<std::string_view>{"p1.example.com", "p2.example.com"});
}

TEST_CASE("message view: every compact header form is recognised", "[message_view]") {
  const std::string msg =
      "MESSAGE sip:b@example.com SIP/2.0\r\n"
      "v: SIP/2.0/TCP h.example.com;branch=z9hG4bK1\r\n"
      "f: <sip:a@example.com>;tag=1\r\n"
      "t: <sip:b@example.com>\r\n"
      "i: cid\r\n"
      "CSeq: 1 MESSAGE\r\n"
      "m: <sip:a@h.example.com>\r\n"
      "e: gzip\r\n"
      "s: hello\r\n"
      "k: path\r\n"
      "o: presence\r\n"
      "u: refer\r\n"
      "r: <sip:c@example.com>\r\n"
      "b: <sip:d@example.com>\r\n"
      "x: 1800\r\n"
      "y: abc\r\n"
      "c: text/plain\r\n"
      "l: 2\r\n"
      "\r\nhi";
  fixture f;
  REQUIRE_FALSE(f.parse(msg));
  std::vector<header_id> ids;
  for (const auto& h : f.view->headers()) ids.push_back(h.id);
  CHECK(ids == std::vector<header_id>{
                   header_id::via, header_id::from, header_id::to, header_id::call_id,
                   header_id::cseq, header_id::contact, header_id::content_encoding,
                   header_id::subject, header_id::supported, header_id::event,
                   header_id::allow_events, header_id::refer_to, header_id::referred_by,
                   header_id::session_expires, header_id::identity, header_id::content_type,
                   header_id::content_length});
  CHECK(f.view->find("Session-Expires")->value == "1800");
  CHECK(f.view->find(header_id::subject)->name == "s");
  CHECK(f.view->body() == "hi");
}

TEST_CASE("message view: header names are case-insensitive", "[message_view]") {
  const std::string msg =
      "OPTIONS sip:x@example.com SIP/2.0\r\nvIA: SIP/2.0/UDP h;branch=z9hG4bKx\r\n"
      "CALL-id: abc\r\ncseq: 2 OPTIONS\r\nx-Custom: 1\r\n\r\n";
  fixture f;
  REQUIRE_FALSE(f.parse(msg));
  CHECK(f.view->call_id() == "abc");
  CHECK(f.view->find("X-CUSTOM")->value == "1");
  CHECK(f.view->top_via()->host == "h");
}

TEST_CASE("message view: a response gives status code and reason", "[message_view]") {
  const std::string msg =
      "SIP/2.0 180 Ringing\r\nVia: SIP/2.0/UDP h;branch=z9hG4bK1\r\n"
      "To: <sip:b@example.com>;tag=xyz\r\nContent-Length: 0\r\n\r\n";
  fixture f;
  REQUIRE_FALSE(f.parse(msg));
  CHECK(f.view->is_response());
  CHECK(f.view->status_code() == 180);
  CHECK(f.view->reason_phrase() == "Ringing");
  CHECK(f.view->to()->tag == "xyz");
}

TEST_CASE("message view: Digest credentials are split into their parameters", "[message_view]") {
  const std::string msg =
      "REGISTER sip:example.com SIP/2.0\r\n"
      "Authorization: Digest username=\"bob\", realm=\"example.com\", nonce=\"abc\",\r\n"
      " uri=\"sip:example.com\", response=\"0123\", algorithm=SHA-256, qop=auth,\r\n"
      " nc=00000001, cnonce=\"xyz\", opaque=\"op\"\r\n"
      "WWW-Authenticate: Digest realm=\"r\", nonce=\"n\", stale=true, qop=\"auth,auth-int\"\r\n"
      "\r\n";
  fixture f;
  REQUIRE_FALSE(f.parse(msg));
  REQUIRE(f.view->auths().size() == 2);
  const auto& a = f.view->auths()[0];
  CHECK(a.scheme == "Digest");
  CHECK(a.username == "\"bob\"");
  CHECK(a.realm == "\"example.com\"");
  CHECK(a.uri == "\"sip:example.com\"");
  CHECK(a.algorithm == "SHA-256");
  CHECK(a.qop == "auth");
  CHECK(a.nc == "00000001");
  CHECK(a.cnonce == "\"xyz\"");
  CHECK(a.opaque == "\"op\"");
  const auto& c = f.view->auths()[1];
  CHECK(c.header == header_id::www_authenticate);
  CHECK(c.stale == "true");
  CHECK(c.qop == "\"auth,auth-int\"");
  std::string scratch;
  CHECK(unquote(a.username, scratch) == "bob");
}

TEST_CASE("message view: Contact star and expires/q parameters", "[message_view]") {
  fixture f;
  REQUIRE_FALSE(f.parse("REGISTER sip:r SIP/2.0\r\nContact: *\r\nExpires: 0\r\n\r\n"));
  CHECK(f.view->contact()->star);
  REQUIRE_FALSE(f.parse(
      "REGISTER sip:r SIP/2.0\r\nContact: <sip:a@h>;expires=60;q=0.5, \"X\" <sip:b@h>\r\n\r\n"));
  CHECK_FALSE(f.view->contact()->star);
  CHECK(f.view->contact()->expires == "60");
  CHECK(f.view->contact()->q == "0.5");
  CHECK(f.view->addresses()[1].display_name == "\"X\"");
}

TEST_CASE("message view: errors name the element and the byte offset", "[message_view]") {
  fixture f;
  auto e = f.parse("INVITE sip:a@b SIP/2.0\r\nCSeq: x INVITE\r\n\r\n");
  CHECK(e.code == errc::syntax);
  CHECK(e.offset == 30);
  CHECK(std::string_view(e.reason) == "CSeq header");
  CHECK(e.message() == "syntax error in CSeq header at offset 30");

  e = f.parse("INVITE sip:a@b SIP/2.0\r\nBad Name: x\r\n\r\n");
  CHECK(std::string_view(e.reason) == "header name");
  CHECK(e.offset == 28);

  e = f.parse("INVITE sip:a@b SIP/2.0\r\nTo: <sip:a@b>\r\n");
  CHECK(e.code == errc::syntax);
  CHECK(e.offset == 39);
}

TEST_CASE("message view: Max-Forwards above 255 is out of range", "[message_view]") {
  fixture f;
  auto e = f.parse("OPTIONS sip:a@b SIP/2.0\r\nMax-Forwards: 256\r\n\r\n");
  CHECK(e.code == errc::value_out_of_range);
  CHECK(e.offset == 39);
}

// Found by fuzz_message: a URI after the Via used to clear the Via's overflow flag.
TEST_CASE("message view: a Via port above 65535 is out of range even when URIs follow",
          "[message_view]") {
  fixture f;
  const std::string text =
      "OPTIONS sip:a@b SIP/2.0\r\nVia: SIP/2.0/UDP h:2983792873;branch=z9hG4bKx\r\n"
      "From: <sip:c@d>;tag=1\r\nTo: <sip:a@b>\r\nCall-ID: x\r\nCSeq: 1 OPTIONS\r\n\r\n";
  auto e = f.parse(text);
  CHECK(e.code == errc::value_out_of_range);
  CHECK(e.offset == text.find("2983792873"));
}

// Found by fuzz_message: status 000 used to make the message look like a request.
TEST_CASE("message view: status codes below 100 are out of range", "[message_view]") {
  fixture f;
  for (const char* code : {"000", "099"}) {
    const std::string text = std::string("SIP/2.0 ") + code +
                             " X\r\nVia: SIP/2.0/UDP h;branch=z9hG4bKx\r\n\r\n";
    auto e = f.parse(text);
    CHECK(e.code == errc::value_out_of_range);
    CHECK(e.offset == 8);
  }
}

// Found by fuzz_message: the display name of the previous address leaked into the next.
TEST_CASE("message view: an address without a display name has none after one that has",
          "[message_view]") {
  fixture f;
  REQUIRE_FALSE(f.parse("OPTIONS sip:a@b SIP/2.0\r\nVia: SIP/2.0/UDP h;branch=z9hG4bKx\r\n"
                        "From: A. Bell <sip:c@d>;tag=1\r\nTo: <sip:a@b>\r\n"
                        "Contact: \"X\" <sip:x@y>, <sip:z@w>\r\nCall-ID: x\r\n"
                        "CSeq: 1 OPTIONS\r\n\r\n"));
  CHECK(f.view->from()->display_name == "A. Bell");
  CHECK(f.view->to()->display_name.empty());
  std::vector<name_addr_view> contacts;
  for (const auto& a : f.view->addresses())
    if (a.header == header_id::contact) contacts.push_back(a);
  REQUIRE(contacts.size() == 2);
  CHECK(contacts[0].display_name == "\"X\"");
  CHECK(contacts[1].display_name.empty());
}

TEST_CASE("message view: a password of digits is no port overflow", "[message_view]") {
  fixture f;
  CHECK_FALSE(f.parse("OPTIONS sip:a:123456789@b SIP/2.0\r\nVia: SIP/2.0/UDP h;branch=z9hG4bKx\r\n"
                      "From: <sip:c@d>;tag=1\r\nTo: <sip:a@b>\r\nCall-ID: x\r\n"
                      "CSeq: 1 OPTIONS\r\n\r\n"));
}

TEST_CASE("message view: limits on size, headers and lines are enforced", "[message_view]") {
  fixture f;
  parser_limits limits;
  limits.max_message_size = 40;
  CHECK(f.parse(k_invite, limits).code == errc::message_too_large);

  limits = {};
  limits.max_headers = 3;
  auto e = f.parse(k_invite, limits);
  CHECK(e.code == errc::too_many_headers);
  CHECK(e.offset == k_invite.find("From:"));

  limits = {};
  limits.max_line_length = 20;
  e = f.parse(k_invite, limits);
  CHECK(e.code == errc::line_too_long);
  CHECK(e.offset == k_invite.find("Via:"));

  limits = {};
  limits.max_body_size = 3;
  CHECK(f.parse(k_invite, limits).code == errc::body_too_large);
}

TEST_CASE("message view: more than 64 headers is an error, not an overflow", "[message_view]") {
  std::string msg = "OPTIONS sip:a@b SIP/2.0\r\n";
  for (int i = 0; i < 70; ++i) msg += "X-H" + std::to_string(i) + ": v\r\n";
  msg += "\r\n";
  fixture f;
  parser_limits limits;
  limits.max_headers = 1000;  // clamped to the inline capacity
  CHECK(f.parse(msg, limits).code == errc::too_many_headers);
}

TEST_CASE("message view: streams require Content-Length", "[message_view]") {
  fixture f;
  const std::string msg = "OPTIONS sip:a@b SIP/2.0\r\nCall-ID: x\r\n\r\n";
  CHECK_FALSE(f.parse(msg));
  CHECK(f.parse(msg, {}, framing::stream).code == errc::missing_content_length);
}

TEST_CASE("message view: a datagram without Content-Length takes the rest as body", "[message_view]") {
  fixture f;
  REQUIRE_FALSE(f.parse("MESSAGE sip:a@b SIP/2.0\r\nCall-ID: x\r\n\r\nhello"));
  CHECK(f.view->body() == "hello");
}

TEST_CASE("message view: a missing blank line is an error at the end", "[message_view]") {
  fixture f;
  const std::string msg = "OPTIONS sip:a@b SIP/2.0\r\nCall-ID: x\r\n";
  auto e = f.parse(msg);
  CHECK(e.code == errc::syntax);
  CHECK(e.offset == msg.size());
}

TEST_CASE("header value parsers work on stand-alone values", "[message_view]") {
  via_view v;
  REQUIRE_FALSE(parse_via("SIP/2.0/TLS [2001:db8::1]:5061;branch=z9hG4bKabc;received=192.0.2.1", v));
  CHECK(v.transport == "TLS");
  CHECK(v.host == "[2001:db8::1]");
  CHECK(v.host_type == host_kind::ipv6);
  CHECK(v.port == 5061);
  CHECK(v.branch == "z9hG4bKabc");
  CHECK(v.received == "192.0.2.1");

  name_addr_view a;
  REQUIRE_FALSE(parse_name_addr("\"Bob B\" <sips:bob@example.com>;tag=a6c85cf", a));
  CHECK(a.display_name == "\"Bob B\"");
  CHECK(a.uri.scheme == uri_scheme::sips);
  CHECK(a.tag == "a6c85cf");

  cseq_view c;
  REQUIRE_FALSE(parse_cseq("4711 BYE", c));
  CHECK(c.number == 4711);
  CHECK(c.method == method::bye);
  CHECK(parse_cseq("2147483648 BYE", c).code == errc::value_out_of_range);
  CHECK(parse_via("SIP/2.0/UDP", v).code == errc::syntax);
}

TEST_CASE("parse_auth reads one credentials or challenge value on its own", "[message_view]") {
  auth_view a;
  const std::string credentials =
      "Digest username=\"alice\", realm=\"atlanta.example.com\", nonce=\"84a4cc6f3082121f\","
      " uri=\"sip:bob@biloxi.example.com\", response=\"7587245234b3434cc3412213e5f113a5\","
      " algorithm=MD5, cnonce=\"0a4f113b\", qop=auth, nc=00000001, opaque=\"x\"";
  REQUIRE_FALSE(parse_auth(credentials, a));
  CHECK(a.scheme == "Digest");
  CHECK(a.username == "\"alice\"");
  CHECK(a.realm == "\"atlanta.example.com\"");
  CHECK(a.nonce == "\"84a4cc6f3082121f\"");
  CHECK(a.uri == "\"sip:bob@biloxi.example.com\"");
  CHECK(a.response == "\"7587245234b3434cc3412213e5f113a5\"");
  CHECK(a.algorithm == "MD5");
  CHECK(a.cnonce == "\"0a4f113b\"");
  CHECK(a.qop == "auth");
  CHECK(a.nc == "00000001");
  CHECK(a.opaque == "\"x\"");
  CHECK(a.header == header_id::extension);
  CHECK(a.params == credentials.substr(7));

  // A second parse leaves nothing of the first behind.
  REQUIRE_FALSE(parse_auth("Digest realm=\"r\", nonce=\"n\", stale=TRUE, algorithm=SHA-256", a));
  CHECK(a.realm == "\"r\"");
  CHECK(a.stale == "TRUE");
  CHECK(a.algorithm == "SHA-256");
  CHECK(a.username.empty());
  CHECK(a.response.empty());
  CHECK(a.qop.empty());

  // Unknown schemes and parameters are kept raw; errors say where.
  REQUIRE_FALSE(parse_auth("Bearer token=abc", a));
  CHECK(a.scheme == "Bearer");
  CHECK(a.params == "token=abc");
  const parse_error missing_value = parse_auth("Digest realm=", a);
  CHECK(missing_value.code == errc::syntax);
  CHECK(missing_value.offset == 13);
  CHECK(parse_auth("Digest", a).code == errc::syntax);
  CHECK(parse_auth("Digest realm=\"r\",", a).offset == 17);
}

TEST_CASE("message view: a GB/T 28181 REGISTER with a numeric SIP domain parses", "[message_view]") {
  fixture f;
  const std::string reg =
      "REGISTER sip:34020000002000000001@3402000000 SIP/2.0\r\n"
      "Via: SIP/2.0/UDP 192.168.1.64:5060;rport;branch=z9hG4bK1\r\n"
      "From: <sip:34020000001320000001@3402000000>;tag=1\r\n"
      "To: <sip:34020000001320000001@3402000000>\r\n"
      "Call-ID: 1@192.168.1.64\r\nCSeq: 1 REGISTER\r\n"
      "Contact: <sip:34020000001320000001@192.168.1.64:5060>\r\n"
      "Expires: 3600\r\nContent-Length: 0\r\n\r\n";
  REQUIRE_FALSE(f.parse(reg));
  CHECK(f.view->request_uri().host == "3402000000");
  CHECK(f.view->from()->uri.host == "3402000000");
  CHECK(f.view->from()->uri.host_type == host_kind::hostname);
  CHECK(f.view->to()->uri.user == "34020000001320000001");
  CHECK(f.view->contact()->uri.host_type == host_kind::ipv4);
  CHECK(f.view->top_via()->host_type == host_kind::ipv4);
}

TEST_CASE("is_token accepts RFC 3261 tokens only", "[message_view]") {
  CHECK(is_token("X-GB-Ver"));
  CHECK(is_token("a.b!%*_+`'~-9"));
  CHECK_FALSE(is_token(""));
  CHECK_FALSE(is_token("Bad Name"));
  CHECK_FALSE(is_token("a:b"));
  CHECK_FALSE(is_token("caf\xC3\xA9"));
}
