// redis_client — a small asynchronous Redis client for the examples: hiredis's protocol code
// (redisAsyncContext) driven by a Boost.Asio io_context, so that a registrar that keeps its
// bindings in Redis never blocks its SIP thread on the network.
//
//   boost::asio::io_context io;
//   registrar::redis::client redis(io, {.host = "127.0.0.1", .port = 6379});
//   redis.start();                                       // connects in the background
//   redis.command({"SET", "k", "v"}, [](std::error_code ec, registrar::redis::reply r) { ... });
//
// Nothing here blocks: the host name is resolved with asio's resolver, the TCP connect is
// non-blocking (hiredis's redisAsyncConnect with a numeric address), and hiredis is told when
// the socket is readable or writable through its event hooks (addRead/delRead/addWrite/
// delWrite/cleanup), which this client maps onto stream_descriptor::async_wait. hiredis owns
// the socket: the descriptor is released, never closed, by the asio side.
//
// Connection: after a failed connect, a connect that takes longer than `connect_timeout`, or
// a lost connection, the client reconnects after a backoff that starts at `backoff_initial`
// and doubles up to `backoff_max`; a successful connect resets it.
// Commands while disconnected fail at once with errc::not_connected (posted to the executor,
// never run inside command()): a registrar answers 503 at once rather than holding SIP
// transactions on a queue that a long Redis outage would fill. Commands in flight when the
// connection drops fail with errc::connection_lost: they may or may not have been applied.
// At most `max_in_flight` commands wait for replies; beyond that command() fails with
// errc::too_many_in_flight (counted in rejected(), logged once per burst).
// A server that does not reply within `command_timeout` to the oldest command in flight is
// taken as stalled: Redis answers in order and a command cannot be withdrawn, so the client
// drops the connection, fails every command in flight with errc::timed_out (they may or may
// not have been applied; counted in timed_out(), logged) and reconnects with the backoff.
// Until then a slow server only delays replies (the io_context keeps running).
//
// Thread safety: none; use the client on its io_context's thread only. Handlers run on that
// thread: a reply's handler from the read that completed it (inside hiredis's callback, so
// it must not throw); immediate failures posted.
// Lifetime: destroying the client (or stop()) fails every pending command with
// errc::shut_down, synchronously, during the destructor; handlers must not use the client then.
#pragma once

#include <boost/asio/any_io_executor.hpp>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <system_error>
#include <vector>

#include "sipkit/log.hpp"

namespace registrar::redis {

enum class errc {
  not_connected = 1,   ///< no connection to Redis right now (reconnecting)
  too_many_in_flight,  ///< max_in_flight commands already wait for replies
  connection_lost,     ///< the connection dropped before the reply arrived
  server_error,        ///< Redis answered with an error reply (its text in reply::str)
  shut_down,           ///< the client was stopped or destroyed
  timed_out,           ///< no reply within command_timeout: the connection was dropped
};
const std::error_category& category() noexcept;
std::error_code make_error_code(errc e) noexcept;

/// One reply, copied out of hiredis's reply tree (which hiredis frees after the callback).
struct reply {
  enum class kind { nil, status, error, integer, string, array };
  kind type = kind::nil;
  std::string str;              ///< status, error and string replies
  long long integer = 0;        ///< integer replies
  std::vector<reply> elements;  ///< array replies
};

struct client_config {
  std::string host = "127.0.0.1";  ///< name or address; resolved asynchronously
  std::uint16_t port = 6379;
  std::size_t max_in_flight = 10000;
  std::chrono::milliseconds connect_timeout{1000};
  /// The longest the oldest command in flight waits for its reply before the connection is
  /// dropped (errc::timed_out). Above what a healthy Redis ever takes, below what a SIP
  /// client waits for a REGISTER's answer (Timer F, 32 s).
  std::chrono::milliseconds command_timeout{5000};
  std::chrono::milliseconds backoff_initial{100};
  std::chrono::milliseconds backoff_max{5000};
  sipkit::logger log{};  ///< component "redis"
};

namespace detail {
class client_impl;
}

class client {
 public:
  using handler = std::function<void(std::error_code, reply)>;

  client(boost::asio::any_io_executor executor, client_config config);
  template <class ExecutionContext>
  requires requires(ExecutionContext& c) { c.get_executor(); }
  client(ExecutionContext& context, client_config config)
      : client(boost::asio::any_io_executor(context.get_executor()), std::move(config)) {}
  ~client();
  client(const client&) = delete;
  client& operator=(const client&) = delete;

  /// Starts connecting (and reconnecting) in the background.
  void start();
  /// Disconnects for good: pending commands fail with errc::shut_down.
  void stop();

  /// Sends one command (each argument binary-safe) and calls `h` once with its reply.
  void command(std::vector<std::string> args, handler h);

  /// Called on the executor each time the connection comes up (true) or goes down (false).
  void on_connection(std::function<void(bool up)> hook);

  bool connected() const noexcept;
  std::size_t in_flight() const noexcept;
  std::uint64_t rejected() const noexcept;  ///< commands refused for max_in_flight
  std::uint64_t connects() const noexcept;  ///< successful connects so far
  std::uint64_t timed_out() const noexcept; ///< commands failed with errc::timed_out

 private:
  std::shared_ptr<detail::client_impl> impl_;
};

}  // namespace registrar::redis

template <>
struct std::is_error_code_enum<registrar::redis::errc> : std::true_type {};
