// The per-source rate limit on requests that create server transactions (manager.hpp,
// rate_limit_config), in the manner of Kamailio's pike module. Private to the manager.
//
// One token bucket per source IP address: it holds at most `burst` tokens, refills at
// `requests_per_second`, and each request that would create a server transaction takes
// one; a request that finds the bucket empty is over the limit. Integer arithmetic in
// units of 1e-9 token, so that refills are exact for any `now` a test chooses. A bucket
// that has been idle long enough to be full again is indistinguishable from a new one, so
// the table (source_table.hpp) forgets it then; the table is bounded by max_sources, and
// a source evicted from a full table comes back with a full bucket (the lenient
// direction: the bound on memory wins over the bound on a source that was evicted).
//
// Thread safety: none.
#pragma once

#include <cstdint>
#include <string_view>

#include "sipkit/transaction/manager.hpp"
#include "transaction/source_table.hpp"

namespace sipkit::transaction::detail {

class rate_limiter {
 public:
  /// `eviction_counter`: see source_table.
  rate_limiter(const rate_limit_config& config, std::uint64_t seed,
               std::uint64_t* eviction_counter = nullptr);

  /// False when the limit is off (requests_per_second 0).
  bool enabled() const noexcept { return rate_ != 0; }
  /// A request from `host` at `now` would create a server transaction: true when its
  /// bucket had a token (now taken), false when it is over the limit.
  bool admit(std::string_view host, time_point now);

  std::size_t sources() const noexcept { return table_.size(); }
  std::uint64_t evictions() const noexcept { return table_.evictions(); }

 private:
  struct bucket {
    std::uint64_t tokens = 0;  // in units of 1e-9 token
    time_point refilled{};
  };
  static constexpr std::uint64_t k_unit = 1'000'000'000;  // units per token

  std::uint64_t rate_;      // tokens per second = units per nanosecond
  std::uint64_t capacity_;  // burst * k_unit
  std::uint64_t fill_ns_;   // time for an empty bucket to fill up
  source_table<bucket> table_;
};

}  // namespace sipkit::transaction::detail
