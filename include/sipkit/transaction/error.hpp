// Errors of the transaction layer: values, not exceptions.
//
// `sipkit::transaction::error` converts implicitly to std::error_code (category
// "sipkit.transaction"), so it compares equal to the codes the manager hands to the
// transaction user and to the codes returned by manager operations:
//
//   if (auto r = mgr.start_client(std::move(req), targets, now); !r) {
//     if (r.error == sipkit::transaction::error::too_many_transactions) ...
//   }
//
// Transport failures keep the transport's own error_code (whatever category it uses);
// `error::transport_failure` is used only when the transport gave no code.
//
// Thread safety: plain values; the category is a stateless singleton.
#pragma once

#include <string_view>
#include <system_error>

namespace sipkit::transaction {

enum class error {
  ok = 0,
  /// Timer B (INVITE client), Timer F (non-INVITE client) or Timer H (INVITE server,
  /// no ACK for a non-2xx final) fired: RFC 3261 §17.1.1.2, §17.1.2.2, §17.2.1.
  timeout,
  /// The transport could not send and gave no error code of its own (RFC 3261 §17.1.4).
  transport_failure,
  /// The manager already holds as many transactions as its bound (manager::max_live).
  too_many_transactions,
  /// The id names no live transaction (terminated, or never existed).
  no_such_transaction,
  /// The message lacks what the transaction layer needs: a top Via with a branch for
  /// client requests, CSeq, Call-ID, From, To; or a response has the wrong CSeq method.
  invalid_message,
  /// The operation does not apply in the transaction's state or kind (a response on a
  /// client transaction, a second final response on a non-INVITE server transaction, a
  /// non-2xx final after a 2xx on an INVITE server transaction, ...).
  invalid_state,
  /// start_client was given neither a target nor a way to find one.
  no_target,
  /// The live transactions already hold config::max_held_bytes bytes of messages.
  byte_budget_exceeded,
};

/// The category of transaction errors ("sipkit.transaction").
const std::error_category& transaction_category() noexcept;

inline std::error_code make_error_code(error e) noexcept {
  return {static_cast<int>(e), transaction_category()};
}

/// Human-readable text of a code, e.g. "transaction timed out".
std::string_view to_string(error e) noexcept;

}  // namespace sipkit::transaction

template <>
struct std::is_error_code_enum<sipkit::transaction::error> : std::true_type {};
