// RFC 4028 session timers on a manual clock: negotiation (UAC offer, 422 retry, UAS
// choice of refresher) and the schedule (refresh at half the interval, BYE at
// interval - min(32 s, interval/3), restarts on refresh).
#include "sipkit/session/session_timer.hpp"

#include <catch2/catch.hpp>
#include <chrono>
#include <memory>
#include <string>
#include <variant>

#include "sipkit/parser/message_view.hpp"
#include "sipkit/session/error.hpp"
#include "support/sip_text.hpp"

using namespace std::chrono_literals;
using sipkit::parser::header_id;
using sipkit::parser::message;
using sipkit::session::session_timer;
using sipkit::session::time_point;
using state = sipkit::session::session_timer::state;

namespace {

const time_point t0{};

using sipkit::test::parse;  // tests/support/sip_text.hpp

constexpr std::string_view invite_text =
    "INVITE sip:bob@192.0.2.4 SIP/2.0\n"
    "Via: SIP/2.0/UDP 192.0.2.1:5060;branch=z9hG4bK776asdhds\n"
    "Max-Forwards: 70\n"
    "To: <sip:bob@example.com>\n"
    "From: <sip:alice@example.com>;tag=1928301774\n"
    "Call-ID: a84b4c76e66710@192.0.2.1\n"
    "CSeq: 1 INVITE\n"
    "Contact: <sip:alice@192.0.2.1>\n"
    "Content-Length: 0\n"
    "\n";

message invite(std::string_view extra_headers = {}) {
  std::string text(invite_text);
  text.insert(text.find("Content-Length"), extra_headers);
  return parse(text);
}

message ok_for(const message& inv, std::string_view session_expires = {}) {
  auto ok = sipkit::parser::make_response(inv, 200, {}, "bobtag");
  ok.add(header_id::contact, "<sip:bob@192.0.2.4>");
  if (!session_expires.empty()) ok.add(header_id::session_expires, session_expires);
  return ok;
}

sipkit::dialog::dialog confirmed_dialog() {
  auto inv = invite();
  auto d = sipkit::dialog::dialog::create_uac(inv, ok_for(inv));
  REQUIRE(d);
  return *d;
}

sipkit::session::session_timer_config config(std::chrono::seconds se, std::chrono::seconds min_se) {
  sipkit::session::session_timer_config c;
  c.session_expires = se;
  c.min_se = min_se;
  return c;
}

time_point at(std::chrono::milliseconds d) { return t0 + d; }

}  // namespace

// ------------------------------------------------------------------ UAC negotiation

TEST_CASE("UAC INVITE asks for the interval: Supported: timer, Session-Expires, Min-SE") {
  session_timer st(config(1800s, 90s));
  auto inv = invite();
  st.add_to_invite(inv);
  CHECK(inv.get(header_id::supported) == "timer");
  CHECK(inv.get(header_id::session_expires) == "1800");
  CHECK(inv.get("Min-SE") == "90");
  CHECK(st.current_state() == state::offered);
}

TEST_CASE("UAC without a configured interval only says Supported: timer") {
  session_timer st(config(0s, 90s));
  auto inv = invite();
  st.add_to_invite(inv);
  CHECK(inv.get(header_id::supported) == "timer");
  CHECK_FALSE(inv.get(header_id::session_expires));
  CHECK_FALSE(inv.get("Min-SE"));
  CHECK(st.current_state() == state::inactive);
}

TEST_CASE("422 round trip: the retry asks for the UAS's Min-SE, at most twice") {
  session_timer st(config(90s, 90s));
  auto inv = invite();
  st.add_to_invite(inv);
  auto too_small = sipkit::parser::make_response(inv, 422, {}, "bobtag");
  too_small.add("Min-SE", "600");
  auto retry = inv;
  REQUIRE(st.on_422(too_small, retry));
  CHECK(retry.get(header_id::session_expires) == "600");
  CHECK(retry.get("Min-SE") == "600");
  too_small.set("Min-SE", "1200");
  REQUIRE(st.on_422(too_small, retry));
  CHECK(retry.get(header_id::session_expires) == "1200");
  CHECK(retry.get("Min-SE") == "1200");
  CHECK_FALSE(st.on_422(too_small, retry));  // a third 422 ends the attempt
}

TEST_CASE("UAC refresher refreshes with an UPDATE at half the interval") {
  session_timer st(config(1800s, 90s));
  auto inv = invite();
  st.add_to_invite(inv);
  st.on_2xx(ok_for(inv, "1800;refresher=uac"), t0);
  CHECK(st.current_state() == state::refreshing);
  CHECK(st.interval() == 1800s);
  REQUIRE(st.next_deadline());
  CHECK(*st.next_deadline() == at(900s));
  auto d = confirmed_dialog();
  CHECK(st.on_timer(at(899s), d).empty());
  auto acts = st.on_timer(at(900s), d);
  REQUIRE(acts.size() == 1);
  const auto& req = std::get<session_timer::send_request>(acts[0]).request;
  CHECK(req.method_text() == "UPDATE");
  CHECK(req.request_uri() == "sip:bob@192.0.2.4");
  CHECK(req.get(header_id::cseq) == "2 UPDATE");
  CHECK(req.get(header_id::session_expires) == "1800;refresher=uac");
  CHECK(req.get(header_id::supported) == "timer");
  CHECK(req.body().empty());
  CHECK(st.current_state() == state::refresh_sent);
  CHECK_FALSE(st.next_deadline());
}

TEST_CASE("2xx to our refresh restarts the schedule from its arrival") {
  session_timer st(config(1800s, 90s));
  auto inv = invite();
  st.add_to_invite(inv);
  st.on_2xx(ok_for(inv, "1800;refresher=uac"), t0);
  auto d = confirmed_dialog();
  auto acts = st.on_timer(at(900s), d);
  REQUIRE(acts.size() == 1);
  const auto& update = std::get<session_timer::send_request>(acts[0]).request;
  auto ok = sipkit::parser::make_response(update, 200);
  ok.add(header_id::session_expires, "1200;refresher=uac");
  CHECK(st.on_refresh_response(ok, at(901s)).empty());
  CHECK(st.interval() == 1200s);
  CHECK(*st.next_deadline() == at(901s + 600s));
}

TEST_CASE("481 or 408 to our refresh ends the session") {
  session_timer st(config(90s, 90s));
  auto inv = invite();
  st.add_to_invite(inv);
  st.on_2xx(ok_for(inv, "90;refresher=uac"), t0);
  auto d = confirmed_dialog();
  auto acts = st.on_timer(at(45s), d);
  REQUIRE(acts.size() == 1);
  auto gone =
      sipkit::parser::make_response(std::get<session_timer::send_request>(acts[0]).request, 481);
  auto out = st.on_refresh_response(gone, at(46s));
  REQUIRE(out.size() == 1);
  CHECK(std::get<session_timer::refresh_failed>(out[0]).status == 481);
  CHECK(st.current_state() == state::inactive);
  CHECK_FALSE(st.next_deadline());
}

TEST_CASE("another error to our refresh retries half an interval later") {
  session_timer st(config(90s, 90s));
  auto inv = invite();
  st.add_to_invite(inv);
  st.on_2xx(ok_for(inv, "90;refresher=uac"), t0);
  auto d = confirmed_dialog();
  auto acts = st.on_timer(at(45s), d);
  REQUIRE(acts.size() == 1);
  auto busy =
      sipkit::parser::make_response(std::get<session_timer::send_request>(acts[0]).request, 500);
  CHECK(st.on_refresh_response(busy, at(46s)).empty());
  CHECK(*st.next_deadline() == at(91s));
}

TEST_CASE("UAC that is not the refresher sends BYE at interval - min(32 s, interval/3)") {
  SECTION("1800 s: 32 s before the end") {
    session_timer st(config(1800s, 90s));
    auto inv = invite();
    st.add_to_invite(inv);
    st.on_2xx(ok_for(inv, "1800;refresher=uas"), t0);
    CHECK(st.current_state() == state::awaiting_refresh);
    CHECK(*st.next_deadline() == at(1768s));
    auto d = confirmed_dialog();
    auto acts = st.on_timer(at(1768s), d);
    REQUIRE(acts.size() == 1);
    CHECK(std::get<session_timer::expired_event>(acts[0]).code ==
          sipkit::session::error::session_expired);
    CHECK(st.current_state() == state::expired);
  }
  SECTION("90 s: a third before the end") {
    session_timer st(config(90s, 90s));
    auto inv = invite();
    st.add_to_invite(inv);
    st.on_2xx(ok_for(inv, "90;refresher=uas"), t0);
    CHECK(*st.next_deadline() == at(60s));
  }
}

TEST_CASE("2xx without Session-Expires means no session timer") {
  session_timer st(config(1800s, 90s));
  auto inv = invite();
  st.add_to_invite(inv);
  st.on_2xx(ok_for(inv), t0);
  CHECK(st.current_state() == state::inactive);
  CHECK(st.interval() == 0s);
  CHECK_FALSE(st.next_deadline());
}

// ------------------------------------------------------------------ UAS negotiation

TEST_CASE("UAS answers an interval below its Min-SE with 422 and Min-SE") {
  session_timer st(config(0s, 90s));
  auto inv = invite("Supported: timer\nSession-Expires: 60\n");
  CHECK(st.on_invite(inv) == 422);
  auto rsp = sipkit::parser::make_response(inv, 422, {}, "bobtag");
  st.add_min_se(rsp);
  CHECK(rsp.get("Min-SE") == "90");
  CHECK(st.current_state() == state::inactive);
}

TEST_CASE("UAS takes the UAC's refresher: Session-Expires and Require: timer in the 2xx") {
  session_timer st(config(0s, 90s));
  auto inv = invite("Supported: timer\nSession-Expires: 1800;refresher=uac\n");
  REQUIRE(st.on_invite(inv) == 0);
  CHECK(st.current_state() == state::negotiated);
  auto ok = ok_for(inv);
  st.add_to_2xx(ok);
  CHECK(ok.get(header_id::session_expires) == "1800;refresher=uac");
  CHECK(ok.get(header_id::require) == "timer");
  CHECK_FALSE(st.next_deadline());  // not before the ACK
  st.start(at(2s));
  CHECK(st.current_state() == state::awaiting_refresh);
  CHECK(*st.next_deadline() == at(2s + 1768s));
}

TEST_CASE("UAS refreshes itself when the UAC does not support timer") {
  session_timer st(config(0s, 90s));
  auto inv = invite("Session-Expires: 1800\n");  // a proxy asked; no Supported: timer
  REQUIRE(st.on_invite(inv) == 0);
  auto ok = ok_for(inv);
  st.add_to_2xx(ok);
  CHECK(ok.get(header_id::session_expires) == "1800;refresher=uas");
  CHECK_FALSE(ok.get(header_id::require));
  st.start(t0);
  CHECK(st.current_state() == state::refreshing);
  CHECK(*st.next_deadline() == at(900s));
}

TEST_CASE("UAS makes the UAC refresh when it supports timer and chose no refresher") {
  session_timer st(config(0s, 90s));
  auto inv = invite("Supported: timer\nSession-Expires: 600\n");
  REQUIRE(st.on_invite(inv) == 0);
  auto ok = ok_for(inv);
  st.add_to_2xx(ok);
  CHECK(ok.get(header_id::session_expires) == "600;refresher=uac");
  CHECK(ok.get(header_id::require) == "timer");
}

TEST_CASE("UAS uses its configured interval when the INVITE asks none") {
  session_timer st(config(1800s, 90s));
  auto inv = invite("Supported: timer\n");
  REQUIRE(st.on_invite(inv) == 0);
  auto ok = ok_for(inv);
  st.add_to_2xx(ok);
  CHECK(ok.get(header_id::session_expires) == "1800;refresher=uac");
}

TEST_CASE("UAS without a configured interval and an INVITE asking none runs no timer") {
  session_timer st(config(0s, 90s));
  auto inv = invite("Supported: timer\n");
  CHECK(st.on_invite(inv) == 0);
  CHECK(st.current_state() == state::inactive);
  auto ok = ok_for(inv);
  const auto before = ok.serialize();
  st.add_to_2xx(ok);
  CHECK(ok.serialize() == before);
}

// ------------------------------------------------------------------ refresh received

TEST_CASE("a refresh from the peer restarts the expiry and is answered with the interval") {
  session_timer st(config(0s, 90s));
  auto inv = invite("Supported: timer\nSession-Expires: 1800;refresher=uac\n");
  REQUIRE(st.on_invite(inv) == 0);
  st.start(t0);
  auto update = message::request("UPDATE", "sip:bob@192.0.2.4");
  update.add(header_id::session_expires, "1800;refresher=uac");
  auto ok = sipkit::parser::make_response(update, 200);
  st.on_refresh_request(update, ok, at(900s));
  CHECK(ok.get(header_id::session_expires) == "1800;refresher=uac");
  CHECK(ok.get(header_id::require) == "timer");
  CHECK(*st.next_deadline() == at(900s + 1768s));
  CHECK(st.current_state() == state::awaiting_refresh);
}

TEST_CASE("a refresh naming us (refresher=uas) makes us the refresher") {
  session_timer st(config(0s, 90s));
  auto inv = invite("Supported: timer\nSession-Expires: 1800;refresher=uac\n");
  REQUIRE(st.on_invite(inv) == 0);
  st.start(t0);
  auto reinvite = message::request("INVITE", "sip:bob@192.0.2.4");
  reinvite.add(header_id::session_expires, "1200;refresher=uas");
  auto ok = sipkit::parser::make_response(reinvite, 200);
  st.on_refresh_request(reinvite, ok, at(100s));
  CHECK(ok.get(header_id::session_expires) == "1200;refresher=uas");
  CHECK_FALSE(ok.get(header_id::require));
  CHECK(st.current_state() == state::refreshing);
  CHECK(*st.next_deadline() == at(700s));
}

TEST_CASE("Session-Expires and Min-SE are read with parameters and the compact form") {
  auto m = message::request("INVITE", "sip:bob@192.0.2.4");
  m.add("x", "1800 ; refresher=UAS");
  auto se = sipkit::session::read_session_expires(m);
  REQUIRE(se);
  CHECK(se->interval == 1800s);
  CHECK(se->who == sipkit::session::refresher::uas);
  CHECK(sipkit::session::read_min_se(m) == 90s);  // §4: 90 s when absent
  m.add("Min-SE", "120");
  CHECK(sipkit::session::read_min_se(m) == 120s);
  auto zero = message::request("INVITE", "sip:bob@192.0.2.4");
  zero.add(header_id::session_expires, "0");
  CHECK_FALSE(sipkit::session::read_session_expires(zero));
}
