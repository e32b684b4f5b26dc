// The SIP transport protocols: one enum shared by every layer.
//
// A Via says which transport a message took (RFC 3261 §18, §20.42), a URI's ;transport=
// parameter which one to use (§19.1.1), and RFC 3263 picks one when the URI does not. The
// transport layer (sipkit::transport) runs UDP, TCP and TLS today; the sans-I/O layers
// (transaction, dialog, session) also name SCTP (RFC 4168) and WebSocket (RFC 7118: WS,
// WSS) because they write and read them in Vias and URIs. So this header has no I/O, no
// Asio and nothing to link: constexpr functions only, usable from any layer.
//
// `sipkit::transport::protocol` and `sipkit::transaction::transport_protocol` are aliases of
// this type (older names, kept so that code written against them still compiles).
//
// Plain values: safe to copy and to read from several threads. No errors: the parse
// function returns nullopt for a name it does not know.
#pragma once

#include <cstdint>
#include <optional>
#include <string_view>

namespace sipkit {

/// The values are stable: the transport layer indexes per-protocol arrays by them (udp,
/// tcp and tls first, transport::protocol_count).
enum class transport_protocol : std::uint8_t {
  udp = 0,
  tcp = 1,
  tls = 2,
  sctp = 3,
  ws = 4,
  wss = 5
};

/// "UDP", "TCP", "TLS", "SCTP", "WS", "WSS": the transport token of a Via (RFC 3261 §20.42,
/// RFC 4168 §5, RFC 7118 §5.1). Also what logs print.
constexpr std::string_view to_string(transport_protocol p) noexcept {
  switch (p) {
    case transport_protocol::udp:
      return "UDP";
    case transport_protocol::tcp:
      return "TCP";
    case transport_protocol::tls:
      return "TLS";
    case transport_protocol::sctp:
      return "SCTP";
    case transport_protocol::ws:
      return "WS";
    case transport_protocol::wss:
      return "WSS";
  }
  return "?";
}

/// The same as to_string: the name a Via carries (the transaction layer's older name).
constexpr std::string_view via_transport_name(transport_protocol p) noexcept {
  return to_string(p);
}

/// "udp", "tcp", "tls", "sctp", "ws", "wss": the value of a URI's ;transport= parameter
/// (RFC 3261 §19.1.1, RFC 7118 §5.2), lower case as the RFCs write it.
constexpr std::string_view transport_param_name(transport_protocol p) noexcept {
  switch (p) {
    case transport_protocol::udp:
      return "udp";
    case transport_protocol::tcp:
      return "tcp";
    case transport_protocol::tls:
      return "tls";
    case transport_protocol::sctp:
      return "sctp";
    case transport_protocol::ws:
      return "ws";
    case transport_protocol::wss:
      return "wss";
  }
  return "?";
}

/// Any of the six names, in any case (Via tokens and ;transport= values are
/// case-insensitive, RFC 3261 §7.3.1, §19.1.4); nullopt for anything else. To know whether
/// the transport layer can send over it, see transport::protocol_from_string.
constexpr std::optional<transport_protocol> parse_transport_protocol(
    std::string_view name) noexcept {
  constexpr transport_protocol all[] = {transport_protocol::udp, transport_protocol::tcp,
                                        transport_protocol::tls, transport_protocol::sctp,
                                        transport_protocol::ws,  transport_protocol::wss};
  for (transport_protocol p : all) {
    const std::string_view want = transport_param_name(p);
    if (want.size() != name.size()) continue;
    bool same = true;
    for (std::size_t i = 0; i < want.size() && same; ++i) {
      char c = name[i];
      if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
      same = c == want[i];
    }
    if (same) return p;
  }
  return std::nullopt;
}

/// Everything but UDP is reliable (RFC 3261 §18): no retransmissions, and Timers D, I, J
/// and K are zero (§17).
constexpr bool is_reliable(transport_protocol p) noexcept { return p != transport_protocol::udp; }

/// 5061 for TLS, 5060 otherwise (RFC 3261 §19.1.2: the default port of a URI without one).
constexpr std::uint16_t default_port(transport_protocol p) noexcept {
  return p == transport_protocol::tls ? 5061 : 5060;
}

}  // namespace sipkit
