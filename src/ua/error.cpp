#include "sipkit/ua/error.hpp"

#include <string>

namespace sipkit::ua {
namespace {

class category final : public std::error_category {
 public:
  const char* name() const noexcept override { return "sipkit.ua"; }
  std::string message(int code) const override {
    switch (static_cast<errc>(code)) {
      case errc::ok:
        return "success";
      case errc::rejected:
        return "rejected by the peer";
      case errc::cancelled:
        return "call cancelled";
      case errc::bad_target:
        return "target URI cannot be used";
      case errc::invalid_state:
        return "operation not valid in the call's state";
      case errc::too_many_calls:
        return "too many calls";
      case errc::call_ended:
        return "call ended";
      case errc::no_ack:
        return "no ACK for the 2xx";
    }
    return "unknown sipkit.ua error";
  }
};

}  // namespace

const std::error_category& ua_category() noexcept {
  static const category instance;
  return instance;
}

}  // namespace sipkit::ua
