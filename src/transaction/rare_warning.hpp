// Warnings about refusals, at most one per interval of each kind. Private to the manager.
//
// A flood must not turn into a flood of log lines: each kind of refusal (rate limit, byte
// budget, amplification budget) logs one line with the counts so far, then stays quiet
// for a minute of the manager's time (the `now` it is given: no clock is read).
#pragma once

#include <chrono>
#include <optional>
#include <utility>

#include "sipkit/log.hpp"
#include "sipkit/transaction/timer.hpp"

namespace sipkit::transaction::detail {

class rare_warning {
 public:
  static constexpr std::chrono::seconds interval{60};

  /// Log `text()` at warning level unless this warning was logged less than `interval`
  /// ago; `text` is only called when a line is written.
  template <class Text>
  void operator()(const logger& log, time_point now, Text&& text) {
    if (last_ && now - *last_ < interval) return;
    last_ = now;
    if (log.enabled(log_level::warning))
      log.log(log_level::warning, "transaction", std::forward<Text>(text)());
  }

 private:
  std::optional<time_point> last_;
};

}  // namespace sipkit::transaction::detail
