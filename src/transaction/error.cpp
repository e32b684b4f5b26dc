#include "sipkit/transaction/error.hpp"

#include <string>

#include "sipkit/transaction/client_invite.hpp"
#include "sipkit/transaction/client_non_invite.hpp"
#include "sipkit/transaction/server_invite.hpp"
#include "sipkit/transaction/server_non_invite.hpp"
#include "sipkit/transaction/timer.hpp"
#include "sipkit/transaction/transport.hpp"

namespace sipkit::transaction {
namespace {

class transaction_category_impl final : public std::error_category {
 public:
  const char* name() const noexcept override { return "sipkit.transaction"; }
  std::string message(int ev) const override {
    return std::string(to_string(static_cast<error>(ev)));
  }
};

}  // namespace

const std::error_category& transaction_category() noexcept {
  static const transaction_category_impl category;
  return category;
}

std::string_view to_string(error e) noexcept {
  switch (e) {
    case error::ok:
      return "success";
    case error::timeout:
      return "transaction timed out";
    case error::transport_failure:
      return "transport failure";
    case error::too_many_transactions:
      return "too many transactions";
    case error::no_such_transaction:
      return "no such transaction";
    case error::invalid_message:
      return "message unusable for a transaction";
    case error::invalid_state:
      return "operation not allowed in the transaction's state";
    case error::no_target:
      return "no target to send the request to";
    case error::byte_budget_exceeded:
      return "the transactions' byte budget is used up";
  }
  return "unknown transaction error";
}

std::string_view to_string(timer t) noexcept {
  switch (t) {
    case timer::a:
      return "Timer A";
    case timer::b:
      return "Timer B";
    case timer::d:
      return "Timer D";
    case timer::e:
      return "Timer E";
    case timer::f:
      return "Timer F";
    case timer::g:
      return "Timer G";
    case timer::h:
      return "Timer H";
    case timer::i:
      return "Timer I";
    case timer::j:
      return "Timer J";
    case timer::k:
      return "Timer K";
    case timer::l:
      return "Timer L";
    case timer::m:
      return "Timer M";
    case timer::trying:
      return "Timer 100";
  }
  return "Timer ?";
}

std::string_view to_string(client_invite::state s) noexcept {
  switch (s) {
    case client_invite::state::calling:
      return "Calling";
    case client_invite::state::proceeding:
      return "Proceeding";
    case client_invite::state::completed:
      return "Completed";
    case client_invite::state::accepted:
      return "Accepted";
    case client_invite::state::terminated:
      return "Terminated";
  }
  return "";
}

std::string_view to_string(client_non_invite::state s) noexcept {
  switch (s) {
    case client_non_invite::state::trying:
      return "Trying";
    case client_non_invite::state::proceeding:
      return "Proceeding";
    case client_non_invite::state::completed:
      return "Completed";
    case client_non_invite::state::terminated:
      return "Terminated";
  }
  return "";
}

std::string_view to_string(server_invite::state s) noexcept {
  switch (s) {
    case server_invite::state::proceeding:
      return "Proceeding";
    case server_invite::state::completed:
      return "Completed";
    case server_invite::state::confirmed:
      return "Confirmed";
    case server_invite::state::accepted:
      return "Accepted";
    case server_invite::state::terminated:
      return "Terminated";
  }
  return "";
}

std::string_view to_string(server_non_invite::state s) noexcept {
  switch (s) {
    case server_non_invite::state::trying:
      return "Trying";
    case server_non_invite::state::proceeding:
      return "Proceeding";
    case server_non_invite::state::completed:
      return "Completed";
    case server_non_invite::state::terminated:
      return "Terminated";
  }
  return "";
}

}  // namespace sipkit::transaction
