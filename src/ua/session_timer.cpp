// Session timers (RFC 4028): the binding of sipkit::session::session_timer to the agent
// (ua_config, the call's timer, UPDATE refreshes through the call's session, BYE on expiry).
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

/// What a module added to a response, as headers for the session to put in it.
std::vector<std::pair<std::string, std::string>> added_headers(const message& m) {
  std::vector<std::pair<std::string, std::string>> out;
  for (const auto& f : m.fields())
    out.emplace_back(std::string(m.name_of(f)), std::string(m.value_of(f)));
  return out;
}

}  // namespace

void session_timer_binding::add_session_timer_offer(const call_ptr& c, message& invite) {
  session::session_timer st(timer_config_of(ua_.config_));
  st.add_to_invite(invite);  // Supported: timer at least (§7.1)
  if (st.current_state() != session::session_timer::state::inactive)
    c->session_timer_module = std::make_unique<session::session_timer>(st);
}

int session_timer_binding::negotiate_session_timer(const call_ptr& c, const message& req,
                                                   message& refusal) {
  session::session_timer st(timer_config_of(ua_.config_));
  if (st.on_invite(req) == 422) {
    refusal = ua_.response_to(req, 422, ua_.random_token(10));
    st.add_min_se(refusal);
    return 422;
  }
  if (c && st.current_state() != session::session_timer::state::inactive)
    c->session_timer_module = std::make_unique<session::session_timer>(st);
  return 0;
}

std::vector<std::pair<std::string, std::string>> session_timer_binding::session_timer_answer(
    const call_impl& c) const {
  if (!c.session_timer_module) return {};
  auto scratch = message::response(200);
  c.session_timer_module->add_to_2xx(scratch);
  return added_headers(scratch);
}

void session_timer_binding::on_session_timer_response(const call_ptr& c, const message& ok) {
  // §7.2: a 2xx may name an interval we did not ask for; without one, no session timer.
  if (!c->session_timer_module)
    c->session_timer_module =
        std::make_unique<session::session_timer>(timer_config_of(ua_.config_));
  c->session_timer_module->on_2xx(ok, now());
  if (c->session_timer_module->current_state() == session::session_timer::state::inactive)
    c->session_timer_module.reset();
}

void session_timer_binding::arm_session_timer(const call_ptr& c) {
  if (c->session_timer_module) c->session_timer_module->start(now());  // no-op after the first
}

// A refresh: a failure answer other than the session's own 481/408 ends the call too (§10).
const continuation refresh_then{
    .on_response = call_then.on_response,
    .on_failure = call_then.on_failure,
    .on_terminated = nullptr,
    .on_completed =
        [](impl& ua, client_op& op, const message* rsp, std::error_code) {
          const call_ptr c = op.call;
          if (!rsp || !c || !c->session_timer_module || !c->session) return;
          for (const auto& a : c->session_timer_module->on_refresh_response(*rsp, now()))
            if (std::holds_alternative<session::session_timer::refresh_failed>(a))
              return ua.call_binding_.run(c, c->session->hang_up(now()));
        },
};

void session_timer_binding::on_timer(const call_ptr& c, tx::time_point now) {
  if (c->state != call_state::established || !c->session) return;
  auto* d = c->session->dialog_for_module();
  if (!d) return;
  for (auto& a : c->session_timer_module->on_timer(now, *d)) {
    if (auto* send = std::get_if<session::session_timer::send_request>(&a)) {
      ua_.call_binding_.send_built(c, std::move(send->request), refresh_then);
    } else if (std::holds_alternative<session::session_timer::expired_event>(a)) {
      ua_.peer_log("no session refresh", log_level::warning, "no session refresh: sending BYE");
      return ua_.call_binding_.run(c, c->session->hang_up(now));
    }
  }
}

std::vector<std::pair<std::string, std::string>> session_timer_binding::on_session_refreshed(
    const call_ptr& c, const message& req) {
  if (!c->session_timer_module) return {};
  auto scratch = message::response(200);
  c->session_timer_module->on_refresh_request(req, scratch, now());
  return added_headers(scratch);
}

}  // namespace sipkit::ua
