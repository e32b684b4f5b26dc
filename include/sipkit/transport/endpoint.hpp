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

namespace sipkit::transport {

/// The transports this library runs (RFC 3261 §18; TLS per §26.2).
enum class protocol : std::uint8_t { udp = 0, tcp = 1, tls = 2 };
inline constexpr std::size_t protocol_count = 3;

/// "UDP", "TCP", "TLS" as written in a Via (§20.42) and in ;transport= (lower case there).
std::string_view to_string(protocol p) noexcept;
/// Case-insensitive "UDP"/"TCP"/"TLS"; nullopt for anything else (SCTP, WS ...).
std::optional<protocol> protocol_from_string(std::string_view name) noexcept;
/// 5060, or 5061 for TLS (RFC 3261 §19.1.2).
constexpr std::uint16_t default_port(protocol p) noexcept { return p == protocol::tls ? 5061 : 5060; }
/// Everything but UDP is reliable: no retransmissions above (RFC 3261 §17).
constexpr bool is_reliable(protocol p) noexcept { return p != protocol::udp; }

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
