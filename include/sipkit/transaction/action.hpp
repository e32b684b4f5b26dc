// Events fed into the four transaction state machines and the actions they return.
//
// The machines (client_invite.hpp, server_invite.hpp, client_non_invite.hpp,
// server_non_invite.hpp) are sans-I/O: `handle(event, now)` changes state and returns
// what the caller must do, in order: send a message, start or stop a timer, pass a
// message or a failure to the transaction user (TU), forget the machine. Nothing is
// done inside the machine itself.
//
// Ownership: events borrow their message (`response_received`, `request_received`) for
// the duration of the call, except `response_from_tu`, which hands its message to the
// machine. An action's `msg` points either into the machine (the request, ACK or last
// response it keeps for retransmission) or to the message of the event being handled; it
// is valid until the next call on that machine, or until the event's message dies,
// whichever is first. Execute the actions right away.
//
// Ordering guarantee (the manager relies on it for re-entrancy): sends come first, then
// timer starts/stops, then pass_to_tu / inform_tu, and `terminated` is always last.
//
// Thread safety: plain values.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <stdexcept>
#include <system_error>

#include "sipkit/parser/message.hpp"
#include "sipkit/transaction/timer.hpp"

namespace sipkit::transaction {

// ------------------------------------------------------------------------ events

/// Client machines: a response whose top Via branch and CSeq method match (§17.1.3).
struct response_received {
  const parser::message& response;
};
/// Server machines: a retransmission of the request, or an ACK (INVITE server only).
struct request_received {
  const parser::message& request;
};
/// Server machines: the TU answers. The machine keeps the message for retransmission.
struct response_from_tu {
  parser::message response;
};
/// A timer this machine started has fired (stale timers are ignored).
struct timer_fired {
  timer which;
};
/// The transport failed to send a message of this transaction (RFC 3261 §17.1.4,
/// §17.2.4). `code` is the transport's error, or error::transport_failure.
struct transport_failed {
  std::error_code code;
};

// ----------------------------------------------------------------------- actions

enum class action_kind : std::uint8_t {
  send,         ///< give `msg` to the transport (request, ACK or response)
  start_timer,  ///< arm `which` to fire at `deadline` (re-arming replaces it)
  stop_timer,   ///< disarm `which` (no-op when it is not armed)
  pass_to_tu,   ///< hand `msg` to the TU: a response (client) or a request/ACK (server)
  inform_tu,    ///< a failure for the TU: `code` is error::timeout or a transport error
  terminated,   ///< the machine is in Terminated and must be destroyed (§17.1.1.2)
};

struct action {
  action_kind kind = action_kind::send;
  timer which = timer::a;
  time_point deadline{};
  const parser::message* msg = nullptr;
  std::error_code code;
};

/// The actions of one event, in execution order. Fixed capacity, no allocation: no
/// transition of RFC 3261/6026 needs more than five actions.
class action_list {
 public:
  static constexpr std::size_t capacity = 8;

  const action* begin() const noexcept { return items_.data(); }
  const action* end() const noexcept { return items_.data() + size_; }
  std::size_t size() const noexcept { return size_; }
  bool empty() const noexcept { return size_ == 0; }
  const action& operator[](std::size_t i) const noexcept { return items_[i]; }

  /// Set when the event was refused (a TU response the state does not allow, ...);
  /// the machine's state is then unchanged and the list holds no actions.
  std::error_code error;

  // Builders used by the machines.
  void send(const parser::message& m) { push({action_kind::send, timer::a, {}, &m, {}}); }
  void start(timer t, time_point at) { push({action_kind::start_timer, t, at, nullptr, {}}); }
  void stop(timer t) { push({action_kind::stop_timer, t, {}, nullptr, {}}); }
  void pass(const parser::message& m) { push({action_kind::pass_to_tu, timer::a, {}, &m, {}}); }
  void inform(std::error_code c) { push({action_kind::inform_tu, timer::a, {}, nullptr, c}); }
  void terminate() { push({action_kind::terminated, timer::a, {}, nullptr, {}}); }

 private:
  void push(const action& a) {
    // A machine bug, not a runtime condition: the transitions are fixed.
    if (size_ == capacity) throw std::logic_error("sipkit transaction: action_list overflow");
    items_[size_++] = a;
  }
  std::array<action, capacity> items_{};
  std::size_t size_ = 0;
};

}  // namespace sipkit::transaction
