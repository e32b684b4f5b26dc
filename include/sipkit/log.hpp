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

#include <functional>
#include <string>
#include <string_view>

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

}  // namespace sipkit
