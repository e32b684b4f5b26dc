// sipkit::log_throttle (sipkit/log.hpp): the per-reason rate limit of log lines, driven by a
// manual time source.
#include <catch2/catch.hpp>
#include <chrono>
#include <memory>
#include <string>
#include <vector>

#include "sipkit/log.hpp"

using namespace std::chrono_literals;
using sipkit::log_level;
using sipkit::log_throttle;

namespace {

struct captured {
  log_level level;
  std::string component, text;
};

struct sink {
  std::shared_ptr<std::vector<captured>> lines = std::make_shared<std::vector<captured>>();
  sipkit::logger make(log_level min = log_level::info) const {
    auto out = lines;
    return sipkit::logger(min, [out](const sipkit::log_record& r) {
      out->push_back({r.level, std::string(r.component), std::string(r.text)});
    });
  }
};

const log_throttle::clock::time_point t0{std::chrono::hours(1)};

}  // namespace

TEST_CASE("log_throttle lets the burst of a reason through, then one summary per interval") {
  sink out;
  log_throttle throttle(out.make(), "transport", {3, 1000ms});
  int written = 0;
  for (int i = 0; i < 100; ++i)
    if (throttle.log("drop", log_level::warning, "drop " + std::to_string(i), t0 + i * 1ms))
      ++written;
  CHECK(written == 3);
  REQUIRE(out.lines->size() == 3);
  CHECK((*out.lines)[2].text == "drop 2");
  CHECK(throttle.suppressed("drop") == 97);
  REQUIRE(throttle.next_flush() == t0 + 1000ms);

  // The first line after the interval brings the summary, then passes itself.
  CHECK(throttle.log("drop", log_level::warning, "drop again", t0 + 1500ms));
  REQUIRE(out.lines->size() == 5);
  CHECK((*out.lines)[3].text == "97 more 'drop' lines suppressed in the last 1.5 s");
  CHECK((*out.lines)[3].level == log_level::warning);
  CHECK((*out.lines)[3].component == "transport");
  CHECK((*out.lines)[4].text == "drop again");
  CHECK(!throttle.next_flush());
  CHECK(throttle.summaries() == 1);
}

TEST_CASE("log_throttle counts each reason on its own") {
  sink out;
  log_throttle throttle(out.make(), "transport", {2, 1000ms});
  for (int i = 0; i < 10; ++i) {
    throttle.log("a", log_level::warning, "a", t0);
    throttle.log("b", log_level::info, "b", t0);
  }
  CHECK(out.lines->size() == 4);
  CHECK(throttle.suppressed("a") == 8);
  CHECK(throttle.suppressed("b") == 8);
  throttle.flush(t0 + 1000ms);
  REQUIRE(out.lines->size() == 6);
  CHECK((*out.lines)[4].text == "8 more 'a' lines suppressed in the last 1.0 s");
  CHECK((*out.lines)[5].text == "8 more 'b' lines suppressed in the last 1.0 s");
  CHECK((*out.lines)[5].level == log_level::info);
}

TEST_CASE("log_throttle flush writes the summary when the flood stops, not before") {
  sink out;
  log_throttle throttle(out.make(), "transport", {1, 1000ms});
  for (int i = 0; i < 5; ++i) throttle.log("x", log_level::warning, "x", t0 + i * 10ms);
  REQUIRE(out.lines->size() == 1);
  throttle.flush(t0 + 999ms);  // interval not over
  CHECK(out.lines->size() == 1);
  throttle.flush(t0 + 1000ms);
  REQUIRE(out.lines->size() == 2);
  CHECK((*out.lines)[1].text == "4 more 'x' lines suppressed in the last 1.0 s");
  CHECK(!throttle.next_flush());
  throttle.flush(t0 + 5000ms);  // nothing more to say
  CHECK(out.lines->size() == 2);
  // A new interval starts with the next line: the full burst again.
  CHECK(throttle.log("x", log_level::warning, "x", t0 + 6000ms));
  CHECK(!throttle.log("x", log_level::warning, "x", t0 + 6001ms));
}

TEST_CASE("log_throttle under a steady flood writes burst plus one summary per interval") {
  sink out;
  log_throttle throttle(out.make(), "transport", {10, 1000ms});
  // 10,000 lines a second for 10 seconds.
  for (int i = 0; i < 100000; ++i) throttle.log("flood", log_level::warning, "x", t0 + i * 100us);
  throttle.flush_all(t0 + 10s);
  CHECK(out.lines->size() == 10 * 11);
  CHECK(throttle.suppressed("flood") == 100000 - 10 * 10);
  CHECK(throttle.summaries() == 10);
}

TEST_CASE("log_throttle does not count lines below the logger's level") {
  sink out;
  log_throttle throttle(out.make(log_level::warning), "transport", {1, 1000ms});
  for (int i = 0; i < 5; ++i) CHECK(!throttle.allow("debugging", log_level::debug, t0));
  CHECK(throttle.suppressed("debugging") == 0);
  CHECK(!throttle.next_flush());
  CHECK(out.lines->empty());
}

TEST_CASE("log_throttle with burst 0 lets every line through") {
  sink out;
  log_throttle throttle(out.make(), "transport", {0, 1000ms});
  for (int i = 0; i < 50; ++i) throttle.log("all", log_level::warning, "x", t0);
  CHECK(out.lines->size() == 50);
  CHECK(throttle.suppressed("all") == 0);
}

TEST_CASE("log_throttle keeps at most max_reasons reasons") {
  sink out;
  log_throttle throttle(out.make(), "transport", {1, 1000ms});
  for (std::size_t i = 0; i < 3 * log_throttle::max_reasons; ++i) {
    throttle.log("r" + std::to_string(i), log_level::warning, "x", t0);
    throttle.log("r" + std::to_string(i), log_level::warning, "x", t0);
  }
  // The reasons beyond the table share one slot: one line passed for all of them.
  CHECK(out.lines->size() == log_throttle::max_reasons);
  throttle.flush_all(t0 + 1s);
  CHECK(out.lines->back().text.find("'other reasons'") != std::string::npos);
}
