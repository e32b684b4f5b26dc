// RFC 3262 reliable provisional responses on a manual clock: the UAS's RSeq, retransmission
// schedule, PRACK matching and give-up; the UAC's in-order acceptance and PRACK.
#include "sipkit/session/reliable_provisional.hpp"

#include <catch2/catch.hpp>
#include <chrono>
#include <memory>
#include <string>
#include <variant>
#include <vector>

#include "sipkit/parser/message_view.hpp"
#include "sipkit/session/error.hpp"
#include "support/sip_text.hpp"

using namespace std::chrono_literals;
using sipkit::parser::header_id;
using sipkit::parser::message;
using sipkit::session::reliable_provisional_uac;
using sipkit::session::reliable_provisional_uas;
using sipkit::session::time_point;

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
    "CSeq: 314159 INVITE\n"
    "Contact: <sip:alice@192.0.2.1>\n"
    "Supported: 100rel\n"
    "Content-Length: 0\n"
    "\n";

message invite() { return parse(invite_text); }

message ringing(std::string_view to_tag = "bobtag") {
  auto rsp = sipkit::parser::make_response(invite(), 180, {}, to_tag);
  rsp.add(header_id::contact, "<sip:bob@192.0.2.4>");
  return rsp;
}

message prack(std::string_view rack_value) {
  auto req = message::request("PRACK", "sip:bob@192.0.2.4");
  req.add(header_id::cseq, "314160 PRACK");
  req.add("RAck", rack_value);
  return req;
}

long long ms(time_point t) {
  return std::chrono::duration_cast<std::chrono::milliseconds>(t - t0).count();
}

// Drives the machine to each deadline up to `until`; returns the times of retransmissions
// and of the give-up (negative).
std::vector<long long> run(reliable_provisional_uas& rp, time_point until) {
  std::vector<long long> out;
  while (auto d = rp.next_deadline()) {
    if (*d > until) break;
    for (const auto& a : rp.on_timer(*d)) {
      if (const auto* r = std::get_if<reliable_provisional_uas::retransmit>(&a)) {
        CHECK(r->response->status_code() == 180);
        out.push_back(ms(*d));
      } else {
        CHECK(std::get<reliable_provisional_uas::unacknowledged>(a).code ==
              sipkit::session::error::provisional_unacknowledged);
        out.push_back(-ms(*d));
      }
    }
  }
  return out;
}

// A reliable 180 answered by a UAC dialog: the UAC's early dialog made from it.
sipkit::dialog::dialog early_dialog(const message& provisional) {
  auto d = sipkit::dialog::dialog::create_uac(invite(), provisional);
  REQUIRE(d);
  return *d;
}

message reliable_180(std::uint32_t rseq, std::string_view to_tag = "bobtag") {
  auto rsp = ringing(to_tag);
  rsp.add(header_id::require, "100rel");
  rsp.add("RSeq", std::to_string(rseq));
  return rsp;
}

}  // namespace

// ------------------------------------------------------------------------------ UAS

TEST_CASE("reliable 1xx carries Require: 100rel and the caller's first RSeq, then RSeq + 1") {
  reliable_provisional_uas rp(invite(), 4711);
  auto first = ringing();
  REQUIRE_FALSE(rp.send(first, t0));
  CHECK(first.get(header_id::require) == "100rel");
  CHECK(first.get("RSeq") == "4711");
  CHECK(rp.current_state() == reliable_provisional_uas::state::awaiting_prack);
  CHECK(rp.on_prack(prack("4711 314159 INVITE"), t0 + 100ms).status == 200);
  auto second = ringing();
  REQUIRE_FALSE(rp.send(second, t0 + 200ms));
  CHECK(second.get("RSeq") == "4712");
  CHECK(rp.last_rseq() == 4712);
}

TEST_CASE("reliable 1xx is retransmitted at T1 doubling without cap, 5xx report at 64*T1") {
  reliable_provisional_uas rp(invite(), 1);
  auto r = ringing();
  REQUIRE_FALSE(rp.send(r, t0));
  CHECK(ms(*rp.deadline(reliable_provisional_uas::timer::give_up)) == 32000);
  auto times = run(rp, t0 + 100s);
  CHECK(times == std::vector<long long>{500, 1500, 3500, 7500, 15500, 31500, -32000});
  CHECK(rp.current_state() == reliable_provisional_uas::state::gave_up);
  CHECK_FALSE(rp.next_deadline());
}

TEST_CASE("reliable 1xx retransmission is the same response with the same RSeq") {
  reliable_provisional_uas rp(invite(), 77);
  auto r = ringing();
  REQUIRE_FALSE(rp.send(r, t0));
  auto acts = rp.on_timer(t0 + 500ms);
  REQUIRE(acts.size() == 1);
  const auto* again = std::get<reliable_provisional_uas::retransmit>(acts[0]).response;
  CHECK(again->serialize() == r.serialize());
}

TEST_CASE("reliable 1xx: a T1 of 100 ms gives retransmits at 100, 300, 700 ms and up at 6.4 s") {
  sipkit::session::timer_config timers;
  timers.t1 = 100ms;
  reliable_provisional_uas rp(invite(), 1, timers);
  auto r = ringing();
  REQUIRE_FALSE(rp.send(r, t0));
  auto times = run(rp, t0 + 10s);
  CHECK(times == std::vector<long long>{100, 300, 700, 1500, 3100, 6300, -6400});
}

TEST_CASE("a matching PRACK is answered 200 and stops the retransmissions") {
  reliable_provisional_uas rp(invite(), 9);
  auto r = ringing();
  REQUIRE_FALSE(rp.send(r, t0));
  REQUIRE(run(rp, t0 + 2s) == std::vector<long long>{500, 1500});
  auto res = rp.on_prack(prack("9 314159 INVITE"), t0 + 2s);
  CHECK(res.status == 200);
  CHECK(res.acknowledged);
  CHECK_FALSE(rp.next_deadline());
  CHECK(rp.current_state() == reliable_provisional_uas::state::idle);
}

TEST_CASE("a reliable 1xx sent after the PRACK of the first has its own schedule") {
  reliable_provisional_uas rp(invite(), 9);
  auto first = ringing();
  REQUIRE_FALSE(rp.send(first, t0));
  REQUIRE(rp.on_prack(prack("9 314159 INVITE"), t0 + 200ms).acknowledged);
  auto progress = sipkit::parser::make_response(invite(), 183, {}, "bobtag");
  REQUIRE_FALSE(rp.send(progress, t0 + 10s));
  CHECK(progress.get("RSeq") == "10");
  CHECK(ms(*rp.deadline(reliable_provisional_uas::timer::retransmit)) == 10500);
  CHECK(ms(*rp.deadline(reliable_provisional_uas::timer::give_up)) == 42000);
  CHECK(rp.on_prack(prack("9 314159 INVITE"), t0 + 11s).status == 481);  // the old one
  CHECK(rp.on_prack(prack("10 314159 INVITE"), t0 + 11s).status == 200);
}

TEST_CASE("a PRACK whose RAck names another RSeq, CSeq or method is answered 481") {
  reliable_provisional_uas rp(invite(), 9);
  auto r = ringing();
  REQUIRE_FALSE(rp.send(r, t0));
  CHECK(rp.on_prack(prack("8 314159 INVITE"), t0).status == 481);
  CHECK(rp.on_prack(prack("9 314158 INVITE"), t0).status == 481);
  CHECK(rp.on_prack(prack("9 314159 UPDATE"), t0).status == 481);
  CHECK(rp.on_prack(prack("garbage"), t0).status == 481);
  CHECK(rp.on_prack(message::request("PRACK", "sip:bob@192.0.2.4"), t0).status == 481);
  // Still waiting: the retransmissions go on.
  CHECK(ms(*rp.next_deadline()) == 500);
  CHECK(rp.current_state() == reliable_provisional_uas::state::awaiting_prack);
}

TEST_CASE("a second reliable 1xx while the first is unacknowledged is refused") {
  reliable_provisional_uas rp(invite(), 5);
  auto first = ringing();
  REQUIRE_FALSE(rp.send(first, t0));
  auto second = sipkit::parser::make_response(invite(), 183, {}, "bobtag");
  const auto before = second.serialize();
  CHECK(rp.send(second, t0 + 10ms) == sipkit::session::error::request_pending);
  CHECK(second.serialize() == before);  // untouched: it may still go out unreliably
  CHECK(rp.last_rseq() == 5);
}

TEST_CASE("the final response stops the retransmissions; a late PRACK still gets 200") {
  reliable_provisional_uas rp(invite(), 5);
  auto r = ringing();
  REQUIRE_FALSE(rp.send(r, t0));
  rp.on_final_response();
  CHECK_FALSE(rp.next_deadline());
  CHECK(rp.current_state() == reliable_provisional_uas::state::completed);
  auto late = rp.on_prack(prack("5 314159 INVITE"), t0 + 1s);
  CHECK(late.status == 200);
  CHECK_FALSE(late.acknowledged);
  auto more = ringing();
  CHECK(rp.send(more, t0 + 2s) == sipkit::session::error::invalid_state);
}

TEST_CASE("send() of a 100 or a final response is misuse") {
  reliable_provisional_uas rp(invite(), 5);
  auto trying = sipkit::parser::make_response(invite(), 100);
  CHECK_THROWS_AS(rp.send(trying, t0), std::invalid_argument);
}

// ------------------------------------------------------------------------------ UAC

TEST_CASE("UAC PRACKs the first reliable 1xx with RAck <RSeq> <CSeq> INVITE in its dialog") {
  reliable_provisional_uac rp;
  auto r = reliable_180(7);
  auto d = early_dialog(r);
  auto res = rp.on_provisional(r, d);
  CHECK(res.what == reliable_provisional_uac::verdict::acknowledge);
  REQUIRE(res.prack);
  CHECK(res.prack->method_text() == "PRACK");
  CHECK(res.prack->request_uri() == "sip:bob@192.0.2.4");
  CHECK(res.prack->get("RAck") == "7 314159 INVITE");
  CHECK(res.prack->get(header_id::cseq) == "314160 PRACK");
  CHECK(res.prack->get(header_id::to) == "<sip:bob@example.com>;tag=bobtag");
  CHECK(rp.last_rseq("bobtag") == 7);
}

TEST_CASE("UAC ignores a retransmitted reliable 1xx and accepts RSeq + 1") {
  reliable_provisional_uac rp;
  auto d = early_dialog(reliable_180(7));
  REQUIRE(rp.on_provisional(reliable_180(7), d).prack);
  auto again = rp.on_provisional(reliable_180(7), d);
  CHECK(again.what == reliable_provisional_uac::verdict::retransmission);
  CHECK_FALSE(again.prack);
  CHECK(rp.on_provisional(reliable_180(6), d).what ==
        reliable_provisional_uac::verdict::retransmission);
  auto next = rp.on_provisional(reliable_180(8), d);
  CHECK(next.what == reliable_provisional_uac::verdict::acknowledge);
  REQUIRE(next.prack);
  CHECK(next.prack->get("RAck") == "8 314159 INVITE");
  CHECK(next.prack->get(header_id::cseq) == "314161 PRACK");
}

TEST_CASE("UAC neither PRACKs nor processes a reliable 1xx that skips an RSeq") {
  reliable_provisional_uac rp;
  auto d = early_dialog(reliable_180(7));
  REQUIRE(rp.on_provisional(reliable_180(7), d).prack);
  auto skip = rp.on_provisional(reliable_180(9), d);
  CHECK(skip.what == reliable_provisional_uac::verdict::out_of_order);
  CHECK_FALSE(skip.prack);
  CHECK(rp.last_rseq("bobtag") == 7);
  CHECK(rp.on_provisional(reliable_180(8), d).what ==
        reliable_provisional_uac::verdict::acknowledge);
}

TEST_CASE("UAC numbers RSeqs per early dialog: forks start independently") {
  reliable_provisional_uac rp;
  auto d1 = early_dialog(reliable_180(7, "fork1"));
  auto d2 = early_dialog(reliable_180(300, "fork2"));
  CHECK(rp.on_provisional(reliable_180(7, "fork1"), d1).what ==
        reliable_provisional_uac::verdict::acknowledge);
  auto other = rp.on_provisional(reliable_180(300, "fork2"), d2);
  CHECK(other.what == reliable_provisional_uac::verdict::acknowledge);
  REQUIRE(other.prack);
  CHECK(other.prack->get(header_id::to) == "<sip:bob@example.com>;tag=fork2");
  CHECK(rp.last_rseq("fork1") == 7);
  CHECK(rp.last_rseq("fork2") == 300);
}

TEST_CASE("UAC treats a 1xx without Require: 100rel as unreliable, one without RSeq as invalid") {
  reliable_provisional_uac rp;
  auto plain = ringing();
  auto d = early_dialog(plain);
  CHECK(rp.on_provisional(plain, d).what == reliable_provisional_uac::verdict::unreliable);
  auto no_rseq = ringing();
  no_rseq.add(header_id::require, "100rel");
  auto res = rp.on_provisional(no_rseq, d);
  CHECK(res.what == reliable_provisional_uac::verdict::invalid);
  CHECK_FALSE(res.prack);
}

// ------------------------------------------------------------------------ predicates

TEST_CASE("100rel support is read from Supported or Require, in any list position") {
  CHECK(sipkit::session::supports_100rel(invite()));
  auto req = message::request("INVITE", "sip:bob@192.0.2.4");
  CHECK_FALSE(sipkit::session::supports_100rel(req));
  req.add(header_id::require, "timer, 100rel");
  CHECK(sipkit::session::supports_100rel(req));
  CHECK(sipkit::session::requires_100rel(req));
  CHECK_FALSE(sipkit::session::requires_100rel(invite()));
}

TEST_CASE("an INVITE requiring 100rel is answered 420 with Unsupported when we do not support it") {
  auto inv = invite();
  inv.add(header_id::require, "100rel");
  auto refusal = sipkit::session::refuse_100rel(inv, false, "uastag");
  REQUIRE(refusal);
  CHECK(refusal->status_code() == 420);
  CHECK(refusal->get(header_id::unsupported) == "100rel");
  CHECK(refusal->get(header_id::to) == "<sip:bob@example.com>;tag=uastag");
  CHECK_FALSE(sipkit::session::refuse_100rel(inv, true, "uastag"));
  CHECK_FALSE(sipkit::session::refuse_100rel(invite(), false, "uastag"));  // only Supported
}

TEST_CASE("RAck is read with any LWS and written as <rseq> <cseq> <method>") {
  auto r = sipkit::session::read_rack(prack("  12   314159  INVITE "));
  REQUIRE(r);
  CHECK(r->rseq == 12);
  CHECK(r->cseq == 314159);
  CHECK(r->method == "INVITE");
  CHECK(r->to_string() == "12 314159 INVITE");
  CHECK_FALSE(sipkit::session::read_rack(prack("0 1 INVITE")));  // RSeq 0 is not valid
}
