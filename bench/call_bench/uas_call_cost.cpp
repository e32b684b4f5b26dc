// uas_call_cost: what one call costs a sipkit UAS, counted in process.
//
// A ua::user_agent answers calls as examples/uas does (180, then 200 with an SDP answer),
// and a raw UDP socket in the same thread plays sipp's `uac` scenario against it: INVITE
// with an SDP offer, ACK, BYE, one call after the other. The client side builds its
// messages by hand into stack buffers and reads with recv, so it allocates nothing:
// every heap allocation counted on this thread is the agent's (its transport, transactions,
// dialog, call state, Asio handlers). Printed per call, after a warm-up:
//   allocations, bytes allocated, grammar runs (parser::grammar_runs: parse_message plus
//   every stand-alone header or URI parse), and thread CPU time (agent + the client's
//   send/recv system calls; compare builds in the same run, never across runs).
//
// usage: uas_call_cost [--calls N] [--warmup N]
// Exit status 0 when every call completed, 1 otherwise.
#include <netinet/in.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <boost/asio/io_context.hpp>
#include <charconv>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string_view>

#include "call_cost.hpp"

namespace {

class raw_uac {
 public:
  raw_uac(boost::asio::io_context& io, std::uint16_t uas_port) : io_(io), uas_port_(uas_port) {
    fd_ = ::socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (fd_ < 0 || ::bind(fd_, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0) std::abort();
    socklen_t len = sizeof a;
    ::getsockname(fd_, reinterpret_cast<sockaddr*>(&a), &len);
    port_ = ntohs(a.sin_port);
    to_.sin_family = AF_INET;
    to_.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    to_.sin_port = htons(uas_port);
  }
  ~raw_uac() { ::close(fd_); }

  /// One call as sipp's uac scenario makes it; false when an answer is missing or wrong.
  bool call(unsigned n) {
    static constexpr std::string_view sdp =
        "v=0\r\no=user1 53655765 2353687637 IN IP4 127.0.0.1\r\ns=-\r\n"
        "c=IN IP4 127.0.0.1\r\nt=0 0\r\nm=audio 6000 RTP/AVP 0\r\na=rtpmap:0 PCMU/8000\r\n";
    text m;
    request_start(m, "INVITE", n, 1);
    m.put("To: service <sip:service@127.0.0.1:").num(uas_port_).put(">\r\n");
    common_tail(m, n, "1 INVITE");
    m.put("Content-Type: application/sdp\r\nContent-Length: ").num(sdp.size());
    m.put("\r\n\r\n").put(sdp);
    send(m);
    char to[512];
    if (!await_final("INVITE", to, sizeof to)) return false;
    m.clear();
    request_start(m, "ACK", n, 5);
    m.put(to).put("\r\n");
    common_tail(m, n, "1 ACK");
    m.put("Content-Length: 0\r\n\r\n");
    send(m);
    m.clear();
    request_start(m, "BYE", n, 7);
    m.put(to).put("\r\n");
    common_tail(m, n, "2 BYE");
    m.put("Content-Length: 0\r\n\r\n");
    send(m);
    return await_final("BYE", nullptr, 0);
  }

 private:
  // The client's messages are appended by hand, not with snprintf, so that its own work
  // stays a small part of the instructions this program counts (snprintf was ~12,000 of
  // them per call, more than many UAS steps measured here).
  struct text {
    char buf[2048];
    std::size_t size = 0;
    text& put(std::string_view s) {
      if (s.size() > sizeof buf - size) std::abort();
      std::memcpy(buf + size, s.data(), s.size());
      size += s.size();
      return *this;
    }
    text& num(std::size_t v) {
      char digits[24];
      auto r = std::to_chars(digits, digits + sizeof digits, v);
      return put({digits, static_cast<std::size_t>(r.ptr - digits)});
    }
    void clear() { size = 0; }
  };

  // Request line, Via (branch z9hG4bK-<call>-<step>-0) and From, as sipp's uac writes them.
  void request_start(text& m, std::string_view method, unsigned n, int step) const {
    m.put(method).put(" sip:service@127.0.0.1:").num(uas_port_).put(" SIP/2.0\r\n");
    m.put("Via: SIP/2.0/UDP 127.0.0.1:").num(port_).put(";branch=z9hG4bK-").num(n);
    m.put("-").num(static_cast<std::size_t>(step)).put("-0\r\n");
    m.put("From: sipp <sip:sipp@127.0.0.1:").num(port_).put(">;tag=").num(n);
    m.put("SIPpTag001\r\n");
  }

  void common_tail(text& m, unsigned n, std::string_view cseq) const {
    m.put("Call-ID: ").num(n).put("-bench@127.0.0.1\r\nCSeq: ").put(cseq).put("\r\n");
    m.put("Contact: sip:sipp@127.0.0.1:").num(port_).put("\r\n");
    m.put("Max-Forwards: 70\r\nSubject: Performance Test\r\n");
  }

  void send(const text& m) {
    if (::sendto(fd_, m.buf, m.size, 0, reinterpret_cast<const sockaddr*>(&to_), sizeof to_) !=
        static_cast<ssize_t>(m.size))
      std::abort();
  }

  /// Runs the agent until a final response to `method` arrives; copies its To line.
  bool await_final(std::string_view method, char* to, std::size_t to_size) {
    char buf[4096];
    for (int idle = 0; idle < 200;) {
      const ssize_t n = ::recv(fd_, buf, sizeof buf - 1, 0);
      if (n < 0) {
        // Nothing yet: let the agent handle what it has (bounded, so a lost answer ends
        // the run instead of hanging it).
        if (io_.run_one_for(std::chrono::milliseconds(10)) == 0) ++idle;
        continue;
      }
      std::string_view m(buf, static_cast<std::size_t>(n));
      if (m.substr(0, 8) != "SIP/2.0 ") continue;  // a request (none expected) is ignored
      const int code = std::atoi(buf + 8);
      const auto cseq = m.find("\r\nCSeq: ");
      if (cseq == std::string_view::npos) return false;
      const std::string_view rest = m.substr(cseq + 8);
      const auto space = rest.find(' ');
      if (space == std::string_view::npos || rest.substr(space + 1, method.size()) != method)
        continue;  // an answer to another request (a retransmitted 200 to the INVITE)
      if (code < 200) continue;
      if (code >= 300) return false;
      if (to != nullptr) {
        const auto at = m.find("\r\nTo: ");
        if (at == std::string_view::npos) return false;
        const auto end = m.find("\r\n", at + 2);
        const std::string_view line = m.substr(at + 2, end - at - 2);
        if (line.size() + 1 > to_size) return false;
        std::memcpy(to, line.data(), line.size());
        to[line.size()] = '\0';
      }
      return true;
    }
    return false;
  }

  boost::asio::io_context& io_;
  int fd_ = -1;
  std::uint16_t port_ = 0, uas_port_ = 0;
  sockaddr_in to_{};
};

}  // namespace

int main(int argc, char** argv) {
  sipkit::bench::call_cost_options options;
  if (!sipkit::bench::parse_call_cost_args(argc, argv, "uas_call_cost", options)) return 2;
  boost::asio::io_context io{1};
  const sipkit::ua::ua_config cfg = sipkit::bench::call_cost_config("uas", 40000);
  sipkit::ua::user_agent agent(io, cfg);
  if (auto ec = agent.start()) {
    std::fprintf(stderr, "uas_call_cost: %s\n", ec.message().c_str());
    return 1;
  }
  agent.on_incoming_call([](sipkit::ua::call c) {
    c.ring();
    c.answer();
  });
  const std::string address = agent.local_address(sipkit::transport::protocol::udp);
  const auto port =
      static_cast<std::uint16_t>(std::atoi(address.substr(address.rfind(':') + 1).c_str()));
  raw_uac uac(io, port);

  return sipkit::bench::measure_calls("uas_call_cost", options,
                                      [&](unsigned n) { return uac.call(n); });
}
