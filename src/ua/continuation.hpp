// Private: the continuation each client transaction carries (libre's sip_request(...,
// resp_handler, arg)): a static table of plain function pointers per kind of request, and
// client_op, the data the continuation works on. No std::function per request.
#pragma once

#include <memory>
#include <optional>
#include <string>
#include <system_error>

#include "usages.hpp"

namespace sipkit::ua {

using impl = user_agent::impl;
using detail::call_impl;
using call_ptr = std::shared_ptr<detail::call_impl>;
using reg_ptr = std::shared_ptr<detail::registration_impl>;
using sub_ptr = std::shared_ptr<detail::subscription_impl>;
using notifier_ptr = std::shared_ptr<detail::notifier_impl>;

/// The time the session machines are fed (they read no clock themselves).
inline tx::time_point now() noexcept { return tx::clock_type::now(); }

struct client_op;
struct continuation;
/// What to do with the outcome of one client transaction: the continuation that travels
/// with the request (like libre's sip_request(..., resp_handler, arg)). Plain function
/// pointers in a static table per kind of request, so that starting a request allocates
/// no std::function; the data they work on is in client_op.
struct continuation {
  /// Every response (provisional ones included); nullptr: responses are ignored.
  void (*on_response)(impl&, client_op&, tx::transaction_id, const parser::message&) = nullptr;
  /// The transaction failed (timeout, transport error) after it started.
  void (*on_failure)(impl&, client_op&, tx::transaction_id, std::error_code) = nullptr;
  /// The transaction is over (after its last response or failure).
  void (*on_terminated)(impl&, client_op&, tx::transaction_id) = nullptr;
  /// A 401/407 is answered by the core with a new request carrying credentials (§22.2);
  /// false: the continuation sees the challenge (its machine answers it, or nobody).
  bool answers_challenges = false;
  /// A request of a call's session: the session's request_completed for it (final
  /// response, or failure: `response` null). The call binding feeds the transaction's
  /// outcome to the session (call_then) and calls this with what the session reports.
  void (*on_completed)(impl&, client_op&, const parser::message* response,
                       std::error_code) = nullptr;
};
// The continuations (defined next to the code they continue).
extern const continuation ignore_then;     // dispatch.cpp: CANCEL, BYE of an orphan fork, a dead op
extern const continuation call_then;       // uac.cpp: a call's request, final status to `done`
extern const continuation request_then;    // requests.cpp: out of dialog, final status only
extern const continuation register_then;   // registration.cpp
extern const continuation subscribe_then;  // subscriber.cpp
extern const continuation notify_then;     // notifier.cpp
extern const continuation refresh_then;    // session_timer.cpp
extern const continuation refer_then;      // transfer.cpp: our REFER, to the transferor
extern const continuation refer_notify_then;  // transfer.cpp: our NOTIFY, to the transferee

/// One client transaction's continuation and the data it needs.
struct client_op {
  const continuation* then = &ignore_then;
  call_ptr call;  // the call whose session sent it; null for out-of-dialog requests
  std::uint32_t session_request = 0;  // its session::request_id in that call
  status_handler done;
  std::optional<parser::message> request;  // out-of-dialog requests: for a challenged retry
  std::shared_ptr<detail::registration_impl> registration;  // REGISTER
  std::shared_ptr<detail::subscription_impl> subscription;  // SUBSCRIBE
  std::shared_ptr<detail::notifier_impl> notifier;          // NOTIFY
  int attempts = 0;  // authentication retries so far (§22.2)
};

}  // namespace sipkit::ua
