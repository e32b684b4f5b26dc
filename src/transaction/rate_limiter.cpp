// Token buckets per source address (rate_limiter.hpp).
#include "transaction/rate_limiter.hpp"

#include <chrono>

namespace sipkit::transaction::detail {
namespace {

std::uint64_t fill_time_ns(std::uint64_t capacity, std::uint64_t rate) {
  return rate == 0 ? 0 : (capacity + rate - 1) / rate;
}

// An idle bucket is full again after fill_ns: the table may forget it from then on.
duration idle_after(std::uint64_t fill_ns) {
  return duration{static_cast<duration::rep>((fill_ns + 999'999) / 1'000'000)};
}

}  // namespace

rate_limiter::rate_limiter(const rate_limit_config& config, std::uint64_t seed,
                           std::uint64_t* eviction_counter)
    : rate_(config.requests_per_second),
      capacity_(static_cast<std::uint64_t>(config.burst == 0 ? 1 : config.burst) * k_unit),
      fill_ns_(fill_time_ns(capacity_, rate_)),
      table_(config.max_sources, idle_after(fill_ns_), seed, eviction_counter) {}

bool rate_limiter::admit(std::string_view host, time_point now) {
  bool created = false;
  bucket& b = table_.get(host, now, &created);
  if (created) {
    b.tokens = capacity_;
  } else if (now > b.refilled) {
    const auto elapsed = static_cast<std::uint64_t>(
        std::chrono::duration_cast<std::chrono::nanoseconds>(now - b.refilled).count());
    // elapsed * rate_ < capacity_ + rate_ in the second branch: no overflow.
    if (elapsed >= fill_ns_) {
      b.tokens = capacity_;
    } else {
      b.tokens += elapsed * rate_;
      if (b.tokens > capacity_) b.tokens = capacity_;
    }
  }
  if (now > b.refilled || created) b.refilled = now;
  if (b.tokens < k_unit) return false;
  b.tokens -= k_unit;
  return true;
}

}  // namespace sipkit::transaction::detail
