// The manager: configuration, delivery of parsed messages, and send routing
// (RFC 3261 §18.1.1 requests, §18.2.2 / RFC 3581 §4 responses).
#include <sys/resource.h>

#include <boost/asio/post.hpp>

#include "transport/impl.hpp"

namespace sipkit::transport {

using detail::stream_connection;
using detail::udp_socket;

manager::impl::impl(asio::io_context& io_, transport_config c)
    : io(io_),
      cfg(std::move(c)),
      throttle(cfg.log, "transport", cfg.log_rate),
      throttle_timer(io_) {}

namespace detail {

asio::ip::address source_key(const asio::ip::address& a) {
  if (a.is_v4()) return a;
  auto v6 = a.to_v6();
  if (v6.is_v4_mapped()) return asio::ip::make_address_v4(asio::ip::v4_mapped, v6);
  auto bytes = v6.to_bytes();
  std::fill(bytes.begin() + 8, bytes.end(), 0);  // the /64 prefix
  return asio::ip::address_v6(bytes);
}

}  // namespace detail

void manager::impl::arm_throttle_timer() {
  if (throttle_timer_armed || stopped) return;
  auto when = throttle.next_flush();
  if (!when) return;
  throttle_timer_armed = true;
  throttle_timer.expires_at(*when);
  throttle_timer.async_wait([self = shared_from_this()](const boost::system::error_code& ec) {
    self->throttle_timer_armed = false;
    if (ec || self->stopped) return;
    self->throttle.flush(steady::now());
    self->arm_throttle_timer();
  });
}

std::error_code manager::impl::refuse_send(std::error_code ec, protocol p, std::string_view to,
                                           std::size_t size) {
  if (runs(p)) ++st(p).sends_refused;  // SCTP's row stays all zero
  log_limited(detail::log_reason::send_refused, log_level::warning, [&] {
    std::string text =
        "refuse to send " + std::to_string(size) + " bytes over " + std::string(to_string(p));
    if (!to.empty()) {
      text += " to ";
      text += to;
    }
    text += ": ";
    text += ec.message();
    return text;
  });
  return ec;
}

void manager::impl::size_connection_limit() {
  // config.hpp max_connections: every connection is a descriptor; keep a reserve for
  // everything else so that the limit, not EMFILE, is what refuses connections.
  constexpr rlim_t reserve = 64;
  const std::size_t asked = cfg.max_connections;
  rlimit rl{};
  if (::getrlimit(RLIMIT_NOFILE, &rl) != 0) return;
  const auto wanted = static_cast<rlim_t>(asked) + reserve;
  if (cfg.raise_fd_limit && rl.rlim_cur != RLIM_INFINITY && rl.rlim_cur < wanted &&
      (rl.rlim_max == RLIM_INFINITY || rl.rlim_cur < rl.rlim_max)) {
    rlimit raised = rl;
    raised.rlim_cur = rl.rlim_max == RLIM_INFINITY ? wanted : std::min(wanted, rl.rlim_max);
    if (::setrlimit(RLIMIT_NOFILE, &raised) == 0) {
      log(log_level::info, "raised the RLIMIT_NOFILE soft limit from " +
                               std::to_string(rl.rlim_cur) + " to " +
                               std::to_string(raised.rlim_cur) + " for max_connections");
      rl = raised;
    }
  }
  if (rl.rlim_cur == RLIM_INFINITY) return;
  const rlim_t soft = rl.rlim_cur;
  const rlim_t keep = soft <= 2 * reserve ? soft / 2 : reserve;
  const auto fits = static_cast<std::size_t>(soft - keep);
  if (fits < asked) {
    cfg.max_connections = fits;
    log(log_level::warning, "max_connections lowered from " + std::to_string(asked) + " to " +
                                std::to_string(fits) + ": the RLIMIT_NOFILE soft limit is " +
                                std::to_string(soft) + " (hard " +
                                (rl.rlim_max == RLIM_INFINITY ? std::string("unlimited")
                                                              : std::to_string(rl.rlim_max)) +
                                "), " + std::to_string(keep) + " descriptors kept in reserve");
  } else {
    log(log_level::info, "max_connections " + std::to_string(asked) +
                             " (RLIMIT_NOFILE soft limit " + std::to_string(soft) + ")");
  }
}

// ---------------------------------------------------------------------------------------
// Receive path

void manager::impl::trace(std::string_view what, protocol p, const endpoint& peer,
                          const endpoint& local, std::string_view bytes) const {
  std::string text(what);
  text += ' ';
  text += to_string(p);
  text += ' ';
  text += peer.to_string();
  text += " (";
  text += std::to_string(bytes.size());
  text += " bytes) local ";
  text += local.to_string();
  text += ":\n";
  text += bytes;
  log(log_level::debug, text);
}

bool manager::impl::on_input(std::string_view bytes, protocol p, const endpoint& source,
                             const endpoint& local, connection_id id, udp_socket* via_udp,
                             stream_connection* conn) {
  auto& s = st(p);
  if (logging(log_level::debug)) trace("RECEIVED from", p, source, local, bytes);

  // Answer 400 when the start line and the top Via can be read (RFC 3261 §8.2, §18),
  // otherwise drop silently (we cannot address a response).
  auto refuse = [&](std::string_view why) {
    ++s.drops;
    auto resp = make_bad_request_response(bytes, why, source);
    log_limited(detail::log_reason::drop_malformed, log_level::warning, [&] {
      std::string text = "drop ";
      text += to_string(p);
      text += " message from ";
      text += source.to_string();
      text += ": ";
      text += why;
      if (resp) text += " (answered 400)";
      return text;
    });
    if (!resp) return;
    ++s.bad_requests_answered;
    if (conn != nullptr) {
      (void)conn->send(std::move(*resp), {});
      return;
    }
    if (via_udp != nullptr) {
      // The 400 goes back to the source address; the port follows rport / sent-by
      // exactly as for any response (§18.2.2, RFC 3581 §4).
      parser::message_view& v = *view;
      std::uint16_t port = source.port;
      if (!parse_message(*resp, v, cfg.limits, parser::framing::datagram) && v.top_via() &&
          !v.top_via()->has_rport)
        port = v.top_via()->port ? v.top_via()->port : default_port(p);
      if (logging(log_level::debug)) trace("SENT to", p, {source.address, port}, local, *resp);
      if (auto ec = via_udp->send(*resp, {source.address, port})) {
        ++s.send_errors;
        log_limited(detail::log_reason::send_failed, log_level::warning, [&] {
          return "UDP send of a 400 to " + endpoint{source.address, port}.to_string() +
                 " failed: " + ec.message();
        });
      } else {
        ++s.messages_out;
        s.bytes_out += resp->size();
      }
    }
  };

  parser::message_view& v = *view;
  // RFC 7118 §5: a WebSocket message is one whole SIP message, as a datagram is.
  const auto mode = conn != nullptr && !is_websocket(p) ? parser::framing::stream
                                                        : parser::framing::datagram;
  if (auto err = parse_message(bytes, v, cfg.limits, mode, cfg.parser)) {
    ++s.parse_errors;
    refuse(err.message());
    return false;
  }
  incoming_message in;
  in.view = &v;
  in.transport = p;
  in.source = source;
  in.local = local;
  in.connection = id;
  if (v.is_request()) {
    const parser::via_view* top = v.top_via();
    if (top == nullptr) {
      ++s.drops;
      log_limited(detail::log_reason::drop_invalid, log_level::warning,
                  [&] { return "drop request without Via from " + source.to_string(); });
      return false;
    }
    // RFC 3261 §8.1.1: these are mandatory in every request.
    const char* missing = nullptr;
    if (v.from() == nullptr) missing = "missing From header";
    else if (v.to() == nullptr) missing = "missing To header";
    else if (v.call_id().empty()) missing = "missing Call-ID header";
    else if (v.cseq() == nullptr) missing = "missing CSeq header";
    if (missing != nullptr) {
      refuse(missing);
      return false;
    }
    compute_via_fixups(*top, source, in.received, in.rport);
  } else if (v.top_via() == nullptr) {
    ++s.drops;
    log_limited(detail::log_reason::drop_invalid, log_level::warning,
                [&] { return "drop response without Via from " + source.to_string(); });
    return false;
  }
  if (!handler) {
    ++s.drops;
    log_limited(detail::log_reason::drop_invalid, log_level::warning,
                [&] { return "drop message from " + source.to_string() + ": no handler set"; });
    return false;
  }
  ++s.messages_in;
  handler(in);
  return true;
}

// ---------------------------------------------------------------------------------------
// Send path

void manager::impl::post_done(send_handler done, std::error_code ec, send_info info) {
  if (!done) return;
  asio::post(io, [self = shared_from_this(), done = std::move(done), ec, info] {
    (void)self;  // keeps the io_context's reference to the impl until the call
    done(ec, info);
  });
}

udp_socket* manager::impl::pick_udp(const endpoint& remote, connection_id hint) {
  udp_socket* any = nullptr;
  for (auto& u : udp) {
    if (u->v6 != remote.address.is_v6()) continue;
    if (hint != 0 && u->id == hint) return u.get();
    if (any == nullptr) any = u.get();
  }
  return any;
}

std::shared_ptr<stream_connection> manager::impl::find_connection(protocol p,
                                                                  const endpoint& remote) {
  auto it = by_remote.find({p, remote});
  if (it == by_remote.end()) return nullptr;
  auto c = conns.find(it->second);
  if (c == conns.end() || !c->second->open()) return nullptr;
  return c->second;
}

void manager::impl::post_datagram_error(std::uint64_t cookie, std::error_code ec) {
  if (cookie == 0 || !datagram_error) return;
  // The handler is looked up when the call runs: one removed meanwhile is not called.
  asio::post(io, [self = shared_from_this(), cookie, ec] {
    if (self->datagram_error) self->datagram_error(cookie, ec);
  });
}

std::error_code manager::impl::send_to(std::string& bytes, protocol p, const endpoint& remote,
                                       const std::string& server_name, connection_id hint,
                                       send_handler done, std::uint64_t cookie) {
  auto refuse = [&](std::error_code ec) {
    return refuse_send(ec, p, remote.to_string(), bytes.size());
  };
  if (!started || stopped) return refuse(error::not_started);
  if (!runs(p)) return refuse(error::unsupported_transport);  // SCTP
  auto& s = st(p);
  send_info info{p, remote, 0};
  if (p == protocol::udp) {
    udp_socket* u = pick_udp(remote, hint);
    if (u == nullptr) return refuse(error::no_listener);
    // The largest UDP payload: 65,535 minus the UDP header and, for IPv4, the IP header
    // (IPv6 counts its header outside the payload length). The kernel would refuse more
    // with EMSGSIZE; say why in our own terms.
    const std::size_t max_datagram = remote.address.is_v6() ? 65527 : 65507;
    if (bytes.size() > max_datagram) return refuse(error::message_too_large);
    if (logging(log_level::debug)) trace("SENT to", p, remote, u->local, bytes);
    info.connection = u->id;
    if (udp_batching) {
      // Inside a receive batch: leaves with the batch's other datagrams (udp.cpp); the
      // outcome goes to `done`, a kernel refusal is counted and logged then.
      u->queue(bytes, remote, std::move(done), cookie);
      return {};
    }
    if (auto ec = u->send(bytes, detail::to_udp(remote))) {
      ++s.send_errors;
      log_limited(detail::log_reason::send_failed, log_level::warning, [&] {
        return "UDP send of " + std::to_string(bytes.size()) + " bytes to " + remote.to_string() +
               " failed: " + ec.message();
      });
      return ec;
    }
    ++s.messages_out;
    s.bytes_out += bytes.size();
    post_done(std::move(done), {}, info);
    return {};
  }

  std::shared_ptr<stream_connection> c;
  if (hint != 0) {
    auto it = conns.find(hint);
    if (it != conns.end() && it->second->open() && it->second->transport == p) c = it->second;
    // RFC 7118 §5.2: the flow named is gone, and a WebSocket client cannot be reached by
    // a new connection; failing now lets the transaction fail now, not by Timer B.
    if (!c && is_websocket(p)) return refuse(error::flow_gone);
  }
  if (!c) c = find_connection(p, remote);
  if (!c && is_websocket(p) && gone_flows.contains({p, remote})) return refuse(error::flow_gone);
  if (!c) {
    // The first TLS/WSS connection of an agent without a TLS listener loads the trust
    // anchors now; a file that does not load fails this send (and logs why).
    if (p == protocol::tls || p == protocol::wss) {
      if (auto ec = make_tls_client()) return refuse(ec);
    }
    if (conns.size() >= cfg.max_connections) return refuse(error::connection_limit);
    const connection_id id = next_id++;
    c = std::make_shared<stream_connection>(shared_from_this(), p, tcp::socket(io), id, true);
    conns.emplace(id, c);
    by_remote[{p, remote}] = id;
    c->start_connect(remote, server_name);
  }
  if (logging(log_level::debug)) trace("SENT to", p, c->remote, c->local, bytes);
  if (auto ec = c->send(std::move(bytes), std::move(done))) return ec;  // counted by send()
  c->mark_flow();  // the application uses this connection (config.hpp idle_timeout)
  return {};
}

void manager::impl::connection_closed(stream_connection& c, std::error_code reason) {
  if (closed_handler && !stopped) {
    asio::post(io, [handler = closed_handler, id = c.id, reason] { handler(id, reason); });
  }
  auto it = by_remote.find({c.transport, c.remote});
  if (it != by_remote.end() && it->second == c.id) by_remote.erase(it);
  if (!c.outgoing) release_source(c.remote);
  if (!c.outgoing && is_websocket(c.transport) && !stopped &&
      gone_flows.emplace(c.transport, c.remote).second) {
    gone_flows_order.emplace_back(c.transport, c.remote);
    if (gone_flows_order.size() > max_gone_flows) {
      gone_flows.erase(gone_flows_order.front());
      gone_flows_order.pop_front();
    }
  }
  auto& s = st(c.transport);
  ++s.connections_closed;
  if (s.connections_open > 0) --s.connections_open;
  // The object may be running one of its own handlers: let the handler's shared_ptr
  // keep it alive until that returns.
  conns.erase(c.id);
}

bool manager::impl::evict_stranger() {
  // Connections that carry SIP are safe; among the others (opened and left silent, or
  // pinging with CRLFs: a many-host flood holding every slot) the oldest goes. Ids grow
  // with time, so the smallest is the oldest. One scan of at most max_connections
  // entries, only when the table is full.
  detail::stream_connection* oldest = nullptr;
  for (const auto& [id, c] : conns)
    if (!c->outgoing && !c->is_flow() && c->open() && (!oldest || id < oldest->id))
      oldest = c.get();
  if (!oldest) return false;
  ++st(oldest->transport).connections_evicted;
  oldest->close("evicted: the connection table is full and it never carried a SIP message");
  return true;
}

void manager::impl::release_source(const endpoint& source) {
  auto it = per_source.find(detail::source_key(source.address));
  if (it == per_source.end()) return;
  if (--it->second == 0) per_source.erase(it);
}

// ---------------------------------------------------------------------------------------
// Public API

manager::manager(asio::io_context& io, transport_config config)
    : impl_(std::make_shared<impl>(io, std::move(config))) {}

manager::~manager() { stop(); }

void manager::on_message(message_handler handler) { impl_->handler = std::move(handler); }
void manager::on_connection_closed(close_handler handler) {
  impl_->closed_handler = std::move(handler);
}

void manager::on_datagram_error(datagram_error_handler handler) {
  impl_->datagram_error = std::move(handler);
}

std::error_code manager::start() {
  if (impl_->stopped) return error::not_started;
  impl_->started = true;
  impl_->size_connection_limit();
  // A TLS file that does not load is a configuration error, reported now rather than at
  // the first connection, when TLS is listened on. Without a TLS/WSS listener nothing is
  // loaded here (tls.cpp): an agent that never uses TLS never reads a trust store.
  for (const auto& lp : impl_->cfg.listen)
    if (lp.transport == protocol::tls || lp.transport == protocol::wss) {
      if (auto ec = impl_->make_tls_contexts()) return ec;
      break;
    }
  for (const auto& lp : impl_->cfg.listen) {
    std::error_code ec = make_error_code(error::unsupported_transport);  // SCTP
    if (runs(lp.transport))
      ec = lp.transport == protocol::udp ? impl_->open_udp(lp) : impl_->open_acceptor(lp);
    if (ec) {
      impl_->log(log_level::error, "cannot listen on " + std::string(to_string(lp.transport)) +
                                       " " + lp.address + ":" + std::to_string(lp.port) + ": " +
                                       ec.message());
      return ec;
    }
  }
  return {};
}

void manager::stop() {
  auto& m = *impl_;
  if (m.stopped) return;
  m.stopped = true;
  m.handler = nullptr;
  for (auto& u : m.udp) u->close();
  for (auto& a : m.acceptors) a->close();
  auto conns = m.conns;  // close() calls back into connection_closed()
  for (auto& [id, c] : conns) c->close("transport stopped", std::make_error_code(std::errc::operation_canceled));
  m.udp.clear();
  m.acceptors.clear();
  ++m.listeners_version;
  m.conns.clear();
  m.by_remote.clear();
  m.gone_flows.clear();
  m.gone_flows_order.clear();
  m.per_source.clear();
  m.throttle_timer.cancel();
  m.throttle.flush_all(steady::now());  // say what was suppressed before stopping
}

std::vector<listener_info> manager::listeners() const {
  std::vector<listener_info> out;
  for (auto& u : impl_->udp) out.push_back({protocol::udp, u->local, u->id});
  for (auto& a : impl_->acceptors) out.push_back({a->transport, a->local, a->id});
  return out;
}

std::uint64_t manager::listeners_version() const noexcept { return impl_->listeners_version; }

std::string manager::via_sent_by(protocol transport, const endpoint& family_of) const {
  auto pick = [&](const endpoint& local) {
    endpoint e = local;
    if (e.address.is_unspecified()) e.address = family_of.address;
    return e.to_string();
  };
  const bool v6 = family_of.address.is_v6();
  if (transport == protocol::udp) {
    for (auto& u : impl_->udp)
      if (u->v6 == v6) return pick(u->local);
  } else {
    for (auto& a : impl_->acceptors)
      if (a->transport == transport && a->local.address.is_v6() == v6) return pick(a->local);
  }
  return {};
}

namespace {

/// manager::impl::send_buffer for one send, or a string of its own when that is in use.
class send_buffer_lease {
 public:
  explicit send_buffer_lease(manager::impl& m) : m_(m), shared_(!m.send_buffer_busy) {
    if (!shared_) return;
    m_.send_buffer_busy = true;
    // A message far larger than usual does not pin its buffer for good.
    if (m_.send_buffer.capacity() > 65536) std::string().swap(m_.send_buffer);
    m_.send_buffer.clear();
  }
  ~send_buffer_lease() {
    if (shared_) m_.send_buffer_busy = false;
  }
  send_buffer_lease(const send_buffer_lease&) = delete;
  send_buffer_lease& operator=(const send_buffer_lease&) = delete;
  std::string& bytes() noexcept { return shared_ ? m_.send_buffer : own_; }

 private:
  manager::impl& m_;
  bool shared_;
  std::string own_;
};

}  // namespace

std::error_code manager::send_request(const parser::message& request, const target& to,
                                      send_handler done) {
  auto& m = *impl_;
  send_buffer_lease lease(m);
  std::string& bytes = lease.bytes();
  request.serialize_to(bytes);
  if (to.secure && to.transport != protocol::tls && to.transport != protocol::wss)
    return m.refuse_send(error::sips_requires_tls, to.transport, to.remote.to_string(),
                         bytes.size());
  protocol p = to.transport;
  // RFC 3261 §18.1.1: a request over 1300 bytes (path MTU unknown) goes over a
  // congestion-controlled transport, and the top Via must say so.
  if (p == protocol::udp && m.cfg.udp_to_tcp_threshold != 0 &&
      bytes.size() > m.cfg.udp_to_tcp_threshold) {
    p = protocol::tcp;
    parser::message copy = request;
    if (auto via = copy.top_via()) {
      auto line = copy.get(parser::header_id::via).value_or("");
      const auto off = static_cast<std::size_t>(via->transport.data() - line.data());
      std::string value(line.substr(0, off));
      value += "TCP";
      value.append(line.substr(off + via->transport.size()));
      replace_top_via(copy, value);
    }
    bytes.clear();
    copy.serialize_to(bytes);
    m.log(log_level::debug, "request of " + std::to_string(bytes.size()) +
                                " bytes switched from UDP to TCP (RFC 3261 18.1.1)");
  }
  // A request switched to TCP leaves the flow named for UDP behind.
  return m.send_to(bytes, p, to.remote, to.server_name,
                   p == to.transport ? to.connection : 0, std::move(done));
}

std::error_code manager::send_response(const parser::message& response, connection_id connection,
                                       send_handler done, std::uint64_t cookie) {
  auto& m = *impl_;
  send_buffer_lease lease(m);
  std::string& bytes = lease.bytes();
  response.serialize_to(bytes);
  // Counted under the transport the response would have used (UDP when unknown).
  auto refuse = [&](std::error_code ec, protocol p) {
    return m.refuse_send(ec, p, "response " + std::to_string(response.status_code()), bytes.size());
  };
  auto via = response.top_via();
  if (!via) return refuse(error::no_via, protocol::udp);
  auto p = protocol_from_string(via->transport);
  if (!p) return refuse(error::unsupported_transport, protocol::udp);

  // §18.2.2: reliable transport and the connection still open -> that connection.
  if (connection != 0) {
    auto it = m.conns.find(connection);
    if (it != m.conns.end() && it->second->open())
      return m.send_to(bytes, it->second->transport, it->second->remote, {},
                       connection, std::move(done));
  }
  // RFC 7118 §5.2: a response to a WebSocket peer goes back on its connection or not at
  // all; the Via's address is a browser's (or a made-up .invalid host).
  if (is_websocket(*p)) return refuse(error::flow_gone, *p);
  std::optional<boost::asio::ip::address> addr;
  std::uint16_t port = via->port ? via->port : default_port(*p);
  if (!via->received.empty()) addr = parse_ip(via->received);
  if (*p == protocol::udp) {
    if (!via->maddr.empty()) {
      // §18.2.2: maddr -> that address, sent-by port (multicast needs a TTL we ignore).
      addr = parse_ip(via->maddr);
    } else if (addr && via->has_rport && !via->rport.empty()) {
      // RFC 3581 §4: received + rport.
      unsigned long n = 0;
      for (char c : via->rport) n = n * 10 + static_cast<unsigned>(c - '0');
      if (n > 0 && n < 65536) port = static_cast<std::uint16_t>(n);
    }
  }
  if (!addr) addr = parse_ip(via->host);
  if (!addr) return refuse(error::unresolved_sent_by, *p);
  return m.send_to(bytes, *p, {*addr, port}, {}, connection, std::move(done), cookie);
}

std::error_code manager::send_bytes(std::string bytes, const target& to, send_handler done) {
  if (to.secure && to.transport != protocol::tls && to.transport != protocol::wss)
    return impl_->refuse_send(error::sips_requires_tls, to.transport, to.remote.to_string(),
                              bytes.size());
  return impl_->send_to(bytes, to.transport, to.remote, to.server_name, to.connection,
                        std::move(done));
}

std::error_code manager::send_keepalive(connection_id connection) {
  auto it = impl_->conns.find(connection);
  if (it == impl_->conns.end() || !it->second->open())
    return impl_->refuse_send(error::connection_closed, protocol::tcp,
                              "connection " + std::to_string(connection), 4);
  ++impl_->st(it->second->transport).keepalive_pings_sent;
  return it->second->send_ping();
}

void manager::close_connection(connection_id connection) {
  auto it = impl_->conns.find(connection);
  if (it == impl_->conns.end()) return;
  auto c = it->second;
  c->close("closed by the application");
}

std::size_t manager::connection_count() const noexcept { return impl_->conns.size(); }

boost::asio::any_io_executor manager::executor() const noexcept {
  return impl_->io.get_executor();
}

bool manager::is_open(connection_id connection) const noexcept {
  auto it = impl_->conns.find(connection);
  return it != impl_->conns.end() && it->second->open();
}

std::size_t manager::trust_store_loads() const noexcept { return impl_->trust_store_loads; }

statistics manager::stats(protocol transport) const noexcept {
  if (!runs(transport)) return {};
  return impl_->stat[static_cast<std::size_t>(transport)];
}

const transport_config& manager::config() const noexcept { return impl_->cfg; }

}  // namespace sipkit::transport
