#include "sipkit/transaction/deadline_timer.hpp"

#include <boost/asio/error.hpp>
#include <utility>

namespace sipkit::transaction {

deadline_timer::deadline_timer(boost::asio::any_io_executor executor,
                               std::function<void()> on_due, duration grain)
    : timer_(std::move(executor)),
      on_due_(std::move(on_due)),
      grain_(grain.count() > 0 ? grain : duration::zero()),
      self_(std::make_shared<deadline_timer*>(this)) {}

deadline_timer::~deadline_timer() {
  self_.reset();
  timer_.cancel();
}

time_point deadline_timer::round_up(time_point t, duration grain) noexcept {
  const auto step = std::chrono::duration_cast<clock_type::duration>(grain).count();
  if (step <= 0) return t;
  const auto ticks = t.time_since_epoch().count();
  auto rem = ticks % step;
  if (rem < 0) rem += step;  // an epoch-relative time before the epoch (not on Linux)
  return rem == 0 ? t : t + clock_type::duration(step - rem);
}

void deadline_timer::follow(std::optional<time_point> deadline) {
  std::optional<time_point> next;
  if (deadline) next = round_up(*deadline, grain_);
  if (next == armed_) return;
  armed_ = next;
  if (!next) {
    timer_.cancel();
    return;
  }
  timer_.expires_at(*next);  // cancels the previous wait
  std::weak_ptr<deadline_timer*> weak = self_;
  timer_.async_wait([weak, at = *next](const boost::system::error_code& ec) {
    if (ec == boost::asio::error::operation_aborted) return;
    auto self = weak.lock();
    if (!self) return;
    deadline_timer& t = **self;
    if (t.armed_ != at) return;  // superseded by a later expires_at
    t.armed_.reset();
    t.on_due_();
  });
}

}  // namespace sipkit::transaction
