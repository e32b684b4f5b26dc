// RFC 4475 torture messages: one test per file, with the outcome the table in
// tests/data/rfc4475/README.md gives. "respond N" rows are checked here for the parser
// facts the UAS core needs to answer N; the responses themselves belong to the UA layer.
#include <catch2/catch.hpp>
#include <memory>

#include "parser/test_data.hpp"
#include "sipkit/parser/message.hpp"
#include "sipkit/parser/message_view.hpp"

using namespace sipkit::parser;
using sipkit::test::rfc4475;

namespace {

struct parsed {
  std::string bytes;
  std::unique_ptr<message_view> view = std::make_unique<message_view>();
  parse_error error;
  const message_view* operator->() const { return view.get(); }
};

parsed parse_file(const std::string& name) {
  parsed p;
  p.bytes = rfc4475(name);
  p.error = parse_message(p.bytes, *p.view);
  return p;
}

parsed must_parse(const std::string& name) {
  auto p = parse_file(name);
  INFO(name << ": " << p.error.message());
  REQUIRE_FALSE(p.error);
  return p;
}

parse_error must_reject(const std::string& name) {
  auto p = parse_file(name);
  INFO(name);
  REQUIRE(p.error);
  REQUIRE(p.error.offset <= p.bytes.size());
  REQUIRE_FALSE(p.error.reason.empty());
  return p.error;
}

std::vector<std::string_view> contacts(const message_view& m) {
  std::vector<std::string_view> out;
  for (const auto& a : m.addresses())
    if (a.header == header_id::contact) out.push_back(a.uri.raw);
  return out;
}

}  // namespace

// ---------------------------------------------------------------- 3.1.1 valid messages

TEST_CASE("rfc4475 wsinv: folding, odd case and escaped quotes parse", "[rfc4475]") {
  auto p = must_parse("wsinv.dat");
  CHECK(p->method() == method::invite);
  CHECK(p->request_uri().host == "chair-dnrc.example.com");
  CHECK(p->request_uri().params == "unknownparam");
  CHECK(p->to()->uri.raw == "sip:vivekg@chair-dnrc.example.com");
  CHECK(p->to()->tag == "1918181833n");
  CHECK(p->from()->display_name == R"("J Rosenberg \\\"")");
  CHECK(p->from()->tag == "98asjd8");
  CHECK(p->max_forwards() == 68u);
  CHECK(p->cseq()->number == 9);
  CHECK(p->cseq()->method == method::invite);
  REQUIRE(p->vias().size() == 3);
  CHECK(p->vias()[0].transport == "UDP");
  CHECK(p->vias()[0].host == "192.0.2.2");
  CHECK(p->vias()[0].branch == "390skdjuw");
  CHECK(p->vias()[1].transport == "TCP");
  CHECK(p->vias()[1].host == "spindle.example.com");
  CHECK(p->vias()[1].branch == "z9hG4bK9ikj8");
  CHECK(p->vias()[2].host == "192.168.255.111");
  CHECK(p->vias()[2].branch == "z9hG4bK30239");
  CHECK(p->find("NewFangledHeader")->value == "newfangled value\r\n continued newfangled value");
  CHECK(p->find("UnknownHeaderWithUnusualValue")->value == ";;,,;;,;");
  CHECK(p->find(header_id::subject)->value.empty());
  const auto* contact = p->contact();
  REQUIRE(contact != nullptr);
  CHECK(contact->display_name == R"("Quoted string \"\"")");
  CHECK(contact->q == "0.33");
  CHECK(param_list(contact->params).find("newparam")->value == "newvalue");
  CHECK(param_list(contact->params).find("secondparam").has_value());
  CHECK(p->body().size() == 150);
}

TEST_CASE("rfc4475 intmeth: unusual legal characters everywhere parse", "[rfc4475]") {
  auto p = must_parse("intmeth.dat");
  CHECK(p->method_text() == "!interesting-Method0123456789_*+`.%indeed'~");
  CHECK(p->method() == method::unknown);
  CHECK(p->request_uri().user == "1_unusual.URI~(to-be!sure)&isn't+it$/crazy?,/;;*");
  CHECK(p->request_uri().password == "&it+has=1,weird!*pas$wo~d_too.(doesn't-it)");
  CHECK(p->request_uri().host == "example.com");
  CHECK(p->to()->display_name == "\"BEL:\\\x07 NUL:\\" + std::string(1, '\0') + " DEL:\\\x7f\"");
  CHECK(p->from()->display_name == "token1~` token2'+_ token3*%!.-");
  CHECK(p->from()->tag == "_token~1'+`*%!-.");
  CHECK(p->call_id() == "intmeth.word%ZK-!.*_+'@word`~)(><:\\/\"][?}{");
  CHECK(p->cseq()->method_text == p->method_text());
  CHECK(p->top_via()->branch == "z9hG4bK-.!%66*_+`'~");
  CHECK(p->find("extensionHeader-!.%*+_`'~")->value == "\xEF\xBB\xBF\xE5\xA4\xA7\xE5\x81\x9C\xE9\x9B\xBB");
}

TEST_CASE("rfc4475 esc01: valid escapes parse and compare after unescaping", "[rfc4475]") {
  auto p = must_parse("esc01.dat");
  CHECK(p->request_uri().user == "sips%3Auser%40example.com");
  CHECK(unescape(p->request_uri().user) == "sips:user@example.com");
  CHECK(unescape(p->to()->uri.user) == "user");
  CHECK(unescape(p->from()->uri.user) == "I have spaces");
  const auto* c = p->contact();
  REQUIRE(c != nullptr);
  CHECK(c->uri.params == "%6C%72;n%61me=v%61lue%25%34%31");
  uri_view plain;
  REQUIRE_FALSE(parse_uri("sip:caller@host5.example.net;lr;name=value%2541", plain));
  CHECK(uri_equal(c->uri, plain));
}

TEST_CASE("rfc4475 escnull: %00 in the user part parses", "[rfc4475]") {
  auto p = must_parse("escnull.dat");
  CHECK(p->to()->uri.user == "null-%00-null");
  CHECK(unescape(p->to()->uri.user) == std::string("null-\0-null", 11));
  CHECK(contacts(*p.view) == std::vector<std::string_view>{"sip:%00@host5.example.com",
                                                           "sip:%00%00@host5.example.com"});
}

TEST_CASE("rfc4475 esc02: percent signs that are not escapes parse", "[rfc4475]") {
  auto p = must_parse("esc02.dat");
  CHECK(p->method_text() == "RE%47IST%45R");
  CHECK(p->method() == method::unknown);
  CHECK(p->from()->display_name == "\"%Z%45\"");
  CHECK(p->top_via()->branch == "z9hG4bK209%fzsnel234");
  // "C%6Fntact" is not Contact: header names are not unescaped.
  CHECK(p->find("C%6Fntact") != nullptr);
  CHECK(p->find("C%6Fntact")->id == header_id::extension);
  CHECK(contacts(*p.view).size() == 2);
}

TEST_CASE("rfc4475 lwsdisp: no LWS between display name and < parses", "[rfc4475]") {
  auto p = must_parse("lwsdisp.dat");
  CHECK(p->from()->display_name == "caller");
  CHECK(p->from()->uri.raw == "sip:caller@example.com");
  CHECK(p->from()->tag == "323");
}

TEST_CASE("rfc4475 longreq: very long values and 34 Vias parse", "[rfc4475]") {
  auto p = must_parse("longreq.dat");
  CHECK(p->vias().size() == 34);
  CHECK(p->vias()[0].host == "sip33.example.com");
  CHECK(p->vias().back().host == "host.example.com");
  CHECK(p->vias().back().received == "192.0.2.5");
  CHECK(p->vias().back().branch.size() > 200);
  CHECK(p->from()->tag.size() > 100);
  CHECK(p->to()->display_name.size() > 100);
  CHECK(p->call_id().size() > 100);
  CHECK(p->body().size() == 150);
}

TEST_CASE("rfc4475 dblreq: octets after Content-Length are ignored", "[rfc4475]") {
  auto p = must_parse("dblreq.dat");
  CHECK(p->method() == method::register_);
  CHECK(p->content_length() == 0u);
  CHECK(p->body().empty());
  CHECK(p->bytes().size() < p.bytes.size());
  CHECK(p.bytes.substr(p->bytes().size()).find("INVITE sip:joe@example.com") != std::string::npos);
}

TEST_CASE("rfc4475 semiuri: ';' inside the user part belongs to the user", "[rfc4475]") {
  auto p = must_parse("semiuri.dat");
  CHECK(p->request_uri().user == "user;par=u%40example.net");
  CHECK(p->request_uri().host == "example.com");
  CHECK(p->request_uri().params.empty());
}

TEST_CASE("rfc4475 transports: unknown transport tokens in Via parse", "[rfc4475]") {
  auto p = must_parse("transports.dat");
  REQUIRE(p->vias().size() == 5);
  std::vector<std::string_view> t;
  for (const auto& v : p->vias()) t.push_back(v.transport);
  CHECK(t == std::vector<std::string_view>{"UDP", "SCTP", "TLS", "UNKNOWN", "TCP"});
  CHECK(p->call_id() == "transports.kijh4akdnaqjkwendsasfdj");
}

TEST_CASE("rfc4475 mpart01: multipart body with binary part parses", "[rfc4475]") {
  auto p = must_parse("mpart01.dat");
  CHECK(p->method() == method::message);
  CHECK(p->content_type()->type == "multipart");
  CHECK(p->content_type()->subtype == "mixed");
  CHECK(param_list(p->content_type()->params).find("boundary")->value == "7a9cbec02ceef655");
  CHECK(p->body().size() == *p->content_length());
  CHECK(p->top_via()->has_rport);
  CHECK(p->top_via()->rport.empty());
}

TEST_CASE("rfc4475 unreason: UTF-8 reason phrase parses", "[rfc4475]") {
  auto p = must_parse("unreason.dat");
  CHECK(p->status_code() == 200);
  CHECK(p->reason_phrase().substr(0, 14) == "= 2**3 * 5**2 ");
  CHECK(p->reason_phrase().size() > 40);
}

TEST_CASE("rfc4475 noreason: empty reason phrase parses", "[rfc4475]") {
  auto p = must_parse("noreason.dat");
  CHECK(p->status_code() == 100);
  CHECK(p->reason_phrase().empty());
  CHECK(p->to()->tag == "902jndnke3");
}

// ---------------------------------------------------------------- 3.1.2 invalid messages

TEST_CASE("rfc4475 badinv01: stray ';' separators are rejected", "[rfc4475]") {
  auto e = must_reject("badinv01.dat");
  CHECK(e.code == errc::syntax);
  CHECK(std::string_view(e.reason) == "Via header");
}

TEST_CASE("rfc4475 clerr: Content-Length larger than the datagram is rejected", "[rfc4475]") {
  auto e = must_reject("clerr.dat");
  CHECK(e.code == errc::truncated_body);
}

TEST_CASE("rfc4475 ncl: negative Content-Length is rejected", "[rfc4475]") {
  auto e = must_reject("ncl.dat");
  CHECK(e.code == errc::syntax);
  CHECK(std::string_view(e.reason) == "Content-Length header");
}

TEST_CASE("rfc4475 scalar02: overlarge scalars in a request are rejected", "[rfc4475]") {
  auto e = must_reject("scalar02.dat");
  CHECK(e.code == errc::value_out_of_range);
  CHECK(std::string_view(e.reason) == "CSeq number");
}

TEST_CASE("rfc4475 scalarlg: overlarge scalars in a response are rejected", "[rfc4475]") {
  auto e = must_reject("scalarlg.dat");
  CHECK(e.code == errc::value_out_of_range);
}

TEST_CASE("rfc4475 quotbal: an unterminated quoted string is rejected", "[rfc4475]") {
  auto e = must_reject("quotbal.dat");
  CHECK(e.code == errc::syntax);
  CHECK(std::string_view(e.reason) == "To header");
}

TEST_CASE("rfc4475 ltgtruri: <> around the Request-URI is rejected", "[rfc4475]") {
  auto e = must_reject("ltgtruri.dat");
  CHECK(e.code == errc::syntax);
  CHECK(e.offset == 7);
  CHECK(std::string_view(e.reason) == "Request-URI");
}

TEST_CASE("rfc4475 lwsruri: whitespace inside the Request-URI is rejected", "[rfc4475]") {
  auto e = must_reject("lwsruri.dat");
  CHECK(e.code == errc::syntax);
}

TEST_CASE("rfc4475 lwsstart: several SP between Request-Line elements are rejected", "[rfc4475]") {
  auto e = must_reject("lwsstart.dat");
  CHECK(e.code == errc::syntax);
  CHECK(e.offset == 7);
}

TEST_CASE("rfc4475 trws: trailing SP on the Request-Line is rejected", "[rfc4475]") {
  auto e = must_reject("trws.dat");
  CHECK(e.code == errc::syntax);
  CHECK(std::string_view(e.reason) == "SIP-Version");
}

TEST_CASE("rfc4475 escruri: escaped headers in a Request-URI are rejected", "[rfc4475]") {
  auto e = must_reject("escruri.dat");
  CHECK(e.code == errc::syntax);
  CHECK(std::string_view(e.reason) == "Request-URI headers");
}

TEST_CASE("rfc4475 baddate: a non-GMT Date is kept raw and ignored", "[rfc4475]") {
  auto p = must_parse("baddate.dat");
  CHECK(p->find("Date")->value == "Fri, 01 Jan 2010 16:00:00 EST");
}

TEST_CASE("rfc4475 regbadct: a bare URI with '?' in Contact is rejected", "[rfc4475]") {
  auto e = must_reject("regbadct.dat");
  CHECK(e.code == errc::syntax);
  CHECK(std::string_view(e.reason) == "Contact header");
}

TEST_CASE("rfc4475 badaspec: spaces inside <addr-spec> are rejected", "[rfc4475]") {
  auto e = must_reject("badaspec.dat");
  CHECK(std::string_view(e.reason) == "To header");
}

TEST_CASE("rfc4475 baddn: an unquoted display name with ',' is rejected", "[rfc4475]") {
  auto e = must_reject("baddn.dat");
  CHECK(std::string_view(e.reason) == "From header");
}

TEST_CASE("rfc4475 badvers: SIP/7.0 parses and is flagged for a 505", "[rfc4475]") {
  auto p = must_parse("badvers.dat");
  CHECK(p->sip_version() == "SIP/7.0");
  CHECK_FALSE(p->is_sip_2_0());
}

TEST_CASE("rfc4475 mismatch01: CSeq method differing from the Request-Line is visible", "[rfc4475]") {
  auto p = must_parse("mismatch01.dat");
  CHECK(p->method() == method::options);
  CHECK(p->cseq()->method == method::invite);
}

TEST_CASE("rfc4475 mismatch02: unknown method with a CSeq mismatch is visible", "[rfc4475]") {
  auto p = must_parse("mismatch02.dat");
  CHECK(p->method_text() == "NEWMETHOD");
  CHECK(p->cseq()->method_text == "INVITE");
}

TEST_CASE("rfc4475 bigcode: a status code above 699 is rejected", "[rfc4475]") {
  auto e = must_reject("bigcode.dat");
  CHECK(std::string_view(e.reason) == "Status-Line");
}

// ---------------------------------------------------------------- 3.2 - 3.4

TEST_CASE("rfc4475 badbranch: a branch without the magic cookie parses", "[rfc4475]") {
  auto p = must_parse("badbranch.dat");
  CHECK_FALSE(p->top_via()->has_rfc3261_branch());
  CHECK(p->top_via()->branch == "z9hG4bK");
}

TEST_CASE("rfc4475 insuf: missing required headers are visible", "[rfc4475]") {
  auto p = must_parse("insuf.dat");
  CHECK(p->from() == nullptr);
  CHECK(p->to() == nullptr);
  CHECK(p->call_id().empty());
  CHECK_FALSE(p->max_forwards().has_value());
}

TEST_CASE("rfc4475 unkscm: an unknown Request-URI scheme parses as absoluteURI", "[rfc4475]") {
  auto p = must_parse("unkscm.dat");
  CHECK(p->request_uri().scheme == uri_scheme::other);
  CHECK(p->request_uri().scheme_text == "nobodyKnowsThisScheme");
  CHECK(p->request_uri().opaque == "totallyopaquecontent");
}

TEST_CASE("rfc4475 novelsc: a novel scheme parses as absoluteURI", "[rfc4475]") {
  auto p = must_parse("novelsc.dat");
  CHECK(p->request_uri().scheme_text == "soap.beep");
  CHECK_FALSE(p->request_uri().is_sip());
}

TEST_CASE("rfc4475 unksm2: unknown schemes in To, From and Contact parse", "[rfc4475]") {
  auto p = must_parse("unksm2.dat");
  CHECK(p->to()->uri.scheme_text == "isbn");
  CHECK(p->to()->uri.opaque == "2983792873");
  CHECK(p->from()->uri.raw == "http://www.example.com");
  CHECK(p->from()->tag == "3234233");
  CHECK(p->contact()->uri.raw == "name:John_Smith");
}

TEST_CASE("rfc4475 bext01: Require and Proxy-Require tokens are readable", "[rfc4475]") {
  auto p = must_parse("bext01.dat");
  CHECK(p->list_contains(header_id::require, "nothingSupportsThis"));
  CHECK(p->list_contains(header_id::require, "nothingSupportsThisEither"));
  CHECK(p->list_contains(header_id::proxy_require, "norDoAnyProxiesSupportThis"));
  CHECK_FALSE(p->list_contains(header_id::require, "100rel"));
}

TEST_CASE("rfc4475 invut: an unknown Content-Type is visible", "[rfc4475]") {
  auto p = must_parse("invut.dat");
  CHECK(p->content_type()->type == "application");
  CHECK(p->content_type()->subtype == "unknownformat");
}

TEST_CASE("rfc4475 regaut01: an unknown Authorization scheme parses", "[rfc4475]") {
  auto p = must_parse("regaut01.dat");
  REQUIRE(p->auths().size() == 1);
  CHECK(p->auths()[0].scheme == "NoOneKnowsThisScheme");
  CHECK(p->auths()[0].params == "opaque-data=here");
  CHECK(p->auths()[0].header == header_id::authorization);
}

TEST_CASE("rfc4475 multi01: duplicated single-value headers are counted", "[rfc4475]") {
  auto p = must_parse("multi01.dat");
  CHECK(p->count(header_id::cseq) == 2);
  CHECK(p->count(header_id::call_id) == 2);
  CHECK(p->count(header_id::to) == 2);
  CHECK(p->count(header_id::from) == 2);
  CHECK(p->count(header_id::max_forwards) == 2);
  // The first value of each stays the typed one.
  CHECK(p->cseq()->number == 5);
  CHECK(p->call_id() == "multi01.98asdh@192.0.2.1");
  CHECK(p->to()->uri.raw == "sip:user@example.com");
  CHECK(p->from()->tag == "3413415");
}

TEST_CASE("rfc4475 mcl01: several Content-Length values are counted", "[rfc4475]") {
  auto p = must_parse("mcl01.dat");
  CHECK(p->count(header_id::content_length) == 2);
  // On a stream the same message cannot be framed.
  message_view v;
  auto e = parse_message(p.bytes, v, {}, framing::stream);
  CHECK(e.code == errc::bad_content_length);
}

TEST_CASE("rfc4475 bcast: a broadcast Via address parses", "[rfc4475]") {
  auto p = must_parse("bcast.dat");
  REQUIRE(p->vias().size() == 2);
  CHECK(p->vias()[1].host == "255.255.255.255");
  CHECK(p->vias()[1].host_type == host_kind::ipv4);
}

TEST_CASE("rfc4475 zeromf: Max-Forwards 0 parses", "[rfc4475]") {
  auto p = must_parse("zeromf.dat");
  CHECK(p->max_forwards() == 0u);
}

TEST_CASE("rfc4475 cparam01: parameters after a bare URI are Contact parameters", "[rfc4475]") {
  auto p = must_parse("cparam01.dat");
  const auto* c = p->contact();
  CHECK(c->uri.raw == "sip:+19725552222@gw1.example.net");
  CHECK(c->uri.params.empty());
  CHECK(c->params == "unknownparam");
}

TEST_CASE("rfc4475 cparam02: parameters inside <> are URI parameters", "[rfc4475]") {
  auto p = must_parse("cparam02.dat");
  const auto* c = p->contact();
  CHECK(c->uri.raw == "sip:+19725552222@gw1.example.net;unknownparam");
  CHECK(c->uri.params == "unknownparam");
  CHECK(c->params.empty());
}

TEST_CASE("rfc4475 regescrt: escaped headers inside a Contact URI parse", "[rfc4475]") {
  auto p = must_parse("regescrt.dat");
  CHECK(p->contact()->uri.headers == "Route=%3Csip:sip.example.com%3E");
  CHECK(p->content_length() == 0u);
}

TEST_CASE("rfc4475 sdp01: the Accept header is readable", "[rfc4475]") {
  auto p = must_parse("sdp01.dat");
  CHECK(p->find("Accept")->value == "text/nobodyKnowsThis");
  CHECK(p->content_type()->subtype == "sdp");
}

TEST_CASE("rfc4475 inv2543: RFC 2543 syntax without a branch parses", "[rfc4475]") {
  auto p = must_parse("inv2543.dat");
  CHECK(p->top_via()->branch.empty());
  CHECK(p->from()->tag.empty());
  CHECK(p->to()->uri.raw == "sip:+16505552222@ss1.example.net");
  CHECK(p->to()->params == "user=phone");
  CHECK(p->from()->uri.user_param == "phone");
}

TEST_CASE("rfc4475: every file in the directory has a test", "[rfc4475]") {
  // Keeps this file honest when files are added to tests/data/rfc4475.
  const char* covered[] = {
      "wsinv", "intmeth", "esc01", "escnull", "esc02", "lwsdisp", "longreq", "dblreq",
      "semiuri", "transports", "mpart01", "unreason", "noreason", "badinv01", "clerr", "ncl",
      "scalar02", "scalarlg", "quotbal", "ltgtruri", "lwsruri", "lwsstart", "trws", "escruri",
      "baddate", "regbadct", "badaspec", "baddn", "badvers", "mismatch01", "mismatch02",
      "bigcode", "badbranch", "insuf", "unkscm", "novelsc", "unksm2", "bext01", "invut",
      "regaut01", "multi01", "mcl01", "bcast", "zeromf", "cparam01", "cparam02", "regescrt",
      "sdp01", "inv2543"};
  CHECK(std::size(covered) == 49);
  for (const char* name : covered) CHECK_NOTHROW(rfc4475(std::string(name) + ".dat"));
}
