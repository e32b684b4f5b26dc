// Private: the manager's shared state and its socket classes.
//
// Ownership: the manager holds a shared_ptr<impl>; every socket object (udp_socket,
// stream_acceptor, stream_connection) holds a shared_ptr back to the impl and is itself
// held by the impl's tables and by its pending Asio handlers. stop() closes every socket
// and clears the tables, which breaks the cycle: the last handler to complete frees its
// object, and the impl after it.
#pragma once

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ip/udp.hpp>
#include <boost/asio/ssl/context.hpp>
#include <boost/asio/ssl/stream.hpp>
#include <boost/asio/steady_timer.hpp>
#include <chrono>
#include <deque>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <unordered_map>
#include <vector>

#include "sipkit/parser/stream_framer.hpp"
#include "sipkit/transport/manager.hpp"

namespace sipkit::transport {

namespace asio = boost::asio;
using tcp = asio::ip::tcp;
using udp = asio::ip::udp;
using steady = std::chrono::steady_clock;

namespace detail {

inline std::error_code to_std(const boost::system::error_code& ec) { return ec; }

inline endpoint from_asio(const udp::endpoint& e) { return {e.address(), e.port()}; }
inline endpoint from_asio(const tcp::endpoint& e) { return {e.address(), e.port()}; }
inline udp::endpoint to_udp(const endpoint& e) { return {e.address, e.port}; }
inline tcp::endpoint to_tcp(const endpoint& e) { return {e.address, e.port}; }

/// One bound UDP socket. Reads in batches (recvmmsg on Linux) on readiness; what the
/// handlers of one receive batch send leaves in one batch too (sendmmsg on Linux), after
/// the batch was handled.
class udp_socket : public std::enable_shared_from_this<udp_socket> {
 public:
  udp_socket(std::shared_ptr<manager::impl> owner, udp::socket sock, connection_id id);
  ~udp_socket();
  void start();
  /// Sends what is queued, then closes.
  void close();
  /// Non-blocking send; a full socket buffer is a drop (UDP is lossy; transactions
  /// retransmit), not a wait.
  std::error_code send(std::string_view bytes, const udp::endpoint& to);
  /// Copies `bytes` to the send queue; flush() sends it. `done` gets the outcome then.
  void queue(std::string_view bytes, const endpoint& to, manager::send_handler done,
             std::uint64_t cookie);
  /// Sends the queue in order: one sendmmsg per 1,024 datagrams on Linux. A datagram the
  /// kernel refuses is counted (statistics::send_errors), logged and reported to its
  /// handler; the ones after it still go.
  void flush();
  bool has_queued() const noexcept { return !out_.empty(); }

  connection_id id;
  endpoint local;
  bool v6;

 private:
  void wait();
  void drain();

  std::shared_ptr<manager::impl> owner_;
  udp::socket sock_;
  std::size_t slot_size_;
  std::vector<char> buffer_;
  /// recvmmsg's message headers, made once (udp.cpp): a wake-up allocates nothing.
  struct receive_batch;
  std::unique_ptr<receive_batch> batch_;
  /// The send queue: datagrams back to back in out_bytes_; kept between batches, so a
  /// busy socket queues without allocating.
  struct queued {
    std::size_t offset;
    std::size_t size;
    endpoint to;
    manager::send_handler done;
    std::uint64_t cookie;  ///< manager::on_datagram_error() when no `done`
  };
  std::vector<queued> out_;
  std::string out_bytes_;
  struct send_batch;
  std::unique_ptr<send_batch> send_batch_;
  bool closed_ = false;
};

class stream_connection;

/// A listening TCP, TLS, WS or WSS socket.
class stream_acceptor : public std::enable_shared_from_this<stream_acceptor> {
 public:
  stream_acceptor(std::shared_ptr<manager::impl> owner, protocol p, tcp::acceptor acc);
  void start();
  void close();

  protocol transport;
  endpoint local;
  connection_id id;

 private:
  void accept();
  void on_accepted(tcp::socket sock);
  /// An accept failed: pause, then accept again (manager.hpp "Hostile traffic").
  void back_off(const boost::system::error_code& ec);

  std::shared_ptr<manager::impl> owner_;
  tcp::acceptor acceptor_;
  asio::steady_timer retry_timer_;
  std::chrono::milliseconds backoff_{0};  ///< 0 = accepting normally
  std::uint64_t failures_ = 0;            ///< in the current run of failures
  bool closed_ = false;
};

/// The Beast WebSocket stream of a WS/WSS connection (ws.cpp), kept out of this header so
/// that only ws.cpp compiles Beast.
struct ws_layer;
/// Deletes a ws_layer where its type is complete (ws.cpp).
struct ws_layer_deleter {
  void operator()(ws_layer* p) const noexcept;
};

/// One TCP, TLS, WS or WSS connection, either direction. TCP and TLS share one code path;
/// WS/WSS (ws.cpp) add the HTTP upgrade after connect / TLS handshake and read and write
/// whole WebSocket messages instead of framing a byte stream. Limits, timers, the write
/// queue and closing are common.
class stream_connection : public std::enable_shared_from_this<stream_connection> {
 public:
  using tls_stream = asio::ssl::stream<tcp::socket>;

  stream_connection(std::shared_ptr<manager::impl> owner, protocol p, tcp::socket sock,
                    connection_id id, bool outgoing);
  ~stream_connection();

  /// Accepted socket: TLS handshake (server) if TLS, then read.
  void start_accepted();
  /// Outgoing: connect, TLS handshake (client, verifying `server_name`), then flush.
  void start_connect(const endpoint& remote, const std::string& server_name);
  /// Queue bytes; `done` reports the outcome. Errors known at once are returned.
  std::error_code send(std::string bytes, manager::send_handler done, bool is_message = true);
  /// Queue a keep-alive ping: CRLFCRLF on TCP/TLS, a ping frame on WS/WSS.
  std::error_code send_ping();
  void close(std::string_view reason, std::error_code ec = {});

  bool open() const noexcept { return state_ != state::closed; }
  /// The connection carries SIP: this side opened it, or a complete SIP message was
  /// delivered from it or sent on it by the application (config.hpp idle_timeout).
  bool is_flow() const noexcept { return flow_; }
  void mark_flow();
  protocol transport;
  connection_id id;
  bool outgoing;
  endpoint remote;
  endpoint local;

 private:
  enum class state { connecting, handshaking, established, closed };
  struct pending {
    std::string bytes;
    manager::send_handler done;
    bool is_message;
    bool ws_ping = false;  ///< a WebSocket ping frame, not bytes
  };

  tcp::socket& socket() { return ws_ ? ws_socket() : tls_ ? tls_->next_layer() : *plain_; }
  /// The TLS stream of a TLS or WSS connection; nullptr for TCP and WS.
  tls_stream* tls_layer();
  /// After connect (and, for TLS/WSS, the TLS handshake): the WebSocket handshake for
  /// WS/WSS, else established().
  void secured(const std::string& server_name);
  void established();
  void read();
  void on_read(std::size_t n);
  void write_next();
  void on_written(const boost::system::error_code& ec, std::size_t n);

  // ws.cpp
  void ws_init(tcp::socket sock);
  tcp::socket& ws_socket();
  tls_stream* ws_tls();
  void ws_accept();
  void ws_refuse(unsigned status, std::string why, std::error_code ec);
  void ws_handshake(const std::string& server_name);
  void ws_read();
  void ws_on_read(const boost::system::error_code& ec, std::size_t n);
  void ws_write();
  void arm_timer(steady::time_point when);
  void on_timer();
  steady::time_point next_deadline() const;
  void fail_pending(std::error_code ec);

  std::shared_ptr<manager::impl> owner_;
  std::optional<tcp::socket> plain_;
  std::unique_ptr<tls_stream> tls_;
  std::unique_ptr<ws_layer, ws_layer_deleter> ws_;
  state state_ = state::connecting;
  parser::stream_framer framer_;
  std::vector<char> read_buf_;
  std::deque<pending> queue_;
  std::size_t queued_bytes_ = 0;
  bool writing_ = false;
  asio::steady_timer timer_;
  steady::time_point timer_at_ = steady::time_point::max();
  steady::time_point started_, last_activity_;
  std::optional<steady::time_point> partial_since_;
  steady::time_point next_ping_ = steady::time_point::max();
  std::optional<steady::time_point> ping_sent_;
  bool flow_ = false;
};

/// Connections are limited per source: an IPv4 address, or an IPv6 /64 prefix.
asio::ip::address source_key(const asio::ip::address& a);

/// Log-throttle reasons: one per kind of event a peer can trigger (log_throttle keys).
namespace log_reason {
inline constexpr std::string_view drop_malformed = "drop malformed message";
inline constexpr std::string_view drop_oversize = "drop oversize datagram";
inline constexpr std::string_view drop_invalid = "drop invalid message";
inline constexpr std::string_view refuse_limit = "refuse connection (max_connections)";
inline constexpr std::string_view refuse_source = "refuse connection (max_connections_per_source)";
inline constexpr std::string_view accept_failed = "accept failed";
inline constexpr std::string_view send_refused = "send refused";
inline constexpr std::string_view send_failed = "send failed";
inline constexpr std::string_view closed_error = "connection closed (error)";
inline constexpr std::string_view closed = "connection closed";
inline constexpr std::string_view ws_refused = "refuse WebSocket handshake";
inline constexpr std::string_view ws_too_big = "WebSocket message too big";
}  // namespace log_reason

}  // namespace detail

struct manager::impl : std::enable_shared_from_this<manager::impl> {
  impl(asio::io_context& io, transport_config cfg);

  asio::io_context& io;
  transport_config cfg;
  message_handler handler;
  close_handler closed_handler;
  datagram_error_handler datagram_error;
  bool started = false;
  bool stopped = false;
  connection_id next_id = 1;
  std::array<statistics, protocol_count> stat{};

  /// manager::listeners_version(): raised when a socket is bound and at stop().
  std::uint64_t listeners_version = 0;
  std::vector<std::shared_ptr<detail::udp_socket>> udp;
  std::vector<std::shared_ptr<detail::stream_acceptor>> acceptors;
  std::unordered_map<connection_id, std::shared_ptr<detail::stream_connection>> conns;
  /// Connection reuse (RFC 3261 §18.1.1 / §18.2.2): one per (transport, remote).
  std::map<std::pair<protocol, endpoint>, connection_id> by_remote;
  /// RFC 7118 §5.2: the far ends of accepted WS/WSS connections that closed (a browser's
  /// ephemeral port), never to be dialled; the oldest forgotten first beyond max_gone_flows.
  std::set<std::pair<protocol, endpoint>> gone_flows;
  std::deque<std::pair<protocol, endpoint>> gone_flows_order;
  static constexpr std::size_t max_gone_flows = 4096;
  /// Built on first use (tls.cpp): at start() with a TLS/WSS listener, else by the first
  /// TLS/WSS connection opened. tls_client_error keeps a load failure for later attempts.
  std::unique_ptr<asio::ssl::context> tls_server, tls_client;
  std::error_code tls_client_error;
  std::size_t trust_store_loads = 0;

  /// True while the handlers of a UDP receive batch run: UDP sends are queued on their
  /// socket and leave together when the batch is done (flush_udp()).
  bool udp_batching = false;
  /// Sends what every UDP socket has queued.
  void flush_udp();

  /// Reused for every parse: a message_view is large, and parses never nest.
  std::unique_ptr<parser::message_view> view = std::make_unique<parser::message_view>();

  /// Accepted connections per source_key(), for max_connections_per_source.
  std::map<asio::ip::address, std::size_t> per_source;

  /// Rate limit of the warnings peers can trigger, and the timer that writes its
  /// summaries when a flood stops.
  log_throttle throttle;
  asio::steady_timer throttle_timer;
  bool throttle_timer_armed = false;

  statistics& st(protocol p) { return stat[static_cast<std::size_t>(p)]; }
  void log(log_level l, std::string_view text) const { cfg.log.log(l, "transport", text); }
  bool logging(log_level l) const { return cfg.log.enabled(l); }
  /// A line a peer can trigger: through the throttle. `make_text` runs only when the
  /// line is written, so a suppressed line costs no formatting.
  template <class MakeText>
  void log_limited(std::string_view why, log_level l, MakeText&& make_text) {
    if (throttle.allow(why, l, steady::now())) {
      log(l, make_text());
    } else {
      arm_throttle_timer();
    }
  }
  void arm_throttle_timer();
  /// Count (statistics::sends_refused) and log a send refused before any byte was
  /// written; returns `ec` for the caller to pass on.
  std::error_code refuse_send(std::error_code ec, protocol p, std::string_view to,
                              std::size_t size);
  /// At start(): max_connections against RLIMIT_NOFILE (config.hpp).
  void size_connection_limit();

  /// Both TLS contexts (a TLS/WSS listener starts); the client one alone (a connection).
  std::error_code make_tls_contexts();
  std::error_code make_tls_client();
  std::error_code load_trust(asio::ssl::context& ctx);
  std::error_code open_udp(const listen_point& lp);
  std::error_code open_acceptor(const listen_point& lp);

  /// A datagram or a framed stream message: parse, fix up, deliver; or drop / answer 400.
  /// `conn` is set for streams (to answer on it). True when delivered to the handler.
  bool on_input(std::string_view bytes, protocol p, const endpoint& source, const endpoint& local,
                connection_id id, detail::udp_socket* via_udp, detail::stream_connection* conn);
  void trace(std::string_view what, protocol p, const endpoint& peer, const endpoint& local,
             std::string_view bytes) const;

  /// Sends `bytes`: a datagram leaves before it returns, or is copied to its socket's
  /// queue during a receive batch (udp_batching); either way the string is left as it
  /// was. A stream send takes the string (moved from).
  std::error_code send_to(std::string& bytes, protocol p, const endpoint& remote,
                          const std::string& server_name, connection_id hint, send_handler done,
                          std::uint64_t cookie = 0);

  /// The buffer send_request and send_response serialize into: a datagram has left (or
  /// was copied to a queue) when send_to returns, so one buffer serves every UDP send without an allocation each. A
  /// send made while it is in use (from a log hook during a send) uses its own string.
  std::string send_buffer;
  bool send_buffer_busy = false;
  std::shared_ptr<detail::stream_connection> find_connection(protocol p, const endpoint& remote);
  void connection_closed(detail::stream_connection& c, std::error_code reason);
  /// An accepted connection from `source` ends: release its per-source slot.
  void release_source(const endpoint& source);
  /// The table is full: close the oldest accepted connection that has never carried a
  /// SIP message (not a flow), to make room for a new one. False when there is none.
  bool evict_stranger();
  void post_done(send_handler done, std::error_code ec, send_info info);
  /// A queued datagram with a cookie and no handler failed: tell datagram_error, later.
  void post_datagram_error(std::uint64_t cookie, std::error_code ec);
  detail::udp_socket* pick_udp(const endpoint& remote, connection_id hint);
};

}  // namespace sipkit::transport
