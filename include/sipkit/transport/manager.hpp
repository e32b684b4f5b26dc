// The transport manager: UDP, TCP and TLS sockets over Boost.Asio (RFC 3261 §18), and SIP
// over WebSocket, WS and WSS (RFC 7118), with Boost.Beast over the same TCP / TLS sockets.
//
//   boost::asio::io_context io;
//   sipkit::transport::transport_config cfg;
//   cfg.listen = {{protocol::udp, "0.0.0.0", 5060}, {protocol::tcp, "::", 5060}};
//   sipkit::transport::manager tp(io, cfg);
//   tp.on_message([&](const incoming_message& in) { ... });
//   if (auto ec = tp.start()) { ... }
//   io.run();
//
// Upward it delivers every parsed message with its source, local endpoint, transport and
// connection; downward it sends requests to a target and responses by their Via. It
// knows nothing of transactions.
//
// Received requests: RFC 3261 §18.2.1 `received` and RFC 3581 `rport` are computed for
// the top Via and delivered as fields beside the zero-copy view (`incoming_message::
// received` / `rport`); `incoming_message::to_message()` makes the owning copy with the
// fix-ups written into the top Via. The view itself is never edited, so the fast path
// (parse, look, drop or hand over) copies nothing.
//
// WebSocket (RFC 7118): the HTTP upgrade must offer the `sip` subprotocol (config.hpp
// websocket_options); each WebSocket message (text or binary) is one SIP message, parsed
// as a datagram is. WS/WSS connections share the TCP/TLS limits, timers and statistics
// fields. RFC 7118 §5.2: a WebSocket client cannot be reached by a new connection, so a
// request or response to a peer known only through an accepted WS/WSS connection goes on
// that connection (the flow, target::connection or the response's connection), and when
// it is gone the send fails at once with error::flow_gone (never a connect to a browser's
// ephemeral port). Outgoing WS/WSS connections (to a WebSocket server) are opened as TCP
// and TLS ones are.
//
// Malformed input: a message that does not parse is dropped, counted and logged; when it
// is a request whose start line and top Via can still be read it is answered with a
// 400 carrying the parser's reason (RFC 3261 §8.2, §18). A stream whose framing breaks
// (oversize, no Content-Length) is closed with the reason logged.
//
// Hostile traffic (every bound below has a default that protects a program that changes
// nothing; transport_config documents each knob):
//  - connections: max_connections (sized at start() against RLIMIT_NOFILE), a per-source
//    cap (max_connections_per_source), idle_timeout (a connection that never carried a SIP
//    message is closed however often it sends CRLF keep-alives), message_timeout for
//    partial messages, max_write_queue_bytes;
//  - a failing accept (EMFILE, ENFILE, ENOBUFS, ENOMEM ...) never spins: the listener
//    stops accepting and retries after 10 ms, doubling up to 1 s while it keeps failing,
//    back to immediate accepts after the first success; each failure counts in
//    statistics::accept_errors and the warnings are rate-limited. Connections already open
//    and UDP are served meanwhile;
//  - logging: warnings that peers can trigger are rate-limited per kind
//    (transport_config::log_rate), the statistics stay exact;
//  - sends: every send the transport refuses (too large for a datagram, write queue full,
//    connection limit, no listener or no route for a response ...) is returned as the
//    error, counted in statistics::sends_refused and logged; none is dropped silently.
//    A failed send never closes or stalls a UDP socket.
//
// UDP send batching: the datagrams sent from inside a message_handler called for a UDP
// receive batch (up to transport_config::udp_batch datagrams read by one recvmmsg) are
// copied to a queue per socket and leave together once the batch was handled, in the
// order sent (one sendmmsg per socket on Linux), instead of one system call each. Such a
// send returns success; a datagram the kernel then refuses is counted
// (statistics::send_errors), logged and reported to its send_handler, and the datagrams
// after it still go. Sends made anywhere else (timers, other handlers, the application)
// leave before send_*() returns, their kernel errors returned.
//
// Threading: the manager runs on the io_context it is given and creates no threads. It is
// not internally synchronised: call it from the thread running that io_context (or a
// strand of it). Handlers are invoked on that thread.
//
// Lifetime: the io_context must outlive the manager. Destroying the manager (or stop())
// closes every socket; handlers still queued in the io_context then complete harmlessly.
// No message is delivered after stop(); send handlers still complete (with
// operation_aborted for sends that had not finished).
#pragma once

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/io_context.hpp>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <system_error>
#include <vector>

#include "sipkit/parser/message.hpp"
#include "sipkit/parser/message_view.hpp"
#include "sipkit/transport/config.hpp"
#include "sipkit/transport/endpoint.hpp"
#include "sipkit/transport/error.hpp"

namespace sipkit::transport {

/// A message as it came off the wire, with where it came from.
struct incoming_message {
  /// The parsed message, zero-copy. Valid only during the on_message callback; use
  /// to_message() (or message::from_view) to keep it.
  const parser::message_view* view = nullptr;
  protocol transport = protocol::udp;
  endpoint source;  ///< the packet's / connection's remote address
  endpoint local;   ///< the socket it arrived on (the bound address; a wildcard stays one)
  /// The TCP/TLS connection, or the UDP socket; pass it to send_response().
  connection_id connection = 0;

  /// Requests only: RFC 3261 §18.2.1 — the source address when it differs from the top
  /// Via sent-by host, or when rport must be filled (RFC 3581 §4); empty otherwise.
  std::string received;
  /// Requests only: RFC 3581 §4 — the source port when the top Via has an empty rport.
  std::optional<std::uint16_t> rport;

  const parser::message_view& message() const noexcept { return *view; }
  /// Owning copy with received/rport written into the top Via (a copy of the bytes and,
  /// when a fix-up applies, a re-serialisation of the Via only).
  parser::message to_message() const;
};

/// Counters for one transport, monotonic since start() (connections_open excepted). They
/// count every event exactly, also when its log line was rate-limited
/// (transport_config::log_rate).
struct statistics {
  std::uint64_t messages_in = 0;   ///< parsed and delivered
  std::uint64_t messages_out = 0;  ///< handed to the socket (UDP) / fully written (streams)
  /// Every byte read, keep-alives and garbage included. WS/WSS: the HTTP upgrade and the
  /// payload of each WebSocket message (frame headers and control frames are Beast's).
  std::uint64_t bytes_in = 0;
  std::uint64_t bytes_out = 0;  ///< as bytes_in
  std::uint64_t parse_errors = 0;           ///< datagrams / framed messages / streams that failed
  std::uint64_t drops = 0;                  ///< inputs not delivered (parse errors included)
  std::uint64_t bad_requests_answered = 0;  ///< 400s sent for malformed requests
  /// Sends that failed at the socket: a datagram the kernel refused (e.g. a full socket
  /// buffer), a queued stream message that could not be written because the connect, TLS
  /// handshake or write failed or the connection closed first.
  std::uint64_t send_errors = 0;
  /// Sends the transport refused itself, before any byte was written: every send_*()
  /// that returned an error (message_too_large, write_queue_full, connection_limit,
  /// no_listener, no_via, unresolved_sent_by, ...) and 400s or pongs it could not queue.
  /// Each is also logged (rate-limited).
  std::uint64_t sends_refused = 0;
  std::uint64_t connections_accepted = 0;
  std::uint64_t connections_opened = 0;  ///< outgoing, connect + handshake succeeded
  /// Accepts closed at once because of max_connections or max_connections_per_source.
  std::uint64_t connections_refused = 0;
  /// Of connections_refused, those refused by max_connections_per_source.
  std::uint64_t connections_refused_per_source = 0;
  /// Accepted connections closed to make room when max_connections was reached: the
  /// oldest that had never carried a SIP message (see max_connections).
  std::uint64_t connections_evicted = 0;
  /// accept() calls that failed (EMFILE, ENFILE, ENOBUFS, ENOMEM ...); each failure pauses
  /// the listener (see manager), so this grows by a few per second at most.
  std::uint64_t accept_errors = 0;
  std::uint64_t connections_closed = 0;
  std::uint64_t connections_open = 0;  ///< current
  std::uint64_t keepalive_pings_received = 0;
  std::uint64_t keepalive_pongs_sent = 0;
  std::uint64_t keepalive_pings_sent = 0;
  /// WS/WSS: upgrade requests refused (not an upgrade: 426; no `sip` subprotocol, bad HTTP
  /// or a bad WebSocket key/version: 400), each closing its connection.
  std::uint64_t websocket_handshakes_refused = 0;
  /// WS/WSS: messages over limits.max_message_size; each closed its connection with
  /// WebSocket close code 1009 (RFC 6455 §7.4.1). Also counted in drops.
  std::uint64_t websocket_messages_too_big = 0;
};

/// A bound local socket, as reported by manager::listeners().
struct listener_info {
  protocol transport = protocol::udp;
  endpoint local;        ///< with the real port when the config said 0
  connection_id id = 0;  ///< UDP: the id carried by messages received on it
};

/// How a send went, for send_handler.
struct send_info {
  protocol transport = protocol::udp;  ///< after a UDP->TCP switch: tcp
  endpoint remote;
  connection_id connection = 0;
};

class manager {
 public:
  using message_handler = std::function<void(const incoming_message&)>;
  /// Called once per accepted send, later (never from inside send_*), with the outcome:
  /// success when the bytes were handed to the kernel, else the connect / TLS / write
  /// error.
  using send_handler = std::function<void(std::error_code, const send_info&)>;
  /// Called after a TCP/TLS/WS/WSS connection closed for any reason but stop(): the peer closed
  /// it, a read or write failed (for TLS, also an alert the peer sent after the handshake,
  /// such as a refused client certificate), framing failed, or a timeout. `reason` is the
  /// error that closed it, or error::connection_closed for an orderly close by the peer.
  /// Posted to the io_context, never called from inside another call of this manager.
  using close_handler = std::function<void(connection_id, std::error_code reason)>;

  manager(boost::asio::io_context& io, transport_config config);
  ~manager();
  manager(const manager&) = delete;
  manager& operator=(const manager&) = delete;

  /// Where received messages go. Set before start(); without one, messages are dropped.
  void on_message(message_handler handler);
  /// Where connection closes are reported (see close_handler); none by default.
  void on_connection_closed(close_handler handler);
  /// Where a datagram sent by send_response() with a `cookie` and without a send_handler
  /// is reported when the kernel refused it after send_response() returned (UDP send
  /// batching, see above): the cookie given and the error. Posted to the io_context, as
  /// a send_handler is. Lets a caller with many responses in flight learn of a failure
  /// without a send_handler (a std::function) per response. None by default.
  using datagram_error_handler = std::function<void(std::uint64_t cookie, std::error_code)>;
  void on_datagram_error(datagram_error_handler handler);

  /// Bind every listen point and start reading. Returns the first bind / TLS setup error
  /// (sockets already opened stay open; call stop() to give up); a listen point of a
  /// protocol this library does not run (SCTP) is error::unsupported_transport.
  /// TLS files (config.hpp tls_options) are loaded here only when a TLS or WSS listen
  /// point is configured; otherwise at the first TLS/WSS connection send_*() opens, which
  /// then fails with the load error (logged) if a file does not load.
  std::error_code start();
  /// Close every socket and connection. Pending send handlers get operation_aborted.
  void stop();

  std::vector<listener_info> listeners() const;
  /// "host:port" for the top Via of a request sent over `transport` to `family_of` (the
  /// first listener of that transport and family; a wildcard bind yields the address
  /// given here, empty when there is none).
  std::string via_sent_by(protocol transport, const endpoint& family_of) const;
  /// Changes whenever the set of listeners does (start(), stop()): a caller that keeps
  /// something derived from listeners() or via_sent_by() knows when to build it again.
  std::uint64_t listeners_version() const noexcept;

  /// Send a request to a resolved target (RFC 3261 §18.1.1). A UDP request above
  /// udp_to_tcp_threshold goes over TCP with its top Via rewritten; a secure target only
  /// over TLS or WSS; a stream goes on target::connection while that is open, else reuses
  /// an open connection to (remote, transport) or opens one. WS/WSS: never a new
  /// connection to a peer whose accepted connection closed, nor when target::connection
  /// names a connection that is gone: error::flow_gone (RFC 7118 §5.2).
  /// Returns an error known at once (then `done` is never called); such a refusal is
  /// counted (statistics::sends_refused) and logged. A datagram larger than UDP can carry
  /// (65,507 bytes over IPv4, 65,527 over IPv6; only with udp_to_tcp_threshold = 0) fails
  /// with error::message_too_large; a target over SCTP with error::unsupported_transport.
  std::error_code send_request(const parser::message& request, const target& to,
                               send_handler done = {});
  /// Send a response where RFC 3261 §18.2.2 / RFC 3581 §4 say: on `connection` when it
  /// is a stream still open, else to received/rport/sent-by of the top Via (a UDP
  /// response leaves from the socket `connection` names, when it is one). Responses never
  /// switch transport: a UDP response larger than a datagram can carry (65,507 bytes over
  /// IPv4, 65,527 over IPv6) fails with error::message_too_large. Errors are returned at
  /// once, counted (statistics::sends_refused) and logged; the socket stays usable.
  /// A response whose Via says WS/WSS goes on `connection` only: when that is gone it
  /// fails with error::flow_gone (RFC 7118 §5.2).
  /// `cookie` (not 0) names the response to on_datagram_error().
  std::error_code send_response(const parser::message& response, connection_id connection = 0,
                                send_handler done = {}, std::uint64_t cookie = 0);
  /// Send already-serialised bytes on a transport (tests, proxies forwarding as-is).
  std::error_code send_bytes(std::string bytes, const target& to, send_handler done = {});

  /// Send an RFC 5626 §4.4.1 CRLFCRLF ping on a stream connection now (WS/WSS: a
  /// WebSocket ping frame).
  std::error_code send_keepalive(connection_id connection);
  /// Close one stream connection (no effect on UDP ids or unknown ids).
  void close_connection(connection_id connection);
  /// Open TCP/TLS/WS/WSS connections.
  std::size_t connection_count() const noexcept;
  /// The executor of the io_context the manager runs on.
  boost::asio::any_io_executor executor() const noexcept;
  /// True when `connection` is an open stream connection.
  bool is_open(connection_id connection) const noexcept;

  /// How many times trust anchors (tls_options::ca_file / ca_path, or the system store)
  /// were loaded into a TLS context: 0 for an agent that never listened on or connected
  /// over TLS/WSS, at most 2 (client and mutual-TLS server). For diagnostics and tests.
  std::size_t trust_store_loads() const noexcept;
  /// Counters of one transport; all zero for those this library does not run (!runs()).
  statistics stats(protocol transport) const noexcept;
  const transport_config& config() const noexcept;

  struct impl;

 private:
  std::shared_ptr<impl> impl_;
};

/// RFC 3261 §18.2.1 / RFC 3581 §4 for a request's top Via received from `source`: sets
/// `received` and `rport` as incoming_message documents. Exposed for tests and proxies.
void compute_via_fixups(const parser::via_view& top_via, const endpoint& source,
                        std::string& received, std::optional<std::uint16_t>& rport);

/// The top via-parm rewritten with received/rport (other parameters kept in order, an
/// existing received replaced, an empty rport filled).
std::string fixed_via_parm(const parser::via_view& via, std::string_view received,
                           std::optional<std::uint16_t> rport);

/// Replace the first Via header line of `m` by `value`, keeping its position.
void replace_top_via(parser::message& m, std::string_view value);

/// When `bytes` is a request that was refused (`why`, e.g. a parse_error::message()) but
/// whose start line and top Via can be read, the 400 response to send (RFC 3261 §8.2,
/// §18): Via (top one fixed up for `source`), From, To (with a tag), Call-ID and CSeq
/// copied when readable, the reason phrase naming the error. nullopt when no response
/// may be sent (not a request, an ACK, no readable Via).
std::optional<std::string> make_bad_request_response(std::string_view bytes, std::string_view why,
                                                     const endpoint& source);

}  // namespace sipkit::transport
