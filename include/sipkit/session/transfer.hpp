// Call transfer by REFER (RFC 3515) inside an INVITE session's dialog: the implicit
// "refer" subscription on both ends, as a module over the session.
//
//   Transferee (a REFER arrived):
//     auto target = refer_target(refer);          // nullopt: answer 400 (§2.4.1)
//     ...answer 202 (or 603 to decline without a subscription)...
//     transferee t(now);
//     send(*t.notify(dialog, 100, "Trying", now));   // §2.4.4: at once
//     send(*t.notify(dialog, 180, {}, now));         // the new call's progress
//     send(*t.notify(dialog, 200, {}, now));         // final: Subscription-State terminated
//   Transferor (we sent make_refer(dialog, target)):
//     transferor t;  t.on_refer_response(rsp, now);
//     auto r = t.on_notify(notify, now);  // answer r.status; r.progress: the sipfrag status
//
// Rules:
// - §2.4.1: a REFER carries exactly one Refer-To; otherwise 400.
// - §2.4.4: accepting a REFER creates an implicit subscription to the "refer" event; the
//   first NOTIFY ("SIP/2.0 100 Trying") goes out at once.
// - §2.4.5: NOTIFY bodies are message/sipfrag ("SIP/2.0 <code> <reason>"), Content-Type
//   "message/sipfrag;version=2.0"; Event: refer; the NOTIFY with the final status says
//   Subscription-State: terminated;reason=noresource (RFC 6665 §4.2.2: the resource, the
//   new call's attempt, is over).
// - Expiry (RFC 6665 §4.2.2, which RFC 3515 §2.4.4 follows): the notifier grants the
//   implicit subscription a duration (60 s here, the "expires=" of the NOTIFYs, counting
//   down); when it runs out before the final status, the transferee sends a last NOTIFY
//   with terminated;reason=timeout (timer::expiry). The transferor honours the "expires="
//   the NOTIFYs name: no NOTIFY before then ends the subscription on its side
//   (timer::expiry, event `expired`). No refresh SUBSCRIBE is supported (one REFER, one
//   subscription, no "id" parameter).
// - The transferor answers each NOTIFY 200 while the subscription lives, 489 for another
//   event package, 481 once it ended (RFC 6665 §4.1.3).
//
// Outputs: on_timer returns a std::vector of a std::variant of plain structs; the other
// entry points return the message to send or a small result struct.
//
// Ownership: values; messages are borrowed for the call. Thread safety: none.
// Errors: results carry status codes; nothing throws but std::bad_alloc.
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "sipkit/dialog/dialog.hpp"
#include "sipkit/parser/message.hpp"
#include "sipkit/session/timer_table.hpp"

namespace sipkit::session {

/// §2.4.1: the URI of the REFER's only Refer-To (also the compact "r"); nullopt when there
/// is none, more than one, or it does not parse (answer 400).
std::optional<std::string> refer_target(const parser::message& refer);
/// The status code of a message/sipfrag body ("SIP/2.0 180 Ringing"); nullopt otherwise.
std::optional<int> sipfrag_status(std::string_view body);
/// The transferor's REFER in `d` (§2.4.1): Refer-To <target>, Referred-By our address
/// without its tag (RFC 3892).
parser::message make_refer(sipkit::dialog::dialog& d, std::string_view target_uri);

/// The transferee: notifier of the implicit subscription of one accepted REFER.
class transferee {
 public:
  enum class state : std::uint8_t { active, terminated };
  enum class timer : std::uint8_t {
    expiry,  ///< the subscription's duration runs out
    count
  };
  struct send_request {
    parser::message request;  ///< a NOTIFY: start it as a client transaction in the dialog
  };
  using action = std::variant<send_request>;
  using action_list = std::vector<action>;

  /// The REFER was accepted (202) at `now`; the subscription lasts `lifetime` unless the
  /// final status comes first.
  explicit transferee(time_point now, std::chrono::seconds lifetime = std::chrono::seconds(60));

  /// A NOTIFY in `d` reporting `status` (reason: `reason`, or the default phrase). A final
  /// status (>= 200) terminates the subscription. nullopt once terminated.
  std::optional<parser::message> notify(sipkit::dialog::dialog& d, int status,
                                        std::string_view reason, time_point now);
  /// The application declined the transfer after the 202: the final NOTIFY, 603.
  std::optional<parser::message> decline(sipkit::dialog::dialog& d, time_point now) {
    return notify(d, 603, "Declined", now);
  }
  /// The response to one of our NOTIFYs: a 481 or other failure ends the subscription
  /// (RFC 6665 §4.2.2).
  void on_notify_response(const parser::message& response) noexcept;
  /// Expiry: the last NOTIFY, terminated;reason=timeout, with the last status reported.
  action_list on_timer(time_point now, sipkit::dialog::dialog& d);

  state current_state() const noexcept { return state_; }
  std::optional<time_point> next_deadline() const noexcept { return timers_.next_deadline(); }
  std::optional<time_point> deadline(timer t) const noexcept { return timers_.deadline(t); }

 private:
  parser::message make_notify(sipkit::dialog::dialog& d, int status, std::string_view reason,
                              std::string_view subscription_state) const;

  timer_table<timer> timers_;
  state state_ = state::active;
  time_point expires_at_;
  int last_status_ = 100;
  std::string last_reason_ = "Trying";
};

/// The transferor: subscriber of the implicit subscription of one REFER we sent.
class transferor {
 public:
  enum class state : std::uint8_t {
    refer_sent,  ///< waiting for the REFER's final response
    accepted,    ///< 2xx: the subscription exists (NOTIFYs may also come before it)
    terminated,  ///< rejected, final NOTIFY, or expired
  };
  enum class timer : std::uint8_t {
    expiry,  ///< the duration the last NOTIFY named
    count
  };
  /// The subscription ended without a terminating NOTIFY.
  struct expired {};
  using action = std::variant<expired>;
  using action_list = std::vector<action>;

  /// The final response to our REFER. False when it was rejected (3xx-6xx): the
  /// subscription never existed.
  bool on_refer_response(const parser::message& response, time_point now);

  struct notify_result {
    int status = 200;  ///< answer the NOTIFY with this (200, 400, 481, 489)
    /// The sipfrag status reported (0 when the body has none); set when status == 200.
    std::optional<int> progress;
    bool final = false;  ///< Subscription-State: terminated
  };
  /// A NOTIFY in the REFER's dialog.
  notify_result on_notify(const parser::message& notify, time_point now);
  action_list on_timer(time_point now);

  state current_state() const noexcept { return state_; }
  std::optional<time_point> next_deadline() const noexcept { return timers_.next_deadline(); }
  std::optional<time_point> deadline(timer t) const noexcept { return timers_.deadline(t); }

 private:
  timer_table<timer> timers_;
  state state_ = state::refer_sent;
};

std::string_view to_string(transferee::state s) noexcept;
std::string_view to_string(transferor::state s) noexcept;

}  // namespace sipkit::session
