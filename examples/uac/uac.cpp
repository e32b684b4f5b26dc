// uac — a small SIP softphone-like client built on sipkit::ua, in the spirit of the
// classic eXosip demo.
//
// What it shows: making calls with sipkit::ua::user_agent (INVITE with an SDP offer, ACK,
// BYE or CANCEL), INFO and MESSAGE inside the call, MESSAGE to any URI, and following a
// call through its events. Every SIP message is printed as one ladder line ("SENT to" /
// "RECEIVED from"), unless --quiet.
//
// Scripted:     uac --call sip:uas@127.0.0.1:5062 --duration 2 [--info TEXT] [--message TEXT]
//               exits 0 when the call was established and hung up cleanly.
// Interactive:  uac --to sip:uas@127.0.0.1:5062   then type a command and Enter:
//               i call   c cancel   h hang up   s send INFO   m send MESSAGE
//               r register (--register URI --password PW)   q quit
// Register:     uac --register sip:127.0.0.1:5070 --aor sip:alice@example.com --password pw
//               registers (answering the digest challenge), waits --duration, unregisters.
// Page:         uac --message-to sip:bob@127.0.0.1:5062 --message "hello"
//
// Options: --transport udp|tcp|tls (udp)  --bind ADDR (127.0.0.1)  --port N (0: any)
//          --proxy URI (outbound proxy)  --user NAME  --quiet  --full (whole messages)
//          --max-redirects N (5): a call that gets a 302 (a redirect server such as
//          examples/registrar) follows the Contacts, printing "call redirected to URI (302)";
//          0: the 3xx ends the call
// TLS:     uac --call sips:uas@127.0.0.1:5061 --transport tls --ca ca.pem
//              --cert uac.pem --key uac.key
//          --ca FILE: trust anchors for the server's certificate (default: the system's);
//          --cert/--key: our certificate, offered as client certificate (mutual TLS) and
//          presented by our TLS listener, which the stack needs for its sips Contact, so
//          --transport tls requires them; --no-verify: do not check the server (tests only).
#include <unistd.h>

#include <boost/asio/io_context.hpp>
#include <boost/asio/posix/stream_descriptor.hpp>
#include <boost/asio/read_until.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/streambuf.hpp>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <istream>
#include <string>
#include <string_view>

#include "../common/sip_ladder.hpp"
#include "sipkit/ua/user_agent.hpp"

namespace {

struct options {
  std::string call, to, proxy, info, message, user = "uac";
  std::string registrar, aor, username, password, realm, message_to;
  std::string bind = "127.0.0.1";
  std::uint16_t port = 0;
  sipkit::transport::protocol transport = sipkit::transport::protocol::udp;
  int duration = 1;
  int max_redirects = 5;  // 3xx responses a call follows (RFC 3261 §8.1.3.4); 0: final
  bool quiet = false, full = false;
  std::string ca, cert, key;  // TLS
  bool no_verify = false;
};

[[noreturn]] void usage() {
  std::fprintf(stderr,
               "usage: uac --call URI [--duration S] [--info TEXT] [--message TEXT]\n"
               "       uac --message-to URI --message TEXT\n"
               "       uac --register URI [--aor URI] [--call URI] [--duration S]\n"
               "       uac --to URI [--register URI]   (interactive: i c h s m r q)\n"
               "  credentials: [--username NAME] [--password PW] [--realm R]\n"
               "  [--transport udp|tcp|tls] [--bind ADDR] [--port N] [--proxy URI] [--user NAME]\n"
               "  [--quiet] [--full] [--max-redirects N (5; 0: a 3xx ends the call)]\n"
               "  TLS: [--ca FILE] [--cert FILE --key FILE] [--no-verify (tests only!)];\n"
               "       --transport tls needs --cert/--key (our TLS listener's certificate)\n");
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
    if (a == "--call")
      o.call = value();
    else if (a == "--to")
      o.to = value();
    else if (a == "--proxy")
      o.proxy = value();
    else if (a == "--duration")
      o.duration = std::stoi(value());
    else if (a == "--max-redirects")
      o.max_redirects = std::stoi(value());
    else if (a == "--info")
      o.info = value();
    else if (a == "--message")
      o.message = value();
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
    else if (a == "--message-to")
      o.message_to = value();
    else if (a == "--bind")
      o.bind = value();
    else if (a == "--port")
      o.port = static_cast<std::uint16_t>(std::stoi(value()));
    else if (a == "--transport") {
      auto t = value();
      if (t == "udp")
        o.transport = sipkit::transport::protocol::udp;
      else if (t == "tcp")
        o.transport = sipkit::transport::protocol::tcp;
      else if (t == "tls")
        o.transport = sipkit::transport::protocol::tls;
      else
        usage();
    } else if (a == "--quiet")
      o.quiet = true;
    else if (a == "--full")
      o.full = true;
    else if (a == "--ca")
      o.ca = value();
    else if (a == "--cert")
      o.cert = value();
    else if (a == "--key")
      o.key = value();
    else if (a == "--no-verify")
      o.no_verify = true;
    else
      usage();
  }
  if (o.call.empty() && o.to.empty() && o.registrar.empty() && o.message_to.empty()) usage();
  if (o.transport == sipkit::transport::protocol::tls && (o.cert.empty() || o.key.empty())) {
    std::fprintf(stderr, "uac: --transport tls needs --cert FILE --key FILE\n");
    usage();
  }
  return o;
}

std::string with_transport(std::string uri, sipkit::transport::protocol p) {
  if (p == sipkit::transport::protocol::tcp && uri.find(";transport=") == std::string::npos)
    uri += ";transport=tcp";
  if (p == sipkit::transport::protocol::tls && uri.starts_with("sip:")) uri.insert(3, "s");
  return uri;
}

}  // namespace

int main(int argc, char** argv) {
  const options opt = parse(argc, argv);
  boost::asio::io_context io(1);

  sipkit::ua::ua_config cfg;
  cfg.user = opt.user;
  cfg.transport.listen = {{opt.transport, opt.bind, opt.port}};
  cfg.transport.tls.ca_file = opt.ca;
  cfg.transport.tls.certificate_chain_file = opt.cert;
  cfg.transport.tls.private_key_file = opt.key;
  cfg.transport.tls.verify_server = !opt.no_verify;
  cfg.transport.log = sipkit::logger(opt.quiet ? sipkit::log_level::info : sipkit::log_level::debug,
                                     example::ladder_sink(opt.quiet, opt.full));
  cfg.log = sipkit::logger(sipkit::log_level::info, example::ladder_sink(opt.quiet, opt.full));
  cfg.media.streams = {
      {"audio",
       41000,
       "RTP/AVP",
       {{"PCMU", 8000}, {"PCMA", 8000}, {"telephone-event", 8000, 1, 101, "0-16"}}}};
  cfg.max_redirects = opt.max_redirects;
  if (!opt.proxy.empty()) cfg.outbound_proxy = with_transport(opt.proxy, opt.transport);
  if (!opt.password.empty())
    cfg.credentials = {{opt.realm, opt.username.empty() ? opt.user : opt.username, opt.password}};
  sipkit::ua::user_agent agent(io, cfg);
  if (auto ec = agent.start()) {
    std::fprintf(stderr, "uac: cannot listen: %s\n", ec.message().c_str());
    return 1;
  }
  agent.on_message([](const sipkit::ua::message_event& m) {
    std::printf("MESSAGE: %.*s\n", static_cast<int>(m.body.size()), m.body.data());
  });

  sipkit::ua::call current;
  int exit_code = 1;
  auto say = [&](const char* what, std::error_code ec, int status) {
    if (!opt.quiet) std::printf("%s: %s (%d)\n", what, ec ? ec.message().c_str() : "ok", status);
  };
  auto start_call = [&](const std::string& uri) {
    current = agent.make_call(with_transport(uri, opt.transport));
    current.on_event([&](const sipkit::ua::call_event& e) {
      if (!opt.quiet && e.what == sipkit::ua::call_event::kind::state_changed)
        std::printf("call %s%s\n", std::string(to_string(e.state)).c_str(),
                    e.status ? (" (" + std::to_string(e.status) + ")").c_str() : "");
      if (!opt.quiet && e.what == sipkit::ua::call_event::kind::redirected)
        std::printf("call redirected to %.*s (%d)\n", static_cast<int>(e.target.size()),
                    e.target.data(), e.status);
      if (!opt.quiet && e.what == sipkit::ua::call_event::kind::info)
        std::printf("INFO: %.*s\n", static_cast<int>(e.body.size()), e.body.data());
    });
  };

  sipkit::ua::registration reg;
  auto registration_options = [&] {
    sipkit::ua::registration_options o;
    o.registrar = with_transport(opt.registrar, opt.transport);
    o.aor = opt.aor;
    o.retry_interval = std::chrono::seconds(0);
    return o;
  };
  if (!opt.message_to.empty()) {
    // Scripted: one MESSAGE outside any dialog; exit 0 on a 2xx.
    agent.async_send_message(with_transport(opt.message_to, opt.transport), "text/plain",
                             opt.message, [&](std::error_code e, int s) {
                               say("MESSAGE", e, s);
                               exit_code = e ? 1 : 0;
                               io.stop();
                             });
    io.run();
    return exit_code;
  }
  const bool interactive = opt.call.empty() && !opt.to.empty();
  // The end of a scripted run: unregister first when we registered, then stop.
  auto finish = [&](int code) {
    exit_code = code;
    if (!reg || reg.state() != sipkit::ua::registration_state::registered) return io.stop();
    reg.async_unregister([&](std::error_code ec, int s) {
      say("unregister", ec, s);
      if (ec) exit_code = 1;
      io.stop();
    });
  };
  boost::asio::steady_timer timer(io);
  // Scripted call: call, INFO, MESSAGE, wait, hang up; exit 0 only if all went well.
  auto scripted_call = [&] {
    start_call(opt.call);
    current.async_wait_connected([&](std::error_code ec) {
      if (ec) {
        std::fprintf(stderr, "uac: call failed: %s (status %d)\n", ec.message().c_str(),
                     current.final_status());
        return finish(1);
      }
      if (!opt.info.empty())
        current.async_info("text/plain", opt.info,
                           [&](std::error_code e, int s) { say("INFO", e, s); });
      if (!opt.message.empty())
        current.async_message("text/plain", opt.message,
                              [&](std::error_code e, int s) { say("MESSAGE", e, s); });
      timer.expires_after(std::chrono::seconds(opt.duration));
      timer.async_wait([&](boost::system::error_code) {
        if (current.state() == sipkit::ua::call_state::terminated) {
          std::fprintf(stderr, "uac: the other side hung up first\n");
          return finish(0);
        }
        current.async_hangup([&](std::error_code e) {
          say("hang-up", e, current.final_status());
          finish(e ? 1 : 0);
        });
      });
    });
  };
  if (!opt.registrar.empty() && !interactive) {
    // Scripted: register (answering digest challenges); then call, or wait --duration;
    // then unregister.
    reg = agent.start_registration(registration_options());
    bool registered_once = false;
    reg.on_event([&](const sipkit::ua::registration_event& e) {
      if (!opt.quiet)
        std::printf("registration %s (%d)\n", std::string(to_string(e.state)).c_str(), e.status);
      if (e.state == sipkit::ua::registration_state::failed) return io.stop();
      if (e.state != sipkit::ua::registration_state::registered || registered_once) return;
      registered_once = true;
      if (!opt.call.empty()) return scripted_call();
      timer.expires_after(std::chrono::seconds(opt.duration));
      timer.async_wait([&](boost::system::error_code) { finish(0); });
    });
    io.run();
    return exit_code;
  }
  if (!opt.call.empty()) {
    scripted_call();
    io.run();
    return exit_code;
  }

  // Interactive.
  boost::asio::posix::stream_descriptor input(io, ::dup(STDIN_FILENO));
  boost::asio::streambuf line_buf;
  std::function<void()> read_command = [&] {
    boost::asio::async_read_until(
        input, line_buf, '\n', [&](boost::system::error_code ec, std::size_t) {
          if (ec) {  // end of input: quit
            agent.stop();
            io.stop();
            return;
          }
          std::istream in(&line_buf);
          std::string cmd;
          std::getline(in, cmd);
          if (cmd == "r") {
            if (opt.registrar.empty())
              std::printf("r needs --register URI (and --password)\n");
            else
              reg = agent.start_registration(registration_options());
          } else if (cmd == "i") {
            start_call(opt.to);
          } else if (cmd == "c" || cmd == "h") {
            if (current)
              current.async_hangup(
                  [&](std::error_code e) { say("hang-up", e, current.final_status()); });
          } else if (cmd == "s") {
            if (current)
              current.async_info("application/dtmf-relay", "Signal=5\r\nDuration=160\r\n",
                                 [&](std::error_code e, int s) { say("INFO", e, s); });
          } else if (cmd == "m") {
            agent.async_send_message(with_transport(opt.to, opt.transport), "text/plain",
                                     "hello from sipkit",
                                     [&](std::error_code e, int s) { say("MESSAGE", e, s); });
          } else if (cmd == "q") {
            agent.stop();
            io.stop();
            return;
          } else if (!cmd.empty()) {
            std::printf(
                "commands: i call, c cancel, h hang up, s INFO, m MESSAGE, r register, q quit\n");
          }
          read_command();
        });
  };
  std::printf("commands: i call, c cancel, h hang up, s INFO, m MESSAGE, r register, q quit\n");
  read_command();
  io.run();
  return 0;
}
