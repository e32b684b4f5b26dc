// Private: registration_binding, registrations (RFC 3261 §10) over session::registration: the
// machine's actions executed, the registrar located (RFC 3263), the timer, the handle's events.
//
// One of user_agent::impl's bindings (see ua_impl.hpp). It keeps
// a reference to the agent's core (ua_) for sending and the shared tables; its lifetime is
// the agent's (a member of user_agent::impl), so timers' handlers may capture `this`.
#pragma once

#include <set>

#include "continuation.hpp"

namespace sipkit::ua {

class registration_binding {
 public:
  explicit registration_binding(user_agent::impl& ua) : ua_(ua) {}

  // ---- registration and authentication (registration.cpp): the binding of
  // session::registration
  registration start_registration(registration_options options);
  /// Executes the machine's actions; `targets`: where its REGISTERs go (resolved by the
  /// caller), empty when they could not be resolved (the REGISTER then fails).
  void run_registration(const reg_ptr& r, session::registration::actions actions,
                        std::vector<tx::endpoint> targets, std::error_code locate_error = {});
  /// Resolves the registrar, learns our Contact towards it, then calls `next`.
  void locate_registrar(const reg_ptr& r,
                        std::function<void(std::vector<tx::endpoint>, std::error_code)> next);
  void on_register_response(client_op& op, tx::transaction_id id, const parser::message& rsp);
  /// The REGISTER's transaction failed (status 0) or was refused.
  void registration_failed(const reg_ptr& r, int status, std::error_code ec);
  void arm_registration(const reg_ptr& r);
  /// `cause`: the response the event carries (registration_event::message), or null.
  void set_registration_state(detail::registration_impl& r, registration_state s, int status = 0,
                              std::error_code ec = {}, const parser::message* cause = nullptr);

  std::set<std::shared_ptr<detail::registration_impl>> registrations_;

 private:
  user_agent::impl& ua_;
};

}  // namespace sipkit::ua
