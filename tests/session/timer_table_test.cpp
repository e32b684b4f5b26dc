#include "sipkit/session/timer_table.hpp"

#include <catch2/catch.hpp>
#include <chrono>
#include <cstdint>

#include "sipkit/session/error.hpp"

namespace {

using namespace std::chrono_literals;
using sipkit::session::time_point;
enum class tick : std::uint8_t { first, second, third, count };

const time_point t0{};

}  // namespace

TEST_CASE("timer_table reports the earliest armed deadline") {
  sipkit::session::timer_table<tick> t;
  CHECK_FALSE(t.next_deadline());
  t.arm(tick::second, t0 + 2s);
  t.arm(tick::third, t0 + 1s);
  CHECK(*t.next_deadline() == t0 + 1s);
  t.cancel(tick::third);
  CHECK(*t.next_deadline() == t0 + 2s);
  CHECK_FALSE(t.armed(tick::first));
}

TEST_CASE("timer_table pops due timers earliest first and disarms them") {
  sipkit::session::timer_table<tick> t;
  t.arm(tick::first, t0 + 3s);
  t.arm(tick::second, t0 + 1s);
  t.arm(tick::third, t0 + 1s);
  CHECK_FALSE(t.pop_due(t0 + 999ms));
  CHECK(t.pop_due(t0 + 3s) == tick::second);  // tie at 1 s: lower enumerator first
  CHECK(t.pop_due(t0 + 3s) == tick::third);
  CHECK(t.pop_due(t0 + 3s) == tick::first);
  CHECK_FALSE(t.pop_due(t0 + 10s));
  CHECK_FALSE(t.next_deadline());
}

TEST_CASE("timer_table re-arming replaces the deadline") {
  sipkit::session::timer_table<tick> t;
  t.arm(tick::first, t0 + 1s);
  t.arm(tick::first, t0 + 5s);
  CHECK_FALSE(t.pop_due(t0 + 4s));
  CHECK(*t.deadline(tick::first) == t0 + 5s);
}

TEST_CASE("session errors convert to error codes of their own category") {
  std::error_code ec = sipkit::session::error::no_ack;
  CHECK(ec.category().name() == std::string_view("sipkit.session"));
  CHECK(ec.message() == "2xx not acknowledged");
}
