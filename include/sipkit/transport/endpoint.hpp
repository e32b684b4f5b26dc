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
/// layer's older name. This library runs udp, tcp and tls (RFC 3261 §18; TLS per §26.2);
/// sctp, ws and wss are refused (error::unsupported_transport).
using protocol = sipkit::transport_protocol;
/// The protocols this library runs are the first protocol_count values (udp, tcp, tls):
/// per-protocol tables (statistics) have this many entries.
inline constexpr std::size_t protocol_count = 3;
/// True for udp, tcp and tls: the protocols this library can listen and send on.
constexpr bool runs(protocol p) noexcept { return static_cast<std::size_t>(p) < protocol_count; }

// "UDP" ... (to_string), 5060/5061 (default_port), reliability (is_reliable): the shared
// functions of sipkit/transport_protocol.hpp, also reachable by their older names here.
using sipkit::default_port;
using sipkit::is_reliable;
using sipkit::to_string;

/// Case-insensitive "UDP"/"TCP"/"TLS": the names this library runs; nullopt for anything
/// else, also for SCTP, WS and WSS (sipkit::parse_transport_protocol knows those).
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
  /// Set for sips: URIs; the manager then refuses anything but TLS (RFC 3261 §26.2).
  bool secure = false;

  std::string to_string() const;  ///< "TLS 192.0.2.1:5061 (example.com)"
  friend bool operator==(const target&, const target&) = default;
};

}  // namespace sipkit::transport
