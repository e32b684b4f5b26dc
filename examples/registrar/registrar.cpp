// registrar — a small SIP registrar with digest authentication and an in-memory location
// service, built on sipkit::ua (user_agent::on_request, digest_server).
//
// What it shows: answering REGISTER as RFC 3261 §10.3 says — digest challenge and
// verification (RFC 7616/8760: SHA-256 and MD5 offered, nonces that expire, replayed nc
// refused), the user may only bind its own AOR (user part = the authenticated user, host =
// one of --domain), Contact "*" with Expires 0 removes all bindings, 423 Interval Too Brief
// below --min-expires, CSeq order per Call-ID, and the 200 listing every binding with the
// time it has left. Lookups: an INVITE, MESSAGE or OPTIONS for a registered AOR is
// redirected (302 with the bindings as Contacts, §8.3) once the caller has authenticated
// (401 first, §22.1: a redirect server is a UAS); unknown AORs get 404. An OPTIONS to the
// registrar itself (no user part) gets a 200 without authentication. It does not proxy.
//
// Hostile traffic (issue 17) and what bounds it:
//   * bindings per AOR (--max-contacts; beyond: 403 "Too many registrations", or the oldest
//     binding goes with --replace-oldest), Contact URIs of at most 1 KiB (400), and bindings
//     in total (--max-bindings; beyond: 503 with Retry-After), so a 200 or 302 always fits a
//     UDP datagram; a response that could not be sent anyway is logged and counted, never
//     silent;
//   * password guessing: digest_server's failure throttle per source address and per user
//     (--auth-failures-per-source / --auth-failures-per-user in --auth-window; then 403,
//     even for the right password; the user's known-good sources still get through);
//   * extension enumeration: unauthenticated lookups get the same 401 whether the AOR is
//     registered or not (--no-redirect-requires-auth restores the open redirect);
//   * a REGISTER costs O(bindings of its AOR + expired ones): the location service finds
//     the AOR through a hash index and expires through a time-ordered queue, never walking
//     every binding (location_service.hpp).
//
// Shared bindings (issue 14): with --redis HOST:PORT the bindings live in Redis
// (redis_location_store.hpp) instead of this process's memory, so several registrars on
// several machines serve the same AORs and none of them takes bindings with it when it dies.
// The REGISTER and lookup paths are then asynchronous: the handler defers its response and
// the store's completion handler sends it; the io_context never waits for Redis. With Redis
// unreachable the registrar answers 503 (Retry-After: 5) at once.
//
// WebSocket (RFC 7118): --ws PORT / --wss PORT (wss with --cert F --key F) take
// registrations from WebSocket clients (JsSIP, SIP.js, examples/webphone); the 200 goes
// back on their connection. A redirect server cannot reach them: their Contact
// ("sip:x@y.invalid;transport=ws") is only reachable over the connection they registered
// on (§5.2), which a caller redirected by a 302 does not have. So lookups leave those
// contacts out of the 302, and an AOR reachable only through them gets 480 with a reason
// saying so. To route requests to browsers over their flows, run examples/proxy --ws/--wss
// (registrar and proxy in one: it forwards on the flow, with 430/480 at once when the
// flow is gone).
//
// Run:   registrar --port 5070 --realm example.com --user alice:secret --user bob:pw
// Then:  uac --register sip:127.0.0.1:5070 --aor sip:alice@example.com --password secret
//
// Options: --bind ADDR (127.0.0.1)  --port N (5070)  --transport udp|tcp (udp)
//          --realm R (sipkit)  --user NAME:PASSWORD (repeat)  --users-file F (one
//          NAME:PASSWORD a line; '#' comments)  --domain D (repeat; the realm)
//          --min-expires S (60)  --max-expires S (3600)  --md5-only  --quiet  --full
//          --max-contacts N (16)  --replace-oldest  --max-bindings N (100000)
//          --redirect-requires-auth (default) | --no-redirect-requires-auth
//          --auth-failures-per-source N (5)  --auth-failures-per-user N (20)
//          --auth-window S (60; 0 = no throttling)  --redis HOST:PORT (in memory)
//          --max-request-rate N (new requests per second and source address, burst 2N;
//          100; 0 = no limit: the transaction layer's rate limit, manager_config::rate_limit)
//          --ws PORT  --wss PORT  --cert F  --key F (the wss listener's certificate and key)
#include <algorithm>
#include <boost/asio/io_context.hpp>
#include <boost/asio/signal_set.hpp>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "../common/sip_ladder.hpp"
#include "location_service.hpp"
#include "redis_location_store.hpp"
#include "registration.hpp"
#include "sipkit/parser/uri.hpp"
#include "sipkit/ua/digest.hpp"
#include "sipkit/ua/user_agent.hpp"

namespace {

using registrar::clock_type;
using sipkit::parser::header_id;
using verdict = sipkit::ua::digest_server::verdict;

struct options {
  std::string bind = "127.0.0.1";
  std::uint16_t port = 5070;
  sipkit::transport_protocol transport = sipkit::transport_protocol::udp;
  registrar::registrar_options reg;  // realm, users, domains, expiries, bounds, output
  bool redirect_requires_auth = true;
  sipkit::ua::digest_throttle_config throttle;
  bool md5_only = false;
  std::string redis_host;  // empty: the in-memory location service
  std::uint16_t redis_port = 0;
  long ws_port = -1, wss_port = -1;  // -1: no WebSocket listener (0: any free port)
  std::string cert, key;             // for --wss
};

[[noreturn]] void usage() {
  std::fprintf(stderr,
               "usage: registrar [--bind ADDR] [--port N] [--transport udp|tcp] [--realm R]\n"
               "                 [--user NAME:PASSWORD]... [--users-file F] [--domain D]...\n"
               "                 [--min-expires S] [--max-expires S] [--max-contacts N]\n"
               "                 [--replace-oldest] [--max-bindings N]\n"
               "                 [--[no-]redirect-requires-auth]\n"
               "                 [--auth-failures-per-source N] [--auth-failures-per-user N]\n"
               "                 [--auth-window S] [--max-request-rate N] [--md5-only]\n"
               "                 [--quiet] [--full] [--redis HOST:PORT]\n"
               "                 [--ws PORT] [--wss PORT --cert F --key F]\n");
  std::exit(2);
}

options parse(int argc, char** argv) {
  options o;
  o.reg.realm = "sipkit";
  for (int i = 1; i < argc; ++i) {
    if (registrar::parse_registrar_option(argc, argv, i, o.reg, usage)) continue;
    std::string_view a = argv[i];
    auto value = [&] { return registrar::option_value(argc, argv, i, usage); };
    auto number = [&] { return registrar::option_number(argc, argv, i, usage); };
    if (a == "--bind") {
      o.bind = value();
    } else if (a == "--port") {
      o.port = static_cast<std::uint16_t>(number());
    } else if (a == "--transport") {
      auto t = sipkit::transport::protocol_from_string(value());
      if (!t || *t == sipkit::transport_protocol::tls) usage();  // udp or tcp
      o.transport = *t;
    } else if (a == "--redirect-requires-auth") {
      o.redirect_requires_auth = true;
    } else if (a == "--no-redirect-requires-auth") {
      o.redirect_requires_auth = false;
    } else if (a == "--auth-failures-per-source") {
      o.throttle.max_failures_per_source = static_cast<std::uint32_t>(number());
    } else if (a == "--auth-failures-per-user") {
      o.throttle.max_failures_per_user = static_cast<std::uint32_t>(number());
    } else if (a == "--auth-window") {
      o.throttle.window = std::chrono::seconds(number());
    } else if (a == "--md5-only") {
      o.md5_only = true;
    } else if (a == "--ws") {
      o.ws_port = std::min(number(), 65535L);
    } else if (a == "--wss") {
      o.wss_port = std::min(number(), 65535L);
    } else if (a == "--cert") {
      o.cert = value();
    } else if (a == "--key") {
      o.key = value();
    } else if (a == "--redis") {
      const std::string v = value();
      const auto colon = v.rfind(':');
      if (colon == std::string::npos || colon == 0) usage();
      o.redis_host = v.substr(0, colon);
      const long port = std::strtol(v.c_str() + colon + 1, nullptr, 10);
      if (port <= 0 || port > 65535) usage();
      o.redis_port = static_cast<std::uint16_t>(port);
    } else {
      usage();
    }
  }
  if (o.wss_port >= 0 && (o.cert.empty() || o.key.empty())) usage();
  registrar::finish_registrar_options(o.reg);
  if (o.reg.domains.empty()) o.reg.domains.push_back(registrar::lowercase(o.reg.realm));
  return o;
}

}  // namespace

int main(int argc, char** argv) {
  const options opt = parse(argc, argv);
  const registrar::registrar_options& reg = opt.reg;
  boost::asio::io_context io(1);

  sipkit::ua::ua_config cfg;
  cfg.user = "registrar";
  cfg.domain = reg.realm;
  cfg.transport.listen = {{opt.transport, opt.bind, opt.port}};
  for (auto [p, port] : {std::pair{sipkit::transport_protocol::ws, opt.ws_port},
                         std::pair{sipkit::transport_protocol::wss, opt.wss_port}})
    if (port >= 0) cfg.transport.listen.push_back({p, opt.bind, static_cast<std::uint16_t>(port)});
  cfg.transport.tls.certificate_chain_file = opt.cert;
  cfg.transport.tls.private_key_file = opt.key;
  if (reg.max_request_rate >= 0) {  // the transaction layer's per-source token bucket
    cfg.transactions.rate_limit.requests_per_second = static_cast<unsigned>(reg.max_request_rate);
    cfg.transactions.rate_limit.burst = 2 * static_cast<unsigned>(reg.max_request_rate);
  }
  cfg.transport.log = sipkit::logger(reg.quiet ? sipkit::log_level::info : sipkit::log_level::debug,
                                     example::ladder_sink(reg.quiet, reg.full));
  cfg.log = sipkit::logger(sipkit::log_level::info, example::ladder_sink(reg.quiet, reg.full));
  sipkit::ua::user_agent agent(io, cfg);

  sipkit::ua::digest_server_config dcfg;
  dcfg.realm = reg.realm;
  if (opt.md5_only) dcfg.algorithms = {sipkit::ua::digest_algorithm::md5};
  dcfg.throttle = opt.throttle;
  dcfg.log = cfg.log;
  sipkit::ua::digest_server auth(
      dcfg, [&](std::string_view user, std::string_view) { return reg.password(user); });
  registrar::location_service db(reg.limits);
  std::unique_ptr<registrar::redis::client> redis;
  std::unique_ptr<registrar::redis_location_store> store;
  if (!opt.redis_host.empty()) {
    registrar::redis::client_config rc;
    rc.host = opt.redis_host;
    rc.port = opt.redis_port;
    rc.log = cfg.log;
    redis = std::make_unique<registrar::redis::client>(io, rc);
    store = std::make_unique<registrar::redis_location_store>(
        *redis, registrar::redis_store_config{.limits = reg.limits});
    redis->start();
  }

  // Every response goes through here: one that cannot go out (too large for UDP, no route)
  // is reported, never silent, and the registrar carries on.
  std::uint64_t unsent = 0;
  auto send = [&](sipkit::ua::incoming_request& in, sipkit::parser::message rsp) {
    const int code = rsp.status_code();
    if (auto ec = in.respond(std::move(rsp))) {
      ++unsent;
      std::fprintf(stderr, "registrar: %d to %.*s from %s not sent (%llu so far): %s\n", code,
                   static_cast<int>(in.message().method_text().size()),
                   in.message().method_text().data(), in.source().host.c_str(),
                   static_cast<unsigned long long>(unsent), ec.message().c_str());
    }
  };
  // Credentials missing or refused: 400, 403 (throttled: no challenge, even for the right
  // password), else a fresh 401 challenge (stale=true for an expired nonce).
  // The Redis paths answer from a completion handler, through the deferred request.
  auto send_later = [&](sipkit::ua::deferred_request& d, sipkit::parser::message rsp) {
    const int code = rsp.status_code();
    if (auto ec = d.respond(std::move(rsp))) {
      ++unsent;
      std::fprintf(stderr, "registrar: deferred %d not sent (%llu so far): %s\n", code,
                   static_cast<unsigned long long>(unsent), ec.message().c_str());
    }
  };
  auto unavailable = [&](sipkit::ua::deferred_request& d, std::error_code ec) {
    if (!reg.quiet) std::printf("location store unavailable: %s\n", ec.message().c_str());
    auto rsp = d.make_response(503, "Location service unavailable");
    rsp.add("Retry-After", "5");
    send_later(d, std::move(rsp));
  };
  auto refuse = [&](sipkit::ua::incoming_request& in, const sipkit::ua::digest_server::result& r,
                    clock_type::time_point now) {
    if (r.v == verdict::malformed) return send(in, in.make_response(400, r.reason));
    if (r.v == verdict::throttled) return send(in, in.make_response(403));
    if (r.v != verdict::missing && !reg.quiet)
      std::printf("authentication of %s failed: %s\n", r.username.c_str(), r.reason.c_str());
    send(in, auth.challenge(in.message(), false, r.v == verdict::stale_nonce, now));
  };

  agent.on_request("REGISTER", [&](sipkit::ua::incoming_request& in) {
    const auto& req = in.message();
    const auto now = clock_type::now();
    db.expire(now);
    // §10.3 steps 4-6: authenticate, then the user may change only its own AOR.
    const auto who = auth.verify(req, in.source().host, false, now);
    if (who.v != verdict::ok) return refuse(in, who, now);
    auto to = req.to();
    const auto aor = to ? registrar::parse_aor(to->uri.raw) : std::nullopt;
    if (!aor) return send(in, in.make_response(404, "Not a SIP AOR"));
    if (aor->user != who.username || !reg.our_domain(aor->host))
      return send(in, in.make_response(403, "Not your address-of-record"));
    // §10.3 steps 6-8 (shared with examples/proxy: registration.hpp).
    if (store) {
      registrar::register_plan plan;
      if (auto refusal = registrar::plan_register(req, reg, plan)) {
        auto rsp = in.make_response(refusal->code, refusal->reason);
        refusal->add_to(rsp);
        return send(in, std::move(rsp));
      }
      return store->async_update(
          aor->key, req.call_id(), plan.cseq, plan.remove_all, plan.updates,
          [&, d = in.defer(), a = *aor](std::error_code ec, registrar::location_service::status st,
                                        registrar::redis_bindings b) {
            if (ec) return unavailable(*d, ec);
            const auto at = clock_type::now();
            const auto list = b.local(at);
            std::optional<clock_type::time_point> next;
            if (b.next_expiry) next = at + (*b.next_expiry - b.server_now);
            const auto r = registrar::register_outcome(st, a, list, next, 0, reg, at);
            auto rsp = d->make_response(r.code, r.reason);
            r.add_to(rsp);
            send_later(*d, std::move(rsp));
          });
    }
    const auto r = registrar::apply_register(req, *aor, reg, db, now);
    auto rsp = in.make_response(r.code, r.reason);
    r.add_to(rsp);
    send(in, std::move(rsp));
  });

  // Lookups: a redirect server for registered AORs (RFC 3261 §8.3, §21.3.3). With
  // --redirect-requires-auth only authenticated callers learn where a user is: before that,
  // every AOR, registered or not, gets the same 401 (§22.1: a redirect server is a UAS and
  // challenges with 401; the caller's digest client answers it like a registrar's).
  // The 302 for an AOR's bindings, without the WebSocket ones (RFC 7118 §5.2: no new
  // connection reaches them); 480 when they are all there is.
  auto redirect_to = [&](auto& req, std::span<const registrar::binding> list,
                         clock_type::time_point at) {
    std::vector<registrar::binding> reachable;
    for (const auto& b : list)
      if (!registrar::websocket_contact(b.uri)) reachable.push_back(b);
    if (reachable.empty())
      return req.make_response(480, "Reachable only over its WebSocket connection");
    auto rsp = req.make_response(302);
    for (const auto& c : registrar::contact_values(reachable, at)) rsp.add(header_id::contact, c);
    return rsp;
  };
  auto redirect = [&](sipkit::ua::incoming_request& in) {
    const auto& req = in.message();
    const auto now = clock_type::now();
    db.expire(now);
    const auto target = registrar::parse_aor(req.request_uri());
    if (req.method() == sipkit::parser::method::options && target && target->user.empty()) {
      auto rsp = in.make_response(200);  // §11.2: the registrar itself; tells nothing of AORs
      rsp.add(header_id::allow, "REGISTER, INVITE, ACK, CANCEL, MESSAGE, OPTIONS");
      return send(in, std::move(rsp));
    }
    if (opt.redirect_requires_auth) {
      const auto who = auth.verify(req, in.source().host, false, now);
      if (who.v != verdict::ok) return refuse(in, who, now);
    }
    if (store && target) {
      return store->async_lookup(
          target->key, [&, d = in.defer()](std::error_code ec, registrar::redis_bindings b) {
            if (ec) return unavailable(*d, ec);
            if (b.bindings.empty()) return send_later(*d, d->make_response(404));
            const auto at = clock_type::now();
            send_later(*d, redirect_to(*d, b.local(at), at));
          });
    }
    const auto list = target ? db.lookup(target->key) : std::span<const registrar::binding>{};
    if (list.empty()) return send(in, in.make_response(404));
    send(in, redirect_to(in, list, now));
  };
  agent.on_request("INVITE", redirect);
  agent.on_request("MESSAGE", redirect);
  agent.on_request("OPTIONS", redirect);

  if (auto ec = agent.start()) {
    std::fprintf(stderr, "registrar: cannot listen: %s\n", ec.message().c_str());
    return 1;
  }
  boost::asio::signal_set signals(io, SIGINT, SIGTERM);
  signals.async_wait([&](boost::system::error_code, int) { io.stop(); });
  std::printf("listening on %s %s, realm %s\n",
              std::string(sipkit::transport_param_name(opt.transport)).c_str(),
              agent.local_address(opt.transport).c_str(), reg.realm.c_str());
  for (auto [p, port] : {std::pair{sipkit::transport_protocol::ws, opt.ws_port},
                         std::pair{sipkit::transport_protocol::wss, opt.wss_port}})
    if (port >= 0)
      std::printf("listening on %s %s\n", std::string(sipkit::transport_param_name(p)).c_str(),
                  agent.local_address(p).c_str());
  std::fflush(stdout);
  io.run();
  // Fails what still waits for Redis while the handlers' captures are alive.
  if (redis) redis->stop();
  return 0;
}
