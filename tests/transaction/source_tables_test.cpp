// The manager's private per-source machinery: the bounded source table
// (src/transaction/source_table.hpp), the token buckets of the rate limiter
// (rate_limiter.hpp), and the wire size the byte budget counts (wire_size.hpp).
#include <catch2/catch.hpp>
#include <chrono>
#include <string>

#include "sipkit/parser/message.hpp"
#include "transaction/rate_limiter.hpp"
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
