// Errors of the UA layer: values, not exceptions.
//
// `sipkit::ua::errc` converts to std::error_code (category "sipkit.ua"). Operations that
// complete with a SIP response also hand out its status code, so `errc::rejected` comes
// with the 4xx/5xx/6xx that caused it. Transaction and transport failures keep their own
// codes (sipkit::transaction::error::timeout ...).
//
// Thread safety: plain values; the category is a stateless singleton.
#pragma once

#include <string_view>
#include <system_error>

namespace sipkit::ua {

enum class errc {
  ok = 0,
  /// The peer answered with a final response other than 2xx (its status is passed along).
  rejected,
  /// The call was cancelled (CANCEL sent, 487 received) before it was answered.
  cancelled,
  /// The target URI could not be used: not a sip/sips URI, or a host that is not an IP
  /// literal (RFC 3263 resolution of names is not wired into the UA yet).
  bad_target,
  /// The operation does not fit the call's state (answer after hang-up, INFO before the
  /// dialog exists ...).
  invalid_state,
  /// config::max_calls calls are live.
  too_many_calls,
  /// The call ended (BYE, CANCEL, failure) while the operation was pending.
  call_ended,
  /// No ACK arrived for our 2xx within 64*T1 (RFC 3261 §13.3.1.4): the call was ended.
  no_ack,
};

const std::error_category& ua_category() noexcept;

inline std::error_code make_error_code(errc e) noexcept {
  return {static_cast<int>(e), ua_category()};
}

}  // namespace sipkit::ua

template <>
struct std::is_error_code_enum<sipkit::ua::errc> : std::true_type {};
