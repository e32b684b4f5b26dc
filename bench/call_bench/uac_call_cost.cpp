// uac_call_cost: what one call costs a sipkit UAC, counted in process.
//
// The mirror image of uas_call_cost. A ua::user_agent places calls as examples/uac does
// (make_call: INVITE with an SDP offer of its media config; the 2xx ACKed; hang-up with
// BYE once connected), one after the other, and a raw UDP socket in the same thread plays
// sipp's built-in `uas` scenario against it: 180, then 200 with SDP, receive the ACK,
// answer the BYE with 200. The server side builds its messages by hand into stack buffers
// and reads with recv, so it allocates nothing: every heap allocation counted on this
// thread is the agent's (its transport, transactions, dialog, call state, completion
// handlers, Asio). Printed per call, after a warm-up:
//   allocations, bytes allocated, grammar runs (parser::grammar_runs: parse_message plus
//   every stand-alone header or URI parse), and thread CPU time (agent + the server's
//   send/recv system calls; compare builds in the same run, never across runs).
//
// usage: uac_call_cost [--calls N] [--warmup N]
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

// A message appended by hand into a stack buffer (no snprintf: its instructions would be
// counted with the agent's, see uas_call_cost).
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
};

/// The header line `name` of `m` with its CRLF ("" when absent). The agent writes full
/// header names, one Via, so the first match is the one sipp's [last_X:] would copy.
std::string_view header_line(std::string_view m, std::string_view name) {
  for (std::size_t at = m.find("\r\n"); at != std::string_view::npos && at + 2 < m.size();
       at = m.find("\r\n", at + 2)) {
    const std::string_view line = m.substr(at + 2);
    if (line.starts_with("\r\n")) break;  // end of the headers
    if (line.size() > name.size() && line[name.size()] == ':' &&
        line.substr(0, name.size()) == name) {
      const auto end = line.find("\r\n");
      return end == std::string_view::npos ? std::string_view{} : line.substr(0, end + 2);
    }
  }
  return {};
}

/// sipp's built-in uas scenario on a raw UDP socket: answers each INVITE with 180 and a
/// 200 with SDP, takes the ACK, answers the BYE with 200.
class raw_uas {
 public:
  raw_uas() {
    fd_ = ::socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (fd_ < 0 || ::bind(fd_, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0) std::abort();
    socklen_t len = sizeof a;
    ::getsockname(fd_, reinterpret_cast<sockaddr*>(&a), &len);
    port_ = ntohs(a.sin_port);
  }
  ~raw_uas() { ::close(fd_); }
  raw_uas(const raw_uas&) = delete;
  raw_uas& operator=(const raw_uas&) = delete;

  std::uint16_t port() const noexcept { return port_; }
  unsigned acks() const noexcept { return acks_; }
  unsigned byes() const noexcept { return byes_; }
  bool failed() const noexcept { return failed_; }

  /// Handles one datagram when one is waiting; false when none is.
  bool poll(unsigned call_number) {
    char buf[4096];
    sockaddr_in from{};
    socklen_t from_len = sizeof from;
    const ssize_t n =
        ::recvfrom(fd_, buf, sizeof buf, 0, reinterpret_cast<sockaddr*>(&from), &from_len);
    if (n < 0) return false;
    const std::string_view m(buf, static_cast<std::size_t>(n));
    if (m.starts_with("INVITE ")) {
      // A retransmission gets the same answers again (sipp's uas would too).
      answer(m, from, 180, "Ringing", call_number, false);
      answer(m, from, 200, "OK", call_number, true);
    } else if (m.starts_with("ACK ")) {
      ++acks_;
    } else if (m.starts_with("BYE ")) {
      ++byes_;
      answer(m, from, 200, "OK", call_number, false);
    } else {
      failed_ = true;  // nothing else belongs to the scenario
    }
    return true;
  }

 private:
  void answer(std::string_view request, const sockaddr_in& to, int code, std::string_view reason,
              unsigned call_number, bool sdp_body) {
    static constexpr std::string_view sdp =
        "v=0\r\no=user1 53655765 2353687637 IN IP4 127.0.0.1\r\ns=-\r\n"
        "c=IN IP4 127.0.0.1\r\nt=0 0\r\nm=audio 6000 RTP/AVP 0\r\na=rtpmap:0 PCMU/8000\r\n";
    const std::string_view via = header_line(request, "Via");
    const std::string_view from = header_line(request, "From");
    std::string_view to_line = header_line(request, "To");
    const std::string_view call_id = header_line(request, "Call-ID");
    const std::string_view cseq = header_line(request, "CSeq");
    if (via.empty() || from.empty() || to_line.empty() || call_id.empty() || cseq.empty()) {
      failed_ = true;
      return;
    }
    text m;
    m.put("SIP/2.0 ").num(static_cast<std::size_t>(code)).put(" ").put(reason).put("\r\n");
    m.put(via).put(from);
    // The INVITE's To has no tag yet: add ours (sipp: ;tag=[pid]SIPpTag01[call_number]);
    // the BYE's already carries it.
    if (to_line.find(";tag=") == std::string_view::npos) {
      to_line.remove_suffix(2);
      m.put(to_line).put(";tag=").num(call_number).put("SIPpTag01\r\n");
    } else {
      m.put(to_line);
    }
    m.put(call_id).put(cseq);
    m.put("Contact: <sip:127.0.0.1:").num(port_).put(";transport=UDP>\r\n");
    if (sdp_body) {
      m.put("Content-Type: application/sdp\r\nContent-Length: ").num(sdp.size());
      m.put("\r\n\r\n").put(sdp);
    } else {
      m.put("Content-Length: 0\r\n\r\n");
    }
    if (::sendto(fd_, m.buf, m.size, 0, reinterpret_cast<const sockaddr*>(&to), sizeof to) !=
        static_cast<ssize_t>(m.size))
      std::abort();
  }

  int fd_ = -1;
  std::uint16_t port_ = 0;
  unsigned acks_ = 0, byes_ = 0;
  bool failed_ = false;
};

/// One call placed by the agent, answered by `uas`; false when it did not complete
/// (connected, ACKed, hung up with a 200 to the BYE).
bool one_call(boost::asio::io_context& io, sipkit::ua::user_agent& agent, raw_uas& uas,
              std::string_view target, unsigned n) {
  // The completions capture one pointer, as an application holding its call state in
  // one object would: what is counted is the stack's cost, not a wide capture's.
  struct state {
    sipkit::ua::call c;
    bool done = false, ok = false;
  } s;
  const unsigned acks0 = uas.acks(), byes0 = uas.byes();
  s.c = agent.make_call(target);
  s.c.async_wait_connected([p = &s](std::error_code ec) {
    if (ec) {
      p->done = true;
      return;
    }
    p->c.async_hangup([p](std::error_code e) {
      p->ok = !e;
      p->done = true;
    });
  });
  for (int idle = 0; !s.done && idle < 200;) {
    if (uas.poll(n)) continue;
    // Nothing for the server: let the agent handle what it has (bounded, so a lost
    // message ends the run instead of hanging it).
    if (io.run_one_for(std::chrono::milliseconds(10)) == 0) ++idle;
  }
  return s.ok && !uas.failed() && uas.acks() == acks0 + 1 && uas.byes() == byes0 + 1 &&
         s.c.state() == sipkit::ua::call_state::terminated;
}

}  // namespace

int main(int argc, char** argv) {
  sipkit::bench::call_cost_options options;
  if (!sipkit::bench::parse_call_cost_args(argc, argv, "uac_call_cost", options)) return 2;
  boost::asio::io_context io{1};
  const sipkit::ua::ua_config cfg = sipkit::bench::call_cost_config("uac", 41000);
  sipkit::ua::user_agent agent(io, cfg);
  if (auto ec = agent.start()) {
    std::fprintf(stderr, "uac_call_cost: %s\n", ec.message().c_str());
    return 1;
  }
  raw_uas uas;
  char target_buf[64];
  const int target_len =
      std::snprintf(target_buf, sizeof target_buf, "sip:service@127.0.0.1:%u", uas.port());
  const std::string_view target(target_buf, static_cast<std::size_t>(target_len));

  return sipkit::bench::measure_calls(
      "uac_call_cost", options, [&](unsigned n) { return one_call(io, agent, uas, target, n); });
}
