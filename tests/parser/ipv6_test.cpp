// RFC 5954 IPv6 references (RFC 3986 §3.2.2 IPv6address) in every place the SIP grammar
// takes a host, with the forms RFC 5118 §4 lists.
#include <catch2/catch.hpp>
#include <memory>
#include <string>

#include "parser/ip_literal.hpp"
#include "sipkit/parser/headers.hpp"
#include "sipkit/parser/message_view.hpp"
#include "sipkit/parser/uri.hpp"

using namespace sipkit::parser;

namespace {

std::string request_to(std::string_view host) {
  return "OPTIONS sip:user@" + std::string(host) +
         " SIP/2.0\r\n"
         "Via: SIP/2.0/UDP " + std::string(host) + ";branch=z9hG4bKv6\r\n"
         "To: <sip:user@" + std::string(host) + ">\r\n"
         "From: <sip:caller@" + std::string(host) + ">;tag=1\r\n"
         "Call-ID: v6\r\nCSeq: 1 OPTIONS\r\nMax-Forwards: 70\r\nContent-Length: 0\r\n\r\n";
}

}  // namespace

TEST_CASE("IPv6: every RFC 3986 form is accepted in URI, Via and addresses", "[ipv6]") {
  // RFC 3986 §3.2.2's nine productions, the RFC 5118 §4 examples, an IPv4 tail after
  // "::" (RFC 5118 §4.10's correct form) and the IPv4-mapped form of §4.9.
  const char* hosts[] = {
      "[2001:db8:0:0:0:0:0:10]",        // 6( h16 ":" ) ls32, ls32 = h16:h16
      "[2001:db8:0:0:0:0:192.0.2.1]",   // 6( h16 ":" ) ls32, ls32 = IPv4address
      "[::db8:0:0:0:0:0:10]",           // "::" 5( h16 ":" ) ls32
      "[2001::0:0:0:0:0:10]",           // h16 "::" 4( h16 ":" ) ls32
      "[2001:db8::0:0:0:0:10]",         // *1( h16 ":" ) h16 "::" 3( h16 ":" ) ls32
      "[2001:db8:0::0:0:10]",           // ... "::" 2( h16 ":" ) ls32
      "[2001:db8:0:0::0:10]",           // ... "::" h16 ":" ls32
      "[2001:db8:0:0:0::10]",           // ... "::" ls32 (one h16 left of ls32's pair)
      "[2001:db8:0:0:0:0::10]",         // *5( h16 ":" ) h16 "::" h16
      "[2001:db8:0:0:0:0:0::]",         // *6( h16 ":" ) h16 "::"
      "[::]",                           // "::" alone
      "[::1]",
      "[2001:db8::10]",                 // RFC 5118 §4.1
      "[2001:db8::9:1]",                // §4.5
      "[2001:db8::192.0.2.1]",          // §4.10 correct two-colon form
      "[::192.0.2.1]",                  // elided to the IPv4 tail
      "[::ffff:192.0.2.10]",            // §4.9 IPv4-mapped
      "[FFFF:abcd:0DB8::1]",            // hex in either case, leading zeros
  };
  for (const char* host : hosts) {
    INFO(host);
    uri_view u;
    const std::string text = "sip:user@" + std::string(host) + ":5060";  // u points into it
    REQUIRE_FALSE(parse_uri(text, u));
    CHECK(u.host == host);
    CHECK(u.host_type == host_kind::ipv6);
    CHECK(u.port == 5060);

    const std::string msg = request_to(host);
    auto view = std::make_unique<message_view>();
    auto err = parse_message(msg, *view);
    INFO(err.message());
    REQUIRE_FALSE(err);
    CHECK(view->request_uri().host == host);
    CHECK(view->top_via()->host == host);
    CHECK(view->top_via()->host_type == host_kind::ipv6);
    CHECK(view->to()->uri.host == host);
    CHECK(view->from()->uri.host == host);
  }
}

TEST_CASE("IPv6: malformed references are refused at the byte that does not fit", "[ipv6]") {
  struct bad { const char* text; std::size_t offset; };
  const bad cases[] = {
      {"sip:[1:2:3:4:5:6:7:8:9]", 21},   // nine groups
      {"sip:[1:2:3:4:5:6:7]", 18},       // seven groups and no "::"
      {"sip:[1::2::3]", 9},              // two "::"
      {"sip:[12345::1]", 5},             // five hex digits
      {"sip:[:1:2:3:4:5:6:7]", 5},       // a single leading ':'
      {"sip:[1:2:3:4:5:6:7:]", 18},      // a single trailing ':'
      {"sip:[::256.0.0.1]", 7},          // dec-octet above 255
      {"sip:[::01.2.3.4]", 7},           // dec-octet with a leading zero
      {"sip:[::1.2.3]", 12},             // three IPv4 parts
      {"sip:[1.2.3.4::1]", 12},          // IPv4 not at the end
      {"sip:[1:::2]", 8},                // ":::" without an IPv4 tail
  };
  for (const auto& c : cases) {
    INFO(c.text);
    uri_view u;
    auto err = parse_uri(c.text, u);
    CHECK(err.code == errc::syntax);
    CHECK(err.offset == c.offset);
    CHECK(err.reason == "IPv6 reference");
  }
  // The same check covers Via sent-by, received and header parameters of a message.
  via_view v;
  CHECK(parse_via("SIP/2.0/UDP [1::2::3];branch=z9hG4bK1", v).offset == 17);
  CHECK(parse_via("SIP/2.0/UDP h;received=1::2::3", v).reason == "IPv6 reference");
  CHECK(parse_via("SIP/2.0/UDP h;received=1.2.3.4.5", v).code == errc::syntax);
  name_addr_view a;
  CHECK(parse_name_addr("<sip:a@h>;x=[1::2::3]", a).reason == "IPv6 reference");
  const std::string msg = request_to("[2001:db8::1::2]");
  auto view = std::make_unique<message_view>();
  auto err = parse_message(msg, *view);
  CHECK(err.code == errc::syntax);
  CHECK(err.offset == std::string("OPTIONS sip:user@[2001:db8::1").size());
}

TEST_CASE("IPv6: Via received takes an IPv6 address with or without brackets", "[ipv6]") {
  // RFC 5118 §4.5: both spellings are seen.
  via_view v;
  REQUIRE_FALSE(parse_via("SIP/2.0/UDP [2001:db8::9:1];received=[2001:db8::9:255]", v));
  CHECK(v.received == "[2001:db8::9:255]");
  REQUIRE_FALSE(parse_via("SIP/2.0/UDP [2001:db8::9:1];received=2001:db8::9:255", v));
  CHECK(v.received == "2001:db8::9:255");
  REQUIRE_FALSE(parse_via("SIP/2.0/UDP h;received=192.0.2.1", v));
  CHECK(v.received == "192.0.2.1");
}

TEST_CASE("IPv6: the three-colon form of RFC 5118 §4.10 is a tolerance", "[ipv6][tolerance]") {
  const std::string text = "sip:user@[2001:db8:::192.0.2.1]";
  uri_view u;
  REQUIRE_FALSE(parse_uri(text, u));
  CHECK(u.host == "[2001:db8:::192.0.2.1]");
  CHECK(u.host_type == host_kind::ipv6);
  REQUIRE_FALSE(parse_uri("sip:[:::192.0.2.1]", u));

  parser_options strict;
  strict.ipv6_three_colons = false;
  auto err = parse_uri(text, u, {}, strict);
  CHECK(err.code == errc::syntax);
  CHECK(err.offset == text.find(":::"));
  CHECK(err.reason == "IPv6 reference (three colons)");

  const std::string msg = request_to("[2001:db8:::192.0.2.1]");
  auto view = std::make_unique<message_view>();
  REQUIRE_FALSE(parse_message(msg, *view));
  err = parse_message(msg, *view, {}, framing::datagram, strict);
  CHECK(err.code == errc::syntax);
  CHECK(err.offset == msg.find(":::"));
  via_view v;
  CHECK(parse_via("SIP/2.0/UDP [2001:db8:::192.0.2.1]", v, {}, strict).code == errc::syntax);
}

TEST_CASE("IPv6: the validator classifies the bare address", "[ipv6]") {
  CHECK(check_ipv6_address("2001:db8::1").form == ip_form::valid);
  CHECK(check_ipv6_address("1:2:3:4:5:6:7::").form == ip_form::valid);
  CHECK(check_ipv6_address("::1:2:3:4:5:6:7").form == ip_form::valid);
  CHECK(check_ipv6_address("1:2:3:4:5:6:7:8::").form == ip_form::invalid);  // "::" is >= 1 group
  CHECK(check_ipv6_address("::1:2:3:4:5:6:1.2.3.4").form == ip_form::invalid);
  CHECK(check_ipv6_address("1:2:3:4:5::1.2.3.4").form == ip_form::valid);
  CHECK(check_ipv6_address("::255.255.255.255").form == ip_form::valid);
  CHECK(check_ipv6_address("").form == ip_form::invalid);
  CHECK(check_ipv6_address(":").form == ip_form::invalid);
  CHECK(check_ipv6_address("2001:db8:::192.0.2.1").form == ip_form::three_colons);
  CHECK(check_ipv6_address("2001:db8::1:::192.0.2.1").form == ip_form::invalid);
  CHECK(is_ipv4_address("192.0.2.1"));
  CHECK_FALSE(is_ipv4_address("192.0.2"));
  CHECK_FALSE(is_ipv4_address("1922.0.2.1"));
}
