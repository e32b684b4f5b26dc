// The UAS core's 2xx retransmission until the ACK (RFC 3261 §13.3.1.4), driven by the
// manual clock with exact time points (T1 = 500 ms, T2 = 4 s unless said otherwise).
#include "sipkit/dialog/invite_2xx_retransmitter.hpp"

#include <catch2/catch.hpp>
#include <chrono>
#include <optional>
#include <vector>

#include "support/manual_clock.hpp"

using namespace std::chrono_literals;
using sipkit::dialog::invite_2xx_retransmitter;
using sipkit::dialog::retransmit_step;
using sipkit::dialog::timer_config;
using sipkit::test::manual_clock;
using ms_list = std::vector<long long>;

namespace {

// Runs a retransmitter on the manual clock and records when it retransmits and gives up.
struct harness {
  // The 2xx is sent `start` after the clock's zero.
  explicit harness(bool reliable, timer_config cfg = {}, manual_clock::duration start = {})
      : r(cfg, manual_clock::time_point{} + start, reliable) {
    clock.advance(start);
    clock.attach([this] { return r.next_deadline(); },
                 [this](manual_clock::time_point now) {
                   switch (r.on_timer(now)) {
                     case retransmit_step::retransmit:
                       retransmits.push_back(manual_clock::ms_of(now));
                       break;
                     case retransmit_step::give_up:
                       give_ups.push_back(manual_clock::ms_of(now));
                       break;
                     case retransmit_step::wait:
                       waits.push_back(manual_clock::ms_of(now));
                       break;
                   }
                 });
  }

  manual_clock clock;
  invite_2xx_retransmitter r;
  ms_list retransmits, give_ups, waits;
};

std::optional<long long> deadline_ms(const invite_2xx_retransmitter& r) {
  auto d = r.next_deadline();
  if (!d) return std::nullopt;
  return manual_clock::ms_of(*d);
}

}  // namespace

TEST_CASE("2xx on UDP is first retransmitted T1 after it was sent") {
  harness h(false);
  CHECK(deadline_ms(h.r) == 500);
  h.clock.advance(499ms);
  CHECK(h.retransmits.empty());
  h.clock.advance(1ms);
  CHECK(h.retransmits == ms_list{500});
  CHECK(deadline_ms(h.r) == 1500);
}

TEST_CASE("2xx on UDP goes again at T1, 3*T1, 7*T1, 15*T1, then every T2 until 64*T1") {
  harness h(false);
  h.clock.advance(31999ms);
  CHECK(h.retransmits == ms_list{500, 1500, 3500, 7500, 11500, 15500, 19500, 23500, 27500, 31500});
  CHECK(h.give_ups.empty());
  CHECK(h.r.retransmissions() == 10);
  CHECK(h.waits.empty());
}

TEST_CASE("2xx retransmitter gives up at exactly 64*T1 without an ACK") {
  harness h(false);
  h.clock.advance(31999ms);
  REQUIRE(h.give_ups.empty());
  CHECK(deadline_ms(h.r) == 32000);
  h.clock.advance(1ms);
  CHECK(h.give_ups == ms_list{32000});
  CHECK(h.r.done());
}

TEST_CASE("After giving up the retransmitter has no deadline and does nothing more") {
  harness h(false);
  h.clock.advance(32s);
  REQUIRE(h.give_ups == ms_list{32000});
  CHECK_FALSE(h.r.next_deadline().has_value());
  h.clock.advance(60s);
  CHECK(h.retransmits.size() == 10);
  CHECK(h.give_ups.size() == 1);
  CHECK(h.r.on_timer(h.clock.now()) == retransmit_step::wait);
}

TEST_CASE("on_ack stops the retransmissions and clears the deadline") {
  harness h(false);
  h.clock.advance(2s);
  REQUIRE(h.retransmits == ms_list{500, 1500});
  h.r.on_ack();
  CHECK(h.r.done());
  CHECK_FALSE(h.r.next_deadline().has_value());
  h.clock.advance(60s);
  CHECK(h.retransmits == ms_list{500, 1500});
  CHECK(h.give_ups.empty());
  CHECK(h.r.retransmissions() == 2);
}

TEST_CASE("on_ack before the first retransmission means the 2xx is never sent again") {
  harness h(false);
  h.r.on_ack();
  h.clock.advance(60s);
  CHECK(h.retransmits.empty());
  CHECK(h.give_ups.empty());
}

TEST_CASE("On a reliable transport the 2xx is not retransmitted and the wait ends at 64*T1") {
  harness h(true);
  CHECK(deadline_ms(h.r) == 32000);
  h.clock.advance(31999ms);
  CHECK(h.retransmits.empty());
  CHECK(h.give_ups.empty());
  h.clock.advance(1ms);
  CHECK(h.give_ups == ms_list{32000});
  CHECK(h.r.retransmissions() == 0);
  CHECK_FALSE(h.r.next_deadline().has_value());
}

TEST_CASE("On a reliable transport on_ack ends the wait for the ACK") {
  harness h(true);
  h.clock.advance(10s);
  h.r.on_ack();
  h.clock.advance(60s);
  CHECK(h.give_ups.empty());
  CHECK_FALSE(h.r.next_deadline().has_value());
}

TEST_CASE("on_timer before the deadline returns wait and keeps the schedule") {
  harness h(false);
  const auto t0 = h.clock.now();
  CHECK(h.r.on_timer(t0 + 499ms) == retransmit_step::wait);
  CHECK(h.r.retransmissions() == 0);
  CHECK(deadline_ms(h.r) == 500);
  CHECK(h.r.on_timer(t0 + 500ms) == retransmit_step::retransmit);
  CHECK(h.r.on_timer(t0 + 1499ms) == retransmit_step::wait);
  CHECK(deadline_ms(h.r) == 1500);
}

TEST_CASE("on_timer before 64*T1 on a reliable transport returns wait") {
  harness h(true);
  const auto t0 = h.clock.now();
  CHECK(h.r.on_timer(t0 + 500ms) == retransmit_step::wait);
  CHECK(h.r.on_timer(t0 + 31999ms) == retransmit_step::wait);
  CHECK(h.r.on_timer(t0 + 32000ms) == retransmit_step::give_up);
}

TEST_CASE("The schedule is relative to when the 2xx was sent") {
  harness h(false, {}, 10s);
  CHECK(deadline_ms(h.r) == 10500);
  h.clock.advance(40s);
  CHECK(h.retransmits ==
        ms_list{10500, 11500, 13500, 17500, 21500, 25500, 29500, 33500, 37500, 41500});
  CHECK(h.give_ups == ms_list{42000});
}

TEST_CASE("The schedule follows a configured T1 and T2") {
  timer_config cfg;
  cfg.t1 = 100ms;
  cfg.t2 = 400ms;
  harness h(false, cfg);
  h.clock.advance(10s);
  // 100, +200, +400, then every T2 = 400 until 64*T1 = 6.4 s.
  ms_list expected{100, 300, 700};
  for (long long t = 1100; t < 6400; t += 400) expected.push_back(t);
  CHECK(h.retransmits == expected);
  CHECK(h.give_ups == ms_list{6400});
}
