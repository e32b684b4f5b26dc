// White-box test of the agent's one timer table for calls (src/ua/call_timers.hpp): the
// heap gives calls back in deadline order through moves, clears and removals from any
// place, and the one Asio timer is re-armed only when the earliest deadline moves earlier.
#include <catch2/catch.hpp>
#include <algorithm>
#include <map>
#include <memory>
#include <random>
#include <vector>

#include "call_timers.hpp"
#include "usages.hpp"

using namespace sipkit;
using ua::call_ptr;
using ua::call_timer_table;
using clock_type = transaction::clock_type;
using std::chrono::milliseconds;

namespace {
call_ptr make() { return std::make_shared<ua::detail::call_impl>(); }
const auto t0 = clock_type::time_point{} + std::chrono::hours(1);
}  // namespace

TEST_CASE("call timer table: calls come back in deadline order, moved and cleared anywhere") {
  boost::asio::io_context io;
  call_timer_table table(io);
  auto a = make(), b = make(), c = make(), d = make();
  table.set(a, t0 + milliseconds(40));
  table.set(b, t0 + milliseconds(10));
  table.set(c, t0 + milliseconds(30));
  table.set(d, t0 + milliseconds(20));
  CHECK(table.size() == 4);
  table.set(a, t0 + milliseconds(5));   // earlier
  table.set(b, t0 + milliseconds(50));  // later
  table.clear(*c);
  table.clear(*c);  // twice: nothing
  CHECK(c->timer_slot == ua::detail::call_impl::no_index);
  CHECK(table.size() == 3);
  CHECK(table.pop_due(t0) == nullptr);  // nothing due yet
  CHECK(table.pop_due(t0 + milliseconds(25)) == a);
  CHECK(table.pop_due(t0 + milliseconds(25)) == d);
  CHECK(table.pop_due(t0 + milliseconds(25)) == nullptr);
  CHECK(table.pop_due(t0 + milliseconds(50)) == b);
  CHECK(table.size() == 0);
  CHECK(b->timer_slot == ua::detail::call_impl::no_index);
}

TEST_CASE("call timer table: random sets and clears match a sorted reference") {
  boost::asio::io_context io;
  call_timer_table table(io);
  std::mt19937 rng(1234);
  std::vector<call_ptr> calls;
  for (int i = 0; i < 64; ++i) calls.push_back(make());
  std::map<ua::detail::call_impl*, clock_type::time_point> due;
  for (int step = 0; step < 5000; ++step) {
    auto& c = calls[rng() % calls.size()];
    if (rng() % 4 == 0) {
      table.clear(*c);
      due.erase(c.get());
    } else {
      const auto when = t0 + milliseconds(rng() % 1000);
      table.set(c, when);
      due[c.get()] = when;
    }
    REQUIRE(table.size() == due.size());
  }
  auto last = clock_type::time_point::min();
  std::size_t popped = 0;
  while (auto c = table.pop_due(t0 + milliseconds(1000))) {
    REQUIRE(due.count(c.get()) == 1);
    CHECK(due[c.get()] == c->timer_due);
    CHECK(last <= c->timer_due);
    last = c->timer_due;
    ++popped;
  }
  CHECK(popped == due.size());
}

TEST_CASE("call timer table: one Asio wait, re-armed only for an earlier deadline") {
  boost::asio::io_context io;
  call_timer_table table(io);
  auto a = make(), b = make();
  int fired = 0, aborted = 0;
  auto handler = [&](boost::system::error_code ec) {
    if (ec) ++aborted;
    else {
      ++fired;
      table.fired();
    }
  };
  const auto now = clock_type::now();
  table.set(a, now + milliseconds(50));
  table.arm(handler);
  table.set(b, now + milliseconds(80));  // later: the armed wait stays
  table.arm(handler);
  table.set(b, now + milliseconds(1));  // earlier: re-armed, the first wait aborted
  table.arm(handler);
  io.run_one();  // the aborted wait
  io.run_one();  // the expiry at b's deadline
  CHECK(aborted == 1);
  CHECK(fired == 1);
  CHECK(table.pop_due(clock_type::now()) == b);
  table.clear(*a);
  table.arm(handler);  // nothing left: no wait
  CHECK(io.poll() == 0);
}
