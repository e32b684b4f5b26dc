// The typed views an owning message keeps (message.hpp, "Typed views"): how often the
// grammar runs, and that the views stay right across edits, copies, moves and a buffer
// that grows.
#include <catch2/catch.hpp>
#include <memory>
#include <string>
#include <utility>

#include "sipkit/parser/message.hpp"

using namespace sipkit::parser;

namespace {

constexpr std::string_view k_invite =
    "INVITE sip:bob@biloxi.example.com SIP/2.0\r\n"
    "Via: SIP/2.0/UDP pc33.atlanta.example.com:5062;branch=z9hG4bK776asdhds;rport\r\n"
    "Via: SIP/2.0/UDP second.example.com;branch=z9hG4bK2\r\n"
    "Max-Forwards: 70\r\n"
    "To: Bob <sip:bob@biloxi.example.com;transport=tcp>\r\n"
    "From: \"Alice\" <sip:alice@atlanta.example.com:5070>;tag=1928301774\r\n"
    "Call-ID: a84b4c76e66710\r\n"
    "CSeq: 314159 INVITE\r\n"
    "Content-Length: 0\r\n\r\n";

message received(std::string_view bytes = k_invite) {
  auto view = std::make_unique<message_view>();
  REQUIRE_FALSE(parse_message(bytes, *view));
  return message::from_view(*view);
}

message built() {
  auto m = message::request("INVITE", "sip:bob@biloxi.example.com");
  m.add(header_id::via, "SIP/2.0/UDP pc33.atlanta.example.com;branch=z9hG4bK776asdhds");
  m.add(header_id::to, "Bob <sip:bob@biloxi.example.com>");
  m.add(header_id::from, "Alice <sip:alice@atlanta.example.com>;tag=1928301774");
  m.add(header_id::call_id, "a84b4c76e66710");
  m.add(header_id::cseq, "314159 INVITE");
  return m;
}

/// True when `part` lies inside the value of the first header `id` of `m`.
bool inside_value(const message& m, header_id id, std::string_view part) {
  for (const auto& f : m.fields())
    if (f.id == id) {
      const std::string_view v = m.value_of(f);
      return part.data() >= v.data() && part.data() + part.size() <= v.data() + v.size();
    }
  return false;
}

/// Every typed value of k_invite, read through the four accessors.
void check_invite_views(const message& m) {
  auto via = m.top_via();
  REQUIRE(via);
  CHECK(via->host == "pc33.atlanta.example.com");
  CHECK(via->port == 5062);
  CHECK(via->branch == "z9hG4bK776asdhds");
  CHECK(via->has_rport);
  CHECK(via->transport == "UDP");
  CHECK(inside_value(m, header_id::via, via->raw));
  auto from = m.from();
  REQUIRE(from);
  CHECK(from->display_name == "\"Alice\"");
  CHECK(from->uri.user == "alice");
  CHECK(from->uri.host == "atlanta.example.com");
  CHECK(from->uri.port == 5070);
  CHECK(from->tag == "1928301774");
  CHECK(from->header == header_id::from);
  CHECK(inside_value(m, header_id::from, from->uri.raw));
  auto to = m.to();
  REQUIRE(to);
  CHECK(to->uri.transport_param == "tcp");
  CHECK(to->tag.empty());
  CHECK(to->angle_brackets);
  CHECK(inside_value(m, header_id::to, to->raw));
  auto cseq = m.cseq();
  REQUIRE(cseq);
  CHECK(cseq->number == 314159);
  CHECK(cseq->method == method::invite);
  CHECK(cseq->method_text == "INVITE");
  CHECK(inside_value(m, header_id::cseq, cseq->method_text));
}

}  // namespace

TEST_CASE("message: a received message answers its typed accessors without parsing again",
          "[message][typed]") {
  auto m = received();
  const auto runs = grammar_runs();
  check_invite_views(m);
  check_invite_views(m);
  CHECK(grammar_runs() == runs);
  CHECK(m.serialize() == k_invite);  // the record is no part of the message
}

TEST_CASE("message: the typed views of a received message equal a fresh parse of its values",
          "[message][typed]") {
  auto m = received();
  via_view via;
  name_addr_view from, to;
  cseq_view cseq;
  REQUIRE_FALSE(parse_via(*m.get(header_id::via), via));
  REQUIRE_FALSE(parse_name_addr(*m.get(header_id::from), from));
  REQUIRE_FALSE(parse_name_addr(*m.get(header_id::to), to));
  REQUIRE_FALSE(parse_cseq(*m.get(header_id::cseq), cseq));
  CHECK(m.top_via()->raw == via.raw);
  CHECK(m.top_via()->params == via.params);
  CHECK(m.from()->raw == from.raw);
  CHECK(m.from()->params == from.params);
  CHECK(m.from()->uri.raw == from.uri.raw);
  CHECK(m.to()->uri.params == to.uri.params);
  CHECK(m.cseq()->number == cseq.number);
}

TEST_CASE("message: a built message parses each typed header once", "[message][typed]") {
  auto m = built();
  const auto runs = grammar_runs();
  CHECK(m.from()->tag == "1928301774");
  CHECK(grammar_runs() == runs + 1);
  CHECK(m.from()->uri.host == "atlanta.example.com");
  CHECK(m.to()->display_name == "Bob");
  CHECK(m.to()->uri.user == "bob");
  CHECK(m.top_via()->branch == "z9hG4bK776asdhds");
  CHECK(m.top_via()->host == "pc33.atlanta.example.com");
  CHECK(m.cseq()->number == 314159);
  CHECK(m.cseq()->method == method::invite);
  CHECK(grammar_runs() == runs + 4);
}

TEST_CASE("message: a header that does not parse is remembered as having no value",
          "[message][typed]") {
  auto m = built();
  m.set(header_id::cseq, "not a cseq");
  const auto runs = grammar_runs();
  CHECK_FALSE(m.cseq().has_value());
  CHECK_FALSE(m.cseq().has_value());
  CHECK(grammar_runs() == runs + 1);
  m.remove(header_id::to);
  CHECK_FALSE(m.to().has_value());
  CHECK(grammar_runs() == runs + 1);  // an absent header needs no parse
}

TEST_CASE("message: editing a header forgets its typed view and only its own",
          "[message][typed]") {
  auto m = received();
  m.set(header_id::to, "Bob <sip:bob@biloxi.example.com>;tag=as83kd9bs");
  auto runs = grammar_runs();
  CHECK(m.to()->tag == "as83kd9bs");
  CHECK(m.from()->tag == "1928301774");
  CHECK(m.top_via()->branch == "z9hG4bK776asdhds");
  CHECK(grammar_runs() == runs + 1);

  m.push_front(header_id::via, "SIP/2.0/TCP proxy.example.com;branch=z9hG4bKnew");
  CHECK(m.top_via()->host == "proxy.example.com");
  CHECK(m.top_via()->transport == "TCP");
  m.remove_first(header_id::via);
  CHECK(m.top_via()->branch == "z9hG4bK776asdhds");
  m.remove_first(header_id::via);
  CHECK(m.top_via()->branch == "z9hG4bK2");

  m.remove(header_id::from);
  CHECK_FALSE(m.from().has_value());
  m.add(header_id::from, "<sip:carol@chicago.example.com>;tag=c1");
  CHECK(m.from()->tag == "c1");
  m.add("CSeq", "1 BYE");  // a second CSeq: the first is still the one read
  CHECK(m.cseq()->number == 314159);
  m.set("cseq", "2 BYE");
  CHECK(m.cseq()->method == method::bye);

  runs = grammar_runs();
  m.set_request_uri("sip:carol@chicago.example.com");
  m.set_body("v=0\r\n", "application/sdp");
  m.add(header_id::contact, "<sip:bob@192.0.2.4>");
  CHECK(m.from()->tag == "c1");
  CHECK(m.cseq()->number == 2);
  CHECK(m.top_via()->branch == "z9hG4bK2");
  CHECK(grammar_runs() == runs);  // edits of other headers kept them
}

TEST_CASE("message: a copy keeps correct typed views into its own buffer", "[message][typed]") {
  auto original = std::make_unique<message>(received());
  message copy = *original;
  message assigned = built();
  assigned = *original;
  original.reset();  // the views must not point into the original's buffer
  const auto runs = grammar_runs();
  check_invite_views(copy);
  check_invite_views(assigned);
  CHECK(grammar_runs() == runs);

  copy.set(header_id::from, "<sip:dave@example.org>;tag=d");
  CHECK(copy.from()->tag == "d");
  CHECK(assigned.from()->tag == "1928301774");  // an edit of a copy leaves the other alone
}

TEST_CASE("message: a moved message keeps correct typed views", "[message][typed]") {
  auto m = built();
  CHECK(m.to()->uri.host == "biloxi.example.com");
  message moved = std::move(m);
  const auto runs = grammar_runs();
  CHECK(moved.to()->uri.host == "biloxi.example.com");
  CHECK(inside_value(moved, header_id::to, moved.to()->uri.host));
  CHECK(grammar_runs() == runs);
}

TEST_CASE("message: typed views survive a buffer that grows and moves", "[message][typed]") {
  auto m = received();  // allocated at its exact size: the next edit moves the buffer
  for (int i = 0; i < 50; ++i) m.add("X-Padding-" + std::to_string(i), std::string(100, 'p'));
  const auto runs = grammar_runs();
  check_invite_views(m);
  CHECK(grammar_runs() == runs);
}

TEST_CASE("message: a message without room for the record still answers correctly",
          "[message][typed]") {
  // A copy is allocated at its exact size: no spare capacity, so nothing is kept and
  // each call parses (the accessor never moves the buffer under earlier views).
  const message exact = message(built());
  auto first = exact.from();
  REQUIRE(first);
  CHECK(first->tag == "1928301774");
  auto again = exact.from();
  CHECK(again->tag == "1928301774");
  CHECK(first->raw.data() == again->raw.data());
}

TEST_CASE("message: a response made from a received request reads its To without parsing",
          "[message][typed]") {
  auto req = received();
  const auto runs = grammar_runs();
  auto rsp = make_response(req, 200, {}, "t1");
  CHECK(grammar_runs() == runs);  // make_response read the request's kept To
  CHECK(rsp.to()->tag == "t1");
  CHECK(rsp.cseq()->method == method::invite);
}

TEST_CASE("message: a response takes the request's typed views, To tag included",
          "[message][typed]") {
  for (std::string_view to_value :
       {"Bob <sip:bob@biloxi.example.com>", "<sip:bob@biloxi.example.com>;foo",
        "sip:bob@biloxi.example.com", "sip:bob@biloxi.example.com;user=phone",
        "\"B\" <sip:bob@biloxi.example.com;transport=tcp>;p=1;q2",
        "Bob <sip:bob@biloxi.example.com>;tag=already"}) {
    CAPTURE(to_value);
    std::string wire = "BYE sip:bob@biloxi.example.com SIP/2.0\r\n"
                       "Via: SIP/2.0/UDP pc33.atlanta.example.com;branch=z9hG4bKx;received=1.2.3.4\r\n"
                       "From: Alice <sip:alice@atlanta.example.com>;tag=a1\r\n"
                       "To: " + std::string(to_value) + "\r\n"
                       "Call-ID: c1\r\nCSeq: 7 BYE\r\nContent-Length: 0\r\n\r\n";
    auto view = std::make_unique<message_view>();
    REQUIRE_FALSE(parse_message(wire, *view));
    const message request = message::from_view(*view);
    for (int from_view = 0; from_view < 2; ++from_view) {
      const auto runs = grammar_runs();
      const message rsp = from_view ? make_response(*view, 200, {}, "t-9")
                                    : make_response(request, 200, {}, "t-9");
      auto to = rsp.to();
      auto via = rsp.top_via();
      auto from = rsp.from();
      auto cseq = rsp.cseq();
      CHECK(grammar_runs() == runs);
      // The same values as a parse of the response's own header text.
      name_addr_view fresh_to, fresh_from;
      via_view fresh_via;
      REQUIRE_FALSE(parse_name_addr(*rsp.get(header_id::to), fresh_to));
      REQUIRE_FALSE(parse_name_addr(*rsp.get(header_id::from), fresh_from));
      REQUIRE_FALSE(parse_via(*rsp.get(header_id::via), fresh_via));
      REQUIRE(to);
      CHECK(to->raw == fresh_to.raw);
      CHECK(to->raw.data() == fresh_to.raw.data());
      CHECK(to->params == fresh_to.params);
      CHECK(to->tag == fresh_to.tag);
      CHECK(to->display_name == fresh_to.display_name);
      CHECK(to->uri.raw == fresh_to.uri.raw);
      CHECK(to->uri.params == fresh_to.uri.params);
      CHECK(to->uri.user_param == fresh_to.uri.user_param);
      CHECK(to->angle_brackets == fresh_to.angle_brackets);
      CHECK(to->tag == (to_value.find("already") != std::string_view::npos ? "already" : "t-9"));
      CHECK(from->tag == fresh_from.tag);
      CHECK(from->uri.raw.data() == fresh_from.uri.raw.data());
      CHECK(via->received == fresh_via.received);
      CHECK(via->branch.data() == fresh_via.branch.data());
      CHECK(cseq->number == 7);
      CHECK(cseq->method == method::bye);
    }
  }
}

TEST_CASE("message: shrink_to_fit keeps the message and its typed views right",
          "[message][typed]") {
  auto m = built();
  const std::string wire = m.serialize();
  CHECK(m.to()->display_name == "Bob");  // the record now sits at the end of the buffer
  m.shrink_to_fit();
  CHECK(m.serialize() == wire);
  check_invite_views(received());  // unrelated message still fine
  CHECK(m.to()->display_name == "Bob");
  CHECK(m.top_via()->branch == "z9hG4bK776asdhds");
  CHECK(m.cseq()->number == 314159);
  CHECK(inside_value(m, header_id::to, m.to()->raw));

  auto r = received();
  r.set(header_id::to, "Bob <sip:bob@biloxi.example.com>;tag=x1");  // written after the record
  r.shrink_to_fit();
  CHECK(r.to()->tag == "x1");
  CHECK(r.from()->tag == "1928301774");
  CHECK(inside_value(r, header_id::from, r.from()->raw));
  const auto runs = grammar_runs();
  CHECK(r.from()->uri.port == 5070);  // the record stayed: still no parse
  CHECK(grammar_runs() == runs);
}
