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
//   * a REGISTER costs O(bindings of its AOR + expired ones): the location service keeps an
//     expiry queue instead of walking every binding (location_service.hpp).
//
// Run:   registrar --port 5070 --realm example.com --user alice:secret --user bob:pw
// Then:  uac --register sip:127.0.0.1:5070 --aor sip:alice@example.com --password secret
//
// Options: --bind ADDR (127.0.0.1)  --port N (5070)  --transport udp|tcp (udp)
//          --realm R (sipkit)  --user NAME:PASSWORD (repeat)  --domain D (repeat; the realm)
//          --min-expires S (60)  --max-expires S (3600)  --md5-only  --quiet  --full
//          --max-contacts N (16)  --replace-oldest  --max-bindings N (100000)
//          --redirect-requires-auth (default) | --no-redirect-requires-auth
//          --auth-failures-per-source N (5)  --auth-failures-per-user N (20)
//          --auth-window S (60; 0 = no throttling)
//          --max-request-rate N (new requests per second and source address, burst 2N;
//          100; 0 = no limit: the transaction layer's rate limit, manager_config::rate_limit)
#include <algorithm>
#include <boost/asio/io_context.hpp>
#include <boost/asio/signal_set.hpp>
#include <cctype>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "../common/sip_ladder.hpp"
#include "location_service.hpp"
#include "sipkit/dialog/dialog.hpp"
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
  std::string realm = "sipkit";
  std::map<std::string, std::string> users;
  std::vector<std::string> domains;  // lowercase; the realm when none is given
  long min_expires = 60, max_expires = 3600;
  long max_request_rate = -1;         // per source address and second; -1: the library's default
  registrar::location_limits limits;  // --max-contacts, --max-bindings, --replace-oldest
  bool redirect_requires_auth = true;
  sipkit::ua::digest_throttle_config throttle;
  bool md5_only = false, quiet = false, full = false;
};

[[noreturn]] void usage() {
  std::fprintf(stderr,
               "usage: registrar [--bind ADDR] [--port N] [--transport udp|tcp] [--realm R]\n"
               "                 [--user NAME:PASSWORD]... [--domain D]... [--min-expires S]\n"
               "                 [--max-expires S] [--max-contacts N] [--replace-oldest]\n"
               "                 [--max-bindings N] [--[no-]redirect-requires-auth]\n"
               "                 [--auth-failures-per-source N] [--auth-failures-per-user N]\n"
               "                 [--auth-window S] [--md5-only] [--quiet] [--full]\n");
  std::exit(2);
}

std::string lowercase(std::string s) {
  for (char& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return s;
}

options parse(int argc, char** argv) {
  options o;
  for (int i = 1; i < argc; ++i) {
    std::string_view a = argv[i];
    auto value = [&]() -> std::string {
      if (i + 1 >= argc) usage();
      return argv[++i];
    };
    auto number = [&]() -> long {
      const std::string v = value();
      char* end = nullptr;
      const long n = std::strtol(v.c_str(), &end, 10);
      if (v.empty() || *end != '\0' || n < 0) usage();
      return n;
    };
    if (a == "--bind") {
      o.bind = value();
    } else if (a == "--port") {
      o.port = static_cast<std::uint16_t>(number());
    } else if (a == "--transport") {
      auto t = sipkit::transport::protocol_from_string(value());
      if (!t || *t == sipkit::transport_protocol::tls) usage();  // udp or tcp
      o.transport = *t;
    } else if (a == "--realm") {
      o.realm = value();
    } else if (a == "--user") {
      auto u = value();
      auto colon = u.find(':');
      if (colon == std::string::npos) usage();
      o.users[u.substr(0, colon)] = u.substr(colon + 1);
    } else if (a == "--domain") {
      o.domains.push_back(lowercase(value()));
    } else if (a == "--min-expires") {
      o.min_expires = number();
    } else if (a == "--max-expires") {
      o.max_expires = number();
    } else if (a == "--max-contacts") {
      o.limits.max_contacts = static_cast<std::size_t>(std::max(1L, number()));
    } else if (a == "--replace-oldest") {
      o.limits.replace_oldest = true;
    } else if (a == "--max-bindings") {
      o.limits.max_bindings = static_cast<std::size_t>(number());
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
    } else if (a == "--max-request-rate") {
      o.max_request_rate = number();
    } else if (a == "--md5-only") {
      o.md5_only = true;
    } else if (a == "--quiet") {
      o.quiet = true;
    } else if (a == "--full") {
      o.full = true;
    } else {
      usage();
    }
  }
  // A grant must never fall below the Min-Expires we demand in a 423 (RFC 3261 §10.3).
  if (o.max_expires < o.min_expires) o.max_expires = o.min_expires;
  if (o.domains.empty()) o.domains.push_back(lowercase(o.realm));
  return o;
}

long parse_seconds(std::string_view s, long fallback) {
  if (s.empty() || s.size() > 10) return fallback;
  long n = 0;
  for (char c : s) {
    if (c < '0' || c > '9') return fallback;
    n = n * 10 + (c - '0');
  }
  return n;
}

void add_bindings(sipkit::parser::message& rsp, std::span<const registrar::binding> list,
                  clock_type::time_point now) {
  for (const auto& b : list) {
    const auto left = std::chrono::duration_cast<std::chrono::seconds>(b.expires_at - now).count();
    rsp.add(header_id::contact, "<" + b.uri + ">;expires=" + std::to_string(left));
  }
}

}  // namespace

int main(int argc, char** argv) {
  const options opt = parse(argc, argv);
  boost::asio::io_context io(1);

  sipkit::ua::ua_config cfg;
  cfg.user = "registrar";
  cfg.domain = opt.realm;
  cfg.transport.listen = {{opt.transport, opt.bind, opt.port}};
  if (opt.max_request_rate >= 0) {  // the transaction layer's per-source token bucket
    cfg.transactions.rate_limit.requests_per_second = static_cast<unsigned>(opt.max_request_rate);
    cfg.transactions.rate_limit.burst = 2 * static_cast<unsigned>(opt.max_request_rate);
  }
  cfg.transport.log = sipkit::logger(opt.quiet ? sipkit::log_level::info : sipkit::log_level::debug,
                                     example::ladder_sink(opt.quiet, opt.full));
  cfg.log = sipkit::logger(sipkit::log_level::info, example::ladder_sink(opt.quiet, opt.full));
  sipkit::ua::user_agent agent(io, cfg);

  sipkit::ua::digest_server_config dcfg;
  dcfg.realm = opt.realm;
  if (opt.md5_only) dcfg.algorithms = {sipkit::ua::digest_algorithm::md5};
  dcfg.throttle = opt.throttle;
  dcfg.log = cfg.log;
  sipkit::ua::digest_server auth(dcfg, [&](std::string_view user, std::string_view) {
    auto it = opt.users.find(std::string(user));
    return it == opt.users.end() ? std::optional<std::string>{} : std::optional(it->second);
  });
  registrar::location_service db(opt.limits);

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
  auto refuse = [&](sipkit::ua::incoming_request& in, const sipkit::ua::digest_server::result& r,
                    clock_type::time_point now) {
    if (r.v == verdict::malformed) return send(in, in.make_response(400, r.reason));
    if (r.v == verdict::throttled) return send(in, in.make_response(403));
    if (r.v != verdict::missing && !opt.quiet)
      std::printf("authentication of %s failed: %s\n", r.username.c_str(), r.reason.c_str());
    send(in, auth.challenge(in.message(), false, r.v == verdict::stale_nonce, now));
  };
  auto our_domain = [&](const std::string& host) {
    return std::find(opt.domains.begin(), opt.domains.end(), host) != opt.domains.end();
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
    if (aor->user != who.username || !our_domain(aor->host))
      return send(in, in.make_response(403, "Not your address-of-record"));

    const long header_expires = parse_seconds(req.get(header_id::expires).value_or(""), 3600);
    std::vector<std::string_view> contacts;
    for (const auto& f : req.fields())
      if (f.id == header_id::contact)
        for (auto c : sipkit::dialog::split_address_list(req.value_of(f))) contacts.push_back(c);
    // More Contacts than an AOR may hold can never fit: refuse before looking at them.
    if (contacts.size() > opt.limits.max_contacts)
      return send(in, in.make_response(403, "Too many registrations"));

    bool remove_all = false;
    std::vector<registrar::contact_update> updates;
    for (auto c : contacts) {
      if (c == "*") {  // §10.3 step 6: remove every binding
        if (contacts.size() != 1) return send(in, in.make_response(400, "Contact * with others"));
        if (header_expires != 0 || req.count(header_id::expires) != 1)
          return send(in, in.make_response(400, "Contact * needs Expires: 0"));
        remove_all = true;
        continue;
      }
      sipkit::parser::name_addr_view na;
      if (sipkit::parser::parse_name_addr(c, na))
        return send(in, in.make_response(400, "Bad Contact"));
      // An ;expires that is not delta-seconds (an RFC 2543 date, a token) is a generic
      // parameter to the parser; RFC 3261 §10.2.1.1 / §20.19 take a malformed expiry as 3600.
      long expires = na.expires_not_a_number ? 3600 : parse_seconds(na.expires, header_expires);
      if (expires != 0 && expires < opt.min_expires) {  // §10.3 step 7, §10.2.8
        auto rsp = in.make_response(423);
        rsp.add("Min-Expires", std::to_string(opt.min_expires));
        return send(in, std::move(rsp));
      }
      updates.push_back({std::string(na.uri.raw), std::min(expires, opt.max_expires)});
    }

    const std::uint32_t cseq = req.cseq() ? req.cseq()->number : 0;
    using st = registrar::location_service::status;
    switch (db.update(aor->key, req.call_id(), cseq, remove_all, updates, now)) {
      case st::ok:
        break;
      case st::cseq_out_of_order:  // §10.3 step 7
        return send(in, in.make_response(500, "CSeq out of order"));
      case st::too_many_contacts:
        return send(in, in.make_response(403, "Too many registrations"));
      case st::uri_too_long:
        return send(in, in.make_response(400, "Contact URI too long"));
      case st::full: {  // RFC 3261 §21.5.4: try again when a binding has expired
        auto rsp = in.make_response(503, "Too many bindings");
        const auto next = db.next_expiry().value_or(now + std::chrono::seconds(60));
        const auto wait = std::chrono::ceil<std::chrono::seconds>(next - now).count();
        rsp.add("Retry-After", std::to_string(std::clamp<long long>(wait, 1, opt.max_expires)));
        if (!opt.quiet)
          std::printf("refused a binding for %s: %zu bindings in total\n", aor->key.c_str(),
                      db.size());
        return send(in, std::move(rsp));
      }
    }
    const auto list = db.lookup(aor->key);
    auto ok = in.make_response(200);
    add_bindings(ok, list, now);
    if (!opt.quiet) std::printf("%s has %zu binding(s)\n", aor->key.c_str(), list.size());
    send(in, std::move(ok));
  });

  // Lookups: a redirect server for registered AORs (RFC 3261 §8.3, §21.3.3). With
  // --redirect-requires-auth only authenticated callers learn where a user is: before that,
  // every AOR, registered or not, gets the same 401 (§22.1: a redirect server is a UAS and
  // challenges with 401; the caller's digest client answers it like a registrar's).
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
    const auto list = target ? db.lookup(target->key) : std::span<const registrar::binding>{};
    if (list.empty()) return send(in, in.make_response(404));
    auto rsp = in.make_response(302);
    add_bindings(rsp, list, now);
    send(in, std::move(rsp));
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
              agent.local_address(opt.transport).c_str(), opt.realm.c_str());
  std::fflush(stdout);
  io.run();
  return 0;
}
