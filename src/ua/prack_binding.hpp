// Private: prack_binding, reliable provisional responses (RFC 3262) over
// session::reliable_provisional_uas and _uac: RSeq/Require on our 18x, their retransmissions, PRACK
// in both directions. PRACKs travel through the call's session (send_built, and its
// request_received for the peer's).
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
  /// RFC 3262 §3: a reliable 18x of `c` awaits its PRACK (no other may go now).
  bool reliable_pending(const call_impl& c) const;
  /// Makes an 18x reliable when the INVITE asked for 100rel (and we do it); the first one
  /// creates c->prack_uas with a random RSeq. errc::invalid_state while another one awaits
  /// its PRACK (RFC 3262 §3).
  std::error_code make_reliable(const call_ptr& c, parser::message& provisional);
  /// Our final response to the INVITE went out: no more 18x retransmissions.
  void stop_provisional_retransmissions(call_impl& c);
  /// The call's timer fired with a 18x retransmission (or the 504 at 64*T1) due.
  void on_timer(const call_ptr& c, tx::time_point now);
  void on_prack(const call_ptr& c, tx::transaction_id id, const parser::message& req);
  /// A 1xx to our INVITE: an in-order reliable one gets its PRACK. When the 1xx offered
  /// (our INVITE had none, RFC 3262 §5) the PRACK carries `answer` (borrowed for the
  /// call; empty: none acceptable, the offer is refused and the call hung up).
  void acknowledge_provisional(const call_ptr& c, const parser::message& provisional,
                               std::string_view answer);

 private:
  user_agent::impl& ua_;
};

}  // namespace sipkit::ua
