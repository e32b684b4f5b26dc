// Session timers (RFC 4028): the binding of sipkit::session::session_timer to the agent
// (ua_config, one Asio timer per call, UPDATE refreshes through the stack, BYE on expiry).
//
// The module decides: what INVITEs and 2xx carry (Supported: timer, Session-Expires,
// Min-SE, Require: timer), the 422 and its retry (§7.4, §8.1), who refreshes (§9), when
// (half the interval, §10) and when the other side gives up (interval - min(32 s,
// interval/3), §10). A UAS supports the extension whatever ua_config::session_expires
// says: that value is only the interval we ask for (0: none of our own).
#include "sipkit/session/session_timer.hpp"

#include "ua_impl.hpp"

namespace sipkit::ua {

using parser::message;

namespace {

session::session_timer_config timer_config_of(const ua_config& c) {
  session::session_timer_config out;
  out.session_expires = c.session_expires;
  out.min_se = c.min_se;
  return out;
}

}  // namespace

void session_timer_binding::add_session_timer_offer(const call_ptr& c, message& invite) {
  session::session_timer st(timer_config_of(ua_.config_));
  st.add_to_invite(invite);  // Supported: timer at least (§7.1)
  if (st.current_state() != session::session_timer::state::inactive)
    c->session_timer_module = std::make_unique<session::session_timer>(st);
}

bool session_timer_binding::retry_session_timer(const call_ptr& c, const message& rsp,
                                                message& retry) {
  return c->session_timer_module && c->session_timer_module->on_422(rsp, retry);
}

int session_timer_binding::negotiate_session_timer(const call_ptr& c, const message& req,
                                                   message& refusal) {
  session::session_timer st(timer_config_of(ua_.config_));
  if (st.on_invite(req) == 422) {
    refusal = ua_.response_to(req, 422, c ? c->local_tag : ua_.random_token(10));
    st.add_min_se(refusal);
    return 422;
  }
  if (c && st.current_state() != session::session_timer::state::inactive)
    c->session_timer_module = std::make_unique<session::session_timer>(st);
  return 0;
}

void session_timer_binding::add_session_timer_answer(const call_impl& c, message& ok) const {
  if (c.session_timer_module) c.session_timer_module->add_to_2xx(ok);
}

void session_timer_binding::on_session_timer_response(const call_ptr& c, const message& ok) {
  // §7.2: a 2xx may name an interval we did not ask for; without one, no session timer.
  if (!c->session_timer_module)
    c->session_timer_module =
        std::make_unique<session::session_timer>(timer_config_of(ua_.config_));
  c->session_timer_module->on_2xx(ok, tx::clock_type::now());
  if (c->session_timer_module->current_state() == session::session_timer::state::inactive)
    c->session_timer_module.reset();
  arm_session_timer(c);
}

void session_timer_binding::arm_session_timer(const call_ptr& c) {
  auto& st = c->session_timer_module;
  if (!st || c->state == call_state::terminated) return;
  st->start(tx::clock_type::now());  // UAS: the ACK confirmed the session (no-op after)
  auto when = st->next_deadline();
  if (!when) {
    if (c->session_timer) c->session_timer->cancel();
    return;
  }
  if (!c->session_timer) c->session_timer = std::make_unique<boost::asio::steady_timer>(ua_.io_);
  c->session_timer->expires_at(*when);
  std::weak_ptr<call_impl> weak = c;
  c->session_timer->async_wait([this, weak](boost::system::error_code ec) {
    auto call = weak.lock();
    if (ec || !call || call->state != call_state::established || !call->session_timer_module)
      return;
    auto* d = ua_.call_binding_.dialog_of(*call);
    if (!d) return;
    for (auto& a : call->session_timer_module->on_timer(tx::clock_type::now(), *d)) {
      if (auto* send = std::get_if<session::session_timer::send_request>(&a)) {
        send_session_refresh(call, std::move(send->request));
      } else if (std::holds_alternative<session::session_timer::expired_event>(a)) {
        ua_.peer_log("no session refresh", log_level::warning,
                     "no session refresh in call " + call->call_id + ": sending BYE");
        return ua_.call_binding_.send_bye(call);
      }
    }
    arm_session_timer(call);
  });
}

const continuation refresh_then{
    .on_response =
        [](impl& ua, client_op& op, tx::transaction_id, const message& rsp) {
          ua.session_timer_.on_session_refresh_response(op, rsp);
        },
    // RFC 4028 §10: the refresh failed, the session is gone.
    .on_failure =
        [](impl& ua, client_op& op, tx::transaction_id, std::error_code ec) {
          if (op.call) ua.call_binding_.end_call(op.call, detail::failure_status(ec), ec);
        },
    .answers_challenges = true,
};

void session_timer_binding::send_session_refresh(const call_ptr& c, message update) {
  auto* d = ua_.call_binding_.dialog_of(*c);
  if (!d) return;
  auto dest = ua_.hop_of(*c, *d);
  if (!dest) return;
  client_op op;
  op.then = &refresh_then;
  op.call = c;
  op.request = update;
  ua_.start(std::move(update), {*dest}, std::move(op));
}

void session_timer_binding::on_session_refresh_response(client_op& op, const message& rsp) {
  if (rsp.status_code() < 200 || !op.call || !op.call->session_timer_module) return;
  for (const auto& a :
       op.call->session_timer_module->on_refresh_response(rsp, tx::clock_type::now()))
    if (const auto* failed = std::get_if<session::session_timer::refresh_failed>(&a))
      return ua_.call_binding_.end_call(op.call, failed->status, make_error_code(errc::call_ended));
  arm_session_timer(op.call);
}

void session_timer_binding::on_session_refreshed(const call_ptr& c, const message& req,
                                                 message& ok) {
  if (!c->session_timer_module) return;
  c->session_timer_module->on_refresh_request(req, ok, tx::clock_type::now());
  arm_session_timer(c);
}

}  // namespace sipkit::ua
