// examples/registrar/location_service: bounded bindings per AOR and in total, all-or-nothing
// updates, and the expiry queue, on an explicit time line (issue 17, items 4 and 8); the
// index by AOR, q order and the expiry queue's replaced entries (issue 16).
#include "registrar/location_service.hpp"

#include <catch2/catch.hpp>
#include <string>
#include <vector>

using registrar::clock_type;
using registrar::contact_update;
using registrar::location_service;
using status = location_service::status;
using std::chrono::seconds;

namespace {

const clock_type::time_point t0{};
const std::string alice = "sip:alice@example.com";

std::vector<contact_update> one(std::string uri, long expires = 3600) {
  return {{std::move(uri), expires}};
}

std::vector<std::string> uris(const location_service& db, const std::string& aor) {
  std::vector<std::string> out;
  for (const auto& b : db.lookup(aor)) out.push_back(b.uri);
  return out;
}

}  // namespace

TEST_CASE("parse_aor normalises the host and unescapes the user, refuses non-SIP URIs",
          "[registrar]") {
  auto a = registrar::parse_aor("sip:al%69ce@EXAMPLE.com:5070;transport=udp");
  REQUIRE(a);
  CHECK(a->key == "sip:alice@example.com");
  CHECK(a->user == "alice");
  CHECK(a->host == "example.com");
  CHECK_FALSE(registrar::parse_aor("tel:+15551234"));
  CHECK_FALSE(registrar::parse_aor("not a uri"));
}

TEST_CASE("location: beyond max_contacts a REGISTER is refused and changes nothing",
          "[registrar]") {
  location_service db({.max_contacts = 3});
  for (int i = 0; i < 3; ++i)
    CHECK(db.update(alice, "c1", static_cast<std::uint32_t>(i + 1), false,
                    one("sip:d" + std::to_string(i) + "@192.0.2.1"), t0) == status::ok);
  CHECK(db.update(alice, "c1", 4, false, one("sip:d3@192.0.2.1"), t0) == status::too_many_contacts);
  CHECK(uris(db, alice) ==
        std::vector<std::string>{"sip:d0@192.0.2.1", "sip:d1@192.0.2.1", "sip:d2@192.0.2.1"});
  // Refreshing or removing one is always fine, and a removal makes room.
  CHECK(db.update(alice, "c1", 5, false, one("sip:d1@192.0.2.1"), t0) == status::ok);
  CHECK(db.update(alice, "c1", 6, false, one("sip:d1@192.0.2.1", 0), t0) == status::ok);
  CHECK(db.update(alice, "c1", 7, false, one("sip:d3@192.0.2.1"), t0) == status::ok);
  CHECK(db.lookup(alice).size() == 3);
}

TEST_CASE("location: with replace_oldest the least recently refreshed binding makes room",
          "[registrar]") {
  location_service db({.max_contacts = 2, .replace_oldest = true});
  CHECK(db.update(alice, "c", 1, false, one("sip:a@192.0.2.1"), t0) == status::ok);
  CHECK(db.update(alice, "c", 2, false, one("sip:b@192.0.2.1"), t0 + seconds(1)) == status::ok);
  CHECK(db.update(alice, "c", 3, false, one("sip:a@192.0.2.1"), t0 + seconds(2)) == status::ok);
  CHECK(db.update(alice, "c", 4, false, one("sip:c@192.0.2.1"), t0 + seconds(3)) == status::ok);
  CHECK(uris(db, alice) == std::vector<std::string>{"sip:a@192.0.2.1", "sip:c@192.0.2.1"});
  CHECK(db.size() == 2);
  // A request that alone names more than max_contacts cannot be made to fit.
  std::vector<contact_update> three{
      {"sip:x@192.0.2.1", 60}, {"sip:y@192.0.2.1", 60}, {"sip:z@192.0.2.1", 60}};
  CHECK(db.update(alice, "c", 5, false, three, t0 + seconds(4)) == status::too_many_contacts);
}

TEST_CASE("location: beyond max_bindings in total a new binding is refused (full)", "[registrar]") {
  location_service db({.max_contacts = 16, .max_bindings = 2});
  CHECK(db.update("sip:a@example.com", "c", 1, false, one("sip:a@192.0.2.1", 60), t0) ==
        status::ok);
  CHECK(db.update("sip:b@example.com", "c", 1, false, one("sip:b@192.0.2.1", 120), t0) ==
        status::ok);
  CHECK(db.update("sip:c@example.com", "c", 1, false, one("sip:c@192.0.2.1"), t0) == status::full);
  CHECK(db.update("sip:a@example.com", "c", 2, false, one("sip:a@192.0.2.1"), t0) == status::ok);
  REQUIRE(db.next_expiry());
  CHECK(*db.next_expiry() == t0 + seconds(120));
  CHECK(db.aors() == 2);
}

TEST_CASE("location: the same Call-ID with a CSeq not higher is out of order, nothing changes",
          "[registrar]") {
  location_service db;
  CHECK(db.update(alice, "c", 5, false, one("sip:a@192.0.2.1"), t0) == status::ok);
  // The first contact would be added, the second is out of order: neither happens.
  const std::vector<contact_update> two{{"sip:b@192.0.2.1", 60}, {"sip:a@192.0.2.1", 0}};
  CHECK(db.update(alice, "c", 5, false, two, t0) == status::cseq_out_of_order);
  CHECK(uris(db, alice) == std::vector<std::string>{"sip:a@192.0.2.1"});
  CHECK(db.update(alice, "other", 1, false, one("sip:a@192.0.2.1", 0), t0) == status::ok);
  CHECK(db.lookup(alice).empty());
  CHECK(db.aors() == 0);
}

TEST_CASE("location: Contact * removes every binding of the AOR and no other", "[registrar]") {
  location_service db;
  CHECK(db.update(alice, "c", 1, false, one("sip:a@192.0.2.1"), t0) == status::ok);
  CHECK(db.update(alice, "c", 2, false, one("sip:b@192.0.2.1"), t0) == status::ok);
  CHECK(db.update("sip:bob@example.com", "d", 1, false, one("sip:bob@192.0.2.2"), t0) ==
        status::ok);
  CHECK(db.update(alice, "c", 3, true, {}, t0) == status::ok);
  CHECK(db.lookup(alice).empty());
  CHECK(db.size() == 1);
}

TEST_CASE("location: expire() drops exactly the bindings that are due, through the queue",
          "[registrar]") {
  location_service db;
  CHECK(db.update(alice, "c", 1, false, one("sip:a@192.0.2.1", 60), t0) == status::ok);
  CHECK(db.update(alice, "c", 2, false, one("sip:b@192.0.2.1", 120), t0) == status::ok);
  CHECK(db.update("sip:bob@example.com", "d", 1, false, one("sip:bob@192.0.2.2", 90), t0) ==
        status::ok);
  // A refresh moves a binding's place in the queue.
  CHECK(db.update(alice, "c", 3, false, one("sip:a@192.0.2.1", 300), t0 + seconds(30)) ==
        status::ok);
  db.expire(t0 + seconds(89));
  CHECK(db.size() == 3);
  db.expire(t0 + seconds(90));
  CHECK(db.lookup("sip:bob@example.com").empty());
  CHECK(db.aors() == 1);
  db.expire(t0 + seconds(120));
  CHECK(uris(db, alice) == std::vector<std::string>{"sip:a@192.0.2.1"});
  db.expire(t0 + seconds(330));
  CHECK(db.size() == 0);
  CHECK(db.aors() == 0);
  CHECK_FALSE(db.next_expiry());
}

TEST_CASE("location: many AORs and a flood on one stay bounded", "[registrar]") {
  location_service db({.max_contacts = 16, .max_bindings = 1000});
  for (int i = 0; i < 2000; ++i)
    (void)db.update(alice, "c", static_cast<std::uint32_t>(i + 1), false,
                    one("sip:dev" + std::to_string(i) + "@192.0.2.1"), t0);
  CHECK(db.lookup(alice).size() == 16);
  for (int i = 0; i < 2000; ++i)
    (void)db.update("sip:u" + std::to_string(i) + "@example.com", "c", 1, false,
                    one("sip:u@192.0.2.1", 60 + i), t0);
  CHECK(db.size() == 1000);
  db.expire(t0 + seconds(60 + 500));
  CHECK(db.size() == 1000 - 501);  // u0 .. u500 expired at 60 + i <= 560 s
}

TEST_CASE("location: a Contact URI longer than max_uri_length is refused, removing it is not",
          "[registrar]") {
  location_service db({.max_uri_length = 64});
  const std::string long_uri = "sip:" + std::string(60, 'x') + "@192.0.2.1";
  CHECK(db.update(alice, "c", 1, false, one(long_uri), t0) == status::uri_too_long);
  CHECK(db.size() == 0);
  CHECK(db.update(alice, "c", 2, false, one(long_uri, 0), t0) == status::ok);
}

// ---------------------------------------------------------------- the index by AOR (issue 16)

TEST_CASE("location: a refresh replaces the binding's expiry and CSeq, expires 0 removes it",
          "[registrar]") {
  location_service db;
  CHECK(db.update(alice, "c", 1, false, one("sip:a@192.0.2.1", 60), t0) == status::ok);
  CHECK(db.update(alice, "c", 2, false, one("sip:a@192.0.2.1", 600), t0 + seconds(10)) ==
        status::ok);
  REQUIRE(db.lookup(alice).size() == 1);
  const auto& b = db.lookup(alice).front();
  CHECK(b.cseq == 2);
  CHECK(b.expires_at == t0 + seconds(610));
  CHECK(b.refreshed_at == t0 + seconds(10));
  CHECK(db.size() == 1);
  CHECK(db.update(alice, "c", 3, false, one("sip:a@192.0.2.1", 0), t0 + seconds(20)) == status::ok);
  CHECK(db.lookup(alice).empty());
  CHECK(db.size() == 0);
  CHECK(db.aors() == 0);
}

TEST_CASE("location: a refresh with another Call-ID and a lower CSeq is accepted", "[registrar]") {
  location_service db;
  CHECK(db.update(alice, "c1", 9, false, one("sip:a@192.0.2.1"), t0) == status::ok);
  CHECK(db.update(alice, "c2", 1, false, one("sip:a@192.0.2.1"), t0) == status::ok);
  REQUIRE(db.lookup(alice).size() == 1);
  CHECK(db.lookup(alice).front().call_id == "c2");
}

TEST_CASE("location: the AOR key is compared exactly: the user part is case-sensitive",
          "[registrar]") {
  const auto upper = registrar::parse_aor("sip:Alice@Example.COM;transport=tcp");
  REQUIRE(upper);
  CHECK(upper->key == "sip:Alice@example.com");
  location_service db;
  CHECK(db.update(upper->key, "c", 1, false, one("sip:a@192.0.2.1"), t0) == status::ok);
  CHECK(db.lookup("sip:Alice@example.com").size() == 1);
  CHECK(db.lookup(std::string_view("sip:Alice@example.com")).size() == 1);
  CHECK(db.lookup(alice).empty());
}

TEST_CASE("location: lookup lists the highest q first, equal q in order of first registration",
          "[registrar]") {
  location_service db;
  const std::vector<contact_update> three{
      {"sip:low@192.0.2.1", 60, 100}, {"sip:none@192.0.2.1", 60}, {"sip:half@192.0.2.1", 60, 500}};
  CHECK(db.update(alice, "c", 1, false, three, t0) == status::ok);
  CHECK(db.update(alice, "c", 2, false,
                  std::vector<contact_update>{{"sip:top@192.0.2.1", 60, 1000}}, t0) == status::ok);
  // No q ranks as 1.0, ahead of a later registration with q=1.
  CHECK(uris(db, alice) == std::vector<std::string>{"sip:none@192.0.2.1", "sip:top@192.0.2.1",
                                                    "sip:half@192.0.2.1", "sip:low@192.0.2.1"});
  // A refresh keeps its place among equal q-values; a new q moves it.
  CHECK(db.update(alice, "c", 3, false, one("sip:none@192.0.2.1", 120), t0) == status::ok);
  CHECK(uris(db, alice).front() == "sip:none@192.0.2.1");
  CHECK(db.update(alice, "c", 4, false, std::vector<contact_update>{{"sip:low@192.0.2.1", 60, 900}},
                  t0) == status::ok);
  CHECK(uris(db, alice) == std::vector<std::string>{"sip:none@192.0.2.1", "sip:top@192.0.2.1",
                                                    "sip:low@192.0.2.1", "sip:half@192.0.2.1"});
  CHECK(db.lookup(alice)[2].q == std::optional<std::uint16_t>(900));
  CHECK_FALSE(db.lookup(alice)[0].q);
}

TEST_CASE("location: parse_q reads RFC 3261 qvalues in thousandths and refuses the rest",
          "[registrar]") {
  CHECK(registrar::parse_q("0") == std::optional<std::uint16_t>(0));
  CHECK(registrar::parse_q("1") == std::optional<std::uint16_t>(1000));
  CHECK(registrar::parse_q("0.5") == std::optional<std::uint16_t>(500));
  CHECK(registrar::parse_q("0.125") == std::optional<std::uint16_t>(125));
  CHECK(registrar::parse_q("1.000") == std::optional<std::uint16_t>(1000));
  CHECK(registrar::parse_q("0.") == std::optional<std::uint16_t>(0));
  CHECK_FALSE(registrar::parse_q(""));
  CHECK_FALSE(registrar::parse_q("1.5"));
  CHECK_FALSE(registrar::parse_q("0.1234"));
  CHECK_FALSE(registrar::parse_q("2"));
  CHECK_FALSE(registrar::parse_q(".5"));
  CHECK_FALSE(registrar::parse_q("0,5"));
}

TEST_CASE("location: after refreshes to a later time the binding lives to the latest expiry",
          "[registrar]") {
  location_service db;
  for (std::uint32_t i = 0; i < 200; ++i)
    CHECK(db.update(alice, "c", i + 1, false, one("sip:a@192.0.2.1", 60), t0 + seconds(i)) ==
          status::ok);
  REQUIRE(db.next_expiry());
  CHECK(*db.next_expiry() == t0 + seconds(199 + 60));
  db.expire(t0 + seconds(199 + 59));
  CHECK(db.lookup(alice).size() == 1);
  db.expire(t0 + seconds(199 + 60));
  CHECK(db.lookup(alice).empty());
  CHECK_FALSE(db.next_expiry());
}

TEST_CASE("location: a refresh to an earlier time expires the binding at the earlier time",
          "[registrar]") {
  location_service db;
  CHECK(db.update(alice, "c", 1, false, one("sip:a@192.0.2.1", 3600), t0) == status::ok);
  CHECK(db.update(alice, "c", 2, false, one("sip:a@192.0.2.1", 60), t0) == status::ok);
  REQUIRE(db.next_expiry());
  CHECK(*db.next_expiry() == t0 + seconds(60));
  db.expire(t0 + seconds(60));
  CHECK(db.size() == 0);
}

TEST_CASE("location: an AOR registered again after it expired is not expired by the old queue",
          "[registrar]") {
  location_service db;
  CHECK(db.update(alice, "c", 1, false, one("sip:a@192.0.2.1", 60), t0) == status::ok);
  CHECK(db.update(alice, "c", 2, false, one("sip:a@192.0.2.1", 90), t0) == status::ok);
  db.expire(t0 + seconds(90));
  CHECK(db.aors() == 0);
  // bob takes the freed place; alice's replaced entries must not touch him.
  CHECK(db.update("sip:bob@example.com", "d", 1, false, one("sip:b@192.0.2.2", 60),
                  t0 + seconds(100)) == status::ok);
  db.expire(t0 + seconds(159));
  CHECK(db.lookup("sip:bob@example.com").size() == 1);
  db.expire(t0 + seconds(160));
  CHECK(db.aors() == 0);
}

TEST_CASE("location: an AOR's bindings expire one by one, each at its own time", "[registrar]") {
  location_service db;
  const std::vector<contact_update> three{
      {"sip:a@192.0.2.1", 60}, {"sip:b@192.0.2.1", 120}, {"sip:c@192.0.2.1", 180}};
  CHECK(db.update(alice, "c", 1, false, three, t0) == status::ok);
  db.expire(t0 + seconds(60));
  CHECK(uris(db, alice) == std::vector<std::string>{"sip:b@192.0.2.1", "sip:c@192.0.2.1"});
  REQUIRE(db.next_expiry());
  CHECK(*db.next_expiry() == t0 + seconds(120));
  db.expire(t0 + seconds(150));
  CHECK(uris(db, alice) == std::vector<std::string>{"sip:c@192.0.2.1"});
  CHECK(db.size() == 1);
}

TEST_CASE("location: 10,000 AORs refreshed many times expire exactly when due", "[registrar]") {
  location_service db({.max_contacts = 16, .max_bindings = 20000});
  constexpr int n = 10000;
  auto key = [](int i) { return "sip:u" + std::to_string(i) + "@example.com"; };
  // Three rounds of refreshes leave replaced queue entries behind for every AOR.
  for (std::uint32_t round = 1; round <= 3; ++round)
    for (int i = 0; i < n; ++i)
      REQUIRE(db.update(key(i), "c", round, false, one("sip:u@192.0.2.1", 60 + i % 100),
                        t0 + seconds(round)) == status::ok);
  CHECK(db.aors() == n);
  CHECK(db.size() == n);
  // Round 3 at t0+3 s: u<i> expires at 63 + i % 100 s.
  db.expire(t0 + seconds(62));
  CHECK(db.size() == n);
  db.expire(t0 + seconds(63 + 49));
  CHECK(db.size() == n / 2);  // i % 100 in 0..49 gone
  CHECK(db.lookup(key(149)).empty());
  CHECK(db.lookup(key(150)).size() == 1);
  db.expire(t0 + seconds(63 + 99));
  CHECK(db.size() == 0);
  CHECK(db.aors() == 0);
  CHECK_FALSE(db.next_expiry());
}
