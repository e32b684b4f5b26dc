// TLS (RFC 3261 §26.2, RFC 5922): round trips, certificate checks, mutual TLS.
#include "transport/support.hpp"
#include "transport/test_certs.hpp"

using namespace sipkit::transport;
using namespace sipkit::transport::test;
namespace parser = sipkit::parser;

namespace {

transport_config tls_server_config(const log_capture& logs, const std::string& addr,
                                   const std::string& cert, const std::string& key) {
  auto cfg = config_for({{protocol::tls, addr, 0}}, logs);
  cfg.tls.certificate_chain_file = cert;
  cfg.tls.private_key_file = key;
  cfg.tls.ca_file = pki().ca_cert;
  return cfg;
}

transport_config tls_client_config(const log_capture& logs) {
  auto cfg = config_for({}, logs);
  cfg.tls.ca_file = pki().ca_cert;
  return cfg;
}

/// Sends one request from `client` to `server` and reports the send outcome.
struct attempt {
  std::error_code ec;
  bool done = false;
};

attempt send_one(asio::io_context& io, manager& client, const endpoint& s,
                 const std::string& server_name) {
  attempt a;
  auto ec = client.send_request(owned(options_request("TLS", "client.invalid")),
                                to(protocol::tls, s, server_name),
                                [&](std::error_code e, const send_info&) {
                                  a.ec = e;
                                  a.done = true;
                                });
  REQUIRE(!ec);
  REQUIRE(run_until(io, [&] { return a.done; }));
  return a;
}

void tls_round_trip(const std::string& addr, bool v6) {
  asio::io_context io;
  log_capture logs;
  manager server(io, tls_server_config(logs, addr, pki().server_cert, pki().server_key));
  manager client(io, tls_client_config(logs));
  inbox at_server, at_client;
  at_server.attach(server);
  at_client.attach(client);
  REQUIRE(!server.start());
  REQUIRE(!client.start());
  const endpoint s = bound(server, protocol::tls, v6);
  auto a = send_one(io, client, s, "localhost");
  INFO(a.ec.message());
  REQUIRE(!a.ec);
  REQUIRE(run_until(io, [&] { return at_server.items.size() == 1; }));
  const auto& got = at_server.items[0];
  CHECK(got.meta.transport == protocol::tls);
  CHECK(got.meta.local == s);
  REQUIRE(!server.send_response(parser::make_response(got.msg, 200), got.meta.connection));
  REQUIRE(run_until(io, [&] { return at_client.items.size() == 1; }));
  CHECK(at_client.items[0].msg.status_code() == 200);
  CHECK(at_client.items[0].meta.transport == protocol::tls);
  CHECK(client.stats(protocol::tls).connections_opened == 1);
  CHECK(server.stats(protocol::tls).messages_in == 1);
}

}  // namespace

TEST_CASE("TLS request and response round trip on 127.0.0.1 with a verified certificate") {
  tls_round_trip("127.0.0.1", false);
}

TEST_CASE("TLS request and response round trip on ::1") {
  require_ipv6_loopback();
  tls_round_trip("::1", true);
}

TEST_CASE("TLS server certificate is checked against the address when no name is given") {
  asio::io_context io;
  log_capture logs;
  manager server(io, tls_server_config(logs, "127.0.0.1", pki().server_cert, pki().server_key));
  manager client(io, tls_client_config(logs));
  REQUIRE(!server.start());
  REQUIRE(!client.start());
  auto a = send_one(io, client, bound(server, protocol::tls), "");  // SAN IP:127.0.0.1
  INFO(a.ec.message());
  CHECK(!a.ec);
}

TEST_CASE("TLS refuses a certificate for another host name") {
  asio::io_context io;
  log_capture logs;
  manager server(io, tls_server_config(logs, "127.0.0.1", pki().server_cert, pki().server_key));
  manager client(io, tls_client_config(logs));
  inbox at_server;
  at_server.attach(server);
  REQUIRE(!server.start());
  REQUIRE(!client.start());
  auto a = send_one(io, client, bound(server, protocol::tls), "sip.example.com");
  CHECK(a.ec);
  CHECK(at_server.items.empty());
  CHECK(logs.contains("TLS handshake failed"));
  CHECK(client.connection_count() == 0);
}

TEST_CASE("TLS refuses a certificate from an unknown CA") {
  asio::io_context io;
  log_capture logs;
  manager server(io, tls_server_config(logs, "127.0.0.1", pki().rogue_cert, pki().rogue_key));
  manager client(io, tls_client_config(logs));
  REQUIRE(!server.start());
  REQUIRE(!client.start());
  auto a = send_one(io, client, bound(server, protocol::tls), "localhost");
  CHECK(a.ec);
  CHECK(logs.contains("certificate verify failed"));
}

TEST_CASE("TLS refuses an expired certificate") {
  asio::io_context io;
  log_capture logs;
  manager server(io, tls_server_config(logs, "127.0.0.1", pki().expired_cert, pki().expired_key));
  manager client(io, tls_client_config(logs));
  REQUIRE(!server.start());
  REQUIRE(!client.start());
  auto a = send_one(io, client, bound(server, protocol::tls), "localhost");
  CHECK(a.ec);
  CHECK(logs.contains("certificate verify failed"));
}

TEST_CASE("mutual TLS accepts a client certificate from the trusted CA") {
  asio::io_context io;
  log_capture logs;
  auto scfg = tls_server_config(logs, "127.0.0.1", pki().server_cert, pki().server_key);
  scfg.tls.require_client_certificate = true;
  manager server(io, scfg);
  auto ccfg = tls_client_config(logs);
  ccfg.tls.certificate_chain_file = pki().client_cert;
  ccfg.tls.private_key_file = pki().client_key;
  manager client(io, ccfg);
  inbox at_server;
  at_server.attach(server);
  REQUIRE(!server.start());
  REQUIRE(!client.start());
  auto a = send_one(io, client, bound(server, protocol::tls), "localhost");
  INFO(a.ec.message());
  CHECK(!a.ec);
  REQUIRE(run_until(io, [&] { return at_server.items.size() == 1; }));
}

TEST_CASE("mutual TLS refuses a client without a certificate") {
  asio::io_context io;
  log_capture logs;
  auto scfg = tls_server_config(logs, "127.0.0.1", pki().server_cert, pki().server_key);
  scfg.tls.require_client_certificate = true;
  manager server(io, scfg);
  manager client(io, tls_client_config(logs));
  inbox at_server;
  at_server.attach(server);
  REQUIRE(!server.start());
  REQUIRE(!client.start());
  const endpoint s = bound(server, protocol::tls);
  REQUIRE(!client.send_request(owned(options_request("TLS", "client.invalid")), to(protocol::tls, s, "localhost")));
  // TLS 1.3: the client may finish its handshake before the server refuses; either way
  // the server closes the connection and nothing is delivered.
  REQUIRE(run_until(io, [&] { return server.stats(protocol::tls).connections_closed == 1; }));
  run_for(io, 50ms);
  CHECK(at_server.items.empty());
  CHECK(logs.contains("TLS handshake failed"));
}

TEST_CASE("TLS listener without a certificate fails to start") {
  asio::io_context io;
  log_capture logs;
  manager server(io, config_for({{protocol::tls, "127.0.0.1", 0}}, logs));
  CHECK(server.start() == make_error_code(error::tls_not_configured));
}

TEST_CASE("TLS with a missing certificate file fails to start with the reason logged") {
  asio::io_context io;
  log_capture logs;
  manager server(io, tls_server_config(logs, "127.0.0.1", pki().dir + "/nope.pem", pki().server_key));
  CHECK(server.start());
  CHECK(logs.contains("TLS: cannot load certificate/key"));
}

TEST_CASE("TLS garbage after the handshake closes the connection") {
  asio::io_context io;
  log_capture logs;
  auto scfg = tls_server_config(logs, "127.0.0.1", pki().server_cert, pki().server_key);
  scfg.limits.max_message_size = 2048;
  manager server(io, scfg);
  manager client(io, tls_client_config(logs));
  REQUIRE(!server.start());
  REQUIRE(!client.start());
  attempt a;
  REQUIRE(!client.send_bytes(std::string(4096, 'g'), to(protocol::tls, bound(server, protocol::tls), "localhost"),
                             [&](std::error_code e, const send_info&) {
                               a.ec = e;
                               a.done = true;
                             }));
  REQUIRE(run_until(io, [&] { return server.stats(protocol::tls).connections_closed == 1; }));
  CHECK(server.stats(protocol::tls).parse_errors == 1);
  CHECK(logs.contains("framing error: message too large"));
}

TEST_CASE("plain TCP bytes to a TLS listener fail the handshake and are dropped") {
  asio::io_context io;
  log_capture logs;
  manager server(io, tls_server_config(logs, "127.0.0.1", pki().server_cert, pki().server_key));
  manager client(io, config_for({}, logs));
  REQUIRE(!server.start());
  REQUIRE(!client.start());
  REQUIRE(!client.send_request(owned(options_request("TCP", "client.invalid")),
                               to(protocol::tcp, bound(server, protocol::tls))));
  REQUIRE(run_until(io, [&] { return server.stats(protocol::tls).connections_closed == 1; }));
  CHECK(server.stats(protocol::tls).messages_in == 0);
  CHECK(logs.contains("TLS handshake failed"));
}

// Trust anchors are loaded when TLS is first used, not at start() (the system store is
// large): a UDP-only agent never reads one.
TEST_CASE("a UDP-only manager never loads a TLS trust store") {
  asio::io_context io;
  log_capture logs;
  manager a(io, config_for({{protocol::udp, "127.0.0.1", 0}}, logs));
  manager b(io, config_for({{protocol::udp, "127.0.0.1", 0}}, logs));
  inbox at_b;
  at_b.attach(b);
  REQUIRE(!a.start());
  REQUIRE(!b.start());
  CHECK(a.trust_store_loads() == 0);
  REQUIRE(!a.send_request(owned(options_request("UDP", "127.0.0.1")),
                          to(protocol::udp, bound(b, protocol::udp))));
  REQUIRE(run_until(io, [&] { return at_b.items.size() == 1; }));
  CHECK(a.trust_store_loads() == 0);
  CHECK(b.trust_store_loads() == 0);
}

TEST_CASE("TLS trust anchors load at the first TLS connection, once, and still verify") {
  asio::io_context io;
  log_capture logs;
  manager good(io, tls_server_config(logs, "127.0.0.1", pki().server_cert, pki().server_key));
  manager rogue(io, tls_server_config(logs, "127.0.0.1", pki().rogue_cert, pki().rogue_key));
  manager client(io, tls_client_config(logs));
  REQUIRE(!good.start());
  REQUIRE(!rogue.start());
  REQUIRE(!client.start());
  CHECK(client.trust_store_loads() == 0);  // no TLS listener: nothing loaded yet
  CHECK(good.trust_store_loads() == 1);    // a TLS listener loads at start()
  auto ok = send_one(io, client, bound(good, protocol::tls), "localhost");
  INFO(ok.ec.message());
  CHECK(!ok.ec);
  CHECK(client.trust_store_loads() == 1);
  // The lazily built context verifies: a certificate from another CA is refused.
  auto bad = send_one(io, client, bound(rogue, protocol::tls), "localhost");
  CHECK(bad.ec);
  CHECK(logs.contains("certificate verify failed"));
  CHECK(client.trust_store_loads() == 1);
}

TEST_CASE("a CA file that does not load fails the first TLS send, with the reason logged") {
  asio::io_context io;
  log_capture logs;
  auto cfg = tls_client_config(logs);
  cfg.tls.ca_file = pki().dir + "/nope.pem";
  manager client(io, cfg);
  REQUIRE(!client.start());  // no TLS listener: the file is not read yet
  const endpoint nowhere{asio::ip::make_address("127.0.0.1"), 9};
  for (int i = 0; i < 2; ++i) {
    auto ec = client.send_request(owned(options_request("TLS", "client.invalid")),
                                  to(protocol::tls, nowhere, "localhost"));
    CHECK(ec);
  }
  CHECK(logs.contains("TLS: cannot load trust anchors"));
  CHECK(client.trust_store_loads() == 1);  // the failure is kept, not retried per send
  CHECK(client.stats(protocol::tls).sends_refused == 2);
  CHECK(client.connection_count() == 0);
}
