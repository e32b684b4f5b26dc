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
      acceptor_(std::move(acc)),
      retry_timer_(acceptor_.get_executor()) {}

void stream_acceptor::start() { accept(); }

void stream_acceptor::close() {
  closed_ = true;
  boost::system::error_code ignored;
  retry_timer_.cancel();
  acceptor_.close(ignored);
}

void stream_acceptor::accept() {
  acceptor_.async_accept(
      [self = shared_from_this()](const boost::system::error_code& ec, tcp::socket sock) {
        if (self->closed_ || self->owner_->stopped) return;
        if (ec) {
          if (ec != asio::error::operation_aborted) self->back_off(ec);
          return;
        }
        self->on_accepted(std::move(sock));
        if (!self->closed_ && !self->owner_->stopped) self->accept();
      });
}

void stream_acceptor::back_off(const boost::system::error_code& ec) {
  // EMFILE / ENFILE / ENOBUFS / ENOMEM leave the connection in the listen queue, so the
  // listener stays readable: accepting again at once would fail again at once, in a loop
  // that eats a core and starves everything else. Wait instead, longer while it lasts.
  using namespace std::chrono_literals;
  auto& m = *owner_;
  ++m.st(transport).accept_errors;
  ++failures_;
  backoff_ = backoff_.count() == 0 ? 10ms : std::min<std::chrono::milliseconds>(backoff_ * 2, 1s);
  // One line when the trouble starts, then one per retry interval once that is at its
  // maximum: at most one a second however long it lasts.
  if (failures_ == 1 || backoff_ == 1s)
    m.log_limited(log_reason::accept_failed, log_level::warning, [&] {
      return "accept on " + std::string(to_string(transport)) + " " + local.to_string() +
             " failed: " + ec.message() + " (" + std::to_string(failures_) +
             " in a row); accepting again in " + std::to_string(backoff_.count()) + " ms";
    });
  retry_timer_.expires_after(backoff_);
  retry_timer_.async_wait([self = shared_from_this()](const boost::system::error_code& tec) {
    if (tec || self->closed_ || self->owner_->stopped) return;
    self->accept();
  });
}

void stream_acceptor::on_accepted(tcp::socket sock) {
  auto& m = *owner_;
  auto& s = m.st(transport);
  if (failures_ > 0) {
    m.log(log_level::info, "accepting on " + std::string(to_string(transport)) + " " +
                               local.to_string() + " again after " + std::to_string(failures_) +
                               " failed accepts");
    failures_ = 0;
  }
  backoff_ = std::chrono::milliseconds(0);

  // Refused sockets are reset (linger 0): no FIN handshake, no TIME_WAIT kept for them.
  auto refuse = [&](std::string_view why, const endpoint& peer, std::string what) {
    ++s.connections_refused;
    ++s.drops;
    m.log_limited(why, log_level::warning, [&] {
      return "refuse " + std::string(to_string(transport)) + " connection from " +
             peer.to_string() + ": " + what;
    });
    boost::system::error_code ignored;
    sock.set_option(asio::socket_base::linger(true, 0), ignored);
    sock.close(ignored);
  };

  boost::system::error_code ec;
  const endpoint peer = from_asio(sock.remote_endpoint(ec));
  if (ec) {
    // Reset by the peer before we got to it.
    sock.close(ec);
    return;
  }
  if (m.conns.size() >= m.cfg.max_connections && !m.evict_stranger()) {
    refuse(log_reason::refuse_limit, peer,
           "connection limit (" + std::to_string(m.cfg.max_connections) + ") reached");
    return;
  }
  const std::size_t per_source = m.cfg.max_connections_per_source;
  if (per_source != 0) {
    auto it = m.per_source.find(source_key(peer.address));
    if (it != m.per_source.end() && it->second >= per_source) {
      ++s.connections_refused_per_source;
      refuse(log_reason::refuse_source, peer,
             "per-source connection limit (" + std::to_string(per_source) + ") reached");
      return;
    }
  }
  ++m.per_source[source_key(peer.address)];
  ++s.connections_accepted;
  const connection_id cid = m.next_id++;
  auto c = std::make_shared<stream_connection>(owner_, transport, std::move(sock), cid, false);
  c->remote = peer;
  m.conns.emplace(cid, c);
  m.gone_flows.erase({transport, peer});  // the port is someone's live flow again
  c->start_accepted();
  if (c->open()) m.by_remote[{c->transport, c->remote}] = cid;
}

// ---------------------------------------------------------------------------------------
// Connection

stream_connection::stream_connection(std::shared_ptr<manager::impl> owner, protocol p,
                                     tcp::socket sock, connection_id id_, bool outgoing_)
    : transport(p),
      id(id_),
      outgoing(outgoing_),
      owner_(std::move(owner)),
      framer_(owner_->cfg.limits, owner_->cfg.parser),
      read_buf_(16 * 1024),
      timer_(sock.get_executor()) {
  if (is_websocket(p)) {
    ws_init(std::move(sock));
  } else if (p == protocol::tls) {
    auto& ctx = outgoing ? *owner_->tls_client : *owner_->tls_server;
    tls_ = std::make_unique<tls_stream>(std::move(sock), ctx);
  } else {
    plain_.emplace(std::move(sock));
  }
  started_ = last_activity_ = steady::now();
  flow_ = outgoing;
  ++owner_->st(p).connections_open;
}

void stream_connection::mark_flow() {
  flow_ = true;
  last_activity_ = steady::now();
}

void stream_connection::start_accepted() {
  boost::system::error_code ec;
  local = from_asio(socket().local_endpoint(ec));
  if (ec) {
    close("accepted socket unusable: " + ec.message(), ec);
    return;
  }
  socket().set_option(tcp::no_delay(true), ec);
  owner_->log(log_level::debug, "accepted " + describe(*this));
  arm_timer(next_deadline());
  if (tls_layer() == nullptr) {
    secured({});
    return;
  }
  state_ = state::handshaking;
  tls_layer()->async_handshake(asio::ssl::stream_base::server,
                               [self = shared_from_this()](const boost::system::error_code& hec) {
                                 if (!self->open()) return;
                                 if (hec) {
                                   self->close("TLS handshake failed: " + hec.message(), hec);
                                   return;
                                 }
                                 self->secured({});
                               });
}

stream_connection::tls_stream* stream_connection::tls_layer() {
  return ws_ ? ws_tls() : tls_.get();
}

void stream_connection::secured(const std::string& server_name) {
  if (!ws_) {
    established();
  } else if (outgoing) {
    ws_handshake(server_name);
  } else {
    ws_accept();
  }
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
        auto* tls = self->tls_layer();
        if (tls == nullptr) {
          self->secured(server_name);
          return;
        }
        // RFC 5922 §4 (server identity) with SNI (RFC 6066 §3) so that a server with
        // several domains presents the right certificate.
        const std::string name =
            server_name.empty() ? self->remote.address.to_string() : server_name;
        if (!parse_ip(name)) SSL_set_tlsext_host_name(tls->native_handle(), name.c_str());
        if (self->owner_->cfg.tls.verify_server) {
          tls->set_verify_mode(asio::ssl::verify_peer);
          tls->set_verify_callback(asio::ssl::host_name_verification(name));
        }
        self->state_ = state::handshaking;
        tls->async_handshake(asio::ssl::stream_base::client,
                             [self, server_name](const boost::system::error_code& hec) {
                               if (!self->open()) return;
                               if (hec) {
                                 self->close("TLS handshake failed: " + hec.message(), hec);
                                 return;
                               }
                               self->secured(server_name);
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
    return owner_->refuse_send(error::write_queue_full, transport, describe(*this), bytes.size());
  }
  queued_bytes_ += bytes.size();
  queue_.push_back({std::move(bytes), std::move(done), is_message});
  if (state_ == state::established && !writing_) write_next();
  return {};
}

std::error_code stream_connection::send_ping() {
  if (!ws_) return send("\r\n\r\n", {}, false);
  if (!open()) return error::connection_closed;
  // A ping frame carries no bytes of ours; it still takes a queue slot so that it is
  // written between two messages, never inside one.
  queue_.push_back({{}, {}, false, true});
  if (state_ == state::established && !writing_) write_next();
  return {};
}

void stream_connection::write_next() {
  if (queue_.empty() || !open()) {
    writing_ = false;
    return;
  }
  writing_ = true;
  if (ws_) {
    ws_write();
    return;
  }
  auto handler = [self = shared_from_this()](const boost::system::error_code& ec, std::size_t n) {
    self->on_written(ec, n);
  };
  auto buf = asio::buffer(queue_.front().bytes);
  if (tls_)
    asio::async_write(*tls_, buf, std::move(handler));
  else
    asio::async_write(*plain_, buf, std::move(handler));
}

void stream_connection::on_written(const boost::system::error_code& ec, std::size_t n) {
  // After close() the in-flight entry already had its handler failed.
  if (!open()) return;
  pending p = std::move(queue_.front());
  queue_.pop_front();
  queued_bytes_ -= p.bytes.size();
  auto& m = *owner_;
  auto& s = m.st(transport);
  const send_info info{transport, remote, id};
  if (ec) {
    ++s.send_errors;
    m.post_done(std::move(p.done), ec, info);
    close("write failed: " + ec.message(), ec);
    return;
  }
  s.bytes_out += n;
  if (p.is_message) ++s.messages_out;
  // Only a flow is kept alive by what it carries (config.hpp idle_timeout): pongs and
  // 400s written to a peer that never sent a valid message do not count.
  if (flow_) last_activity_ = steady::now();
  m.post_done(std::move(p.done), {}, info);
  write_next();
}

void stream_connection::read() {
  if (ws_) {
    ws_read();
    return;
  }
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
  // config.hpp idle_timeout: on a flow any traffic, keep-alives included, shows it is in
  // use; on another connection only a complete SIP message does (below), so that a peer
  // sending nothing but CRLF pings cannot hold a connection slot forever.
  if (flow_) last_activity_ = now;
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
    const bool delivered = m.on_input(r.message, transport, remote, local, id, nullptr, this);
    if (!open() || m.stopped) return;
    if (delivered) mark_flow();
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
      close(state_ == state::connecting ? "connect timed out"
            : ws_                       ? "TLS / WebSocket handshake timed out"
                                        : "TLS handshake timed out",
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
      (void)send_ping();
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
    // A message that will never be written is a failed send (not on stop()).
    if (p.is_message && !m.stopped) ++m.st(transport).send_errors;
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
  // Peers decide how often connections close (a connect-and-drop flood): rate-limited.
  m.log_limited(normal ? log_reason::closed : log_reason::closed_error,
                normal ? log_level::info : log_level::warning,
                [&] { return describe(*this) + " closed: " + std::string(reason); });
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
  if ((lp.transport == protocol::tls || lp.transport == protocol::wss) && !tls_server)
    return error::tls_not_configured;
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
  ++listeners_version;
  a->start();
  log(log_level::info, "listening on " + std::string(to_string(lp.transport)) + " " +
                           a->local.to_string());
  return {};
}

}  // namespace sipkit::transport
