// The non-INVITE client transaction, NICT (RFC 3261 §17.1.2, Figure 6).
//
//                        |Request from TU: start(now) -> send request, start E, F
//   Timer E fires        V
//   send request   +-----------+          Timer F fires or transport error
//   reset E        |  Trying   |-------------------------------+ inform TU
//        +---------|           |-----+ 200-699 to TU           |
//        +-------->+-----------+     |                          |
//            1xx to TU |             |                          |
//                      V             |                          |
//   Timer E fires  +-----------+     |                          |
//   send request   |Proceeding |-----+------------------------->+ inform TU
//   E = T2         +-----------+ 200-699 to TU                  |
//                                    V                          |
//                  +-----------+ responses absorbed             |
//                  | Completed |  Timer K fires                 V
//                  +-----------+---------------------------> Terminated
//
// Timer E starts at T1 and doubles up to T2 while Trying, and is T2 in Proceeding; it is
// not used on reliable transports (§17.1.2.2). Timer F is 64*T1. Timer K is T4 on
// unreliable transports and zero on reliable ones, so there the machine goes straight
// from the final response to Terminated.
//
// Ownership: the machine owns the request (with its top Via, whose branch identifies the
// transaction) and keeps a pointer to `config`, which must outlive it.
// Thread safety: none; one machine is driven by one thread at a time.
// Errors: none of the events can be refused; events that do not apply in the current
// state (a stale timer, a late transport error) return no actions.
#pragma once

#include <cstdint>

#include "sipkit/parser/message.hpp"
#include "sipkit/transaction/action.hpp"
#include "sipkit/transaction/timer.hpp"

namespace sipkit::transaction {

class client_non_invite {
 public:
  enum class state : std::uint8_t { trying, proceeding, completed, terminated };

  /// `reliable`: the hop's transport is TCP, TLS, SCTP or WebSocket (§18.1.1).
  client_non_invite(parser::message request, bool reliable, const timer_config& config);

  /// Request from TU: send the request, start Timer E (unreliable) and Timer F.
  action_list start(time_point now);
  action_list handle(const response_received& e, time_point now);
  action_list handle(const timer_fired& e, time_point now);
  action_list handle(const transport_failed& e, time_point now);

  state current_state() const noexcept { return state_; }
  const parser::message& request() const noexcept { return request_; }
  bool reliable() const noexcept { return reliable_; }

  /// Re-allocate the messages the machine keeps that were built or edited (their buffer
  /// and header table grew by appending) at their exact size: a copy of a message has no
  /// spare capacity. A message parsed and left unmodified (message::modified) is exact
  /// already and stays. The manager calls it when the transaction starts to linger (a
  /// final response sent or received), so that the tens of seconds it waits cost no
  /// slack. Same bytes, same offsets: views into an old message map onto its copy.
  void compact();

 private:
  duration next_e_interval() noexcept;

  parser::message request_;
  const timer_config* config_;
  std::uint8_t e_fired_ = 0;  // how often Timer E fired: interval = min(T1 * 2^n, T2)
  state state_ = state::trying;
  bool reliable_;
};

std::string_view to_string(client_non_invite::state s) noexcept;

}  // namespace sipkit::transaction
