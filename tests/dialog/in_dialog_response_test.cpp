// Responses that move a dialog (RFC 3261 §12.1, §12.2.1.2, §13.2.2.4, §13.3.1.4): the UAC
// side through on_response, the UAS side through on_local_final_response.
#include <catch2/catch.hpp>
#include <string>
#include <string_view>
#include <vector>

#include "sipkit/dialog/dialog.hpp"

using sipkit::dialog::dialog;
using sipkit::dialog::dialog_state;
using sipkit::parser::header_id;
using sipkit::parser::message;
using strings = std::vector<std::string>;

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

message response_to(const message& request, int code, std::string_view contact = {}) {
  auto rsp = sipkit::parser::make_response(request, code, {}, "a6c85cf");
  if (!contact.empty()) rsp.add(header_id::contact, contact);
  return rsp;
}

dialog alice_dialog(int code) {
  auto invite = alice_invite();
  auto d = dialog::create_uac(invite, response_to(invite, code, "<sip:bob@192.0.2.4>"));
  REQUIRE(d);
  return *d;
}

dialog bob_dialog(int code) {
  auto invite = alice_invite();
  auto d = dialog::create_uas(invite, response_to(invite, code, "<sip:bob@192.0.2.4>"));
  REQUIRE(d);
  return *d;
}

}  // namespace

// --- UAC: on_response ------------------------------------------------------------------

TEST_CASE("A 2xx to the INVITE confirms an early UAC dialog") {
  auto invite = alice_invite();
  auto d = alice_dialog(180);
  REQUIRE(d.state() == dialog_state::early);
  d.on_response(invite, response_to(invite, 200, "<sip:bob@192.0.2.4>"));
  CHECK(d.state() == dialog_state::confirmed);
}

TEST_CASE("A further provisional response leaves an early dialog early") {
  auto invite = alice_invite();
  auto d = alice_dialog(180);
  d.on_response(invite, response_to(invite, 183, "<sip:bob@192.0.2.4>"));
  CHECK(d.state() == dialog_state::early);
}

TEST_CASE("The 2xx confirming an early dialog replaces the remote target with its Contact") {
  auto invite = alice_invite();
  auto d = alice_dialog(180);
  d.on_response(invite, response_to(invite, 200, "<sip:bob@192.0.2.5:5080>"));
  CHECK(d.remote_target() == "sip:bob@192.0.2.5:5080");
}

TEST_CASE("The 2xx confirming an early dialog recomputes the route set from its Record-Route") {
  auto invite = alice_invite();
  auto ringing = response_to(invite, 180, "<sip:bob@192.0.2.4>");
  ringing.add(header_id::record_route, "<sip:old.example.com;lr>");
  auto d = dialog::create_uac(invite, ringing);
  REQUIRE(d);
  REQUIRE(d->route_set() == strings{"<sip:old.example.com;lr>"});
  auto ok = response_to(invite, 200, "<sip:bob@192.0.2.4>");
  ok.add(header_id::record_route, "<sip:p2.example.com;lr>, <sip:p1.example.com>");
  d->on_response(invite, ok);
  CHECK(d->route_set() == strings{"<sip:p1.example.com>", "<sip:p2.example.com;lr>"});
  auto bye = d->make_request("BYE");
  CHECK(bye.request_uri() == "sip:p1.example.com");  // p1 is a strict router
}

TEST_CASE("A non-2xx final response to the INVITE terminates the early dialog") {
  auto invite = alice_invite();
  auto d = alice_dialog(180);
  d.on_response(invite, response_to(invite, 486));
  CHECK(d.state() == dialog_state::terminated);
}

TEST_CASE("A 2xx to a re-INVITE with a new Contact updates the remote target") {
  auto d = alice_dialog(200);
  auto reinvite = d.make_request("INVITE");
  d.on_response(reinvite, response_to(reinvite, 200, "<sip:bob@192.0.2.77>"));
  CHECK(d.remote_target() == "sip:bob@192.0.2.77");
  CHECK(d.state() == dialog_state::confirmed);
}

TEST_CASE("A 2xx to a re-INVITE does not change the route set") {
  auto invite = alice_invite();
  auto ok = response_to(invite, 200, "<sip:bob@192.0.2.4>");
  ok.add(header_id::record_route, "<sip:p1.example.com;lr>");
  auto d = dialog::create_uac(invite, ok);
  REQUIRE(d);
  auto reinvite = d->make_request("INVITE");
  auto ok2 = response_to(reinvite, 200, "<sip:bob@192.0.2.77>");
  ok2.add(header_id::record_route, "<sip:other.example.com;lr>");
  d->on_response(reinvite, ok2);
  CHECK(d->route_set() == strings{"<sip:p1.example.com;lr>"});
}

TEST_CASE("A 2xx to a BYE with a Contact does not update the remote target") {
  auto d = alice_dialog(200);
  auto bye = d.make_request("BYE");
  d.on_response(bye, response_to(bye, 200, "<sip:bob@192.0.2.77>"));
  CHECK(d.remote_target() == "sip:bob@192.0.2.4");
}

TEST_CASE("A non-2xx response to a re-INVITE leaves the dialog confirmed and its target") {
  auto d = alice_dialog(200);
  auto reinvite = d.make_request("INVITE");
  d.on_response(reinvite, response_to(reinvite, 491, "<sip:bob@192.0.2.77>"));
  CHECK(d.state() == dialog_state::confirmed);
  CHECK(d.remote_target() == "sip:bob@192.0.2.4");
}

TEST_CASE("A 481 to a request in the dialog terminates it") {
  auto d = alice_dialog(200);
  auto info = d.make_request("INFO");
  d.on_response(info, response_to(info, 481));
  CHECK(d.state() == dialog_state::terminated);
}

TEST_CASE("A 408 to a request in the dialog terminates it") {
  auto d = alice_dialog(200);
  auto reinvite = d.make_request("INVITE");
  d.on_response(reinvite, response_to(reinvite, 408));
  CHECK(d.state() == dialog_state::terminated);
}

TEST_CASE("A 2xx does not bring a terminated dialog back") {
  auto invite = alice_invite();
  auto d = alice_dialog(180);
  d.terminate();
  d.on_response(invite, response_to(invite, 200, "<sip:bob@192.0.2.4>"));
  CHECK(d.state() == dialog_state::terminated);
}

// --- UAS: on_local_final_response ------------------------------------------------------

TEST_CASE("Our 2xx final response confirms an early UAS dialog") {
  auto d = bob_dialog(180);
  d.on_local_final_response(200);
  CHECK(d.state() == dialog_state::confirmed);
}

TEST_CASE("Our 486 final response ends an early UAS dialog") {
  auto d = bob_dialog(180);
  d.on_local_final_response(486);
  CHECK(d.state() == dialog_state::terminated);
}

TEST_CASE("A provisional code passed as local response leaves the UAS dialog early") {
  auto d = bob_dialog(180);
  d.on_local_final_response(183);
  CHECK(d.state() == dialog_state::early);
}

TEST_CASE("A non-2xx final response to a re-INVITE does not end a confirmed UAS dialog") {
  auto d = bob_dialog(200);
  d.on_local_final_response(488);
  CHECK(d.state() == dialog_state::confirmed);
}
