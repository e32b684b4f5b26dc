#include "sipkit/session/error.hpp"

#include <string>

namespace sipkit::session {
namespace {

class session_category_impl final : public std::error_category {
 public:
  const char* name() const noexcept override { return "sipkit.session"; }
  std::string message(int ev) const override {
    return std::string(to_string(static_cast<error>(ev)));
  }
};

}  // namespace

const std::error_category& session_category() noexcept {
  static const session_category_impl category;
  return category;
}

std::string_view to_string(error e) noexcept {
  switch (e) {
    case error::ok:
      return "success";
    case error::invalid_state:
      return "operation not allowed in the session's state";
    case error::request_pending:
      return "a request or offer of ours is still pending";
    case error::glare:
      return "request crossed one of the peer's (491)";
    case error::no_ack:
      return "2xx not acknowledged";
    case error::rejected:
      return "rejected by the peer";
    case error::cancelled:
      return "cancelled";
    case error::not_acceptable:
      return "no acceptable session description";
    case error::session_ended:
      return "session ended";
    case error::session_expired:
      return "session expired without refresh";
    case error::provisional_unacknowledged:
      return "reliable provisional response not acknowledged";
    case error::extension_unsupported:
      return "extension not supported";
    case error::invalid_message:
      return "message unusable for the session";
    case error::no_notify:
      return "no NOTIFY for the subscription";
  }
  return "unknown session error";
}

}  // namespace sipkit::session
