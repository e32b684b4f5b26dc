// Hostile traffic (issue 17): each attack at a bounded scale, and the defence asserted —
// a failing accept backs off, one source cannot take every connection slot, CRLF pings do
// not keep a useless connection open, logs do not grow with a flood, refused sends are
// counted and never wedge a socket.
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ip/udp.hpp>
#include <boost/asio/write.hpp>
#include <cmath>

#include "transport/support.hpp"

using namespace sipkit::transport;
using namespace sipkit::transport::test;
namespace parser = sipkit::parser;
using asio::ip::tcp;
using asio::ip::udp;

namespace {

/// A raw TCP peer bound to a chosen local address (Linux loopback accepts all of 127/8).
struct peer_tcp {
  tcp::socket sock;
  std::array<char, 4096> buf{};
  std::string got;
  bool closed = false;
  peer_tcp(asio::io_context& io, const endpoint& to, const std::string& from = "127.0.0.1")
      : sock(io) {
    sock.open(tcp::v4());
    sock.bind({asio::ip::make_address(from), 0});
    sock.connect({to.address, to.port});
    receive();
  }
  void receive() {
    sock.async_read_some(asio::buffer(buf),
                         [this](const boost::system::error_code& ec, std::size_t n) {
                           if (ec) {
                             closed = true;
                             return;
                           }
                           got.append(buf.data(), n);
                           receive();
                         });
  }
  void send(std::string_view bytes) {
    boost::system::error_code ec;
    asio::write(sock, asio::buffer(bytes.data(), bytes.size()), ec);
  }
};


/// Answers every request but ACK with a 200, as examples/uas does for OPTIONS.
void answer_200(manager& m) {
  m.on_message([&m](const incoming_message& in) {
    if (in.message().is_request())
      (void)m.send_response(parser::make_response(in.to_message(), 200, {}, "t"), in.connection);
  });
}

std::size_t count_lines(const log_capture& logs, std::string_view needle) {
  std::size_t n = 0;
  for (const auto& l : *logs.lines)
    if (l.find(needle) != std::string::npos) ++n;
  return n;
}

/// Restores RLIMIT_NOFILE when the test ends, also when it fails.
struct rlimit_guard {
  rlimit saved{};
  rlimit_guard() { REQUIRE(::getrlimit(RLIMIT_NOFILE, &saved) == 0); }
  ~rlimit_guard() { ::setrlimit(RLIMIT_NOFILE, &saved); }
  void set_soft(rlim_t soft) {
    rlimit r = saved;
    r.rlim_cur = soft;
    REQUIRE(::setrlimit(RLIMIT_NOFILE, &r) == 0);
  }
  void restore() { REQUIRE(::setrlimit(RLIMIT_NOFILE, &saved) == 0); }
};

/// The descriptor number the next open() would get: with the soft limit set to it, no
/// descriptor can be created.
rlim_t lowest_free_fd() {
  const int fd = ::socket(AF_INET, SOCK_DGRAM, 0);
  REQUIRE(fd >= 0);
  ::close(fd);
  return static_cast<rlim_t>(fd);
}

}  // namespace

TEST_CASE("TCP accept failing with EMFILE backs off instead of spinning, and the rest is served") {
  rlimit_guard limit;
  asio::io_context io;
  log_capture logs;
  auto cfg = config_for({{protocol::udp, "127.0.0.1", 0}, {protocol::tcp, "127.0.0.1", 0}}, logs);
  manager server(io, cfg);
  answer_200(server);
  REQUIRE(!server.start());
  const endpoint s_tcp = bound(server, protocol::tcp);
  const endpoint s_udp = bound(server, protocol::udp);

  // A connection made before the limit is hit, and a UDP peer.
  peer_tcp existing(io, s_tcp);
  raw_udp udp_peer(io);
  REQUIRE(run_until(io, [&] { return server.connection_count() == 1; }));

  // 20 more connections wait in the listen queue; then no descriptor can be created.
  constexpr std::size_t queued = 20;
  std::vector<std::unique_ptr<tcp::socket>> waiting;
  for (std::size_t i = 0; i < queued; ++i) {
    waiting.push_back(std::make_unique<tcp::socket>(io));
    waiting.back()->connect({s_tcp.address, s_tcp.port});
  }
  limit.set_soft(lowest_free_fd());

  // For a bounded time: accepts fail, the existing connection and UDP are answered.
  existing.send(options_request("TCP", "127.0.0.1:5060", "z9hG4bK-existing"));
  udp_peer.send(options_request("UDP", udp_peer.local().to_string(), "z9hG4bK-udp"), s_udp);
  const bool answered = run_until(io, [&] {
    return existing.got.find("SIP/2.0 200") != std::string::npos && udp_peer.got.size() == 1;
  });
  run_for(io, 1500ms);
  const auto errors = server.stats(protocol::tcp).accept_errors;
  const auto accept_lines = count_lines(logs, "accept on TCP");
  limit.restore();
  INFO("accept_errors " << errors << ", accept log lines " << accept_lines);
  CHECK(answered);
  CHECK(!existing.closed);
  // Backoff 10, 20, 40 ... ms up to 1 s: about 8 attempts in 1.5 s (a slow machine makes
  // fewer); a loop re-arming at once makes millions.
  CHECK(errors >= 1);
  CHECK(errors <= 12);
  // Logged when the failures start, then at most once a second.
  CHECK(accept_lines >= 1);
  CHECK(accept_lines <= 3);
  CHECK(logs.contains("Too many open files"));

  // Descriptors are back: the queued connections are accepted at the next retry.
  REQUIRE(run_until(
      io, [&] { return server.stats(protocol::tcp).connections_accepted == 1 + queued; }));
  CHECK(logs.contains("accepting on TCP " + s_tcp.to_string() + " again after"));
}

TEST_CASE(
    "TCP connections from one address beyond max_connections_per_source are refused, "
    "another address is still served") {
  asio::io_context io;
  log_capture logs;
  auto cfg = config_for({{protocol::tcp, "127.0.0.1", 0}}, logs);
  cfg.max_connections = 64;
  cfg.max_connections_per_source = 4;
  manager server(io, cfg);
  answer_200(server);
  REQUIRE(!server.start());
  const endpoint s = bound(server, protocol::tcp);

  // One host opens 40 connections: 4 are kept, 36 refused (reset at once).
  std::vector<std::unique_ptr<peer_tcp>> flood;
  for (int i = 0; i < 40; ++i) flood.push_back(std::make_unique<peer_tcp>(io, s, "127.0.0.1"));
  REQUIRE(run_until(
      io, [&] { return server.stats(protocol::tcp).connections_refused_per_source == 36; }));
  CHECK(server.connection_count() == 4);
  CHECK(server.stats(protocol::tcp).connections_refused == 36);
  CHECK(server.stats(protocol::tcp).connections_accepted == 4);
  // Refusals are logged, rate-limited (10 a second by default).
  const auto refusals = count_lines(logs, "per-source connection limit (4) reached");
  CHECK(refusals >= 1);
  CHECK(refusals <= 10);

  // Another source is served.
  peer_tcp other(io, s, "127.0.0.2");
  other.send(options_request("TCP", "127.0.0.2:5060", "z9hG4bK-other"));
  REQUIRE(run_until(io, [&] { return other.got.find("SIP/2.0 200 OK") != std::string::npos; }));
  CHECK(!other.closed);
  CHECK(server.connection_count() == 5);

  // A slot freed by the flooding host can be taken again by it.
  std::size_t kept = 0;
  for (auto& p : flood)
    if (!p->closed) ++kept;
  CHECK(kept == 4);
  for (auto& p : flood)
    if (!p->closed) {
      p->sock.close();
      break;
    }
  REQUIRE(run_until(io, [&] { return server.connection_count() == 4; }));
  peer_tcp again(io, s, "127.0.0.1");
  REQUIRE(run_until(io, [&] { return server.connection_count() == 5; }));
  run_for(io, 20ms);
  CHECK(!again.closed);
}

TEST_CASE(
    "TCP connections from many hosts filling max_connections make way for a new peer; "
    "connections that carry SIP are never evicted") {
  asio::io_context io;
  log_capture logs;
  auto cfg = config_for({{protocol::tcp, "127.0.0.1", 0}}, logs);
  cfg.max_connections = 8;
  cfg.max_connections_per_source = 2;
  manager server(io, cfg);
  answer_200(server);
  REQUIRE(!server.start());
  const endpoint s = bound(server, protocol::tcp);

  // Two peers in use: each sends an OPTIONS and gets its 200 (a flow).
  peer_tcp user1(io, s, "127.0.0.2"), user2(io, s, "127.0.0.3");
  user1.send(options_request("TCP", "127.0.0.2:5060", "z9hG4bK-user1"));
  user2.send(options_request("TCP", "127.0.0.3:5060", "z9hG4bK-user2"));
  REQUIRE(run_until(io, [&] {
    return user1.got.find("SIP/2.0 200 OK") != std::string::npos &&
           user2.got.find("SIP/2.0 200 OK") != std::string::npos;
  }));
  // Twenty silent hosts, two connections each, connect one after the other: the table
  // (8) stays full, and each new silent connection evicts the oldest silent one.
  std::vector<std::unique_ptr<peer_tcp>> flood;
  for (int host = 10; host < 30; ++host)
    for (int k = 0; k < 2; ++k) {
      flood.push_back(std::make_unique<peer_tcp>(io, s, "127.0.1." + std::to_string(host)));
      const std::uint64_t accepted = 3 + flood.size() - 1;
      REQUIRE(run_until(
          io, [&] { return server.stats(protocol::tcp).connections_accepted >= accepted; }));
    }
  CHECK(server.connection_count() == 8);
  CHECK(server.stats(protocol::tcp).connections_evicted == 40 - 6);
  CHECK(server.stats(protocol::tcp).connections_refused == 0);
  // A new peer gets in and is served; the peers in use were never touched.
  peer_tcp newcomer(io, s, "127.0.0.4");
  newcomer.send(options_request("TCP", "127.0.0.4:5060", "z9hG4bK-new"));
  REQUIRE(run_until(io, [&] { return newcomer.got.find("SIP/2.0 200 OK") != std::string::npos; }));
  user1.got.clear();
  user1.send(options_request("TCP", "127.0.0.2:5060", "z9hG4bK-user1b"));
  REQUIRE(run_until(io, [&] { return user1.got.find("SIP/2.0 200 OK") != std::string::npos; }));
  CHECK(!user1.closed);
  CHECK(!user2.closed);
  CHECK(server.stats(protocol::tcp).connections_evicted == 40 - 6 + 1);
}

TEST_CASE("TCP connection that only ever sends CRLF keep-alives is closed at idle_timeout") {
  asio::io_context io;
  log_capture logs;
  auto cfg = config_for({{protocol::tcp, "127.0.0.1", 0}}, logs);
  cfg.idle_timeout = 300ms;
  manager server(io, cfg);
  REQUIRE(!server.start());
  const auto t0 = std::chrono::steady_clock::now();
  peer_tcp pinger(io, bound(server, protocol::tcp));
  // A ping every 50 ms: before the change each one restarted the idle timer.
  const auto deadline = t0 + 5s;
  while (!pinger.closed && std::chrono::steady_clock::now() < deadline) {
    pinger.send("\r\n\r\n");
    run_for(io, 50ms);
  }
  REQUIRE(pinger.closed);
  CHECK(std::chrono::steady_clock::now() - t0 >= 300ms);
  CHECK(server.stats(protocol::tcp).keepalive_pings_received >= 1);
  CHECK(pinger.got.find("\r\n") == 0);  // pings are still answered while it lasts
  CHECK(logs.contains("closed: idle timeout"));
}

TEST_CASE("TCP keep-alives keep a connection that carried a SIP message, not one that did not") {
  asio::io_context io;
  log_capture logs;
  auto cfg = config_for({{protocol::tcp, "127.0.0.1", 0}}, logs);
  cfg.idle_timeout = 600ms;
  manager server(io, cfg);
  inbox at_server;
  at_server.attach(server);
  REQUIRE(!server.start());
  const endpoint s = bound(server, protocol::tcp);
  // Opened together; `flow` sends a request first (an RFC 5626 client registering), then
  // both ping every 50 ms.
  peer_tcp flow(io, s), idle(io, s);
  flow.send(options_request("TCP", "127.0.0.1:5060", "z9hG4bK-flow"));
  REQUIRE(run_until(io, [&] { return at_server.items.size() == 1; }));
  const auto deadline = std::chrono::steady_clock::now() + 5s;
  while (!idle.closed && std::chrono::steady_clock::now() < deadline) {
    flow.send("\r\n\r\n");
    idle.send("\r\n\r\n");
    run_for(io, 50ms);
  }
  REQUIRE(idle.closed);
  CHECK(!flow.closed);
  CHECK(server.connection_count() == 1);
  CHECK(server.is_open(at_server.items[0].meta.connection));
}

TEST_CASE("TCP keep-alives inside a partial message do not extend message_timeout") {
  asio::io_context io;
  log_capture logs;
  auto cfg = config_for({{protocol::tcp, "127.0.0.1", 0}}, logs);
  cfg.message_timeout = 300ms;
  manager server(io, cfg);
  REQUIRE(!server.start());
  const auto t0 = std::chrono::steady_clock::now();
  peer_tcp slow(io, bound(server, protocol::tcp));
  // A header block announcing a body that never completes, then a ping every 50 ms.
  std::string head = options_request("TCP", "127.0.0.1:5060", "z9hG4bK-slow");
  head.replace(head.find("Content-Length: 0"), 17, "Content-Length: 500");
  slow.send(head + "0123456789");
  const auto deadline = t0 + 5s;
  while (!slow.closed && std::chrono::steady_clock::now() < deadline) {
    slow.send("\r\n\r\n");
    run_for(io, 50ms);
  }
  REQUIRE(slow.closed);
  CHECK(std::chrono::steady_clock::now() - t0 >= 300ms);
  CHECK(logs.contains("incomplete message timed out"));
}

TEST_CASE("UDP garbage flood is counted exactly and logged a bounded number of times") {
  asio::io_context io;
  log_capture logs;
  manager server(io, config_for({{protocol::udp, "127.0.0.1", 0}}, logs));
  inbox at_server;
  at_server.attach(server);
  REQUIRE(!server.start());
  const endpoint s = bound(server, protocol::udp);
  raw_udp attacker(io);

  constexpr std::uint64_t total = 20000, chunk = 100;
  const auto t0 = std::chrono::steady_clock::now();
  std::uint64_t sent = 0;
  while (sent < total) {
    // In chunks the socket buffer holds, so that the kernel drops none of them.
    for (std::uint64_t i = 0; i < chunk; ++i)
      attacker.send("\x01\x02 garbage " + std::to_string(sent + i) + "\r\n\r\n", s);
    sent += chunk;
    REQUIRE(run_until(io, [&] { return server.stats(protocol::udp).drops == sent; }));
  }
  const double elapsed =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  CHECK(server.stats(protocol::udp).drops == total);
  CHECK(server.stats(protocol::udp).parse_errors == total);
  CHECK(at_server.items.empty());
  server.stop();  // writes the pending summary
  const auto lines = logs.lines->size();
  INFO(lines << " log lines for " << total << " garbage datagrams in " << elapsed << " s");
  // The default log_rate: 10 lines and one summary per second and reason.
  CHECK(lines <= 11 * (static_cast<std::size_t>(std::ceil(elapsed)) + 1) + 2);
  CHECK(lines <= 200);
  CHECK(count_lines(logs, "drop UDP message from 127.0.0.1") >= 1);
  CHECK(logs.contains("more 'drop malformed message' lines suppressed in the last"));
}

TEST_CASE(
    "UDP response larger than a datagram fails with message_too_large, counted and logged, "
    "and the socket keeps working") {
  asio::io_context io;
  log_capture logs;
  manager server(io, config_for({{protocol::udp, "127.0.0.1", 0}}, logs));
  inbox at_server;
  at_server.attach(server);
  REQUIRE(!server.start());
  raw_udp client(io);
  const endpoint s = bound(server, protocol::udp);
  client.send(options_request("UDP", client.local().to_string(), "z9hG4bK-big"), s);
  REQUIRE(run_until(io, [&] { return at_server.items.size() == 1; }));
  const auto& req = at_server.items[0];

  // A 200 with 65,600 bytes of body: more than 65,507, the largest IPv4 UDP payload.
  auto big = parser::make_response(req.msg, 200, {}, "t");
  big.set_body(std::string(65600, 'x'), "text/plain");
  bool called = false;
  const auto ec = server.send_response(big, req.meta.connection,
                                       [&](std::error_code, const send_info&) { called = true; });
  CHECK(ec == make_error_code(error::message_too_large));
  CHECK(server.stats(protocol::udp).sends_refused == 1);
  CHECK(server.stats(protocol::udp).messages_out == 0);
  CHECK(logs.contains("refuse to send"));
  CHECK(logs.contains("message too large for the transport"));

  // The largest datagram that fits still goes, and so does a small one after it.
  auto fits = parser::make_response(req.msg, 200, {}, "t");
  std::size_t body = 65000;
  for (int i = 0; i < 3; ++i) {  // Content-Length's digits settle after a step
    fits.set_body(std::string(body, 'y'), "text/plain");
    body += 65507 - fits.serialize().size();
  }
  fits.set_body(std::string(body, 'y'), "text/plain");
  const auto fits_size = fits.serialize().size();
  INFO("largest response " << fits_size << " bytes");
  REQUIRE(fits_size <= 65507);
  CHECK(!server.send_response(fits, req.meta.connection));
  CHECK(!server.send_response(parser::make_response(req.msg, 200, {}, "t"), req.meta.connection));
  REQUIRE(run_until(io, [&] { return client.got.size() == 2; }));
  CHECK(client.got[0].size() == fits_size);
  CHECK(client.got[1].rfind("SIP/2.0 200 OK\r\n", 0) == 0);
  CHECK(!called);  // a send refused at once never calls its handler

  // And the socket still receives.
  client.send(options_request("UDP", client.local().to_string(), "z9hG4bK-after"), s);
  REQUIRE(run_until(io, [&] { return at_server.items.size() == 2; }));
  CHECK(server.stats(protocol::udp).send_errors == 0);
}

TEST_CASE("every send the transport refuses is returned, counted and logged") {
  asio::io_context io;
  log_capture logs;
  auto cfg = config_for({{protocol::tcp, "127.0.0.1", 0}}, logs);
  cfg.max_connections = 1;
  manager m(io, cfg);
  REQUIRE(!m.start());
  const endpoint self = bound(m, protocol::tcp);
  // No UDP listener.
  CHECK(m.send_bytes("x", to(protocol::udp, self)) == make_error_code(error::no_listener));
  CHECK(m.stats(protocol::udp).sends_refused == 1);
  // A response whose Via names a host.
  auto rsp = owned(
      "SIP/2.0 200 OK\r\nVia: SIP/2.0/TCP host.invalid;branch=z9hG4bK-1\r\n"
      "From: <sip:a@b>;tag=1\r\nTo: <sip:a@b>\r\nCall-ID: c\r\nCSeq: 1 OPTIONS\r\n"
      "Content-Length: 0\r\n\r\n");
  CHECK(m.send_response(rsp) == make_error_code(error::unresolved_sent_by));
  CHECK(m.stats(protocol::tcp).sends_refused == 1);
  // The connection limit: one open, a second target refused.
  peer_tcp peer(io, self);
  REQUIRE(run_until(io, [&] { return m.connection_count() == 1; }));
  CHECK(m.send_bytes("x", to(protocol::tcp, {self.address, 9})) ==
        make_error_code(error::connection_limit));
  CHECK(m.stats(protocol::tcp).sends_refused == 2);
  CHECK(count_lines(logs, "refuse to send") == 3);
  CHECK(logs.contains("refuse to send 1 bytes over TCP to 127.0.0.1:9: connection limit reached"));
}

TEST_CASE("TCP write queue full refuses the send with write_queue_full, counted and logged") {
  asio::io_context io;
  log_capture logs;
  auto cfg = config_for({{protocol::tcp, "127.0.0.1", 0}}, logs);
  cfg.max_write_queue_bytes = 1000;
  manager server(io, cfg);
  inbox at_server;
  at_server.attach(server);
  REQUIRE(!server.start());
  peer_tcp peer(io, bound(server, protocol::tcp));
  peer.send(options_request("TCP", "127.0.0.1:5060", "z9hG4bK-q"));
  REQUIRE(run_until(io, [&] { return at_server.items.size() == 1; }));
  auto rsp = parser::make_response(at_server.items[0].msg, 200, {}, "t");
  rsp.set_body(std::string(2000, 'z'), "text/plain");
  CHECK(server.send_response(rsp, at_server.items[0].meta.connection) ==
        make_error_code(error::write_queue_full));
  CHECK(server.stats(protocol::tcp).sends_refused == 1);
  CHECK(logs.contains("write queue full"));
  // The connection is still usable.
  CHECK(!server.send_response(parser::make_response(at_server.items[0].msg, 200, {}, "t"),
                              at_server.items[0].meta.connection));
  REQUIRE(run_until(io, [&] { return peer.got.find("SIP/2.0 200 OK") != std::string::npos; }));
}

TEST_CASE("max_connections is lowered to fit RLIMIT_NOFILE, keeping a reserve") {
  rlimit_guard limit;
  limit.set_soft(512);
  asio::io_context io;
  log_capture logs;
  auto cfg = config_for({{protocol::tcp, "127.0.0.1", 0}}, logs);
  cfg.raise_fd_limit = false;
  manager m(io, cfg);
  REQUIRE(!m.start());
  CHECK(m.config().max_connections == 512 - 64);
  CHECK(logs.contains("max_connections lowered from 1024 to 448"));
  rlimit now{};
  REQUIRE(::getrlimit(RLIMIT_NOFILE, &now) == 0);
  CHECK(now.rlim_cur == 512);
}

TEST_CASE("start() raises the RLIMIT_NOFILE soft limit toward max_connections plus the reserve") {
  rlimit_guard limit;
  limit.set_soft(256);
  asio::io_context io;
  log_capture logs;
  manager m(io, config_for({{protocol::tcp, "127.0.0.1", 0}}, logs));
  REQUIRE(!m.start());
  rlimit now{};
  REQUIRE(::getrlimit(RLIMIT_NOFILE, &now) == 0);
  const rlim_t expected =
      limit.saved.rlim_max == RLIM_INFINITY ? 1088 : std::min<rlim_t>(1088, limit.saved.rlim_max);
  CHECK(now.rlim_cur == expected);
  const std::size_t fits = expected <= 128 ? expected / 2 : expected - 64;
  CHECK(m.config().max_connections == std::min<std::size_t>(1024, fits));
}
