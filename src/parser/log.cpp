#include "sipkit/log.hpp"

#include <algorithm>
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

// ---------------------------------------------------------------------------------------
// log_throttle

log_throttle::log_throttle(logger out, std::string_view component, options opt)
    : out_(std::move(out)), component_(component), opt_(opt) {}

log_throttle::entry& log_throttle::slot(std::string_view reason) {
  for (auto& e : entries_)
    if (e.reason == reason) return e;
  // Reasons are a small fixed set; anything beyond max_reasons shares the last slot so
  // that memory stays bounded even if a caller builds reasons from input by mistake.
  if (entries_.size() + 1 >= max_reasons) {
    if (entries_.size() + 1 == max_reasons) entries_.push_back(entry{"other reasons"});
    return entries_.back();
  }
  entries_.push_back(entry{std::string(reason)});
  return entries_.back();
}

void log_throttle::summarize(entry& e, clock::time_point now) {
  if (e.pending == 0) return;
  const auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(now - e.window_start);
  const auto tenths = std::max<long long>(0, static_cast<long long>(ms.count()) / 100);
  std::string text = std::to_string(e.pending);
  text += " more '";
  text += e.reason;
  text += "' lines suppressed in the last ";
  text += std::to_string(tenths / 10);
  text += '.';
  text += std::to_string(tenths % 10);
  text += " s";
  e.pending = 0;
  ++summaries_;
  out_.log(e.level, component_, text);
}

bool log_throttle::allow(std::string_view reason, log_level level, clock::time_point now) {
  if (!out_.enabled(level)) return false;
  if (opt_.burst == 0) return true;
  entry& e = slot(reason);
  if (e.in_window == 0 && e.pending == 0) {
    e.window_start = now;
  } else if (now - e.window_start >= opt_.interval) {
    summarize(e, now);
    e.window_start = now;
    e.in_window = 0;
  }
  if (e.in_window < opt_.burst) {
    ++e.in_window;
    return true;
  }
  if (e.pending == 0 || level > e.level) e.level = level;
  ++e.pending;
  ++e.suppressed_total;
  return false;
}

bool log_throttle::log(std::string_view reason, log_level level, std::string_view text,
                       clock::time_point now) {
  if (!allow(reason, level, now)) return false;
  out_.log(level, component_, text);
  return true;
}

void log_throttle::flush(clock::time_point now) {
  for (auto& e : entries_) {
    if (now - e.window_start < opt_.interval) continue;
    summarize(e, now);
    // The interval is over: the next line of this reason starts a fresh one.
    e.in_window = 0;
  }
}

void log_throttle::flush_all(clock::time_point now) {
  for (auto& e : entries_) summarize(e, now);
}

std::optional<log_throttle::clock::time_point> log_throttle::next_flush() const noexcept {
  std::optional<clock::time_point> next;
  for (const auto& e : entries_)
    if (e.pending > 0 && (!next || e.window_start + opt_.interval < *next))
      next = e.window_start + opt_.interval;
  return next;
}

std::uint64_t log_throttle::suppressed(std::string_view reason) const noexcept {
  for (const auto& e : entries_)
    if (e.reason == reason) return e.suppressed_total;
  return 0;
}

}  // namespace sipkit
