// The INVITE client transaction, ICT (RFC 3261 §17.1.1, Figure 5, as updated by
// RFC 6026 §7.2 and Figure 5 there: the "Accepted" state and Timer M).
//
//                          |INVITE from TU: start(now) -> send INVITE, start A, B
//   Timer A fires          V                Timer B fires or transport error
//   send INVITE      +-----------+          inform TU
//   A = 2*A          |  Calling  |---------------------------------------+
//                    +-----------+                                       |
//   300-699: send ACK,   |   |   | 2xx to TU ----------------------+     |
//   to TU                |   |1xx to TU                            |     |
//                        |   V                                     |     |
//                        | +-----------+ 1xx to TU                 |     |
//                        | |Proceeding |---------------------+     |     |
//                        | +-----------+ 2xx to TU           |     |     |
//                        |   | 300-699: send ACK, to TU      V     V     |
//                        V   V                          +-----------+    |
//   300-699: send ACK  +-----------+                    | Accepted  |    |
//   (absorb)           | Completed |                    +-----------+    |
//                      +-----------+  2xx to TU (RFC 6026)   |           |
//        Timer D fires,  |                                   |Timer M    |
//        transport error |                                   V           V
//        (inform TU)     +--------------------------------> Terminated <-+
//
// The ACK for a non-2xx final is built here (§17.1.1.3): the request's Request-URI,
// Call-ID, From, top Via only and Route headers; the response's To (with its tag); CSeq
// with the INVITE's number and method ACK. The ACK for a 2xx belongs to the TU (§13.2.2.4).
//
// Timer A (unreliable only) starts at T1 and doubles without a cap, so a lost INVITE is
// sent at 0, 0.5, 1.5, 3.5, 7.5, 15.5 and 31.5 s with the defaults; Timer B (64*T1) ends
// Calling. Proceeding has no timer: the TU guards it (Timer C of §16.6 for proxies, or a
// CANCEL). Timer D is config.d on unreliable transports and zero on reliable ones. Timer M
// (64*T1) keeps the transaction in Accepted to pass 2xx retransmissions and forked 2xx
// responses to the TU (RFC 6026 §7.2).
//
// Ownership: owns the INVITE and the ACK it builds; keeps a pointer to `config`.
// Thread safety: none. Errors: none; inapplicable events return no actions.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <utility>

#include "sipkit/parser/message.hpp"
#include "sipkit/transaction/action.hpp"
#include "sipkit/transaction/timer.hpp"

namespace sipkit::transaction {

class client_invite {
 public:
  enum class state : std::uint8_t { calling, proceeding, completed, accepted, terminated };

  client_invite(parser::message request, bool reliable, const timer_config& config);

  /// INVITE from TU: send it, start Timer A (unreliable) and Timer B.
  action_list start(time_point now);
  action_list handle(const response_received& e, time_point now);
  action_list handle(const timer_fired& e, time_point now);
  action_list handle(const transport_failed& e, time_point now);

  state current_state() const noexcept { return state_; }
  const parser::message& request() const noexcept { return request_; }
  /// The ACK built for the first non-2xx final response; empty before that.
  const parser::message& ack() const noexcept { return ack_; }
  bool reliable() const noexcept { return reliable_; }

  /// Re-allocate the messages the machine keeps that were built or edited (their buffer
  /// and header table grew by appending) at their exact size: a copy of a message has no
  /// spare capacity. A message parsed and left unmodified (message::modified) is exact
  /// already and stays. The manager calls it when the transaction starts to linger (a
  /// final response sent or received), so that the tens of seconds it waits cost no
  /// slack. Same bytes, same offsets: views into an old message map onto its copy.
  void compact();

 private:
  parser::message request_;
  parser::message ack_;
  const timer_config* config_;
  std::uint8_t a_fired_ = 0;  // Timer A interval = T1 * 2^n
  state state_ = state::calling;
  bool reliable_;
};

std::string_view to_string(client_invite::state s) noexcept;

/// The ACK for a non-2xx final response (RFC 3261 §17.1.1.3). Exposed for proxies and
/// tests; the ICT calls it itself.
parser::message make_ack(const parser::message& invite, const parser::message& response);

/// Header lines (name, value) a caller adds to a message the transaction layer builds.
using header_lines = std::span<const std::pair<std::string, std::string>>;

/// The CANCEL for an INVITE (RFC 3261 §9.1): same Request-URI, Call-ID, From, To (without
/// a tag added by the UAS), CSeq number with method CANCEL, the INVITE's top Via only (so
/// the server matches it to the INVITE's transaction) and its Route headers; then `extra`
/// in order (e.g. an RFC 3326 Reason, which §2 there allows in a CANCEL). `extra` is added
/// as given: the caller keeps out the headers §9.1 fixes (Via, From, To, Call-ID, CSeq,
/// Route, Max-Forwards) and Content-Length (the ua layer's header rule refuses them).
parser::message make_cancel(const parser::message& invite, header_lines extra = {});

}  // namespace sipkit::transaction
