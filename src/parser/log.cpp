#include "sipkit/log.hpp"

#include <cstdio>

namespace sipkit {

std::string_view to_string(log_level level) noexcept {
  switch (level) {
    case log_level::trace: return "trace";
    case log_level::debug: return "debug";
    case log_level::info: return "info";
    case log_level::warning: return "warning";
    case log_level::error: return "error";
    case log_level::off: return "off";
  }
  return "?";
}

log_sink stderr_sink() {
  return [](const log_record& r) {
    std::string line = "sipkit ";
    line.append(to_string(r.level)).append(" [").append(r.component).append("] ");
    line.append(r.text).push_back('\n');
    // One fwrite per record keeps lines from different threads whole.
    std::fwrite(line.data(), 1, line.size(), stderr);
  };
}

logger::logger(log_level min_level, log_sink sink)
    : min_level_(min_level), sink_(sink ? std::move(sink) : stderr_sink()) {}

void logger::log(log_level level, std::string_view component, std::string_view text) const {
  if (!enabled(level)) return;
  sink_(log_record{level, component, text});
}

}  // namespace sipkit
