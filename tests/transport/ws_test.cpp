// SIP over WebSocket (RFC 7118): the handshake and its `sip` subprotocol, one SIP message per
// WebSocket message, limits, keep-alives, timeouts, WSS certificate checks, and the flow
// rule of §5.2. The peers are a second manager (both directions of our own code) or a raw
// Boost.Beast client, which can do what a browser or a broken peer does.
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core/buffers_to_string.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/websocket.hpp>

#include "transport/support.hpp"
#include "transport/test_certs.hpp"

using namespace sipkit::transport;
using namespace sipkit::transport::test;
namespace parser = sipkit::parser;
namespace beast = boost::beast;
namespace websocket = beast::websocket;
using asio::ip::tcp;

namespace {

/// A WebSocket client made with Beast directly: what a browser sends, or what it should not.
struct raw_ws {
  websocket::stream<tcp::socket> ws;
  beast::flat_buffer buf;
  websocket::response_type response;
  bool handshake_done = false;
  boost::system::error_code handshake_ec;
  std::vector<std::string> got;
  std::vector<bool> got_text;
  bool closed = false;
  boost::system::error_code read_ec;
  int pongs = 0;
  int writes_done = 0;
  boost::system::error_code write_ec;

  explicit raw_ws(asio::io_context& io) : ws(io) {
    ws.control_callback([this](websocket::frame_type kind, beast::string_view) {
      if (kind == websocket::frame_type::pong) ++pongs;
    });
  }
  /// TCP connect (the kernel completes it without the server's io_context) and the
  /// upgrade, offering `subprotocol` when it is not empty.
  void handshake(const endpoint& server, std::string subprotocol = "sip") {
    ws.next_layer().connect({server.address, server.port});
    ws.set_option(websocket::stream_base::decorator([subprotocol](websocket::request_type& req) {
      if (!subprotocol.empty()) req.set(beast::http::field::sec_websocket_protocol, subprotocol);
    }));
    ws.async_handshake(response, "127.0.0.1", "/", [this](const boost::system::error_code& ec) {
      handshake_ec = ec;
      handshake_done = true;
      if (!ec) read();
    });
  }
  /// handshake() and run until it completes; true when the upgrade succeeded.
  bool open(asio::io_context& io, const endpoint& server, std::string subprotocol = "sip") {
    handshake(server, std::move(subprotocol));
    REQUIRE(run_until(io, [&] { return handshake_done; }));
    return !handshake_ec;
  }
  void read() {
    ws.async_read(buf, [this](const boost::system::error_code& ec, std::size_t) {
      if (ec) {
        read_ec = ec;
        closed = true;
        return;
      }
      got.push_back(beast::buffers_to_string(buf.data()));
      got_text.push_back(ws.got_text());
      buf.consume(buf.size());
      read();
    });
  }
  void send(std::string bytes) {
    auto data = std::make_shared<std::string>(std::move(bytes));
    ws.async_write(asio::buffer(*data),
                   [this, data](const boost::system::error_code& ec, std::size_t) {
                     write_ec = ec;
                     ++writes_done;
                   });
  }
};

transport_config ws_server_config(const log_capture& logs, protocol p = protocol::ws) {
  auto cfg = config_for({{p, "127.0.0.1", 0}}, logs);
  if (p == protocol::wss) {
    cfg.tls.certificate_chain_file = pki().server_cert;
    cfg.tls.private_key_file = pki().server_key;
    cfg.tls.ca_file = pki().ca_cert;
  }
  return cfg;
}

/// What on_connection_closed reported.
struct closes {
  std::vector<std::pair<connection_id, std::error_code>> items;
  void attach(manager& m) {
    m.on_connection_closed([this](connection_id id, std::error_code ec) {
      items.emplace_back(id, ec);
    });
  }
};

struct send_result {
  std::error_code ec;
  bool done = false;
  connection_id connection = 0;
  manager::send_handler handler() {
    return [this](std::error_code e, const send_info& info) {
      ec = e;
      connection = info.connection;
      done = true;
    };
  }
};

/// Raw TCP: for upgrades that are not WebSocket at all.
std::string raw_http_exchange(asio::io_context& io, const endpoint& server, std::string request) {
  tcp::socket s(io);
  s.connect({server.address, server.port});
  asio::write(s, asio::buffer(request));
  std::string reply;
  std::array<char, 4096> chunk{};
  bool eof = false;
  std::function<void()> read = [&] {
    s.async_read_some(asio::buffer(chunk), [&](const boost::system::error_code& ec, std::size_t n) {
      reply.append(chunk.data(), n);
      if (ec) {
        eof = true;
        return;
      }
      read();
    });
  };
  read();
  REQUIRE(run_until(io, [&] { return eof; }));
  return reply;
}

}  // namespace

TEST_CASE("WS: a request and its response round trip between two managers, Via SIP/2.0/WS") {
  asio::io_context io;
  log_capture logs;
  manager server(io, ws_server_config(logs));
  manager client(io, config_for({}, logs));
  inbox at_server, at_client;
  at_server.attach(server);
  at_client.attach(client);
  REQUIRE(!server.start());
  REQUIRE(!client.start());
  const endpoint s = bound(server, protocol::ws);
  send_result sent;
  REQUIRE(!client.send_request(owned(options_request("WS", "client.invalid")),
                               to(protocol::ws, s), sent.handler()));
  REQUIRE(run_until(io, [&] { return at_server.items.size() == 1; }));
  CHECK(sent.ec == std::error_code{});
  const auto& got = at_server.items[0];
  CHECK(got.meta.transport == protocol::ws);
  CHECK(got.meta.local == s);
  CHECK(got.msg.top_via()->transport == "WS");
  REQUIRE(!server.send_response(parser::make_response(got.msg, 200), got.meta.connection));
  REQUIRE(run_until(io, [&] { return at_client.items.size() == 1; }));
  CHECK(at_client.items[0].msg.status_code() == 200);
  CHECK(at_client.items[0].meta.transport == protocol::ws);
  CHECK(client.stats(protocol::ws).connections_opened == 1);
  CHECK(server.stats(protocol::ws).connections_accepted == 1);
  CHECK(server.stats(protocol::ws).messages_in == 1);
  CHECK(server.stats(protocol::ws).messages_out == 1);
  CHECK(server.stats(protocol::tcp).connections_accepted == 0);
  CHECK(server.via_sent_by(protocol::ws, s) == s.to_string());
}

TEST_CASE("WS: the server selects the sip subprotocol in its 101") {
  asio::io_context io;
  log_capture logs;
  manager server(io, ws_server_config(logs));
  REQUIRE(!server.start());
  raw_ws c(io);
  c.handshake(bound(server, protocol::ws), "foo, sip");
  REQUIRE(run_until(io, [&] { return c.handshake_done; }));
  REQUIRE(!c.handshake_ec);
  CHECK(c.response.result_int() == 101);
  CHECK(c.response[beast::http::field::sec_websocket_protocol] == "sip");
  CHECK(server.stats(protocol::ws).websocket_handshakes_refused == 0);
}

TEST_CASE("WS: an upgrade without the sip subprotocol is refused with 400 and counted") {
  asio::io_context io;
  log_capture logs;
  manager server(io, ws_server_config(logs));
  closes closed;
  closed.attach(server);
  REQUIRE(!server.start());
  raw_ws c(io);
  c.handshake(bound(server, protocol::ws), "");
  REQUIRE(run_until(io, [&] { return c.handshake_done; }));
  CHECK(c.handshake_ec == websocket::error::upgrade_declined);
  CHECK(c.response.result_int() == 400);
  REQUIRE(run_until(io, [&] { return closed.items.size() == 1; }));
  CHECK(closed.items[0].second == make_error_code(error::handshake_refused));
  CHECK(server.stats(protocol::ws).websocket_handshakes_refused == 1);
  CHECK(server.stats(protocol::ws).messages_in == 0);
  CHECK(server.connection_count() == 0);
  CHECK(logs.contains("'sip' WebSocket subprotocol"));
}

TEST_CASE("WS client: a server whose 101 does not select sip fails the connection") {
  asio::io_context io;
  log_capture logs;
  // A WebSocket server that is not a SIP one: Beast's accept selects no subprotocol.
  tcp::acceptor acc(io, {asio::ip::make_address("127.0.0.1"), 0});
  websocket::stream<tcp::socket> peer(io);
  acc.async_accept(peer.next_layer(), [&](const boost::system::error_code& ec) {
    if (!ec) peer.async_accept([](const boost::system::error_code&) {});
  });
  manager client(io, config_for({}, logs));
  closes closed;
  closed.attach(client);
  REQUIRE(!client.start());
  send_result sent;
  const endpoint server{acc.local_endpoint().address(), acc.local_endpoint().port()};
  REQUIRE(!client.send_request(owned(options_request("WS", "c.invalid")),
                               to(protocol::ws, server), sent.handler()));
  REQUIRE(run_until(io, [&] { return sent.done && closed.items.size() == 1; }));
  CHECK(sent.ec == make_error_code(error::no_sip_subprotocol));
  CHECK(closed.items[0].second == make_error_code(error::no_sip_subprotocol));
  CHECK(client.stats(protocol::ws).connections_opened == 0);
  CHECK(client.stats(protocol::ws).send_errors == 1);
}

TEST_CASE("WS: a plain HTTP GET is answered 426 and the connection closed") {
  asio::io_context io;
  log_capture logs;
  manager server(io, ws_server_config(logs));
  REQUIRE(!server.start());
  const std::string reply = raw_http_exchange(
      io, bound(server, protocol::ws), "GET / HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n");
  CHECK(reply.starts_with("HTTP/1.1 426 "));
  CHECK(reply.find("Upgrade: websocket\r\n") != std::string::npos);
  CHECK(server.stats(protocol::ws).websocket_handshakes_refused == 1);
  CHECK(server.connection_count() == 0);
}

TEST_CASE("WS: a bad upgrade (no Sec-WebSocket-Key) and a non-HTTP request are refused 400") {
  asio::io_context io;
  log_capture logs;
  manager server(io, ws_server_config(logs));
  REQUIRE(!server.start());
  const endpoint s = bound(server, protocol::ws);
  const std::string no_key = raw_http_exchange(
      io, s,
      "GET / HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
      "Sec-WebSocket-Version: 13\r\nSec-WebSocket-Protocol: sip\r\n\r\n");
  CHECK(no_key.starts_with("HTTP/1.1 400 "));
  const std::string sip = raw_http_exchange(io, s, options_request("WS", "x.invalid"));
  CHECK(sip.starts_with("HTTP/1.1 400 "));
  CHECK(server.stats(protocol::ws).websocket_handshakes_refused == 2);
  CHECK(server.stats(protocol::ws).messages_in == 0);
}

TEST_CASE("WS: each WebSocket message is one SIP message, without Content-Length, both ways") {
  asio::io_context io;
  log_capture logs;
  manager server(io, ws_server_config(logs));
  inbox at_server;
  at_server.attach(server);
  REQUIRE(!server.start());
  raw_ws c(io);
  REQUIRE(c.open(io, bound(server, protocol::ws)));
  // RFC 7118 §5: no Content-Length needed; the body is the rest of the message.
  std::string first = options_request("WS", "df7jal23ls0d.invalid", "z9hG4bK-a");
  first.erase(first.find("Content-Length: 0\r\n"), 19);
  first.insert(first.find("\r\n\r\n") + 2, "Content-Type: text/plain\r\n");
  first += "hello";
  c.send(first);
  REQUIRE(run_until(io, [&] { return c.writes_done == 1; }));
  c.send(options_request("WS", "df7jal23ls0d.invalid", "z9hG4bK-b"));
  REQUIRE(run_until(io, [&] { return at_server.items.size() == 2; }));
  CHECK(at_server.items[0].msg.body() == "hello");
  CHECK(at_server.items[1].msg.top_via()->branch == "z9hG4bK-b");
  CHECK(at_server.items[0].meta.connection == at_server.items[1].meta.connection);
  for (const auto& r : at_server.items)
    REQUIRE(!server.send_response(parser::make_response(r.msg, 200), r.meta.connection));
  REQUIRE(run_until(io, [&] { return c.got.size() == 2; }));
  for (std::size_t i = 0; i < 2; ++i) {
    INFO(c.got[i]);
    CHECK(c.got[i].starts_with("SIP/2.0 200 "));
    // Exactly one whole message in the frame: it ends where its body (none) ends.
    CHECK(c.got[i].ends_with("Content-Length: 0\r\n\r\n"));
    CHECK(c.got_text[i]);  // UTF-8: a text frame
  }
  CHECK(server.stats(protocol::ws).messages_in == 2);
  CHECK(server.stats(protocol::ws).messages_out == 2);
}

TEST_CASE("WS: a message with a body that is not UTF-8 goes in a binary frame") {
  asio::io_context io;
  log_capture logs;
  manager server(io, ws_server_config(logs));
  inbox at_server;
  at_server.attach(server);
  REQUIRE(!server.start());
  raw_ws c(io);
  REQUIRE(c.open(io, bound(server, protocol::ws)));
  c.send(options_request("WS", "df7jal23ls0d.invalid"));
  REQUIRE(run_until(io, [&] { return at_server.items.size() == 1; }));
  auto resp = parser::make_response(at_server.items[0].msg, 200);
  resp.set_body(std::string("\xff\xfe\x00\x01", 4), "application/octet-stream");
  REQUIRE(!server.send_response(resp, at_server.items[0].meta.connection));
  REQUIRE(run_until(io, [&] { return c.got.size() == 1; }));
  CHECK_FALSE(c.got_text[0]);
  CHECK(c.got[0].ends_with(std::string("\xff\xfe\x00\x01", 4)));
}

TEST_CASE("WS: a message over max_message_size closes the connection with 1009, counted") {
  asio::io_context io;
  log_capture logs;
  auto cfg = ws_server_config(logs);
  cfg.limits.max_message_size = 2000;
  manager server(io, cfg);
  inbox at_server;
  at_server.attach(server);
  closes closed;
  closed.attach(server);
  REQUIRE(!server.start());
  raw_ws c(io);
  REQUIRE(c.open(io, bound(server, protocol::ws)));
  c.send(options_request("WS", "x.invalid", "z9hG4bK-1", ";rport", std::string(3000, 'a')));
  REQUIRE(run_until(io, [&] { return c.closed && closed.items.size() == 1; }));
  // The close frame arrived with 1009 (RFC 6455 §7.4.1) before the TCP connection ended.
  CHECK(c.ws.reason().code == websocket::close_code::too_big);
  CHECK(closed.items[0].second == make_error_code(error::message_too_large));
  CHECK(server.stats(protocol::ws).websocket_messages_too_big == 1);
  CHECK(at_server.items.empty());
}

TEST_CASE("WS: a message sent in fragments is reassembled into one SIP message") {
  asio::io_context io;
  log_capture logs;
  manager server(io, ws_server_config(logs));
  inbox at_server;
  at_server.attach(server);
  REQUIRE(!server.start());
  raw_ws c(io);
  REQUIRE(c.open(io, bound(server, protocol::ws)));
  const std::string msg = options_request("WS", "x.invalid", "z9hG4bK-frag");
  // Three frames: text, continuation, final continuation.
  const std::string parts[] = {msg.substr(0, 10), msg.substr(10, 50), msg.substr(60)};
  int written = 0;
  std::function<void()> next = [&] {
    const bool fin = written == 2;
    c.ws.async_write_some(fin, asio::buffer(parts[written]),
                          [&](const boost::system::error_code& ec, std::size_t) {
                            REQUIRE(!ec);
                            if (++written < 3) next();
                          });
  };
  next();
  REQUIRE(run_until(io, [&] { return at_server.items.size() == 1; }));
  CHECK(written == 3);
  CHECK(at_server.items[0].msg.top_via()->branch == "z9hG4bK-frag");
  CHECK(server.stats(protocol::ws).messages_in == 1);
}

TEST_CASE("WS: a ping is answered with a pong and counted") {
  asio::io_context io;
  log_capture logs;
  manager server(io, ws_server_config(logs));
  REQUIRE(!server.start());
  raw_ws c(io);
  REQUIRE(c.open(io, bound(server, protocol::ws)));
  bool pinged = false;
  c.ws.async_ping({}, [&](const boost::system::error_code& ec) {
    REQUIRE(!ec);
    pinged = true;
  });
  REQUIRE(run_until(io, [&] { return pinged && c.pongs == 1; }));
  CHECK(server.stats(protocol::ws).keepalive_pings_received == 1);
}

TEST_CASE("WS: a CRLFCRLF message (SIP.js keep-alive) is answered with a CRLF message") {
  asio::io_context io;
  log_capture logs;
  manager server(io, ws_server_config(logs));
  REQUIRE(!server.start());
  raw_ws c(io);
  REQUIRE(c.open(io, bound(server, protocol::ws)));
  c.send("\r\n\r\n");
  REQUIRE(run_until(io, [&] { return c.got.size() == 1; }));
  CHECK(c.got[0] == "\r\n");
  CHECK(server.stats(protocol::ws).keepalive_pings_received == 1);
  CHECK(server.stats(protocol::ws).keepalive_pongs_sent == 1);
  CHECK(server.stats(protocol::ws).parse_errors == 0);
}

TEST_CASE("WS: the client's keep-alive is a ping frame; the server's pong keeps the flow") {
  asio::io_context io;
  log_capture logs;
  manager server(io, ws_server_config(logs));
  inbox at_server;
  at_server.attach(server);
  manager client(io, config_for({}, logs));
  REQUIRE(!server.start());
  REQUIRE(!client.start());
  send_result sent;
  REQUIRE(!client.send_request(owned(options_request("WS", "c.invalid")),
                               to(protocol::ws, bound(server, protocol::ws)), sent.handler()));
  REQUIRE(run_until(io, [&] { return sent.done; }));
  REQUIRE(!sent.ec);
  const connection_id cid = sent.connection;
  REQUIRE(client.is_open(cid));
  REQUIRE(!client.send_keepalive(cid));
  REQUIRE(run_until(io, [&] { return server.stats(protocol::ws).keepalive_pings_received == 1; }));
  CHECK(client.stats(protocol::ws).keepalive_pings_sent == 1);
  CHECK(client.stats(protocol::ws).parse_errors == 0);
  CHECK(server.stats(protocol::ws).parse_errors == 0);
  CHECK(client.is_open(cid));
}

TEST_CASE("WS: a connection that never sends SIP is closed by the idle timeout") {
  asio::io_context io;
  log_capture logs;
  auto cfg = ws_server_config(logs);
  cfg.idle_timeout = 100ms;
  manager server(io, cfg);
  closes closed;
  closed.attach(server);
  REQUIRE(!server.start());
  raw_ws c(io);
  REQUIRE(c.open(io, bound(server, protocol::ws)));
  REQUIRE(run_until(io, [&] { return closed.items.size() == 1 && c.closed; }));
  CHECK(closed.items[0].second == make_error_code(error::idle_timeout));
  CHECK(server.connection_count() == 0);
}

TEST_CASE("WS: a peer that connects and never upgrades is closed by the handshake timeout") {
  asio::io_context io;
  log_capture logs;
  auto cfg = ws_server_config(logs);
  cfg.connect_timeout = 100ms;
  manager server(io, cfg);
  closes closed;
  closed.attach(server);
  REQUIRE(!server.start());
  tcp::socket silent(io);
  const endpoint s = bound(server, protocol::ws);
  silent.connect({s.address, s.port});
  REQUIRE(run_until(io, [&] { return closed.items.size() == 1; }));
  CHECK(closed.items[0].second == make_error_code(error::timed_out));
  CHECK(server.connection_count() == 0);
}

TEST_CASE("WS: max_connections and the per-source cap refuse WebSocket connections too") {
  asio::io_context io;
  log_capture logs;
  auto cfg = ws_server_config(logs);
  cfg.max_connections = 1;
  manager server(io, cfg);
  inbox at_server;
  at_server.attach(server);
  REQUIRE(!server.start());
  const endpoint s = bound(server, protocol::ws);
  raw_ws first(io);
  REQUIRE(first.open(io, s));
  first.send(options_request("WS", "a.invalid"));  // a flow now: never evicted
  REQUIRE(run_until(io, [&] { return at_server.items.size() == 1; }));
  raw_ws second(io);
  CHECK_FALSE(second.open(io, s));
  CHECK(server.stats(protocol::ws).connections_refused == 1);
  CHECK(server.connection_count() == 1);

  asio::io_context io2;
  auto cfg2 = ws_server_config(logs);
  cfg2.max_connections_per_source = 1;
  manager server2(io2, cfg2);
  REQUIRE(!server2.start());
  raw_ws a(io2), b(io2);
  REQUIRE(a.open(io2, bound(server2, protocol::ws)));
  CHECK_FALSE(b.open(io2, bound(server2, protocol::ws)));
  CHECK(server2.stats(protocol::ws).connections_refused_per_source == 1);
}

TEST_CASE("WS: a write queue over max_write_queue_bytes refuses the send") {
  asio::io_context io;
  log_capture logs;
  auto cfg = ws_server_config(logs);
  cfg.max_write_queue_bytes = 1000;
  manager server(io, cfg);
  inbox at_server;
  at_server.attach(server);
  REQUIRE(!server.start());
  raw_ws c(io);
  REQUIRE(c.open(io, bound(server, protocol::ws)));
  c.send(options_request("WS", "a.invalid"));
  REQUIRE(run_until(io, [&] { return at_server.items.size() == 1; }));
  auto resp = parser::make_response(at_server.items[0].msg, 200);
  resp.set_body(std::string(1200, 'x'), "text/plain");
  CHECK(server.send_response(resp, at_server.items[0].meta.connection) ==
        make_error_code(error::write_queue_full));
  CHECK(server.stats(protocol::ws).sends_refused == 1);
}

TEST_CASE("WS: garbage is dropped and counted; a bad request with a readable Via gets a 400") {
  asio::io_context io;
  log_capture logs;
  manager server(io, ws_server_config(logs));
  inbox at_server;
  at_server.attach(server);
  REQUIRE(!server.start());
  raw_ws c(io);
  REQUIRE(c.open(io, bound(server, protocol::ws)));
  c.send("this is not SIP at all");
  std::string bad = options_request("WS", "df7jal23ls0d.invalid");
  bad.replace(bad.find("CSeq: 63104 OPTIONS"), 19, "CSeq: x");
  REQUIRE(run_until(io, [&] { return c.writes_done == 1; }));
  c.send(bad);
  REQUIRE(run_until(io, [&] { return c.got.size() == 1; }));
  CHECK(c.got[0].starts_with("SIP/2.0 400 "));
  CHECK(c.got[0].find("Via: SIP/2.0/WS df7jal23ls0d.invalid") != std::string::npos);
  CHECK(server.stats(protocol::ws).parse_errors == 2);
  CHECK(server.stats(protocol::ws).drops == 2);
  CHECK(server.stats(protocol::ws).bad_requests_answered == 1);
  CHECK(at_server.items.empty());
  // The connection survives garbage: the next good message is delivered.
  c.send(options_request("WS", "df7jal23ls0d.invalid"));
  REQUIRE(run_until(io, [&] { return at_server.items.size() == 1; }));
  CHECK(logs.contains("drop WS message"));
}

TEST_CASE("WS flow rule: a request or response to a peer whose connection closed fails at once") {
  asio::io_context io;
  log_capture logs;
  manager server(io, ws_server_config(logs));
  inbox at_server;
  at_server.attach(server);
  closes closed;
  closed.attach(server);
  REQUIRE(!server.start());
  raw_ws browser(io);
  REQUIRE(browser.open(io, bound(server, protocol::ws)));
  browser.send(options_request("WS", "df7jal23ls0d.invalid"));
  REQUIRE(run_until(io, [&] { return at_server.items.size() == 1; }));
  const auto meta = at_server.items[0].meta;
  const auto request = owned(options_request("WS", "127.0.0.1:1", "z9hG4bK-out"));

  // While the flow is open, a request to the peer goes on it.
  target flow = to(protocol::ws, meta.source);
  flow.connection = meta.connection;
  REQUIRE(!server.send_request(request, flow));
  REQUIRE(run_until(io, [&] { return browser.got.size() == 1; }));
  CHECK(browser.got[0].starts_with("OPTIONS "));

  browser.ws.next_layer().close();  // the browser goes away
  REQUIRE(run_until(io, [&] { return closed.items.size() == 1 && browser.closed; }));
  CHECK(server.send_request(request, flow) == make_error_code(error::flow_gone));
  // Without the connection id too: the address is a gone client's ephemeral port.
  CHECK(server.send_request(request, to(protocol::ws, meta.source)) ==
        make_error_code(error::flow_gone));
  CHECK(server.send_response(parser::make_response(at_server.items[0].msg, 200),
                             meta.connection) == make_error_code(error::flow_gone));
  CHECK(server.stats(protocol::ws).sends_refused == 3);
  CHECK(server.stats(protocol::ws).connections_opened == 0);
  CHECK(server.connection_count() == 0);
}

TEST_CASE("WSS: round trip with the server certificate verified") {
  asio::io_context io;
  log_capture logs;
  manager server(io, ws_server_config(logs, protocol::wss));
  auto ccfg = config_for({}, logs);
  ccfg.tls.ca_file = pki().ca_cert;
  manager client(io, ccfg);
  inbox at_server, at_client;
  at_server.attach(server);
  at_client.attach(client);
  REQUIRE(!server.start());
  REQUIRE(!client.start());
  send_result sent;
  auto t = to(protocol::wss, bound(server, protocol::wss), "localhost");
  t.secure = true;  // sips: over WSS is allowed (RFC 3261 §26.2)
  REQUIRE(!client.send_request(owned(options_request("WSS", "c.invalid")), t, sent.handler()));
  REQUIRE(run_until(io, [&] { return at_server.items.size() == 1; }));
  CHECK(sent.ec == std::error_code{});
  CHECK(at_server.items[0].meta.transport == protocol::wss);
  REQUIRE(!server.send_response(parser::make_response(at_server.items[0].msg, 200),
                                at_server.items[0].meta.connection));
  REQUIRE(run_until(io, [&] { return at_client.items.size() == 1; }));
  CHECK(at_client.items[0].msg.status_code() == 200);
  CHECK(client.stats(protocol::wss).connections_opened == 1);
}

TEST_CASE("WSS: a certificate for another name fails the connection") {
  asio::io_context io;
  log_capture logs;
  manager server(io, ws_server_config(logs, protocol::wss));
  auto ccfg = config_for({}, logs);
  ccfg.tls.ca_file = pki().ca_cert;
  manager client(io, ccfg);
  inbox at_server;
  at_server.attach(server);
  REQUIRE(!server.start());
  REQUIRE(!client.start());
  send_result sent;
  REQUIRE(!client.send_request(owned(options_request("WSS", "c.invalid")),
                               to(protocol::wss, bound(server, protocol::wss), "other.example"),
                               sent.handler()));
  REQUIRE(run_until(io, [&] { return sent.done; }));
  CHECK(sent.ec);
  CHECK(at_server.items.empty());
  CHECK(client.stats(protocol::wss).connections_opened == 0);
  CHECK(client.stats(protocol::wss).send_errors == 1);
}

TEST_CASE("WSS: a certificate from an unknown CA fails the connection") {
  asio::io_context io;
  log_capture logs;
  auto scfg = ws_server_config(logs, protocol::wss);
  scfg.tls.certificate_chain_file = pki().rogue_cert;
  scfg.tls.private_key_file = pki().rogue_key;
  manager server(io, scfg);
  auto ccfg = config_for({}, logs);
  ccfg.tls.ca_file = pki().ca_cert;
  manager client(io, ccfg);
  inbox at_server;
  at_server.attach(server);
  REQUIRE(!server.start());
  REQUIRE(!client.start());
  send_result sent;
  REQUIRE(!client.send_request(owned(options_request("WSS", "c.invalid")),
                               to(protocol::wss, bound(server, protocol::wss), "localhost"),
                               sent.handler()));
  REQUIRE(run_until(io, [&] { return sent.done; }));
  CHECK(sent.ec);
  CHECK(at_server.items.empty());
  CHECK(client.stats(protocol::wss).connections_opened == 0);
}

TEST_CASE("WSS without a certificate configured fails start() with tls_not_configured") {
  asio::io_context io;
  log_capture logs;
  manager server(io, config_for({{protocol::wss, "127.0.0.1", 0}}, logs));
  CHECK(server.start() == make_error_code(error::tls_not_configured));
}
