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

/// TLS (RFC 3261 §26.2, RFC 5922) over OpenSSL. Files are PEM.
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

struct transport_config {
  std::vector<listen_point> listen;

  /// Bounds on every parsed message. max_message_size also bounds a stream connection's
  /// buffered bytes and is the largest datagram accepted.
  parser::parser_limits limits;

  /// RFC 3261 §18.1.1: a UDP request larger than this goes over TCP instead (the top Via
  /// transport is rewritten). 0 disables the switch. Responses never switch.
  std::size_t udp_to_tcp_threshold = 1300;

  /// Open TCP + TLS connections, accepted and initiated together. An accept beyond the
  /// limit is closed at once (logged, counted as refused); a new outgoing connection
  /// fails with error::connection_limit.
  std::size_t max_connections = 1024;
  /// A connection with no traffic in either direction for this long is closed.
  std::chrono::milliseconds idle_timeout{std::chrono::minutes(5)};
  /// A partial message (bytes of an incomplete message sitting in the framer) older than
  /// this closes the connection: it stops slow-loris senders holding buffers.
  std::chrono::milliseconds message_timeout{std::chrono::seconds(30)};
  /// TCP connect plus TLS handshake, both directions.
  std::chrono::milliseconds connect_timeout{std::chrono::seconds(10)};
  /// RFC 5626 §4.4.1: on connections this side opened, send a CRLFCRLF ping this often
  /// (0 = never) and close the connection when no pong (any byte) follows within
  /// keepalive_timeout. Pings received are always answered with a CRLF pong.
  std::chrono::milliseconds keepalive_interval{0};
  std::chrono::milliseconds keepalive_timeout{std::chrono::seconds(10)};
  /// Bytes waiting to be written on one connection before send() fails.
  std::size_t max_write_queue_bytes = 1024 * 1024;

  /// Datagrams read per wake-up (recvmmsg batch on Linux); each slot holds
  /// limits.max_message_size + 1 bytes.
  std::size_t udp_batch = 16;
  /// SO_RCVBUF for UDP sockets (0 = system default). Raise it for bursts.
  std::size_t udp_receive_buffer = 4 * 1024 * 1024;
  /// SO_REUSEPORT on listening sockets, so that one stack instance per core can share a
  /// port (DESIGN.md "Scaling out").
  bool reuse_port = false;

  tls_options tls;
  /// Drops, refusals and closes are logged with their reason (component "transport");
  /// at debug level every message is traced as "SENT to" / "RECEIVED from".
  logger log;
};

}  // namespace sipkit::transport
