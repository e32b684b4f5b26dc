// The private typed cache (src/parser/typed_cache.hpp): a record encoded from a parsed
// view decodes to the same view, field by field (each view at the same place of the same
// value, each value field equal), for Via, name-addr with every URI part, and CSeq; views
// outside the value and values too long for 16-bit offsets are not cached. The field
// lists here are written out on their own, so a field the cache forgets shows up.
#include "parser/typed_cache.hpp"

#include <catch2/catch.hpp>
#include <string>
#include <string_view>

#include "sipkit/parser/headers.hpp"

using namespace sipkit::parser;
namespace detail = sipkit::parser::detail;

namespace {

/// Same bytes at the same place (a null view stays null).
bool same(std::string_view a, std::string_view b) {
  return a.data() == b.data() && a.size() == b.size();
}

void check_uri(const uri_view& a, const uri_view& b) {
  CHECK(same(a.raw, b.raw));
  CHECK(same(a.scheme_text, b.scheme_text));
  CHECK(same(a.user, b.user));
  CHECK(same(a.password, b.password));
  CHECK(same(a.host, b.host));
  CHECK(same(a.params, b.params));
  CHECK(same(a.headers, b.headers));
  CHECK(same(a.opaque, b.opaque));
  CHECK(same(a.transport_param, b.transport_param));
  CHECK(same(a.user_param, b.user_param));
  CHECK(same(a.method_param, b.method_param));
  CHECK(same(a.maddr_param, b.maddr_param));
  CHECK(same(a.ttl_param, b.ttl_param));
  CHECK(a.scheme == b.scheme);
  CHECK(a.host_type == b.host_type);
  CHECK(a.port == b.port);
  CHECK(a.lr == b.lr);
}

}  // namespace

TEST_CASE("typed cache: a Via record decodes to the view it was encoded from", "[typed]") {
  const std::string value =
      "SIP/2.0/UDP 192.0.2.1:5060;branch=z9hG4bK77;received=10.0.0.1;rport=5061;"
      "maddr=224.2.0.1;ttl=16";
  via_view v;
  REQUIRE_FALSE(parse_via(value, v));
  REQUIRE(v.maddr == "224.2.0.1");
  REQUIRE(v.ttl == "16");
  REQUIRE(v.has_rport);
  detail::via_record r;
  REQUIRE(detail::encode(v, value, r));
  CHECK(r.branch.off == value.find("z9hG4bK77"));
  CHECK(r.branch.len == 9);
  via_view d;
  detail::decode(r, value, d);
  CHECK(same(d.raw, v.raw));
  CHECK(same(d.protocol_name, v.protocol_name));
  CHECK(same(d.protocol_version, v.protocol_version));
  CHECK(same(d.transport, v.transport));
  CHECK(same(d.host, v.host));
  CHECK(same(d.params, v.params));
  CHECK(same(d.branch, v.branch));
  CHECK(same(d.received, v.received));
  CHECK(same(d.rport, v.rport));
  CHECK(same(d.maddr, v.maddr));
  CHECK(same(d.ttl, v.ttl));
  CHECK(d.host_type == v.host_type);
  CHECK(d.has_rport == v.has_rport);
  CHECK(d.port == 5060);
}

TEST_CASE("typed cache: a name-addr record decodes every part, its URI's included", "[typed]") {
  const std::string value =
      "\"Alice\" <sip:alice:pw@atlanta.example.com:5070;transport=tcp;user=phone;method=INVITE;"
      "maddr=192.0.2.9;ttl=3;lr?subject=x>;tag=abc;expires=60;q=0.5";
  name_addr_view v;
  REQUIRE_FALSE(parse_name_addr(value, v));
  REQUIRE(v.expires == "60");
  REQUIRE(v.q == "0.5");
  REQUIRE(v.uri.ttl_param == "3");
  REQUIRE(v.uri.headers == "subject=x");
  detail::addr_record r;
  REQUIRE(detail::encode(v, value, r));
  CHECK(r.expires.off == value.find("60"));
  CHECK(r.expires.len == 2);
  name_addr_view d;
  detail::decode(r, value, d);
  CHECK(same(d.raw, v.raw));
  CHECK(same(d.display_name, v.display_name));
  CHECK(same(d.params, v.params));
  CHECK(same(d.tag, v.tag));
  CHECK(same(d.expires, v.expires));
  CHECK(same(d.q, v.q));
  check_uri(d.uri, v.uri);
  CHECK(d.uri.port == 5070);
  CHECK(d.uri.lr);
  CHECK(d.star == v.star);
  CHECK(d.angle_brackets);
  CHECK(d.expires_not_a_number == v.expires_not_a_number);
}

TEST_CASE("typed cache: absent parts stay null and flags round-trip", "[typed]") {
  const std::string value = "sip:bob@biloxi.example.com";
  name_addr_view v;
  REQUIRE_FALSE(parse_name_addr(value, v));
  v.star = true;  // as a Contact: * would set it
  detail::addr_record r;
  REQUIRE(detail::encode(v, value, r));
  CHECK(r.tag.off == 0xFFFF);
  name_addr_view d;
  d.tag = "stale";
  detail::decode(r, value, d);
  CHECK(d.tag.data() == nullptr);
  CHECK(d.star);
  CHECK_FALSE(d.angle_brackets);

  const std::string odd = "<sip:bob@biloxi.example.com>;expires=soon";
  name_addr_view o;
  REQUIRE_FALSE(parse_name_addr(odd, o));
  REQUIRE(o.expires_not_a_number);
  REQUIRE(detail::encode(o, odd, r));
  detail::decode(r, odd, d);
  CHECK(d.expires_not_a_number);
  CHECK(d.expires.empty());
}

TEST_CASE("typed cache: a CSeq record decodes to its view", "[typed]") {
  const std::string value = "314159 INVITE";
  cseq_view v;
  REQUIRE_FALSE(parse_cseq(value, v));
  detail::cseq_record r;
  REQUIRE(detail::encode(v, value, r));
  cseq_view d;
  detail::decode(r, value, d);
  CHECK(same(d.method_text, v.method_text));
  CHECK(d.number == 314159);
  CHECK(d.method == method::invite);
}

TEST_CASE("typed cache: views outside the value, or a value too long, are not cached", "[typed]") {
  const std::string value = "SIP/2.0/UDP host;branch=z9hG4bK1";
  via_view v;
  REQUIRE_FALSE(parse_via(value, v));
  detail::via_record r;
  const std::string other = value;  // same text, another buffer
  CHECK_FALSE(detail::encode(v, other, r));
  const std::string huge(0xFFFF, 'x');
  CHECK_FALSE(detail::encode(v, huge, r));
}
