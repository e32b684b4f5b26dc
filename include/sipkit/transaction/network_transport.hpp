// The transaction layer's transport over the real one: transaction::transport implemented
// on a sipkit::transport::manager (UDP, TCP, TLS over Boost.Asio).
//
//   boost::asio::io_context io;
//   sipkit::transport::transport_config tcfg;
//   tcfg.listen = {{sipkit::transport::protocol::udp, "192.0.2.1", 5060}};
//   sipkit::transport::manager net(io, tcfg);
//   sipkit::transaction::network_transport tp(net);     // before net.start()
//   my_core core;                                        // a transaction_user
//   sipkit::transaction::asio_adapter stack(io.get_executor(), tp, core);
//   tp.set_receiver(stack);
//   if (auto ec = net.start()) { ... }
//   stack.start_client(std::move(request), {{"198.51.100.7", 5060, transport_protocol::udp}});
//   io.run();
//
// Downward (RFC 3261 §18):
//  - a request goes to the destination's (protocol, host, port) with
//    transport::manager::send_request, which reuses or opens a stream connection;
//  - a response goes with transport::manager::send_response on the connection kept in
//    endpoint::connection (the one the request arrived on, §18.2.2), or, when that
//    connection is gone or the transport is UDP, by the top Via's received / rport /
//    sent-by. The destination's host and port are not used for responses: the Via is the
//    authority (§18.2.2), and the received/rport fix-ups were written into it on receipt.
// Upward: every message the transport::manager delivers is copied into an owning message
// with its Via fix-ups (incoming_message::to_message) and handed to the receiver with a
// source endpoint: the peer's address (IPv6 without brackets) and port, the protocol, and
// the connection id (a stream connection, or for UDP the local socket, so that the
// response leaves from the address the request reached, RFC 3581 §4).
//
// Errors: send() returns the transport's immediate errors (no listener, connection
// limit, message too large ...), plus transport::error::unsupported_transport for
// SCTP/WS/WSS and std::errc::invalid_argument for a request destination whose host is
// not an IP literal (resolve names first, RFC 3263, transport/resolver.hpp). Failures
// found later (TCP connect refused, TLS handshake, write error, connection closed) reach
// transport_receiver::on_send_error with the transaction that sent, so the transaction
// is told (§17.1.4, §17.2.4). Later failures of stateless sends (invalid origin) are
// only logged by the transport.
//
// Ownership and lifetime: the network_transport borrows the transport::manager, which
// must outlive it; it installs itself as the manager's message handler at construction
// (so construct it before transport::manager::start()) and removes itself at
// destruction. The receiver must outlive the network_transport or be detached with
// set_receiver(nullptr). Send completions still queued after destruction are ignored.
//
// Thread safety: none of its own. Everything (sends, deliveries, completions) runs on
// the thread of the io_context the transport::manager uses, the same thread that drives
// the receiver (asio_adapter).
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <system_error>

#include "sipkit/parser/message.hpp"
#include "sipkit/transaction/transport.hpp"
#include "sipkit/transport/endpoint.hpp"
#include "sipkit/transport/manager.hpp"

namespace sipkit::transaction {

/// The transaction layer's hop (host string, port, protocol, connection) for a peer the
/// transport layer names by IP address: the address as a literal (IPv6 without brackets),
/// the port, the protocol and the connection that carried it (0: none). The one place
/// that turns a transport::endpoint into a transaction::endpoint (received messages, and
/// the targets of an RFC 3263 lookup).
endpoint to_endpoint(transport_protocol p, const sipkit::transport::endpoint& peer,
                     std::uint64_t connection = 0);
/// One entry of an RFC 3263 target list (transport::resolver) as a hop.
inline endpoint to_endpoint(const sipkit::transport::target& t) {
  return to_endpoint(t.transport, t.remote);
}
/// The reverse, for sending a request: the transport target of a hop; nullopt when its
/// host is not an IP literal (names are resolved first, RFC 3263). The protocol and the
/// connection (the flow, target::connection) are copied as they are (check
/// sipkit::transport::runs before sending).
std::optional<sipkit::transport::target> to_target(const endpoint& hop);

/// Older functions from when the two layers had two protocol enums; they are one type
/// now, so these only keep code written against them compiling. to_transport_protocol:
/// nullopt for SCTP, which the transport library does not run.
inline std::optional<transport_protocol> to_transport_protocol(transport_protocol p) noexcept {
  if (!sipkit::transport::runs(p)) return std::nullopt;
  return p;
}
inline transport_protocol to_transaction_protocol(transport_protocol p) noexcept { return p; }

class network_transport final : public transport {
 public:
  /// Becomes `net`'s message handler (replacing any other).
  explicit network_transport(sipkit::transport::manager& net);
  ~network_transport() override;
  network_transport(const network_transport&) = delete;
  network_transport& operator=(const network_transport&) = delete;

  /// Where received messages and late send errors go; nullptr drops them. A TCP/TLS
  /// connection that closes is a late send error (RFC 3261 §17.1.4) for the client
  /// transactions whose request was last written on it (up to the 32 most recent per
  /// connection), with the error that closed it.
  void set_receiver(transport_receiver* receiver) noexcept;
  void set_receiver(transport_receiver& receiver) noexcept { set_receiver(&receiver); }

  // transport
  std::error_code send(const parser::message& msg, const endpoint& destination,
                       transaction_id origin) override;
  /// The transport::manager's listener of the destination's protocol and address family
  /// ("127.0.0.1:5060"). For a wildcard listener ("0.0.0.0", "::") the host is the local
  /// address the kernel routes to the destination from (a connected UDP socket is asked;
  /// no packet is sent). Empty when there is no such listener.
  std::string via_sent_by(const endpoint& destination) const override;

  sipkit::transport::manager& network() noexcept { return net_; }

 private:
  struct shared_state;

  sipkit::transport::manager& net_;
  // Shared with the send completions, which may outlive this object.
  std::shared_ptr<shared_state> state_;
};

}  // namespace sipkit::transaction
