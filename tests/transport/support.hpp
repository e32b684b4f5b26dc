// Helpers shared by the transport tests: bounded io_context runs, canned messages,
// a log capture. Every wait has a deadline so that a failing test never hangs.
#pragma once

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/udp.hpp>
#include <catch2/catch.hpp>
#include <chrono>
#include <memory>
#include <string>
#include <vector>

#include "sipkit/parser/message.hpp"
#include "sipkit/parser/message_view.hpp"
#include "sipkit/transport/manager.hpp"

namespace sipkit::transport::test {

using namespace std::chrono_literals;
namespace asio = boost::asio;

/// Run handlers until `done()` or the timeout; returns done().
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

/// Run handlers for a fixed time (to show that something does NOT happen).
inline void run_for(asio::io_context& io, std::chrono::milliseconds d) {
  if (io.stopped()) io.restart();
  io.run_for(d);
}

/// An OPTIONS request with a top Via of the given transport and sent-by.
inline std::string options_request(std::string_view transport, std::string_view sent_by,
                                   std::string_view branch = "z9hG4bK-1",
                                   std::string_view via_params = ";rport",
                                   std::string_view body = {}) {
  std::string s = "OPTIONS sip:bob@example.com SIP/2.0\r\n";
  s += "Via: SIP/2.0/" + std::string(transport) + " " + std::string(sent_by) +
       ";branch=" + std::string(branch) + std::string(via_params) + "\r\n";
  s += "Max-Forwards: 70\r\n";
  s += "From: <sip:alice@example.com>;tag=1928301774\r\n";
  s += "To: <sip:bob@example.com>\r\n";
  s += "Call-ID: a84b4c76e66710@pc33.example.com\r\n";
  s += "CSeq: 63104 OPTIONS\r\n";
  if (!body.empty()) s += "Content-Type: text/plain\r\n";
  s += "Content-Length: " + std::to_string(body.size()) + "\r\n\r\n";
  s += body;
  return s;
}

inline parser::message owned(const std::string& bytes) {
  static parser::message_view view;  // large: keep it off the stack
  auto err = parser::parse_message(bytes, view);
  INFO(err.message());
  REQUIRE(!err);
  return parser::message::from_view(view);
}

/// A received message kept beyond the callback.
struct received {
  parser::message msg;
  incoming_message meta;  ///< view is dangling; the other fields are valid
};

/// Collects messages delivered by a manager.
struct inbox {
  std::vector<received> items;
  void attach(manager& m) {
    m.on_message([this](const incoming_message& in) {
      received r{in.to_message(), in};
      r.meta.view = nullptr;
      items.push_back(std::move(r));
    });
  }
};

/// Captures log records (and keeps the output quiet).
struct log_capture {
  std::shared_ptr<std::vector<std::string>> lines = std::make_shared<std::vector<std::string>>();
  logger make(log_level level = log_level::info) const {
    auto sink = lines;
    return logger(level, [sink](const log_record& r) { sink->emplace_back(r.text); });
  }
  bool contains(std::string_view needle) const {
    for (const auto& l : *lines)
      if (l.find(needle) != std::string::npos) return true;
    return false;
  }
};

/// The loopback addresses the tests run on. ::1 must exist: the test fails (never
/// skips) when it does not, because IPv6 support is part of the acceptance criteria.
inline void require_ipv6_loopback() {
  asio::io_context io;
  asio::ip::udp::socket s(io);
  boost::system::error_code ec;
  s.open(asio::ip::udp::v6(), ec);
  if (!ec) s.bind({asio::ip::make_address("::1"), 0}, ec);
  INFO("IPv6 loopback ::1 is not available on this host (" << ec.message()
                                                           << "); enable it to run this test");
  REQUIRE(!ec);
}

inline transport_config config_for(std::vector<listen_point> listen, const log_capture& logs) {
  transport_config cfg;
  cfg.listen = std::move(listen);
  cfg.log = logs.make();
  return cfg;
}

/// The first bound listener of a transport/family.
inline endpoint bound(const manager& m, protocol p, bool v6 = false) {
  for (const auto& l : m.listeners())
    if (l.transport == p && l.local.address.is_v6() == v6) return l.local;
  FAIL("no listener for the transport");
  return {};
}

inline target to(protocol p, const endpoint& e, std::string server_name = {}) {
  target t;
  t.transport = p;
  t.remote = e;
  t.server_name = std::move(server_name);
  return t;
}

/// A plain UDP socket on a chosen loopback address that queues every datagram it gets.
struct raw_udp {
  asio::ip::udp::socket sock;
  std::vector<char> buf = std::vector<char>(70000);
  asio::ip::udp::endpoint from;
  std::vector<std::string> got;
  explicit raw_udp(asio::io_context& io, const std::string& addr = "127.0.0.1")
      : sock(io, {asio::ip::make_address(addr), 0}) {
    receive();
  }
  void receive() {
    sock.async_receive_from(asio::buffer(buf), from,
                            [this](const boost::system::error_code& ec, std::size_t n) {
                              if (ec) return;
                              got.emplace_back(buf.data(), n);
                              receive();
                            });
  }
  endpoint local() const { return {sock.local_endpoint().address(), sock.local_endpoint().port()}; }
  void send(std::string_view bytes, const endpoint& to) {
    sock.send_to(asio::buffer(bytes.data(), bytes.size()), {to.address, to.port});
  }
};

}  // namespace sipkit::transport::test
