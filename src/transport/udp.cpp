// UDP sockets: batched, non-blocking reads straight into fixed slots, parsed in place.
#include <boost/asio/post.hpp>

#include <boost/asio/ip/v6_only.hpp>

#include "transport/impl.hpp"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include <cstring>

namespace sipkit::transport {
namespace detail {

struct udp_socket::receive_batch {
#ifdef __linux__
  explicit receive_batch(std::size_t n) : msgs(n), iov(n), addrs(n) {}
  std::vector<mmsghdr> msgs;
  std::vector<iovec> iov;
  std::vector<sockaddr_storage> addrs;
#else
  explicit receive_batch(std::size_t) {}
#endif
};

struct udp_socket::send_batch {
#ifdef __linux__
  std::vector<mmsghdr> msgs;
  std::vector<iovec> iov;
  std::vector<sockaddr_storage> addrs;
#endif
};

udp_socket::~udp_socket() = default;

udp_socket::udp_socket(std::shared_ptr<manager::impl> owner, udp::socket sock, connection_id id_)
    : id(id_),
      local(from_asio(sock.local_endpoint())),
      v6(sock.local_endpoint().address().is_v6()),
      owner_(std::move(owner)),
      sock_(std::move(sock)),
      // One byte more than the largest accepted message, so that an oversize datagram
      // is seen as such (truncated) instead of being parsed short.
      slot_size_(owner_->cfg.limits.max_message_size + 1),
      buffer_(slot_size_ * std::max<std::size_t>(1, owner_->cfg.udp_batch)),
      batch_(std::make_unique<receive_batch>(std::max<std::size_t>(1, owner_->cfg.udp_batch))),
      send_batch_(std::make_unique<send_batch>()) {}

void udp_socket::start() {
  sock_.non_blocking(true);
  wait();
}

void udp_socket::close() {
  if (!closed_) flush();  // what the handlers of the current batch sent was accepted
  closed_ = true;
  boost::system::error_code ignored;
  sock_.close(ignored);
}

void udp_socket::wait() {
  sock_.async_wait(udp::socket::wait_read,
                   [self = shared_from_this()](const boost::system::error_code& ec) {
                     if (ec || self->closed_ || self->owner_->stopped) return;
                     self->drain();
                   });
}

std::error_code udp_socket::send(std::string_view bytes, const udp::endpoint& to) {
  boost::system::error_code ec;
  sock_.send_to(asio::buffer(bytes.data(), bytes.size()), to, 0, ec);
  return ec;
}

void udp_socket::queue(std::string_view bytes, const endpoint& to, manager::send_handler done,
                       std::uint64_t cookie) {
  out_.push_back({out_bytes_.size(), bytes.size(), to, std::move(done), cookie});
  out_bytes_.append(bytes);
}

void udp_socket::flush() {
  if (out_.empty()) return;
  auto& m = *owner_;
  auto& s = m.st(protocol::udp);
  // Nothing below queues (m.udp_batching is off), so out_ stays as it is until cleared.
  auto outcome = [&](queued& q, std::error_code ec) {
    if (ec) {
      ++s.send_errors;
      m.log_limited(log_reason::send_failed, log_level::warning, [&] {
        return "UDP send of " + std::to_string(q.size) + " bytes to " + q.to.to_string() +
               " failed: " + ec.message();
      });
    } else {
      ++s.messages_out;
      s.bytes_out += q.size;
    }
    if (ec && !q.done) {
      m.post_datagram_error(q.cookie, ec);
      return;
    }
    m.post_done(std::move(q.done), ec, send_info{protocol::udp, q.to, id});
  };
  const std::size_t n = out_.size();
#ifdef __linux__
  auto& b = *send_batch_;
  if (b.msgs.size() < n) {
    b.msgs.resize(n);
    b.iov.resize(n);
    b.addrs.resize(n);
  }
  for (std::size_t i = 0; i < n; ++i) {
    const udp::endpoint ep = to_udp(out_[i].to);
    std::memcpy(&b.addrs[i], ep.data(), ep.size());
    b.iov[i] = {out_bytes_.data() + out_[i].offset, out_[i].size};
    b.msgs[i] = {};
    b.msgs[i].msg_hdr.msg_name = &b.addrs[i];
    b.msgs[i].msg_hdr.msg_namelen = static_cast<socklen_t>(ep.size());
    b.msgs[i].msg_hdr.msg_iov = &b.iov[i];
    b.msgs[i].msg_hdr.msg_iovlen = 1;
  }
  std::size_t i = 0;
  while (i < n) {
    // UIO_MAXIOV (1,024) is the most one call takes.
    const auto count = static_cast<unsigned>(std::min<std::size_t>(n - i, 1024));
    const int sent = ::sendmmsg(sock_.native_handle(), &b.msgs[i], count, MSG_DONTWAIT);
    if (sent > 0) {
      for (std::size_t k = i; k < i + static_cast<std::size_t>(sent); ++k) outcome(out_[k], {});
      i += static_cast<std::size_t>(sent);
      continue;
    }
    const int err = sent < 0 ? errno : EIO;
    if (err == EINTR) continue;
    // sendmmsg reports an error only for the first datagram of a call: that one failed,
    // the next call starts after it.
    outcome(out_[i], std::error_code(err, std::system_category()));
    ++i;
  }
#else
  for (auto& q : out_) outcome(q, send({out_bytes_.data() + q.offset, q.size}, to_udp(q.to)));
#endif
  out_.clear();
  out_bytes_.clear();
  // A burst far above the usual does not pin its memory for good.
  if (out_bytes_.capacity() > (std::size_t{1} << 20)) std::string().swap(out_bytes_);
  if (out_.capacity() > 4096) std::vector<queued>().swap(out_);
}

namespace {

endpoint from_sockaddr(const sockaddr_storage& ss) {
  if (ss.ss_family == AF_INET) {
    sockaddr_in sin;
    std::memcpy(&sin, &ss, sizeof sin);
    return {asio::ip::address_v4(ntohl(sin.sin_addr.s_addr)), ntohs(sin.sin_port)};
  }
  if (ss.ss_family == AF_INET6) {
    sockaddr_in6 sin6;
    std::memcpy(&sin6, &ss, sizeof sin6);
    asio::ip::address_v6::bytes_type b;
    std::memcpy(b.data(), &sin6.sin6_addr, 16);
    return {asio::ip::address_v6(b, sin6.sin6_scope_id), ntohs(sin6.sin6_port)};
  }
  return {};
}

}  // namespace

namespace {

/// Queues UDP sends while it lives. Not a flush in the destructor: a handler that throws
/// leaves its datagrams for the next flush instead of sending from an unwinding stack.
struct batch_scope {
  explicit batch_scope(manager::impl& m) : m_(m) { m_.udp_batching = true; }
  ~batch_scope() { m_.udp_batching = false; }
  batch_scope(const batch_scope&) = delete;
  batch_scope& operator=(const batch_scope&) = delete;

 private:
  manager::impl& m_;
};

}  // namespace

void udp_socket::drain() {
  auto& m = *owner_;
  auto& s = m.st(protocol::udp);
  const std::size_t batch = std::max<std::size_t>(1, m.cfg.udp_batch);
  // A bounded number of datagrams per wake-up keeps one flooded socket from starving
  // the rest of the io_context; the remainder is read after a post().
  std::size_t budget = 256;
  bool drained = false;

  auto handle = [&](std::size_t len, bool truncated, const endpoint& from, const char* data) {
    s.bytes_in += len;
    if (truncated || len >= slot_size_) {
      ++s.drops;
      ++s.parse_errors;
      m.log_limited(log_reason::drop_oversize, log_level::warning, [&] {
        return "drop UDP datagram from " + from.to_string() + ": larger than max_message_size (" +
               std::to_string(m.cfg.limits.max_message_size) + ")";
      });
      return;
    }
    std::string_view bytes(data, len);
    // RFC 5626 §3.5.1 keep-alives on UDP are STUN; a bare CRLF datagram is an old-style
    // keep-alive: ignore it quietly.
    if (bytes.find_first_not_of("\r\n \t") == std::string_view::npos) return;
    m.on_input(bytes, protocol::udp, from, local, id, this, nullptr);
  };

#ifdef __linux__
  auto& msgs = batch_->msgs;
  auto& iov = batch_->iov;
  auto& addrs = batch_->addrs;
  while (budget > 0 && !closed_ && !m.stopped) {
    for (std::size_t i = 0; i < batch; ++i) {
      iov[i] = {buffer_.data() + i * slot_size_, slot_size_};
      msgs[i] = {};
      msgs[i].msg_hdr.msg_iov = &iov[i];
      msgs[i].msg_hdr.msg_iovlen = 1;
      msgs[i].msg_hdr.msg_name = &addrs[i];
      msgs[i].msg_hdr.msg_namelen = sizeof(sockaddr_storage);
    }
    const int n = ::recvmmsg(sock_.native_handle(), msgs.data(), static_cast<unsigned>(batch),
                             MSG_DONTWAIT, nullptr);
    if (n <= 0) break;  // EAGAIN (drained) or an ICMP error report: wait again
    {
      // What the handlers send leaves after the batch, in one sendmmsg per socket.
      batch_scope scope(m);
      for (int i = 0; i < n && !closed_ && !m.stopped; ++i) {
        const auto k = static_cast<std::size_t>(i);
        handle(msgs[k].msg_len, (msgs[k].msg_hdr.msg_flags & MSG_TRUNC) != 0,
               from_sockaddr(addrs[k]), buffer_.data() + k * slot_size_);
      }
    }
    m.flush_udp();
    budget -= std::min(budget, static_cast<std::size_t>(n));
    if (static_cast<std::size_t>(n) < batch) {
      drained = true;
      break;
    }
  }
#else
  while (budget > 0 && !closed_ && !m.stopped) {
    udp::endpoint from;
    boost::system::error_code ec;
    std::size_t n = sock_.receive_from(asio::buffer(buffer_.data(), slot_size_), from, 0, ec);
    if (ec) {
      drained = true;
      break;
    }
    handle(n, false, from_asio(from), buffer_.data());
    --budget;
  }
#endif
  if (closed_ || m.stopped) return;
  // Budget used up: there may be more queued; come back after other handlers ran.
  if (drained || budget > 0)
    wait();
  else
    asio::post(sock_.get_executor(), [self = shared_from_this()] {
      if (!self->closed_ && !self->owner_->stopped) self->drain();
    });
}

}  // namespace detail

void manager::impl::flush_udp() {
  // By index, and the socket held: a log hook called from flush() may stop the manager.
  for (std::size_t i = 0; i < udp.size(); ++i) {
    if (!udp[i]->has_queued()) continue;
    auto u = udp[i];
    u->flush();
  }
}

std::error_code manager::impl::open_udp(const listen_point& lp) {
  auto addr = parse_ip(lp.address);
  if (!addr) return std::make_error_code(std::errc::invalid_argument);
  boost::system::error_code ec;
  udp::socket sock(io);
  const udp::endpoint ep(*addr, lp.port);
  sock.open(ep.protocol(), ec);
  if (ec) return ec;
  if (addr->is_v6()) sock.set_option(asio::ip::v6_only(true), ec);
  if (cfg.reuse_port) {
#ifdef SO_REUSEPORT
    int one = 1;
    ::setsockopt(sock.native_handle(), SOL_SOCKET, SO_REUSEPORT, &one, sizeof one);
#endif
  }
  if (cfg.udp_receive_buffer > 0)
    sock.set_option(asio::socket_base::receive_buffer_size(static_cast<int>(cfg.udp_receive_buffer)),
                    ec);
  sock.bind(ep, ec);
  if (ec) return ec;
  auto u = std::make_shared<detail::udp_socket>(shared_from_this(), std::move(sock), next_id++);
  udp.push_back(u);
  ++listeners_version;
  u->start();
  log(log_level::info, "listening on UDP " + u->local.to_string());
  return {};
}

}  // namespace sipkit::transport
