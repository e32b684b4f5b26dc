// The RFC 6665 notifier machine on a manual clock: the 200, the immediate NOTIFY, refresh,
// unsubscribe and the expiry NOTIFY at the granted time.
#include <catch2/catch.hpp>
#include <chrono>

#include "sipkit/session/error.hpp"
#include "sipkit/session/subscription.hpp"

namespace {

using namespace std::chrono_literals;
using sipkit::parser::header_id;
using sipkit::parser::message;
using sipkit::session::notifier;
using sipkit::session::time_point;
using sipkit::transaction::transaction_id;
using st = notifier::state;

const time_point t0{};
const transaction_id tx{3, 1};

message subscribe(std::uint32_t cseq, std::string_view expires, bool with_to_tag = false) {
  auto s = message::request("SUBSCRIBE", "sip:bob@192.0.2.7");
  s.add(header_id::via, "SIP/2.0/UDP 192.0.2.1:5060;branch=z9hG4bKs" + std::to_string(cseq));
  s.add(header_id::max_forwards, "70");
  s.add(header_id::from, "<sip:alice@192.0.2.1>;tag=ftag");
  s.add(header_id::to, with_to_tag ? "<sip:bob@192.0.2.7>;tag=ntag" : "<sip:bob@192.0.2.7>");
  s.add(header_id::call_id, "sub-call-1");
  s.add(header_id::cseq, std::to_string(cseq) + " SUBSCRIBE");
  s.add(header_id::contact, "<sip:alice@192.0.2.1:5060>");
  s.add(header_id::event, "presence");
  if (!expires.empty()) s.add(header_id::expires, expires);
  return s;
}

notifier::options sample_options() {
  notifier::options o;
  o.contact = "<sip:bob@192.0.2.7:5060>";
  o.local_tag = "ntag";
  return o;
}

template <class T>
std::vector<T> all(const notifier::actions& a) {
  std::vector<T> out;
  for (const auto& x : a)
    if (auto* p = std::get_if<T>(&x)) out.push_back(*p);
  return out;
}

struct fixture {
  explicit fixture(std::string_view expires = "600")
      : n(subscribe(1, expires), tx, sample_options()) {}
  notifier::actions accept(bool pending = false) {
    notifier::actions a;
    REQUIRE_FALSE(n.accept(pending, "text/plain", "open", t0, a));
    return a;
  }
  notifier n;
};

}  // namespace

TEST_CASE("notifier accepts with a 200 carrying Expires and Contact, then NOTIFYs at once") {
  fixture f;
  auto a = f.accept();
  REQUIRE(a.size() == 2);
  auto& ok = std::get<notifier::send_response>(a[0]);  // the 200 first, then the NOTIFY
  CHECK(ok.id == tx);
  CHECK(ok.response.status_code() == 200);
  CHECK(ok.response.get(header_id::to) == "<sip:bob@192.0.2.7>;tag=ntag");
  CHECK(ok.response.get(header_id::expires) == "600");
  CHECK(ok.response.get(header_id::contact) == "<sip:bob@192.0.2.7:5060>");
  auto& n = std::get<notifier::send_request>(a[1]).request;
  CHECK(n.serialize() ==
        "NOTIFY sip:alice@192.0.2.1:5060 SIP/2.0\r\n"
        "Max-Forwards: 70\r\n"
        "From: <sip:bob@192.0.2.7>;tag=ntag\r\n"
        "To: <sip:alice@192.0.2.1>;tag=ftag\r\n"
        "Call-ID: sub-call-1\r\n"
        "CSeq: 1 NOTIFY\r\n"
        "Contact: <sip:bob@192.0.2.7:5060>\r\n"
        "Event: presence\r\n"
        "Subscription-State: active;expires=600\r\n"
        "Content-Type: text/plain\r\n"
        "Content-Length: 4\r\n\r\nopen");
  CHECK(f.n.current_state() == st::active);
  CHECK(*f.n.deadline(notifier::timer::expiry) == t0 + 600s);
}

TEST_CASE("notifier grants 3600 s to a SUBSCRIBE without Expires") {
  fixture f("");
  auto a = f.accept(true);
  CHECK(std::get<notifier::send_response>(a[0]).response.get(header_id::expires) == "3600");
  CHECK(std::get<notifier::send_request>(a[1]).request.get("Subscription-State") ==
        "pending;expires=3600");
  CHECK(f.n.current_state() == st::pending);
}

TEST_CASE("notifier's NOTIFY says how long the subscription has left") {
  fixture f;
  f.accept();
  notifier::actions a;
  REQUIRE_FALSE(f.n.notify("text/plain", "closed", t0 + 100s, a));
  auto& n = std::get<notifier::send_request>(a.at(0)).request;
  CHECK(n.get("Subscription-State") == "active;expires=500");
  CHECK(n.get(header_id::cseq) == "2 NOTIFY");
  CHECK(n.body() == "closed");
}

TEST_CASE("notifier sends terminated;reason=timeout at the granted expiry") {
  fixture f("60");
  f.accept();
  CHECK(f.n.on_timer(t0 + 59999ms).empty());
  auto a = f.n.on_timer(t0 + 60s);
  REQUIRE(a.size() == 2);
  auto& n = std::get<notifier::send_request>(a[0]).request;
  CHECK(n.get("Subscription-State") == "terminated;reason=timeout");
  CHECK(n.body().empty());
  CHECK(std::get<notifier::ended>(a[1]).reason == "timeout");
  CHECK(f.n.current_state() == st::terminated);
}

TEST_CASE("a refreshing SUBSCRIBE extends the expiry and gets a NOTIFY with the state") {
  fixture f("60");
  f.accept();
  auto a = f.n.on_subscribe(tx, subscribe(2, "60", true), t0 + 45s);
  REQUIRE(a.size() == 2);
  auto& ok = std::get<notifier::send_response>(a[0]).response;
  CHECK(ok.status_code() == 200);
  CHECK(ok.get(header_id::expires) == "60");
  CHECK(std::get<notifier::send_request>(a[1]).request.get("Subscription-State") ==
        "active;expires=60");
  CHECK(*f.n.deadline(notifier::timer::expiry) == t0 + 105s);
}

TEST_CASE("an unsubscribing SUBSCRIBE gets a 200 and the final NOTIFY with reason timeout") {
  fixture f;
  f.accept();
  auto a = f.n.on_subscribe(tx, subscribe(2, "0", true), t0 + 10s);
  REQUIRE(a.size() == 3);
  CHECK(std::get<notifier::send_response>(a[0]).response.get(header_id::expires) == "0");
  CHECK(std::get<notifier::send_request>(a[1]).request.get("Subscription-State") ==
        "terminated;reason=timeout");
  CHECK(std::get<notifier::ended>(a[2]).reason == "timeout");
  CHECK_FALSE(f.n.next_deadline());
}

TEST_CASE("notifier answers 489 to a refresh for another event package") {
  fixture f;
  f.accept();
  auto s = subscribe(2, "600", true);
  s.set(header_id::event, "dialog");
  auto a = f.n.on_subscribe(tx, s, t0 + 1s);
  REQUIRE(a.size() == 1);
  CHECK(std::get<notifier::send_response>(a[0]).response.status_code() == 489);
  CHECK(f.n.current_state() == st::active);
}

TEST_CASE("a 481 to a NOTIFY ends the subscription") {
  fixture f;
  auto a = f.accept();
  auto& n = std::get<notifier::send_request>(a[1]).request;
  auto r = f.n.on_notify_response(sipkit::parser::make_response(n, 481), t0 + 1s);
  REQUIRE(r.size() == 1);
  CHECK(std::get<notifier::ended>(r[0]).reason == "noresource");
  CHECK(f.n.current_state() == st::terminated);
  notifier::actions more;
  CHECK(f.n.notify("text/plain", "x", t0 + 2s, more) == sipkit::session::error::invalid_state);
}

TEST_CASE("notifier rejects a SUBSCRIBE with the status and ends") {
  fixture f;
  notifier::actions a;
  REQUIRE_FALSE(f.n.reject(403, a));
  REQUIRE(a.size() == 2);
  CHECK(std::get<notifier::send_response>(a[0]).response.status_code() == 403);
  CHECK(std::get<notifier::send_response>(a[0]).response.get(header_id::to) ==
        "<sip:bob@192.0.2.7>;tag=ntag");
  CHECK(std::get<notifier::ended>(a[1]).reason == "rejected");
  notifier::actions again;
  CHECK(f.n.accept(false, {}, {}, t0, again) == sipkit::session::error::invalid_state);
}

TEST_CASE("notifier's terminate sends the final NOTIFY with its reason") {
  fixture f;
  f.accept();
  notifier::actions a;
  REQUIRE_FALSE(f.n.terminate("deactivated", t0 + 5s, a));
  CHECK(std::get<notifier::send_request>(a.at(0)).request.get("Subscription-State") ==
        "terminated;reason=deactivated");
  CHECK(std::get<notifier::ended>(a.at(1)).reason == "deactivated");
}

TEST_CASE("notifier accepting an Expires 0 SUBSCRIBE notifies once and ends (fetch)") {
  fixture f("0");
  auto a = f.accept();
  REQUIRE(a.size() == 3);
  CHECK(std::get<notifier::send_request>(a[1]).request.get("Subscription-State") ==
        "terminated;reason=timeout");
  CHECK(f.n.current_state() == st::terminated);
}

TEST_CASE("subscriber and notifier machines agree from SUBSCRIBE to the final NOTIFY") {
  using sipkit::session::subscriber;
  subscriber::options so;
  so.target = "sip:bob@192.0.2.7";
  so.event = "presence";
  so.from = "sip:alice@192.0.2.1";
  so.contact = "<sip:alice@192.0.2.1:5060>";
  so.call_id = "e2e-1";
  so.from_tag = "ftag";
  so.expires = 120s;
  subscriber sub(so);
  auto first = std::get<subscriber::send_request>(sub.start(t0).at(0)).request;
  first.push_front(header_id::via, "SIP/2.0/UDP 192.0.2.1:5060;branch=z9hG4bKe2e1");

  notifier n(first, tx, sample_options());
  notifier::actions a;
  REQUIRE_FALSE(n.accept(false, "text/plain", "open", t0 + 10ms, a));
  auto ok = std::get<notifier::send_response>(a.at(0)).response;
  auto notify = std::get<notifier::send_request>(a.at(1)).request;
  notify.push_front(header_id::via, "SIP/2.0/UDP 192.0.2.7;branch=z9hG4bKe2e2");

  // The NOTIFY overtakes the 200 (§4.1.2.4).
  auto got = sub.on_notify(tx, notify, t0 + 20ms);
  CHECK(std::get<subscriber::send_response>(got.at(0)).response.status_code() == 200);
  CHECK(sub.substate() == sipkit::session::subscription_state::active);
  sub.on_response(ok, t0 + 30ms);
  CHECK(sub.usage_dialog()->id().remote_tag == "ntag");
  CHECK(*sub.deadline(subscriber::timer::refresh) == t0 + 30ms + 90s);  // 120 - min(30, 60)

  // The refresh reaches the notifier in its dialog and extends the expiry.
  auto refresh = std::get<subscriber::send_request>(sub.on_timer(t0 + 30ms + 90s).at(0)).request;
  refresh.push_front(header_id::via, "SIP/2.0/UDP 192.0.2.1:5060;branch=z9hG4bKe2e3");
  auto r = n.on_subscribe(tx, refresh, t0 + 91s);
  CHECK(std::get<notifier::send_response>(r.at(0)).response.status_code() == 200);
  CHECK(*n.deadline(notifier::timer::expiry) == t0 + 211s);

  // Unsubscribe: 200 and the final NOTIFY end both sides.
  subscriber::actions u;
  REQUIRE_FALSE(sub.unsubscribe(t0 + 100s, u));
  auto bye = std::get<subscriber::send_request>(u.at(0)).request;
  bye.push_front(header_id::via, "SIP/2.0/UDP 192.0.2.1:5060;branch=z9hG4bKe2e4");
  auto fin = n.on_subscribe(tx, bye, t0 + 100s);
  REQUIRE(fin.size() == 3);
  auto last = std::get<notifier::send_request>(fin[1]).request;
  last.push_front(header_id::via, "SIP/2.0/UDP 192.0.2.7;branch=z9hG4bKe2e5");
  sub.on_response(std::get<notifier::send_response>(fin[0]).response, t0 + 100s);
  auto end = sub.on_notify(tx, last, t0 + 100s);
  CHECK(std::get<subscriber::send_response>(end.at(0)).response.status_code() == 200);
  CHECK(sub.current_state() == subscriber::state::terminated);
  CHECK(n.current_state() == st::terminated);
}
