// parser_options: each field tolerance is accepted by default and refused, at the byte it
// needed, with its flag off. Contact expires/q values that are not numbers (RFC 3261 §25).
#include <catch2/catch.hpp>
#include <memory>
#include <string>

#include "sipkit/parser/headers.hpp"
#include "sipkit/parser/message_view.hpp"
#include "sipkit/parser/stream_framer.hpp"
#include "sipkit/parser/uri.hpp"
#include "test_data.hpp"

using namespace sipkit::parser;

namespace {

const std::string k_head =
    "Via: SIP/2.0/UDP 192.0.2.1;branch=z9hG4bKtol\r\n"
    "To: <sip:bob@example.com>\r\n"
    "From: <sip:alice@example.com>;tag=1\r\n"
    "Call-ID: tol\r\n"
    "CSeq: 1 REGISTER\r\n";

std::string request(const std::string& extra, const std::string& ruri = "sip:example.com") {
  return "REGISTER " + ruri + " SIP/2.0\r\n" + k_head + extra + "Content-Length: 0\r\n\r\n";
}

struct parsed {
  std::unique_ptr<message_view> view = std::make_unique<message_view>();
  parse_error error;
};

parsed parse(std::string_view text, const parser_options& options = {},
             framing mode = framing::datagram) {
  parsed p;
  p.error = parse_message(text, *p.view, {}, mode, options);
  return p;
}

// The options with one tolerance off.
template <class F>
parser_options without(F off) {
  parser_options o;
  off(o);
  return o;
}

}  // namespace

TEST_CASE("tolerance: '_' in host names", "[tolerance]") {
  const std::string msg = request("Contact: <sip:a@my_box.example.com>\r\n", "sip:my_proxy09.example.com");
  auto p = parse(msg);
  REQUIRE_FALSE(p.error);
  CHECK(p.view->request_uri().host == "my_proxy09.example.com");
  CHECK(p.view->contact()->uri.host == "my_box.example.com");
  uri_view u;
  // Inside a label only, where '-' may stand: a label still starts and ends alphanumeric.
  CHECK(parse_uri("sip:user@_sip.example.com", u).code == errc::syntax);
  CHECK(parse_uri("sip:user@host_.example.com", u).code == errc::syntax);
  REQUIRE_FALSE(parse_uri("sip:user@host_1.example.com;maddr=relay_2.example.com", u));
  CHECK(u.maddr_param == "relay_2.example.com");

  const auto strict = without([](parser_options& o) { o.underscore_in_host = false; });
  auto s = parse(msg, strict);
  CHECK(s.error.code == errc::syntax);
  CHECK(s.error.offset == msg.find('_'));
  CHECK(parse_uri("sip:user@host_1.example.com", u, {}, strict).offset == 13);
  CHECK(parse_uri("sip:h;maddr=relay_2.example.com", u, {}, strict).offset == 17);
  via_view v;
  CHECK(parse_via("SIP/2.0/UDP my_host:5060", v, {}, strict).offset == 14);
  REQUIRE_FALSE(parse_via("SIP/2.0/UDP my_host:5060", v));
  CHECK(v.host == "my_host");
  name_addr_view a;
  CHECK(parse_name_addr("<sip:x@a_b.example.com>", a, {}, strict).offset == 8);
  // A '_' in a user part or parameter was always legal and stays so.
  REQUIRE_FALSE(parse_uri("sip:my_user@example.com;x_y=a_b", u, {}, strict));
}

TEST_CASE("tolerance: Status-Line without Reason-Phrase", "[tolerance]") {
  const std::string tail =
      "Via: SIP/2.0/UDP 192.0.2.1;branch=z9hG4bKx\r\nCall-ID: r\r\nCSeq: 1 INVITE\r\n"
      "Content-Length: 0\r\n\r\n";
  for (std::string line : {"SIP/2.0 200\r\n", "SIP/2.0 180\r\n"}) {
    auto p = parse(line + tail);
    REQUIRE_FALSE(p.error);
    CHECK(p.view->is_response());
    CHECK(p.view->reason_phrase().empty());
    auto s = parse(line + tail, without([](parser_options& o) { o.status_line_without_reason = false; }));
    CHECK(s.error.code == errc::syntax);
    CHECK(s.error.offset == 11);
  }
  // The SP with an empty phrase is RFC 3261 (RFC 4475 noreason) and needs no tolerance.
  REQUIRE_FALSE(parse("SIP/2.0 200 \r\n" + tail, parser_options::strict()).error);
  CHECK(parse("SIP/2.0 2000\r\n" + tail).error.code == errc::syntax);
}

TEST_CASE("tolerance: empty elements in comma lists of tokens", "[tolerance]") {
  const std::string msg = request("Supported: ,outbound\r\nRequire: outbound,,path\r\n"
                                  "Allow: INVITE, ,ACK,\r\nProxy-Require: sec-agree , \r\n");
  auto p = parse(msg);
  REQUIRE_FALSE(p.error);
  CHECK(p.view->list_contains(header_id::supported, "outbound"));
  CHECK(p.view->list_contains(header_id::require, "path"));
  CHECK(p.view->list_contains(header_id::allow, "ACK"));
  CHECK(p.view->list_contains(header_id::proxy_require, "sec-agree"));

  const auto strict = without([](parser_options& o) { o.empty_list_elements = false; });
  auto s = parse(msg, strict);
  CHECK(s.error.code == errc::syntax);
  CHECK(s.error.offset == msg.find(",outbound"));
  auto s2 = parse(request("Require: outbound,,path\r\n"), strict);
  CHECK(s2.error.offset == request("Require: outbound,,path\r\n").find(",path"));
  auto s3 = parse(request("Unsupported: a,\r\n"), strict);
  CHECK(s3.error.offset == request("Unsupported: a,\r\n").find(",\r\n"));
  // Non-empty lists and an empty Supported are RFC 3261.
  REQUIRE_FALSE(parse(request("Supported: \r\nRequire: a, b\r\n"), strict).error);
  // A list of nothing but commas is still not a list.
  CHECK(parse(request("Require: ,\r\n")).error.code == errc::syntax);
}

TEST_CASE("tolerance: one trailing ';' after header parameters", "[tolerance]") {
  const std::string msg = request("Contact: <sip:a@192.0.2.4>;expires=60;\r\n"
                                  "Route: <sip:p1.example.com;lr>;, <sip:p2.example.com;lr>\r\n");
  auto p = parse(msg);
  REQUIRE_FALSE(p.error);
  CHECK(p.view->contact()->expires == "60");
  name_addr_view a;
  REQUIRE_FALSE(parse_name_addr("<sip:a@b>;", a));
  CHECK(a.uri.host == "b");
  CHECK(a.params.empty());
  REQUIRE_FALSE(parse_name_addr("sip:a@b;tag=1 ;", a));
  CHECK(a.tag == "1");

  const auto strict = without([](parser_options& o) { o.trailing_semicolon = false; });
  auto s = parse(msg, strict);
  CHECK(s.error.code == errc::syntax);
  CHECK(s.error.offset == msg.find(";\r\n"));
  CHECK(parse_name_addr("<sip:a@b>;", a, {}, strict).offset == 9);
  // Only one: ";;" stays an error (RFC 4475 badinv01 has "Contact: ... ;;;;").
  CHECK(parse_name_addr("<sip:a@b>;;", a).code == errc::syntax);
  CHECK(parse(request("From2: x\r\nContact: <sip:a@b>;;\r\n")).error.code == errc::syntax);
}

TEST_CASE("tolerance: bare LF line ends in a datagram", "[tolerance]") {
  std::string msg = request("Contact: <sip:a@192.0.2.4>\r\nSubject: folded\r\n  on two lines\r\n");
  std::string lf;
  for (char c : msg)
    if (c != '\r') lf.push_back(c);
  auto p = parse(lf);
  REQUIRE_FALSE(p.error);
  CHECK(p.view->method() == method::register_);
  CHECK(p.view->cseq()->number == 1);
  CHECK(p.view->find(header_id::subject)->value == "folded\n  on two lines");
  CHECK(p.view->headers().size() == 8);
  // Mixed: some lines CRLF, some LF, the blank line LF.
  const std::string mixed = "OPTIONS sip:a@b SIP/2.0\nVia: SIP/2.0/UDP h;branch=z9hG4bK1\r\n"
                            "Call-ID: m\nCSeq: 2 OPTIONS\r\n\n";
  auto m = parse(mixed);
  REQUIRE_FALSE(m.error);
  CHECK(m.view->call_id() == "m");

  const auto strict = without([](parser_options& o) { o.bare_lf = false; });
  auto s = parse(lf, strict);
  CHECK(s.error.code == errc::syntax);
  CHECK(s.error.offset == lf.find('\n'));
  CHECK(parse(mixed, strict).error.offset == mixed.find('\n'));
  REQUIRE_FALSE(parse(msg, strict).error);
}

TEST_CASE("tolerance: bare LF line ends on a stream", "[tolerance][framer]") {
  const std::string a = "OPTIONS sip:a@b SIP/2.0\nCall-ID: 1\nContent-Length: 2\n\nhi";
  const std::string b = "OPTIONS sip:a@b SIP/2.0\r\nCall-ID: 2\r\nl: 0\r\n\n";
  const std::string c = "OPTIONS sip:a@b SIP/2.0\r\nCall-ID: 3\r\nl: 1\r\n\r\nx";
  stream_framer f;
  // One byte at a time: the blank line may be split anywhere.
  for (char ch : a + b + c) f.feed(std::string_view(&ch, 1));
  std::vector<std::string> got;
  for (auto r = f.next(); !r.error; r = f.next()) {
    got.emplace_back(r.message);
    auto p = parse(r.message, {}, framing::stream);
    CHECK_FALSE(p.error);
  }
  CHECK(got == std::vector<std::string>{a, b, c});

  // Off: the framer only knows CRLF CRLF, and the parser refuses the bare LF.
  const auto strict = without([](parser_options& o) { o.bare_lf = false; });
  stream_framer g({}, strict);
  g.feed(a);
  CHECK(g.next().error.code == errc::need_more);
  auto s = parse(b, strict, framing::stream);
  CHECK(s.error.code == errc::syntax);
  CHECK(s.error.offset == b.size() - 1);
}

TEST_CASE("tolerance: strict() turns every tolerance off", "[tolerance]") {
  const auto s = parser_options::strict();
  CHECK_FALSE(s.underscore_in_host);
  CHECK_FALSE(s.status_line_without_reason);
  CHECK_FALSE(s.empty_list_elements);
  CHECK_FALSE(s.trailing_semicolon);
  CHECK_FALSE(s.bare_lf);
  CHECK_FALSE(s.ipv6_three_colons);
  const parser_options d;
  CHECK((d.underscore_in_host && d.status_line_without_reason && d.empty_list_elements &&
         d.trailing_semicolon && d.bare_lf && d.ipv6_three_colons));
}

TEST_CASE("Contact expires that is not a number is a generic parameter", "[tolerance]") {
  for (std::string value : {"\"Sat, 01 Dec 2040 16:00:00 GMT\"", "abc"}) {
    const std::string msg = request("Contact: <sip:a@192.0.2.4>;expires=" + value + ";q=0.5\r\n");
    auto p = parse(msg, parser_options::strict());  // RFC 3261 §25, not a tolerance
    INFO(value << ": " << p.error.message());
    REQUIRE_FALSE(p.error);
    const auto* c = p.view->contact();
    CHECK(c->expires.empty());
    CHECK(c->expires_not_a_number);
    CHECK(c->q == "0.5");
    CHECK(param_list(c->params).find("expires")->value == value);
  }
  name_addr_view a;
  REQUIRE_FALSE(parse_name_addr("<sip:a@b>;expires=3600", a));
  CHECK(a.expires == "3600");
  CHECK_FALSE(a.expires_not_a_number);
  REQUIRE_FALSE(parse_name_addr("<sip:a@b>;expires=soon", a));
  CHECK(a.expires.empty());
  CHECK(a.expires_not_a_number);
}

TEST_CASE("Contact q that is not a qvalue is a generic parameter", "[tolerance]") {
  name_addr_view a;
  REQUIRE_FALSE(parse_name_addr("<sip:a@b>;q=abc", a));
  CHECK(a.q.empty());
  CHECK(param_list(a.params).find("q")->value == "abc");
  REQUIRE_FALSE(parse_name_addr("<sip:a@b>;q=0.7", a));
  CHECK(a.q == "0.7");
  REQUIRE_FALSE(parse_name_addr("<sip:a@b>;q=0.12345", a));
  CHECK(a.q.empty());
  const std::string msg = request("Contact: <sip:a@192.0.2.4>;q=abc\r\n");
  auto p = parse(msg);
  REQUIRE_FALSE(p.error);
  CHECK(p.view->contact()->q.empty());
}

TEST_CASE("tolerances change no RFC 4475 outcome", "[tolerance][rfc4475]") {
  // Every torture message gives the same result with the tolerances on (the default, which
  // rfc4475_test.cpp checks row by row) and all off: none of them needs a tolerance, and no
  // tolerance lets a "reject" row through.
  const char* files[] = {
      "wsinv", "intmeth", "esc01", "escnull", "esc02", "lwsdisp", "longreq", "dblreq",
      "semiuri", "transports", "mpart01", "unreason", "noreason", "badinv01", "clerr", "ncl",
      "scalar02", "scalarlg", "quotbal", "ltgtruri", "lwsruri", "lwsstart", "trws", "escruri",
      "baddate", "regbadct", "badaspec", "baddn", "badvers", "mismatch01", "mismatch02",
      "bigcode", "badbranch", "insuf", "unkscm", "novelsc", "unksm2", "bext01", "invut",
      "regaut01", "multi01", "mcl01", "bcast", "zeromf", "cparam01", "cparam02", "regescrt",
      "sdp01", "inv2543"};
  for (const char* name : files) {
    INFO(name);
    const std::string bytes = sipkit::test::rfc4475(std::string(name) + ".dat");
    auto lenient = parse(bytes);
    auto strict = parse(bytes, parser_options::strict());
    CHECK(lenient.error.code == strict.error.code);
    CHECK(lenient.error.offset == strict.error.offset);
    if (!lenient.error) CHECK(lenient.view->bytes() == strict.view->bytes());
  }
}
