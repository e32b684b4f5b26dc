// The manager's private timer lists (src/transaction/timer_lists.hpp): firing order is
// earliest deadline first, ties in arming order, whatever intervals and clock jumps.
#include "transaction/timer_lists.hpp"

#include <catch2/catch.hpp>
#include <chrono>
#include <cstdint>
#include <vector>

namespace {

using namespace std::chrono_literals;
namespace detail = sipkit::transaction::detail;
using sipkit::transaction::time_point;
using sipkit::transaction::timer;

struct node_store {
  std::vector<detail::timer_node>* nodes;
  detail::timer_node& operator()(std::uint32_t id) const { return (*nodes)[id]; }
};

struct fixture {
  std::vector<detail::timer_node> nodes = std::vector<detail::timer_node>(64);
  detail::timer_lists<node_store> lists{node_store{&nodes}};

  std::vector<std::uint32_t> fire_all(time_point now) {
    std::vector<std::uint32_t> fired;
    for (auto id = lists.pop_due(now); id != detail::timer_node::npos; id = lists.pop_due(now))
      fired.push_back(id);
    return fired;
  }
};

const time_point t0{};

}  // namespace

TEST_CASE("Timer lists fire the earliest deadline first across intervals") {
  fixture f;
  f.lists.arm(0, timer::j, t0 + 32000ms, t0);
  f.lists.arm(1, timer::e, t0 + 500ms, t0);
  f.lists.arm(2, timer::k, t0 + 5000ms, t0);
  f.lists.arm(3, timer::e, t0 + 600ms, t0 + 100ms);  // same interval, armed later
  REQUIRE(f.lists.next_deadline() == t0 + 500ms);
  REQUIRE(f.fire_all(t0 + 4999ms) == std::vector<std::uint32_t>{1, 3});
  REQUIRE(f.fire_all(t0 + 40s) == std::vector<std::uint32_t>{2, 0});
  REQUIRE_FALSE(f.lists.next_deadline());
  REQUIRE(f.lists.size() == 0);
}

TEST_CASE("Timer lists fire equal deadlines in arming order, even across lists") {
  fixture f;
  f.lists.arm(5, timer::k, t0 + 1000ms, t0);          // interval 1000
  f.lists.arm(6, timer::e, t0 + 1000ms, t0 + 500ms);  // interval 500, same deadline
  f.lists.arm(7, timer::k, t0 + 1000ms, t0);          // interval 1000 again
  REQUIRE(f.fire_all(t0 + 1000ms) == std::vector<std::uint32_t>{5, 6, 7});
}

TEST_CASE("Timer lists keep order when the clock goes back and when re-armed or disarmed") {
  fixture f;
  f.lists.arm(0, timer::f, t0 + 2000ms, t0 + 1000ms);
  f.lists.arm(1, timer::f, t0 + 1500ms, t0 + 500ms);  // same interval, earlier "now"
  f.lists.arm(2, timer::f, t0 + 3000ms, t0 + 2000ms);
  f.lists.arm(2, timer::f, t0 + 1200ms, t0 + 200ms);  // re-armed: moves
  f.lists.arm(3, timer::f, t0 + 1100ms, t0 + 100ms);
  f.lists.disarm(3);
  f.lists.disarm(3);  // no-op
  REQUIRE(f.lists.size() == 3);
  REQUIRE(f.fire_all(t0 + 10s) == std::vector<std::uint32_t>{2, 1, 0});
}

TEST_CASE("Timer lists stay ordered with more distinct intervals than lists") {
  fixture f;
  // 40 intervals, armed longest first: every list beyond the 16th is shared.
  for (std::uint32_t id = 0; id < 40; ++id)
    f.lists.arm(id, timer::a, t0 + std::chrono::milliseconds(1000 - 10 * id), t0);
  const auto fired = f.fire_all(t0 + 1s);
  REQUIRE(fired.size() == 40);
  for (std::uint32_t k = 0; k < 40; ++k) REQUIRE(fired[k] == 39 - k);
}
