// Dialog creation on both sides (RFC 3261 §12.1.1 UAS, §12.1.2 UAC), the dialog id of
// incoming messages (§12.2.2) and the small helpers of dialog.hpp.
#include "sipkit/dialog/dialog.hpp"

#include <catch2/catch.hpp>
#include <memory>
#include <string>
#include <string_view>

#include "sipkit/parser/message_view.hpp"
#include "support/sip_text.hpp"

using sipkit::dialog::dialog;
using sipkit::dialog::dialog_id;
using sipkit::dialog::dialog_role;
using sipkit::dialog::dialog_state;
using sipkit::parser::header_id;
using sipkit::parser::message;

namespace {

using sipkit::test::parse;  // tests/support/sip_text.hpp

// The INVITE Alice sends (RFC 3261 §24.2, F1).
constexpr std::string_view alice_invite =
    "INVITE sip:bob@biloxi.com SIP/2.0\n"
    "Via: SIP/2.0/UDP pc33.atlanta.com;branch=z9hG4bK776asdhds\n"
    "Max-Forwards: 70\n"
    "To: Bob <sip:bob@biloxi.com>\n"
    "From: Alice <sip:alice@atlanta.com>;tag=1928301774\n"
    "Call-ID: a84b4c76e66710@pc33.atlanta.com\n"
    "CSeq: 314159 INVITE\n"
    "Contact: <sip:alice@pc33.atlanta.com>\n"
    "Content-Length: 0\n"
    "\n";

// Bob's answers as they reach Alice.
message bob_response(int code, std::string_view to_tag = "a6c85cf",
                     std::string_view contact = "<sip:bob@192.0.2.4>") {
  auto rsp = sipkit::parser::make_response(parse(alice_invite), code, {}, to_tag);
  if (!contact.empty()) rsp.add(header_id::contact, contact);
  return rsp;
}

// The same INVITE as Bob receives it: Record-Routed by two proxies, nearest to Bob first.
constexpr std::string_view invite_at_bob =
    "INVITE sip:bob@192.0.2.4 SIP/2.0\n"
    "Via: SIP/2.0/UDP server10.biloxi.com;branch=z9hG4bK4b43c2ff8.1\n"
    "Via: SIP/2.0/UDP bigbox3.site3.atlanta.com;branch=z9hG4bK77ef4c2312983.1\n"
    "Via: SIP/2.0/UDP pc33.atlanta.com;branch=z9hG4bK776asdhds;received=192.0.2.1\n"
    "Max-Forwards: 68\n"
    "Record-Route: <sip:server10.biloxi.com;lr>\n"
    "Record-Route: <sip:bigbox3.site3.atlanta.com;lr>\n"
    "To: Bob <sip:bob@biloxi.com>\n"
    "From: Alice <sip:alice@atlanta.com>;tag=1928301774\n"
    "Call-ID: a84b4c76e66710@pc33.atlanta.com\n"
    "CSeq: 314159 INVITE\n"
    "Contact: <sip:alice@pc33.atlanta.com>\n"
    "Content-Length: 0\n"
    "\n";

// What Bob sends back: our To tag and our Contact.
message bob_answer(const message& invite, int code) {
  auto rsp = sipkit::parser::make_response(invite, code, {}, "a6c85cf");
  rsp.add(header_id::contact, "<sip:bob@192.0.2.4>");
  return rsp;
}

}  // namespace

// --- UAC (§12.1.2) ---------------------------------------------------------------------

TEST_CASE("UAC dialog made from a 180 with a To tag is early") {
  auto d = dialog::create_uac(parse(alice_invite), bob_response(180));
  REQUIRE(d);
  CHECK(d->role() == dialog_role::uac);
  CHECK(d->state() == dialog_state::early);
}

TEST_CASE("UAC dialog made from a 200 is confirmed") {
  auto d = dialog::create_uac(parse(alice_invite), bob_response(200));
  REQUIRE(d);
  CHECK(d->state() == dialog_state::confirmed);
}

TEST_CASE("UAC dialog id is the Call-ID, the From tag as local and the To tag as remote tag") {
  auto d = dialog::create_uac(parse(alice_invite), bob_response(180));
  REQUIRE(d);
  CHECK(d->id().call_id == "a84b4c76e66710@pc33.atlanta.com");
  CHECK(d->id().local_tag == "1928301774");
  CHECK(d->id().remote_tag == "a6c85cf");
  CHECK(d->id() == dialog_id{"a84b4c76e66710@pc33.atlanta.com", "1928301774", "a6c85cf"});
}

TEST_CASE("UAC dialog keeps the From and To values, tags included, as local and remote URI") {
  auto d = dialog::create_uac(parse(alice_invite), bob_response(180));
  REQUIRE(d);
  CHECK(d->local_uri() == "Alice <sip:alice@atlanta.com>;tag=1928301774");
  CHECK(d->remote_uri() == "Bob <sip:bob@biloxi.com>;tag=a6c85cf");
}

TEST_CASE("UAC remote target is the Contact URI of the response, without angle brackets") {
  auto d = dialog::create_uac(parse(alice_invite),
                              bob_response(200, "a6c85cf", "Bob <sip:bob@192.0.2.4:5062>;q=0.5"));
  REQUIRE(d);
  CHECK(d->remote_target() == "sip:bob@192.0.2.4:5062");
}

TEST_CASE("UAC remote target is the first Contact of a comma list") {
  auto d = dialog::create_uac(parse(alice_invite),
                              bob_response(200, "a6c85cf", "<sip:bob@192.0.2.4>, <sip:bob@b.com>"));
  REQUIRE(d);
  CHECK(d->remote_target() == "sip:bob@192.0.2.4");
}

TEST_CASE("UAC dialog from a 180 without Contact targets the Request-URI until a 2xx") {
  auto d = dialog::create_uac(parse(alice_invite), bob_response(180, "a6c85cf", ""));
  REQUIRE(d);
  CHECK(d->remote_target() == "sip:bob@biloxi.com");
}

TEST_CASE("UAC local sequence number is the INVITE's CSeq and the remote one is empty") {
  auto d = dialog::create_uac(parse(alice_invite), bob_response(180));
  REQUIRE(d);
  CHECK(d->local_cseq() == 314159);
  CHECK_FALSE(d->remote_cseq().has_value());
}

TEST_CASE("UAC local contact is the Contact value of the INVITE") {
  auto d = dialog::create_uac(parse(alice_invite), bob_response(180));
  REQUIRE(d);
  CHECK(d->local_contact() == "<sip:alice@pc33.atlanta.com>");
}

TEST_CASE("UAC dialog without Record-Route has an empty route set") {
  auto d = dialog::create_uac(parse(alice_invite), bob_response(200));
  REQUIRE(d);
  CHECK(d->route_set().empty());
}

TEST_CASE("UAC dialog is not secure for a sip Request-URI") {
  auto d = dialog::create_uac(parse(alice_invite), bob_response(200));
  REQUIRE(d);
  CHECK_FALSE(d->secure());
}

TEST_CASE("UAC dialog is secure for a sips Request-URI") {
  auto invite = parse(alice_invite);
  invite.set_request_uri("sips:bob@biloxi.com");
  auto d = dialog::create_uac(invite, bob_response(200, "a6c85cf", "<sips:bob@192.0.2.4>"));
  REQUIRE(d);
  CHECK(d->secure());
}

TEST_CASE("create_uac refuses a response without a To tag") {
  auto rsp = bob_response(180, "");
  REQUIRE(rsp.to()->tag.empty());
  CHECK_FALSE(dialog::create_uac(parse(alice_invite), rsp));
}

TEST_CASE("create_uac refuses a 100 Trying") {
  CHECK_FALSE(dialog::create_uac(parse(alice_invite), bob_response(100)));
}

TEST_CASE("create_uac refuses a 2xx to INVITE without Contact") {
  CHECK_FALSE(dialog::create_uac(parse(alice_invite), bob_response(200, "a6c85cf", "")));
}

TEST_CASE("create_uac refuses a non-2xx final response") {
  CHECK_FALSE(dialog::create_uac(parse(alice_invite), bob_response(486)));
  CHECK_FALSE(dialog::create_uac(parse(alice_invite), bob_response(302)));
}

TEST_CASE("create_uac refuses a request without a From tag") {
  auto invite = parse(alice_invite);
  invite.set(header_id::from, "Alice <sip:alice@atlanta.com>");
  CHECK_FALSE(dialog::create_uac(invite, bob_response(200)));
}

TEST_CASE("create_uac refuses a request without Call-ID or CSeq") {
  auto no_call_id = parse(alice_invite);
  no_call_id.remove(header_id::call_id);
  CHECK_FALSE(dialog::create_uac(no_call_id, bob_response(200)));
  auto no_cseq = parse(alice_invite);
  no_cseq.remove(header_id::cseq);
  CHECK_FALSE(dialog::create_uac(no_cseq, bob_response(200)));
}

TEST_CASE("create_uac accepts a 2xx to SUBSCRIBE without Contact and targets the Request-URI") {
  auto subscribe = message::request("SUBSCRIBE", "sip:presentity@example.com");
  subscribe.add(header_id::from, "<sip:watcher@example.com>;tag=w1");
  subscribe.add(header_id::to, "<sip:presentity@example.com>");
  subscribe.add(header_id::call_id, "sub-1@example.com");
  subscribe.add(header_id::cseq, "7 SUBSCRIBE");
  subscribe.add(header_id::contact, "<sip:watcher@192.0.2.7>");
  auto ok = sipkit::parser::make_response(subscribe, 202, {}, "p1");
  auto d = dialog::create_uac(subscribe, ok);
  REQUIRE(d);
  CHECK(d->state() == dialog_state::confirmed);
  CHECK(d->remote_target() == "sip:presentity@example.com");
  CHECK(d->local_cseq() == 7);
}

// --- UAS (§12.1.1) ---------------------------------------------------------------------

TEST_CASE("UAS dialog made with our 180 is early") {
  auto invite = parse(invite_at_bob);
  auto d = dialog::create_uas(invite, bob_answer(invite, 180));
  REQUIRE(d);
  CHECK(d->role() == dialog_role::uas);
  CHECK(d->state() == dialog_state::early);
}

TEST_CASE("UAS dialog made with our 200 is confirmed") {
  auto invite = parse(invite_at_bob);
  auto d = dialog::create_uas(invite, bob_answer(invite, 200));
  REQUIRE(d);
  CHECK(d->state() == dialog_state::confirmed);
}

TEST_CASE("UAS dialog id is the Call-ID, our To tag as local and the From tag as remote tag") {
  auto invite = parse(invite_at_bob);
  auto d = dialog::create_uas(invite, bob_answer(invite, 180));
  REQUIRE(d);
  CHECK(d->id() == dialog_id{"a84b4c76e66710@pc33.atlanta.com", "a6c85cf", "1928301774"});
}

TEST_CASE("UAS local URI is our To with its tag and the remote URI the peer's From") {
  auto invite = parse(invite_at_bob);
  auto d = dialog::create_uas(invite, bob_answer(invite, 180));
  REQUIRE(d);
  CHECK(d->local_uri() == "Bob <sip:bob@biloxi.com>;tag=a6c85cf");
  CHECK(d->remote_uri() == "Alice <sip:alice@atlanta.com>;tag=1928301774");
}

TEST_CASE("UAS remote target is the Contact URI of the request") {
  auto invite = parse(invite_at_bob);
  auto d = dialog::create_uas(invite, bob_answer(invite, 180));
  REQUIRE(d);
  CHECK(d->remote_target() == "sip:alice@pc33.atlanta.com");
}

TEST_CASE("UAS remote sequence number is the INVITE's CSeq and the local one is 0") {
  auto invite = parse(invite_at_bob);
  auto d = dialog::create_uas(invite, bob_answer(invite, 200));
  REQUIRE(d);
  CHECK(d->remote_cseq() == 314159u);
  CHECK(d->local_cseq() == 0);
}

TEST_CASE("UAS local contact is the Contact value of our response") {
  auto invite = parse(invite_at_bob);
  auto d = dialog::create_uas(invite, bob_answer(invite, 200));
  REQUIRE(d);
  CHECK(d->local_contact() == "<sip:bob@192.0.2.4>");
}

TEST_CASE("UAS dialog with an RFC 2543 peer without From tag has an empty remote tag") {
  auto invite = parse(invite_at_bob);
  invite.set(header_id::from, "Alice <sip:alice@atlanta.com>");
  auto d = dialog::create_uas(invite, bob_answer(invite, 200));
  REQUIRE(d);
  CHECK(d->id() == dialog_id{"a84b4c76e66710@pc33.atlanta.com", "a6c85cf", ""});
}

TEST_CASE("create_uas refuses a response without our To tag") {
  auto invite = parse(invite_at_bob);
  auto rsp = sipkit::parser::make_response(invite, 180);
  rsp.add(header_id::contact, "<sip:bob@192.0.2.4>");
  CHECK_FALSE(dialog::create_uas(invite, rsp));
}

TEST_CASE("create_uas refuses a request without Contact") {
  auto invite = parse(invite_at_bob);
  invite.remove(header_id::contact);
  CHECK_FALSE(dialog::create_uas(invite, bob_answer(invite, 200)));
}

TEST_CASE("create_uas refuses a 100 and a non-2xx final response") {
  auto invite = parse(invite_at_bob);
  CHECK_FALSE(dialog::create_uas(invite, bob_answer(invite, 100)));
  CHECK_FALSE(dialog::create_uas(invite, bob_answer(invite, 486)));
}

// --- Dialog ids of incoming messages (§12.2.2) ------------------------------------------

TEST_CASE("incoming request dialog id takes the To tag as local and the From tag as remote") {
  auto bye = message::request("BYE", "sip:bob@192.0.2.4");
  bye.add(header_id::from, "Alice <sip:alice@atlanta.com>;tag=1928301774");
  bye.add(header_id::to, "Bob <sip:bob@biloxi.com>;tag=a6c85cf");
  bye.add(header_id::call_id, "a84b4c76e66710@pc33.atlanta.com");
  bye.add(header_id::cseq, "231 BYE");
  auto id = sipkit::dialog::incoming_request_dialog_id(bye);
  REQUIRE(id);
  CHECK(*id == dialog_id{"a84b4c76e66710@pc33.atlanta.com", "a6c85cf", "1928301774"});
}

TEST_CASE("incoming request without a To tag has no dialog id") {
  CHECK_FALSE(sipkit::dialog::incoming_request_dialog_id(parse(alice_invite)));
}

TEST_CASE("incoming response dialog id takes the From tag as local and the To tag as remote") {
  auto id = sipkit::dialog::incoming_response_dialog_id(bob_response(180));
  REQUIRE(id);
  CHECK(*id == dialog_id{"a84b4c76e66710@pc33.atlanta.com", "1928301774", "a6c85cf"});
}

TEST_CASE("incoming response without a To tag has no dialog id") {
  CHECK_FALSE(sipkit::dialog::incoming_response_dialog_id(bob_response(100, "")));
}

TEST_CASE("incoming response dialog id view: the same parts, pointing into the response") {
  const auto response = bob_response(180);
  auto view = sipkit::dialog::incoming_response_dialog_id_view(response);
  REQUIRE(view);
  CHECK(*view == dialog_id{"a84b4c76e66710@pc33.atlanta.com", "1928301774", "a6c85cf"});
  CHECK(*view == sipkit::dialog::incoming_response_dialog_id(response)->view());
  CHECK(view->call_id.data() == response.call_id().data());  // not a copy
  CHECK_FALSE(sipkit::dialog::incoming_response_dialog_id_view(bob_response(100, "")));
}

TEST_CASE("dialog ids that differ in any part are different and hash by all three parts") {
  const dialog_id a{"c@h", "l", "r"};
  const dialog_id b{"c@h", "l", "r2"};
  const dialog_id swapped{"c@h", "r", "l"};
  sipkit::dialog::dialog_id_hash h;
  CHECK(a == dialog_id{"c@h", "l", "r"});
  CHECK_FALSE(a == b);
  CHECK_FALSE(a == swapped);
  CHECK(h(a) == h(dialog_id{"c@h", "l", "r"}));
  CHECK(h(a) != h(swapped));
}

// --- Helpers ---------------------------------------------------------------------------

TEST_CASE("dialog states print as the RFC names them") {
  CHECK(sipkit::dialog::to_string(dialog_state::early) == "early");
  CHECK(sipkit::dialog::to_string(dialog_state::confirmed) == "confirmed");
  CHECK(sipkit::dialog::to_string(dialog_state::terminated) == "terminated");
}

TEST_CASE("INVITE, UPDATE, SUBSCRIBE, NOTIFY and REFER are target refresh methods") {
  using sipkit::dialog::is_target_refresh;
  using sipkit::parser::method;
  CHECK(is_target_refresh(method::invite));
  CHECK(is_target_refresh(method::update));
  CHECK(is_target_refresh(method::subscribe));
  CHECK(is_target_refresh(method::notify));
  CHECK(is_target_refresh(method::refer));
  CHECK_FALSE(is_target_refresh(method::bye));
  CHECK_FALSE(is_target_refresh(method::ack));
  CHECK_FALSE(is_target_refresh(method::cancel));
  CHECK_FALSE(is_target_refresh(method::info));
  CHECK_FALSE(is_target_refresh(method::prack));
  CHECK_FALSE(is_target_refresh(method::message));
  CHECK_FALSE(is_target_refresh(method::unknown));
}

TEST_CASE("terminate ends a dialog in any state") {
  auto d = dialog::create_uac(parse(alice_invite), bob_response(180));
  REQUIRE(d);
  d->terminate();
  CHECK(d->state() == dialog_state::terminated);
}
