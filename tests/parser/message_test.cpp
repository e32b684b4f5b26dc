#include <catch2/catch.hpp>
#include <memory>

#include "parser/test_data.hpp"
#include "sipkit/parser/message.hpp"

using namespace sipkit::parser;

namespace {

message build_invite() {
  auto m = message::request("INVITE", "sip:bob@biloxi.example.com");
  m.add(header_id::via, "SIP/2.0/UDP pc33.atlanta.example.com;branch=z9hG4bK776asdhds");
  m.add(header_id::max_forwards, "70");
  m.add(header_id::to, "Bob <sip:bob@biloxi.example.com>");
  m.add(header_id::from, "Alice <sip:alice@atlanta.example.com>;tag=1928301774");
  m.add(header_id::call_id, "a84b4c76e66710");
  m.add(header_id::cseq, "314159 INVITE");
  m.add("X-Trace", "on");
  m.set_body("v=0\r\n", "application/sdp");
  return m;
}

}  // namespace

TEST_CASE("message: a built request serializes in canonical form", "[message]") {
  CHECK(build_invite().serialize() ==
        "INVITE sip:bob@biloxi.example.com SIP/2.0\r\n"
        "Via: SIP/2.0/UDP pc33.atlanta.example.com;branch=z9hG4bK776asdhds\r\n"
        "Max-Forwards: 70\r\n"
        "To: Bob <sip:bob@biloxi.example.com>\r\n"
        "From: Alice <sip:alice@atlanta.example.com>;tag=1928301774\r\n"
        "Call-ID: a84b4c76e66710\r\n"
        "CSeq: 314159 INVITE\r\n"
        "X-Trace: on\r\n"
        "Content-Type: application/sdp\r\n"
        "Content-Length: 5\r\n"
        "\r\n"
        "v=0\r\n");
}

TEST_CASE("message: parse(serialize(m)) round-trips every field", "[message]") {
  auto m = build_invite();
  std::string wire = m.serialize();
  auto v = std::make_unique<message_view>();
  REQUIRE_FALSE(parse_message(wire, *v, {}, framing::stream));
  CHECK(v->method() == method::invite);
  CHECK(v->request_uri().raw == m.request_uri());
  CHECK(v->top_via()->branch == "z9hG4bK776asdhds");
  CHECK(v->from()->tag == "1928301774");
  CHECK(v->call_id() == m.call_id());
  CHECK(v->cseq()->number == 314159);
  CHECK(v->find("X-Trace")->value == "on");
  CHECK(v->body() == m.body());
  REQUIRE(v->headers().size() == m.fields().size() + 1);
  for (std::size_t i = 0; i < m.fields().size(); ++i) {
    CHECK(v->headers()[i].value == m.value_of(m.fields()[i]));
  }
  auto again = message::from_view(*v);
  CHECK(again.serialize() == wire);
}

TEST_CASE("message: an unmodified parsed message serializes to the same bytes", "[message]") {
  for (auto name : {"wsinv.dat", "intmeth.dat", "longreq.dat", "esc01.dat", "mpart01.dat",
                    "unreason.dat", "regescrt.dat", "inv2543.dat"}) {
    std::string bytes = sipkit::test::rfc4475(name);
    auto v = std::make_unique<message_view>();
    REQUIRE_FALSE(parse_message(bytes, *v));
    auto m = message::from_view(*v);
    INFO(name);
    CHECK_FALSE(m.modified());
    CHECK(m.serialize() == bytes.substr(0, v->bytes().size()));
  }
}

TEST_CASE("message: an edited parsed message re-serializes canonically", "[message]") {
  std::string bytes = sipkit::test::rfc4475("wsinv.dat");
  auto v = std::make_unique<message_view>();
  REQUIRE_FALSE(parse_message(bytes, *v));
  auto m = message::from_view(*v);
  m.push_front(header_id::via, "SIP/2.0/UDP proxy.example.com;branch=z9hG4bKnew");
  m.set(header_id::max_forwards, "67");
  std::string wire = m.serialize();
  auto w = std::make_unique<message_view>();
  REQUIRE_FALSE(parse_message(wire, *w, {}, framing::stream));
  REQUIRE(w->vias().size() == 4);
  CHECK(w->vias()[0].branch == "z9hG4bKnew");
  CHECK(w->vias()[1].branch == "390skdjuw");
  CHECK(w->max_forwards() == 67u);
  CHECK(w->from()->tag == "98asjd8");
  CHECK(w->body() == v->body());
  CHECK(w->find("NewFangledHeader")->value == "newfangled value\r\n continued newfangled value");
}

TEST_CASE("message: set, remove and remove_first edit the header list", "[message]") {
  auto m = build_invite();
  m.add(header_id::via, "SIP/2.0/UDP second;branch=z9hG4bK2");
  CHECK(m.count(header_id::via) == 2);
  CHECK(m.remove_first(header_id::via));
  CHECK(m.top_via()->branch == "z9hG4bK2");
  CHECK(m.remove("x-trace") == 1);
  CHECK_FALSE(m.get("X-Trace").has_value());
  m.set(header_id::call_id, "new");
  CHECK(m.call_id() == "new");
  CHECK(m.count(header_id::call_id) == 1);
}

TEST_CASE("message: typed accessors parse stored values", "[message]") {
  auto m = build_invite();
  CHECK(m.top_via()->host == "pc33.atlanta.example.com");
  CHECK(m.from()->tag == "1928301774");
  CHECK(m.to()->display_name == "Bob");
  CHECK(m.cseq()->method == method::invite);
  m.set(header_id::cseq, "not a cseq");
  CHECK_FALSE(m.cseq().has_value());
}

TEST_CASE("make_response copies Via, From, To, Call-ID, CSeq and adds a To tag", "[message]") {
  auto req = build_invite();
  req.add(header_id::via, "SIP/2.0/UDP second;branch=z9hG4bK2");
  auto rsp = make_response(req, 180, {}, "totag1");
  CHECK(rsp.serialize() ==
        "SIP/2.0 180 Ringing\r\n"
        "Via: SIP/2.0/UDP pc33.atlanta.example.com;branch=z9hG4bK776asdhds\r\n"
        "Via: SIP/2.0/UDP second;branch=z9hG4bK2\r\n"
        "From: Alice <sip:alice@atlanta.example.com>;tag=1928301774\r\n"
        "To: Bob <sip:bob@biloxi.example.com>;tag=totag1\r\n"
        "Call-ID: a84b4c76e66710\r\n"
        "CSeq: 314159 INVITE\r\n"
        "Content-Length: 0\r\n\r\n");
  std::string wire = req.serialize();
  auto v = std::make_unique<message_view>();
  REQUIRE_FALSE(parse_message(wire, *v));
  auto rsp2 = make_response(*v, 486, "Busy", "t2");
  CHECK(rsp2.status_code() == 486);
  CHECK(rsp2.reason_phrase() == "Busy");
  CHECK(rsp2.to()->tag == "t2");
}
