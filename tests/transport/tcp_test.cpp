// TCP: round trips on IPv4 and IPv6 loopback, connection reuse, responses on the same
// connection, keep-alives (RFC 5626 §4.4.1), timeouts, limits and malformed streams.
#include <boost/asio/connect.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/write.hpp>

#include "transport/support.hpp"

using namespace sipkit::transport;
using namespace sipkit::transport::test;
namespace parser = sipkit::parser;
using asio::ip::tcp;

namespace {

void tcp_round_trip(const std::string& addr, bool v6) {
  asio::io_context io;
  log_capture logs;
  manager server(io, config_for({{protocol::tcp, addr, 0}}, logs));
  manager client(io, config_for({{protocol::tcp, addr, 0}}, logs));
  inbox at_server, at_client;
  at_server.attach(server);
  at_client.attach(client);
  REQUIRE(!server.start());
  REQUIRE(!client.start());
  const endpoint s = bound(server, protocol::tcp, v6);
  const endpoint c = bound(client, protocol::tcp, v6);

  auto req = owned(options_request("TCP", c.to_string(), "z9hG4bK-1", ""));
  connection_id used = 0;
  REQUIRE(!client.send_request(req, to(protocol::tcp, s), [&](std::error_code ec, const send_info& i) {
    CHECK(!ec);
    used = i.connection;
  }));
  REQUIRE(run_until(io, [&] { return at_server.items.size() == 1 && used != 0; }));
  const auto& got = at_server.items[0];
  CHECK(got.meta.transport == protocol::tcp);
  CHECK(got.meta.local == s);
  CHECK(got.meta.source.address == c.address);
  CHECK(got.meta.source.port != c.port);  // ephemeral port of the connection
  CHECK(got.meta.received.empty());       // sent-by address equals the source address
  CHECK(server.is_open(got.meta.connection));

  // §18.2.2: the response goes back on the connection the request came in on.
  REQUIRE(!server.send_response(parser::make_response(got.msg, 200), got.meta.connection));
  REQUIRE(run_until(io, [&] { return at_client.items.size() == 1; }));
  CHECK(at_client.items[0].msg.status_code() == 200);
  CHECK(at_client.items[0].meta.connection == used);
  CHECK(client.connection_count() == 1);
  CHECK(server.connection_count() == 1);
  CHECK(server.stats(protocol::tcp).connections_accepted == 1);
  CHECK(client.stats(protocol::tcp).connections_opened == 1);
}

/// A raw TCP peer driven by the test.
struct raw_tcp {
  tcp::socket sock;
  std::array<char, 70000> buf{};
  std::string got;
  bool closed = false;
  raw_tcp(asio::io_context& io, const endpoint& to) : sock(io) {
    sock.connect({to.address, to.port});
    receive();
  }
  void receive() {
    sock.async_read_some(asio::buffer(buf), [this](const boost::system::error_code& ec, std::size_t n) {
      if (ec) {
        closed = true;
        return;
      }
      got.append(buf.data(), n);
      receive();
    });
  }
  void send(std::string_view bytes) { asio::write(sock, asio::buffer(bytes.data(), bytes.size())); }
};

}  // namespace

TEST_CASE("TCP request and response round trip on 127.0.0.1") { tcp_round_trip("127.0.0.1", false); }

TEST_CASE("TCP request and response round trip on ::1") {
  require_ipv6_loopback();
  tcp_round_trip("::1", true);
}

TEST_CASE("TCP connection to the same remote is reused") {
  asio::io_context io;
  log_capture logs;
  manager server(io, config_for({{protocol::tcp, "127.0.0.1", 0}}, logs));
  manager client(io, config_for({}, logs));
  inbox at_server;
  at_server.attach(server);
  REQUIRE(!server.start());
  REQUIRE(!client.start());
  const endpoint s = bound(server, protocol::tcp);
  // Queued while the connection is still being set up, then once it is established.
  REQUIRE(!client.send_request(owned(options_request("TCP", "127.0.0.1:5060", "z9hG4bK-a")), to(protocol::tcp, s)));
  REQUIRE(!client.send_request(owned(options_request("TCP", "127.0.0.1:5060", "z9hG4bK-b")), to(protocol::tcp, s)));
  REQUIRE(run_until(io, [&] { return at_server.items.size() == 2; }));
  REQUIRE(!client.send_request(owned(options_request("TCP", "127.0.0.1:5060", "z9hG4bK-c")), to(protocol::tcp, s)));
  REQUIRE(run_until(io, [&] { return at_server.items.size() == 3; }));
  CHECK(at_server.items[0].meta.connection == at_server.items[1].meta.connection);
  CHECK(at_server.items[1].meta.connection == at_server.items[2].meta.connection);
  CHECK(at_server.items[0].msg.top_via()->branch == "z9hG4bK-a");
  CHECK(at_server.items[2].msg.top_via()->branch == "z9hG4bK-c");
  CHECK(client.connection_count() == 1);
  CHECK(client.stats(protocol::tcp).connections_opened == 1);
  CHECK(server.stats(protocol::tcp).connections_accepted == 1);
}

TEST_CASE("TCP response opens a new connection to received:sent-by when the old one is closed") {
  asio::io_context io;
  log_capture logs;
  manager server(io, config_for({{protocol::tcp, "127.0.0.1", 0}}, logs));
  manager client(io, config_for({{protocol::tcp, "127.0.0.1", 0}}, logs));
  inbox at_server, at_client;
  at_server.attach(server);
  at_client.attach(client);
  REQUIRE(!server.start());
  REQUIRE(!client.start());
  const endpoint c = bound(client, protocol::tcp);
  REQUIRE(!client.send_request(owned(options_request("TCP", "client.invalid:" + std::to_string(c.port))),
                               to(protocol::tcp, bound(server, protocol::tcp))));
  REQUIRE(run_until(io, [&] { return at_server.items.size() == 1; }));
  const auto first = at_server.items[0].meta.connection;
  server.close_connection(first);
  REQUIRE(run_until(io, [&] { return client.connection_count() == 0; }));
  CHECK(at_server.items[0].msg.top_via()->received == "127.0.0.1");
  REQUIRE(!server.send_response(parser::make_response(at_server.items[0].msg, 200), first));
  REQUIRE(run_until(io, [&] { return at_client.items.size() == 1; }));
  CHECK(at_client.items[0].meta.local == c);  // arrived on the client's listener
  CHECK(server.stats(protocol::tcp).connections_opened == 1);
}

TEST_CASE("TCP CRLFCRLF ping is answered with a CRLF pong") {
  asio::io_context io;
  log_capture logs;
  manager server(io, config_for({{protocol::tcp, "127.0.0.1", 0}}, logs));
  REQUIRE(!server.start());
  raw_tcp peer(io, bound(server, protocol::tcp));
  peer.send("\r\n\r\n");
  REQUIRE(run_until(io, [&] { return peer.got == "\r\n"; }));
  peer.send("\r\n\r\n\r\n\r\n");
  REQUIRE(run_until(io, [&] { return peer.got == "\r\n\r\n\r\n"; }));
  CHECK(server.stats(protocol::tcp).keepalive_pings_received == 3);
  CHECK(server.stats(protocol::tcp).keepalive_pongs_sent == 3);
  CHECK(server.stats(protocol::tcp).drops == 0);
}

TEST_CASE("TCP client sends keep-alive pings and keeps the connection while pongs come") {
  asio::io_context io;
  log_capture logs;
  manager server(io, config_for({{protocol::tcp, "127.0.0.1", 0}}, logs));
  auto cfg = config_for({}, logs);
  cfg.keepalive_interval = 50ms;
  cfg.keepalive_timeout = 200ms;
  manager client(io, cfg);
  REQUIRE(!server.start());
  REQUIRE(!client.start());
  REQUIRE(!client.send_request(owned(options_request("TCP", "127.0.0.1:5060")), to(protocol::tcp, bound(server, protocol::tcp))));
  REQUIRE(run_until(io, [&] { return server.stats(protocol::tcp).keepalive_pings_received >= 3; }));
  CHECK(client.stats(protocol::tcp).keepalive_pings_sent >= 3);
  CHECK(client.connection_count() == 1);
  CHECK(server.stats(protocol::tcp).keepalive_pongs_sent >= 3);
}

TEST_CASE("TCP client closes the connection when no pong answers its ping") {
  asio::io_context io;
  log_capture logs;
  // A listener that accepts and never answers.
  tcp::acceptor mute(io, {asio::ip::make_address("127.0.0.1"), 0});
  tcp::socket accepted(io);
  mute.async_accept(accepted, [](const boost::system::error_code&) {});
  auto cfg = config_for({}, logs);
  cfg.keepalive_interval = 30ms;
  cfg.keepalive_timeout = 60ms;
  manager client(io, cfg);
  REQUIRE(!client.start());
  const endpoint m{mute.local_endpoint().address(), mute.local_endpoint().port()};
  REQUIRE(!client.send_bytes("\r\n", to(protocol::tcp, m)));
  REQUIRE(run_until(io, [&] { return client.stats(protocol::tcp).connections_closed == 1; }));
  CHECK(logs.contains("keep-alive pong not received"));
}

TEST_CASE("TCP connection closed by the peer is reported with its id to on_connection_closed") {
  asio::io_context io;
  log_capture logs;
  manager server(io, config_for({{protocol::tcp, "127.0.0.1", 0}}, logs));
  manager client(io, config_for({}, logs));
  inbox at_server;
  at_server.attach(server);
  std::vector<std::pair<connection_id, std::error_code>> closed;
  client.on_connection_closed([&](connection_id id, std::error_code why) {
    closed.emplace_back(id, why);
  });
  REQUIRE(!server.start());
  REQUIRE(!client.start());
  connection_id used = 0;
  REQUIRE(!client.send_request(owned(options_request("TCP", "127.0.0.1:5060", "z9hG4bK-c1")),
                               to(protocol::tcp, bound(server, protocol::tcp)),
                               [&](std::error_code, const send_info& i) { used = i.connection; }));
  REQUIRE(run_until(io, [&] { return at_server.items.size() == 1 && used != 0; }));
  CHECK(closed.empty());
  server.close_connection(at_server.items[0].meta.connection);
  REQUIRE(run_until(io, [&] { return !closed.empty(); }));
  REQUIRE(closed.size() == 1);
  CHECK(closed[0].first == used);
  CHECK(closed[0].second == error::connection_closed);
  // stop() closes what is left without reporting it.
  client.stop();
  io.poll();
  CHECK(closed.size() == 1);
}

TEST_CASE("TCP idle connection is closed after idle_timeout") {
  asio::io_context io;
  log_capture logs;
  auto scfg = config_for({{protocol::tcp, "127.0.0.1", 0}}, logs);
  scfg.idle_timeout = 100ms;
  manager server(io, scfg);
  REQUIRE(!server.start());
  raw_tcp peer(io, bound(server, protocol::tcp));
  REQUIRE(run_until(io, [&] { return server.connection_count() == 1; }));
  const auto t0 = std::chrono::steady_clock::now();
  REQUIRE(run_until(io, [&] { return peer.closed; }, 2000ms));
  CHECK(std::chrono::steady_clock::now() - t0 >= 90ms);
  CHECK(server.connection_count() == 0);
  CHECK(logs.contains("closed: idle timeout"));
}

TEST_CASE("TCP accepts beyond max_connections are refused and counted") {
  asio::io_context io;
  log_capture logs;
  auto scfg = config_for({{protocol::tcp, "127.0.0.1", 0}}, logs);
  scfg.max_connections = 2;
  manager server(io, scfg);
  server.on_message([](const incoming_message&) {});
  REQUIRE(!server.start());
  const endpoint s = bound(server, protocol::tcp);
  raw_tcp a(io, s), b(io, s);
  REQUIRE(run_until(io, [&] { return server.connection_count() == 2; }));
  // Both carry SIP (flows), so the full table has no connection to evict for a newcomer.
  a.send(options_request("TCP", "127.0.0.1:5060", "z9hG4bK-a"));
  b.send(options_request("TCP", "127.0.0.1:5060", "z9hG4bK-b"));
  REQUIRE(run_until(io, [&] { return server.stats(protocol::tcp).messages_in == 2; }));
  raw_tcp c(io, s);
  REQUIRE(run_until(io, [&] { return c.closed; }));
  CHECK(!a.closed);
  CHECK(!b.closed);
  CHECK(server.stats(protocol::tcp).connections_refused == 1);
  CHECK(logs.contains("connection limit (2) reached"));
  // Outgoing connections count against the same limit.
  CHECK(server.send_bytes("x", to(protocol::tcp, {s.address, 9})) ==
        make_error_code(error::connection_limit));
}

TEST_CASE("TCP partial message that stalls is timed out") {
  asio::io_context io;
  log_capture logs;
  auto scfg = config_for({{protocol::tcp, "127.0.0.1", 0}}, logs);
  scfg.message_timeout = 100ms;
  manager server(io, scfg);
  REQUIRE(!server.start());
  raw_tcp peer(io, bound(server, protocol::tcp));
  std::string req = options_request("TCP", "127.0.0.1:5060");
  peer.send(req.substr(0, 40));
  REQUIRE(run_until(io, [&] { return peer.closed; }, 2000ms));
  CHECK(logs.contains("incomplete message timed out (40 bytes buffered)"));
}

TEST_CASE("TCP oversized message closes the connection with a logged reason") {
  asio::io_context io;
  log_capture logs;
  auto scfg = config_for({{protocol::tcp, "127.0.0.1", 0}}, logs);
  scfg.limits.max_message_size = 4096;
  scfg.limits.max_body_size = 4000;
  manager server(io, scfg);
  inbox at_server;
  at_server.attach(server);
  REQUIRE(!server.start());
  raw_tcp peer(io, bound(server, protocol::tcp));
  peer.send(options_request("TCP", "127.0.0.1:5060", "z9hG4bK-1", ";rport", std::string(5000, 'x')));
  REQUIRE(run_until(io, [&] { return peer.closed; }));
  CHECK(at_server.items.empty());
  CHECK(server.stats(protocol::tcp).parse_errors == 1);
  CHECK(logs.contains("closed: framing error: body too large"));
}

TEST_CASE("TCP endless header block is bounded and closes the connection") {
  asio::io_context io;
  log_capture logs;
  auto scfg = config_for({{protocol::tcp, "127.0.0.1", 0}}, logs);
  scfg.limits.max_message_size = 4096;
  manager server(io, scfg);
  REQUIRE(!server.start());
  raw_tcp peer(io, bound(server, protocol::tcp));
  std::string junk(1000, 'a');
  for (int i = 0; i < 8 && !peer.closed; ++i) {
    boost::system::error_code ec;
    asio::write(peer.sock, asio::buffer(junk), ec);
    run_for(io, 5ms);
  }
  REQUIRE(run_until(io, [&] { return peer.closed; }));
  CHECK(logs.contains("framing error: message too large"));
}

TEST_CASE("TCP stream without Content-Length closes the connection") {
  asio::io_context io;
  log_capture logs;
  manager server(io, config_for({{protocol::tcp, "127.0.0.1", 0}}, logs));
  REQUIRE(!server.start());
  raw_tcp peer(io, bound(server, protocol::tcp));
  std::string req = options_request("TCP", "127.0.0.1:5060");
  req.erase(req.find("Content-Length"), std::string("Content-Length: 0\r\n").size());
  peer.send(req);
  REQUIRE(run_until(io, [&] { return peer.closed; }));
  CHECK(logs.contains("missing Content-Length"));
}

TEST_CASE("TCP framed request with a grammar error is answered 400 and the connection stays") {
  asio::io_context io;
  log_capture logs;
  manager server(io, config_for({{protocol::tcp, "127.0.0.1", 0}}, logs));
  inbox at_server;
  at_server.attach(server);
  REQUIRE(!server.start());
  raw_tcp peer(io, bound(server, protocol::tcp));
  std::string bad = options_request("TCP", "127.0.0.1:5060", "z9hG4bK-bad");
  bad.replace(bad.find("Max-Forwards: 70"), 16, "Max-Forwards: 7x");
  peer.send(bad);
  REQUIRE(run_until(io, [&] { return peer.got.find("\r\n\r\n") != std::string::npos; }));
  CHECK(peer.got.rfind("SIP/2.0 400 Bad Request (syntax error in Max-Forwards header", 0) == 0);
  peer.send(options_request("TCP", "127.0.0.1:5060", "z9hG4bK-good"));
  REQUIRE(run_until(io, [&] { return at_server.items.size() == 1; }));
  CHECK(!peer.closed);
  CHECK(server.stats(protocol::tcp).bad_requests_answered == 1);
}

TEST_CASE("TCP garbage that frames as a message but is no request is dropped") {
  asio::io_context io;
  log_capture logs;
  manager server(io, config_for({{protocol::tcp, "127.0.0.1", 0}}, logs));
  REQUIRE(!server.start());
  raw_tcp peer(io, bound(server, protocol::tcp));
  peer.send("HELLO\r\nContent-Length: 0\r\n\r\n");
  REQUIRE(run_until(io, [&] { return server.stats(protocol::tcp).drops == 1; }));
  run_for(io, 30ms);
  CHECK(peer.got.empty());
  CHECK(server.stats(protocol::tcp).parse_errors == 1);
}

TEST_CASE("TCP message split into single bytes is reassembled") {
  asio::io_context io;
  log_capture logs;
  manager server(io, config_for({{protocol::tcp, "127.0.0.1", 0}}, logs));
  inbox at_server;
  at_server.attach(server);
  REQUIRE(!server.start());
  raw_tcp peer(io, bound(server, protocol::tcp));
  peer.sock.set_option(tcp::no_delay(true));
  const std::string req = options_request("TCP", "127.0.0.1:5060", "z9hG4bK-1", ";rport", "body");
  for (char ch : req) {
    peer.send(std::string_view(&ch, 1));
    io.poll();
  }
  REQUIRE(run_until(io, [&] { return at_server.items.size() == 1; }));
  CHECK(at_server.items[0].msg.body() == "body");
}

TEST_CASE("TCP connect failure is reported to the send handler") {
  asio::io_context io;
  log_capture logs;
  manager client(io, config_for({}, logs));
  REQUIRE(!client.start());
  // Find a port nobody listens on.
  tcp::acceptor tmp(io, {asio::ip::make_address("127.0.0.1"), 0});
  const endpoint dead{tmp.local_endpoint().address(), tmp.local_endpoint().port()};
  tmp.close();
  std::error_code result;
  bool called = false;
  REQUIRE(!client.send_bytes("x", to(protocol::tcp, dead), [&](std::error_code ec, const send_info&) {
    result = ec;
    called = true;
  }));
  REQUIRE(run_until(io, [&] { return called; }));
  CHECK(result == std::errc::connection_refused);
  CHECK(client.connection_count() == 0);
}
