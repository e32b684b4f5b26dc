// deadline_timer: the rounding that coalesces wake-ups, and the arm / re-arm / cancel rules.
// Only what follow() arms and how often on_due runs are asserted, never durations.
#include "sipkit/transaction/deadline_timer.hpp"

#include <boost/asio/io_context.hpp>
#include <catch2/catch.hpp>

namespace tx = sipkit::transaction;
using namespace std::chrono_literals;

namespace {
tx::time_point at_ms(long long ms) { return tx::time_point(std::chrono::milliseconds(ms)); }
}  // namespace

TEST_CASE("deadline_timer rounds a deadline up to the next multiple of its grain") {
  CHECK(tx::deadline_timer::round_up(at_ms(1000), 4ms) == at_ms(1000));
  CHECK(tx::deadline_timer::round_up(at_ms(1001), 4ms) == at_ms(1004));
  CHECK(tx::deadline_timer::round_up(at_ms(1003), 4ms) == at_ms(1004));
  CHECK(tx::deadline_timer::round_up(at_ms(1000) + 1ns, 4ms) == at_ms(1004));
  CHECK(tx::deadline_timer::round_up(at_ms(1001), 0ms) == at_ms(1001));
}

TEST_CASE("deadline_timer keeps one wake-up for every deadline inside one grain window") {
  boost::asio::io_context io;
  int due = 0;
  tx::deadline_timer timer(io.get_executor(), [&] { ++due; }, 4ms);
  timer.follow(at_ms(1001));
  REQUIRE(timer.armed() == at_ms(1004));
  timer.follow(at_ms(1003));  // same window: nothing re-armed
  REQUIRE(timer.armed() == at_ms(1004));
  timer.follow(at_ms(999));  // an earlier window: re-armed earlier
  REQUIRE(timer.armed() == at_ms(1000));
  timer.follow(std::nullopt);  // nothing due any more: cancelled
  REQUIRE_FALSE(timer.armed());
  io.run();
  CHECK(due == 0);
}

TEST_CASE("deadline_timer runs on_due once for a deadline in the past, then disarms") {
  boost::asio::io_context io;
  int due = 0;
  tx::deadline_timer timer(io.get_executor(), [&] { ++due; });
  timer.follow(tx::clock_type::now() - 1s);
  timer.follow(tx::clock_type::now() - 1s);  // another past deadline: one wake-up serves both
  io.run();
  CHECK(due == 1);
  CHECK_FALSE(timer.armed());
}

TEST_CASE("deadline_timer destroyed while armed runs nothing") {
  boost::asio::io_context io;
  int due = 0;
  {
    tx::deadline_timer timer(io.get_executor(), [&] { ++due; });
    timer.follow(tx::clock_type::now() - 1s);
  }
  io.run();  // the cancelled wait completes and is ignored
  CHECK(due == 0);
}
