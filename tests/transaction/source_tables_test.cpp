// The manager's private per-source machinery: the bounded source table
// (src/transaction/source_table.hpp), the token buckets of the rate limiter
// (rate_limiter.hpp), the amplification ledger (source_ledger.hpp) and the wire size
// the byte budgets count (wire_size.hpp).
#include <catch2/catch.hpp>
#include <chrono>
#include <string>

#include "sipkit/parser/message.hpp"
#include "transaction/rate_limiter.hpp"
#include "transaction/source_ledger.hpp"
#include "transaction/source_table.hpp"
#include "transaction/wire_size.hpp"

namespace {
namespace tx = sipkit::transaction;
namespace detail = sipkit::transaction::detail;
using namespace std::chrono_literals;
using sipkit::parser::header_id;
using sipkit::parser::message;

tx::time_point at_ms(long long ms) { return tx::time_point{} + std::chrono::milliseconds(ms); }

std::string ip(int n) {
  std::string s = "10.0.";
  s.append(std::to_string(n / 256)).append(".").append(std::to_string(n % 256));
  return s;
}

/// A response of exactly `size` bytes on the wire (its body makes up the difference).
message response_of_size(int code, std::size_t size) {
  auto m = message::response(code);
  std::size_t body = size - detail::wire_size(m);
  m.set_body(std::string(body, 'x'));
  while (detail::wire_size(m) > size)
    m.set_body(std::string(--body, 'x'));  // Content-Length digits
  return m;
}

message small_request() {
  auto m = message::request("OPTIONS", "sip:bob@example.com");
  m.add(header_id::via, "SIP/2.0/UDP 192.0.2.1:5060;branch=z9hG4bKx");
  m.add(header_id::cseq, "1 OPTIONS");
  return m;
}

}  // namespace

TEST_CASE("source_table finds entries case-insensitively and counts every lookup as use") {
  detail::source_table<int> t(4, 10s, 1);
  t.get("2001:DB8::1", at_ms(0)) = 7;
  REQUIRE(t.find("2001:db8::1", at_ms(1)) != nullptr);
  REQUIRE(*t.find("2001:db8::1", at_ms(2)) == 7);
  REQUIRE(t.find("2001:db8::2", at_ms(2)) == nullptr);
  REQUIRE(t.size() == 1);
}

TEST_CASE("source_table never holds more than its bound and evicts the least recently used") {
  detail::source_table<int> t(3, 10s, 2);
  t.get("a", at_ms(0)) = 1;
  t.get("b", at_ms(1)) = 2;
  t.get("c", at_ms(2)) = 3;
  REQUIRE(t.find("a", at_ms(3)) != nullptr);  // "b" is now the least recently used
  bool created = false;
  t.get("d", at_ms(4), &created) = 4;
  REQUIRE(created);
  REQUIRE(t.size() == 3);
  REQUIRE(t.evictions() == 1);
  REQUIRE(t.find("b", at_ms(5)) == nullptr);
  REQUIRE(*t.find("a", at_ms(5)) == 1);
  for (int i = 0; i < 10000; ++i) t.get(ip(i), at_ms(6));
  REQUIRE(t.size() == 3);
  REQUIRE(t.evictions() == 10001);
  REQUIRE(t.get(ip(9999), at_ms(6), &created) == 0);  // still there: the newest
  REQUIRE_FALSE(created);
}

TEST_CASE("source_table forgets entries idle for its idle time, and a new one starts fresh") {
  detail::source_table<int> t(100, 10s, 3);
  t.get("a", at_ms(0)) = 1;
  t.get("b", at_ms(5000)) = 2;
  REQUIRE(t.peek("a", at_ms(9999)) != nullptr);
  REQUIRE(t.peek("a", at_ms(10000)) == nullptr);  // idle for 10 s
  REQUIRE(t.find("b", at_ms(10000)) != nullptr);  // expires "a", touches "b"
  REQUIRE(t.size() == 1);
  REQUIRE(t.evictions() == 0);
  bool created = false;
  REQUIRE(t.get("a", at_ms(10000), &created) == 0);
  REQUIRE(created);
  REQUIRE(t.find("b", at_ms(19999)) != nullptr);  // last used at 10 s
  REQUIRE(t.find("a", at_ms(20000)) == nullptr);
  REQUIRE(t.size() == 1);
}

TEST_CASE("A token bucket admits its burst at once, then refills at its rate exactly") {
  tx::rate_limit_config cfg;
  cfg.requests_per_second = 3;
  cfg.burst = 2;
  detail::rate_limiter rl(cfg, 4);
  REQUIRE(rl.admit("192.0.2.1", at_ms(0)));
  REQUIRE(rl.admit("192.0.2.1", at_ms(0)));
  REQUIRE_FALSE(rl.admit("192.0.2.1", at_ms(0)));
  REQUIRE(rl.admit("192.0.2.2", at_ms(0)));  // buckets are per source
  // One token per 333.33 ms: not yet at 333 ms, and the refused request took nothing.
  REQUIRE_FALSE(rl.admit("192.0.2.1", at_ms(333)));
  REQUIRE(rl.admit("192.0.2.1", at_ms(334)));
  REQUIRE_FALSE(rl.admit("192.0.2.1", at_ms(334)));
  // 1 s later: 3 tokens' worth, capped at the burst of 2.
  REQUIRE(rl.admit("192.0.2.1", at_ms(1334)));
  REQUIRE(rl.admit("192.0.2.1", at_ms(1334)));
  REQUIRE_FALSE(rl.admit("192.0.2.1", at_ms(1334)));
}

TEST_CASE("The rate limiter forgets a source once its bucket has refilled") {
  tx::rate_limit_config cfg;
  cfg.requests_per_second = 100;
  cfg.burst = 200;  // full again 2 s after it was emptied
  detail::rate_limiter rl(cfg, 5);
  for (int i = 0; i < 200; ++i) REQUIRE(rl.admit("192.0.2.1", at_ms(0)));
  REQUIRE_FALSE(rl.admit("192.0.2.1", at_ms(0)));
  REQUIRE(rl.admit("192.0.2.9", at_ms(1999)));  // the first entry is still needed
  REQUIRE(rl.sources() == 2);
  REQUIRE(rl.admit("192.0.2.9", at_ms(2000)));  // 2 s after its last use: forgotten
  REQUIRE(rl.sources() == 1);
  for (int i = 0; i < 200; ++i) REQUIRE(rl.admit("192.0.2.1", at_ms(2000)));
  REQUIRE_FALSE(rl.admit("192.0.2.1", at_ms(2000)));
}

TEST_CASE("The ledger lets factor x received bytes out to an unproven source, finals first") {
  tx::amplification_config cfg;  // factor 3
  detail::source_ledger ledger(cfg, 6);
  const message req = small_request();
  const std::size_t in = req.serialize().size();
  detail::measured_message measured(req);
  ledger.received("192.0.2.1", measured, at_ms(0));
  // A response of exactly the credit fits; one byte more would not.
  const message final_rsp = response_of_size(200, 3 * in);
  REQUIRE(detail::wire_size(final_rsp) == 3 * in);
  auto v = ledger.admit("192.0.2.1", final_rsp, at_ms(1));
  REQUIRE(v.send);
  REQUIRE(v.bytes == 3 * in);
  v = ledger.admit("192.0.2.1", message::response(200), at_ms(2));
  REQUIRE_FALSE(v.send);
  REQUIRE(v.bytes == detail::wire_size(message::response(200)));
  // A provisional needs twice its size in credit.
  detail::source_ledger fresh(cfg, 7);
  fresh.received("192.0.2.1", measured, at_ms(0));
  // 3 * in is a multiple of 3; pick in even so that half of the credit is whole.
  REQUIRE(in % 2 == 0);
  REQUIRE_FALSE(fresh.admit("192.0.2.1", response_of_size(183, 3 * in / 2 + 1), at_ms(1)).send);
  REQUIRE(fresh.admit("192.0.2.1", response_of_size(183, 3 * in / 2), at_ms(1)).send);
}

TEST_CASE("The ledger does not limit requests to unknown destinations, nor proven sources") {
  tx::amplification_config cfg;
  detail::source_ledger ledger(cfg, 8);
  auto v = ledger.admit("192.0.2.1", small_request(), at_ms(0));
  REQUIRE(v.send);
  REQUIRE(ledger.sources() == 0);
  REQUIRE_FALSE(ledger.admit("192.0.2.1", message::response(200), at_ms(0)).send);
  REQUIRE(ledger.sources() == 1);  // a response always answers someone: an entry
  REQUIRE(ledger.prove("192.0.2.1", at_ms(0)));
  REQUIRE_FALSE(ledger.prove("192.0.2.1", at_ms(0)));
  REQUIRE(ledger.admit("192.0.2.1", message::response(200), at_ms(0)).send);
  REQUIRE(ledger.proven("192.0.2.1", at_ms(31999)));
  REQUIRE_FALSE(ledger.proven("192.0.2.1", at_ms(32000)));  // idle_timeout
}

TEST_CASE("wire_size is the size a built or edited message serializes to") {
  auto req = small_request();
  req.add(header_id::from, "<sip:a@example.com>;tag=1");
  req.add("X-Extension", "some value");
  req.add(header_id::content_length, "999");  // the serializer computes its own
  REQUIRE(detail::wire_size(req) == req.serialize().size());
  req.set_body(std::string(12345, 'b'), "application/sdp");
  REQUIRE(detail::wire_size(req) == req.serialize().size());
  auto rsp = sipkit::parser::make_response(req, 486, "Busy Here Now", "tag9");
  REQUIRE(detail::wire_size(rsp) == rsp.serialize().size());
  REQUIRE(detail::wire_size(message::response(100)) == message::response(100).serialize().size());
}
