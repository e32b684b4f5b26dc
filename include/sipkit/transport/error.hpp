// Transport errors: values, not exceptions.
//
// `sipkit::transport::error` is a std::error_code enum with category "sipkit.transport".
// Socket and TLS failures are reported with the system / Asio / OpenSSL codes Asio hands
// out (converted to std::error_code); the codes below are the transport's own decisions.
//
// Thread safety: plain values; the category is a stateless singleton.
#pragma once

#include <string_view>
#include <system_error>

namespace sipkit::transport {

enum class error {
  ok = 0,
  not_started,            ///< start() was not called, or stop() was
  no_listener,            ///< no local socket of the needed transport / address family
  sips_requires_tls,      ///< a sips: target may only be reached over TLS (RFC 3261 §26.2)
  tls_not_configured,     ///< TLS requested but no TLS context could be built
  connection_limit,       ///< transport_config::max_connections reached
  connection_closed,      ///< the connection closed before the message was written
  write_queue_full,       ///< transport_config::max_write_queue_bytes reached
  message_too_large,      ///< larger than a datagram can carry (and no TCP fallback)
  no_via,                 ///< a response without a usable top Via (RFC 3261 §18.2.2)
  unsupported_transport,  ///< Via / URI names a transport this library does not run
  unresolved_sent_by,     ///< §18.2.2 needs DNS for the Via sent-by; resolve and use send()
  bad_uri,                ///< locate(): not a SIP/SIPS URI
  dns_failure,            ///< locate(): no target could be found (c-ares error logged)
  timed_out,              ///< connect / TLS / WebSocket handshake over connect_timeout
  idle_timeout,           ///< the connection was closed by the idle timer
  keepalive_timeout,      ///< no CRLF pong within keepalive_timeout (RFC 5626 §4.4.1)
  /// WS/WSS: the peer is a WebSocket client whose connection (the flow) is gone; it cannot
  /// be reached by a new connection (RFC 7118 §5.2), so the send fails at once.
  flow_gone,
  /// WS/WSS, outgoing: the server's 101 did not select the `sip` subprotocol (RFC 7118 §4).
  /// A server that refuses the upgrade outright is reported with Beast's error
  /// (boost::beast::websocket::error::upgrade_declined).
  no_sip_subprotocol,
  /// WS/WSS, incoming: the upgrade request was refused (not a WebSocket upgrade, no `sip`
  /// subprotocol, bad HTTP); the reason given to on_connection_closed.
  handshake_refused,
};

const std::error_category& transport_category() noexcept;

inline std::error_code make_error_code(error e) noexcept {
  return {static_cast<int>(e), transport_category()};
}

}  // namespace sipkit::transport

template <>
struct std::is_error_code_enum<sipkit::transport::error> : std::true_type {};
