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
  /// The request could not be sent at all: the call it belongs to ends.
  bool ends_call_if_unsent = false;
  /// The call's initial INVITE: a challenged retry bumps its own CSeq (no dialog yet) and
  /// becomes the call's INVITE.
  bool initial_invite = false;
};
// The continuations (defined next to the code they continue).
extern const continuation ignore_then;     // dispatch.cpp: CANCEL, BYE of an orphan fork, a dead op
extern const continuation invite_then;     // uac.cpp
extern const continuation reinvite_then;   // requests.cpp
extern const continuation bye_then;        // requests.cpp
extern const continuation request_then;    // requests.cpp: in/out-of-dialog, final status only
extern const continuation register_then;   // registration.cpp
extern const continuation subscribe_then;  // subscriber.cpp
extern const continuation notify_then;     // notifier.cpp
extern const continuation refresh_then;    // session_timer.cpp
extern const continuation refer_then;      // transfer.cpp: our REFER, to the transferor
extern const continuation refer_notify_then;  // transfer.cpp: our NOTIFY, to the transferee

/// One client transaction's continuation and the data it needs.
struct client_op {
  const continuation* then = &ignore_then;
  call_ptr call;  // null for out-of-dialog requests and orphan BYEs
  status_handler done;
  std::optional<parser::message> request;  // in-dialog requests: for dialog::on_response
  std::string offer;                       // re-INVITE: the SDP we offered
  std::shared_ptr<detail::registration_impl> registration;  // REGISTER
  std::shared_ptr<detail::subscription_impl> subscription;  // SUBSCRIBE
  std::shared_ptr<detail::notifier_impl> notifier;          // NOTIFY
  int attempts = 0;  // authentication retries so far (§22.2)
};

}  // namespace sipkit::ua
