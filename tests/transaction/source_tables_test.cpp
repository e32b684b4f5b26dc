// The manager's private byte accounting: the wire size that the byte budget counts
// (src/transaction/wire_size.hpp).
#include <catch2/catch.hpp>
#include <string>

#include "sipkit/parser/message.hpp"
#include "transaction/wire_size.hpp"

namespace {
namespace detail = sipkit::transaction::detail;
using sipkit::parser::header_id;
using sipkit::parser::message;

message small_request() {
  auto m = message::request("OPTIONS", "sip:bob@example.com");
  m.add(header_id::via, "SIP/2.0/UDP 192.0.2.1:5060;branch=z9hG4bKx");
  m.add(header_id::cseq, "1 OPTIONS");
  return m;
}

}  // namespace

TEST_CASE("wire_size is the size a built or edited message serializes to") {
  auto req = small_request();
  req.add(header_id::from, "<sip:a@example.com>;tag=1");
  req.add("X-Extension", "some value");
  req.add(header_id::content_length, "999");  // the serializer computes its own
  REQUIRE(detail::wire_size(req) == req.serialize().size());
  req.set_body(std::string(12345, 'b'), "application/sdp");
  REQUIRE(detail::wire_size(req) == req.serialize().size());
  auto rsp = sipkit::parser::make_response(req, 486, "Busy Here Now", "tag9");
  REQUIRE(detail::wire_size(rsp) == rsp.serialize().size());
  REQUIRE(detail::wire_size(message::response(100)) == message::response(100).serialize().size());
}
