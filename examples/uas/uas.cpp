// uas — an auto-answering SIP user agent server built on sipkit::ua.
//
// What it shows: receiving calls with sipkit::ua::user_agent — 180 Ringing, then 200 OK
// with an SDP answer negotiated from the local codecs (RFC 3264); printing INFO and
// MESSAGE bodies; OPTIONS answered by the stack; hanging up on a timer or when the
// caller does; accepting call transfers (RFC 3515): on a REFER in a call it places a new
// call to the Refer-To target, and the stack answers the REFER 202 and reports that call's
// progress to the transferor in NOTIFYs (message/sipfrag "SIP/2.0 100 Trying", then
// "180 Ringing" ..., the last one, "200 OK" or the failure, with Subscription-State:
// terminated). The transferor ends the original call (its BYE); the new call lives until
// its far end hangs up (or --hangup-after). --no-transfer declines every REFER with 603.
// Every SIP message is printed as one ladder line ("SENT to" /
// "RECEIVED from"), unless --quiet.
//
// Run:   uas --bind 127.0.0.1 --port 5062 --transport udp
//        uas --transport tls --cert server.pem --key server.key
// Then call it, e.g. with examples/uac --call sip:uas@127.0.0.1:5062 or
// `sipp -sn uac 127.0.0.1:5062`. Stops on Ctrl-C / SIGTERM.
//
// Register first: uas --register sip:127.0.0.1:5060 --aor sip:bob@example.com --password pw
//
// Options: --bind ADDR (127.0.0.1)  --port N (5062)  --transport udp|tcp|tls (udp)
//          --hangup-after S (0: wait for the caller's BYE)  --ring-ms N (0: answer at once
//          after 180)  --max-request-rate N (new requests per second and source address,
//          burst 2N; 100; 0 = no limit: manager_config::rate_limit, a defence against
//          floods; a load test from one address, such as sipp, needs it raised)
//          --max-calls-awaiting-ack N (10000: ua_config::max_calls_awaiting_ack; a load
//          test far above 10,000 calls/s may raise it, see README Benchmarks)
//          --no-transfer (decline REFER with 603 instead of placing the call)
//          --quiet (no ladder)  --full (whole messages)  --cert F --key F
//          --ca F (trust anchors: client certificates, and the server's when our BYE
//          opens a TLS connection to the caller)  --require-client-cert (mutual TLS)
//          --threads N (1): N agents, each on its own thread and io_context, see below
//          --ws PORT / --wss PORT: a SIP-over-WebSocket listener besides the main one (RFC
//          7118; wss with --cert/--key, the TLS options); browsers (examples/webphone) call
//          it there, and our requests to them go back over their connection
//
// One machine, every core (--threads N): a sipkit agent runs on one thread, without locks.
// To use N cores, N agents share the listening port with SO_REUSEPORT
// (transport_config::reuse_port), and each also listens on a port of its own (--port + 1
// + i), which it writes into its Via and Contact. Which agent gets a message that reaches
// the shared port is the kernel's choice: for UDP a hash of the source and destination
// address and port, for TCP the agent that accepted the connection. So
//  - a new INVITE goes to any agent, and its retransmissions, its CANCEL and the ACK of a
//    non-2xx response (sent by the caller's transaction from the same socket, RFC 3261
//    §9.1, §17.1.1.3) reach the same one;
//  - in-dialog requests (the 2xx's ACK, BYE, re-INVITE, INFO ...) go to the remote target,
//    our Contact (§12.2.1.1): the agent's own port, so they reach the agent that holds the
//    dialog whichever socket the peer sends them from. A peer that ignores the Contact
//    and sends a BYE to the shared port from a new source port may reach another agent,
//    which answers 481 (as the RFC says for an unknown dialog);
//  - our own requests (a BYE of --hangup-after) leave from the agent's own port, and
//    their responses come back to it by the Via.
// --register is not available with --threads (each agent would register its own Contact).
#include <algorithm>
#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/signal_set.hpp>
#include <boost/asio/steady_timer.hpp>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "../common/sip_ladder.hpp"
#include "sipkit/ua/user_agent.hpp"

namespace {

struct options {
  std::string bind = "127.0.0.1";
  std::uint16_t port = 5062;
  sipkit::transport_protocol transport = sipkit::transport_protocol::udp;
  int hangup_after = 0;
  int ring_ms = 0;
  long max_request_rate = -1;  // per source address and second; -1: the library's default
  long max_calls_awaiting_ack = -1;  // -1: the library's default
  bool transfer = true;        // on REFER, place the call to the Refer-To target
  bool quiet = false, full = false;
  std::string cert, key;
  std::string ca;
  bool require_client_cert = false;
  std::string registrar, aor, user = "uas", username, password, realm;
  unsigned threads = 1;
  long ws_port = -1, wss_port = -1;  // -1: no WebSocket listener (0: any port)
};

[[noreturn]] void usage() {
  std::fprintf(
      stderr,
      "usage: uas [--bind ADDR] [--port N] [--transport udp|tcp|tls] [--hangup-after S]\n"
      "           [--ring-ms N] [--max-request-rate N] [--max-calls-awaiting-ack N]\n"
      "           [--no-transfer] [--quiet] [--full]\n"
      "           [--cert FILE --key FILE]\n"
      "           [--ca FILE] [--require-client-cert]\n"
      "           [--user NAME] [--register URI [--aor URI] [--username U] [--password P]\n"
      "            [--realm R]] [--threads N] [--ws PORT] [--wss PORT]\n");
  std::exit(2);
}

options parse(int argc, char** argv) {
  options o;
  for (int i = 1; i < argc; ++i) {
    std::string_view a = argv[i];
    auto value = [&]() -> std::string {
      if (i + 1 >= argc) usage();
      return argv[++i];
    };
    if (a == "--bind")
      o.bind = value();
    else if (a == "--port")
      o.port = static_cast<std::uint16_t>(std::stoi(value()));
    else if (a == "--transport") {
      auto t = sipkit::transport::protocol_from_string(value());  // udp, tcp or tls
      if (!t) usage();
      o.transport = *t;
    } else if (a == "--hangup-after")
      o.hangup_after = std::stoi(value());
    else if (a == "--ring-ms")
      o.ring_ms = std::stoi(value());
    else if (a == "--max-request-rate")
      o.max_request_rate = std::stol(value());
    else if (a == "--max-calls-awaiting-ack")
      o.max_calls_awaiting_ack = std::stol(value());
    else if (a == "--no-transfer")
      o.transfer = false;
    else if (a == "--quiet")
      o.quiet = true;
    else if (a == "--full")
      o.full = true;
    else if (a == "--cert")
      o.cert = value();
    else if (a == "--key")
      o.key = value();
    else if (a == "--ca")
      o.ca = value();
    else if (a == "--require-client-cert")
      o.require_client_cert = true;
    else if (a == "--user")
      o.user = value();
    else if (a == "--register")
      o.registrar = value();
    else if (a == "--aor")
      o.aor = value();
    else if (a == "--username")
      o.username = value();
    else if (a == "--password")
      o.password = value();
    else if (a == "--realm")
      o.realm = value();
    else if (a == "--threads")
      o.threads = static_cast<unsigned>(std::stoul(value()));
    else if (a == "--ws")
      o.ws_port = std::clamp(std::stol(value()), 0L, 65535L);
    else if (a == "--wss")
      o.wss_port = std::clamp(std::stol(value()), 0L, 65535L);
    else
      usage();
  }
  if (o.threads == 0 || o.threads > 256 || (o.threads > 1 && !o.registrar.empty())) usage();
  // One WebSocket listener per process: with --threads the agents would share its port.
  if (o.threads > 1 && (o.ws_port >= 0 || o.wss_port >= 0)) usage();
  if (o.wss_port >= 0 && (o.cert.empty() || o.key.empty())) usage();
  return o;
}

sipkit::ua::ua_config make_config(const options& opt, unsigned index) {
  sipkit::ua::ua_config cfg;
  cfg.user = opt.user;
  if (!opt.password.empty())
    cfg.credentials = {{opt.realm, opt.username.empty() ? opt.user : opt.username, opt.password}};
  cfg.transport.listen = {{opt.transport, opt.bind, opt.port}};
  if (opt.threads > 1) {
    // Its own port first: the first listener is the one Via and Contact name.
    const auto own = static_cast<std::uint16_t>(opt.port + 1 + index);
    cfg.transport.listen.insert(cfg.transport.listen.begin(), {opt.transport, opt.bind, own});
    cfg.transport.reuse_port = true;
  }
  // After the main listener, which stays the one our Via and Contact name: WebSocket
  // clients (RFC 7118) connect here, and every response and in-dialog request to them goes
  // back over their connection.
  if (opt.ws_port >= 0)
    cfg.transport.listen.push_back(
        {sipkit::transport_protocol::ws, opt.bind, static_cast<std::uint16_t>(opt.ws_port)});
  if (opt.wss_port >= 0)
    cfg.transport.listen.push_back(
        {sipkit::transport_protocol::wss, opt.bind, static_cast<std::uint16_t>(opt.wss_port)});
  if (opt.max_request_rate >= 0) {  // the transaction layer's per-source token bucket
    cfg.transactions.rate_limit.requests_per_second = static_cast<unsigned>(opt.max_request_rate);
    cfg.transactions.rate_limit.burst = 2 * static_cast<unsigned>(opt.max_request_rate);
  }
  if (opt.max_calls_awaiting_ack >= 0)
    cfg.max_calls_awaiting_ack = static_cast<std::size_t>(opt.max_calls_awaiting_ack);
  cfg.transport.tls.certificate_chain_file = opt.cert;
  cfg.transport.tls.private_key_file = opt.key;
  cfg.transport.tls.ca_file = opt.ca;
  cfg.transport.tls.require_client_certificate = opt.require_client_cert;
  const sipkit::logger log(opt.quiet ? sipkit::log_level::info : sipkit::log_level::debug,
                           example::ladder_sink(opt.quiet, opt.full));
  cfg.transport.log = log;
  cfg.log = sipkit::logger(sipkit::log_level::info, example::ladder_sink(opt.quiet, opt.full));
  cfg.media.streams = {
      {"audio",
       40000,
       "RTP/AVP",
       {{"PCMU", 8000}, {"PCMA", 8000}, {"telephone-event", 8000, 1, 101, "0-16"}}}};
  // Listening on TCP, the calls we place (transfers) and REGISTERs to URIs without
  // ;transport= use TCP too. (A TLS listener's peers have sips: URIs: always TLS.)
  if (opt.transport == sipkit::transport_protocol::tcp) cfg.default_transport = opt.transport;
  return cfg;
}

// One agent and what it does with calls; it lives on the thread that runs `io`.
struct uas_instance {
  uas_instance(const options& o, unsigned index) : opt(o), agent(io, make_config(o, index)) {}
  std::error_code start();
  /// --hangup-after: BYE that many seconds after the call is connected (answered and
  /// ACKed, or for a transferred call, answered by the transfer target).
  void hang_up_later(sipkit::ua::call c);

  const options& opt;
  boost::asio::io_context io{1};
  sipkit::ua::user_agent agent;
  sipkit::ua::registration reg;
  std::uint64_t calls_taken = 0;  // printed at exit with --threads: how the kernel spread them
};

std::error_code uas_instance::start() {
  if (auto ec = agent.start()) return ec;

  // With --register the UAS binds its Contact at a registrar (and keeps it refreshed), so
  // calls to its address-of-record reach it through a proxy.
  if (!opt.registrar.empty()) {
    sipkit::ua::registration_options ro;
    ro.registrar = opt.registrar;
    ro.aor = opt.aor;
    reg = agent.start_registration(ro);
    reg.on_event([this](const sipkit::ua::registration_event& e) {
      if (!opt.quiet || e.state == sipkit::ua::registration_state::failed)
        std::printf("registration %s (%d)\n", std::string(to_string(e.state)).c_str(), e.status);
      std::fflush(stdout);
    });
  }

  agent.on_message([this](const sipkit::ua::message_event& m) {
    if (!opt.quiet)
      std::printf("MESSAGE from %.*s (%.*s): %.*s\n", static_cast<int>(m.from.size()),
                  m.from.data(), static_cast<int>(m.content_type.size()), m.content_type.data(),
                  static_cast<int>(m.body.size()), m.body.data());
  });

  // Transfer (RFC 3515), the transferee's side: the stack checks the REFER (one Refer-To,
  // else 400), answers 202 and notifies "100 Trying" (§2.4.4), then calls this handler,
  // which places the new call and returns it; the stack notifies that call's progress and
  // its final status (§2.4.5). Without a handler (--no-transfer) the stack answers 603.
  if (opt.transfer) {
    agent.on_refer([this](sipkit::ua::call, std::string_view refer_to) {
      if (!opt.quiet)
        std::printf("transfer: calling %.*s\n", static_cast<int>(refer_to.size()), refer_to.data());
      std::fflush(stdout);
      sipkit::ua::call next = agent.make_call(refer_to);
      hang_up_later(next);
      return next;
    });
  }

  agent.on_incoming_call([this](sipkit::ua::call c) {
    ++calls_taken;
    c.on_event([this](const sipkit::ua::call_event& e) {
      using kind = sipkit::ua::call_event::kind;
      if (opt.quiet) return;
      if (e.what == kind::info || e.what == kind::message)
        std::printf("%s in call (%.*s): %.*s\n", e.what == kind::info ? "INFO" : "MESSAGE",
                    static_cast<int>(e.content_type.size()), e.content_type.data(),
                    static_cast<int>(e.body.size()), e.body.data());
      else if (e.what == kind::remote_hold || e.what == kind::remote_resume)
        std::printf("call %s\n", e.what == kind::remote_hold ? "put on hold" : "resumed");
    });
    c.ring();
    auto answer = [this, c]() mutable {
      if (c.answer()) return;
      hang_up_later(c);
    };
    if (opt.ring_ms <= 0) return answer();
    auto t =
        std::make_shared<boost::asio::steady_timer>(io, std::chrono::milliseconds(opt.ring_ms));
    t->async_wait([t, answer](boost::system::error_code) mutable { answer(); });
  });

  return {};
}

void uas_instance::hang_up_later(sipkit::ua::call c) {
  if (opt.hangup_after <= 0) return;
  auto t = std::make_shared<boost::asio::steady_timer>(io, std::chrono::seconds(opt.hangup_after));
  c.async_wait_connected([c, t](std::error_code ec) mutable {
    if (ec) return;
    t->async_wait(
        [c, t](boost::system::error_code) mutable { c.async_hangup([](std::error_code) {}); });
  });
}

}  // namespace

int main(int argc, char** argv) {
  const options opt = parse(argc, argv);
  std::vector<std::unique_ptr<uas_instance>> agents;
  for (unsigned i = 0; i < opt.threads; ++i) {
    auto& a = agents.emplace_back(std::make_unique<uas_instance>(opt, i));
    if (auto ec = a->start()) {
      std::fprintf(stderr, "uas: cannot listen on %s:%u: %s\n", opt.bind.c_str(), opt.port,
                   ec.message().c_str());
      return 1;
    }
  }
  const std::string proto(sipkit::transport_param_name(opt.transport));
  if (opt.threads == 1) {
    std::printf("listening on %s %s\n", proto.c_str(),
                agents[0]->agent.local_address(opt.transport).c_str());
    for (auto p : {sipkit::transport_protocol::ws, sipkit::transport_protocol::wss})
      if ((p == sipkit::transport_protocol::ws ? opt.ws_port : opt.wss_port) >= 0)
        std::printf("listening on %s %s\n", std::string(sipkit::transport_param_name(p)).c_str(),
                    agents[0]->agent.local_address(p).c_str());
  } else {
    std::printf(
        "listening on %s %s:%u with %u agents (SO_REUSEPORT), agent i also on port "
        "%u + i\n",
        proto.c_str(), opt.bind.c_str(), opt.port, opt.threads, opt.port + 1);
  }
  std::fflush(stdout);

  // Agent 0 runs on this thread with the signal handler; the others on their own.
  boost::asio::signal_set signals(agents[0]->io, SIGINT, SIGTERM);
  signals.async_wait([&](boost::system::error_code, int) {
    for (auto& a : agents)
      boost::asio::post(a->io, [&agent = a->agent, &io = a->io] {
        agent.stop();
        io.stop();
      });
  });
  std::vector<std::thread> threads;
  for (std::size_t i = 1; i < agents.size(); ++i)
    threads.emplace_back([&io = agents[i]->io] { io.run(); });
  agents[0]->io.run();
  for (auto& t : threads) t.join();
  if (opt.threads > 1)
    for (std::size_t i = 0; i < agents.size(); ++i)
      std::printf("agent %zu took %llu calls\n", i,
                  static_cast<unsigned long long>(agents[i]->calls_taken));
  return 0;
}
