// Private: retransmission intervals shared by the machines.
#pragma once

#include <cstdint>

#include "sipkit/transaction/timer.hpp"

namespace sipkit::transaction::detail {

/// T1 * 2^n, capped at `cap` (Timers E and G: cap T2, §17.1.2.2, §17.2.1; Timer A has no
/// cap, pass duration::max()). Saturates instead of overflowing.
inline duration backoff(duration t1, std::uint8_t n, duration cap) noexcept {
  duration d = t1;
  for (std::uint8_t i = 0; i < n && d < cap; ++i) {
    if (d > duration::max() / 2) return cap;
    d *= 2;
  }
  return d < cap ? d : cap;
}

inline void bump(std::uint8_t& n) noexcept {
  if (n < 62) ++n;
}

}  // namespace sipkit::transaction::detail
