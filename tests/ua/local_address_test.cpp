// White-box: the SDP address check (sdp_formats.hpp). A plain dotted quad takes a fast path
// without the URI grammar; whatever it does not recognise must still get the grammar's answer.
#include <catch2/catch.hpp>

#include <stdexcept>
#include <string>

#include "sdp_formats.hpp"

using sipkit::ua::detail::sdp_formats::local_address;

namespace {
std::string classify(const std::string& address) {
  try {
    const auto a = local_address(address);
    return std::string(a.addrtype) + " " + std::string(a.address);
  } catch (const std::invalid_argument&) {
    return "invalid";
  }
}
}  // namespace

TEST_CASE("local_address: dotted quads, IPv6 references and host names") {
  CHECK(classify("192.0.2.10") == "IP4 192.0.2.10");
  CHECK(classify("0.0.0.0") == "IP4 0.0.0.0");
  CHECK(classify("255.255.255.255") == "IP4 255.255.255.255");
  CHECK(classify("010.000.000.001") == "IP4 010.000.000.001");  // RFC 3261: 1*3DIGIT
  CHECK(classify("[2001:db8::10]") == "IP6 2001:db8::10");
  CHECK(classify("2001:db8::10") == "IP6 2001:db8::10");
  CHECK(classify("media.example.com") == "IP4 media.example.com");
}

TEST_CASE("local_address: what the fast path declines goes to the grammar") {
  // Not dotted quads; the grammar decides (a host name needs a letter-led top label).
  CHECK(classify("1.2.3") == "invalid");
  CHECK(classify("1.2.3.4.5") == "invalid");
  CHECK(classify("1.2.3.4x") == "invalid");
  CHECK(classify("1..3.4") == "invalid");
  CHECK(classify("1.2.3.4 ") == "invalid");
  CHECK(classify("") == "invalid");
  CHECK(classify("not an address") == "invalid");
  CHECK(classify("1.2.3.4.example.com") == "IP4 1.2.3.4.example.com");
  // Repeated calls with alternating addresses give the same answers (nothing is remembered).
  for (int i = 0; i < 3; ++i) {
    CHECK(classify("192.0.2.10") == "IP4 192.0.2.10");
    CHECK(classify("1.2.3") == "invalid");
  }
}
