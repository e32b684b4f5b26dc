// What the transaction layer needs from a transport, and how a transport talks back.
//
// The transaction layer does no I/O. Downward it calls an abstract `transport`: send this
// message to this endpoint. Upward a transport (network_transport.hpp over the
// sipkit::transport library, or the in-memory fake in tests/support) calls a
// `transport_receiver`: a message
// arrived from this endpoint, or an earlier send of this transaction failed. The Asio
// adapter (asio_adapter.hpp) is a transport_receiver: it reads the clock and forwards to
// the manager (manager.hpp), whose own entry points take `now` explicitly.
//
// Thread safety: a transport is called from the thread that drives the manager only;
// an implementation that completes sends on other threads must hop back (post to the
// manager's executor) before calling the receiver.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <system_error>

#include "sipkit/parser/message.hpp"
#include "sipkit/transport_protocol.hpp"

namespace sipkit::transaction {

/// The one transport_protocol of every layer (sipkit/transport_protocol.hpp: udp, tcp,
/// tls, sctp, ws, wss), under this layer's older name.
using transport_protocol = sipkit::transport_protocol;

// RFC 3261 §18: UDP is the only unreliable transport SIP runs on; everything else is
// reliable, which zeroes Timers D, I, J, K and disables A, E, G (is_reliable). "UDP",
// "TCP", "TLS", "SCTP", "WS", "WSS" as written in a Via (§20.42, RFC 7118:
// via_transport_name). Shared functions, also reachable by their older names here.
using sipkit::is_reliable;
using sipkit::via_transport_name;

/// Where a message goes (client side: a target chosen by RFC 3263 resolution) or where it
/// came from (server side: the source of the request, used for the responses, §18.2.2).
struct endpoint {
  std::string host;  ///< IP address literal (IPv6 without brackets) or a host name
  std::uint16_t port = 5060;
  transport_protocol protocol = transport_protocol::udp;
  /// A stream transport's id of the connection that carried a request, so responses go
  /// back on it (§18.2.2); 0 = no particular connection.
  std::uint64_t connection = 0;

  bool reliable() const noexcept { return is_reliable(protocol); }
  friend bool operator==(const endpoint&, const endpoint&) = default;
};

/// The id of a transaction inside one manager: an index and a generation, so that an id
/// kept after its transaction ended never names the next one to use the same slot.
struct transaction_id {
  std::uint32_t index = 0xFFFFFFFFu;
  std::uint32_t generation = 0;

  bool valid() const noexcept { return index != 0xFFFFFFFFu; }
  explicit operator bool() const noexcept { return valid(); }
  friend bool operator==(transaction_id, transaction_id) = default;
};

/// Downward interface: the transport that carries the manager's messages.
class transport {
 public:
  virtual ~transport() = default;

  /// Send `msg` (serialize it, or hand the object over) to `destination`. Return an
  /// error for failures known at once (no route, connection refused, message too big for
  /// UDP); report later failures through transport_receiver::on_send_error with `origin`.
  /// `origin` is invalid for messages sent outside any transaction (a stateless 503).
  /// The message is only borrowed for the call.
  virtual std::error_code send(const parser::message& msg, const endpoint& destination,
                               transaction_id origin) = 0;

  /// The sent-by ("host:port", RFC 3261 §18.1.1) that this transport puts in the Via of a
  /// request it sends to `destination`.
  virtual std::string via_sent_by(const endpoint& destination) const = 0;
};

/// Upward interface: what a transport calls.
class transport_receiver {
 public:
  virtual ~transport_receiver() = default;
  /// A complete, parsed message (request or response) arrived from `source`.
  virtual void on_receive(parser::message msg, const endpoint& source) = 0;
  /// A send made for transaction `origin` failed after send() had returned.
  virtual void on_send_error(transaction_id origin, std::error_code ec) = 0;
};

}  // namespace sipkit::transaction

template <>
struct std::hash<sipkit::transaction::transaction_id> {
  std::size_t operator()(sipkit::transaction::transaction_id id) const noexcept {
    return (static_cast<std::size_t>(id.generation) << 32) ^ id.index;
  }
};
