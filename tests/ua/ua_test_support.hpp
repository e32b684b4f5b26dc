// Two user_agents (or one and a raw socket) on one io_context over loopback, for the UA
// tests. Every wait is bounded by a deadline; nothing sleeps and no duration is asserted.
#pragma once

#include <boost/asio/io_context.hpp>
#include <chrono>
#include <memory>
#include <string>

#include "sipkit/ua/user_agent.hpp"

namespace sipkit::test {

using namespace std::chrono_literals;

/// Run handlers until `done()` or a deadline; returns done().
template <class Pred>
bool run_until(boost::asio::io_context& io, Pred done, std::chrono::milliseconds timeout = 5000ms) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  while (!done()) {
    const auto now = std::chrono::steady_clock::now();
    if (now >= deadline) return false;
    if (io.stopped()) io.restart();
    io.run_one_for(std::min<std::chrono::steady_clock::duration>(deadline - now, 20ms));
  }
  return true;
}

/// A UA config on 127.0.0.1 with a free port, PCMU/PCMA audio, quiet logs.
inline ua::ua_config loopback_config(std::string user,
                                     transport::protocol p = transport::protocol::udp) {
  ua::ua_config cfg;
  cfg.user = std::move(user);
  cfg.transport.listen = {{p, "127.0.0.1", 0}};
  cfg.transport.log = logger(log_level::error);
  cfg.log = logger(log_level::error);
  cfg.media.streams = {{"audio", 40000, "RTP/AVP", {{"PCMU", 8000}, {"PCMA", 8000}}}};
  if (p == transport::protocol::tcp) cfg.default_transport = transaction::transport_protocol::tcp;
  return cfg;
}

/// "sip:<user>@127.0.0.1:<port>" of an agent's first listener of protocol `p`.
inline std::string uri_of(const ua::user_agent& agent, std::string_view user,
                          transport::protocol p = transport::protocol::udp) {
  std::string uri = "sip:" + std::string(user) + "@" + agent.local_address(p);
  if (p == transport::protocol::tcp) uri += ";transport=tcp";
  return uri;
}

}  // namespace sipkit::test
