// Addresses, transports and targets: the vocabulary of sipkit::transport.
//
// Plain values, safe to copy and to read from several threads.
#pragma once

#include <boost/asio/ip/address.hpp>
#include <compare>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "sipkit/transport_protocol.hpp"

namespace sipkit::transport {

/// The one transport_protocol of every layer (sipkit/transport_protocol.hpp), under this
/// layer's older name. This library runs udp, tcp, tls (RFC 3261 §18; TLS per §26.2), ws and
/// wss (RFC 7118, with Boost.Beast); sctp is refused (error::unsupported_transport).
using protocol = sipkit::transport_protocol;
/// Entries of the per-protocol tables (statistics): one per value of the enum, indexed by
/// it. The row of a protocol this library does not run (SCTP) stays all zero.
inline constexpr std::size_t protocol_count = 6;
/// True for udp, tcp, tls, ws and wss: the protocols this library can listen and send on.
constexpr bool runs(protocol p) noexcept {
  return static_cast<std::size_t>(p) < protocol_count && p != protocol::sctp;
}
/// True for ws and wss: SIP over WebSocket (RFC 7118), one message per WebSocket message.
constexpr bool is_websocket(protocol p) noexcept {
  return p == protocol::ws || p == protocol::wss;
}

// "UDP" ... (to_string), 5060/5061 (default_port), reliability (is_reliable): the shared
// functions of sipkit/transport_protocol.hpp, also reachable by their older names here.
using sipkit::default_port;
using sipkit::is_reliable;
using sipkit::to_string;

/// Case-insensitive "UDP"/"TCP"/"TLS"/"WS"/"WSS": the names this library runs; nullopt for
/// anything else, also for SCTP (sipkit::parse_transport_protocol knows that one).
constexpr std::optional<protocol> protocol_from_string(std::string_view name) noexcept {
  auto p = parse_transport_protocol(name);
  if (p && !runs(*p)) return std::nullopt;
  return p;
}

/// An IP address and a port.
struct endpoint {
  boost::asio::ip::address address;
  std::uint16_t port = 0;

  /// "192.0.2.1:5060" or "[2001:db8::1]:5060".
  std::string to_string() const;
  /// "192.0.2.1" or "[2001:db8::1]": the host part of a Via sent-by or a URI.
  std::string host_string() const;
  friend bool operator==(const endpoint&, const endpoint&) = default;
  friend bool operator<(const endpoint& a, const endpoint& b) noexcept {
    return a.address != b.address ? a.address < b.address : a.port < b.port;
  }
};

/// Parse an IP literal, with or without [brackets]; nullopt when it is not one.
std::optional<boost::asio::ip::address> parse_ip(std::string_view text) noexcept;

/// "192.0.2.1" or "2001:db8::1" (no brackets), as address::to_string() writes it. IPv4 is
/// formatted here without the C library's sprintf: every received message and every
/// request sent names its peer this way, so it is on the per-message path.
std::string address_string(const boost::asio::ip::address& address);

/// Identifies a flow: a TCP/TLS connection, or the local UDP socket a datagram came in
/// on (so that a response leaves from the address the request reached, RFC 3581 §4).
/// 0 means "none". Ids are never reused within one manager.
using connection_id = std::uint64_t;

/// Where to send a request: one entry of an RFC 3263 target list, or built by hand.
struct target {
  protocol transport = protocol::udp;
  endpoint remote;
  /// Name the TLS certificate must match and the SNI to send (RFC 5922 §4: the host of
  /// the URI being resolved, not the SRV target). Empty: the address is checked.
  std::string server_name;
  /// Set for sips: URIs; the manager then refuses anything but TLS or WSS (RFC 3261 §26.2).
  bool secure = false;
  /// The flow to send on (RFC 5626 §3, RFC 7118 §5.2): an incoming_message::connection, or
  /// 0 for none. While it is open the request goes on it. When it is gone: over TCP/TLS a
  /// connection to `remote` is reused or opened as usual; over WS/WSS the send fails with
  /// error::flow_gone, because a WebSocket client cannot be reached by a new connection.
  connection_id connection = 0;

  std::string to_string() const;  ///< "TLS 192.0.2.1:5061 (example.com)"
  friend bool operator==(const target&, const target&) = default;
};

}  // namespace sipkit::transport
