// transport::parse_ip and the address formatting every received message goes through: the
// IPv4 fast paths must agree with Boost.Asio (inet_pton / inet_ntop) on every input.
#include <boost/asio/ip/address.hpp>
#include <catch2/catch.hpp>
#include <cstdint>
#include <optional>
#include <random>
#include <string>

#include "sipkit/transport/endpoint.hpp"

using sipkit::transport::address_string;
using sipkit::transport::endpoint;
using sipkit::transport::parse_ip;

namespace {

std::optional<boost::asio::ip::address> reference_parse(std::string text) {
  if (text.size() >= 2 && text.front() == '[' && text.back() == ']')
    text = text.substr(1, text.size() - 2);
  boost::system::error_code ec;
  auto a = boost::asio::ip::make_address(text, ec);
  if (ec || text.empty()) return std::nullopt;
  return a;
}

}  // namespace

TEST_CASE("parse_ip agrees with inet_pton on IPv4 edge cases and IPv6", "[transport]") {
  for (const char* text :
       {"0.0.0.0", "255.255.255.255", "192.0.2.1", "10.0.0.255", "1.2.3.4", "256.1.1.1",
        "1.2.3.256", "01.2.3.4", "1.02.3.4", "1.2.3.04", "0.0.0.00", "1.2.3", "1.2.3.4.",
        ".1.2.3.4", "1..2.3", "1.2.3.4.5", "1.2.3.4 ", " 1.2.3.4", "1.2.3.a", "1234.1.1.1",
        "", ".", "...", "[::1]", "::1", "2001:db8::1", "::ffff:192.0.2.1", "[192.0.2.1]",
        "fe80::1%eth0", "example.com", "1.2.3.4:5060"}) {
    INFO(text);
    const auto got = parse_ip(text);
    const auto want = reference_parse(text);
    REQUIRE(got.has_value() == want.has_value());
    if (got) CHECK(*got == *want);
  }
}

TEST_CASE("address_string and host_string write what inet_ntop writes", "[transport]") {
  std::mt19937 rng(20261202);
  for (int i = 0; i < 5000; ++i) {
    const auto v = static_cast<std::uint32_t>(rng());
    const boost::asio::ip::address a = boost::asio::ip::address_v4(v);
    REQUIRE(address_string(a) == a.to_string());
    REQUIRE(endpoint{a, 5060}.to_string() == a.to_string() + ":5060");
    REQUIRE(parse_ip(address_string(a)) == a);
  }
  for (std::uint32_t v : {0u, 1u, 0x0A000001u, 0xFFFFFFFFu, 0x64646464u, 0x09090909u}) {
    const boost::asio::ip::address a = boost::asio::ip::address_v4(v);
    CHECK(address_string(a) == a.to_string());
  }
  const auto v6 = *parse_ip("2001:db8::1");
  CHECK(address_string(v6) == "2001:db8::1");
  CHECK(endpoint{v6, 5061}.host_string() == "[2001:db8::1]");
  CHECK(endpoint{v6, 5061}.to_string() == "[2001:db8::1]:5061");
}
