// split_address_list and address_uri: the name-addr list handling that route sets and
// Contact rely on (RFC 3261 §20.10, §20.30, §20.34, §25.1 name-addr / addr-spec).
#include <catch2/catch.hpp>
#include <string_view>
#include <vector>

#include "sipkit/dialog/dialog.hpp"

using sipkit::dialog::address_uri;
using sipkit::dialog::split_address_list;
using views = std::vector<std::string_view>;

TEST_CASE("split_address_list splits a comma list and trims each value") {
  CHECK(split_address_list("<sip:p1.example.com;lr> ,\t<sip:p2.example.com;lr>  ") ==
        views{"<sip:p1.example.com;lr>", "<sip:p2.example.com;lr>"});
}

TEST_CASE("split_address_list keeps a single value whole") {
  CHECK(split_address_list("Bob <sip:bob@biloxi.com>;tag=a6c85cf") ==
        views{"Bob <sip:bob@biloxi.com>;tag=a6c85cf"});
}

TEST_CASE("split_address_list gives nothing for an empty or blank value") {
  CHECK(split_address_list("").empty());
  CHECK(split_address_list("  \t ").empty());
}

TEST_CASE("split_address_list skips empty elements between commas") {
  CHECK(split_address_list(",<sip:a@b>,, ,<sip:c@d>,") == views{"<sip:a@b>", "<sip:c@d>"});
}

TEST_CASE("split_address_list does not split at a comma inside a quoted display name") {
  CHECK(split_address_list("\"Doe, John\" <sip:jd@x.com>, \"A,B\" <sip:ab@x.com>;q=0.1") ==
        views{"\"Doe, John\" <sip:jd@x.com>", "\"A,B\" <sip:ab@x.com>;q=0.1"});
}

TEST_CASE("split_address_list handles escaped quotes inside a quoted display name") {
  CHECK(split_address_list(R"("say \"hi, there\"" <sip:a@b>, <sip:c@d>)") ==
        views{R"("say \"hi, there\"" <sip:a@b>)", "<sip:c@d>"});
}

TEST_CASE("split_address_list does not split at a comma inside angle brackets") {
  CHECK(split_address_list("<sip:a,b@x.com;lr>, <sip:c@d>") ==
        views{"<sip:a,b@x.com;lr>", "<sip:c@d>"});
}

TEST_CASE("split_address_list trims folded whitespace around values") {
  CHECK(split_address_list("<sip:a@b>,\r\n <sip:c@d>") == views{"<sip:a@b>", "<sip:c@d>"});
}

TEST_CASE("address_uri takes the URI inside angle brackets without header parameters") {
  CHECK(address_uri("<sip:a@b;lr>;x") == "sip:a@b;lr");
  CHECK(address_uri("<sip:p1.example.com;lr>;ftag=1928301774") == "sip:p1.example.com;lr");
}

TEST_CASE("address_uri skips quoted and token display names") {
  CHECK(address_uri("\"Doe, John\" <sip:jd@x.com>") == "sip:jd@x.com");
  CHECK(address_uri("Bob <sips:bob@biloxi.com:5061>;tag=1") == "sips:bob@biloxi.com:5061");
}

TEST_CASE("address_uri of an addr-spec treats parameters after ';' as header parameters") {
  CHECK(address_uri("sip:bob@192.0.2.4") == "sip:bob@192.0.2.4");
  // §20.10: without < > the parameters belong to the header, not the URI.
  CHECK(address_uri("sip:bob@192.0.2.4;tag=abc") == "sip:bob@192.0.2.4");
}

TEST_CASE("address_uri keeps URI headers inside angle brackets") {
  CHECK(address_uri("<sip:a@b?Subject=hi>") == "sip:a@b?Subject=hi");
}

TEST_CASE("address_uri keeps an IPv6 reference") {
  CHECK(address_uri("<sip:[2001:db8::10]:5070;lr>") == "sip:[2001:db8::10]:5070;lr");
}

TEST_CASE("address_uri is empty when the value does not parse") {
  CHECK(address_uri("").empty());
  CHECK(address_uri("<sip:a@b").empty());
  CHECK(address_uri("just words").empty());
}
