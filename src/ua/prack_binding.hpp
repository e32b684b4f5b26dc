// Private: prack_binding, reliable provisional responses (RFC 3262) over
// session::reliable_provisional_uas and _uac: RSeq/Require on our 18x, their retransmissions, PRACK
// in both directions.
//
// One of user_agent::impl's bindings (see ua_impl.hpp). It keeps
// a reference to the agent's core (ua_) for sending and the shared tables; its lifetime is
// the agent's (a member of user_agent::impl), so timers' handlers may capture `this`.
#pragma once

#include "continuation.hpp"

namespace sipkit::ua {

class prack_binding {
 public:
  explicit prack_binding(user_agent::impl& ua) : ua_(ua) {}

  // ---- reliable provisional responses (reliable_provisional.cpp)
  bool wants_reliable_provisionals(const parser::message& invite) const;
  /// Makes an 18x reliable when the INVITE asked for 100rel (and we do it); the first one
  /// creates c->prack_uas with a random RSeq. errc::invalid_state while another one awaits
  /// its PRACK (RFC 3262 §3).
  std::error_code make_reliable(const call_ptr& c, parser::message& provisional);
  /// Our final response to the INVITE went out: no more 18x retransmissions.
  void stop_provisional_retransmissions(call_impl& c);
  void arm_provisional_retransmit(const call_ptr& c);
  void on_prack(tx::transaction_id id, const parser::message& req, const call_ptr& c);
  void acknowledge_provisional(const call_ptr& c, const parser::message& provisional);

 private:
  user_agent::impl& ua_;
};

}  // namespace sipkit::ua
