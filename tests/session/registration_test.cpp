// The REGISTER client machine (RFC 3261 §10.2) on a manual clock: exact REGISTERs and
// exact refresh / retry times.
#include "sipkit/session/registration.hpp"

#include <catch2/catch.hpp>
#include <chrono>

#include "sipkit/session/error.hpp"

namespace {

using namespace std::chrono_literals;
using sipkit::parser::header_id;
using sipkit::parser::message;
using sipkit::session::registration;
using sipkit::session::time_point;
using st = registration::state;

const time_point t0{};

registration::options sample_options() {
  registration::options o;
  o.registrar = "sip:192.0.2.10";
  o.aor = "sip:alice@example.com";
  o.contact = "<sip:alice@192.0.2.1:5060>";
  o.call_id = "reg-call-1";
  o.from_tag = "ftag";
  o.expires = 3600s;
  return o;
}

std::vector<registration::send_request> sends(const registration::actions& a) {
  std::vector<registration::send_request> out;
  for (const auto& x : a)
    if (auto* s = std::get_if<registration::send_request>(&x)) out.push_back(*s);
  return out;
}
std::vector<registration::report> reports(const registration::actions& a) {
  std::vector<registration::report> out;
  for (const auto& x : a)
    if (auto* r = std::get_if<registration::report>(&x)) out.push_back(*r);
  return out;
}

message answer(const message& req, int code) {
  return sipkit::parser::make_response(req, code, {}, "rtag");
}

struct fixture {
  explicit fixture(registration::options o = sample_options()) : reg(std::move(o)) {
    auto a = reg.start(t0);
    REQUIRE(sends(a).size() == 1);
    last = sends(a).front().request;
  }
  /// Feeds `rsp` and remembers the REGISTER it makes, if any.
  registration::actions feed(const message& rsp, time_point now) {
    auto a = reg.on_response(rsp, now);
    if (auto s = sends(a); !s.empty()) last = s.back().request;
    return a;
  }
  registration::actions tick(time_point now) {
    auto a = reg.on_timer(now);
    if (auto s = sends(a); !s.empty()) last = s.back().request;
    return a;
  }
  registration reg;
  message last;
};

}  // namespace

TEST_CASE("registration sends REGISTER with the AoR, Contact, Expires and CSeq 1") {
  fixture f;
  CHECK(f.last.serialize() ==
        "REGISTER sip:192.0.2.10 SIP/2.0\r\n"
        "Max-Forwards: 70\r\n"
        "From: <sip:alice@example.com>;tag=ftag\r\n"
        "To: <sip:alice@example.com>\r\n"
        "Call-ID: reg-call-1\r\n"
        "CSeq: 1 REGISTER\r\n"
        "Contact: <sip:alice@192.0.2.1:5060>\r\n"
        "Expires: 3600\r\n"
        "Content-Length: 0\r\n\r\n");
  CHECK(f.reg.current_state() == st::registering);
  CHECK_FALSE(f.reg.next_deadline());
}

TEST_CASE("registration is registered for the Expires of the 2xx and refreshes 30 s before") {
  fixture f;
  auto ok = answer(f.last, 200);
  ok.add(header_id::contact, "<sip:alice@192.0.2.1:5060>");
  ok.add(header_id::expires, "600");
  auto a = f.feed(ok, t0 + 1s);
  REQUIRE(reports(a).size() == 1);
  CHECK(reports(a)[0].current == st::registered);
  CHECK(reports(a)[0].status == 200);
  CHECK(reports(a)[0].expires == 600s);
  CHECK(f.reg.granted() == 600s);
  CHECK(f.reg.bindings() == std::vector<std::string>{"<sip:alice@192.0.2.1:5060>"});
  CHECK(*f.reg.deadline(registration::timer::refresh) == t0 + 1s + 570s);
}

TEST_CASE("registration reads the granted expiry from our own Contact's expires parameter") {
  fixture f;
  auto ok = answer(f.last, 200);
  ok.add(header_id::contact, "<sip:other@192.0.2.99>;expires=3000");
  ok.add(header_id::contact, "<sip:alice@192.0.2.1:5060>;expires=120");
  ok.add(header_id::expires, "900");
  f.feed(ok, t0);
  CHECK(f.reg.granted() == 120s);
  CHECK(f.reg.bindings().size() == 2);
  CHECK(*f.reg.next_deadline() == t0 + 90s);  // 120 - 30
}

TEST_CASE("registration refreshes a short expiry at half of it with the same Call-ID and CSeq+1") {
  fixture f;
  auto ok = answer(f.last, 200);
  ok.add(header_id::expires, "40");
  f.feed(ok, t0);
  CHECK(*f.reg.next_deadline() == t0 + 20s);  // margin = min(30, 40/2)
  CHECK(sends(f.tick(t0 + 19999ms)).empty());
  auto a = f.tick(t0 + 20s);
  REQUIRE(sends(a).size() == 1);
  CHECK(f.reg.current_state() == st::refreshing);
  CHECK(f.last.call_id() == "reg-call-1");
  CHECK(f.last.get(header_id::cseq) == "2 REGISTER");
  CHECK(f.last.get(header_id::expires) == "3600");
  CHECK(f.last.get(header_id::from) == "<sip:alice@example.com>;tag=ftag");
  auto ok2 = answer(f.last, 200);
  ok2.add(header_id::expires, "40");
  f.feed(ok2, t0 + 21s);
  CHECK(f.reg.current_state() == st::registered);
  CHECK(*f.reg.next_deadline() == t0 + 41s);
}

TEST_CASE("registration never refreshes sooner than 1 s after the 2xx") {
  fixture f;
  auto ok = answer(f.last, 200);
  ok.add(header_id::expires, "1");
  f.feed(ok, t0);
  CHECK(*f.reg.next_deadline() == t0 + 1s);
}

TEST_CASE("registration answers 423 with the Min-Expires and keeps it for refreshes") {
  fixture f;
  auto brief = answer(f.last, 423);
  brief.add("Min-Expires", "7200");
  auto a = f.feed(brief, t0 + 100ms);
  REQUIRE(sends(a).size() == 1);
  CHECK(f.last.get(header_id::expires) == "7200");
  CHECK(f.last.get(header_id::cseq) == "2 REGISTER");
  CHECK(f.reg.current_state() == st::registering);
  auto ok = answer(f.last, 200);
  f.feed(ok, t0 + 200ms);  // no Expires: what we asked for
  CHECK(f.reg.granted() == 7200s);
  CHECK(*f.reg.next_deadline() == t0 + 200ms + 7170s);
  f.tick(t0 + 200ms + 7170s);
  CHECK(f.last.get(header_id::expires) == "7200");
}

TEST_CASE("registration fails on a 423 whose Min-Expires is not above what it asked") {
  fixture f;
  auto brief = answer(f.last, 423);
  brief.add("Min-Expires", "60");
  auto a = f.feed(brief, t0);
  CHECK(sends(a).empty());
  REQUIRE(reports(a).size() == 1);
  CHECK(reports(a)[0].current == st::failed);
  CHECK(reports(a)[0].status == 423);
}

TEST_CASE("registration answers a 401 with a challenged REGISTER of CSeq+1") {
  fixture f;
  auto challenge = answer(f.last, 401);
  challenge.add(header_id::www_authenticate, "Digest realm=\"x\", nonce=\"n\"");
  auto a = f.feed(challenge, t0);
  REQUIRE(sends(a).size() == 1);
  CHECK(sends(a)[0].challenge == &challenge);
  CHECK(sends(a)[0].attempt == 1);
  CHECK(f.last.get(header_id::cseq) == "2 REGISTER");
  CHECK(f.last.call_id() == "reg-call-1");
  CHECK(reports(a).empty());  // a challenged retry is no new attempt
}

TEST_CASE("registration gives up after two challenged retries and reports the 401") {
  fixture f;
  f.feed(answer(f.last, 401), t0);
  f.feed(answer(f.last, 401), t0 + 1s);
  CHECK(f.last.get(header_id::cseq) == "3 REGISTER");
  auto a = f.feed(answer(f.last, 401), t0 + 2s);
  CHECK(sends(a).empty());
  REQUIRE(reports(a).size() == 1);
  CHECK(reports(a)[0].current == st::failed);
  CHECK(reports(a)[0].status == 401);
  CHECK(reports(a)[0].error == sipkit::session::error::rejected);
}

TEST_CASE("registration fails with the challenge status when the binding cannot answer it") {
  fixture f;
  f.feed(answer(f.last, 407), t0);
  auto a = f.reg.on_auth_failed(t0);
  REQUIRE(reports(a).size() == 1);
  CHECK(reports(a)[0].current == st::failed);
  CHECK(reports(a)[0].status == 407);
}

TEST_CASE("registration retries after retry_interval when a REGISTER is rejected") {
  fixture f;
  auto a = f.feed(answer(f.last, 403), t0 + 1s);
  REQUIRE(reports(a).size() == 1);
  CHECK(reports(a)[0].current == st::failed);
  CHECK(reports(a)[0].status == 403);
  CHECK(*f.reg.deadline(registration::timer::retry) == t0 + 61s);
  a = f.tick(t0 + 61s);
  REQUIRE(sends(a).size() == 1);
  CHECK(reports(a)[0].current == st::registering);
  CHECK(f.last.get(header_id::cseq) == "2 REGISTER");
}

TEST_CASE("registration without retry_interval stays failed after a timeout") {
  auto o = sample_options();
  o.retry_interval = 0s;
  fixture f(o);
  auto a = f.reg.on_failure(make_error_code(std::errc::timed_out), t0 + 32s);
  REQUIRE(reports(a).size() == 1);
  CHECK(reports(a)[0].current == st::failed);
  CHECK(reports(a)[0].status == 0);
  CHECK(reports(a)[0].error == std::errc::timed_out);
  CHECK_FALSE(f.reg.next_deadline());
}

TEST_CASE("registration ignores provisionals and responses to an older REGISTER") {
  fixture f;
  CHECK(f.feed(answer(f.last, 100), t0).empty());
  auto old = f.last;
  f.feed(answer(f.last, 401), t0);
  CHECK(f.feed(answer(old, 200), t0).empty());
  CHECK(f.reg.current_state() == st::registering);
}

TEST_CASE("unregistering sends Expires 0 for our Contact and ends unregistered on the 2xx") {
  fixture f;
  auto ok = answer(f.last, 200);
  ok.add(header_id::expires, "600");
  f.feed(ok, t0);
  registration::actions a;
  REQUIRE_FALSE(f.reg.unregister(false, t0 + 10s, a));
  REQUIRE(sends(a).size() == 1);
  f.last = sends(a)[0].request;
  CHECK(f.last.get(header_id::contact) == "<sip:alice@192.0.2.1:5060>");
  CHECK(f.last.get(header_id::expires) == "0");
  CHECK(f.last.get(header_id::cseq) == "2 REGISTER");
  CHECK_FALSE(f.reg.next_deadline());  // no refresh any more
  registration::actions again;
  CHECK(f.reg.unregister(false, t0 + 10s, again) == sipkit::session::error::invalid_state);
  a = f.feed(answer(f.last, 200), t0 + 11s);
  REQUIRE(reports(a).size() == 1);
  CHECK(reports(a)[0].current == st::unregistered);
  CHECK(reports(a)[0].status == 200);
  CHECK(f.reg.granted() == 0s);
}

TEST_CASE("unregistering all bindings sends Contact * and a refusal still ends it") {
  fixture f;
  f.feed(answer(f.last, 200), t0);
  registration::actions a;
  REQUIRE_FALSE(f.reg.unregister(true, t0, a));
  f.last = sends(a)[0].request;
  CHECK(f.last.count(header_id::contact) == 1);
  CHECK(f.last.get(header_id::contact) == "*");
  CHECK(f.last.get(header_id::expires) == "0");
  a = f.feed(answer(f.last, 500), t0 + 1s);
  REQUIRE(reports(a).size() == 1);
  CHECK(reports(a)[0].current == st::unregistered);
  CHECK(reports(a)[0].status == 500);
  CHECK(reports(a)[0].error == sipkit::session::error::rejected);
  CHECK_FALSE(f.reg.next_deadline());  // no retry of an unregister
}

TEST_CASE("registration binds every extra contact in the same REGISTER") {
  auto o = sample_options();
  o.extra_contacts = {"sip:alice@192.0.2.50:5060", "<sip:alice-desk@192.0.2.51>"};
  fixture f(o);
  REQUIRE(f.last.count(header_id::contact) == 3);
  std::vector<std::string_view> contacts;
  for (const auto& fl : f.last.fields())
    if (fl.id == header_id::contact) contacts.push_back(f.last.value_of(fl));
  CHECK(contacts[1] == "<sip:alice@192.0.2.50:5060>");
  CHECK(contacts[2] == "<sip:alice-desk@192.0.2.51>");
}

TEST_CASE("unregistering ends unregistered with the transaction's error when it times out") {
  fixture f;
  f.feed(answer(f.last, 200), t0);
  registration::actions a;
  REQUIRE_FALSE(f.reg.unregister(false, t0, a));
  a = f.reg.on_failure(make_error_code(std::errc::timed_out), t0 + 32s);
  REQUIRE(reports(a).size() == 1);
  CHECK(reports(a)[0].current == st::unregistered);
  CHECK(reports(a)[0].error == std::errc::timed_out);
  CHECK_FALSE(f.reg.next_deadline());
}

TEST_CASE("a refresh that fails leaves the binding failed and retries after retry_interval") {
  fixture f;
  auto ok = answer(f.last, 200);
  ok.add(header_id::expires, "100");
  f.feed(ok, t0);
  f.tick(t0 + 70s);
  CHECK(f.reg.current_state() == st::refreshing);
  auto a = f.feed(answer(f.last, 503), t0 + 71s);
  CHECK(reports(a)[0].current == st::failed);
  CHECK_FALSE(f.reg.deadline(registration::timer::refresh));
  CHECK(*f.reg.deadline(registration::timer::retry) == t0 + 131s);
}
