// Private: session_timer_binding, session timers (RFC 4028) over session::session_timer: the offer
// in the INVITE, 422 retries, the negotiated refresher, refreshes by UPDATE, the BYE at expiry.
//
// One of user_agent::impl's bindings (see ua_impl.hpp). It keeps
// a reference to the agent's core (ua_) for sending and the shared tables; its lifetime is
// the agent's (a member of user_agent::impl), so timers' handlers may capture `this`.
#pragma once

#include "continuation.hpp"

namespace sipkit::ua {

class session_timer_binding {
 public:
  explicit session_timer_binding(user_agent::impl& ua) : ua_(ua) {}

  // ---- session timers (session_timer.cpp)
  void add_session_timer_offer(const call_ptr& c, parser::message& invite);
  /// UAC: a 422 to our INVITE; true when `retry` asks again with the peer's Min-SE.
  bool retry_session_timer(const call_ptr& c, const parser::message& rsp, parser::message& retry);
  /// UAS: 422 (with `refusal` filled) for an interval below our Min-SE, else 0 after
  /// recording the negotiated interval and refresher in `c` (when not null).
  int negotiate_session_timer(const call_ptr& c, const parser::message& req,
                              parser::message& refusal);
  void add_session_timer_answer(const call_impl& c, parser::message& ok) const;
  void on_session_timer_response(const call_ptr& c, const parser::message& ok);
  void arm_session_timer(const call_ptr& c);
  void send_session_refresh(const call_ptr& c, parser::message update);
  void on_session_refresh_response(client_op& op, const parser::message& rsp);
  void on_session_refreshed(const call_ptr& c, const parser::message& req, parser::message& ok);

 private:
  user_agent::impl& ua_;
};

}  // namespace sipkit::ua
