// responder: a stateless SIP responder on UDP, TCP and (optionally) TLS — the transport
// configuration of the README, as a program.
//
// What it shows: sipkit::transport's transport_config (listen points for IPv4 and IPv6,
// TLS files, limits, logging), manager::on_message / send_response, and the statistics.
// Every request but ACK gets a 200 OK (stateless: no transaction layer); responses are
// ignored. Useful as a target for sipsak or sipp when testing a network path.
//
// How to run it (from the build directory):
//   examples/responder 5070                          # UDP + TCP on 0.0.0.0 and ::, port 5070
//   examples/responder 5070 cert.pem key.pem         # also TLS on port 5071
//   sipsak -s sip:ping@127.0.0.1:5070                # in another terminal
// Ctrl-C stops it and prints the counters of each transport.
#include <boost/asio/io_context.hpp>
#include <boost/asio/signal_set.hpp>
#include <cstdio>
#include <cstdlib>
#include <string>

#include "sipkit/parser/message.hpp"
#include "sipkit/transport/manager.hpp"

namespace tp = sipkit::transport;

int main(int argc, char** argv) {
  if (argc != 2 && argc != 4) {
    std::fprintf(stderr, "usage: responder <port> [<certificate.pem> <key.pem>]\n");
    return 2;
  }
  const auto port = static_cast<std::uint16_t>(std::atoi(argv[1]));

  tp::transport_config cfg;
  cfg.listen = {{tp::protocol::udp, "0.0.0.0", port}, {tp::protocol::udp, "::", port},
                {tp::protocol::tcp, "0.0.0.0", port}, {tp::protocol::tcp, "::", port}};
  if (argc == 4) {
    cfg.listen.push_back({tp::protocol::tls, "0.0.0.0", static_cast<std::uint16_t>(port + 1)});
    cfg.tls.certificate_chain_file = argv[2];
    cfg.tls.private_key_file = argv[3];
  }
  cfg.limits.max_message_size = 16 * 1024;  // refuse anything larger, on every transport
  cfg.max_connections = 256;
  cfg.idle_timeout = std::chrono::seconds(60);
  cfg.log = sipkit::logger(sipkit::log_level::info);  // drops and closes, to stderr

  boost::asio::io_context io;
  tp::manager transport(io, cfg);
  transport.on_message([&](const tp::incoming_message& in) {
    const auto& request = in.message();
    if (!request.is_request() || request.method() == sipkit::parser::method::ack) return;
    // The 200 copies Via (with the received/rport fix-ups), From, To, Call-ID and CSeq.
    auto ok = sipkit::parser::make_response(in.to_message(), 200, {}, "responder");
    transport.send_response(ok, in.connection);
  });
  if (auto ec = transport.start()) {
    std::fprintf(stderr, "responder: cannot listen: %s\n", ec.message().c_str());
    return 1;
  }
  for (const auto& l : transport.listeners())
    std::printf("listening on %s %s\n", std::string(tp::to_string(l.transport)).c_str(),
                l.local.to_string().c_str());

  boost::asio::signal_set stop(io, SIGINT, SIGTERM);
  stop.async_wait([&](auto, int) { transport.stop(); });
  io.run();

  for (auto p : {tp::protocol::udp, tp::protocol::tcp, tp::protocol::tls}) {
    const tp::statistics s = transport.stats(p);
    std::printf("%s: %llu in, %llu out, %llu parse errors, %llu drops\n",
                std::string(tp::to_string(p)).c_str(),
                static_cast<unsigned long long>(s.messages_in),
                static_cast<unsigned long long>(s.messages_out),
                static_cast<unsigned long long>(s.parse_errors),
                static_cast<unsigned long long>(s.drops));
  }
  return 0;
}
