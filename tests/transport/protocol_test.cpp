// The one transport_protocol (sipkit/transport_protocol.hpp): its names, the older aliases
// of the transport and transaction layers, and the transport manager's refusal of the
// protocol it does not run (SCTP) without touching its per-protocol tables.
#include <type_traits>

#include "sipkit/transaction/transport.hpp"
#include "sipkit/transport_protocol.hpp"
#include "transport/support.hpp"

using namespace sipkit::transport;
using namespace sipkit::transport::test;
using sipkit::transport_protocol;

// One type under three names: code written against either older name still compiles, and
// nothing converts between them.
static_assert(std::is_same_v<sipkit::transport::protocol, transport_protocol>);
static_assert(std::is_same_v<sipkit::transaction::transport_protocol, transport_protocol>);
// The transport indexes its statistics by the enum's values, one row for each.
static_assert(static_cast<int>(transport_protocol::udp) == 0);
static_assert(static_cast<int>(transport_protocol::tcp) == 1);
static_assert(static_cast<int>(transport_protocol::tls) == 2);
static_assert(static_cast<int>(transport_protocol::wss) == 5);
static_assert(protocol_count == 6);
// No I/O needed: usable in constant expressions by the sans-I/O layers.
static_assert(sipkit::parse_transport_protocol("Wss") == transport_protocol::wss);
static_assert(sipkit::default_port(transport_protocol::tls) == 5061);

TEST_CASE("transport_protocol names are the Via tokens and the ;transport= values") {
  const std::pair<transport_protocol, const char*> all[] = {
      {transport_protocol::udp, "UDP"}, {transport_protocol::tcp, "TCP"},
      {transport_protocol::tls, "TLS"}, {transport_protocol::sctp, "SCTP"},
      {transport_protocol::ws, "WS"},   {transport_protocol::wss, "WSS"}};
  for (const auto& [p, via] : all) {
    CHECK(sipkit::to_string(p) == via);
    CHECK(sipkit::via_transport_name(p) == via);
    // The older names reach the same functions.
    CHECK(sipkit::transport::to_string(p) == via);
    CHECK(sipkit::transaction::via_transport_name(p) == via);
    std::string lower(via);
    for (char& c : lower) c = static_cast<char>(c - 'A' + 'a');
    CHECK(sipkit::transport_param_name(p) == lower);
    CHECK(sipkit::parse_transport_protocol(via) == p);
    CHECK(sipkit::parse_transport_protocol(lower) == p);
  }
  CHECK_FALSE(sipkit::parse_transport_protocol("udp "));
  CHECK_FALSE(sipkit::parse_transport_protocol("DCCP"));
  CHECK_FALSE(sipkit::parse_transport_protocol(""));
}

TEST_CASE("transport::protocol_from_string knows only the protocols the transport runs") {
  CHECK(protocol_from_string("udp") == protocol::udp);
  CHECK(protocol_from_string("TCP") == protocol::tcp);
  CHECK(protocol_from_string("Tls") == protocol::tls);
  CHECK(protocol_from_string("ws") == protocol::ws);
  CHECK(protocol_from_string("WSS") == protocol::wss);
  CHECK_FALSE(protocol_from_string("SCTP"));
  CHECK(runs(protocol::tls));
  CHECK(runs(protocol::ws));
  CHECK(runs(protocol::wss));
  CHECK_FALSE(runs(protocol::sctp));
  CHECK(is_websocket(protocol::ws));
  CHECK(is_websocket(protocol::wss));
  CHECK_FALSE(is_websocket(protocol::tcp));
}

TEST_CASE("Only UDP is unreliable; TLS defaults to port 5061, everything else to 5060") {
  CHECK_FALSE(is_reliable(protocol::udp));
  CHECK(sipkit::transaction::is_reliable(protocol::tcp));
  CHECK(is_reliable(protocol::ws));
  CHECK(default_port(protocol::udp) == 5060);
  CHECK(default_port(protocol::tls) == 5061);
  CHECK(default_port(protocol::ws) == 5060);
}

TEST_CASE("The transport refuses to send over SCTP and counts nothing") {
  asio::io_context io;
  log_capture logs;
  manager m(io, config_for({{protocol::udp, "127.0.0.1", 0}}, logs));
  REQUIRE(!m.start());
  const endpoint self = bound(m, protocol::udp);
  const auto req = owned(options_request("WS", "127.0.0.1:5060"));
  const protocol p = protocol::sctp;
  CHECK(m.send_request(req, to(p, self)) == make_error_code(error::unsupported_transport));
  CHECK(m.send_bytes("OPTIONS", to(p, self)) == make_error_code(error::unsupported_transport));
  CHECK(m.stats(p).sends_refused == 0);  // its row stays all zero
  CHECK(m.stats(protocol::udp).sends_refused == 0);
  CHECK(m.stats(protocol::udp).messages_out == 0);
}

TEST_CASE("A listen point over SCTP fails start() with unsupported_transport") {
  asio::io_context io;
  log_capture logs;
  manager m(io, config_for({{protocol::sctp, "127.0.0.1", 0}}, logs));
  CHECK(m.start() == make_error_code(error::unsupported_transport));
  CHECK(m.listeners().empty());
}
