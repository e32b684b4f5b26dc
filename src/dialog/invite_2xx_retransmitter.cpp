#include "sipkit/dialog/invite_2xx_retransmitter.hpp"

#include <algorithm>

namespace sipkit::dialog {

invite_2xx_retransmitter::invite_2xx_retransmitter(const timer_config& timers, time_point now,
                                                   bool reliable) noexcept
    : give_up_at_(now + timers.timeout()),
      next_send_(now + timers.t1),
      interval_(timers.t1),
      t2_(timers.t2),
      reliable_(reliable) {}

std::optional<time_point> invite_2xx_retransmitter::next_deadline() const noexcept {
  if (done_) return std::nullopt;
  if (reliable_) return give_up_at_;
  return std::min(next_send_, give_up_at_);
}

retransmit_step invite_2xx_retransmitter::on_timer(time_point now) noexcept {
  if (done_) return retransmit_step::wait;
  if (now >= give_up_at_) {
    done_ = true;
    return retransmit_step::give_up;
  }
  if (reliable_ || now < next_send_) return retransmit_step::wait;
  // §13.3.1.4: "an interval that starts at T1 seconds and doubles for each retransmission
  // until it reaches T2 seconds".
  interval_ = std::min(interval_ * 2, t2_);
  next_send_ += interval_;
  ++retransmissions_;
  return retransmit_step::retransmit;
}

}  // namespace sipkit::dialog
