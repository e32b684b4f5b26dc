// examples/registrar/location_service: bounded bindings per AOR and in total, all-or-nothing
// updates, and the expiry queue, on an explicit time line (issue 17, items 4 and 8).
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
