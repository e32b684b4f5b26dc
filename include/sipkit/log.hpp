// The library's one logging hook.
//
// sipkit never writes to a stream on its own: every layer that has something to say (a
// dropped datagram, a closed connection, a SENT/RECEIVED trace at debug level) calls the
// `logger` it was configured with, and the logger hands a `log_record` to the application's
// `log_sink`. The default sink writes one line per record to stderr.
//
// No global state: a logger is a value inside each layer's configuration struct. Copying a
// logger shares the sink. Thread safety: `log()` may be called from any thread; the sink
// must then be thread-safe itself (stderr_sink() is).
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace sipkit {

enum class log_level { trace = 0, debug, info, warning, error, off };

std::string_view to_string(log_level level) noexcept;

struct log_record {
  log_level level = log_level::info;
  std::string_view component;  ///< "transport", "transaction" ...
  std::string_view text;       ///< valid only during the sink call
};

using log_sink = std::function<void(const log_record&)>;

/// Writes "sipkit <level> [<component>] <text>" lines to stderr.
log_sink stderr_sink();

class logger {
 public:
  /// Logs at `min_level` and above to `sink` (stderr when empty).
  explicit logger(log_level min_level = log_level::info, log_sink sink = {});

  bool enabled(log_level level) const noexcept { return level >= min_level_ && sink_; }
  void log(log_level level, std::string_view component, std::string_view text) const;
  log_level min_level() const noexcept { return min_level_; }

 private:
  log_level min_level_;
  log_sink sink_;
};

/// A rate limit for log lines that remote peers can trigger (a dropped datagram, a refused
/// connection, a failed send ...), so that the log never grows as fast as an attack.
///
///   log_throttle throttle(cfg.log, "transport");        // 10 lines per reason per second
///   if (throttle.allow("drop UDP datagram", log_level::warning, now))
///     cfg.log.log(log_level::warning, "transport", "drop UDP datagram from " + ...);
///
/// Per reason, the first `burst` lines of an interval pass (allow() returns true; build the
/// text only then, so that a flood costs no formatting either); the rest are counted, and
/// once the interval is over one summary line is written through the logger:
///
///   "1234 more 'drop UDP datagram' lines suppressed in the last 1.0 s"
///
/// at the level of the lines it replaces. The summary comes at the reason's next allow()
/// after the interval, or from flush(); a component with a timer calls flush() at
/// next_flush() so that the summary also appears when the flood stops. An interval starts
/// at the first line of a reason after the previous interval ended.
///
/// Time is passed in (`now`), so tests drive the throttle with a manual clock; the
/// overloads without `now` read std::chrono::steady_clock. Counters of the component stay
/// exact: the throttle only decides about log lines.
///
/// Reasons are short fixed strings (one per kind of event, never built from input); at
/// most max_reasons are tracked, further ones share one slot. Ownership: the throttle
/// keeps a copy of the logger (sharing its sink). Thread safety: none; use one throttle
/// per single-threaded component.
class log_throttle {
 public:
  using clock = std::chrono::steady_clock;
  static constexpr std::size_t max_reasons = 64;

  struct options {
    /// Lines per reason and interval before suppression starts; 0 = no limit.
    std::size_t burst = 10;
    std::chrono::milliseconds interval{std::chrono::seconds(1)};
  };

  log_throttle(logger out, std::string_view component, options opt);
  explicit log_throttle(logger out = logger(), std::string_view component = {})
      : log_throttle(std::move(out), component, options{}) {}

  /// True when a line for `reason` at `level` may be written now. False when the logger
  /// would drop it anyway (level below its minimum; not counted) or when the reason's burst
  /// is spent in the current interval (counted for the summary).
  bool allow(std::string_view reason, log_level level, clock::time_point now);
  bool allow(std::string_view reason, log_level level) {
    return allow(reason, level, clock::now());
  }
  /// allow(), then the line through the logger when allowed. Returns whether it was written.
  bool log(std::string_view reason, log_level level, std::string_view text, clock::time_point now);
  bool log(std::string_view reason, log_level level, std::string_view text) {
    return log(reason, level, text, clock::now());
  }

  /// Write the summary of every reason whose interval with suppressed lines is over.
  void flush(clock::time_point now);
  /// Write every pending summary now, interval over or not (at shutdown).
  void flush_all(clock::time_point now);
  /// When flush() next has a summary to write; nullopt when nothing is suppressed.
  std::optional<clock::time_point> next_flush() const noexcept;

  /// Lines of `reason` suppressed since construction (those in summaries and pending).
  std::uint64_t suppressed(std::string_view reason) const noexcept;
  /// Summary lines written since construction.
  std::uint64_t summaries() const noexcept { return summaries_; }

  const logger& output() const noexcept { return out_; }
  const options& settings() const noexcept { return opt_; }

 private:
  struct entry {
    std::string reason;
    clock::time_point window_start{};
    std::size_t in_window = 0;  ///< lines allowed in the current interval
    std::uint64_t pending = 0;  ///< suppressed in the current interval
    std::uint64_t suppressed_total = 0;
    log_level level = log_level::trace;  ///< highest level among the pending lines
  };
  entry& slot(std::string_view reason);
  void summarize(entry& e, clock::time_point now);

  logger out_;
  std::string component_;
  options opt_;
  std::vector<entry> entries_;
  std::uint64_t summaries_ = 0;
};

}  // namespace sipkit
