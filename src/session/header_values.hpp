// Private to sipkit::session: the small header values the machines read (RFC 3261 §25.1
// delta-seconds, option-tag lists; RFC 6665 §8.2.3 Subscription-State, Event).
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <string_view>

#include "sipkit/parser/message.hpp"

namespace sipkit::session::detail {

/// delta-seconds (1*DIGIT, surrounding LWS allowed), capped at 2^31 so that arithmetic on
/// it cannot overflow; nullopt when the text is empty or not all digits.
std::optional<std::chrono::seconds> delta_seconds(std::string_view v);

/// Trims SP and HTAB at both ends.
std::string_view trim_lws(std::string_view v);

/// True when a comma-list header (Supported, Require ...) names `token` on any of its lines.
bool lists_token(const parser::message& m, parser::header_id id, std::string_view token);

/// The event package of an Event header value ("presence;id=7" -> "presence"), trimmed.
std::string_view event_package(std::string_view event_header);

/// A body that is a session description: SDP content, or a body without Content-Type.
bool has_sdp(const parser::message& m);

/// RFC 6665 §8.2.3: substate-value *( SEMI subexp-params ).
struct subscription_state_value {
  enum class substate : std::uint8_t { active, pending, terminated };
  substate state = substate::active;
  std::string_view reason;
  std::optional<std::chrono::seconds> expires;
  std::optional<std::chrono::seconds> retry_after;
};
/// nullopt when absent or an extension value we cannot act on.
std::optional<subscription_state_value> read_subscription_state(const parser::message& m);

}  // namespace sipkit::session::detail
