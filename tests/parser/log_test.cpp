#include <catch2/catch.hpp>
#include <string>
#include <vector>

#include "sipkit/log.hpp"

TEST_CASE("logger passes records at or above its level to the sink", "[log]") {
  std::vector<std::string> lines;
  sipkit::logger log(sipkit::log_level::info, [&](const sipkit::log_record& r) {
    lines.push_back(std::string(to_string(r.level)) + "/" + std::string(r.component) + "/" +
                    std::string(r.text));
  });
  log.log(sipkit::log_level::debug, "transport", "hidden");
  log.log(sipkit::log_level::warning, "transport", "dropped datagram");
  CHECK_FALSE(log.enabled(sipkit::log_level::debug));
  CHECK(lines == std::vector<std::string>{"warning/transport/dropped datagram"});
}

TEST_CASE("logger without a sink writes to stderr", "[log]") {
  sipkit::logger log;
  CHECK(log.enabled(sipkit::log_level::error));
  CHECK_NOTHROW(log.log(sipkit::log_level::error, "test", "stderr sink works"));
}
