// The non-INVITE server transaction, NIST (RFC 3261 §17.2.2, Figure 8).
//
//                          |Request received: start(now) -> pass to TU
//                          V
//                    +-----------+ request retransmissions absorbed
//                    |  Trying   |
//                    +-----------+
//       1xx from TU    |       | 200-699 from TU, send response
//       send response  V       |
//   request        +-----------+  200-699 from TU, send response
//   send response  |Proceeding |----------+
//   1xx from TU    +-----------+          |   transport error: inform TU -> Terminated
//   send response              |          V
//                              |    +-----------+ request: send response
//                              +--->| Completed | Timer J fires
//                                   +-----------+-------------> Terminated
//
// Timer J is 64*T1 on unreliable transports and zero on reliable ones: there the machine
// goes from the final response straight to Terminated (§17.2.2).
//
// Ownership: the machine owns the request and the last response it sent (re-sent on each
// retransmission of the request); it keeps a pointer to `config`, which must outlive it.
// Thread safety: none.
// Errors: a TU response that is not 100-699, or any response after the final one,
// is refused with error::invalid_message / error::invalid_state (state unchanged).
#pragma once

#include <cstdint>
#include <utility>

#include "sipkit/parser/message.hpp"
#include "sipkit/transaction/action.hpp"
#include "sipkit/transaction/timer.hpp"

namespace sipkit::transaction {

class server_non_invite {
 public:
  enum class state : std::uint8_t { trying, proceeding, completed, terminated };

  server_non_invite(parser::message request, bool reliable, const timer_config& config);

  /// The request arrived: pass it to the TU.
  action_list start(time_point now);
  /// A retransmission of the request.
  action_list handle(const request_received& e, time_point now);
  action_list handle(response_from_tu e, time_point now);
  action_list handle(const timer_fired& e, time_point now);
  action_list handle(const transport_failed& e, time_point now);

  state current_state() const noexcept { return state_; }
  const parser::message& request() const noexcept { return request_; }
  /// The most recent response sent; a default (empty) message before the first one.
  const parser::message& last_response() const noexcept { return response_; }
  bool reliable() const noexcept { return reliable_; }

  /// Replace the request by `kept`, the part of it that the manager still needs for
  /// matching once the final response is sent (manager::request says what that is). The
  /// machine itself no longer reads the request after its final response.
  void shed_request(parser::message kept) { request_ = std::move(kept); }

  /// Re-allocate the messages the machine keeps that were built or edited (their buffer
  /// and header table grew by appending) at their exact size: a copy of a message has no
  /// spare capacity. A message parsed and left unmodified (message::modified) is exact
  /// already and stays. The manager calls it when the transaction starts to linger (a
  /// final response sent or received), so that the tens of seconds it waits cost no
  /// slack. Same bytes, same offsets: views into an old message map onto its copy.
  void compact();

 private:
  parser::message request_;
  parser::message response_;
  const timer_config* config_;
  state state_ = state::trying;
  bool reliable_;
};

std::string_view to_string(server_non_invite::state s) noexcept;

}  // namespace sipkit::transaction
