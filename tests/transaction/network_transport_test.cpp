// network_transport on loopback: two stacks (transport::manager + network_transport +
// asio_adapter) on one io_context, a NICT on one side and a NIST on the other. Every wait
// is bounded by a deadline; nothing sleeps and no duration is asserted.
#include "sipkit/transaction/network_transport.hpp"

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <chrono>
#include <memory>
#include <string>
#include <vector>

#include "sipkit/transaction/asio_adapter.hpp"
#include "sipkit/transaction/error.hpp"
#include "sipkit/transport/error.hpp"
#include "transaction/harness.hpp"

using namespace sipkit::test;
using sipkit::parser::message;
namespace net = sipkit::transport;
namespace asio = boost::asio;

namespace {

/// Run handlers until `done()` or a deadline; returns done().
template <class Pred>
bool run_until(asio::io_context& io, Pred done, std::chrono::milliseconds timeout = 5000ms) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  while (!done()) {
    const auto now = std::chrono::steady_clock::now();
    if (now >= deadline) return false;
    if (io.stopped()) io.restart();
    io.run_one_for(std::min<std::chrono::steady_clock::duration>(deadline - now, 50ms));
  }
  return true;
}

/// A UA core that answers every request 200 and records what it sees.
struct recording_core final : tx::transaction_user {
  tx::asio_adapter* stack = nullptr;
  struct request_seen {
    std::string method;
    std::string top_via;
    tx::endpoint source;
  };
  std::vector<request_seen> requests;
  std::vector<int> codes;
  std::vector<std::error_code> failures;
  int terminated = 0;
  bool answer = true;  // false: requests are seen but never answered

  void on_request(tx::transaction_id id, const message& req, const tx::endpoint& source,
                  tx::transaction_id) override {
    requests.push_back({std::string(req.method_text()),
                        std::string(req.get(header_id::via).value_or("")), source});
    if (answer) stack->respond(id, sample_response(req, 200));
  }
  void on_response(tx::transaction_id, const message& rsp) override {
    codes.push_back(rsp.status_code());
  }
  void on_ack(const message&, const tx::endpoint&, tx::transaction_id) override {}
  void on_stray_response(const message&, const tx::endpoint&) override {}
  void on_failure(tx::transaction_id, std::error_code ec) override { failures.push_back(ec); }
  void on_terminated(tx::transaction_id) override { ++terminated; }
};

/// One SIP stack on loopback listening on 127.0.0.1 with a free port.
struct loopback_stack {
  net::manager network;
  tx::network_transport tp;
  recording_core core;
  tx::asio_adapter stack;

  loopback_stack(asio::io_context& io, net::protocol p)
      : network(io, config_for(p)), tp(network), stack(io.get_executor(), tp, core) {
    core.stack = &stack;
    tp.set_receiver(stack);
    REQUIRE_FALSE(network.start());
  }
  ~loopback_stack() { tp.set_receiver(nullptr); }

  static net::transport_config config_for(net::protocol p) {
    net::transport_config cfg;
    cfg.listen = {{p, "127.0.0.1", 0}};
    cfg.log = sipkit::logger(sipkit::log_level::error);  // the refused connect is expected
    return cfg;
  }
  std::uint16_t port() const { return network.listeners().at(0).local.port; }
  tx::endpoint address(tx::transport_protocol p) const { return {"127.0.0.1", port(), p, 0}; }
};

}  // namespace

TEST_CASE("network_transport maps the transport library's protocols both ways") {
  REQUIRE(tx::to_transport_protocol(tx::transport_protocol::udp) == net::protocol::udp);
  REQUIRE(tx::to_transport_protocol(tx::transport_protocol::tcp) == net::protocol::tcp);
  REQUIRE(tx::to_transport_protocol(tx::transport_protocol::tls) == net::protocol::tls);
  REQUIRE(tx::to_transport_protocol(tx::transport_protocol::ws) == net::protocol::ws);
  REQUIRE_FALSE(tx::to_transport_protocol(tx::transport_protocol::sctp));
  REQUIRE(tx::to_transaction_protocol(net::protocol::udp) == tx::transport_protocol::udp);
  REQUIRE(tx::to_transaction_protocol(net::protocol::tcp) == tx::transport_protocol::tcp);
  REQUIRE(tx::to_transaction_protocol(net::protocol::tls) == tx::transport_protocol::tls);
}

TEST_CASE("to_endpoint and to_target convert between a transport address and a hop") {
  const net::endpoint v6{asio::ip::make_address("2001:db8::7"), 5070};
  const tx::endpoint hop = tx::to_endpoint(tx::transport_protocol::tcp, v6, 42);
  CHECK(hop.host == "2001:db8::7");  // no brackets: the transaction layer's form
  CHECK(hop.port == 5070);
  CHECK(hop.protocol == tx::transport_protocol::tcp);
  CHECK(hop.connection == 42);

  net::target t;
  t.transport = net::protocol::tls;
  t.remote = {asio::ip::make_address("192.0.2.9"), 5061};
  CHECK(tx::to_endpoint(t) == tx::endpoint{"192.0.2.9", 5061, tx::transport_protocol::tls, 0});

  const auto back = tx::to_target(hop);
  REQUIRE(back);
  CHECK(back->transport == net::protocol::tcp);
  CHECK(back->remote == v6);
  CHECK_FALSE(tx::to_target({"example.com", 5060, tx::transport_protocol::udp, 0}));
}

TEST_CASE("network_transport refuses a request over SCTP, which the transport does not run") {
  asio::io_context io;
  net::transport_config cfg;
  cfg.listen = {{net::protocol::udp, "127.0.0.1", 0}};
  cfg.log = sipkit::logger(sipkit::log_level::off);
  net::manager network(io, cfg);
  tx::network_transport tp(network);
  REQUIRE(!network.start());
  const auto request = sample_uac_request("OPTIONS");
  CHECK(tp.send(request, {"127.0.0.1", 5060, tx::transport_protocol::sctp, 0}, {}) ==
        make_error_code(net::error::unsupported_transport));
  CHECK(tp.via_sent_by({"127.0.0.1", 5060, tx::transport_protocol::sctp, 0}).empty());
}

TEST_CASE("A NICT over UDP on loopback gets the 200 of a NIST in another stack") {
  asio::io_context io;
  loopback_stack uac(io, net::protocol::udp);
  loopback_stack uas(io, net::protocol::udp);

  auto r = uac.stack.start_client(sample_uac_request("OPTIONS"),
                                  {uas.address(tx::transport_protocol::udp)});
  REQUIRE(r);
  REQUIRE(run_until(io, [&] { return !uac.core.codes.empty(); }));

  REQUIRE(uac.core.codes == std::vector<int>{200});
  REQUIRE(uac.core.failures.empty());
  REQUIRE(uas.core.requests.size() == 1);
  const auto& seen = uas.core.requests.front();
  REQUIRE(seen.method == "OPTIONS");
  REQUIRE(seen.source.host == "127.0.0.1");
  REQUIRE(seen.source.port == uac.port());
  REQUIRE(seen.source.protocol == tx::transport_protocol::udp);
  // The UAC's Via names its own listener; the UAS's transport filled rport (RFC 3581).
  REQUIRE(seen.top_via.starts_with("SIP/2.0/UDP 127.0.0.1:" + std::to_string(uac.port()) +
                                   ";branch=z9hG4bK"));
  REQUIRE(seen.top_via.find(";rport=" + std::to_string(uac.port())) != std::string::npos);
  // Over UDP both transactions now linger in Completed (Timers K and J).
  REQUIRE(uac.stack.get().size() == 1);
  REQUIRE(uas.stack.get().size() == 1);
}

TEST_CASE("A NICT over TCP on loopback gets the 200 back on the connection it opened") {
  asio::io_context io;
  loopback_stack uac(io, net::protocol::tcp);
  loopback_stack uas(io, net::protocol::tcp);

  auto r = uac.stack.start_client(sample_uac_request("OPTIONS"),
                                  {uas.address(tx::transport_protocol::tcp)});
  REQUIRE(r);
  REQUIRE(run_until(io, [&] { return !uac.core.codes.empty(); }));

  REQUIRE(uac.core.codes == std::vector<int>{200});
  REQUIRE(uas.core.requests.size() == 1);
  const auto& seen = uas.core.requests.front();
  REQUIRE(seen.source.protocol == tx::transport_protocol::tcp);
  REQUIRE(seen.source.connection != 0);
  REQUIRE(seen.source.port != uac.port());  // an ephemeral port, not the UAC's listener
  // §18.2.2: the response went back on the accepted connection; the UAS opened none (a
  // response sent by the Via would have connected to the UAC's listener).
  REQUIRE(uas.network.stats(net::protocol::tcp).connections_accepted == 1);
  REQUIRE(uas.network.stats(net::protocol::tcp).connections_opened == 0);
  REQUIRE(uac.network.stats(net::protocol::tcp).connections_opened == 1);
  REQUIRE(uac.network.stats(net::protocol::tcp).connections_accepted == 0);
  // Reliable transport: Timers K and J are zero, both transactions are gone.
  REQUIRE(run_until(io, [&] { return uac.core.terminated == 1 && uas.core.terminated == 1; }));
  REQUIRE(uac.stack.get().size() == 0);
  REQUIRE(uas.stack.get().size() == 0);
}

TEST_CASE("A TCP send to a closed port fails the NICT with the connect error") {
  asio::io_context io;
  loopback_stack uac(io, net::protocol::tcp);
  std::uint16_t closed_port = 0;
  {
    // Bind a port and release it: nothing listens there afterwards.
    asio::ip::tcp::acceptor probe(io, {asio::ip::make_address("127.0.0.1"), 0});
    closed_port = probe.local_endpoint().port();
  }

  auto r = uac.stack.start_client(sample_uac_request("OPTIONS"),
                                  {{"127.0.0.1", closed_port, tx::transport_protocol::tcp, 0}});
  REQUIRE(r);  // the connect is asynchronous: send() itself succeeded
  REQUIRE(run_until(io, [&] { return !uac.core.failures.empty(); }));

  // §17.1.4: the transport error reaches the TU long before Timer F (32 s).
  REQUIRE(uac.core.failures.size() == 1);
  REQUIRE(uac.core.failures[0] != tx::error::timeout);
  REQUIRE(uac.core.failures[0] == std::errc::connection_refused);
  REQUIRE(uac.core.codes.empty());
  REQUIRE(uac.core.terminated == 1);
  REQUIRE(uac.stack.get().size() == 0);
}

TEST_CASE("A TCP connection closed before the response fails the NICT that sent on it") {
  asio::io_context io;
  loopback_stack uac(io, net::protocol::tcp);
  loopback_stack uas(io, net::protocol::tcp);
  uas.core.answer = false;

  auto r = uac.stack.start_client(sample_uac_request("OPTIONS"),
                                  {uas.address(tx::transport_protocol::tcp)});
  REQUIRE(r);
  REQUIRE(run_until(io, [&] { return uas.core.requests.size() == 1; }));
  uas.network.close_connection(uas.core.requests.front().source.connection);
  REQUIRE(run_until(io, [&] { return !uac.core.failures.empty(); }));

  // §17.1.4: the close is the transaction's transport error, not a Timer F timeout.
  REQUIRE(uac.core.failures.size() == 1);
  REQUIRE(uac.core.failures[0] == net::error::connection_closed);
  REQUIRE(uac.core.codes.empty());
  REQUIRE(uac.core.terminated == 1);
  REQUIRE(uac.stack.get().size() == 0);
}

TEST_CASE("network_transport refuses request destinations it cannot reach at once") {
  asio::io_context io;
  loopback_stack uac(io, net::protocol::udp);
  const message req = sample_request("OPTIONS");
  REQUIRE(uac.tp.send(req, {"127.0.0.1", 5060, tx::transport_protocol::sctp, 0}, {}) ==
          net::error::unsupported_transport);
  REQUIRE(uac.tp.send(req, {"sip.example.com", 5060, tx::transport_protocol::udp, 0}, {}) ==
          std::errc::invalid_argument);
  // No TCP listener in this stack: nothing to put in a TCP Via.
  REQUIRE(uac.tp.via_sent_by({"127.0.0.1", 5060, tx::transport_protocol::tcp, 0}).empty());
  REQUIRE(uac.tp.via_sent_by({"127.0.0.1", 5060, tx::transport_protocol::udp, 0}) ==
          "127.0.0.1:" + std::to_string(uac.port()));
}

TEST_CASE("network_transport puts the routed local address in the Via of a wildcard listener") {
  asio::io_context io;
  net::transport_config cfg;
  cfg.listen = {{net::protocol::udp, "0.0.0.0", 0}};
  cfg.log = sipkit::logger(sipkit::log_level::error);
  net::manager network(io, cfg);
  tx::network_transport tp(network);
  REQUIRE_FALSE(network.start());
  const auto port = network.listeners().at(0).local.port;
  REQUIRE(tp.via_sent_by({"127.0.0.1", 5060, tx::transport_protocol::udp, 0}) ==
          "127.0.0.1:" + std::to_string(port));
}

TEST_CASE("A request to a WebSocket peer whose connection is gone fails its NICT at once") {
  // RFC 7118 §5.2: a WebSocket client is reached over its own connection only. When that
  // is gone the send fails synchronously with flow_gone, so the transaction ends now
  // instead of waiting for Timer F, and no connection to the client's port is tried.
  asio::io_context io;
  loopback_stack browser(io, net::protocol::ws);  // only its outgoing connection is used
  loopback_stack server(io, net::protocol::ws);
  REQUIRE(browser.stack.start_client(sample_uac_request("OPTIONS"),
                                     {server.address(tx::transport_protocol::ws)}));
  REQUIRE(run_until(io, [&] { return browser.core.codes.size() == 1; }));
  REQUIRE(server.core.requests.size() == 1);
  const tx::endpoint flow = server.core.requests[0].source;
  REQUIRE(flow.protocol == tx::transport_protocol::ws);
  REQUIRE(flow.connection != 0);
  server.network.close_connection(flow.connection);

  (void)server.stack.start_client(sample_uac_request("OPTIONS"), {flow});
  REQUIRE(server.core.failures.size() == 1);  // before any handler or timer ran
  CHECK(server.core.failures[0] == net::error::flow_gone);
  CHECK(server.network.stats(net::protocol::ws).connections_opened == 0);
  CHECK(server.network.connection_count() == 0);
}

TEST_CASE("network_transport's Via sent-by follows the listeners as they change") {
  // The sent-by is kept per protocol and address family; start() and stop() change the
  // listeners, and the next request must see that.
  asio::io_context io;
  net::transport_config cfg;
  cfg.listen = {{net::protocol::udp, "127.0.0.1", 0}};
  cfg.log = sipkit::logger(sipkit::log_level::off);
  net::manager network(io, cfg);
  tx::network_transport tp(network);
  const tx::endpoint to{"127.0.0.1", 5060, tx::transport_protocol::udp, 0};
  const auto before = network.listeners_version();
  CHECK(tp.via_sent_by(to).empty());  // nothing bound yet
  REQUIRE_FALSE(network.start());
  CHECK(network.listeners_version() != before);
  const auto port = network.listeners().at(0).local.port;
  CHECK(tp.via_sent_by(to) == "127.0.0.1:" + std::to_string(port));
  CHECK(tp.via_sent_by(to) == "127.0.0.1:" + std::to_string(port));  // the kept one
  CHECK(tp.via_sent_by({"::1", 5060, tx::transport_protocol::udp, 0}).empty());  // no IPv6 listener
  network.stop();
  CHECK(tp.via_sent_by(to).empty());
}

TEST_CASE("A server transaction learns that its UDP response, sent with a receive batch, failed") {
  // §17.2.4: the 200 is answered from inside the receive batch, so it leaves after
  // respond() returned; the kernel refuses it (a broadcast maddr without SO_BROADCAST)
  // and the failure still reaches the transaction and its TU.
  asio::io_context io;
  loopback_stack server(io, net::protocol::udp);
  net::transport_config cfg = loopback_stack::config_for(net::protocol::udp);
  net::manager client(io, cfg);
  REQUIRE_FALSE(client.start());
  const auto c = client.listeners().at(0).local;
  std::string req = "OPTIONS sip:bob@127.0.0.1 SIP/2.0\r\n";
  req += "Via: SIP/2.0/UDP " + c.to_string() + ";branch=z9hG4bK-maddr;maddr=255.255.255.255\r\n";
  req += "Max-Forwards: 70\r\nFrom: <sip:a@example.com>;tag=1\r\nTo: <sip:bob@example.com>\r\n";
  req += "Call-ID: batched-failure@example.com\r\nCSeq: 1 OPTIONS\r\nContent-Length: 0\r\n\r\n";
  net::target to;
  to.transport = net::protocol::udp;
  to.remote = {asio::ip::make_address("127.0.0.1"), server.port()};
  REQUIRE_FALSE(client.send_bytes(req, to));
  REQUIRE(run_until(io, [&] { return server.core.failures.size() == 1; }));
  CHECK(server.core.requests.size() == 1);
  CHECK(server.core.failures[0] == std::errc::permission_denied);
  CHECK(server.network.stats(net::protocol::udp).send_errors == 1);
}
