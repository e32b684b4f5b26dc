// A program outside the sipkit tree: parses one INVITE with sipkit::parser, edits an owning
// copy, and exits 0 only when every field comes out as the message says.
#include <cstdio>
#include <memory>
#include <string>
#include <string_view>

#include <sipkit/parser/message.hpp>
#include <sipkit/parser/message_view.hpp>
#include <sipkit/parser/stream_framer.hpp>

namespace sp = sipkit::parser;

namespace {

const std::string_view k_invite =
    "INVITE sip:bob@biloxi.example.com SIP/2.0\r\n"
    "Via: SIP/2.0/TCP pc33.atlanta.example.com:5060;branch=z9hG4bK776asdhds\r\n"
    "Max-Forwards: 70\r\n"
    "To: Bob <sip:bob@biloxi.example.com>\r\n"
    "From: Alice <sip:alice@atlanta.example.com>;tag=1928301774\r\n"
    "Call-ID: a84b4c76e66710@pc33.atlanta.example.com\r\n"
    "CSeq: 314159 INVITE\r\n"
    "Contact: <sip:alice@pc33.atlanta.example.com>\r\n"
    "Content-Length: 0\r\n"
    "\r\n";

int failures = 0;

void expect(bool ok, const char* what) {
  if (!ok) {
    std::fprintf(stderr, "sipkit consumer: wrong %s\n", what);
    ++failures;
  }
}

}  // namespace

int main() {
  auto view = std::make_unique<sp::message_view>();
  if (auto err = sp::parse_message(k_invite, *view)) {
    std::fprintf(stderr, "sipkit consumer: %s\n", err.message().c_str());
    return 1;
  }
  expect(view->is_request() && view->method() == sp::method::invite, "method");
  expect(view->request_uri().user == "bob", "Request-URI user");
  expect(view->request_uri().host == "biloxi.example.com", "Request-URI host");
  expect(view->top_via() != nullptr && view->top_via()->branch == "z9hG4bK776asdhds", "branch");
  expect(view->top_via() != nullptr && view->top_via()->transport == "TCP", "transport");
  expect(view->from() != nullptr && view->from()->tag == "1928301774", "From tag");
  expect(view->to() != nullptr && view->to()->tag.empty(), "To tag");
  expect(view->call_id() == "a84b4c76e66710@pc33.atlanta.example.com", "Call-ID");
  expect(view->cseq() != nullptr && view->cseq()->number == 314159, "CSeq");
  expect(view->contact() != nullptr && view->contact()->uri.host == "pc33.atlanta.example.com",
         "Contact");
  expect(view->max_forwards() == 70u, "Max-Forwards");

  // The owning message and the serializer.
  auto msg = sp::message::from_view(*view);
  expect(msg.serialize() == k_invite, "unmodified serialization");
  msg.set(sp::header_id::max_forwards, "69");
  const std::string edited = msg.serialize();
  expect(edited.find("\r\nMax-Forwards: 69\r\n") != std::string::npos, "edited Max-Forwards");

  // The stream framer: the edited message twice, split mid-way.
  sp::stream_framer framer;
  const std::string stream = edited + edited;
  framer.feed(std::string_view(stream).substr(0, 100));
  framer.feed(std::string_view(stream).substr(100));
  int framed = 0;
  while (framer.next().message.size() == edited.size()) ++framed;
  expect(framed == 2, "stream framing");

  if (failures != 0) return 1;
  std::puts("sipkit consumer: ok");
  return 0;
}
