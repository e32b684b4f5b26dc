// The RFC 6665 subscriber machine on a manual clock: exact SUBSCRIBEs, NOTIFY answers,
// refresh times and Timer N.
#include <catch2/catch.hpp>
#include <chrono>

#include "sipkit/session/error.hpp"
#include "sipkit/session/subscription.hpp"

namespace {

using namespace std::chrono_literals;
using sipkit::parser::header_id;
using sipkit::parser::message;
using sipkit::session::subscriber;
using sipkit::session::subscription_state;
using sipkit::session::time_point;
using sipkit::transaction::transaction_id;
using st = subscriber::state;

const time_point t0{};
const transaction_id tx{7, 1};

subscriber::options sample_options() {
  subscriber::options o;
  o.target = "sip:bob@192.0.2.7";
  o.event = "presence";
  o.accept = "application/pidf+xml";
  o.from = "sip:alice@192.0.2.1";
  o.contact = "<sip:alice@192.0.2.1:5060>";
  o.call_id = "sub-call-1";
  o.from_tag = "ftag";
  o.expires = 600s;
  return o;
}

template <class T>
std::vector<T> all(const subscriber::actions& a) {
  std::vector<T> out;
  for (const auto& x : a)
    if (auto* p = std::get_if<T>(&x)) out.push_back(*p);
  return out;
}

message ok_to(const message& req, std::string_view expires) {
  auto ok = sipkit::parser::make_response(req, 202, {}, "ntag");
  ok.add(header_id::contact, "<sip:bob@192.0.2.7>");
  if (!expires.empty()) ok.add(header_id::expires, expires);
  return ok;
}

message notify(std::uint32_t cseq, std::string_view state, std::string_view body = "open") {
  auto n = message::request("NOTIFY", "sip:alice@192.0.2.1:5060");
  n.add(header_id::via, "SIP/2.0/UDP 192.0.2.7;branch=z9hG4bKn" + std::to_string(cseq));
  n.add(header_id::max_forwards, "70");
  n.add(header_id::from, "<sip:bob@192.0.2.7>;tag=ntag");
  n.add(header_id::to, "<sip:alice@192.0.2.1>;tag=ftag");
  n.add(header_id::call_id, "sub-call-1");
  n.add(header_id::cseq, std::to_string(cseq) + " NOTIFY");
  n.add(header_id::contact, "<sip:bob@192.0.2.7>");
  n.add(header_id::event, "presence");
  n.add("Subscription-State", state);
  if (!body.empty()) n.set_body(body, "application/pidf+xml");
  return n;
}

struct fixture {
  explicit fixture(subscriber::options o = sample_options()) : sub(std::move(o)) {
    auto a = sub.start(t0);
    REQUIRE(all<subscriber::send_request>(a).size() == 1);
    last = all<subscriber::send_request>(a).front().request;
  }
  subscriber::actions respond(const message& rsp, time_point now) {
    return keep(sub.on_response(rsp, now));
  }
  subscriber::actions tick(time_point now) { return keep(sub.on_timer(now)); }
  subscriber::actions keep(subscriber::actions a) {
    if (auto s = all<subscriber::send_request>(a); !s.empty()) last = s.back().request;
    return a;
  }
  /// 2xx and an active NOTIFY.
  void establish(std::string_view expires = "600") {
    respond(ok_to(last, expires), t0 + 100ms);
    sub.on_notify(tx, notify(1, "active;expires=" + std::string(expires)), t0 + 200ms);
  }
  subscriber sub;
  message last;
};

}  // namespace

TEST_CASE("subscriber sends SUBSCRIBE with Event, Expires, Accept and Contact") {
  fixture f;
  CHECK(f.last.serialize() ==
        "SUBSCRIBE sip:bob@192.0.2.7 SIP/2.0\r\n"
        "Max-Forwards: 70\r\n"
        "From: <sip:alice@192.0.2.1>;tag=ftag\r\n"
        "To: <sip:bob@192.0.2.7>\r\n"
        "Call-ID: sub-call-1\r\n"
        "CSeq: 1 SUBSCRIBE\r\n"
        "Contact: <sip:alice@192.0.2.1:5060>\r\n"
        "Event: presence\r\n"
        "Expires: 600\r\n"
        "Accept: application/pidf+xml\r\n"
        "Content-Length: 0\r\n\r\n");
  CHECK(f.sub.current_state() == st::subscribing);
  CHECK(f.sub.substate() == subscription_state::requested);
  CHECK(*f.sub.deadline(subscriber::timer::notify_wait) == t0 + 32s);  // Timer N = 64*T1
}

TEST_CASE("subscriber waits for a NOTIFY after the 2xx and becomes active with it") {
  fixture f;
  f.respond(ok_to(f.last, "600"), t0 + 100ms);
  CHECK(f.sub.current_state() == st::notify_wait);
  REQUIRE(f.sub.usage_dialog());
  const auto first = notify(1, "active;expires=600");
  auto a = f.sub.on_notify(tx, first, t0 + 200ms);
  auto rsp = all<subscriber::send_response>(a);
  REQUIRE(rsp.size() == 1);
  CHECK(rsp[0].id == tx);
  CHECK(rsp[0].response.status_code() == 200);
  auto n = all<subscriber::notified>(a);
  REQUIRE(n.size() == 1);
  CHECK(n[0].state == subscription_state::active);
  CHECK(n[0].expires == 600s);
  CHECK(n[0].notify->body() == "open");
  CHECK(f.sub.current_state() == st::active);
  CHECK_FALSE(f.sub.deadline(subscriber::timer::notify_wait));
}

TEST_CASE("subscriber takes a NOTIFY that overtakes the 2xx as the creator of the dialog") {
  fixture f;
  auto a = f.sub.on_notify(tx, notify(1, "pending;expires=600"), t0 + 50ms);
  CHECK(all<subscriber::send_response>(a)[0].response.status_code() == 200);
  CHECK(f.sub.current_state() == st::pending);
  REQUIRE(f.sub.usage_dialog());
  CHECK(f.sub.usage_dialog()->id().remote_tag == "ntag");
  f.respond(ok_to(f.last, "600"), t0 + 100ms);  // the late 2xx joins the same dialog
  CHECK(f.sub.current_state() == st::pending);
  CHECK(f.sub.usage_dialog()->remote_target() == "sip:bob@192.0.2.7");
}

TEST_CASE("subscriber refreshes in the dialog before the granted expiry") {
  fixture f;
  f.respond(ok_to(f.last, "120"), t0);  // the notifier granted less than we asked
  f.sub.on_notify(tx, notify(1, "active"), t0);
  CHECK(*f.sub.deadline(subscriber::timer::refresh) == t0 + 90s);
  CHECK(*f.sub.deadline(subscriber::timer::expiry) == t0 + 120s);
  auto a = f.tick(t0 + 90s);
  REQUIRE(all<subscriber::send_request>(a).size() == 1);
  CHECK(f.last.request_uri() == "sip:bob@192.0.2.7");
  CHECK(f.last.get(header_id::to) == "<sip:bob@192.0.2.7>;tag=ntag");
  CHECK(f.last.get(header_id::cseq) == "2 SUBSCRIBE");
  CHECK(f.last.get(header_id::event) == "presence");
  CHECK(f.last.get(header_id::expires) == "600");
  f.respond(ok_to(f.last, "120"), t0 + 91s);
  CHECK(*f.sub.deadline(subscriber::timer::refresh) == t0 + 181s);
}

TEST_CASE("subscriber moves the refresh to the expires of a NOTIFY") {
  fixture f;
  f.establish();
  CHECK(*f.sub.deadline(subscriber::timer::refresh) == t0 + 200ms + 570s);
  f.sub.on_notify(tx, notify(2, "active;expires=40"), t0 + 10s);
  CHECK(*f.sub.deadline(subscriber::timer::refresh) == t0 + 30s);  // 40 - min(30, 20)
}

TEST_CASE("subscriber ends on a NOTIFY with terminated and its reason") {
  fixture f;
  f.establish();
  const auto n = notify(2, "terminated;reason=deactivated", "");  // the reasons point into it
  auto a = f.sub.on_notify(tx, n, t0 + 5s);
  CHECK(all<subscriber::send_response>(a)[0].response.status_code() == 200);
  REQUIRE(all<subscriber::notified>(a).size() == 1);
  CHECK(all<subscriber::notified>(a)[0].reason == "deactivated");
  auto t = all<subscriber::terminated>(a);
  REQUIRE(t.size() == 1);
  CHECK(t[0].reason == "deactivated");
  CHECK(t[0].by_notify);
  CHECK(f.sub.current_state() == st::terminated);
  CHECK_FALSE(f.sub.next_deadline());
  // Anything later in the dialog: 481.
  a = f.sub.on_notify(tx, notify(3, "active"), t0 + 6s);
  CHECK(all<subscriber::send_response>(a)[0].response.status_code() == 481);
}

TEST_CASE(
    "subscriber answers 400 to a NOTIFY without Subscription-State and 489 to another event") {
  fixture f;
  f.establish();
  auto bare = notify(2, "active");
  bare.remove("Subscription-State");
  auto a = f.sub.on_notify(tx, bare, t0 + 1s);
  CHECK(all<subscriber::send_response>(a)[0].response.status_code() == 400);
  auto other = notify(3, "active");
  other.set(header_id::event, "dialog");
  a = f.sub.on_notify(tx, other, t0 + 1s);
  CHECK(all<subscriber::send_response>(a)[0].response.status_code() == 489);
  CHECK(f.sub.current_state() == st::active);
}

TEST_CASE("subscriber ends with no_notify when Timer N fires without a NOTIFY") {
  fixture f;
  f.respond(ok_to(f.last, "600"), t0 + 100ms);
  CHECK(all<subscriber::terminated>(f.tick(t0 + 31999ms)).empty());
  auto t = all<subscriber::terminated>(f.tick(t0 + 32s));
  REQUIRE(t.size() == 1);
  CHECK(t[0].reason == "timeout");
  CHECK(t[0].error == sipkit::session::error::no_notify);
}

TEST_CASE("subscriber ends when the SUBSCRIBE is rejected, with the status") {
  fixture f;
  auto t = all<subscriber::terminated>(
      f.respond(sipkit::parser::make_response(f.last, 489, {}, "ntag"), t0 + 100ms));
  REQUIRE(t.size() == 1);
  CHECK(t[0].status == 489);
  CHECK(t[0].reason == "rejected");
  CHECK(f.sub.substate() == subscription_state::terminated);
}

TEST_CASE("subscriber keeps the subscription until its expiry when a refresh gets a 500") {
  fixture f;
  f.respond(ok_to(f.last, "120"), t0);
  f.sub.on_notify(tx, notify(1, "active"), t0);
  f.tick(t0 + 90s);
  auto a = f.respond(sipkit::parser::make_response(f.last, 500), t0 + 91s);
  CHECK(all<subscriber::terminated>(a).empty());
  CHECK(f.sub.current_state() == st::active);
  auto t = all<subscriber::terminated>(f.tick(t0 + 120s));
  REQUIRE(t.size() == 1);
  CHECK(t[0].reason == "timeout");
}

TEST_CASE("subscriber ends at once when a refresh gets a 481") {
  fixture f;
  f.establish("120");
  REQUIRE(*f.sub.deadline(subscriber::timer::refresh) == t0 + 200ms + 90s);
  f.tick(t0 + 200ms + 90s);
  auto t =
      all<subscriber::terminated>(f.respond(sipkit::parser::make_response(f.last, 481), t0 + 91s));
  REQUIRE(t.size() == 1);
  CHECK(t[0].status == 481);
  CHECK(t[0].reason == "noresource");
}

TEST_CASE("subscriber answers a 407 with the same SUBSCRIBE, CSeq+1, for credentials") {
  fixture f;
  auto challenge = sipkit::parser::make_response(f.last, 407, {}, "proxytag");
  auto a = f.respond(challenge, t0 + 100ms);
  auto s = all<subscriber::send_request>(a);
  REQUIRE(s.size() == 1);
  CHECK(s[0].challenge == &challenge);
  CHECK(f.last.get(header_id::cseq) == "2 SUBSCRIBE");
  CHECK(f.last.get(header_id::to) == "<sip:bob@192.0.2.7>");
  f.respond(ok_to(f.last, "600"), t0 + 200ms);  // the dialog takes the new CSeq
  CHECK(f.sub.usage_dialog()->local_cseq() == 2);
}

TEST_CASE("unsubscribing sends Expires 0 in the dialog and the final NOTIFY ends it") {
  fixture f;
  f.establish();
  subscriber::actions a;
  REQUIRE_FALSE(f.sub.unsubscribe(t0 + 10s, a));
  f.keep(a);
  CHECK(f.last.get(header_id::expires) == "0");
  CHECK(f.last.get(header_id::cseq) == "2 SUBSCRIBE");
  CHECK(f.sub.current_state() == st::unsubscribing);
  CHECK_FALSE(f.sub.deadline(subscriber::timer::refresh));
  subscriber::actions again;
  CHECK(f.sub.unsubscribe(t0 + 10s, again) == sipkit::session::error::invalid_state);
  a = f.respond(ok_to(f.last, "0"), t0 + 10100ms);
  REQUIRE(all<subscriber::unsubscribe_answered>(a).size() == 1);
  CHECK(all<subscriber::unsubscribe_answered>(a)[0].status == 202);
  CHECK(f.sub.current_state() == st::unsubscribing);
  a = f.sub.on_notify(tx, notify(2, "terminated;reason=timeout", ""), t0 + 10200ms);
  REQUIRE(all<subscriber::terminated>(a).size() == 1);
  CHECK(all<subscriber::terminated>(a)[0].reason == "timeout");
}

TEST_CASE("unsubscribing before any dialog exists is refused") {
  fixture f;
  subscriber::actions a;
  CHECK(f.sub.unsubscribe(t0, a) == sipkit::session::error::invalid_state);
  CHECK(a.empty());
}

TEST_CASE("subscriber ends with 408 when its SUBSCRIBE times out") {
  fixture f;
  auto t = all<subscriber::terminated>(
      f.sub.on_failure(make_error_code(std::errc::timed_out), t0 + 32s));
  REQUIRE(t.size() == 1);
  CHECK(t[0].status == 408);
  CHECK(t[0].reason == "timeout");
}

TEST_CASE("subscriber answers 481 to a NOTIFY from a second fork and keeps its dialog") {
  fixture f;
  f.establish();
  auto other = notify(1, "active");
  other.set(header_id::from, "<sip:bob@192.0.2.7>;tag=fork2");
  auto a = f.sub.on_notify(tx, other, t0 + 1s);
  CHECK(all<subscriber::send_response>(a)[0].response.status_code() == 481);
  CHECK(all<subscriber::notified>(a).empty());
  CHECK(f.sub.usage_dialog()->id().remote_tag == "ntag");
}

TEST_CASE("subscriber takes the expiry it asked for when the 2xx has no Expires") {
  fixture f;
  f.respond(ok_to(f.last, ""), t0);
  CHECK(*f.sub.deadline(subscriber::timer::refresh) == t0 + 570s);
  CHECK(*f.sub.deadline(subscriber::timer::expiry) == t0 + 600s);
}
