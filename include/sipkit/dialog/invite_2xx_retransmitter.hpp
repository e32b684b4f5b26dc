// The UAS core's retransmission of a 2xx to INVITE until the ACK arrives (RFC 3261
// §13.3.1.4), as a sans-I/O schedule.
//
//   invite_2xx_retransmitter r(timers, now, reliable);   // the 2xx has just been sent
//   arm(r.next_deadline());
//   ...on the timer: switch (r.on_timer(now)) {
//     case retransmit_step::retransmit: send(ok_again); arm(r.next_deadline()); break;
//     case retransmit_step::give_up: send_bye(); break;   // no ACK within 64*T1
//     case retransmit_step::wait: arm(r.next_deadline()); break;
//   }
//   ...on the ACK: r.on_ack();                      // done, no deadline any more
//
// Why in the UA core and not the transaction layer: the INVITE server transaction ends
// (Accepted, RFC 6026) when it hands the 2xx down, because the ACK for a 2xx is its own
// end-to-end request; the reliability of the 2xx is the TU's job. On an unreliable
// transport the 2xx goes again after T1, 2*T1, 4*T1 ... capped at T2; on a reliable one
// it is not retransmitted (the transport does it), but the ACK is still awaited for
// 64*T1. With no ACK by then the UAS confirms and ends the dialog with a BYE (§13.3.1.4).
//
// Thread safety: none; a plain value. Errors: none.
#pragma once

#include <cstdint>
#include <optional>

#include "sipkit/transaction/timer.hpp"

namespace sipkit::dialog {

using transaction::duration;
using transaction::time_point;
using transaction::timer_config;

enum class retransmit_step : std::uint8_t {
  wait,        ///< called before the deadline: nothing to do
  retransmit,  ///< send the 2xx again
  give_up,     ///< 64*T1 without an ACK: send BYE (§13.3.1.4)
};

class invite_2xx_retransmitter {
 public:
  /// The 2xx was sent at `now`. `reliable`: the transport retransmits, so only the
  /// 64*T1 wait for the ACK runs.
  invite_2xx_retransmitter(const timer_config& timers, time_point now, bool reliable) noexcept;

  /// When on_timer must run next; nullopt once acknowledged or given up.
  std::optional<time_point> next_deadline() const noexcept;
  retransmit_step on_timer(time_point now) noexcept;
  /// The ACK arrived: stop.
  void on_ack() noexcept { done_ = true; }
  bool done() const noexcept { return done_; }
  /// Retransmissions so far (for statistics and tests).
  std::uint32_t retransmissions() const noexcept { return retransmissions_; }

 private:
  time_point give_up_at_;
  time_point next_send_;
  duration interval_;
  duration t2_;
  std::uint32_t retransmissions_ = 0;
  bool reliable_;
  bool done_ = false;
};

}  // namespace sipkit::dialog
