// The calls' bookkeeping shared by the UAC and UAS halves: the dialogs of a call (its
// entries in the usage table), the end of a call, the UAS 2xx retransmissions until the
// ACK (RFC 3261 §13.3.1.4) and the bounded pool of calls awaiting their ACK.
#include "ua_impl.hpp"

namespace sipkit::ua {

using parser::header_id;
using parser::message;

sipkit::dialog::dialog* call_binding::add_call_dialog(const call_ptr& c, sipkit::dialog::dialog d) {
  if (auto* mine = c->find_dialog(d.id())) return mine;
  if (ua_.usages_.count(d.id()) || ua_.call_dialogs_ >= ua_.max_call_dialogs_) return nullptr;
  ua_.usages_.emplace(d.id(), c);
  ++ua_.call_dialogs_;
  return &c->dialogs.emplace_back(std::move(d));
}

void call_binding::drop_call_dialogs(call_impl& c, const sipkit::dialog::dialog_id* keep) {
  for (auto it = c.dialogs.begin(); it != c.dialogs.end();) {
    if (keep && it->id() == *keep) {
      ++it;
      continue;
    }
    ua_.usages_.erase(it->id());
    --ua_.call_dialogs_;
    it = c.dialogs.erase(it);
  }
}

sipkit::dialog::dialog* call_binding::dialog_of(call_impl& c) {
  return c.dialog_key ? c.find_dialog(*c.dialog_key) : nullptr;
}

detail::usage* user_agent::impl::usage_for(const std::optional<sipkit::dialog::dialog_id>& id) {
  if (!id) return nullptr;
  auto it = usages_.find(*id);
  return it == usages_.end() ? nullptr : it->second.get();
}

void call_binding::end_call(const call_ptr& call_ref, int status, std::error_code ec) {
  // A copy: `call_ref` may live in a dialog entry or the call table erased below.
  const call_ptr c = call_ref;
  if (c->state == call_state::terminated) return;
  if (status) c->final_status = status;
  c->end_error = ec;
  // Every dialog of the call (early forks included) goes with it.
  drop_call_dialogs(*c);
  if (c->timer) c->timer->cancel();
  if (c->session_timer) c->session_timer->cancel();
  if (c->provisional_timer) c->provisional_timer->cancel();
  if (c->transfer_timer) c->transfer_timer->cancel();
  c->retransmitter.reset();
  c->ok.reset();
  stop_awaiting_ack(*c);
  c->invite.reset();
  if (c->invite_tx) invite_servers_.erase(c->invite_tx);
  auto waiters = std::move(c->connected_waiters);
  c->connected_waiters.clear();
  for (auto& w : waiters) w.complete(ec ? ec : make_error_code(errc::call_ended));
  set_state(*c, call_state::terminated, status);
  c->hangup_done.complete(std::error_code{});
  c->events = nullptr;  // it may hold a handle to this call: break the cycle
  c->observers.clear();
  calls_.erase(c.get());
}

void call_binding::arm_retransmit(const call_ptr& c) {
  if (!c->retransmitter) return;
  auto deadline = c->retransmitter->next_deadline();
  if (!deadline) return;
  if (!c->timer) c->timer = std::make_unique<boost::asio::steady_timer>(ua_.io_);
  c->timer->expires_at(*deadline);
  std::weak_ptr<call_impl> weak = c;
  c->timer->async_wait([this, weak](boost::system::error_code ec) {
    auto call = weak.lock();
    if (ec || !call || !call->retransmitter || !call->ok) return;
    switch (call->retransmitter->on_timer(tx::clock_type::now())) {
      case sipkit::dialog::retransmit_step::wait:
        break;
      case sipkit::dialog::retransmit_step::retransmit:
        // The IST is in Accepted (RFC 6026 §7.1) and passes a TU 2xx retransmission on.
        if (ua_.stack_.respond(call->ok_tx, *call->ok))
          (void)ua_.stack_.send_stateless(*call->ok, call->peer);
        break;
      case sipkit::dialog::retransmit_step::give_up:
        give_up_on_ack(call, "no ACK for the 2xx");
        return;
    }
    arm_retransmit(call);
  });
}

void call_binding::give_up_on_ack(const call_ptr& c, std::string_view why) {
  ua_.peer_log(why, log_level::warning,
               std::string(why) + " of call " + c->call_id + ": sending BYE");
  stop_awaiting_ack(*c);
  if (c->timer) c->timer->cancel();
  c->retransmitter.reset();
  c->ok.reset();
  auto waiters = std::move(c->connected_waiters);
  c->connected_waiters.clear();
  for (auto& w : waiters) w.complete(make_error_code(errc::no_ack));
  send_bye(c);
}

void call_binding::start_awaiting_ack(const call_ptr& c) {
  if (c->awaiting_ack) return;
  const std::size_t limit = ua_.config_.max_calls_awaiting_ack;
  while (limit != 0 && awaiting_ack_.size() >= limit) {
    auto it = calls_.find(awaiting_ack_.front());
    if (it == calls_.end()) {  // cannot happen: end_call unlinks; keep the list honest
      awaiting_ack_.pop_front();
      continue;
    }
    ++calls_evicted_awaiting_ack_;
    give_up_on_ack(call_ptr(it->second), "calls awaiting their ACK are at the limit: oldest 2xx");
  }
  c->awaiting_ack = awaiting_ack_.insert(awaiting_ack_.end(), c.get());
}

void call_binding::stop_awaiting_ack(call_impl& c) {
  if (!c.awaiting_ack) return;
  awaiting_ack_.erase(*c.awaiting_ack);
  c.awaiting_ack.reset();
}

}  // namespace sipkit::ua
