// Transport receive throughput: small requests blasted over loopback UDP, TCP, TLS, WS and
// WSS by a sender thread, received, framed (TCP/TLS) or unwrapped from WebSocket messages
// (WS/WSS, one request per message), parsed and delivered by one io_context thread.
//
//   transport_bench [seconds=3]
//
// Prints messages/s delivered to the on_message handler (each one fully parsed by the
// one-pass parser, Via fix-ups computed), and for UDP how many datagrams the sender
// wrote versus how many arrived (the kernel drops what the receiver cannot keep up with).
// The figure that matters is "delivered/s". Run on an otherwise idle machine: the sender
// thread competes for the same cores. TLS and WSS use a throw-away PKI generated at start
// (the test suite's generator), with certificate checks off on the sender's side.
#include <arpa/inet.h>
#include <sys/resource.h>
#include <sys/socket.h>

#include <atomic>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ip/udp.hpp>
#include <boost/asio/ssl/context.hpp>
#include <boost/asio/ssl/stream.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/websocket.hpp>
#include <boost/beast/websocket/ssl.hpp>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <thread>
#include <vector>

#include "sipkit/transport/manager.hpp"
#include "transport/test_certs.hpp"

namespace asio = boost::asio;
namespace websocket = boost::beast::websocket;
using namespace sipkit::transport;
using clk = std::chrono::steady_clock;

namespace {

std::string request(int i, std::string_view transport, std::uint16_t port) {
  std::string s = "OPTIONS sip:bob@example.com SIP/2.0\r\n";
  s += "Via: SIP/2.0/" + std::string(transport) + " 127.0.0.1:" + std::to_string(port) +
       ";branch=z9hG4bK-" + std::to_string(i) + ";rport\r\n";
  s += "Max-Forwards: 70\r\n";
  s += "From: <sip:alice@example.com>;tag=1928301774\r\n";
  s += "To: <sip:bob@example.com>\r\n";
  s += "Call-ID: a84b4c76e66710-" + std::to_string(i) + "@pc33.example.com\r\n";
  s += "CSeq: " + std::to_string(i + 1) + " OPTIONS\r\n";
  s += "Content-Length: 0\r\n\r\n";
  return s;
}

struct result {
  std::uint64_t delivered = 0;
  double seconds = 0;
  std::uint64_t sent = 0;
  double cpu_seconds = 0;  ///< CPU time of the receiving (io_context) thread
};

// CPU time of the calling thread: on a loaded machine the wall-clock rate depends on how
// much CPU the receiver got; messages per CPU-second of that one thread does not.
double thread_cpu_seconds() {
  rusage ru{};
  ::getrusage(RUSAGE_THREAD, &ru);
  return static_cast<double>(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) +
         static_cast<double>(ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) / 1e6;
}

result run(protocol p, double seconds) {
  asio::io_context io;
  transport_config cfg;
  cfg.listen = {{p, "127.0.0.1", 0}};
  cfg.log = sipkit::logger(sipkit::log_level::error);
  cfg.udp_batch = 32;
  cfg.udp_receive_buffer = 8 * 1024 * 1024;
  if (p == protocol::tls || p == protocol::wss) {
    const auto& pki = sipkit::transport::test::pki();
    cfg.tls.certificate_chain_file = pki.server_cert;
    cfg.tls.private_key_file = pki.server_key;
    cfg.tls.ca_file = pki.ca_cert;
  }
  manager m(io, cfg);
  std::uint64_t delivered = 0;
  clk::time_point first{}, last{};
  m.on_message([&](const incoming_message& in) {
    if (delivered == 0) first = clk::now();
    ++delivered;
    if (in.view->method() != sipkit::parser::method::options) std::abort();
    last = clk::now();
  });
  if (auto ec = m.start()) {
    std::fprintf(stderr, "start: %s\n", ec.message().c_str());
    std::exit(1);
  }
  const endpoint server = m.listeners().at(0).local;

  std::atomic<bool> stop{false};
  std::atomic<std::uint64_t> sent{0};
  std::thread sender([&] {
    asio::io_context sio;
    std::vector<std::string> msgs;
    if (p == protocol::udp) {
      asio::ip::udp::socket s(sio, asio::ip::udp::endpoint(asio::ip::address_v4::loopback(), 0));
      for (int i = 0; i < 64; ++i) msgs.push_back(request(i, "UDP", s.local_endpoint().port()));
      sockaddr_in to{};
      to.sin_family = AF_INET;
      to.sin_port = htons(server.port);
      to.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
      std::vector<mmsghdr> hdrs(64);
      std::vector<iovec> iov(64);
      for (std::size_t i = 0; i < 64; ++i) {
        iov[i] = {msgs[i].data(), msgs[i].size()};
        hdrs[i] = {};
        hdrs[i].msg_hdr.msg_iov = &iov[i];
        hdrs[i].msg_hdr.msg_iovlen = 1;
        hdrs[i].msg_hdr.msg_name = &to;
        hdrs[i].msg_hdr.msg_namelen = sizeof to;
      }
      while (!stop.load(std::memory_order_relaxed)) {
        int n = ::sendmmsg(s.native_handle(), hdrs.data(), 64, 0);
        if (n > 0) sent += static_cast<std::uint64_t>(n);
      }
    } else if (p == protocol::tcp) {
      asio::ip::tcp::socket s(sio);
      s.connect({server.address, server.port});
      std::string chunk;
      for (int i = 0; i < 64; ++i) chunk += request(i, "TCP", 5060);
      while (!stop.load(std::memory_order_relaxed)) {
        boost::system::error_code ec;
        asio::write(s, asio::buffer(chunk), ec);
        if (ec) break;
        sent += 64;
      }
    } else {
      asio::ssl::context ctx(asio::ssl::context::tls_client);
      ctx.set_verify_mode(asio::ssl::verify_none);
      auto blast = [&](auto& stream, auto write_one) {
        for (int i = 0; i < 64; ++i) msgs.push_back(request(i, to_string(p), 5060));
        while (!stop.load(std::memory_order_relaxed)) {
          for (const auto& one : msgs) {
            boost::system::error_code ec;
            write_one(stream, one, ec);
            if (ec) return;
          }
          sent += 64;
        }
      };
      auto tcp_connect = [&](asio::ip::tcp::socket& s) { s.connect({server.address, server.port}); };
      auto ws_setup = [](auto& ws) {
        ws.set_option(websocket::stream_base::decorator([](websocket::request_type& req) {
          req.set(boost::beast::http::field::sec_websocket_protocol, "sip");
        }));
        ws.auto_fragment(false);
        ws.text(true);
        ws.handshake("127.0.0.1", "/");
      };
      auto ws_write = [](auto& ws, const std::string& bytes, boost::system::error_code& ec) {
        ws.write(asio::buffer(bytes), ec);
      };
      if (p == protocol::tls) {
        // One TLS record per 64 requests, as the TCP sender writes them.
        asio::ssl::stream<asio::ip::tcp::socket> s(sio, ctx);
        tcp_connect(s.next_layer());
        s.handshake(asio::ssl::stream_base::client);
        std::string chunk;
        for (int i = 0; i < 64; ++i) chunk += request(i, "TLS", 5060);
        while (!stop.load(std::memory_order_relaxed)) {
          boost::system::error_code ec;
          asio::write(s, asio::buffer(chunk), ec);
          if (ec) break;
          sent += 64;
        }
      } else if (p == protocol::ws) {
        websocket::stream<asio::ip::tcp::socket> ws(sio);
        tcp_connect(ws.next_layer());
        ws_setup(ws);
        blast(ws, ws_write);
      } else {
        websocket::stream<asio::ssl::stream<asio::ip::tcp::socket>> ws(sio, ctx);
        tcp_connect(ws.next_layer().next_layer());
        ws.next_layer().handshake(asio::ssl::stream_base::client);
        ws_setup(ws);
        blast(ws, ws_write);
      }
    }
  });

  const double cpu0 = thread_cpu_seconds();
  io.run_for(std::chrono::duration_cast<clk::duration>(std::chrono::duration<double>(seconds)));
  const double cpu1 = thread_cpu_seconds();
  stop = true;
  // Let the TCP sender's blocked write finish.
  io.run_for(std::chrono::milliseconds(200));
  sender.join();
  result r;
  r.delivered = delivered;
  r.seconds = std::chrono::duration<double>(last - first).count();
  r.sent = sent;
  r.cpu_seconds = cpu1 - cpu0;
  return r;
}

}  // namespace

int main(int argc, char** argv) {
  const double seconds = argc > 1 ? std::atof(argv[1]) : 3.0;
  for (protocol p : {protocol::udp, protocol::tcp, protocol::tls, protocol::ws, protocol::wss}) {
    auto r = run(p, seconds);
    std::printf(
        "%s: delivered %llu requests in %.2f s = %.0f requests/s wall; receiver thread used "
        "%.2f CPU-s = %.0f requests per CPU-second (sender wrote %llu)\n",
        std::string(to_string(p)).c_str(), static_cast<unsigned long long>(r.delivered), r.seconds,
        r.seconds > 0 ? static_cast<double>(r.delivered) / r.seconds : 0.0, r.cpu_seconds,
        r.cpu_seconds > 0 ? static_cast<double>(r.delivered) / r.cpu_seconds : 0.0,
        static_cast<unsigned long long>(r.sent));
  }
}
