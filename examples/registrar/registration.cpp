// registration: the registrar options and REGISTER handling shared by the registrar and
// proxy examples.
#include "registration.hpp"

#include <algorithm>
#include <cctype>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <fstream>

#include "sipkit/dialog/dialog.hpp"
#include "sipkit/parser/uri.hpp"
#include "sipkit/transport_protocol.hpp"

namespace registrar {
namespace {

using sipkit::parser::header_id;

long parse_seconds(std::string_view s, long fallback) {
  if (s.empty() || s.size() > 10) return fallback;
  long n = 0;
  for (char c : s) {
    if (c < '0' || c > '9') return fallback;
    n = n * 10 + (c - '0');
  }
  return n;
}

void add_user(registrar_options& o, std::string_view entry, void (*usage)()) {
  const auto colon = entry.find(':');
  if (colon == std::string_view::npos) usage();
  o.users[std::string(entry.substr(0, colon))] = std::string(entry.substr(colon + 1));
}

void read_users_file(registrar_options& o, const std::string& path, void (*usage)()) {
  std::ifstream in(path);
  if (!in) {
    std::fprintf(stderr, "cannot read users file %s\n", path.c_str());
    std::exit(2);
  }
  for (std::string line; std::getline(in, line);) {
    if (!line.empty() && line.back() == '\r') line.pop_back();
    if (line.empty() || line.front() == '#') continue;
    add_user(o, line, usage);
  }
}

// Thousandths as a qvalue (RFC 3261 §20.10): 1000 -> "1", 500 -> "0.5", 125 -> "0.125".
std::string format_q(std::uint16_t q) {
  if (q >= 1000) return "1";
  if (q == 0) return "0";
  std::string s = "0." + std::to_string(1000 + q).substr(1);
  while (s.back() == '0' && s.size() > 3) s.pop_back();
  return s;
}

reply refuse(int code, std::string reason = {}) { return {code, std::move(reason), {}, {}}; }

}  // namespace

std::string lowercase(std::string s) {
  for (char& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return s;
}

bool registrar_options::our_domain(std::string_view host) const {
  return std::find(domains.begin(), domains.end(), host) != domains.end();
}

std::optional<std::string> registrar_options::password(std::string_view user) const {
  auto it = users.find(user);
  return it == users.end() ? std::optional<std::string>{} : std::optional(it->second);
}

std::string option_value(int argc, char** argv, int& i, void (*usage)()) {
  if (i + 1 >= argc) usage();
  return argv[++i];
}

long option_number(int argc, char** argv, int& i, void (*usage)()) {
  const std::string v = option_value(argc, argv, i, usage);
  char* end = nullptr;
  const long n = std::strtol(v.c_str(), &end, 10);
  if (v.empty() || *end != '\0' || n < 0) usage();
  return n;
}

bool parse_registrar_option(int argc, char** argv, int& i, registrar_options& o, void (*usage)()) {
  const std::string_view a = argv[i];
  auto value = [&] { return option_value(argc, argv, i, usage); };
  auto number = [&] { return option_number(argc, argv, i, usage); };
  if (a == "--realm") {
    o.realm = value();
  } else if (a == "--user") {
    add_user(o, value(), usage);
  } else if (a == "--users-file") {
    read_users_file(o, value(), usage);
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
  } else if (a == "--max-request-rate") {
    o.max_request_rate = number();
  } else if (a == "--quiet") {
    o.quiet = true;
  } else if (a == "--full") {
    o.full = true;
  } else {
    return false;
  }
  return true;
}

void finish_registrar_options(registrar_options& o) {
  // A grant must never fall below the Min-Expires we demand in a 423 (RFC 3261 §10.3).
  if (o.max_expires < o.min_expires) o.max_expires = o.min_expires;
}

void reply::add_to(sipkit::parser::message& rsp) const {
  for (const auto& c : contacts) rsp.add(header_id::contact, c);
  for (const auto& [name, v] : headers) rsp.add(name, v);
}

bool websocket_contact(std::string_view uri) {
  sipkit::parser::uri_view u;
  if (sipkit::parser::parse_uri(uri, u)) return false;
  const auto t = sipkit::parse_transport_protocol(u.transport_param);
  return t && (*t == sipkit::transport_protocol::ws || *t == sipkit::transport_protocol::wss);
}

std::vector<std::string> contact_values(std::span<const binding> list, clock_type::time_point now) {
  std::vector<std::string> out;
  out.reserve(list.size());
  for (const auto& b : list) {
    const auto left = std::chrono::duration_cast<std::chrono::seconds>(b.expires_at - now).count();
    std::string v = "<" + b.uri + ">;expires=" + std::to_string(left);
    if (b.q) v += ";q=" + format_q(*b.q);
    out.push_back(std::move(v));
  }
  return out;
}

std::optional<reply> plan_register(const sipkit::parser::message& req, const registrar_options& o,
                                   register_plan& plan) {
  const long header_expires = parse_seconds(req.get(header_id::expires).value_or(""), 3600);
  std::vector<std::string_view> contacts;
  for (const auto& f : req.fields())
    if (f.id == header_id::contact)
      for (auto c : sipkit::dialog::split_address_list(req.value_of(f))) contacts.push_back(c);
  // More Contacts than an AOR may hold can never fit: refuse before looking at them.
  if (contacts.size() > o.limits.max_contacts) return refuse(403, "Too many registrations");

  plan = {};
  for (auto c : contacts) {
    if (c == "*") {  // §10.3 step 6: remove every binding
      if (contacts.size() != 1) return refuse(400, "Contact * with others");
      if (header_expires != 0 || req.count(header_id::expires) != 1)
        return refuse(400, "Contact * needs Expires: 0");
      plan.remove_all = true;
      continue;
    }
    sipkit::parser::name_addr_view na;
    if (sipkit::parser::parse_name_addr(c, na)) return refuse(400, "Bad Contact");
    // An ;expires that is not delta-seconds (an RFC 2543 date, a token) is a generic
    // parameter to the parser; RFC 3261 §10.2.1.1 / §20.19 take a malformed expiry as 3600.
    const long expires = na.expires_not_a_number ? 3600 : parse_seconds(na.expires, header_expires);
    if (expires != 0 && expires < o.min_expires) {  // §10.3 step 7, §10.2.8
      auto r = refuse(423);
      r.headers.emplace_back("Min-Expires", std::to_string(o.min_expires));
      return r;
    }
    std::optional<std::uint16_t> q;
    if (!na.q.empty() && !(q = parse_q(na.q))) return refuse(400, "Bad q-value");
    plan.updates.push_back({std::string(na.uri.raw), std::min(expires, o.max_expires), q});
  }
  plan.cseq = req.cseq() ? req.cseq()->number : 0;
  return std::nullopt;
}

reply register_outcome(location_service::status st, const aor& a, std::span<const binding> list,
                       std::optional<clock_type::time_point> next_expiry, std::size_t total,
                       const registrar_options& o, clock_type::time_point now) {
  using status = location_service::status;
  switch (st) {
    case status::ok:
      break;
    case status::cseq_out_of_order:  // §10.3 step 7
      return refuse(500, "CSeq out of order");
    case status::too_many_contacts:
      return refuse(403, "Too many registrations");
    case status::uri_too_long:
      return refuse(400, "Contact URI too long");
    case status::full: {  // RFC 3261 §21.5.4: try again when a binding has expired
      auto r = refuse(503, "Too many bindings");
      const auto next = next_expiry.value_or(now + std::chrono::seconds(60));
      const auto wait = std::chrono::ceil<std::chrono::seconds>(next - now).count();
      r.headers.emplace_back("Retry-After",
                             std::to_string(std::clamp<long long>(wait, 1, o.max_expires)));
      if (!o.quiet)
        std::printf("refused a binding for %s: %zu bindings in total\n", a.key.c_str(), total);
      return r;
    }
  }
  reply ok;
  ok.contacts = contact_values(list, now);
  if (!o.quiet) std::printf("%s has %zu binding(s)\n", a.key.c_str(), list.size());
  return ok;
}

reply apply_register(const sipkit::parser::message& req, const aor& a, const registrar_options& o,
                     location_service& db, clock_type::time_point now) {
  register_plan plan;
  if (auto refusal = plan_register(req, o, plan)) return std::move(*refusal);
  const auto st = db.update(a.key, req.call_id(), plan.cseq, plan.remove_all, plan.updates, now);
  return register_outcome(st, a, db.lookup(a.key), db.next_expiry(), db.size(), o, now);
}

}  // namespace registrar
