// Configuration of a transport manager: what to listen on, TLS files, limits, logging.
//
// A plain value with documented defaults, copied into the manager at construction.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "sipkit/parser/limits.hpp"
#include "sipkit/transport/endpoint.hpp"
#include "sipkit/log.hpp"

namespace sipkit::transport {

/// One local socket to open. Several may be given per transport, IPv4 and IPv6 mixed.
struct listen_point {
  protocol transport = protocol::udp;
  /// IP literal to bind ("0.0.0.0", "::", "127.0.0.1", "::1"). An IPv6 socket is made
  /// v6-only, so "0.0.0.0" and "::" can be listed together.
  std::string address = "0.0.0.0";
  /// 0 picks a free port; manager::listeners() reports the one bound.
  std::uint16_t port = 5060;
};

/// TLS (RFC 3261 §26.2, RFC 5922) over OpenSSL. Files are PEM. They are read when TLS is
/// first used: at manager::start() when a TLS/WSS listener is configured (a file that does
/// not load fails start()), else at the first TLS/WSS connection opened (a file that does
/// not load fails that send, and every later one, with the reason logged once). An agent
/// that never uses TLS never reads them, nor the system trust store.
struct tls_options {
  /// This side's certificate (chain, leaf first) and key. Required for TLS listeners;
  /// also presented as client certificate when a server asks for one (mutual TLS).
  std::string certificate_chain_file;
  std::string private_key_file;
  /// Trust anchors for checking the peer, file and/or hashed directory. When both are
  /// empty the system default paths are used.
  std::string ca_file;
  std::string ca_path;
  /// Client side: check the server's chain and that it names target::server_name (or the
  /// address when that is empty). On by default; turning it off is for tests only.
  bool verify_server = true;
  /// Server side: ask for a client certificate and refuse the handshake without a valid
  /// one (mutual TLS).
  bool require_client_certificate = false;
};

/// SIP over WebSocket (RFC 7118): ws and wss listeners and connections. A wss connection
/// uses tls_options exactly as TLS does (certificate, trust anchors, verification, SNI).
/// Both sides speak the `sip` subprotocol only: an upgrade request without it is answered
/// 400 (one that is no WebSocket upgrade at all, 426) and counted in
/// statistics::websocket_handshakes_refused. One SIP message travels in one WebSocket
/// message (RFC 7118 §5: no Content-Length framing); fragmented messages are reassembled,
/// and one larger than limits.max_message_size closes the connection with close code 1009
/// (counted in statistics::websocket_messages_too_big).
struct websocket_options {
  /// The request-target of outgoing handshakes ("GET /sip HTTP/1.1"). Incoming handshakes
  /// are accepted on any target.
  std::string resource = "/";
  /// The largest HTTP upgrade request accepted (request line and headers); a larger one is
  /// refused with 400.
  std::size_t max_handshake_bytes = 8 * 1024;
};

struct transport_config {
  std::vector<listen_point> listen;

  /// Bounds on every parsed message. max_message_size also bounds a stream connection's
  /// buffered bytes and is the largest datagram accepted.
  parser::parser_limits limits;

  /// Field tolerances of the parser (README "Tolerances"): all on by default; turn one off
  /// to refuse what it tolerates (the message is then answered 400 like any syntax error).
  parser::parser_options parser;

  /// RFC 3261 §18.1.1: a UDP request larger than this goes over TCP instead (the top Via
  /// transport is rewritten). 0 disables the switch. Responses never switch.
  std::size_t udp_to_tcp_threshold = 1300;

  /// Open TCP + TLS + WS + WSS connections, accepted and initiated together. When an accept finds the
  /// table full, the oldest accepted connection that has never carried a SIP message (not
  /// a flow, see idle_timeout) is closed to make room (counted in connections_evicted):
  /// connections from many hosts that only connect, or only ping, cannot keep a new peer
  /// out while connections in use are never touched. When every connection carries SIP
  /// the accept is reset at once (counted in connections_refused, logged rate-limited); a
  /// new outgoing connection fails with error::connection_limit (counted in sends_refused).
  ///
  /// Each connection is a file descriptor, and the usual RLIMIT_NOFILE soft limit (1024)
  /// is no larger than this default: without a cap, connections would exhaust the
  /// descriptors and the listener could accept nothing (EMFILE). So start() sizes the limit
  /// against the process's descriptor limit, once, and logs the value it chose:
  ///  - when the soft limit is below max_connections + 64 and raise_fd_limit is set, it is
  ///    raised toward that (never above the hard limit);
  ///  - the limit in force is then min(max_connections, soft limit - reserve), where the
  ///    reserve of 64 descriptors (half the soft limit when that is 128 or less) is left
  ///    for UDP sockets, listeners, DNS and the application's files.
  /// config().max_connections reports the value in force after start(). The descriptor
  /// limit is per process: with several managers (or other heavy descriptor users) in one
  /// process, give each an explicit share. Should accepts still fail (EMFILE, ENFILE,
  /// ENOBUFS ...), the listener pauses and retries with a backoff (manager.hpp).
  std::size_t max_connections = 1024;
  /// Accepted TCP + TLS + WS + WSS connections from one source: one IPv4 address, or one IPv6 /64
  /// prefix (a host usually owns a whole /64). An accept beyond it is closed at once
  /// (reset), counted in connections_refused and connections_refused_per_source and
  /// logged (rate-limited). It keeps one host from taking every connection slot (a
  /// connection flood from a single address); outgoing connections do not count.
  /// 0 = no per-source limit. The default, 128 (an eighth of the default
  /// max_connections), leaves room for a site of many UAs behind one NAT or in one IPv6
  /// LAN, each holding one or two flows (RFC 5626 allows two per registration); raise it
  /// for a larger site behind one address, e.g. a PBX trunking many users over TCP.
  std::size_t max_connections_per_source = 128;
  /// Let start() raise the process's RLIMIT_NOFILE soft limit toward max_connections + 64
  /// (up to the hard limit). It changes the whole process (a program that still uses
  /// select() must keep its descriptors below FD_SETSIZE); false leaves the limit alone and
  /// only lowers max_connections to fit it.
  bool raise_fd_limit = true;
  /// A connection is closed after this long without a sign of use. What counts as use
  /// depends on whether the connection is a flow: one this side opened, or one that has
  /// carried at least one complete SIP message (received and delivered, or sent by the
  /// application) — not a malformed message, and not a 400 the transport itself answered.
  ///  - On a flow, any traffic in either direction restarts the timer, RFC 5626 §4.4.1
  ///    CRLF keep-alives (pings and pongs) included, so an outbound (RFC 5626) client that
  ///    pings every few minutes keeps its registration flow open between REGISTERs.
  ///  - On a connection that is not (yet) a flow, only a complete SIP message restarts it:
  ///    a peer that connects and only ever sends CRLF pings (or nothing, or a partial
  ///    message) is closed idle_timeout after it connected, however often it pings.
  /// Pings are answered with a pong either way. A peer that sent one valid message can keep
  /// its flow open with pings, as any RFC 5626 client does; max_connections_per_source
  /// bounds how many such connections one host holds. 0 = never.
  std::chrono::milliseconds idle_timeout{std::chrono::minutes(5)};
  /// TCP/TLS: a partial message (bytes of an incomplete message sitting in the framer) older than
  /// this closes the connection: it stops slow-loris senders holding buffers. The clock
  /// starts at the message's first byte; nothing but the message's completion stops it
  /// (CRLF keep-alives between messages are not partial messages, and bytes that arrive
  /// inside a partial message, CRLFs included, are part of it). 0 = never.
  /// WS/WSS have no such timer: Beast reassembles a fragmented message below us, and only a
  /// complete message (or a pong to our ping) counts as traffic, so idle_timeout bounds a
  /// message that never completes.
  std::chrono::milliseconds message_timeout{std::chrono::seconds(30)};
  /// TCP connect plus TLS handshake plus WebSocket handshake (HTTP upgrade), both
  /// directions: a peer that connects and never completes its upgrade is closed after it.
  std::chrono::milliseconds connect_timeout{std::chrono::seconds(10)};
  /// RFC 5626 §4.4.1: on connections this side opened, send a CRLFCRLF ping this often
  /// (0 = never) and close the connection when no pong (any byte) follows within
  /// keepalive_timeout. Pings received are always answered with a CRLF pong. Over WS/WSS
  /// the ping is a WebSocket ping frame and the pong a WebSocket pong (RFC 6455 §5.5.2);
  /// a WebSocket message of CRLFCRLF (SIP.js's keep-alive) is answered with a CRLF message.
  std::chrono::milliseconds keepalive_interval{0};
  std::chrono::milliseconds keepalive_timeout{std::chrono::seconds(10)};
  /// Bytes waiting to be written on one connection; a send beyond it fails with
  /// error::write_queue_full (counted in sends_refused, logged rate-limited), so a peer that
  /// stops reading cannot make the queue grow without bound.
  std::size_t max_write_queue_bytes = 1024 * 1024;

  /// Datagrams read per wake-up (recvmmsg batch on Linux); each slot holds
  /// limits.max_message_size + 1 bytes. What the handlers of one such batch send over UDP
  /// leaves together after it (sendmmsg on Linux; manager.hpp "UDP send batching").
  std::size_t udp_batch = 16;
  /// SO_RCVBUF for UDP sockets (0 = system default). Raise it for bursts.
  std::size_t udp_receive_buffer = 4 * 1024 * 1024;
  /// SO_REUSEPORT on listening sockets, so that one stack instance per core can share a
  /// port (DESIGN.md "Scaling out").
  bool reuse_port = false;

  tls_options tls;
  websocket_options websocket;
  /// Drops, refusals and closes are logged with their reason (component "transport");
  /// at debug level every message is traced as "SENT to" / "RECEIVED from".
  logger log;
  /// Rate limit of the warnings remote peers can trigger (dropped or malformed input, 400s
  /// answered, refused connections and sends, accept errors, connection closes): per kind
  /// of event, `burst` lines per `interval` pass, then one line per interval says how many
  /// more were suppressed (log_throttle in sipkit/log.hpp). It keeps a flood of garbage from
  /// turning into a flood of log lines; the statistics still count every event. Debug
  /// traces are not limited. burst = 0 turns the limit off.
  log_throttle::options log_rate{};
};

}  // namespace sipkit::transport
