// Private, temporary: the one place that works around transaction::manager reporting a
// synchronous transport failure through transaction_user::on_failure BEFORE start_client()
// or respond() return (so the id is not known yet / the caller sees success). The core
// calls watch() before those calls, the dispatcher records() a failure of a transaction
// it knows nothing of, and take(id) after the call says whether that call failed at once.
// Remove this file once the manager returns such failures in its result.
#pragma once

#include <optional>
#include <system_error>
#include <utility>

#include "sipkit/transaction/manager.hpp"

namespace sipkit::ua::detail {

class sync_failure_trap {
 public:
  void watch() noexcept { caught_.reset(); }
  void record(transaction::transaction_id id, std::error_code ec) noexcept { caught_ = {id, ec}; }
  /// The failure recorded for `id` since watch() (none: {}); clears it.
  std::error_code take(transaction::transaction_id id) noexcept {
    std::error_code ec;
    if (caught_ && caught_->first == id) ec = caught_->second;
    caught_.reset();
    return ec;
  }

 private:
  std::optional<std::pair<transaction::transaction_id, std::error_code>> caught_;
};

}  // namespace sipkit::ua::detail
