// Event subscriptions (RFC 6665, SUBSCRIBE/NOTIFY): both ends.
//
// Subscriber:
//   sipkit::ua::subscribe_options o;
//   o.target = "sip:camera@192.0.2.7";  o.event = "presence";  o.accept = "application/pidf+xml";
//   auto sub = agent.subscribe(o);                   // SUBSCRIBE now, refreshed before expiry
//   sub.on_notify([](const notify_event& n) { ... n.state, n.body ... });
//   sub.async_unsubscribe(cb);                       // SUBSCRIBE Expires: 0
//
// Notifier:
//   agent.on_subscribe("presence", [](sipkit::ua::notifier n) {
//     n.accept("application/pidf+xml", current_state);  // 200, then the first NOTIFY
//     ... later: n.async_notify("application/pidf+xml", new_state, cb);
//   });
//
// What the stack does (RFC 6665 §4): the subscriber sends Event, Expires, Accept and Contact;
// a NOTIFY that arrives before the SUBSCRIBE's 2xx creates the dialog (§4.1.2.4); every
// NOTIFY is answered 200 (481 when it matches no subscription) and its Subscription-State
// (active / pending / terminated with reason and expires) reaches on_notify; the
// subscription is refreshed `refresh_margin` before it expires, and ends on a NOTIFY with
// "terminated". The notifier answers SUBSCRIBE with 200 and sends the first NOTIFY at once
// (§4.2.1.2), keeps the expiry (refreshes by SUBSCRIBE in the dialog, Expires: 0 ends it
// with a final NOTIFY), and sends "terminated;reason=timeout" when it runs out (§4.2.2).
// An Event package nobody registered is answered 489 Bad Event with Allow-Events.
//
// Handles: like `call`, cheap handles to state the user_agent owns until the
// subscription ends. Thread safety: none; use them on the agent's executor.
#pragma once

#include <boost/asio/any_completion_handler.hpp>
#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/async_result.hpp>
#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <system_error>

#include "sipkit/parser/message.hpp"
#include "sipkit/session/subscription.hpp"
#include "sipkit/ua/error.hpp"

namespace sipkit::ua {

namespace detail {
struct subscription_impl;
struct notifier_impl;
}  // namespace detail

/// RFC 6665 §4.1.3 / §8.2.3: the Subscription-State values — the session layer's enum
/// (sipkit/session/subscription.hpp): requested (SUBSCRIBE sent, no NOTIFY yet), pending
/// (the notifier has not authorised it yet), active, terminated (over; `reason` says why:
/// timeout, rejected, noresource, deactivated ...).
using session::subscription_state;
using session::to_string;

struct subscribe_options {
  std::string target;  ///< the resource's URI (Request-URI and To)
  std::string event;   ///< the event package (Event header): "presence", "dialog" ...
  std::string accept;  ///< Accept header; empty: none
  std::chrono::seconds expires{600};
  std::chrono::seconds refresh_margin{30};  ///< refresh this long before expiry (max half)
  std::string content_type, body;           ///< an optional SUBSCRIBE body (filters, queries)
};

struct notify_event {
  subscription_state state = subscription_state::active;
  std::string_view reason;         ///< terminated;reason=...
  std::chrono::seconds expires{};  ///< ;expires= of Subscription-State
  std::string_view content_type;   ///< valid during the callback only
  std::string_view body;           ///< valid during the callback only
  /// The NOTIFY itself (every header and the body); null when the subscription ended
  /// without one (a refused SUBSCRIBE, a timeout). Valid during the callback only.
  const parser::message* message = nullptr;
};

class subscription {
 public:
  subscription() = default;
  explicit subscription(std::shared_ptr<detail::subscription_impl> impl) : impl_(std::move(impl)) {}
  explicit operator bool() const noexcept { return impl_ != nullptr; }

  subscription_state state() const noexcept;
  /// The final status of a refused SUBSCRIBE, 0 otherwise.
  int final_status() const noexcept;
  /// Called for every NOTIFY (and once with `terminated` when the subscription fails or
  /// ends without one), on the agent's executor.
  void on_notify(std::function<void(const notify_event&)> handler);

  /// SUBSCRIBE with Expires: 0 (RFC 6665 §4.1.2.3); completes with its status. The final
  /// NOTIFY still reaches on_notify.
  template <class Token>
  auto async_unsubscribe(Token&& token) {
    return boost::asio::async_initiate<Token, void(std::error_code, int)>(
        [this](auto handler) { unsubscribe_impl(std::move(handler)); }, token);
  }

 private:
  boost::asio::any_io_executor executor() const;
  void unsubscribe_impl(boost::asio::any_completion_handler<void(std::error_code, int)> done);
  std::shared_ptr<detail::subscription_impl> impl_;
};

class notifier {
 public:
  notifier() = default;
  explicit notifier(std::shared_ptr<detail::notifier_impl> impl) : impl_(std::move(impl)) {}
  explicit operator bool() const noexcept { return impl_ != nullptr; }

  std::string_view event() const noexcept;
  /// The subscriber's From value.
  std::string_view subscriber() const noexcept;
  /// The body of the SUBSCRIBE that created it (a filter or query), "" when none.
  std::string_view request_body() const noexcept;
  subscription_state state() const noexcept;

  /// 200 to the SUBSCRIBE and the first NOTIFY with this state (active, or pending while
  /// the application decides). Errors: errc::invalid_state when already answered.
  std::error_code accept(std::string_view content_type = {}, std::string_view body = {},
                         bool pending = false);
  /// Refuse the SUBSCRIBE (403, 489 ...).
  std::error_code reject(int code);
  /// Called when the subscription ends (the subscriber unsubscribed, or it expired).
  void on_end(std::function<void(std::string_view reason)> handler);

  /// A NOTIFY with the current state (active unless still pending); completes with the
  /// subscriber's status.
  template <class Token>
  auto async_notify(std::string content_type, std::string body, Token&& token) {
    return boost::asio::async_initiate<Token, void(std::error_code, int)>(
        [this, ct = std::move(content_type), b = std::move(body)](auto handler) mutable {
          notify_impl(std::move(ct), std::move(b), false, {}, std::move(handler));
        },
        token);
  }
  /// Ends the subscription with a final NOTIFY "terminated;reason=<reason>".
  template <class Token>
  auto async_terminate(std::string reason, Token&& token) {
    return boost::asio::async_initiate<Token, void(std::error_code, int)>(
        [this, r = std::move(reason)](auto handler) mutable {
          notify_impl({}, {}, true, std::move(r), std::move(handler));
        },
        token);
  }

 private:
  boost::asio::any_io_executor executor() const;
  void notify_impl(std::string content_type, std::string body, bool terminate, std::string reason,
                   boost::asio::any_completion_handler<void(std::error_code, int)> done);
  std::shared_ptr<detail::notifier_impl> impl_;
};

}  // namespace sipkit::ua
