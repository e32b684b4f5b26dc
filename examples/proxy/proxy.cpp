// proxy — a registrar and a SIP proxy in one program, in the spirit of a minimal Kamailio:
// sipkit::proxy (RFC 3261 §16) on sipkit::transport through sipkit::proxy_asio.
//
// What it shows: proxy::core driven by proxy::asio_adapter over transaction::network_transport
// (UDP and TCP at once, TLS too with --cert/--key), and proxy::services implemented by the
// application:
//   * locate: a REGISTER for one of --domain fills the location service (the registrar
//     example's, examples/registrar/location_service.hpp, through the REGISTER handling
//     both examples share, examples/registrar/registration.hpp; with --user, digest
//     authentication first, RFC 3261 §22); a request for a registered AOR of --domain
//     forks to all its contacts (in parallel, or one at a time by q with
//     --sequential: the location service lists contacts by their registered q, then
//     in registration order, and each gets a q a little below the one before it, so
//     proxy::core's sequential mode tries them in that order, the next on a failure
//     response or Timer C);
//     an AOR without contacts gets 404. Requests for other domains never come here:
//     they go to their Request-URI.
//   * resolve: RFC 3263 for the next hop (an IP literal at once, names through
//     transport::resolver: NAPTR, SRV, A/AAAA, with failover over the targets).
// --stateless forwards without transactions (§16.11); --record-route keeps the proxy on the
// dialog's path (a double Record-Route when a request crosses transports, e.g. UDP -> TCP).
//
// Hostile traffic: the transaction layer's per-source rate limit (--max-request-rate, like
// Kamailio's pike), its bounds on live transactions and held bytes, the transport's bounds
// on message size and connections, and the location service's bounds on bindings
// (--max-contacts, --max-bindings).
//
// Run:   proxy --bind 127.0.0.1 --port 5060 --domain example.com --record-route
// Then:  uas --port 5070 --register sip:127.0.0.1:5060 --aor sip:bob@example.com
//        uac --proxy sip:127.0.0.1:5060 sip:bob@example.com
// (README "Running the proxy" walks through it with sipp as well.)
//
// Options: --bind ADDR (127.0.0.1: an address, not a wildcard: it is the proxy's URI)
//          --port N (5060; UDP and TCP)  --tls-port N (5061, with --cert F --key F;
//          --ca F checks the next hops' certificates, --no-verify for tests only)
//          --domain D (repeat; requests for these go through the location service)
//          --stateless  --record-route  --sequential  --path (RFC 3327 on REGISTER)
//          --user NAME:PASSWORD (repeat; REGISTER must authenticate)  --users-file F (one
//          NAME:PASSWORD a line)  --realm R (first --domain)
//          --min-expires S (60)  --max-expires S (3600)  --max-contacts N (16)
//          --replace-oldest  --max-bindings N (100000)  --max-request-rate N (per source address
//          and second, burst 2N; 100; 0 = no limit)  --max-transactions N  --quiet  --full  --stats
//          --ws PORT / --wss PORT (SIP over WebSocket, RFC 7118; wss with --cert/--key):
//          browsers (examples/webphone) register here, and requests for them go over the
//          connection they registered on, failing at once with 430/480 when it is gone
//          (ws_flows.hpp); calls between a browser and a UDP/TCP phone need --record-route
//          so that in-dialog requests to the browser come through the proxy
//          --redis HOST:PORT (the bindings in Redis, shared with other proxies and registrars:
//          examples/registrar/redis_location_store.hpp; REGISTERs and lookups then complete
//          when Redis answers, and get 503 while it is unreachable)
#include <algorithm>
#include <boost/asio/io_context.hpp>
#include <boost/asio/signal_set.hpp>
#include <boost/asio/steady_timer.hpp>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "../common/sip_ladder.hpp"
#include "../registrar/location_service.hpp"
#include "../registrar/redis_location_store.hpp"
#include "../registrar/registration.hpp"
#include "sipkit/parser/uri.hpp"
#include "sipkit/proxy/asio_adapter.hpp"
#include "sipkit/transaction/network_transport.hpp"
#include "sipkit/transport/manager.hpp"
#include "sipkit/transport/resolver.hpp"
#include "sipkit/ua/digest.hpp"
#include "ws_flows.hpp"

namespace {

using registrar::clock_type;
using sipkit::parser::header_id;
namespace px = sipkit::proxy;
namespace tx = sipkit::transaction;
using proto = sipkit::transport_protocol;

struct options {
  std::string bind = "127.0.0.1";
  std::uint16_t port = 5060, tls_port = 5061;
  long ws_port = -1, wss_port = -1;  // -1: no WebSocket listener
  std::string cert, key, ca;
  bool verify = true;
  registrar::registrar_options reg;  // realm, users, domains, expiries, bounds, output
  bool stateless = false, record_route = false, sequential = false, path = false;
  long max_transactions = -1;
  bool stats = false;
  std::string redis_host;  // empty: bindings in this process's memory
  std::uint16_t redis_port = 0;
};

[[noreturn]] void usage() {
  std::fprintf(stderr,
               "usage: proxy [--bind ADDR] [--port N] [--tls-port N --cert F --key F]\n"
               "             [--ca F] [--no-verify]\n"
               "             [--domain D]... [--stateless] [--record-route] [--sequential]\n"
               "             [--path] [--user NAME:PASSWORD]... [--users-file F] [--realm R]\n"
               "             [--min-expires S] [--max-expires S] [--max-contacts N]\n"
               "             [--replace-oldest] [--max-bindings N] [--max-request-rate N]\n"
               "             [--max-transactions N] [--quiet] [--full] [--stats]\n"
               "             [--redis HOST:PORT] [--ws PORT] [--wss PORT]\n");
  std::exit(2);
}

options parse(int argc, char** argv) {
  options o;
  for (int i = 1; i < argc; ++i) {
    if (registrar::parse_registrar_option(argc, argv, i, o.reg, usage)) continue;
    std::string_view a = argv[i];
    auto value = [&] { return registrar::option_value(argc, argv, i, usage); };
    auto number = [&] { return registrar::option_number(argc, argv, i, usage); };
    if (a == "--bind") {
      o.bind = value();
    } else if (a == "--port") {
      o.port = static_cast<std::uint16_t>(number());
    } else if (a == "--tls-port") {
      o.tls_port = static_cast<std::uint16_t>(number());
    } else if (a == "--ws") {
      o.ws_port = std::min(number(), 65535L);
    } else if (a == "--wss") {
      o.wss_port = std::min(number(), 65535L);
    } else if (a == "--cert") {
      o.cert = value();
    } else if (a == "--key") {
      o.key = value();
    } else if (a == "--ca") {
      o.ca = value();
    } else if (a == "--no-verify") {
      o.verify = false;
    } else if (a == "--stateless") {
      o.stateless = true;
    } else if (a == "--record-route") {
      o.record_route = true;
    } else if (a == "--sequential") {
      o.sequential = true;
    } else if (a == "--path") {
      o.path = true;
    } else if (a == "--max-transactions") {
      o.max_transactions = number();
    } else if (a == "--stats") {
      o.stats = true;
    } else if (a == "--redis") {
      const std::string v = value();
      const auto colon = v.rfind(':');
      const long port =
          colon == std::string::npos ? 0 : std::strtol(v.c_str() + colon + 1, nullptr, 10);
      if (colon == 0 || port <= 0 || port > 65535) usage();
      o.redis_host = v.substr(0, colon);
      o.redis_port = static_cast<std::uint16_t>(port);
    } else {
      usage();
    }
  }
  if (o.port == 0 || o.bind == "0.0.0.0" || o.bind == "::") usage();  // the proxy's own URI
  if (o.ws_port == 0 || o.wss_port == 0) usage();  // like --port: in our Record-Route
  if (o.wss_port >= 0 && (o.cert.empty() || o.key.empty())) usage();
  registrar::finish_registrar_options(o.reg);
  if (o.reg.realm.empty()) o.reg.realm = o.reg.domains.empty() ? "sipkit" : o.reg.domains.front();
  return o;
}

/// The registrar and the next-hop lookups: what proxy::core asks the application.
class services final : public px::services {
 public:
  services(const options& opt, boost::asio::io_context& io, sipkit::logger log)
      : opt_(opt),
        db_(opt.reg.limits),
        dns_(io, resolver_config(log)),
        auth_(make_digest(opt),
              [this](std::string_view user, std::string_view) { return opt_.reg.password(user); }) {
    if (opt.redis_host.empty()) return;
    registrar::redis::client_config rc;
    rc.host = opt.redis_host;
    rc.port = opt.redis_port;
    rc.log = log;
    redis_ = std::make_unique<registrar::redis::client>(io, rc);
    store_ = std::make_unique<registrar::redis_location_store>(
        *redis_, registrar::redis_store_config{.limits = opt.reg.limits});
    redis_->start();
  }
  /// Fails what still waits for Redis, while the adapter its handlers answer through lives.
  void stop() {
    if (redis_) redis_->stop();
  }

  px::asio_adapter* adapter = nullptr;       // set once the adapter exists
  proxy_example::ws_flows* flows = nullptr;  // with --ws/--wss

  /// §16.5: REGISTER is answered here (we are the registrar of --domain); anything else
  /// for --domain goes to the AOR's contacts.
  void locate(std::uint64_t id, const sipkit::parser::message& request) override {
    const auto now = clock_type::now();
    db_.expire(now);
    if (request.method() == sipkit::parser::method::register_)
      return store_ ? register_in_redis(id, request, now)
                    : adapter->respond(id, do_register(request, now));
    const auto aor = registrar::parse_aor(request.request_uri());
    if (store_ && aor) {
      return store_->async_lookup(
          aor->key, [this, id, req = request](std::error_code ec, registrar::redis_bindings b) {
            if (ec) return adapter->respond(id, unavailable(req));
            set_targets(id, req, b.local(clock_type::now()));
          });
    }
    set_targets(id, request, aor ? db_.lookup(aor->key) : std::span<const registrar::binding>{});
  }

  /// RFC 3263: an IP literal at once (no DNS), a name through the resolver.
  void resolve(std::uint64_t id, std::string_view uri) override {
    if (flows)  // RFC 7118 §5.2: a WebSocket UA only on its flow
      if (auto f = flows->find(uri)) {
        // Closed since the lookup (a later sequential branch, a slow Redis answer): fail the
        // branch as set_targets would have, not with the 500 a send on it ends in.
        if (!flows->is_open(*f))
          return f->outbound ? adapter->fail_next_hop(id, 430, "Flow Failed")
                             : adapter->fail_next_hop(id, 480, "WebSocket flow gone");
        return adapter->set_next_hops(id, {f->hop});
      }
    sipkit::parser::uri_view u;
    if (sipkit::parser::parse_uri(uri, u)) return adapter->set_next_hops(id, {});
    std::string_view host = u.host;
    if (host.size() > 2 && host.front() == '[') host = host.substr(1, host.size() - 2);
    if (sipkit::transport::parse_ip(host)) {
      const bool sips = u.scheme == sipkit::parser::uri_scheme::sips;
      tx::endpoint hop;
      hop.protocol = sips
                         ? proto::tls
                         : sipkit::parse_transport_protocol(u.transport_param).value_or(proto::udp);
      hop.host = std::string(host);
      hop.port = u.port ? u.port : sipkit::default_port(hop.protocol);
      return adapter->set_next_hops(id, {hop});
    }
    dns_.locate(uri, [this, id](std::error_code ec, sipkit::transport::target_list targets) {
      std::vector<tx::endpoint> hops;
      if (!ec)
        for (const auto& t : targets.all()) hops.push_back(tx::to_endpoint(t));
      adapter->set_next_hops(id, std::move(hops));  // none: the branch ends with 503
    });
  }

  const registrar::location_service& bindings() const { return db_; }

 private:
  void set_targets(std::uint64_t id, const sipkit::parser::message& req,
                   std::span<const registrar::binding> list) {
    std::vector<px::target> targets;
    double q = 1.0;
    int flows_gone = 0, outbound_gone = 0;
    for (const auto& b : list) {
      if (flows)
        if (auto f = flows->find(b.uri); f && !flows->is_open(*f)) {  // RFC 7118 §5.2
          ++flows_gone;
          outbound_gone += f->outbound ? 1 : 0;
          continue;
        }
      targets.push_back({b.uri, q});
      if (opt_.sequential) q -= 0.001;  // one q-value group per contact
    }
    // Every contact was a WebSocket flow that is gone: fail now, not by a timer. RFC 5626
    // §5.3: 430 for a UA that registered with outbound (it registers a new flow); RFC
    // 7118 §5.2 without outbound: 480.
    if (targets.empty() && flows_gone > 0) {
      return adapter->respond(
          id, outbound_gone > 0
                  ? sipkit::parser::make_response(req, 430, "Flow Failed", "reg")
                  : sipkit::parser::make_response(req, 480, "WebSocket flow gone", "reg"));
    }
    adapter->set_targets(id, std::move(targets),
                         opt_.sequential ? std::optional(px::fork_mode::sequential) : std::nullopt);
  }

  static sipkit::parser::message unavailable(const sipkit::parser::message& req) {
    auto rsp = sipkit::parser::make_response(req, 503, "Location service unavailable", "reg");
    rsp.add("Retry-After", "5");
    return rsp;
  }

  /// do_register with the bindings in Redis: the checks here, the update there, the reply
  /// from the store's completion.
  void register_in_redis(std::uint64_t id, const sipkit::parser::message& req,
                         clock_type::time_point now) {
    std::optional<registrar::aor> aor;
    if (auto refusal = authorize(req, now, aor)) return adapter->respond(id, std::move(*refusal));
    registrar::register_plan plan;
    if (auto r = registrar::plan_register(req, opt_.reg, plan))
      return adapter->respond(id, reply(req, *r));
    store_->async_update(
        aor->key, req.call_id(), plan.cseq, plan.remove_all, plan.updates,
        [this, id, req, a = *aor](std::error_code ec, registrar::location_service::status st,
                                  registrar::redis_bindings b) {
          if (ec) return adapter->respond(id, unavailable(req));
          const auto at = clock_type::now();
          std::optional<clock_type::time_point> next;
          if (b.next_expiry) next = at + (*b.next_expiry - b.server_now);
          const auto r = registrar::register_outcome(st, a, b.local(at), next, 0, opt_.reg, at);
          if (r.code == 200 && flows) flows->learn(req);
          adapter->respond(id, reply(req, r));
        });
  }

  static sipkit::parser::message reply(const sipkit::parser::message& req,
                                       const registrar::reply& r) {
    auto rsp = sipkit::parser::make_response(req, r.code, r.reason, "reg");
    r.add_to(rsp);
    return rsp;
  }

  static sipkit::transport::resolver_config resolver_config(sipkit::logger log) {
    sipkit::transport::resolver_config r;
    r.log = std::move(log);
    return r;
  }
  static sipkit::ua::digest_server_config make_digest(const options& opt) {
    sipkit::ua::digest_server_config d;
    d.realm = opt.reg.realm;
    return d;
  }

  /// RFC 3261 §10.3: the AOR in one of --domain, digest authentication with --user (the
  /// user binds only its own AOR), then the steps the registrar example takes too.
  sipkit::parser::message do_register(const sipkit::parser::message& req,
                                      clock_type::time_point now) {
    std::optional<registrar::aor> aor;
    if (auto refusal = authorize(req, now, aor)) return std::move(*refusal);
    const auto r = registrar::apply_register(req, *aor, opt_.reg, db_, now);
    if (r.code == 200 && flows) flows->learn(req);
    return reply(req, r);
  }

  /// The refusal of a REGISTER this proxy does not take (not one of --domain, digest), else
  /// nullopt with `aor` set.
  std::optional<sipkit::parser::message> authorize(const sipkit::parser::message& req,
                                                   clock_type::time_point now,
                                                   std::optional<registrar::aor>& aor) {
    using sipkit::parser::make_response;
    auto to = req.to();
    aor = to ? registrar::parse_aor(to->uri.raw) : std::nullopt;
    if (!aor || !opt_.reg.our_domain(aor->host)) return make_response(req, 404, {}, "reg");
    if (!opt_.reg.users.empty()) {
      const auto who = auth_.verify(req, "", false, now);
      using verdict = sipkit::ua::digest_server::verdict;
      if (who.v == verdict::malformed) return make_response(req, 400, who.reason, "reg");
      if (who.v == verdict::throttled) return make_response(req, 403, {}, "reg");
      if (who.v != verdict::ok)
        return auth_.challenge(req, false, who.v == verdict::stale_nonce, now);
      if (who.username != aor->user) return make_response(req, 403, "Not your AOR", "reg");
    }
    return std::nullopt;
  }

  const options& opt_;
  registrar::location_service db_;
  sipkit::transport::resolver dns_;
  sipkit::ua::digest_server auth_;
  std::unique_ptr<registrar::redis::client> redis_;
  std::unique_ptr<registrar::redis_location_store> store_;
};

}  // namespace

int main(int argc, char** argv) {
  const options opt = parse(argc, argv);
  boost::asio::io_context io(1);
  const sipkit::logger log(opt.reg.quiet ? sipkit::log_level::info : sipkit::log_level::debug,
                           example::ladder_sink(opt.reg.quiet, opt.reg.full));

  sipkit::transport::transport_config tcfg;
  tcfg.listen = {{proto::udp, opt.bind, opt.port}, {proto::tcp, opt.bind, opt.port}};
  px::config pcfg;
  pcfg.locals = {{proto::udp, opt.bind, opt.port}, {proto::tcp, opt.bind, opt.port}};
  const bool tls = !opt.cert.empty() && !opt.key.empty();
  if (tls) {
    tcfg.listen.push_back({proto::tls, opt.bind, opt.tls_port});
    tcfg.tls.certificate_chain_file = opt.cert;
    tcfg.tls.private_key_file = opt.key;
    tcfg.tls.ca_file = opt.ca;  // empty: the system's trust store
    tcfg.tls.verify_server = opt.verify;
    pcfg.locals.push_back({proto::tls, opt.bind, opt.tls_port});
  }
  for (auto [p, port] : {std::pair{proto::ws, opt.ws_port}, std::pair{proto::wss, opt.wss_port}}) {
    if (port < 0) continue;
    tcfg.listen.push_back({p, opt.bind, static_cast<std::uint16_t>(port)});
    pcfg.locals.push_back({p, opt.bind, static_cast<std::uint16_t>(port)});
  }
  if (opt.wss_port >= 0) {
    tcfg.tls.certificate_chain_file = opt.cert;
    tcfg.tls.private_key_file = opt.key;
    tcfg.tls.ca_file = opt.ca;
    tcfg.tls.verify_server = opt.verify;
  }
  tcfg.log = log;
  pcfg.domains = opt.reg.domains;
  pcfg.stateless = opt.stateless;
  pcfg.record_route = opt.record_route;
  pcfg.add_path = opt.path;
  pcfg.forking = opt.sequential ? px::fork_mode::sequential : px::fork_mode::parallel;

  tx::manager_config mcfg;
  mcfg.log = sipkit::logger(sipkit::log_level::info, example::ladder_sink(true, false));
  if (opt.reg.max_request_rate >= 0) {  // per-source token bucket (Kamailio's pike)
    mcfg.rate_limit.requests_per_second = static_cast<unsigned>(opt.reg.max_request_rate);
    mcfg.rate_limit.burst = 2 * static_cast<unsigned>(opt.reg.max_request_rate);
  }
  if (opt.max_transactions > 0)
    mcfg.max_transactions = static_cast<std::size_t>(opt.max_transactions);

  sipkit::transport::manager net(io, tcfg);
  tx::network_transport tp(net);
  services svc(opt, io, log);
  px::asio_adapter proxy(io.get_executor(), tp, svc, pcfg, mcfg);
  svc.adapter = &proxy;
  proxy_example::ws_flows flows(net);
  proxy_example::ws_flows::tap tap(flows, proxy);
  if (opt.ws_port >= 0 || opt.wss_port >= 0) {
    svc.flows = &flows;
    tp.set_receiver(tap);
  } else {
    tp.set_receiver(proxy);
  }
  if (auto ec = net.start()) {
    std::fprintf(stderr, "proxy: cannot listen: %s\n", ec.message().c_str());
    return 1;
  }
  boost::asio::signal_set signals(io, SIGINT, SIGTERM);
  signals.async_wait([&](boost::system::error_code, int) { io.stop(); });
  for (const auto& l : net.listeners())
    std::printf("listening on %s %s\n",
                std::string(sipkit::transport::to_string(l.transport)).c_str(),
                l.local.to_string().c_str());
  std::printf("%s proxy%s, domains:", opt.stateless ? "stateless" : "stateful",
              opt.record_route ? " with Record-Route" : "");
  for (const auto& d : opt.reg.domains) std::printf(" %s", d.c_str());
  std::printf("\n");
  std::fflush(stdout);
  io.run();
  svc.stop();
  if (opt.stats) {
    const auto& s = proxy.get().statistics();
    const auto& m = proxy.get().manager().stats();
    std::printf(
        "forwarded %llu, rejected %llu, loops %llu, responses %llu, cancels %llu, "
        "timer C %llu; bindings %zu; rate-limited %llu\n",
        static_cast<unsigned long long>(s.forwarded), static_cast<unsigned long long>(s.rejected),
        static_cast<unsigned long long>(s.loops),
        static_cast<unsigned long long>(s.responses_forwarded),
        static_cast<unsigned long long>(s.cancels_sent),
        static_cast<unsigned long long>(s.timer_c_fired), svc.bindings().size(),
        static_cast<unsigned long long>(m.rate_limited));
  }
  return 0;
}
