// RFC 3263 locate over c-ares, with c-ares' sockets and timeouts driven by Asio.
#include "sipkit/transport/resolver.hpp"

#include <ares.h>
#include <arpa/inet.h>
#include <netinet/in.h>

#include <algorithm>
#include <boost/asio/post.hpp>
#include <boost/asio/posix/stream_descriptor.hpp>
#include <boost/asio/steady_timer.hpp>
#include <cstring>
#include <map>
#include <random>

namespace sipkit::transport {

namespace asio = boost::asio;

std::vector<srv_record> order_srv(std::vector<srv_record> records,
                                  const std::function<std::uint32_t(std::uint32_t)>& rand) {
  std::stable_sort(records.begin(), records.end(),
                   [](const srv_record& a, const srv_record& b) { return a.priority < b.priority; });
  std::vector<srv_record> out;
  out.reserve(records.size());
  auto it = records.begin();
  while (it != records.end()) {
    auto end = std::find_if(it, records.end(),
                            [&](const srv_record& r) { return r.priority != it->priority; });
    // RFC 2782: weight-0 records first, then repeated weighted random choice.
    std::vector<srv_record> group(it, end);
    std::stable_partition(group.begin(), group.end(), [](const srv_record& r) { return r.weight == 0; });
    while (!group.empty()) {
      std::uint32_t sum = 0;
      for (const auto& r : group) sum += r.weight;
      const std::uint32_t pick = rand(sum);
      std::uint32_t running = 0;
      std::size_t chosen = group.size() - 1;
      for (std::size_t i = 0; i < group.size(); ++i) {
        running += group[i].weight;
        if (running >= pick) {
          chosen = i;
          break;
        }
      }
      out.push_back(group[chosen]);
      group.erase(group.begin() + static_cast<std::ptrdiff_t>(chosen));
    }
    it = end;
  }
  return out;
}

namespace {

constexpr int ns_c_in = 1;
constexpr int ns_t_srv = 33;
constexpr int ns_t_naptr = 35;

class ares_category_impl final : public std::error_category {
 public:
  const char* name() const noexcept override { return "c-ares"; }
  std::string message(int ev) const override { return ares_strerror(ev); }
};
const std::error_category& ares_category() {
  static const ares_category_impl c;
  return c;
}

struct locate_op {
  resolver::handler done;
  std::string host;  // without brackets
  bool secure = false;
  std::optional<protocol> forced;
  std::uint16_t port = 0;
  // SRV stage
  std::vector<std::pair<protocol, std::string>> srv_names;
  std::vector<std::vector<srv_record>> srv_results;
  // Address stage: (transport, host, port) in order, then the addresses of each.
  struct host_entry {
    protocol transport;
    std::string name;
    std::uint16_t port;
  };
  std::vector<host_entry> hosts;
  std::vector<std::vector<asio::ip::address>> addresses;
  std::size_t pending = 0;
  int last_status = ARES_SUCCESS;
};

}  // namespace

struct resolver::impl : std::enable_shared_from_this<resolver::impl> {
  struct watch {
    asio::posix::stream_descriptor desc;
    ares_socket_t fd;
    bool want_read = false, want_write = false, reading = false, writing = false, closed = false;
    watch(asio::io_context& io, ares_socket_t s) : desc(io, s), fd(s) {}
  };

  asio::io_context& io;
  resolver_config cfg;
  ares_channel channel = nullptr;
  bool destroyed = false;
  std::map<ares_socket_t, std::shared_ptr<watch>> watches;
  asio::steady_timer timer;
  std::minstd_rand rng;

  impl(asio::io_context& io_, resolver_config c)
      : io(io_), cfg(std::move(c)), timer(io_), rng(cfg.seed) {}

  void log(log_level l, const std::string& s) const { cfg.log.log(l, "transport", s); }

  static void sock_state_cb(void* data, ares_socket_t fd, int readable, int writable) {
    static_cast<impl*>(data)->on_sock_state(fd, readable != 0, writable != 0);
  }

  void on_sock_state(ares_socket_t fd, bool readable, bool writable) {
    if (destroyed) return;
    auto it = watches.find(fd);
    if (!readable && !writable) {
      if (it != watches.end()) {
        forget(*it->second);
        watches.erase(it);
      }
      return;
    }
    if (it == watches.end()) it = watches.emplace(fd, std::make_shared<watch>(io, fd)).first;
    it->second->want_read = readable;
    it->second->want_write = writable;
    arm(it->second);
  }

  static void forget(watch& w) {
    // c-ares owns and closes the descriptor: only stop watching it.
    w.closed = true;
    boost::system::error_code ignored;
    w.desc.cancel(ignored);
    (void)w.desc.release();
  }

  void arm(const std::shared_ptr<watch>& w) {
    if (w->closed) return;
    if (w->want_read && !w->reading) {
      w->reading = true;
      w->desc.async_wait(asio::posix::stream_descriptor::wait_read,
                         [self = shared_from_this(), w](const boost::system::error_code& ec) {
                           w->reading = false;
                           if (ec || w->closed || self->destroyed) return;
                           ares_process_fd(self->channel, w->fd, ARES_SOCKET_BAD);
                           self->arm(w);
                           self->update_timer();
                         });
    }
    if (w->want_write && !w->writing) {
      w->writing = true;
      w->desc.async_wait(asio::posix::stream_descriptor::wait_write,
                         [self = shared_from_this(), w](const boost::system::error_code& ec) {
                           w->writing = false;
                           if (ec || w->closed || self->destroyed) return;
                           ares_process_fd(self->channel, ARES_SOCKET_BAD, w->fd);
                           self->arm(w);
                           self->update_timer();
                         });
    }
  }

  void update_timer() {
    if (destroyed) return;
    timeval tv{};
    timeval* t = ares_timeout(channel, nullptr, &tv);
    if (t == nullptr) {
      timer.cancel();
      return;
    }
    timer.expires_after(std::chrono::seconds(t->tv_sec) + std::chrono::microseconds(t->tv_usec));
    timer.async_wait([self = shared_from_this()](const boost::system::error_code& ec) {
      if (ec || self->destroyed) return;
      ares_process_fd(self->channel, ARES_SOCKET_BAD, ARES_SOCKET_BAD);
      self->update_timer();
    });
  }

  // --- c-ares calls, with std::function callbacks --------------------------------------

  using query_cb = std::function<void(int status, const unsigned char* buf, int len)>;
  void query(const std::string& name, int type, query_cb cb) {
    auto* fn = new query_cb(std::move(cb));
    ares_query(
        channel, name.c_str(), ns_c_in, type,
        [](void* arg, int status, int, unsigned char* buf, int len) {
          std::unique_ptr<query_cb> f(static_cast<query_cb*>(arg));
          if (status == ARES_EDESTRUCTION) return;
          (*f)(status, buf, len);
        },
        fn);
    update_timer();
  }

  using addr_cb = std::function<void(int status, std::vector<asio::ip::address>)>;
  void addresses(const std::string& name, addr_cb cb) {
    auto* fn = new addr_cb(std::move(cb));
    ares_addrinfo_hints hints{};
    hints.ai_family = cfg.ipv4 && cfg.ipv6 ? AF_UNSPEC : cfg.ipv6 ? AF_INET6 : AF_INET;
    hints.ai_flags = ARES_AI_NOSORT;
    ares_getaddrinfo(
        channel, name.c_str(), nullptr, &hints,
        [](void* arg, int status, int, ares_addrinfo* res) {
          std::unique_ptr<addr_cb> f(static_cast<addr_cb*>(arg));
          std::vector<asio::ip::address> out;
          if (status == ARES_SUCCESS && res != nullptr) {
            for (auto* n = res->nodes; n != nullptr; n = n->ai_next) {
              if (n->ai_family == AF_INET) {
                sockaddr_in sin;
                std::memcpy(&sin, n->ai_addr, sizeof sin);
                out.emplace_back(asio::ip::address_v4(ntohl(sin.sin_addr.s_addr)));
              } else if (n->ai_family == AF_INET6) {
                sockaddr_in6 sin6;
                std::memcpy(&sin6, n->ai_addr, sizeof sin6);
                asio::ip::address_v6::bytes_type b;
                std::memcpy(b.data(), &sin6.sin6_addr, 16);
                out.emplace_back(asio::ip::address_v6(b));
              }
            }
          }
          if (res != nullptr) ares_freeaddrinfo(res);
          if (status == ARES_EDESTRUCTION) return;
          // Duplicates (hosts file plus DNS) would only repeat a failing target.
          std::vector<asio::ip::address> unique;
          for (auto& a : out)
            if (std::find(unique.begin(), unique.end(), a) == unique.end()) unique.push_back(a);
          (*f)(status, std::move(unique));
        },
        fn);
    update_timer();
  }

  // --- RFC 3263 ------------------------------------------------------------------------

  bool enabled(protocol p) const {
    return p == protocol::udp ? cfg.use_udp : p == protocol::tcp ? cfg.use_tcp : cfg.use_tls;
  }

  /// RFC 7118 defines no SRV or NAPTR service for WebSocket, and a ws/wss target is a
  /// WebSocket server: its port defaults as a ws:/wss: URI's does (RFC 6455 §3: 80, 443).
  static std::uint16_t locate_port(protocol p) {
    if (p == protocol::ws) return 80;
    if (p == protocol::wss) return 443;
    return default_port(p);
  }

  protocol default_transport(const locate_op& op) const {
    if (op.forced) return *op.forced;
    return op.secure ? protocol::tls : protocol::udp;
  }

  void finish(const std::shared_ptr<locate_op>& op, std::error_code ec, std::vector<target> t) {
    asio::post(io, [self = shared_from_this(), op, ec, t = std::move(t)]() mutable {
      if (self->destroyed) return;
      op->done(ec, target_list(std::move(t)));
    });
  }

  void start(const parser::uri_view& uri, handler done) {
    auto op = std::make_shared<locate_op>();
    op->done = std::move(done);
    if (uri.scheme != parser::uri_scheme::sip && uri.scheme != parser::uri_scheme::sips) {
      finish(op, error::bad_uri, {});
      return;
    }
    op->secure = uri.scheme == parser::uri_scheme::sips;
    std::string_view host = uri.maddr_param.empty() ? uri.host : uri.maddr_param;
    if (host.size() >= 2 && host.front() == '[') host = host.substr(1, host.size() - 2);
    op->host = std::string(host);
    op->port = uri.port;
    if (!uri.transport_param.empty()) {
      op->forced = protocol_from_string(uri.transport_param);
      if (!op->forced) {
        finish(op, error::unsupported_transport, {});
        return;
      }
      // RFC 3261 §26.2: sips;transport=tcp means TLS over TCP; sips;transport=ws, WSS.
      if (op->secure) op->forced = is_websocket(*op->forced) ? protocol::wss : protocol::tls;
    }
    if (op->secure && !cfg.use_tls) {
      finish(op, error::sips_requires_tls, {});
      return;
    }
    // §4.1/§4.2: a numeric host needs no DNS at all.
    if (auto ip = parse_ip(op->host)) {
      const protocol p = default_transport(*op);
      target t;
      t.transport = p;
      t.remote = {*ip, op->port ? op->port : locate_port(p)};
      t.server_name = op->host;
      t.secure = op->secure;
      finish(op, {}, {t});
      return;
    }
    // §4.2: an explicit port skips NAPTR and SRV.
    if (op->port != 0) {
      op->hosts.push_back({default_transport(*op), op->host, op->port});
      resolve_hosts(op);
      return;
    }
    // WebSocket: no SRV (_sip._ws is not defined): A/AAAA on the default port.
    if (op->forced && is_websocket(*op->forced)) {
      op->hosts.push_back({*op->forced, op->host, locate_port(*op->forced)});
      resolve_hosts(op);
      return;
    }
    // §4.1: an explicit transport skips NAPTR.
    if (op->forced) {
      op->srv_names.emplace_back(*op->forced, srv_name(*op->forced, op->secure, op->host));
      resolve_srv(op);
      return;
    }
    query(op->host, ns_t_naptr, [self = shared_from_this(), op](int status, const unsigned char* buf, int len) {
      self->on_naptr(op, status, buf, len);
    });
  }

  static std::string srv_name(protocol p, bool secure, const std::string& host) {
    if (p == protocol::tls || secure) return "_sips._tcp." + host;
    return (p == protocol::udp ? "_sip._udp." : "_sip._tcp.") + host;
  }

  void on_naptr(const std::shared_ptr<locate_op>& op, int status, const unsigned char* buf, int len) {
    struct entry {
      unsigned short order, pref;
      protocol p;
      std::string replacement;
    };
    std::vector<entry> entries;
    if (status == ARES_SUCCESS) {
      ares_naptr_reply* reply = nullptr;
      if (ares_parse_naptr_reply(buf, len, &reply) == ARES_SUCCESS) {
        for (auto* r = reply; r != nullptr; r = r->next) {
          const std::string flags(reinterpret_cast<const char*>(r->flags));
          const std::string service(reinterpret_cast<const char*>(r->service));
          if (flags != "s" && flags != "S") continue;  // §4.1: only terminal "S" records
          std::optional<protocol> p;
          if (parser::iequals(service, "SIP+D2U")) p = protocol::udp;
          else if (parser::iequals(service, "SIP+D2T")) p = protocol::tcp;
          else if (parser::iequals(service, "SIPS+D2T")) p = protocol::tls;
          if (!p || !enabled(*p) || (op->secure && *p != protocol::tls)) continue;
          entries.push_back({r->order, r->preference, *p, r->replacement});
        }
        ares_free_data(reply);
      }
    } else {
      op->last_status = status;
    }
    std::stable_sort(entries.begin(), entries.end(), [](const entry& a, const entry& b) {
      return a.order != b.order ? a.order < b.order : a.pref < b.pref;
    });
    for (auto& e : entries) op->srv_names.emplace_back(e.p, e.replacement);
    if (op->srv_names.empty()) {
      // §4.1: no (usable) NAPTR: SRV for each transport we support.
      if (op->secure) {
        op->srv_names.emplace_back(protocol::tls, srv_name(protocol::tls, true, op->host));
      } else {
        for (protocol p : {protocol::udp, protocol::tcp, protocol::tls})
          if (enabled(p)) op->srv_names.emplace_back(p, srv_name(p, false, op->host));
      }
    }
    log(log_level::debug, "RFC 3263: " + op->host + " NAPTR gave " +
                              std::to_string(entries.size()) + " usable records");
    resolve_srv(op);
  }

  void resolve_srv(const std::shared_ptr<locate_op>& op) {
    op->srv_results.assign(op->srv_names.size(), {});
    op->pending = op->srv_names.size();
    for (std::size_t i = 0; i < op->srv_names.size(); ++i) {
      query(op->srv_names[i].second, ns_t_srv,
            [self = shared_from_this(), op, i](int status, const unsigned char* buf, int len) {
              if (status == ARES_SUCCESS) {
                ares_srv_reply* reply = nullptr;
                if (ares_parse_srv_reply(buf, len, &reply) == ARES_SUCCESS) {
                  for (auto* r = reply; r != nullptr; r = r->next) {
                    // RFC 2782: target "." means the service is decidedly not available.
                    if (r->host == nullptr || std::strcmp(r->host, ".") == 0 || r->host[0] == 0)
                      continue;
                    op->srv_results[i].push_back({r->host, r->port, r->priority, r->weight});
                  }
                  ares_free_data(reply);
                }
              } else {
                op->last_status = status;
              }
              if (--op->pending == 0) self->on_srv_done(op);
            });
    }
  }

  void on_srv_done(const std::shared_ptr<locate_op>& op) {
    auto rand = [this](std::uint32_t bound) {
      return std::uniform_int_distribution<std::uint32_t>(0, bound)(rng);
    };
    for (std::size_t i = 0; i < op->srv_names.size(); ++i)
      for (auto& r : order_srv(std::move(op->srv_results[i]), rand))
        op->hosts.push_back({op->srv_names[i].first, r.target, r.port});
    if (op->hosts.empty()) {
      // §4.2: no SRV records: A/AAAA of the host itself on the default port.
      const protocol p = default_transport(*op);
      op->hosts.push_back({p, op->host, default_port(p)});
    }
    resolve_hosts(op);
  }

  void resolve_hosts(const std::shared_ptr<locate_op>& op) {
    op->addresses.assign(op->hosts.size(), {});
    op->pending = op->hosts.size();
    for (std::size_t i = 0; i < op->hosts.size(); ++i) {
      addresses(op->hosts[i].name, [self = shared_from_this(), op, i](int status, std::vector<asio::ip::address> a) {
        if (status != ARES_SUCCESS) op->last_status = status;
        op->addresses[i] = std::move(a);
        if (--op->pending == 0) self->on_hosts_done(op);
      });
    }
  }

  void on_hosts_done(const std::shared_ptr<locate_op>& op) {
    std::vector<target> out;
    for (std::size_t i = 0; i < op->hosts.size(); ++i) {
      for (const auto& a : op->addresses[i]) {
        target t;
        t.transport = op->hosts[i].transport;
        t.remote = {a, op->hosts[i].port};
        t.server_name = op->host;  // RFC 5922 §4: the URI's domain, not the SRV target
        t.secure = op->secure;
        if (std::find(out.begin(), out.end(), t) == out.end()) out.push_back(std::move(t));
      }
    }
    if (cfg.log.enabled(log_level::debug)) {
      std::string s = "RFC 3263: " + op->host + " ->";
      for (const auto& t : out) s += " [" + t.to_string() + "]";
      log(log_level::debug, s);
    }
    if (out.empty()) {
      log(log_level::warning, "RFC 3263: no target for " + op->host + ": " +
                                  ares_strerror(op->last_status));
      finish(op, error::dns_failure, {});
      return;
    }
    finish(op, {}, std::move(out));
  }
};

resolver::resolver(asio::io_context& io, resolver_config config)
    : impl_(std::make_shared<impl>(io, std::move(config))) {
  if (int rc = ares_library_init(ARES_LIB_INIT_ALL); rc != ARES_SUCCESS)
    throw std::system_error(rc, ares_category(), "ares_library_init");
  ares_options opts{};
  int mask = ARES_OPT_SOCK_STATE_CB | ARES_OPT_TIMEOUTMS | ARES_OPT_TRIES | ARES_OPT_LOOKUPS;
  opts.sock_state_cb = &impl::sock_state_cb;
  opts.sock_state_cb_data = impl_.get();
  opts.timeout = static_cast<int>(impl_->cfg.timeout.count());
  opts.tries = impl_->cfg.tries;
  std::string lookups = impl_->cfg.lookups;
  opts.lookups = lookups.data();
  if (int rc = ares_init_options(&impl_->channel, &opts, mask); rc != ARES_SUCCESS) {
    ares_library_cleanup();
    throw std::system_error(rc, ares_category(), "ares_init_options");
  }
  if (!impl_->cfg.servers.empty()) {
    if (int rc = ares_set_servers_ports_csv(impl_->channel, impl_->cfg.servers.c_str());
        rc != ARES_SUCCESS) {
      ares_destroy(impl_->channel);
      ares_library_cleanup();
      throw std::system_error(rc, ares_category(), "ares_set_servers_ports_csv");
    }
  }
}

resolver::~resolver() {
  auto& m = *impl_;
  m.destroyed = true;
  for (auto& [fd, w] : m.watches) impl::forget(*w);
  m.watches.clear();
  m.timer.cancel();
  // Outstanding queries complete with ARES_EDESTRUCTION; their callbacks only free memory.
  ares_destroy(m.channel);
  m.channel = nullptr;
  ares_library_cleanup();
}

void resolver::locate(std::string_view uri, handler done) {
  // The view points into `text`, which the operation copies what it needs from.
  const std::string text(uri);
  parser::uri_view v;
  if (parser::parse_uri(text, v)) {
    asio::post(impl_->io, [self = impl_, done = std::move(done)] {
      if (!self->destroyed) done(error::bad_uri, {});
    });
    return;
  }
  impl_->start(v, std::move(done));
}

void resolver::locate(const parser::uri_view& uri, handler done) {
  impl_->start(uri, std::move(done));
}

}  // namespace sipkit::transport
