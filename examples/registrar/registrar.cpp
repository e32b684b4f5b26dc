// registrar — a small SIP registrar with digest authentication and an in-memory location
// service, built on sipkit::ua (user_agent::on_request, digest_server).
//
// What it shows: answering REGISTER as RFC 3261 §10.3 says — digest challenge and
// verification (RFC 7616/8760: SHA-256 and MD5 offered, nonces that expire, replayed nc
// refused), the user may only bind its own AOR, Contact "*" with Expires 0 removes all
// bindings, 423 Interval Too Brief below --min-expires, CSeq order per Call-ID, and the
// 200 listing every binding with the time it has left. Lookups: an INVITE, MESSAGE or
// OPTIONS for a registered AOR is redirected (302 with the bindings as Contacts, §8.3);
// unknown AORs get 404. It does not proxy.
//
// Run:   registrar --port 5070 --realm example.com --user alice:secret --user bob:pw
// Then:  uac --register sip:127.0.0.1:5070 --aor sip:alice@example.com --password secret
//
// Options: --bind ADDR (127.0.0.1)  --port N (5070)  --transport udp|tcp (udp)
//          --realm R (sipkit)  --user NAME:PASSWORD (repeat)  --min-expires S (60)
//          --max-expires S (3600)  --md5-only  --quiet  --full
#include <boost/asio/io_context.hpp>
#include <boost/asio/signal_set.hpp>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "../common/sip_ladder.hpp"
#include "sipkit/dialog/dialog.hpp"
#include "sipkit/parser/uri.hpp"
#include "sipkit/ua/digest.hpp"
#include "sipkit/ua/user_agent.hpp"

namespace {

using sipkit::parser::header_id;
using clock_type = std::chrono::steady_clock;

struct options {
  std::string bind = "127.0.0.1";
  std::uint16_t port = 5070;
  sipkit::transport::protocol transport = sipkit::transport::protocol::udp;
  std::string realm = "sipkit";
  std::map<std::string, std::string> users;
  long min_expires = 60, max_expires = 3600;
  bool md5_only = false, quiet = false, full = false;
};

[[noreturn]] void usage() {
  std::fprintf(stderr,
               "usage: registrar [--bind ADDR] [--port N] [--transport udp|tcp] [--realm R]\n"
               "                 [--user NAME:PASSWORD]... [--min-expires S] [--max-expires S]\n"
               "                 [--md5-only] [--quiet] [--full]\n");
  std::exit(2);
}

options parse(int argc, char** argv) {
  options o;
  for (int i = 1; i < argc; ++i) {
    std::string_view a = argv[i];
    auto value = [&]() -> std::string {
      if (i + 1 >= argc) usage();
      return argv[++i];
    };
    if (a == "--bind") {
      o.bind = value();
    } else if (a == "--port") {
      o.port = static_cast<std::uint16_t>(std::stoi(value()));
    } else if (a == "--transport") {
      auto t = value();
      if (t == "udp")
        o.transport = sipkit::transport::protocol::udp;
      else if (t == "tcp")
        o.transport = sipkit::transport::protocol::tcp;
      else
        usage();
    } else if (a == "--realm") {
      o.realm = value();
    } else if (a == "--user") {
      auto u = value();
      auto colon = u.find(':');
      if (colon == std::string::npos) usage();
      o.users[u.substr(0, colon)] = u.substr(colon + 1);
    } else if (a == "--min-expires") {
      o.min_expires = std::stol(value());
    } else if (a == "--max-expires") {
      o.max_expires = std::stol(value());
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
  return o;
}

struct binding {
  std::string contact;  // the Contact value without header parameters' expires
  std::string uri;
  std::string call_id;
  std::uint32_t cseq = 0;
  clock_type::time_point expires_at;
};

// The location service: AOR ("sip:alice@example.com", host lowercased) -> bindings.
using location_service = std::map<std::string, std::vector<binding>>;

std::string aor_key(std::string_view uri_text) {
  sipkit::parser::uri_view uri;
  if (sipkit::parser::parse_uri(uri_text, uri) || !uri.is_sip()) return {};
  std::string key = "sip:";
  key += sipkit::parser::unescape(uri.user);
  key += '@';
  for (char c : uri.host) key += static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return key;
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

void drop_expired(location_service& db, clock_type::time_point now) {
  for (auto it = db.begin(); it != db.end();) {
    std::erase_if(it->second, [&](const binding& b) { return b.expires_at <= now; });
    it = it->second.empty() ? db.erase(it) : std::next(it);
  }
}

void add_bindings(sipkit::parser::message& rsp, const std::vector<binding>& list,
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
  cfg.transport.log = sipkit::logger(opt.quiet ? sipkit::log_level::info : sipkit::log_level::debug,
                                     example::ladder_sink(opt.quiet, opt.full));
  cfg.log = sipkit::logger(sipkit::log_level::info, example::ladder_sink(opt.quiet, opt.full));
  sipkit::ua::user_agent agent(io, cfg);

  sipkit::ua::digest_server_config dcfg;
  dcfg.realm = opt.realm;
  if (opt.md5_only) dcfg.algorithms = {sipkit::ua::digest_algorithm::md5};
  sipkit::ua::digest_server auth(dcfg, [&](std::string_view user, std::string_view) {
    auto it = opt.users.find(std::string(user));
    return it == opt.users.end() ? std::optional<std::string>{} : std::optional(it->second);
  });
  location_service db;

  agent.on_request("REGISTER", [&](sipkit::ua::incoming_request& in) {
    const auto& req = in.message();
    const auto now = clock_type::now();
    drop_expired(db, now);
    // §10.3 steps 4-6: authenticate, then the user may change only its own AOR.
    auto verdict = auth.verify(req, false, now);
    using v = sipkit::ua::digest_server::verdict;
    if (verdict.v == v::malformed) return (void)in.respond(in.make_response(400, verdict.reason));
    if (verdict.v != v::ok) {
      if (verdict.v != v::missing && !opt.quiet)
        std::printf("authentication of %s failed: %s\n", verdict.username.c_str(),
                    verdict.reason.c_str());
      return (void)in.respond(auth.challenge(req, false, verdict.v == v::stale_nonce, now));
    }
    auto to = req.to();
    const std::string aor = to ? aor_key(to->uri.raw) : std::string();
    if (aor.empty()) return (void)in.respond(in.make_response(404, "Not a SIP AOR"));
    if (aor.substr(4, aor.find('@') - 4) != verdict.username)
      return (void)in.respond(in.make_response(403, "Not your address-of-record"));

    auto& list = db[aor];
    const long header_expires = parse_seconds(req.get(header_id::expires).value_or(""), 3600);
    const std::string call_id(req.call_id());
    const std::uint32_t cseq = req.cseq() ? req.cseq()->number : 0;
    std::vector<std::string_view> contacts;
    for (const auto& f : req.fields())
      if (f.id == header_id::contact)
        for (auto c : sipkit::dialog::split_address_list(req.value_of(f))) contacts.push_back(c);

    if (contacts.size() == 1 && contacts[0] == "*") {  // §10.3 step 6: remove every binding
      if (header_expires != 0 || req.count(header_id::expires) != 1)
        return (void)in.respond(in.make_response(400, "Contact * needs Expires: 0"));
      list.clear();
    }
    for (auto c : contacts) {
      if (c == "*") {
        if (contacts.size() != 1)
          return (void)in.respond(in.make_response(400, "Contact * with others"));
        continue;
      }
      sipkit::parser::name_addr_view na;
      if (sipkit::parser::parse_name_addr(c, na))
        return (void)in.respond(in.make_response(400, "Bad Contact"));
      long expires = parse_seconds(na.expires, header_expires);
      if (expires != 0 && expires < opt.min_expires) {  // §10.3 step 7, §10.2.8
        auto rsp = in.make_response(423);
        rsp.add("Min-Expires", std::to_string(opt.min_expires));
        return (void)in.respond(std::move(rsp));
      }
      expires = std::min(expires, opt.max_expires);
      const std::string uri(na.uri.raw);
      auto it = std::find_if(list.begin(), list.end(), [&](const binding& b) {
        sipkit::parser::uri_view a, b_uri;
        return !sipkit::parser::parse_uri(b.uri, b_uri) && !sipkit::parser::parse_uri(uri, a) &&
               sipkit::parser::uri_equal(a, b_uri);
      });
      if (it != list.end() && it->call_id == call_id && it->cseq >= cseq)
        return (void)in.respond(in.make_response(500, "CSeq out of order"));  // §10.3 step 7
      if (expires == 0) {
        if (it != list.end()) list.erase(it);
        continue;
      }
      binding b{std::string(c), uri, call_id, cseq, now + std::chrono::seconds(expires)};
      if (it != list.end())
        *it = std::move(b);
      else
        list.push_back(std::move(b));
    }
    auto ok = in.make_response(200);
    add_bindings(ok, list, now);
    if (!opt.quiet) std::printf("%s has %zu binding(s)\n", aor.c_str(), list.size());
    if (list.empty()) db.erase(aor);
    (void)in.respond(std::move(ok));
  });

  // Lookups: a redirect server for registered AORs (RFC 3261 §8.3, §21.3.3).
  auto redirect = [&](sipkit::ua::incoming_request& in) {
    const auto now = clock_type::now();
    drop_expired(db, now);
    auto it = db.find(aor_key(in.message().request_uri()));
    if (it == db.end()) return (void)in.respond(in.make_response(404));
    auto rsp = in.make_response(302);
    add_bindings(rsp, it->second, now);
    (void)in.respond(std::move(rsp));
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
              opt.transport == sipkit::transport::protocol::udp ? "udp" : "tcp",
              agent.local_address(opt.transport).c_str(), opt.realm.c_str());
  std::fflush(stdout);
  io.run();
  return 0;
}
