// Private: session_timer_binding, session timers (RFC 4028) over session::session_timer: the offer
// in the INVITE, 422 retries, the negotiated refresher, refreshes by UPDATE through the
// call's session, the BYE at expiry.
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
  /// UAS: 422 (with `refusal` filled) for an interval below our Min-SE, else 0 after
  /// recording the negotiated interval and refresher in `c` (when not null).
  int negotiate_session_timer(const call_ptr& c, const parser::message& req,
                              parser::message& refusal);
  /// UAS: the headers our 2xx to the INVITE carries (Session-Expires, Require: timer).
  std::vector<std::pair<std::string, std::string>> session_timer_answer(const call_impl& c) const;
  /// UAC: the 2xx that confirmed the call says what was negotiated (§7.2).
  void on_session_timer_response(const call_ptr& c, const parser::message& ok);
  /// The session is confirmed (UAS: the ACK came): the schedule starts.
  void arm_session_timer(const call_ptr& c);
  /// The call's timer fired with a refresh (or the expiry) due.
  void on_timer(const call_ptr& c, tx::time_point now);
  /// A refreshing re-INVITE or UPDATE from the peer: the headers of our 2xx.
  std::vector<std::pair<std::string, std::string>> on_session_refreshed(
      const call_ptr& c, const parser::message& req);

 private:
  user_agent::impl& ua_;
};

}  // namespace sipkit::ua
