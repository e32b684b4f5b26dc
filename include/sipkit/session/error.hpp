// Errors of the session layer (invite_session, its modules, subscription, registration):
// values, not exceptions.
//
// `sipkit::session::error` converts implicitly to std::error_code (category
// "sipkit.session"). Machines report them in their events and refuse operations with
// them; transaction and transport failures keep their own codes.
//
// Thread safety: plain values; the category is a stateless singleton.
#pragma once

#include <string_view>
#include <system_error>

namespace sipkit::session {

enum class error {
  ok = 0,
  /// The operation does not apply in the machine's state (answer after a CANCEL, a
  /// re-INVITE on an early dialog, a second unregister ...).
  invalid_state,
  /// An offer/answer exchange or a re-INVITE of ours is still pending (RFC 3261 §14.1,
  /// RFC 3311 §5.1): try again after it completes.
  request_pending,
  /// The peer answered 491: our request crossed one of its own (glare, §14.1).
  glare,
  /// Our 2xx to an INVITE got no ACK within 64*T1 (§13.3.1.4); the session sent BYE.
  no_ack,
  /// The peer rejected the request (3xx-6xx final response).
  rejected,
  /// The INVITE was cancelled (CANCEL sent or received, §9).
  cancelled,
  /// No SDP offered stream could be accepted (RFC 3264 §6), or a body was not SDP.
  not_acceptable,
  /// The session ended (BYE, 481/408 in the dialog) while the operation was pending.
  session_ended,
  /// RFC 4028: no session refresh arrived before the session interval ran out.
  session_expired,
  /// RFC 3262: a reliable provisional response got no PRACK within 64*T1.
  provisional_unacknowledged,
  /// The peer requires an extension we do not support (420), or we require one it does
  /// not (421).
  extension_unsupported,
  /// The peer's message lacked what the machine needs (Contact on a 2xx, RSeq on a
  /// reliable provisional, a Subscription-State on a NOTIFY ...).
  invalid_message,
  /// RFC 6665 §4.1.2.4: no NOTIFY arrived within Timer N (64*T1) of our SUBSCRIBE.
  no_notify,
};

/// The category of session errors ("sipkit.session").
const std::error_category& session_category() noexcept;

inline std::error_code make_error_code(error e) noexcept {
  return {static_cast<int>(e), session_category()};
}

/// Human-readable text of a code, e.g. "2xx not acknowledged".
std::string_view to_string(error e) noexcept;

}  // namespace sipkit::session

template <>
struct std::is_error_code_enum<sipkit::session::error> : std::true_type {};
