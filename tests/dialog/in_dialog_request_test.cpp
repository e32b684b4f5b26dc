// Requests the peer sends inside a dialog (RFC 3261 §12.2.2): CSeq ordering and target
// refresh.
#include <catch2/catch.hpp>
#include <cstdint>
#include <string>
#include <string_view>

#include "sipkit/dialog/dialog.hpp"

using sipkit::dialog::dialog;
using sipkit::dialog::dialog_state;
using sipkit::parser::header_id;
using sipkit::parser::message;

namespace {

message alice_invite() {
  auto m = message::request("INVITE", "sip:bob@biloxi.com");
  m.add(header_id::via, "SIP/2.0/UDP pc33.atlanta.com;branch=z9hG4bK776asdhds");
  m.add(header_id::max_forwards, "70");
  m.add(header_id::to, "Bob <sip:bob@biloxi.com>");
  m.add(header_id::from, "Alice <sip:alice@atlanta.com>;tag=1928301774");
  m.add(header_id::call_id, "a84b4c76e66710@pc33.atlanta.com");
  m.add(header_id::cseq, "314159 INVITE");
  m.add(header_id::contact, "<sip:alice@pc33.atlanta.com>");
  return m;
}

// Bob's dialog (UAS) after answering Alice's INVITE with `code`.
dialog bob_dialog(int code = 200) {
  auto invite = alice_invite();
  auto rsp = sipkit::parser::make_response(invite, code, {}, "a6c85cf");
  rsp.add(header_id::contact, "<sip:bob@192.0.2.4>");
  auto d = dialog::create_uas(invite, rsp);
  REQUIRE(d);
  return *d;
}

// A request from Alice inside the dialog.
message from_alice(std::string_view method, std::uint32_t cseq, std::string_view contact = {}) {
  auto m = message::request(method, "sip:bob@192.0.2.4");
  m.add(header_id::via, "SIP/2.0/UDP pc33.atlanta.com;branch=z9hG4bKnashds7");
  m.add(header_id::max_forwards, "70");
  m.add(header_id::from, "Alice <sip:alice@atlanta.com>;tag=1928301774");
  m.add(header_id::to, "Bob <sip:bob@biloxi.com>;tag=a6c85cf");
  m.add(header_id::call_id, "a84b4c76e66710@pc33.atlanta.com");
  m.add(header_id::cseq, std::to_string(cseq) + " " + std::string(method));
  if (!contact.empty()) m.add(header_id::contact, contact);
  return m;
}

}  // namespace

TEST_CASE("A request with a lower CSeq than the last one is answered 500 and changes nothing") {
  auto d = bob_dialog();
  REQUIRE(d.on_request(from_alice("INFO", 314165)) == 0);
  CHECK(d.on_request(from_alice("INVITE", 314160, "<sip:alice@192.0.2.99>")) == 500);
  CHECK(d.remote_cseq() == 314165u);
  CHECK(d.remote_target() == "sip:alice@pc33.atlanta.com");
  CHECK(d.state() == dialog_state::confirmed);
}

TEST_CASE("A request with a CSeq lower than the INVITE's is answered 500") {
  auto d = bob_dialog();
  CHECK(d.on_request(from_alice("BYE", 314158)) == 500);
  CHECK(d.remote_cseq() == 314159u);
}

TEST_CASE("A request with a higher CSeq is accepted and becomes the remote sequence number") {
  auto d = bob_dialog();
  CHECK(d.on_request(from_alice("INFO", 314200)) == 0);
  CHECK(d.remote_cseq() == 314200u);
}

TEST_CASE("A request with the same CSeq as the last one is accepted") {
  auto d = bob_dialog();
  CHECK(d.on_request(from_alice("INFO", 314159)) == 0);
  CHECK(d.remote_cseq() == 314159u);
}

TEST_CASE("The first request from the callee sets the remote sequence number of a UAC dialog") {
  auto invite = alice_invite();
  auto ok = sipkit::parser::make_response(invite, 200, {}, "a6c85cf");
  ok.add(header_id::contact, "<sip:bob@192.0.2.4>");
  auto d = dialog::create_uac(invite, ok);
  REQUIRE(d);
  REQUIRE_FALSE(d->remote_cseq());
  auto bye = message::request("BYE", "sip:alice@pc33.atlanta.com");
  bye.add(header_id::from, "Bob <sip:bob@biloxi.com>;tag=a6c85cf");
  bye.add(header_id::to, "Alice <sip:alice@atlanta.com>;tag=1928301774");
  bye.add(header_id::call_id, "a84b4c76e66710@pc33.atlanta.com");
  bye.add(header_id::cseq, "1 BYE");
  CHECK(d->on_request(bye) == 0);
  CHECK(d->remote_cseq() == 1u);
}

TEST_CASE("ACK never moves the remote sequence number") {
  auto d = bob_dialog();
  REQUIRE(d.on_request(from_alice("INFO", 314170)) == 0);
  CHECK(d.on_request(from_alice("ACK", 314159)) == 0);
  CHECK(d.remote_cseq() == 314170u);
  CHECK(d.on_request(from_alice("ACK", 314180)) == 0);
  CHECK(d.remote_cseq() == 314170u);
}

TEST_CASE("CANCEL never moves the remote sequence number") {
  auto d = bob_dialog(180);
  CHECK(d.on_request(from_alice("CANCEL", 314159)) == 0);
  CHECK(d.remote_cseq() == 314159u);
  CHECK(d.on_request(from_alice("CANCEL", 314190)) == 0);
  CHECK(d.remote_cseq() == 314159u);
}

TEST_CASE("ACK does not update the remote target even with a new Contact") {
  auto d = bob_dialog();
  CHECK(d.on_request(from_alice("ACK", 314159, "<sip:alice@192.0.2.99>")) == 0);
  CHECK(d.remote_target() == "sip:alice@pc33.atlanta.com");
}

TEST_CASE("A re-INVITE with a new Contact updates the remote target") {
  auto d = bob_dialog();
  CHECK(d.on_request(from_alice("INVITE", 314160, "Alice <sip:alice@192.0.2.99:5070>")) == 0);
  CHECK(d.remote_target() == "sip:alice@192.0.2.99:5070");
  CHECK(d.remote_cseq() == 314160u);
}

TEST_CASE("An UPDATE with a new Contact updates the remote target") {
  auto d = bob_dialog(180);
  CHECK(d.on_request(from_alice("UPDATE", 314160, "<sip:alice@192.0.2.98>")) == 0);
  CHECK(d.remote_target() == "sip:alice@192.0.2.98");
}

TEST_CASE("A re-INVITE without Contact keeps the remote target") {
  auto d = bob_dialog();
  CHECK(d.on_request(from_alice("INVITE", 314160)) == 0);
  CHECK(d.remote_target() == "sip:alice@pc33.atlanta.com");
}

TEST_CASE("A BYE with a Contact does not update the remote target") {
  auto d = bob_dialog();
  CHECK(d.on_request(from_alice("BYE", 314160, "<sip:alice@192.0.2.99>")) == 0);
  CHECK(d.remote_target() == "sip:alice@pc33.atlanta.com");
  CHECK(d.remote_cseq() == 314160u);
}

TEST_CASE("A request without a parsable CSeq is answered 400 and changes nothing") {
  auto d = bob_dialog();
  auto info = from_alice("INFO", 314160);
  info.set(header_id::cseq, "many INFO");
  CHECK(d.on_request(info) == 400);
  CHECK(d.remote_cseq() == 314159u);
}
