// Private: subscription_binding, subscriptions (RFC 6665) over session::subscriber and
// session::notifier: SUBSCRIBE out and in (by event package), NOTIFY in and out, their timers and
// handles.
//
// One of user_agent::impl's bindings (see ua_impl.hpp). It keeps
// a reference to the agent's core (ua_) for sending and the shared tables; its lifetime is
// the agent's (a member of user_agent::impl), so timers' handlers may capture `this`.
#pragma once

#include <set>
#include <unordered_map>

#include "continuation.hpp"

namespace sipkit::ua {

class subscription_binding {
 public:
  explicit subscription_binding(user_agent::impl& ua) : ua_(ua) {}

  // ---- subscriptions (subscriber.cpp, notifier.cpp): the bindings of session::subscriber
  // and session::notifier
  subscription subscribe(subscribe_options options);
  void run_subscriber(const sub_ptr& s, session::subscriber::actions actions);
  void arm_subscriber(const sub_ptr& s);
  void on_subscribe_response(client_op& op, const parser::message& rsp);
  /// A NOTIFY for a SUBSCRIBE whose 2xx has not come: creates the dialog (RFC 6665 §4.1.2.4).
  bool early_notify(tx::transaction_id id, const parser::message& req);
  /// The SUBSCRIBE's transaction failed (from on_failure), or the subscription could not
  /// start: the machine (when there is one) decides, else it ends here.
  void end_subscription(const sub_ptr& s, int status, std::string_view reason,
                        std::error_code ec = {});
  /// The subscription is over: tables, timer, waiters, the application told once.
  void finish_subscription(const sub_ptr& s, int status, std::string_view reason,
                           std::error_code ec, bool told);
  void on_new_subscribe(tx::transaction_id id, const parser::message& req,
                        const tx::endpoint& source);
  std::error_code accept_subscription(const notifier_ptr& n, std::string_view ct,
                                      std::string_view body, bool pending);
  void run_notifier(const notifier_ptr& n, session::notifier::actions actions,
                    status_handler done = {});
  void arm_notifier(const notifier_ptr& n);
  /// A NOTIFY of `n` was refused ("noresource") or failed ("timeout").
  void end_notifier(const notifier_ptr& n, std::string_view reason);
  /// The subscription is over: tables, timer, on_end.
  void finish_notifier(const notifier_ptr& n, std::string_view reason);

  std::unordered_map<std::string, sub_ptr> subscriptions_;  // by Call-ID, until they end
  std::set<notifier_ptr> notifiers_;
  std::unordered_map<std::string, std::function<void(notifier)>> subscribe_handlers_;

 private:
  user_agent::impl& ua_;
};

}  // namespace sipkit::ua
