// UDP: round trips on IPv4 and IPv6 loopback, response routing, malformed input,
// the UDP->TCP switch for large requests (RFC 3261 §18.1.1).
#include <algorithm>
#include <boost/asio/ip/udp.hpp>

#include "transport/support.hpp"

using namespace sipkit::transport;
using namespace sipkit::transport::test;
namespace parser = sipkit::parser;

namespace {

void udp_round_trip(const std::string& addr, bool v6) {
  asio::io_context io;
  log_capture logs;
  manager server(io, config_for({{protocol::udp, addr, 0}}, logs));
  manager client(io, config_for({{protocol::udp, addr, 0}}, logs));
  inbox at_server, at_client;
  at_server.attach(server);
  at_client.attach(client);
  REQUIRE(!server.start());
  REQUIRE(!client.start());
  const endpoint s = bound(server, protocol::udp, v6);
  const endpoint c = bound(client, protocol::udp, v6);
  REQUIRE(s.port != 0);

  auto req = owned(options_request("UDP", c.to_string()));
  std::error_code sent_ec = make_error_code(error::not_started);
  REQUIRE(!client.send_request(req, to(protocol::udp, s),
                               [&](std::error_code ec, const send_info&) { sent_ec = ec; }));
  REQUIRE(run_until(io, [&] { return at_server.items.size() == 1; }));
  CHECK(!sent_ec);
  const auto& got = at_server.items[0];
  CHECK(got.meta.transport == protocol::udp);
  CHECK(got.meta.source == c);
  CHECK(got.meta.local == s);
  CHECK(got.meta.connection != 0);
  // RFC 3581 §4: empty rport filled, received added even though it equals sent-by.
  REQUIRE(got.meta.rport == c.port);
  CHECK(got.meta.received == c.address.to_string());
  CHECK(got.msg.top_via()->received == c.address.to_string());
  CHECK(got.msg.top_via()->rport == std::to_string(c.port));

  auto resp = parser::make_response(got.msg, 200, {}, "totag");
  REQUIRE(!server.send_response(resp, got.meta.connection));
  REQUIRE(run_until(io, [&] { return at_client.items.size() == 1; }));
  CHECK(at_client.items[0].msg.status_code() == 200);
  CHECK(at_client.items[0].meta.source == s);

  CHECK(server.stats(protocol::udp).messages_in == 1);
  CHECK(server.stats(protocol::udp).messages_out == 1);
  CHECK(client.stats(protocol::udp).messages_out == 1);
  CHECK(client.stats(protocol::udp).bytes_out == req.serialize().size());
}

}  // namespace

TEST_CASE("UDP request and response round trip on 127.0.0.1") { udp_round_trip("127.0.0.1", false); }

TEST_CASE("UDP request and response round trip on ::1") {
  require_ipv6_loopback();
  udp_round_trip("::1", true);
}

TEST_CASE("UDP listens on IPv4 and IPv6 at once and reports the bound ports") {
  require_ipv6_loopback();
  asio::io_context io;
  log_capture logs;
  manager m(io, config_for({{protocol::udp, "127.0.0.1", 0}, {protocol::udp, "::1", 0}}, logs));
  REQUIRE(!m.start());
  auto ls = m.listeners();
  REQUIRE(ls.size() == 2);
  CHECK(ls[0].local.address.is_v4());
  CHECK(ls[1].local.address.is_v6());
  CHECK(ls[0].local.port != 0);
  CHECK(ls[1].local.port != 0);
  CHECK(m.via_sent_by(protocol::udp, ls[1].local) == ls[1].local.to_string());
}

TEST_CASE("UDP response without rport goes to received and the sent-by port") {
  asio::io_context io;
  log_capture logs;
  manager server(io, config_for({{protocol::udp, "127.0.0.1", 0}}, logs));
  inbox at_server;
  at_server.attach(server);
  REQUIRE(!server.start());
  raw_udp peer(io);     // sends the request
  raw_udp listener(io);  // the port named in sent-by
  // Sent-by names a host name: received must be added (§18.2.1).
  peer.send(options_request("UDP", "client.invalid:" + std::to_string(listener.local().port), "z9hG4bK-2", ""),
            bound(server, protocol::udp));
  REQUIRE(run_until(io, [&] { return at_server.items.size() == 1; }));
  const auto& got = at_server.items[0];
  CHECK(got.meta.received == "127.0.0.1");
  CHECK(!got.meta.rport);
  REQUIRE(!server.send_response(parser::make_response(got.msg, 200), 0));
  REQUIRE(run_until(io, [&] { return listener.got.size() == 1; }));
  CHECK(listener.got[0].rfind("SIP/2.0 200 OK\r\n", 0) == 0);
  CHECK(listener.got[0].find("received=127.0.0.1") != std::string::npos);
  CHECK(peer.got.empty());
}

TEST_CASE("UDP garbage datagram is dropped, counted and logged") {
  asio::io_context io;
  log_capture logs;
  manager server(io, config_for({{protocol::udp, "127.0.0.1", 0}}, logs));
  inbox at_server;
  at_server.attach(server);
  REQUIRE(!server.start());
  raw_udp peer(io);
  peer.send("\x01\x02 this is not SIP at all\r\n\r\n", bound(server, protocol::udp));
  REQUIRE(run_until(io, [&] { return server.stats(protocol::udp).drops == 1; }));
  run_for(io, 50ms);
  CHECK(at_server.items.empty());
  CHECK(peer.got.empty());
  CHECK(server.stats(protocol::udp).parse_errors == 1);
  CHECK(logs.contains("drop UDP message from 127.0.0.1"));
}

TEST_CASE("UDP request with a broken header but a readable Via is answered 400 with the reason") {
  asio::io_context io;
  log_capture logs;
  manager server(io, config_for({{protocol::udp, "127.0.0.1", 0}}, logs));
  inbox at_server;
  at_server.attach(server);
  REQUIRE(!server.start());
  raw_udp peer(io);
  std::string bad = options_request("UDP", peer.local().to_string(), "z9hG4bK-bad");
  bad.replace(bad.find("CSeq: 63104 OPTIONS"), 19, "CSeq: abc OPTIONS  ");
  peer.send(bad, bound(server, protocol::udp));
  REQUIRE(run_until(io, [&] { return peer.got.size() == 1; }));
  const std::string& r = peer.got[0];
  INFO(r);
  CHECK(r.rfind("SIP/2.0 400 Bad Request (syntax error in CSeq header", 0) == 0);
  CHECK(r.find("branch=z9hG4bK-bad") != std::string::npos);
  CHECK(r.find(";rport=" + std::to_string(peer.local().port)) != std::string::npos);
  CHECK(r.find("Call-ID: a84b4c76e66710@pc33.example.com\r\n") != std::string::npos);
  CHECK(r.find("CSeq: abc OPTIONS") != std::string::npos);
  CHECK(at_server.items.empty());
  CHECK(server.stats(protocol::udp).bad_requests_answered == 1);
  CHECK(server.stats(protocol::udp).parse_errors == 1);
}

TEST_CASE("UDP truncated request (Content-Length beyond the datagram) is answered 400") {
  asio::io_context io;
  log_capture logs;
  manager server(io, config_for({{protocol::udp, "127.0.0.1", 0}}, logs));
  inbox at_server;
  at_server.attach(server);
  REQUIRE(!server.start());
  raw_udp peer(io);
  std::string bad = options_request("UDP", peer.local().to_string(), "z9hG4bK-t", ";rport", "hello");
  bad.resize(bad.size() - 3);
  peer.send(bad, bound(server, protocol::udp));
  REQUIRE(run_until(io, [&] { return peer.got.size() == 1; }));
  CHECK(peer.got[0].rfind("SIP/2.0 400 Bad Request", 0) == 0);
  CHECK(at_server.items.empty());
}

TEST_CASE("UDP malformed response and ACK are dropped without an answer") {
  asio::io_context io;
  log_capture logs;
  manager server(io, config_for({{protocol::udp, "127.0.0.1", 0}}, logs));
  REQUIRE(!server.start());
  raw_udp peer(io);
  std::string ack = options_request("UDP", peer.local().to_string());
  ack.replace(0, 7, "ACK    ");  // "ACK    sip:..." is not a valid Request-Line
  peer.send(ack, bound(server, protocol::udp));
  peer.send("SIP/2.0 200 OK\r\nVia: SIP/2.0/UDP 127.0.0.1;branch=z9hG4bK-x\r\nCSeq: x\r\n\r\n",
            bound(server, protocol::udp));
  REQUIRE(run_until(io, [&] { return server.stats(protocol::udp).drops == 2; }));
  run_for(io, 50ms);
  CHECK(peer.got.empty());
  CHECK(server.stats(protocol::udp).bad_requests_answered == 0);
}

TEST_CASE("UDP oversized datagram is dropped and counted") {
  asio::io_context io;
  log_capture logs;
  auto cfg = config_for({{protocol::udp, "127.0.0.1", 0}}, logs);
  cfg.limits.max_message_size = 2000;
  manager server(io, cfg);
  inbox at_server;
  at_server.attach(server);
  REQUIRE(!server.start());
  raw_udp peer(io);
  peer.send(options_request("UDP", peer.local().to_string(), "z9hG4bK-big", ";rport",
                            std::string(3000, 'x')),
            bound(server, protocol::udp));
  REQUIRE(run_until(io, [&] { return server.stats(protocol::udp).drops == 1; }));
  CHECK(at_server.items.empty());
  CHECK(peer.got.empty());
  CHECK(logs.contains("larger than max_message_size"));
}

TEST_CASE("UDP request without mandatory headers is answered 400") {
  asio::io_context io;
  log_capture logs;
  manager server(io, config_for({{protocol::udp, "127.0.0.1", 0}}, logs));
  inbox at_server;
  at_server.attach(server);
  REQUIRE(!server.start());
  raw_udp peer(io);
  std::string req = options_request("UDP", peer.local().to_string());
  req.erase(req.find("Call-ID"), req.find("CSeq") - req.find("Call-ID"));
  peer.send(req, bound(server, protocol::udp));
  REQUIRE(run_until(io, [&] { return peer.got.size() == 1; }));
  CHECK(peer.got[0].rfind("SIP/2.0 400 Bad Request (missing Call-ID header)", 0) == 0);
  CHECK(at_server.items.empty());
}

TEST_CASE("UDP request above 1300 bytes goes over TCP with the top Via rewritten") {
  asio::io_context io;
  log_capture logs;
  manager server(io, config_for({{protocol::udp, "127.0.0.1", 0}}, logs));
  // The server must listen on TCP at the same port as UDP: pick UDP first, then TCP.
  REQUIRE(!server.start());
  const endpoint s = bound(server, protocol::udp);
  auto cfg2 = config_for({{protocol::tcp, "127.0.0.1", s.port}}, logs);
  manager server_tcp(io, cfg2);
  inbox at_server;
  at_server.attach(server);
  at_server.attach(server_tcp);
  REQUIRE(!server_tcp.start());
  manager client(io, config_for({{protocol::udp, "127.0.0.1", 0}}, logs));
  REQUIRE(!client.start());

  auto big = owned(options_request("UDP", "127.0.0.1:5999", "z9hG4bK-big", ";rport",
                                   std::string(1400, 'b')));
  protocol used = protocol::udp;
  bool called = false;
  REQUIRE(!client.send_request(big, to(protocol::udp, s),
                               [&](std::error_code ec, const send_info& i) {
                                 CHECK(!ec);
                                 used = i.transport;
                                 called = true;
                               }));
  REQUIRE(run_until(io, [&] { return at_server.items.size() == 1 && called; }));
  CHECK(used == protocol::tcp);
  CHECK(at_server.items[0].meta.transport == protocol::tcp);
  CHECK(at_server.items[0].msg.top_via()->transport == "TCP");
  CHECK(at_server.items[0].msg.body() == std::string(1400, 'b'));
  CHECK(client.stats(protocol::udp).messages_out == 0);
  CHECK(client.stats(protocol::tcp).messages_out == 1);
}

TEST_CASE("UDP to TCP switch can be turned off") {
  asio::io_context io;
  log_capture logs;
  manager server(io, config_for({{protocol::udp, "127.0.0.1", 0}}, logs));
  inbox at_server;
  at_server.attach(server);
  REQUIRE(!server.start());
  auto cfg = config_for({{protocol::udp, "127.0.0.1", 0}}, logs);
  cfg.udp_to_tcp_threshold = 0;
  manager client(io, cfg);
  REQUIRE(!client.start());
  auto big = owned(options_request("UDP", "127.0.0.1:5999", "z9hG4bK-big", ";rport",
                                   std::string(1400, 'b')));
  REQUIRE(!client.send_request(big, to(protocol::udp, bound(server, protocol::udp))));
  REQUIRE(run_until(io, [&] { return at_server.items.size() == 1; }));
  CHECK(at_server.items[0].meta.transport == protocol::udp);
}

TEST_CASE("sips target is refused on anything but TLS") {
  asio::io_context io;
  log_capture logs;
  manager client(io, config_for({{protocol::udp, "127.0.0.1", 0}}, logs));
  REQUIRE(!client.start());
  target t = to(protocol::udp, bound(client, protocol::udp));
  t.secure = true;
  CHECK(client.send_request(owned(options_request("UDP", "127.0.0.1:5060")), t) ==
        make_error_code(error::sips_requires_tls));
  t.transport = protocol::tcp;
  CHECK(client.send_bytes("x", t) == make_error_code(error::sips_requires_tls));
}

TEST_CASE("UDP keep-alive CRLF datagrams are ignored quietly") {
  asio::io_context io;
  log_capture logs;
  manager server(io, config_for({{protocol::udp, "127.0.0.1", 0}}, logs));
  inbox at_server;
  at_server.attach(server);
  REQUIRE(!server.start());
  raw_udp peer(io);
  peer.send("\r\n\r\n", bound(server, protocol::udp));
  peer.send(options_request("UDP", peer.local().to_string()), bound(server, protocol::udp));
  REQUIRE(run_until(io, [&] { return at_server.items.size() == 1; }));
  CHECK(server.stats(protocol::udp).drops == 0);
  CHECK(server.stats(protocol::udp).bytes_in > 4);
}

TEST_CASE("debug level traces every message as SENT to / RECEIVED from") {
  asio::io_context io;
  log_capture logs;
  auto cfg = config_for({{protocol::udp, "127.0.0.1", 0}}, logs);
  cfg.log = logs.make(sipkit::log_level::debug);
  manager m(io, cfg);
  inbox in;
  in.attach(m);
  REQUIRE(!m.start());
  const endpoint s = bound(m, protocol::udp);
  REQUIRE(!m.send_request(owned(options_request("UDP", s.to_string())), to(protocol::udp, s)));
  REQUIRE(run_until(io, [&] { return in.items.size() == 1; }));
  CHECK(logs.contains("SENT to UDP " + s.to_string()));
  CHECK(logs.contains("RECEIVED from UDP " + s.to_string()));
  CHECK(logs.contains("OPTIONS sip:bob@example.com SIP/2.0"));
}

TEST_CASE("UDP datagrams sent while a receive batch is handled leave after it, in order") {
  asio::io_context io;
  log_capture logs;
  manager server(io, config_for({{protocol::udp, "127.0.0.1", 0}}, logs));
  manager client(io, config_for({{protocol::udp, "127.0.0.1", 0}}, logs));
  manager other(io, config_for({{protocol::udp, "127.0.0.1", 0}}, logs));
  inbox at_client, at_other;
  at_client.attach(client);
  at_other.attach(other);
  REQUIRE(!server.start());
  REQUIRE(!client.start());
  REQUIRE(!other.start());
  const endpoint s = bound(server, protocol::udp);
  const endpoint c = bound(client, protocol::udp);
  const endpoint o = bound(other, protocol::udp);

  // Five datagrams from one handler: to the client, to another peer, to port 0 (the
  // kernel refuses it with EINVAL), to the client again, to the other peer again.
  std::vector<std::error_code> returned;
  std::vector<std::error_code> outcomes(5, make_error_code(error::not_started));
  std::uint64_t out_inside_handler = 99;
  server.on_message([&](const incoming_message&) {
    const endpoint dest[] = {c, o, {c.address, 0}, c, o};
    for (std::size_t i = 0; i < 5; ++i) {
      returned.push_back(server.send_bytes(
          options_request("UDP", s.to_string(), "z9hG4bK-b" + std::to_string(i)),
          to(protocol::udp, dest[i]),
          [&outcomes, i](std::error_code ec, const send_info&) { outcomes[i] = ec; }));
    }
    out_inside_handler = server.stats(protocol::udp).messages_out;
  });

  REQUIRE(!client.send_bytes(options_request("UDP", c.to_string()), to(protocol::udp, s)));
  REQUIRE(run_until(io, [&] { return at_client.items.size() == 2 && at_other.items.size() == 2; }));
  REQUIRE(run_until(io, [&] {
    return std::none_of(outcomes.begin(), outcomes.end(),
                        [](std::error_code ec) { return ec == error::not_started; });
  }));

  // Queued, not sent, while the handler ran; each send accepted (the refusal came later).
  CHECK(out_inside_handler == 0);
  REQUIRE(returned.size() == 5);
  for (const auto& ec : returned) CHECK(!ec);
  // In the order sent, at each destination; the refused one did not stop the rest.
  CHECK(at_client.items[0].msg.top_via()->branch == "z9hG4bK-b0");
  CHECK(at_client.items[1].msg.top_via()->branch == "z9hG4bK-b3");
  CHECK(at_other.items[0].msg.top_via()->branch == "z9hG4bK-b1");
  CHECK(at_other.items[1].msg.top_via()->branch == "z9hG4bK-b4");
  CHECK(!outcomes[0]);
  CHECK(!outcomes[1]);
  CHECK(outcomes[2] == std::errc::invalid_argument);
  CHECK(!outcomes[3]);
  CHECK(!outcomes[4]);
  const auto st = server.stats(protocol::udp);
  CHECK(st.messages_out == 4);
  CHECK(st.send_errors == 1);
  CHECK(logs.contains("failed"));
}

TEST_CASE("UDP datagrams queued in a receive batch still leave when the handler stops the manager") {
  asio::io_context io;
  log_capture logs;
  manager server(io, config_for({{protocol::udp, "127.0.0.1", 0}}, logs));
  manager client(io, config_for({{protocol::udp, "127.0.0.1", 0}}, logs));
  inbox at_client;
  at_client.attach(client);
  REQUIRE(!server.start());
  REQUIRE(!client.start());
  const endpoint s = bound(server, protocol::udp);
  const endpoint c = bound(client, protocol::udp);
  server.on_message([&](const incoming_message&) {
    CHECK(!server.send_bytes(options_request("UDP", s.to_string(), "z9hG4bK-last"),
                             to(protocol::udp, c)));
    server.stop();
  });
  REQUIRE(!client.send_bytes(options_request("UDP", c.to_string()), to(protocol::udp, s)));
  REQUIRE(run_until(io, [&] { return at_client.items.size() == 1; }));
  CHECK(at_client.items[0].msg.top_via()->branch == "z9hG4bK-last");
  CHECK(server.stats(protocol::udp).messages_out == 1);
}

TEST_CASE("A batched UDP response the kernel refuses is reported by its cookie") {
  asio::io_context io;
  log_capture logs;
  manager server(io, config_for({{protocol::udp, "127.0.0.1", 0}}, logs));
  manager client(io, config_for({{protocol::udp, "127.0.0.1", 0}}, logs));
  inbox at_client;
  at_client.attach(client);
  REQUIRE(!server.start());
  REQUIRE(!client.start());
  const endpoint s = bound(server, protocol::udp);
  const endpoint c = bound(client, protocol::udp);
  std::vector<std::pair<std::uint64_t, std::error_code>> errors;
  server.on_datagram_error([&](std::uint64_t cookie, std::error_code ec) {
    errors.emplace_back(cookie, ec);
  });
  std::error_code returned = make_error_code(error::not_started);
  server.on_message([&](const incoming_message& in) {
    // Two responses: one to a broadcast maddr (refused: no SO_BROADCAST), then the
    // real one, each with a cookie and no handler.
    auto bad = parser::make_response(in.to_message(), 200, {}, "t1");
    auto via = std::string(bad.get(parser::header_id::via).value_or(""));
    replace_top_via(bad, via + ";maddr=255.255.255.255");
    returned = server.send_response(bad, in.connection, {}, 7);
    CHECK(!server.send_response(parser::make_response(in.to_message(), 200, {}, "t2"),
                                in.connection, {}, 8));
  });
  REQUIRE(!client.send_bytes(options_request("UDP", c.to_string()), to(protocol::udp, s)));
  REQUIRE(run_until(io, [&] { return at_client.items.size() == 1 && errors.size() == 1; }));
  CHECK(!returned);  // queued: the refusal came after
  CHECK(errors[0].first == 7);
  CHECK(errors[0].second == std::errc::permission_denied);
  CHECK(at_client.items[0].msg.status_code() == 200);
  CHECK(server.stats(protocol::udp).send_errors == 1);
  CHECK(server.stats(protocol::udp).messages_out == 1);
}
