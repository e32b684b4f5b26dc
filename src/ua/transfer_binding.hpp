// Private: transfer_binding, call transfer (RFC 3515) over session::transferor / transferee: REFER
// out and in, the implicit subscription's NOTIFYs (through the call's session: send_built
// and request_received), their continuations (refer_then ...).
//
// One of user_agent::impl's bindings (see ua_impl.hpp). It keeps
// a reference to the agent's core (ua_) for sending and the shared tables; its lifetime is
// the agent's (a member of user_agent::impl), so timers' handlers may capture `this`.
#pragma once

#include "continuation.hpp"

namespace sipkit::ua {

class transfer_binding {
 public:
  explicit transfer_binding(user_agent::impl& ua) : ua_(ua) {}

  // ---- transfer (transfer.cpp)
  void refer(const call_ptr& c, refer_options options, status_handler done);
  void on_refer(const call_ptr& c, tx::transaction_id id, const parser::message& req);
  void on_refer_notify(const call_ptr& c, tx::transaction_id id, const parser::message& req);
  void send_refer_notify(const call_ptr& c, int status, std::string_view reason);
  /// The call's timer fired with the implicit subscription's expiry due.
  void on_timer(const call_ptr& c, tx::time_point now);

  std::function<call(call, std::string_view)> refer_handler_;

 private:
  user_agent::impl& ua_;
};

}  // namespace sipkit::ua
