#include <catch2/catch.hpp>

#include "sipkit/parser/uri.hpp"

using namespace sipkit::parser;

namespace {
uri_view must_parse(std::string_view text) {
  uri_view u;
  auto e = parse_uri(text, u);
  INFO(text << ": " << e.message());
  REQUIRE_FALSE(e);
  return u;
}
}  // namespace

TEST_CASE("URI: user, password, host, port, parameters and headers are split", "[uri]") {
  auto u = must_parse("sips:alice:secret@atlanta.com:5061;transport=tcp;lr;maddr=10.0.0.1;x=y?subject=project&priority=urgent");
  CHECK(u.scheme == uri_scheme::sips);
  CHECK(u.user == "alice");
  CHECK(u.password == "secret");
  CHECK(u.host == "atlanta.com");
  CHECK(u.host_type == host_kind::hostname);
  CHECK(u.port == 5061);
  CHECK(u.transport_param == "tcp");
  CHECK(u.lr);
  CHECK(u.maddr_param == "10.0.0.1");
  CHECK(u.params == "transport=tcp;lr;maddr=10.0.0.1;x=y");
  CHECK(u.param("X") == std::optional<std::string_view>("y"));
  CHECK(u.param("lr") == std::optional<std::string_view>(""));
  CHECK_FALSE(u.param("ttl").has_value());
  CHECK(u.headers == "subject=project&priority=urgent");
}

TEST_CASE("URI: a host without user keeps port and parameters", "[uri]") {
  auto u = must_parse("sip:proxy.example.com:5060;lr");
  CHECK(u.user.empty());
  CHECK(u.password.empty());
  CHECK(u.host == "proxy.example.com");
  CHECK(u.port == 5060);
  CHECK(u.lr);
}

TEST_CASE("URI: a numeric password is not mistaken for a port", "[uri]") {
  auto u = must_parse("sip:bob:1234@example.com");
  CHECK(u.user == "bob");
  CHECK(u.password == "1234");
  CHECK(u.host == "example.com");
  CHECK(u.port == 0);
}

TEST_CASE("URI: parameters seen before '@' belong to the user part", "[uri]") {
  auto u = must_parse("sip:alice;lr@example.com");
  CHECK(u.user == "alice;lr");
  CHECK_FALSE(u.lr);
  CHECK(u.params.empty());
}

TEST_CASE("URI: IPv4 and RFC 5118 IPv6 references are recognised", "[uri]") {
  CHECK(must_parse("sip:192.0.2.1:5060").host_type == host_kind::ipv4);
  for (auto text : {"sip:[2001:db8::10]:5070", "sip:[2001:db8::9:1]", "sip:[::1]",
                    "sip:[::ffff:192.0.2.1]", "sip:user@[2001:db8:0:0:0:0:0:10]"}) {
    auto u = must_parse(text);
    CHECK(u.host_type == host_kind::ipv6);
    CHECK(u.host.front() == '[');
  }
  CHECK(must_parse("sip:[2001:db8::10]:5070").port == 5070);
}

TEST_CASE("URI: tel and other schemes are kept as absolute URIs", "[uri]") {
  auto t = must_parse("tel:+1-201-555-0123;phone-context=example.com");
  CHECK(t.scheme == uri_scheme::tel);
  CHECK(t.opaque == "+1-201-555-0123;phone-context=example.com");
  auto u = must_parse("urn:service:sos");
  CHECK(u.scheme == uri_scheme::other);
  CHECK(u.scheme_text == "urn");
}

TEST_CASE("URI: invalid forms are rejected with an offset", "[uri]") {
  uri_view u;
  auto e = parse_uri("sip:user@exa mple.com", u);
  CHECK(e.code == errc::syntax);
  CHECK(e.offset == 12);
  CHECK(parse_uri("sip:", u).code == errc::syntax);
  CHECK(parse_uri("sip:host:99999", u).code == errc::value_out_of_range);
  CHECK(parse_uri("sip:[1::2", u).code == errc::syntax);
}

TEST_CASE("URI: longer than the limit is rejected", "[uri]") {
  parser_limits limits;
  limits.max_uri_length = 32;
  uri_view u;
  std::string text = "sip:" + std::string(40, 'a') + "@example.com";
  CHECK(parse_uri(text, u, limits).code == errc::uri_too_long);
}

TEST_CASE("URI comparison follows RFC 3261 section 19.1.4", "[uri]") {
  auto eq = [](std::string_view a, std::string_view b) {
    return uri_equal(must_parse(a), must_parse(b));
  };
  CHECK(eq("sip:%61lice@atlanta.com;transport=TCP", "sip:alice@AtLanTa.CoM;Transport=tcp"));
  CHECK(eq("sip:carol@chicago.com", "sip:carol@chicago.com;newparam=5"));
  CHECK(eq("sip:biloxi.com;transport=tcp;method=REGISTER?to=sip:bob%40biloxi.com",
           "sip:biloxi.com;method=REGISTER;transport=tcp?to=sip:bob%40biloxi.com"));
  CHECK_FALSE(eq("SIP:ALICE@AtLanTa.CoM;Transport=udp", "sip:alice@AtLanTa.CoM;Transport=UDP"));
  CHECK_FALSE(eq("sip:bob@biloxi.com", "sip:bob@biloxi.com:5060"));
  CHECK_FALSE(eq("sip:bob@biloxi.com", "sip:bob@biloxi.com;transport=udp"));
  CHECK_FALSE(eq("sip:carol@chicago.com;security=on", "sip:carol@chicago.com;security=off"));
  CHECK_FALSE(eq("sip:carol@chicago.com", "sips:carol@chicago.com"));
}

// Found by fuzz_uri: with the last occurrence compared on one side and the first on the
// other, a URI did not equal itself.
TEST_CASE("URI comparison with a repeated parameter name uses its first occurrence", "[uri]") {
  const char* text = "sip:almce;da:alice;day=tuce;day=tuple.com";
  CHECK(uri_equal(must_parse(text), must_parse(text)));
  CHECK(uri_equal(must_parse(text), must_parse("sip:almce;day=tuce")));
  CHECK_FALSE(uri_equal(must_parse(text), must_parse("sip:almce;day=tuple.com")));
}

// Found by fuzz_uri, the same for URI headers.
TEST_CASE("URI comparison with a repeated header name uses its first occurrence", "[uri]") {
  const char* text = "sips:om?subject=x&prio=a&prio=b&priority=urgent";
  CHECK(uri_equal(must_parse(text), must_parse(text)));
  CHECK(uri_equal(must_parse(text), must_parse("sips:om?prio=a&subject=x&priority=urgent")));
  CHECK_FALSE(uri_equal(must_parse(text), must_parse("sips:om?prio=b&subject=x&priority=urgent")));
}

TEST_CASE("unescape decodes valid escapes and keeps invalid ones", "[uri]") {
  CHECK(unescape("a%20b%2") == "a b%2");
  CHECK(unescape("%zz%41") == "%zzA");
}

TEST_CASE("a GB/T 28181 numeric SIP domain is a host name, an IPv4 address stays one", "[uri]") {
  uri_view u;
  REQUIRE_FALSE(parse_uri("sip:34020000001320000001@3402000000", u));
  CHECK(u.user == "34020000001320000001");
  CHECK(u.host == "3402000000");
  CHECK(u.host_type == host_kind::hostname);
  REQUIRE_FALSE(parse_uri("sip:34020000002000000001@3402000000:5060;transport=udp", u));
  CHECK(u.host == "3402000000");
  CHECK(u.port == 5060);
  CHECK(u.transport_param == "udp");
  REQUIRE_FALSE(parse_uri("sip:3402000000", u));
  CHECK(u.host == "3402000000");
  CHECK(u.user.empty());
  REQUIRE_FALSE(parse_uri("sip:a@192.0.2.1", u));
  CHECK(u.host_type == host_kind::ipv4);
  // Dotted digits that are no IPv4 address are still refused.
  CHECK(parse_uri("sip:a@1.2.3", u));
  CHECK(parse_uri("sip:a@3402000000.", u));
}

TEST_CASE("request_uri_form drops URI headers and the method parameter, keeps the rest") {
  auto form = [](std::string_view text) { return request_uri_form(must_parse(text)); };
  CHECK(form("sip:bob@192.0.2.7:5070;transport=tcp") == "sip:bob@192.0.2.7:5070;transport=tcp");
  CHECK(form("sip:bob@example.com?Subject=hi&Priority=urgent") == "sip:bob@example.com");
  CHECK(form("sip:bob@example.com;method=REGISTER") == "sip:bob@example.com");
  CHECK(form("sips:bob@example.com;lr;METHOD=INVITE;maddr=192.0.2.1?Subject=x") ==
        "sips:bob@example.com;lr;maddr=192.0.2.1");
  CHECK(form("sip:[2001:db8::1]:5060;x=y") == "sip:[2001:db8::1]:5060;x=y");
}
