// Time and timers of the transaction layer (RFC 3261 §17, Table 4 of §A; RFC 6026 §7).
//
// The transaction layer never reads a clock: every entry point takes `now`, and timers
// are requested as actions ("start Timer E with deadline now + 500 ms") that the caller
// (the manager, a test, the Asio adapter) executes. Time is
// std::chrono::steady_clock::time_point so that the Asio adapter can pass
// steady_clock::now() and tests can start a manual clock at time_point{}.
//
// Thread safety: plain values.
#pragma once

#include <chrono>
#include <cstdint>
#include <string_view>

namespace sipkit::transaction {

using clock_type = std::chrono::steady_clock;
using time_point = clock_type::time_point;
using duration = std::chrono::milliseconds;

/// The RFC's timer names. `trying` is the unnamed 200 ms timer of RFC 3261 §17.2.1 after
/// which an INVITE server transaction sends 100 (Trying) on its own.
enum class timer : std::uint8_t {
  a,       ///< ICT: INVITE retransmit (unreliable only), T1 doubling, no cap
  b,       ///< ICT: INVITE transaction timeout, 64*T1
  d,       ///< ICT: wait for response retransmits, >= 32 s unreliable, 0 reliable
  e,       ///< NICT: request retransmit (unreliable only), T1 doubling capped at T2
  f,       ///< NICT: non-INVITE transaction timeout, 64*T1
  g,       ///< IST: non-2xx final retransmit (unreliable only), T1 doubling capped at T2
  h,       ///< IST: wait for ACK, 64*T1
  i,       ///< IST: wait for ACK retransmits, T4 unreliable, 0 reliable
  j,       ///< NIST: wait for request retransmits, 64*T1 unreliable, 0 reliable
  k,       ///< NICT: wait for response retransmits, T4 unreliable, 0 reliable
  l,       ///< IST: wait for INVITE retransmits after a 2xx, 64*T1 (RFC 6026 §7.1)
  m,       ///< ICT: wait for 2xx retransmits, 64*T1 (RFC 6026 §7.2)
  trying,  ///< IST: send 100 Trying if the TU has not answered (RFC 3261 §17.2.1)
};

/// "Timer A" ... "Timer M", "Timer 100".
std::string_view to_string(timer t) noexcept;

/// RFC 3261 §17.1.1.1: T1 (RTT estimate), T2 (maximum retransmit interval for non-INVITE
/// requests and INVITE responses), T4 (maximum time a message stays in the network).
/// Defaults are the RFC's; a deployment on a known network may lower T1 (and must then
/// accept that every 64*T1 timeout shrinks with it).
struct timer_config {
  duration t1{500};
  duration t2{4000};
  duration t4{5000};
  /// Timer D on unreliable transports: "at least 32 seconds" (§17.1.1.2), not tied to T1.
  duration d{32000};
  /// §17.2.1: the INVITE server transaction answers 100 Trying after this long.
  duration trying{200};

  /// 64*T1: Timers B, F, H, J (unreliable), L and M.
  duration timeout() const noexcept { return 64 * t1; }
};

}  // namespace sipkit::transaction
