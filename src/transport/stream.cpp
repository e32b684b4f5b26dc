// TCP and TLS: acceptors and connections (RFC 3261 §18.3 framing, RFC 5626 §4.4.1
// keep-alives, connection timeouts).
#include <boost/asio/connect.hpp>
#include <boost/asio/ssl/host_name_verification.hpp>
#include <boost/asio/write.hpp>
#include <openssl/ssl.h>

#include <boost/asio/ip/v6_only.hpp>

#include "transport/impl.hpp"

namespace sipkit::transport {
namespace detail {

namespace {

steady::time_point after(steady::time_point t, std::chrono::milliseconds d) {
  if (d.count() <= 0 || t == steady::time_point::max()) return steady::time_point::max();
  return t + d;
}

std::string describe(const stream_connection& c) {
  std::string s(to_string(c.transport));
  s += " connection ";
  s += std::to_string(c.id);
  s += c.outgoing ? " to " : " from ";
  s += c.remote.to_string();
  return s;
}

}  // namespace

// ---------------------------------------------------------------------------------------
// Acceptor

stream_acceptor::stream_acceptor(std::shared_ptr<manager::impl> owner, protocol p,
                                 tcp::acceptor acc)
    : transport(p),
      local(from_asio(acc.local_endpoint())),
      id(owner->next_id++),
      owner_(std::move(owner)),
      acceptor_(std::move(acc)) {}

void stream_acceptor::start() { accept(); }

void stream_acceptor::close() {
  closed_ = true;
  boost::system::error_code ignored;
  acceptor_.close(ignored);
}

void stream_acceptor::accept() {
  acceptor_.async_accept([self = shared_from_this()](const boost::system::error_code& ec,
                                                     tcp::socket sock) {
    auto& m = *self->owner_;
    if (self->closed_ || m.stopped) return;
    auto& s = m.st(self->transport);
    if (ec) {
      m.log(log_level::warning, "accept on " + std::string(to_string(self->transport)) + " " +
                                    self->local.to_string() + " failed: " + ec.message());
      if (ec != asio::error::operation_aborted) self->accept();
      return;
    }
    if (m.conns.size() >= m.cfg.max_connections) {
      ++s.connections_refused;
      ++s.drops;
      boost::system::error_code ignored;
      auto peer = sock.remote_endpoint(ignored);
      m.log(log_level::warning, "refuse " + std::string(to_string(self->transport)) +
                                    " connection from " + from_asio(peer).to_string() +
                                    ": connection limit (" +
                                    std::to_string(m.cfg.max_connections) + ") reached");
      sock.close(ignored);
      self->accept();
      return;
    }
    ++s.connections_accepted;
    const connection_id cid = m.next_id++;
    auto c = std::make_shared<stream_connection>(self->owner_, self->transport, std::move(sock),
                                                 cid, false);
    m.conns.emplace(cid, c);
    c->start_accepted();
    if (c->open()) m.by_remote[{c->transport, c->remote}] = cid;
    self->accept();
  });
}

// ---------------------------------------------------------------------------------------
// Connection

stream_connection::stream_connection(std::shared_ptr<manager::impl> owner, protocol p,
                                     tcp::socket sock, connection_id id_, bool outgoing_)
    : transport(p),
      id(id_),
      outgoing(outgoing_),
      owner_(std::move(owner)),
      framer_(owner_->cfg.limits),
      read_buf_(16 * 1024),
      timer_(sock.get_executor()) {
  if (p == protocol::tls) {
    auto& ctx = outgoing ? *owner_->tls_client : *owner_->tls_server;
    tls_ = std::make_unique<tls_stream>(std::move(sock), ctx);
  } else {
    plain_.emplace(std::move(sock));
  }
  started_ = last_activity_ = steady::now();
  ++owner_->st(p).connections_open;
}

void stream_connection::start_accepted() {
  boost::system::error_code ec;
  remote = from_asio(socket().remote_endpoint(ec));
  local = from_asio(socket().local_endpoint(ec));
  if (ec) {
    close("accepted socket unusable: " + ec.message(), ec);
    return;
  }
  socket().set_option(tcp::no_delay(true), ec);
  owner_->log(log_level::debug, "accepted " + describe(*this));
  arm_timer(next_deadline());
  if (!tls_) {
    established();
    return;
  }
  state_ = state::handshaking;
  tls_->async_handshake(asio::ssl::stream_base::server,
                        [self = shared_from_this()](const boost::system::error_code& hec) {
                          if (!self->open()) return;
                          if (hec) {
                            self->close("TLS handshake failed: " + hec.message(), hec);
                            return;
                          }
                          self->established();
                        });
}

void stream_connection::start_connect(const endpoint& to, const std::string& server_name) {
  remote = to;
  state_ = state::connecting;
  started_ = steady::now();
  arm_timer(next_deadline());
  socket().async_connect(
      to_tcp(to), [self = shared_from_this(), server_name](const boost::system::error_code& ec) {
        if (!self->open()) return;
        if (ec) {
          self->close("connect failed: " + ec.message(), ec);
          return;
        }
        boost::system::error_code ignored;
        self->local = from_asio(self->socket().local_endpoint(ignored));
        self->socket().set_option(tcp::no_delay(true), ignored);
        if (!self->tls_) {
          self->established();
          return;
        }
        // RFC 5922 §4 (server identity) with SNI (RFC 6066 §3) so that a server with
        // several domains presents the right certificate.
        const std::string name =
            server_name.empty() ? self->remote.address.to_string() : server_name;
        if (!parse_ip(name)) SSL_set_tlsext_host_name(self->tls_->native_handle(), name.c_str());
        if (self->owner_->cfg.tls.verify_server) {
          self->tls_->set_verify_mode(asio::ssl::verify_peer);
          self->tls_->set_verify_callback(asio::ssl::host_name_verification(name));
        }
        self->state_ = state::handshaking;
        self->tls_->async_handshake(
            asio::ssl::stream_base::client, [self](const boost::system::error_code& hec) {
              if (!self->open()) return;
              if (hec) {
                self->close("TLS handshake failed: " + hec.message(), hec);
                return;
              }
              self->established();
            });
      });
}

void stream_connection::established() {
  state_ = state::established;
  last_activity_ = steady::now();
  auto& s = owner_->st(transport);
  if (outgoing) {
    ++s.connections_opened;
    if (owner_->cfg.keepalive_interval.count() > 0)
      next_ping_ = last_activity_ + owner_->cfg.keepalive_interval;
  }
  owner_->log(log_level::debug, describe(*this) + " established (local " + local.to_string() + ")");
  timer_at_ = steady::time_point::max();  // force re-arming for the new deadlines
  arm_timer(next_deadline());
  read();
  if (!writing_) write_next();
}

std::error_code stream_connection::send(std::string bytes, manager::send_handler done,
                                        bool is_message) {
  if (!open()) return error::connection_closed;
  if (queued_bytes_ + bytes.size() > owner_->cfg.max_write_queue_bytes) {
    ++owner_->st(transport).send_errors;
    owner_->log(log_level::warning, describe(*this) + ": write queue full, message refused");
    return error::write_queue_full;
  }
  queued_bytes_ += bytes.size();
  queue_.push_back({std::move(bytes), std::move(done), is_message});
  if (state_ == state::established && !writing_) write_next();
  return {};
}

void stream_connection::write_next() {
  if (queue_.empty() || !open()) {
    writing_ = false;
    return;
  }
  writing_ = true;
  auto handler = [self = shared_from_this()](const boost::system::error_code& ec, std::size_t n) {
    // After close() the in-flight entry already had its handler failed.
    if (!self->open()) return;
    pending p = std::move(self->queue_.front());
    self->queue_.pop_front();
    self->queued_bytes_ -= p.bytes.size();
    auto& m = *self->owner_;
    auto& s = m.st(self->transport);
    const send_info info{self->transport, self->remote, self->id};
    if (ec) {
      ++s.send_errors;
      m.post_done(std::move(p.done), ec, info);
      self->close("write failed: " + ec.message(), ec);
      return;
    }
    s.bytes_out += n;
    if (p.is_message) ++s.messages_out;
    self->last_activity_ = steady::now();
    m.post_done(std::move(p.done), {}, info);
    self->write_next();
  };
  auto buf = asio::buffer(queue_.front().bytes);
  if (tls_)
    asio::async_write(*tls_, buf, std::move(handler));
  else
    asio::async_write(*plain_, buf, std::move(handler));
}

void stream_connection::read() {
  auto handler = [self = shared_from_this()](const boost::system::error_code& ec, std::size_t n) {
    if (!self->open()) return;
    if (ec) {
      if (ec == asio::error::eof || ec == asio::ssl::error::stream_truncated)
        self->close("closed by peer");
      else
        self->close("read failed: " + ec.message(), ec);
      return;
    }
    self->on_read(n);
  };
  auto buf = asio::buffer(read_buf_);
  if (tls_)
    tls_->async_read_some(buf, std::move(handler));
  else
    plain_->async_read_some(buf, std::move(handler));
}

void stream_connection::on_read(std::size_t n) {
  auto& m = *owner_;
  auto& s = m.st(transport);
  const auto now = steady::now();
  last_activity_ = now;
  ping_sent_.reset();  // RFC 5626 §4.4.1: any traffic shows the flow is alive
  s.bytes_in += n;
  const std::size_t pings_before = framer_.pings_received();
  framer_.feed({read_buf_.data(), n});
  for (;;) {
    auto r = framer_.next();
    if (r.error.code == parser::errc::need_more) break;
    if (r.error) {
      // The stream cannot be resynchronised after a framing error: close it.
      ++s.parse_errors;
      ++s.drops;
      close("framing error: " + r.error.message(), r.error.error_code());
      return;
    }
    m.on_input(r.message, transport, remote, local, id, nullptr, this);
    if (!open() || m.stopped) return;
  }
  // RFC 5626 §4.4.1: answer each CRLFCRLF ping with a CRLF pong.
  for (std::size_t i = pings_before; i < framer_.pings_received(); ++i) {
    ++s.keepalive_pings_received;
    if (!send("\r\n", {}, false)) ++s.keepalive_pongs_sent;
  }
  if (framer_.buffered() == 0) {
    partial_since_.reset();
  } else if (!partial_since_) {
    partial_since_ = now;
    arm_timer(next_deadline());
  }
  read();
}

steady::time_point stream_connection::next_deadline() const {
  const auto& cfg = owner_->cfg;
  if (state_ == state::connecting || state_ == state::handshaking)
    return after(started_, cfg.connect_timeout);
  auto d = after(last_activity_, cfg.idle_timeout);
  if (partial_since_) d = std::min(d, after(*partial_since_, cfg.message_timeout));
  if (ping_sent_)
    d = std::min(d, after(*ping_sent_, cfg.keepalive_timeout));
  else
    d = std::min(d, next_ping_);
  return d;
}

void stream_connection::arm_timer(steady::time_point when) {
  if (when == steady::time_point::max() || when >= timer_at_ || !open()) return;
  timer_at_ = when;
  timer_.expires_at(when);
  timer_.async_wait([self = shared_from_this()](const boost::system::error_code& ec) {
    if (ec == asio::error::operation_aborted) return;
    self->on_timer();
  });
}

void stream_connection::on_timer() {
  if (!open()) return;
  timer_at_ = steady::time_point::max();
  const auto now = steady::now();
  const auto& cfg = owner_->cfg;
  if (state_ == state::connecting || state_ == state::handshaking) {
    if (now >= after(started_, cfg.connect_timeout)) {
      close(state_ == state::connecting ? "connect timed out" : "TLS handshake timed out",
            error::timed_out);
      return;
    }
  } else {
    if (partial_since_ && now >= after(*partial_since_, cfg.message_timeout)) {
      close("incomplete message timed out (" + std::to_string(framer_.buffered()) +
                " bytes buffered)",
            error::timed_out);
      return;
    }
    if (ping_sent_ && now >= after(*ping_sent_, cfg.keepalive_timeout)) {
      close("keep-alive pong not received (RFC 5626 4.4.1)", error::keepalive_timeout);
      return;
    }
    if (now >= after(last_activity_, cfg.idle_timeout)) {
      close("idle timeout", error::idle_timeout);
      return;
    }
    if (!ping_sent_ && now >= next_ping_) {
      ++owner_->st(transport).keepalive_pings_sent;
      (void)send("\r\n\r\n", {}, false);
      ping_sent_ = now;
      next_ping_ = after(now, cfg.keepalive_interval);
    }
  }
  arm_timer(next_deadline());
}

void stream_connection::fail_pending(std::error_code ec) {
  auto& m = *owner_;
  const send_info info{transport, remote, id};
  bool first = true;
  for (auto& p : queue_) {
    m.post_done(std::move(p.done), ec, info);
    p.done = nullptr;
    // The entry being written stays: its bytes must outlive the cancelled operation.
    if (first && writing_) {
      first = false;
      continue;
    }
    first = false;
  }
  if (writing_ && !queue_.empty()) {
    queue_.erase(queue_.begin() + 1, queue_.end());
  } else {
    queue_.clear();
  }
  queued_bytes_ = 0;
}

void stream_connection::close(std::string_view reason, std::error_code ec) {
  if (state_ == state::closed) return;
  state_ = state::closed;
  auto self = shared_from_this();  // the tables may hold the last reference
  auto& m = *owner_;
  const bool normal =
      !ec || ec == error::idle_timeout || ec == std::errc::operation_canceled;
  m.log(normal ? log_level::info : log_level::warning,
        describe(*this) + " closed: " + std::string(reason));
  timer_.cancel();
  boost::system::error_code ignored;
  socket().shutdown(tcp::socket::shutdown_both, ignored);
  socket().close(ignored);
  const std::error_code why = ec ? ec : make_error_code(error::connection_closed);
  fail_pending(why);
  m.connection_closed(*this, why);
}

}  // namespace detail

std::error_code manager::impl::open_acceptor(const listen_point& lp) {
  if (lp.transport == protocol::tls && !tls_server) return error::tls_not_configured;
  auto addr = parse_ip(lp.address);
  if (!addr) return std::make_error_code(std::errc::invalid_argument);
  boost::system::error_code ec;
  tcp::acceptor acc(io);
  const tcp::endpoint ep(*addr, lp.port);
  acc.open(ep.protocol(), ec);
  if (ec) return ec;
  if (addr->is_v6()) acc.set_option(asio::ip::v6_only(true), ec);
  acc.set_option(tcp::acceptor::reuse_address(true), ec);
  if (cfg.reuse_port) {
#ifdef SO_REUSEPORT
    int one = 1;
    ::setsockopt(acc.native_handle(), SOL_SOCKET, SO_REUSEPORT, &one, sizeof one);
#endif
  }
  acc.bind(ep, ec);
  if (ec) return ec;
  acc.listen(asio::socket_base::max_listen_connections, ec);
  if (ec) return ec;
  auto a = std::make_shared<detail::stream_acceptor>(shared_from_this(), lp.transport,
                                                     std::move(acc));
  acceptors.push_back(a);
  a->start();
  log(log_level::info, "listening on " + std::string(to_string(lp.transport)) + " " +
                           a->local.to_string());
  return {};
}

}  // namespace sipkit::transport
