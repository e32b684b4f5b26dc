// RFC 6665 event subscriptions as two sans-I/O machines: the `subscriber` (SUBSCRIBE,
// NOTIFY handling, refresh, unsubscribe, §4.1) and the `notifier` (answering SUBSCRIBE,
// sending NOTIFY, expiry, §4.2).
//
//   session::subscriber::options o;  o.target = "sip:bob@192.0.2.7";  o.event = "presence";
//   o.from = "sip:alice@192.0.2.1";  o.contact = "<sip:alice@192.0.2.1:5060>";
//   o.call_id = random();  o.from_tag = random();
//   session::subscriber sub(o);
//   run(sub.start(now));                                  // send_request{SUBSCRIBE}
//   run(sub.on_response(rsp, now));  run(sub.on_notify(tx_id, notify, now));
//   ...one real timer at sub.next_deadline(); when it fires: run(sub.on_timer(now));
//
//   session::notifier n(subscribe, tx_id, {.contact = ..., .local_tag = random()});
//   n.accept(false, "application/pidf+xml", body, now, out);   // 200, then NOTIFY at once
//
// Subscriber (§4.1): the first SUBSCRIBE carries Event, Expires, Accept, Contact and the
// optional body; the dialog comes from its 2xx (dialog::create_uac) or from a NOTIFY that
// overtakes the 2xx (dialog::create_from_notify, §4.1.2.4). Every NOTIFY is answered
// (200; 481 when it cannot be ours; 400 without Subscription-State, §8.2.3; 489 for
// another event package, §4.1.3) and reported with its Subscription-State (active /
// pending / terminated with reason, expires, retry-after). Expiry: the 2xx's Expires
// (§4.1.2.1), else what we asked; a NOTIFY's ;expires moves it (§4.1.2.2). Refresh rule
// (kept from the UA): at expires - min(refresh_margin, expires / 2), not sooner than 1 s.
// A refresh refused with 405, 408, 481 or 489, or whose transaction fails, ends the
// subscription; any other refusal leaves it valid until its expiry (§4.1.2.2), when it
// ends with reason "timeout". Timer N (64*T1, §4.1.2.4 and §6): armed when the first
// SUBSCRIBE (or the unsubscribe) goes out; when no NOTIFY has come before it fires, the
// subscription ends (error::no_notify, reason "timeout"). Unsubscribe: SUBSCRIBE with
// Expires: 0 in the dialog (§4.1.2.3); the final NOTIFY ends it.
//
// Notifier (§4.2): the application accepts (200 with Expires and Contact; NOTIFY at once,
// §4.2.1.2, with "active;expires=N" or "pending;expires=N") or rejects; a SUBSCRIBE in the
// dialog refreshes the expiry (200, then a NOTIFY with the current state) or, with
// Expires: 0, ends it with a final NOTIFY "terminated;reason=timeout"; the expiry ends it
// the same way (§4.2.2); a NOTIFY refused (481 or any >= 300) or failed ends it.
//
// Outputs: each entry point returns `actions` (a vector of std::variant of the plain
// structs below) in execution order. Pointers in reports point to the message being
// handled and are valid during the call only; reasons point into the machine and are
// valid until the next call on it. The machines own their dialog (usage_dialog()); a
// binding that indexes dialogs keeps their id. Errors: misuse is refused with
// session::error::invalid_state. Thread safety: none, plain values.
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <system_error>
#include <variant>
#include <vector>

#include "sipkit/dialog/dialog.hpp"
#include "sipkit/parser/message.hpp"
#include "sipkit/session/timer_table.hpp"
#include "sipkit/transaction/transport.hpp"

namespace sipkit::session {

/// RFC 6665 §8.2.3: the Subscription-State of a subscription, as last known
/// (`requested`: no NOTIFY yet).
enum class subscription_state : std::uint8_t { requested, pending, active, terminated };
std::string_view to_string(subscription_state s) noexcept;

/// Actions shared by both machines.
struct subscription_send_request {
  /// Start a non-INVITE client transaction (the binding adds the Via and sends it to the
  /// dialog's next hop, or to the target for the first SUBSCRIBE).
  parser::message request;
  /// Not null: a 401/407 to answer first with credentials (RFC 3261 §22.2).
  const parser::message* challenge = nullptr;
  int attempt = 0;  ///< challenged retries of this request so far (1 for the first)
};
struct subscription_send_response {
  transaction::transaction_id id;  ///< the server transaction of the request
  parser::message response;
};

// ============================================================================ subscriber

class subscriber {
 public:
  enum class state : std::uint8_t {
    idle,           ///< not started
    subscribing,    ///< the first SUBSCRIBE is out; neither its 2xx nor a NOTIFY yet
    notify_wait,    ///< 2xx received, no NOTIFY yet (Timer N runs)
    pending,        ///< the last NOTIFY said pending
    active,         ///< the last NOTIFY said active
    unsubscribing,  ///< SUBSCRIBE Expires: 0 sent; waiting for the final NOTIFY
    terminated,
  };
  enum class timer : std::uint8_t { refresh, notify_wait, expiry, count };

  struct options {
    std::string target;              ///< Request-URI and To of the first SUBSCRIBE
    std::string event;               ///< event package (Event header)
    std::string accept;              ///< Accept header; empty: none
    std::string content_type, body;  ///< optional SUBSCRIBE body
    std::string from;                ///< our From URI
    std::string contact;             ///< our Contact as written
    std::string call_id, from_tag;   ///< chosen by the caller (random)
    std::chrono::seconds expires{600};
    std::chrono::seconds refresh_margin{30};
    timer_config timers{};  ///< T1 for Timer N (64*T1)
    int max_auth_attempts = 2;
  };

  // ---- actions
  using send_request = subscription_send_request;
  using send_response = subscription_send_response;
  /// An accepted NOTIFY (answered 200): its Subscription-State.
  struct notified {
    subscription_state state = subscription_state::active;
    std::string_view reason;                      ///< terminated;reason=
    std::optional<std::chrono::seconds> expires;  ///< ;expires=
    std::optional<std::chrono::seconds> retry_after;
    const parser::message* notify = nullptr;
  };
  /// The final response (or failure, status 0) to our unsubscribe.
  struct unsubscribe_answered {
    int status = 0;
    std::error_code error;
  };
  /// The subscription is over; reported once, always last.
  struct terminated {
    int status = 0;           ///< the refusal that ended it, 0 otherwise
    std::string_view reason;  ///< the NOTIFY's reason, or ours: rejected, noresource, timeout
    std::error_code error;    ///< empty when a NOTIFY ended it
    bool by_notify = false;   ///< a NOTIFY "terminated" ended it (reported as notified too)
  };
  using action =
      std::variant<send_request, send_response, notified, unsubscribe_answered, terminated>;
  using actions = std::vector<action>;

  explicit subscriber(options o);

  /// The first SUBSCRIBE. Precondition: idle (else no action).
  actions start(time_point now);
  /// A response to a SUBSCRIBE of ours (stale and provisional ones are ignored).
  actions on_response(const parser::message& response, time_point now);
  /// The last SUBSCRIBE's transaction failed (timeout, transport, no route).
  actions on_failure(std::error_code ec, time_point now);
  /// The binding could not answer the challenge of the last send_request.
  actions on_auth_failed(time_point now);
  /// A NOTIFY in this subscription's dialog, or with our Call-ID and From tag (as To tag)
  /// before a dialog exists. Always answers it (send_response).
  actions on_notify(transaction::transaction_id id, const parser::message& notify, time_point now);
  /// SUBSCRIBE Expires: 0 (§4.1.2.3). invalid_state without a dialog or when over.
  std::error_code unsubscribe(time_point now, actions& out);
  actions on_timer(time_point now);

  std::optional<time_point> next_deadline() const noexcept { return timers_.next_deadline(); }
  std::optional<time_point> deadline(timer t) const noexcept { return timers_.deadline(t); }
  state current_state() const noexcept { return state_; }
  /// The Subscription-State as last notified (requested before any NOTIFY).
  subscription_state substate() const noexcept { return substate_; }
  const sipkit::dialog::dialog* usage_dialog() const noexcept {
    return dialog_ ? &*dialog_ : nullptr;
  }
  const options& config() const noexcept { return opts_; }

 private:
  parser::message make_subscribe(bool unsubscribe);
  void send(bool unsubscribe, actions& out);
  void learn_expiry(std::chrono::seconds expires, time_point now);
  void end(int status, std::string_view reason, std::error_code ec, bool by_notify, actions& out);
  bool live() const noexcept { return state_ != state::idle && state_ != state::terminated; }

  options opts_;
  state state_ = state::idle;
  subscription_state substate_ = subscription_state::requested;
  std::optional<sipkit::dialog::dialog> dialog_;
  std::optional<parser::message> initial_;  // the first SUBSCRIBE as sent (dialog creation)
  std::optional<parser::message> last_;     // the last SUBSCRIBE sent
  std::uint32_t last_cseq_ = 0;
  int auth_attempts_ = 0;
  int challenge_status_ = 401;
  std::string reason_;  // of the termination
  timer_table<timer> timers_;
};

std::string_view to_string(subscriber::state s) noexcept;

// ============================================================================== notifier

class notifier {
 public:
  enum class state : std::uint8_t {
    subscribe_received,  ///< the SUBSCRIBE awaits accept() or reject()
    pending,
    active,
    terminated,
  };
  enum class timer : std::uint8_t { expiry, count };

  struct options {
    std::string contact;    ///< our Contact in the 2xx
    std::string local_tag;  ///< our To tag (random)
    /// The expiry granted when the SUBSCRIBE has no Expires (the package's default).
    std::chrono::seconds default_expires{3600};
  };

  // ---- actions
  using send_request = subscription_send_request;
  using send_response = subscription_send_response;
  /// The subscription is over (unsubscribed, expired, rejected, terminated by us, or a
  /// NOTIFY refused/failed); reported once, always last.
  struct ended {
    std::string_view reason;
  };
  using action = std::variant<send_request, send_response, ended>;
  using actions = std::vector<action>;

  /// `subscribe` is the SUBSCRIBE that creates the subscription (copied), `id` its server
  /// transaction. The event package is the SUBSCRIBE's.
  notifier(const parser::message& subscribe, transaction::transaction_id id, options o);

  /// 200 (Expires: granted, Contact, Record-Route copied) and the first NOTIFY (§4.2.1.2);
  /// a granted expiry of 0 notifies "terminated;reason=timeout" and ends it.
  std::error_code accept(bool pending, std::string_view content_type, std::string_view body,
                         time_point now, actions& out);
  /// A 300-699 to the SUBSCRIBE.
  std::error_code reject(int code, actions& out);
  /// A NOTIFY with the current state (active unless pending) and this body.
  std::error_code notify(std::string_view content_type, std::string_view body, time_point now,
                         actions& out);
  /// Authorise a pending subscription: active, and a NOTIFY saying so.
  std::error_code activate(time_point now, actions& out);
  /// A final NOTIFY "terminated;reason=<reason>" (noresource when empty).
  std::error_code terminate(std::string_view reason, time_point now, actions& out);
  /// A SUBSCRIBE inside the dialog: refresh or (Expires: 0) unsubscribe.
  actions on_subscribe(transaction::transaction_id id, const parser::message& subscribe,
                       time_point now);
  /// A final response to one of our NOTIFYs.
  actions on_notify_response(const parser::message& response, time_point now);
  /// One of our NOTIFYs failed (timeout, transport).
  actions on_notify_failure(std::error_code ec, time_point now);
  actions on_timer(time_point now);

  std::optional<time_point> next_deadline() const noexcept { return timers_.next_deadline(); }
  std::optional<time_point> deadline(timer t) const noexcept { return timers_.deadline(t); }
  state current_state() const noexcept { return state_; }
  const std::string& event() const noexcept { return event_; }
  /// The expiry granted last.
  std::chrono::seconds granted() const noexcept { return granted_; }
  const sipkit::dialog::dialog* usage_dialog() const noexcept {
    return dialog_ ? &*dialog_ : nullptr;
  }
  /// A CSeq for a request the binding sends again in this dialog (a NOTIFY answered with
  /// credentials, RFC 3261 §22.2); 0 without a dialog.
  std::uint32_t next_cseq() noexcept { return dialog_ ? dialog_->next_cseq() : 0; }
  /// The SUBSCRIBE that created it, until it is answered.
  const parser::message* subscribe() const noexcept { return subscribe_ ? &*subscribe_ : nullptr; }

 private:
  void send_notify(bool terminate, std::string_view reason, time_point now, actions& out);
  void end(std::string_view reason, actions& out);
  std::chrono::seconds requested_expires(const parser::message& m) const;

  options opts_;
  state state_ = state::subscribe_received;
  std::string event_;
  transaction::transaction_id subscribe_id_;
  std::optional<parser::message> subscribe_;  // until answered
  std::optional<sipkit::dialog::dialog> dialog_;
  std::chrono::seconds granted_{};
  time_point expires_at_{};
  std::string content_type_, body_;  // the state we notify
  std::string reason_;
  timer_table<timer> timers_;
};

std::string_view to_string(notifier::state s) noexcept;

}  // namespace sipkit::session
