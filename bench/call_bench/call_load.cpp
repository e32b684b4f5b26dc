// call_load: a light UDP call generator, for call rates one sipp uac cannot drive.
//
// Plays sipp's built-in `uac` scenario (INVITE with an SDP offer, ACK the 2xx, optional
// hold, BYE, 200) at a fixed rate from one socket, single-threaded: messages are printed
// from templates into a batch and leave with sendmmsg; answers arrive by recvmmsg and are
// read with a few string scans (status line, Call-ID, CSeq, To tag), no SIP parser. Each
// call has a slot in a flat table indexed by the number in its Call-ID.
//
// As RFC 3261 says for a UAC over UDP: INVITE is resent at T1 = 500 ms doubling until a
// response arrives (§17.1.1.2, Timer A), the call fails after 64*T1 = 32 s (Timer B); BYE is
// resent at T1 doubling up to T2 = 4 s until a final response (§17.1.2.2, Timer E), fails
// after 32 s (Timer F). A 2xx to INVITE arriving again after our ACK (the UAS resent it:
// our ACK was late or lost) is ACKed again and counted.
//
// usage: call_load --port P [--host 127.0.0.1] [--rate R] [--calls N] [--hold-ms MS]
//                  [--progress] [--max-wait S]
// Calls are started at t0 + i/R. At the end one line:
//   RESULT OutgoingCall(C)=.. SuccessfulCall(C)=.. FailedCall(C)=.. Retransmissions(C)=..
//          OkRetransReceived=.. CallRate(C)=.. ElapsedTime=.. MaxLive=.. Unfinished=..
//          ByeReceived=.. (BYEs from the target, answered 200: it gave up on a call,
//                          which counts as failed)
//          ClientCpu=.. (this process's user+system seconds)
//          ClientDrops=.. (datagrams the kernel dropped at our socket: its buffer was full)
// (sipp's statistics names, so that the call_bench harness judges it as it judges sipp).
// CallRate is calls started over the time it took to start them. --progress prints each
// second: started, completed, failed, live (established, not yet ended) calls.
// Exit status 0 when every call completed, 1 otherwise, 2 for bad usage.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <deque>
#include <string>
#include <string_view>
#include <vector>

namespace {

using ms_t = std::int64_t;  // microseconds on CLOCK_MONOTONIC (all times below)

double cpu_seconds() {
  rusage u{};
  getrusage(RUSAGE_SELF, &u);
  return static_cast<double>(u.ru_utime.tv_sec + u.ru_stime.tv_sec) +
         static_cast<double>(u.ru_utime.tv_usec + u.ru_stime.tv_usec) * 1e-6;
}

ms_t now_us() {
  timespec ts{};
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return static_cast<ms_t>(ts.tv_sec) * 1000000 + ts.tv_nsec / 1000;
}

constexpr ms_t t1_us = 500000, t2_us = 4000000, timeout_us = 64 * t1_us;

enum class state : std::uint8_t { idle, inviting, proceeding, held, byeing, done, failed };

struct call {
  state st = state::idle;
  std::uint8_t tag_len = 0;
  bool hung_up = false;  // the target sent a BYE: the call fails whatever our BYE gets
  ms_t first_sent = 0;  // of the request being retransmitted (INVITE or BYE)
  char to_tag[46]{};
};

/// A retransmission timer: call `index` resends when `due` passes, if still in `expect`
/// (an answer since then moved it on). One FIFO per interval keeps each queue sorted.
struct timer {
  ms_t due;
  std::uint32_t index;
  state expect;
};

constexpr int batch = 64;
constexpr std::size_t max_len = 1400;

class load {
 public:
  load(const char* host, std::uint16_t port, unsigned run) : run_(run), port_(port) {
    fd_ = ::socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    if (fd_ < 0 || inet_pton(AF_INET, host, &a.sin_addr) != 1) std::exit(2);
    host_ = host;
    int size = 4 << 20;  // bursts of answers: as much as net.core.rmem_max allows
    ::setsockopt(fd_, SOL_SOCKET, SO_RCVBUF, &size, sizeof size);
    ::setsockopt(fd_, SOL_SOCKET, SO_SNDBUF, &size, sizeof size);
    to_ = a;
    to_.sin_port = htons(port);
    a.sin_port = 0;
    if (::bind(fd_, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0) std::exit(2);
    socklen_t len = sizeof a;
    ::getsockname(fd_, reinterpret_cast<sockaddr*>(&a), &len);
    local_port_ = ntohs(a.sin_port);
  }

  int run(double rate, std::uint32_t calls, ms_t hold_us, bool progress, ms_t max_wait_us) {
    table_.assign(calls, call{});
    hold_us_ = hold_us;
    const ms_t t0 = now_us();
    ms_t next_report = t0 + 1000000, last_start = t0;
    std::uint32_t reported_completed = 0;
    std::uint32_t started = 0;
    ms_t end_by = 0, tick = t0;
    constexpr ms_t tick_us = 1000;
    while (true) {
      const ms_t now = now_us();
      // Start every call whose time has come (a late loop catches up in one batch).
      while (started < calls &&
             static_cast<double>(now - t0) >= 1e6 * static_cast<double>(started) / rate) {
        start_call(started++, now);
        last_start = now;
      }
      if (started == calls && end_by == 0) end_by = now + max_wait_us;
      receive(now);
      fire_timers(now);
      flush();
      if (progress && now >= next_report) {
        std::printf("t=%llds started=%u completed=%u failed=%u live=%u rate=%u/s\n",
                    static_cast<long long>((now - t0) / 1000000), started, completed_, failed_,
                    live_, completed_ - reported_completed);
        std::fflush(stdout);
        reported_completed = completed_;
        next_report += 1000000;
      }
      if (started == calls && completed_ + failed_ == calls) break;
      if (end_by != 0 && now > end_by) break;
      // One turn per tick: whatever arrived in the meantime is read in one recvmmsg and
      // what is due leaves in one sendmmsg, a few system calls per tick, not per message.
      // (Answers wait up to one tick: 1 ms, sipp's default -timer_resol too.)
      tick += tick_us;
      if (tick < now) tick = now;
      const timespec ts{static_cast<time_t>(tick / 1000000), static_cast<long>(tick % 1000000) * 1000};
      ::clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &ts, nullptr);
    }
    const double start_span = static_cast<double>(last_start - t0) / 1e6 + 1.0 / rate;
    const double achieved = started / std::max(start_span, 1e-6);
    std::printf(
        "RESULT OutgoingCall(C)=%u SuccessfulCall(C)=%u FailedCall(C)=%u "
        "Retransmissions(C)=%llu OkRetransReceived=%llu CallRate(C)=%.1f ElapsedTime=%.1f "
        "MaxLive=%u Unfinished=%u ByeReceived=%llu ClientCpu=%.3f ClientDrops=%lld\n",
        started, completed_, failed_, static_cast<unsigned long long>(retrans_),
        static_cast<unsigned long long>(ok_retrans_), achieved,
        static_cast<double>(now_us() - t0) / 1e6, max_live_, calls - completed_ - failed_,
        static_cast<unsigned long long>(byes_received_), cpu_seconds(), socket_drops());
    return completed_ == calls ? 0 : 1;
  }

 private:
  /// Datagrams the kernel dropped at this socket because its receive buffer was full
  /// (the last column of /proc/net/udp), -1 when unknown: tells a client that fell
  /// behind from a target that did.
  long long socket_drops() const {
    FILE* f = std::fopen("/proc/net/udp", "r");
    if (f == nullptr) return -1;
    char line[512];
    long long drops = -1;
    char want[16];
    std::snprintf(want, sizeof want, ":%04X ", local_port_);
    while (std::fgets(line, sizeof line, f) != nullptr) {
      const char* local = std::strchr(line, ':');  // "  sl: local_address ..."
      if (local == nullptr || std::strstr(local + 1, want) != std::strchr(local + 1, ':'))
        continue;
      const char* last = std::strrchr(line, ' ');
      if (last != nullptr) drops = std::atoll(last + 1);
      break;
    }
    std::fclose(f);
    return drops;
  }

  void start_call(std::uint32_t i, ms_t now) {
    call& c = table_[i];
    c.st = state::inviting;
    c.first_sent = now;
    send_invite(i);
    arm(0, i, state::inviting, now + t1_us);
  }

  void send_invite(std::uint32_t i) {
    static constexpr char sdp[] =
        "v=0\r\no=user1 53655765 2353687637 IN IP4 127.0.0.1\r\ns=-\r\n"
        "c=IN IP4 127.0.0.1\r\nt=0 0\r\nm=audio 6000 RTP/AVP 0\r\na=rtpmap:0 PCMU/8000\r\n";
    put("INVITE sip:service@%s:%u SIP/2.0\r\n"
        "Via: SIP/2.0/UDP %s:%u;branch=z9hG4bK-%u-%u-0\r\n"
        "From: load <sip:load@%s:%u>;tag=%u-%u\r\n"
        "To: service <sip:service@%s:%u>\r\n"
        "Call-ID: %u-%u-load\r\n"
        "CSeq: 1 INVITE\r\n"
        "Contact: <sip:load@%s:%u>\r\n"
        "Max-Forwards: 70\r\n"
        "Subject: Performance Test\r\n"
        "Content-Type: application/sdp\r\n"
        "Content-Length: %zu\r\n\r\n%s",
        host_, port_, host_, local_port_, run_, i, host_, local_port_, run_, i, host_, port_, i,
        run_, host_, local_port_, sizeof sdp - 1, sdp);
  }

  /// ACK (branch 1, CSeq 1) or BYE (branch 2, CSeq 2) within the dialog of call i.
  void send_in_dialog(std::uint32_t i, bool bye) {
    const call& c = table_[i];
    put("%s sip:service@%s:%u SIP/2.0\r\n"
        "Via: SIP/2.0/UDP %s:%u;branch=z9hG4bK-%u-%u-%d\r\n"
        "From: load <sip:load@%s:%u>;tag=%u-%u\r\n"
        "To: service <sip:service@%s:%u>;tag=%.*s\r\n"
        "Call-ID: %u-%u-load\r\n"
        "CSeq: %d %s\r\n"
        "Max-Forwards: 70\r\n"
        "Content-Length: 0\r\n\r\n",
        bye ? "BYE" : "ACK", host_, port_, host_, local_port_, run_, i, bye ? 2 : 1, host_,
        local_port_, run_, i, host_, port_, c.tag_len, c.to_tag, i, run_, bye ? 2 : 1,
        bye ? "BYE" : "ACK");
  }

  void start_bye(std::uint32_t i, ms_t now) {
    call& c = table_[i];
    c.st = state::byeing;
    c.first_sent = now;
    if (live_ > 0) --live_;
    send_in_dialog(i, true);
    arm(0, i, state::byeing, now + t1_us);
  }

  // Timer queue k holds timers of interval T1 * 2^k (capped at T2 for BYE: queue 3).
  void arm(int k, std::uint32_t i, state expect, ms_t due) {
    queues_[static_cast<std::size_t>(k)].push_back({due, i, expect});
  }

  void fire_timers(ms_t now) {
    // Holds ending: BYE.
    while (!holds_.empty() && holds_.front().due <= now) {
      const timer t = holds_.front();
      holds_.pop_front();
      if (table_[t.index].st == state::held) start_bye(t.index, now);
    }
    for (std::size_t k = 0; k < queues_.size(); ++k) {
      auto& q = queues_[k];
      while (!q.empty() && q.front().due <= now) {
        const timer t = q.front();
        q.pop_front();
        call& c = table_[t.index];
        if (c.st != t.expect) continue;  // answered since
        if (now - c.first_sent >= timeout_us) {  // Timer B / F
          c.st = state::failed;
          ++failed_;
          continue;
        }
        ++retrans_;
        if (c.st == state::inviting)
          send_invite(t.index);
        else
          send_in_dialog(t.index, true);
        // INVITE: T1, 2*T1, 4*T1 ... (Timer A); BYE: the same, capped at T2 (Timer E).
        const std::size_t next = std::min(k + 1, queues_.size() - 1);
        const ms_t interval = c.st == state::byeing ? std::min(t1_us << next, t2_us) : t1_us << next;
        // Queue k's entries share one interval: a BYE past T2 stays in the T2 queue.
        const std::size_t q_next = c.st == state::byeing && (t1_us << next) > t2_us ? k : next;
        arm(static_cast<int>(q_next), t.index, t.expect, now + interval);
      }
    }
  }

  void receive(ms_t now) {
    for (;;) {
      std::array<mmsghdr, batch> hdr{};
      std::array<iovec, batch> iov{};
      for (int k = 0; k < batch; ++k) {
        iov[k] = {in_[k].data(), in_[k].size()};
        hdr[k].msg_hdr.msg_iov = &iov[k];
        hdr[k].msg_hdr.msg_iovlen = 1;
      }
      const int n = ::recvmmsg(fd_, hdr.data(), batch, MSG_DONTWAIT, nullptr);
      if (n <= 0) return;
      for (int k = 0; k < n; ++k) on_response({in_[k].data(), hdr[k].msg_len}, now);
      if (n < batch) return;
      flush();
    }
  }

  static std::string_view header(std::string_view msg, std::string_view name,
                                 std::string_view compact) {
    std::size_t pos = msg.find("\r\n");
    while (pos != std::string_view::npos && pos + 2 < msg.size()) {
      const std::size_t line = pos + 2;
      const std::size_t end = msg.find("\r\n", line);
      if (end == line || end == std::string_view::npos) break;  // end of headers
      const std::string_view l = msg.substr(line, end - line);
      for (std::string_view n : {name, compact}) {
        if (l.size() > n.size() && strncasecmp(l.data(), n.data(), n.size()) == 0) {
          std::size_t v = n.size();
          while (v < l.size() && (l[v] == ' ' || l[v] == '\t')) ++v;
          if (v < l.size() && l[v] == ':') {
            ++v;
            while (v < l.size() && (l[v] == ' ' || l[v] == '\t')) ++v;
            return l.substr(v);
          }
        }
      }
      pos = end;
    }
    return {};
  }

  void on_response(std::string_view msg, ms_t now) {
    if (msg.size() < 12) return;
    if (msg.substr(0, 4) == "BYE ") return on_bye(msg);
    if (msg.substr(0, 8) != "SIP/2.0 ") return;  // other requests: not expected
    const int code = std::atoi(std::string(msg.substr(8, 3)).c_str());
    const std::string_view id = header(msg, "Call-ID", "i");
    unsigned index = 0, run = 0;
    if (std::sscanf(std::string(id).c_str(), "%u-%u-load", &index, &run) != 2 || run != run_ ||
        index >= table_.size())
      return;
    const std::string_view cseq = header(msg, "CSeq", "");
    const bool bye = cseq.find("BYE") != std::string_view::npos;
    call& c = table_[index];
    if (!bye) {
      if (code < 200) {
        if (c.st == state::inviting) c.st = state::proceeding;  // Timer A stops
        return;
      }
      if (code >= 300) {
        if (c.st == state::inviting || c.st == state::proceeding) {
          c.st = state::failed;
          ++failed_;
        }
        return;  // (a non-2xx final would need an ACK in the transaction; none expected)
      }
      if (c.st == state::inviting || c.st == state::proceeding) {
        const std::string_view to = header(msg, "To", "t");
        const std::size_t p = to.find(";tag=");
        if (p == std::string_view::npos) return;
        std::string_view tag = to.substr(p + 5);
        tag = tag.substr(0, std::min(tag.find_first_of(";, \t"), tag.size()));
        c.tag_len = static_cast<std::uint8_t>(std::min(tag.size(), sizeof c.to_tag));
        std::memcpy(c.to_tag, tag.data(), c.tag_len);
        send_in_dialog(index, false);
        ++live_;
        max_live_ = std::max(max_live_, live_);
        if (hold_us_ > 0) {
          c.st = state::held;
          holds_.push_back({now + hold_us_, index, state::held});
        } else {
          start_bye(index, now);
        }
      } else if (c.st == state::held || c.st == state::byeing || c.st == state::done) {
        ++ok_retrans_;  // the UAS resent its 2xx: ACK it again
        send_in_dialog(index, false);
      }
      return;
    }
    if (code >= 200 && c.st == state::byeing) {
      // Only a 2xx to our BYE ends a call as sipp's uac scenario expects; a 481 means the
      // target had ended it already (it gave up waiting for the ACK).
      const bool ok = code < 300 && !c.hung_up;
      c.st = ok ? state::done : state::failed;
      ++(ok ? completed_ : failed_);
    }
  }

  /// The target hung up (an overloaded UAS ends calls whose ACK it did not see): 200,
  /// echoing the headers RFC 3261 §8.2.6.2 asks for, so that it stops resending the BYE.
  void on_bye(std::string_view msg) {
    const std::string_view via = header(msg, "Via", "v"), from = header(msg, "From", "f"),
                           to = header(msg, "To", "t"), id = header(msg, "Call-ID", "i"),
                           cseq = header(msg, "CSeq", "");
    if (via.empty() || id.empty() || cseq.empty()) return;
    ++byes_received_;
    unsigned index = 0, run = 0;
    if (std::sscanf(std::string(id).c_str(), "%u-%u-load", &index, &run) == 2 && run == run_ &&
        index < table_.size()) {
      call& c = table_[index];
      if (!c.hung_up && c.st == state::held) {  // no BYE of ours will follow
        c.st = state::failed;
        ++failed_;
        if (live_ > 0) --live_;
      }
      c.hung_up = true;
    }
    put("SIP/2.0 200 OK\r\nVia: %.*s\r\nFrom: %.*s\r\nTo: %.*s\r\nCall-ID: %.*s\r\n"
        "CSeq: %.*s\r\nContent-Length: 0\r\n\r\n",
        static_cast<int>(via.size()), via.data(), static_cast<int>(from.size()), from.data(),
        static_cast<int>(to.size()), to.data(), static_cast<int>(id.size()), id.data(),
        static_cast<int>(cseq.size()), cseq.data());
  }

  template <class... Args>
  void put(const char* fmt, Args... args) {
    if (out_count_ == batch) flush();
    auto& buf = out_[static_cast<std::size_t>(out_count_)];
    const int len = std::snprintf(buf.data(), buf.size(), fmt, args...);
    out_len_[static_cast<std::size_t>(out_count_++)] =
        static_cast<std::size_t>(std::min<int>(len, static_cast<int>(buf.size()) - 1));
  }

  void flush() {
    int sent = 0;
    while (sent < out_count_) {
      std::array<mmsghdr, batch> hdr{};
      std::array<iovec, batch> iov{};
      for (int k = sent; k < out_count_; ++k) {
        iov[k] = {out_[k].data(), out_len_[k]};
        hdr[k].msg_hdr.msg_iov = &iov[k];
        hdr[k].msg_hdr.msg_iovlen = 1;
        hdr[k].msg_hdr.msg_name = &to_;
        hdr[k].msg_hdr.msg_namelen = sizeof to_;
      }
      const int n = ::sendmmsg(fd_, hdr.data() + sent, static_cast<unsigned>(out_count_ - sent), 0);
      if (n < 0) {
        if (errno == EAGAIN || errno == ENOBUFS) {
          pollfd p{fd_, POLLOUT, 0};
          ::poll(&p, 1, 1);
          continue;
        }
        break;  // lost: the retransmission timers resend what matters
      }
      sent += n;
    }
    out_count_ = 0;
  }

  int fd_ = -1;
  unsigned run_;
  std::uint16_t port_, local_port_ = 0;
  const char* host_ = "127.0.0.1";
  sockaddr_in to_{};
  std::vector<call> table_;
  std::array<std::deque<timer>, 7> queues_;
  std::deque<timer> holds_;
  ms_t hold_us_ = 0;
  std::uint32_t completed_ = 0, failed_ = 0, live_ = 0, max_live_ = 0;
  std::uint64_t retrans_ = 0, ok_retrans_ = 0, byes_received_ = 0;
  std::array<std::array<char, max_len>, batch> out_{};
  std::array<std::size_t, batch> out_len_{};
  int out_count_ = 0;
  std::array<std::array<char, 4096>, batch> in_{};
};

}  // namespace

int main(int argc, char** argv) {
  const char* host = "127.0.0.1";
  long port = 0;
  double rate = 1000;
  long calls = 0, hold_ms = 0, max_wait = 40;
  bool progress = false;
  for (int i = 1; i < argc; ++i) {
    const std::string_view a = argv[i];
    const bool more = i + 1 < argc;
    if (a == "--host" && more) host = argv[++i];
    else if (a == "--port" && more) port = std::atol(argv[++i]);
    else if (a == "--rate" && more) rate = std::atof(argv[++i]);
    else if (a == "--calls" && more) calls = std::atol(argv[++i]);
    else if (a == "--hold-ms" && more) hold_ms = std::atol(argv[++i]);
    else if (a == "--max-wait" && more) max_wait = std::atol(argv[++i]);
    else if (a == "--progress") progress = true;
    else {
      std::fprintf(stderr,
                   "usage: call_load --port P [--host A] [--rate R] [--calls N] [--hold-ms MS] "
                   "[--max-wait S] [--progress]\n");
      return 2;
    }
  }
  if (port <= 0 || port > 65535 || rate <= 0) return 2;
  if (calls <= 0) calls = static_cast<long>(rate * 10);
  // A run id in every Call-ID and tag: answers to an earlier run are ignored.
  const auto run = static_cast<unsigned>(getpid());
  load l(host, static_cast<std::uint16_t>(port), run);
  // Calls still open max_wait seconds after the last one started are counted unfinished.
  return l.run(rate, static_cast<std::uint32_t>(calls), static_cast<ms_t>(hold_ms) * 1000,
               progress, (static_cast<ms_t>(max_wait) * 1000 + hold_ms) * 1000);
}
