// RFC 3515 transfer on a manual clock: the REFER, the transferee's NOTIFY sequence with
// message/sipfrag bodies, the transferor's reading of them, and the implicit
// subscription's expiry on both sides.
#include "sipkit/session/transfer.hpp"

#include <catch2/catch.hpp>
#include <chrono>
#include <memory>
#include <string>
#include <variant>

#include "sipkit/parser/message_view.hpp"
#include "support/sip_text.hpp"

using namespace std::chrono_literals;
using sipkit::parser::header_id;
using sipkit::parser::message;
using sipkit::session::time_point;
using sipkit::session::transferee;
using sipkit::session::transferor;

namespace {

const time_point t0{};

using sipkit::test::parse;  // tests/support/sip_text.hpp

constexpr std::string_view invite_text =
    "INVITE sip:bob@192.0.2.4 SIP/2.0\n"
    "Via: SIP/2.0/UDP 192.0.2.1:5060;branch=z9hG4bK776asdhds\n"
    "Max-Forwards: 70\n"
    "To: <sip:bob@example.com>\n"
    "From: \"Alice\" <sip:alice@example.com>;tag=1928301774\n"
    "Call-ID: a84b4c76e66710@192.0.2.1\n"
    "CSeq: 1 INVITE\n"
    "Contact: <sip:alice@192.0.2.1>\n"
    "Content-Length: 0\n"
    "\n";

// Alice's side of the call (she sent the INVITE).
sipkit::dialog::dialog alice_dialog() {
  auto inv = parse(invite_text);
  auto ok = sipkit::parser::make_response(inv, 200, {}, "bobtag");
  ok.add(header_id::contact, "<sip:bob@192.0.2.4>");
  auto d = sipkit::dialog::dialog::create_uac(inv, ok);
  REQUIRE(d);
  return *d;
}

// Bob's side of the same call.
sipkit::dialog::dialog bob_dialog() {
  auto inv = parse(invite_text);
  auto ok = sipkit::parser::make_response(inv, 200, {}, "bobtag");
  ok.add(header_id::contact, "<sip:bob@192.0.2.4>");
  auto d = sipkit::dialog::dialog::create_uas(inv, ok);
  REQUIRE(d);
  return *d;
}

message notify(std::string_view sub_state, std::string_view frag,
               std::string_view event = "refer") {
  auto n = message::request("NOTIFY", "sip:alice@192.0.2.1");
  n.add(header_id::event, event);
  n.add("Subscription-State", sub_state);
  n.set_body(frag, "message/sipfrag;version=2.0");
  return n;
}

}  // namespace

TEST_CASE("the transferor's REFER names the target in Refer-To and itself in Referred-By") {
  auto d = alice_dialog();
  auto refer = sipkit::session::make_refer(d, "sip:carol@192.0.2.9");
  CHECK(refer.method_text() == "REFER");
  CHECK(refer.request_uri() == "sip:bob@192.0.2.4");
  CHECK(refer.get(header_id::cseq) == "2 REFER");
  CHECK(refer.get(header_id::refer_to) == "<sip:carol@192.0.2.9>");
  CHECK(refer.get(header_id::referred_by) == "\"Alice\" <sip:alice@example.com>");
  CHECK(refer.get(header_id::contact) == "<sip:alice@192.0.2.1>");  // target refresh
}

TEST_CASE("a REFER needs exactly one parsable Refer-To") {
  auto refer = message::request("REFER", "sip:bob@192.0.2.4");
  CHECK_FALSE(sipkit::session::refer_target(refer));
  refer.add("r", "<sip:carol@192.0.2.9;transport=tcp>");
  REQUIRE(sipkit::session::refer_target(refer));
  CHECK(*sipkit::session::refer_target(refer) == "sip:carol@192.0.2.9;transport=tcp");
  refer.add(header_id::refer_to, "<sip:dave@192.0.2.10>");
  CHECK_FALSE(sipkit::session::refer_target(refer));
}

TEST_CASE("transferee notifies 100 Trying, the new call's progress, then its final status") {
  auto d = bob_dialog();
  transferee t(t0);
  auto trying = t.notify(d, 100, "Trying", t0);
  REQUIRE(trying);
  CHECK(trying->method_text() == "NOTIFY");
  CHECK(trying->request_uri() == "sip:alice@192.0.2.1");
  CHECK(trying->get(header_id::cseq) == "1 NOTIFY");
  CHECK(trying->get(header_id::event) == "refer");
  CHECK(trying->get("Subscription-State") == "active;expires=60");
  CHECK(trying->get(header_id::content_type) == "message/sipfrag;version=2.0");
  CHECK(trying->body() == "SIP/2.0 100 Trying\r\n");

  auto ringing = t.notify(d, 180, {}, t0 + 2500ms);
  REQUIRE(ringing);
  CHECK(ringing->get(header_id::cseq) == "2 NOTIFY");
  CHECK(ringing->get("Subscription-State") == "active;expires=58");  // what is left, rounded up
  CHECK(ringing->body() == "SIP/2.0 180 Ringing\r\n");

  auto ok = t.notify(d, 200, "OK", t0 + 5s);
  REQUIRE(ok);
  CHECK(ok->get("Subscription-State") == "terminated;reason=noresource");
  CHECK(ok->body() == "SIP/2.0 200 OK\r\n");
  CHECK(t.current_state() == transferee::state::terminated);
  CHECK_FALSE(t.next_deadline());
  CHECK_FALSE(t.notify(d, 200, "OK", t0 + 6s));  // nothing after the final NOTIFY
}

TEST_CASE("transferee that declines after the 202 notifies 603 and ends the subscription") {
  auto d = bob_dialog();
  transferee t(t0);
  REQUIRE(t.notify(d, 100, "Trying", t0));
  auto declined = t.decline(d, t0 + 10ms);
  REQUIRE(declined);
  CHECK(declined->body() == "SIP/2.0 603 Declined\r\n");
  CHECK(declined->get("Subscription-State") == "terminated;reason=noresource");
}

TEST_CASE("transferee ends the implicit subscription at its expiry with reason=timeout") {
  auto d = bob_dialog();
  transferee t(t0, 60s);
  REQUIRE(t.notify(d, 100, "Trying", t0));
  REQUIRE(t.notify(d, 180, "Ringing", t0 + 1s));
  CHECK(*t.deadline(transferee::timer::expiry) == t0 + 60s);
  CHECK(t.on_timer(t0 + 59999ms, d).empty());
  auto acts = t.on_timer(t0 + 60s, d);
  REQUIRE(acts.size() == 1);
  const auto& last = std::get<transferee::send_request>(acts[0]).request;
  CHECK(last.get("Subscription-State") == "terminated;reason=timeout");
  CHECK(last.body() == "SIP/2.0 180 Ringing\r\n");
  CHECK(t.current_state() == transferee::state::terminated);
}

TEST_CASE("transferee stops notifying when a NOTIFY is rejected") {
  auto d = bob_dialog();
  transferee t(t0);
  auto n = t.notify(d, 100, "Trying", t0);
  REQUIRE(n);
  t.on_notify_response(sipkit::parser::make_response(*n, 481));
  CHECK(t.current_state() == transferee::state::terminated);
  CHECK_FALSE(t.notify(d, 180, {}, t0 + 1s));
}

TEST_CASE("transferor reports each sipfrag status and ends on the terminated NOTIFY") {
  transferor t;
  auto refer = message::request("REFER", "sip:bob@192.0.2.4");
  refer.add(header_id::cseq, "2 REFER");
  CHECK(t.on_refer_response(sipkit::parser::make_response(refer, 202), t0));
  CHECK(t.current_state() == transferor::state::accepted);

  auto r1 = t.on_notify(notify("active;expires=60", "SIP/2.0 100 Trying\r\n"), t0 + 10ms);
  CHECK(r1.status == 200);
  CHECK(r1.progress == 100);
  CHECK_FALSE(r1.final);
  CHECK(*t.next_deadline() == t0 + 10ms + 60s);

  auto r2 = t.on_notify(notify("active;expires=58", "SIP/2.0 180 Ringing\r\n"), t0 + 2s);
  CHECK(r2.progress == 180);
  CHECK(*t.next_deadline() == t0 + 60s);

  auto r3 = t.on_notify(notify("terminated;reason=noresource", "SIP/2.0 200 OK\r\n"), t0 + 5s);
  CHECK(r3.status == 200);
  CHECK(r3.progress == 200);
  CHECK(r3.final);
  CHECK(t.current_state() == transferor::state::terminated);
  CHECK_FALSE(t.next_deadline());

  // A NOTIFY after the end: the subscription is gone (481).
  auto late = t.on_notify(notify("terminated", "SIP/2.0 200 OK\r\n"), t0 + 6s);
  CHECK(late.status == 481);
  CHECK_FALSE(late.progress);
}

TEST_CASE("transferor answers a NOTIFY of another event package 489") {
  transferor t;
  auto r = t.on_notify(notify("active", "x", "presence"), t0);
  CHECK(r.status == 489);
  CHECK_FALSE(r.progress);
}

TEST_CASE("transferor: a rejected REFER creates no subscription") {
  transferor t;
  auto refer = message::request("REFER", "sip:bob@192.0.2.4");
  refer.add(header_id::cseq, "2 REFER");
  CHECK_FALSE(t.on_refer_response(sipkit::parser::make_response(refer, 603), t0));
  CHECK(t.current_state() == transferor::state::terminated);
}

TEST_CASE("transferor ends the subscription when no NOTIFY comes by the expires it was given") {
  transferor t;
  auto refer = message::request("REFER", "sip:bob@192.0.2.4");
  refer.add(header_id::cseq, "2 REFER");
  REQUIRE(t.on_refer_response(sipkit::parser::make_response(refer, 202), t0));
  REQUIRE(t.on_notify(notify("active;expires=30", "SIP/2.0 100 Trying\r\n"), t0).status == 200);
  CHECK(t.on_timer(t0 + 29s).empty());
  auto acts = t.on_timer(t0 + 30s);
  REQUIRE(acts.size() == 1);
  CHECK(std::holds_alternative<transferor::expired>(acts[0]));
  CHECK(t.current_state() == transferor::state::terminated);
}

TEST_CASE("sipfrag status is read from the status line only") {
  CHECK(sipkit::session::sipfrag_status("SIP/2.0 486 Busy Here\r\n") == 486);
  CHECK_FALSE(sipkit::session::sipfrag_status("INVITE sip:x SIP/2.0\r\n"));
  CHECK_FALSE(sipkit::session::sipfrag_status("SIP/2.0 4x6 Busy\r\n"));
}
