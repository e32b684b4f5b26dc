// The bounded pool of incoming calls whose initial 2xx awaits its ACK (RFC 3261
// §13.3.1.4; ua_config::max_calls_awaiting_ack): an intrusive list, oldest first, and the
// admission policy for new INVITEs when it is full (evict a 2xx past T1, else 503).
#include <algorithm>

#include "ua_impl.hpp"

namespace sipkit::ua {

void call_binding::give_up_on_ack(const call_ptr& c, std::string_view why) {
  ua_.peer_log(why, log_level::warning, std::string(why) + ": sending BYE");
  stop_awaiting_ack(*c);
  if (c->session) run(c, c->session->give_up_ack(now()));
}

namespace {
std::uint32_t ms_mod32(tx::time_point t) {
  return static_cast<std::uint32_t>(
      std::chrono::duration_cast<std::chrono::milliseconds>(t.time_since_epoch()).count());
}
}  // namespace

std::chrono::milliseconds call_binding::ack_waited(const call_impl& c, tx::time_point at) const {
  return std::chrono::milliseconds(
      static_cast<std::uint32_t>(ms_mod32(at) - c.awaiting_ack_since_ms));
}

bool call_binding::ack_overdue(const call_impl& c, tx::time_point at) const {
  return ack_waited(c, at) >= ua_.config_.transactions.timers.t1;
}

bool call_binding::evict_overdue_ack() {
  call_impl* oldest = awaiting_ack_.head;
  if (!oldest || !ack_overdue(*oldest, now())) return false;
  auto* found = calls_.find(oldest);
  if (!found) {  // cannot happen: end_call unlinks; keep the list honest
    stop_awaiting_ack(*oldest);
    return true;
  }
  ++calls_evicted_awaiting_ack_;
  give_up_on_ack(call_ptr(*found), "calls awaiting their ACK are at the limit: a 2xx past T1");
  return true;
}

std::optional<std::chrono::seconds> call_binding::admit_awaiting_ack() {
  const std::size_t limit = ua_.config_.max_calls_awaiting_ack;
  while (limit != 0 && awaiting_ack_.size >= limit)
    if (!evict_overdue_ack()) {
      // Every waiting 2xx is younger than T1: its ACK may well be on its way. Retry when
      // the oldest one turns overdue (whole seconds, at least 1: §20.33).
      const auto left = ua_.config_.transactions.timers.t1 - ack_waited(*awaiting_ack_.head, now());
      return std::max(std::chrono::seconds(1), std::chrono::ceil<std::chrono::seconds>(left));
    }
  return std::nullopt;
}

void call_binding::start_awaiting_ack(const call_ptr& c) {
  if (c->awaiting_ack) return;
  // A call admitted while the pool had room may be answered once it is full: it joins
  // anyway (the pool goes past its bound by at most the calls admitted before, which
  // max_calls bounds) and makes room only with overdue 2xx.
  const std::size_t limit = ua_.config_.max_calls_awaiting_ack;
  while (limit != 0 && awaiting_ack_.size >= limit && evict_overdue_ack()) {
  }
  c->awaiting_ack = true;
  c->awaiting_ack_since_ms = ms_mod32(now());
  c->ack_prev = awaiting_ack_.tail;
  c->ack_next = nullptr;
  (awaiting_ack_.tail ? awaiting_ack_.tail->ack_next : awaiting_ack_.head) = c.get();
  awaiting_ack_.tail = c.get();
  ++awaiting_ack_.size;
}

void call_binding::stop_awaiting_ack(call_impl& c) {
  if (!c.awaiting_ack) return;
  (c.ack_prev ? c.ack_prev->ack_next : awaiting_ack_.head) = c.ack_next;
  (c.ack_next ? c.ack_next->ack_prev : awaiting_ack_.tail) = c.ack_prev;
  c.ack_prev = c.ack_next = nullptr;
  c.awaiting_ack = false;
  --awaiting_ack_.size;
}

}  // namespace sipkit::ua
