// The INVITE server transaction, IST (RFC 3261 §17.2.1, Figure 7, as updated by
// RFC 6026 §7.1 and Figure 7 there: the "Accepted" state and Timer L).
//
//                        |INVITE: start(now) -> pass to TU, start the 200 ms timer
//   INVITE               V
//   send last 1xx  +-----------+ 101-199 from TU: send      Timer "trying" fires:
//   (if any)       |Proceeding | ----------------------     send 100 Trying (§17.2.1)
//                  +-----------+
//   300-699 from TU  |       | 2xx from TU, send, start L
//   send, start G, H V       V
//   INVITE:     +-----------+   +-----------+ INVITE absorbed; ACK to TU;
//   send resp.  | Completed |   | Accepted  | 2xx from TU: send (RFC 6026)
//   Timer G:    +-----------+   +-----------+
//   send resp.   |ACK      |Timer H      | Timer L fires
//                V         | inform TU   V
//           +-----------+  +--------> Terminated
//           | Confirmed |  ACK absorbed; Timer I fires -> Terminated
//           +-----------+
//
// Transport errors are reported to the TU and the state is kept (RFC 6026 §7.1: the
// transaction stays so that retransmissions are still absorbed; its timers end it).
// Timer G (unreliable only) starts at T1 and doubles up to T2; H is 64*T1; I is T4 on
// unreliable transports and zero on reliable ones; L is 64*T1. The machine never
// retransmits a 2xx: that is the TU's job (§13.3.1.4).
//
// Ownership: owns the INVITE and the last response (in Accepted and Confirmed the manager
// may reduce the response to its status line and To header, shed_response); keeps a
// pointer to `config`.
// Thread safety: none.
// Errors: a TU response outside 100-699 -> error::invalid_message; a final after a
// non-2xx final, or a non-2xx after a 2xx -> error::invalid_state (state unchanged).
#pragma once

#include <cstdint>
#include <utility>

#include "sipkit/parser/message.hpp"
#include "sipkit/transaction/action.hpp"
#include "sipkit/transaction/timer.hpp"

namespace sipkit::transaction {

class server_invite {
 public:
  enum class state : std::uint8_t { proceeding, completed, confirmed, accepted, terminated };

  server_invite(parser::message request, bool reliable, const timer_config& config);

  /// The INVITE arrived: pass it to the TU and start the 100 Trying timer.
  action_list start(time_point now);
  /// An INVITE retransmission or an ACK.
  action_list handle(const request_received& e, time_point now);
  action_list handle(response_from_tu e, time_point now);
  action_list handle(const timer_fired& e, time_point now);
  action_list handle(const transport_failed& e, time_point now);

  state current_state() const noexcept { return state_; }
  const parser::message& request() const noexcept { return request_; }
  /// The most recent response sent (the 100 Trying included); empty before the first.
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

  /// Replace the last response by `kept`, what the manager still needs of it in Accepted
  /// and Confirmed: its status line and its To header (the To tag an ACK must carry,
  /// §17.2.3). Those states never send the response again: Confirmed absorbs everything,
  /// Accepted absorbs INVITE retransmissions and sends each 2xx the TU gives it, which
  /// replaces `kept` (RFC 6026 §7.1). Refused (no effect) in the other states.
  void shed_response(parser::message kept) {
    if (state_ == state::accepted || state_ == state::confirmed) response_ = std::move(kept);
  }

 private:
  parser::message request_;
  parser::message response_;
  const timer_config* config_;
  std::uint8_t g_fired_ = 0;  // Timer G interval = min(T1 * 2^n, T2)
  state state_ = state::proceeding;
  bool reliable_;
  bool trying_armed_ = false;
};

std::string_view to_string(server_invite::state s) noexcept;

}  // namespace sipkit::transaction
