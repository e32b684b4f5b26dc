// The §16 step rules (request_rules.hpp). Each function is one step of RFC 3261 §16 and
// names it; proxy::core calls them in the RFC's order.
#include "sipkit/proxy/request_rules.hpp"

#include <algorithm>
#include <charconv>
#include <cstdio>

#include "sipkit/dialog/dialog.hpp"
#include "sipkit/parser/headers.hpp"
#include "sipkit/parser/uri.hpp"

namespace sipkit::proxy {
namespace {

using parser::header_id;

std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

void split_into(std::string_view value, std::vector<std::string>& out) {
  // The stack's one comma rule (commas inside quoted strings and < > do not split).
  for (std::size_t pos = 0;;) {
    const auto e = dialog::next_address(value, pos);
    if (e.empty()) return;
    out.emplace_back(e);
  }
}

std::string join(const std::vector<std::string>& entries) {
  std::string out;
  for (const auto& e : entries) {
    if (!out.empty()) out += ", ";
    out += e;
  }
  return out;
}

/// Keyed 64-bit hash (FNV-1a over the bytes, then the splitmix64 finalizer): stable across
/// runs and builds, which a stateless proxy needs (§16.11), and keyed by a secret so that
/// nobody else can compute our branches.
class hasher {
 public:
  explicit hasher(std::uint64_t secret) : h_(0xcbf29ce484222325ull ^ secret) {}
  void add(std::string_view s) {
    for (unsigned char c : s) {
      h_ ^= c;
      h_ *= 0x100000001b3ull;
    }
    h_ ^= 0xff;  // field separator: "ab","c" differs from "a","bc"
    h_ *= 0x100000001b3ull;
  }
  void add_lower(std::string_view s) {
    std::string l(s);
    for (auto& c : l)
      if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
    add(l);
  }
  std::uint64_t value() const {
    std::uint64_t z = h_ + 0x9e3779b97f4a7c15ull;
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
  }
  std::string hex() const {
    char buf[17];
    std::snprintf(buf, sizeof buf, "%016llx", static_cast<unsigned long long>(value()));
    return buf;
  }

 private:
  std::uint64_t h_;
};

std::uint16_t effective_port(const parser::uri_view& u) {
  if (u.port) return u.port;
  if (u.scheme == parser::uri_scheme::sips) return 5061;
  if (auto p = sipkit::parse_transport_protocol(u.transport_param)) return sipkit::default_port(*p);
  return 5060;
}

/// A To tag for a response the proxy generates itself (§8.2.6.2), derived from the request
/// so that a retransmission of the request gets the same response.
std::string local_tag(const parser::message& request) {
  hasher h(0x5eed);
  h.add(request.call_id());
  if (auto via = request.top_via()) h.add(via->branch);
  return h.hex().substr(0, 10);
}

parser::message reject(const parser::message& request, int code) {
  return parser::make_response(request, code, {}, local_tag(request));
}

bool tag_listed(const std::vector<std::string>& list, std::string_view tag) {
  return std::any_of(list.begin(), list.end(),
                     [&](const std::string& s) { return parser::iequals(s, tag); });
}

}  // namespace

bool is_local_uri(std::string_view uri, std::span<const local_address> locals) {
  parser::uri_view u;
  if (parser::parse_uri(uri, u) || !u.is_sip()) return false;
  const std::uint16_t port = effective_port(u);
  return std::any_of(locals.begin(), locals.end(), [&](const local_address& l) {
    const std::uint16_t lport = l.port ? l.port : sipkit::default_port(l.protocol);
    return lport == port && parser::iequals(l.host, u.host);
  });
}

std::vector<std::string> header_list(const parser::message& msg, header_id id) {
  std::vector<std::string> out;
  for (const auto& f : msg.fields())
    if (f.id == id) split_into(msg.value_of(f), out);
  return out;
}

void set_header_list(parser::message& msg, header_id id, const std::vector<std::string>& entries) {
  if (entries.empty())
    msg.remove(id);
  else
    msg.set(id, join(entries));
}

std::string_view entry_uri(std::string_view entry) {
  entry = trim(entry);
  const auto open = entry.find('<');
  if (open != std::string_view::npos) {
    // A quoted display name may contain '<': skip it first.
    std::size_t start = 0;
    if (!entry.empty() && entry.front() == '"') {
      for (std::size_t i = 1; i < entry.size(); ++i) {
        if (entry[i] == '\\') {
          ++i;
        } else if (entry[i] == '"') {
          start = i + 1;
          break;
        }
      }
    }
    const auto lt = entry.find('<', start);
    const auto gt = entry.find('>', lt);
    if (lt != std::string_view::npos && gt != std::string_view::npos)
      return entry.substr(lt + 1, gt - lt - 1);
  }
  // addr-spec: header parameters follow the first ';' only for a name-addr; a bare URI
  // keeps its own parameters (§20: the ambiguity is resolved that way).
  return entry;
}

// ---------------------------------------------------------------- §16.3

std::optional<parser::message> validate_request(const parser::message& request,
                                                const validation_config& config,
                                                std::span<const local_address> locals) {
  // Step 1, reasonable syntax: what the proxy itself reads must be there and parse.
  auto cseq = request.cseq();
  if (!request.top_via() || !request.from() || !request.to() || request.call_id().empty() ||
      !cseq || (cseq->method_text != request.method_text()))
    return reject(request, 400);
  // Step 2, URI scheme.
  parser::uri_view ruri;
  if (parser::parse_uri(request.request_uri(), ruri)) return reject(request, 400);
  if (!ruri.is_sip() && !tag_listed(config.extra_schemes, ruri.scheme_text))
    return reject(request, 416);
  // Step 3, Max-Forwards.
  if (auto mf = request.get(header_id::max_forwards)) {
    const std::string_view v = trim(*mf);
    unsigned n = 0;
    auto [p, ec] = std::from_chars(v.data(), v.data() + v.size(), n);
    if (ec != std::errc{} || p != v.data() + v.size()) return reject(request, 400);
    if (n == 0) {
      if (config.answer_options && request.method() == parser::method::options &&
          (locals.empty() || is_local_uri(request.request_uri(), locals))) {
        auto ok = reject(request, 200);
        ok.add(header_id::allow, "INVITE, ACK, CANCEL, BYE, OPTIONS, REGISTER");
        return ok;
      }
      return reject(request, 483);
    }
  }
  // Step 5, Proxy-Require: every option tag we do not know goes into Unsupported.
  std::vector<std::string> unsupported;
  for (const auto& tag : header_list(request, header_id::proxy_require))
    if (!tag_listed(config.supported_extensions, tag)) unsupported.push_back(tag);
  if (!unsupported.empty()) {
    auto r = reject(request, 420);
    r.add(header_id::unsupported, join(unsupported));
    return r;
  }
  return std::nullopt;
}

// ---------------------------------------------------------------- loop detection

std::string loop_hash(const parser::message& request, std::uint64_t secret) {
  hasher h(secret);
  auto to = request.to();
  auto from = request.from();
  auto cseq = request.cseq();
  h.add(to ? to->tag : std::string_view{});
  h.add(from ? from->tag : std::string_view{});
  h.add(request.call_id());
  h.add(request.request_uri());
  h.add(cseq ? std::to_string(cseq->number) : std::string{});
  for (const auto& f : request.fields())
    if (f.id == header_id::route || f.id == header_id::proxy_require ||
        f.id == header_id::proxy_authorization)
      h.add(request.value_of(f));
  return h.hex();
}

std::string stateless_branch(const parser::message& request, std::uint64_t secret) {
  hasher h(secret ^ 0x51a7e1e55ull);
  if (auto via = request.top_via()) {
    h.add(via->branch);
    h.add_lower(via->host);
    h.add(std::to_string(via->port));
    if (!via->has_rfc3261_branch()) {
      // RFC 2543 peer: its branch does not identify the transaction (§17.2.3).
      auto to = request.to();
      auto from = request.from();
      auto cseq = request.cseq();
      h.add(request.call_id());
      h.add(to ? to->tag : std::string_view{});
      h.add(from ? from->tag : std::string_view{});
      h.add(cseq ? std::to_string(cseq->number) : std::string{});
      h.add(request.request_uri());
    }
  }
  return "z9hG4bK" + h.hex() + "." + loop_hash(request, secret);
}

std::string_view branch_loop_part(std::string_view branch) {
  // "z9hG4bK" + a unique part without '.' + "." + 16 hex digits: stateless_branch's
  // layout, and the stateful one (the manager's random branch + ".<loop hash>").
  if (branch.size() < 7 + 1 + 1 + 16 || branch.substr(0, 7) != "z9hG4bK") return {};
  const std::size_t dot = branch.size() - 17;
  if (branch[dot] != '.' || branch.substr(7, dot - 7).find('.') != std::string_view::npos)
    return {};
  const std::string_view part = branch.substr(dot + 1);
  for (char c : part)
    if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) return {};
  return part;
}

// ---------------------------------------------------------------- §16.4

route_preprocessing preprocess_route(parser::message& request,
                                     std::span<const local_address> locals) {
  route_preprocessing out;
  if (!request.get(header_id::route)) return out;
  auto routes = header_list(request, header_id::route);
  if (is_local_uri(request.request_uri(), locals) && !routes.empty()) {
    // The previous hop was a strict router: it put our Record-Route URI in the
    // Request-URI and the real Request-URI at the end of Route.
    request.set_request_uri(entry_uri(routes.back()));
    routes.pop_back();
    out.strict_fixup = true;
  }
  while (!routes.empty() && is_local_uri(entry_uri(routes.front()), locals)) {
    routes.erase(routes.begin());
    ++out.popped;
  }
  if (out.strict_fixup || out.popped) set_header_list(request, header_id::route, routes);
  return out;
}

// ---------------------------------------------------------------- §16.6

parser::message make_forward(const parser::message& request, std::string_view target,
                             const forward_options& options) {
  parser::message fwd = request;                                 // step 1: copy
  if (fwd.request_uri() != target) fwd.set_request_uri(target);  // step 2
  // Step 3: Max-Forwards (validation made sure it is a number > 0 when present).
  if (auto mf = fwd.get(header_id::max_forwards)) {
    const std::string_view v = trim(*mf);
    unsigned n = 70;
    std::from_chars(v.data(), v.data() + v.size(), n);
    fwd.set(header_id::max_forwards, std::to_string(n > 0 ? n - 1 : 0));
  } else {
    fwd.add(header_id::max_forwards, "70");
  }
  add_record_route(fwd, options.record_route);  // step 4
  add_path(fwd, options.path);                  // step 5 (RFC 3327 §5.2)
  // Step 6: a strict next hop gets the Request-URI at the end of Route and its own URI in
  // the Request-URI (§16.6 step 6, §12.2.1.1).
  if (strict_next_hop(fwd)) {
    auto routes = header_list(fwd, header_id::route);
    const std::string first_uri(entry_uri(routes.front()));
    routes.push_back("<" + std::string(fwd.request_uri()) + ">");
    routes.erase(routes.begin());
    fwd.set_request_uri(first_uri);
    set_header_list(fwd, header_id::route, routes);
  }
  return fwd;
}

void add_record_route(parser::message& request, const std::vector<std::string>& uris) {
  // Pushed so that uris[0] ends on top.
  for (auto it = uris.rbegin(); it != uris.rend(); ++it)
    request.push_front(header_id::record_route, "<" + *it + ">");
}

void add_path(parser::message& request, std::string_view uri) {
  if (uri.empty()) return;
  std::vector<std::string> paths{"<" + std::string(uri) + ">"};
  for (const auto& f : request.fields())
    if (f.id == header_id::extension && parser::iequals(request.name_of(f), "Path"))
      split_into(request.value_of(f), paths);
  request.remove("Path");
  request.add("Path", join(paths));
}

void stamp_received(parser::message& request, const transaction::endpoint& source) {
  auto via = request.top_via();
  if (!via) return;
  std::string_view host = via->host;
  if (host.size() > 2 && host.front() == '[') host = host.substr(1, host.size() - 2);
  const bool need_received = host != source.host;
  const bool need_rport = via->has_rport && via->rport.empty();
  if (!need_received && !need_rport) return;
  std::vector<std::string> parms;
  split_into(request.get(header_id::via).value_or(""), parms);
  if (parms.empty()) return;
  std::string& top = parms.front();
  if (need_rport) {
    // ";rport" without value becomes ";rport=<source port>" (RFC 3581 §4).
    const auto pos = top.find(";rport");
    const auto end = pos + 6;
    if (pos != std::string::npos && (end == top.size() || top[end] == ';'))
      top.insert(end, "=" + std::to_string(source.port));
  }
  if (need_received || need_rport) top += ";received=" + source.host;
  request.remove_first(header_id::via);
  request.push_front(header_id::via, join(parms));
}

bool strict_next_hop(const parser::message& request) {
  if (!request.get(header_id::route)) return false;
  auto routes = header_list(request, header_id::route);
  if (routes.empty()) return false;
  parser::uri_view first;
  const std::string uri(entry_uri(routes.front()));
  return !parser::parse_uri(uri, first) && !first.lr;
}

std::string next_hop_uri(const parser::message& forwarded, bool strict) {
  if (!strict && forwarded.get(header_id::route)) {
    auto routes = header_list(forwarded, header_id::route);
    if (!routes.empty()) return std::string(entry_uri(routes.front()));
  }
  return std::string(forwarded.request_uri());
}

std::string record_route_uri(const local_address& address) {
  std::string uri = "sip:";
  uri += address.host;
  if (address.port) uri += ":" + std::to_string(address.port);
  if (address.protocol != transaction::transport_protocol::udp) {
    uri += ";transport=";
    uri += sipkit::transport_param_name(address.protocol);
  }
  uri += ";lr";
  return uri;
}

// ---------------------------------------------------------------- §16.7

void pop_via(parser::message& response) {
  auto first = response.get(header_id::via);
  if (!first) return;
  std::vector<std::string> parms;
  split_into(*first, parms);
  response.remove_first(header_id::via);
  if (parms.size() > 1) {
    parms.erase(parms.begin());
    response.push_front(header_id::via, join(parms));
  }
}

std::optional<transaction::endpoint> response_destination(const parser::message& response) {
  auto via = response.top_via();
  if (!via) return std::nullopt;
  transaction::endpoint ep;
  ep.protocol = sipkit::parse_transport_protocol(via->transport)
                    .value_or(transaction::transport_protocol::udp);
  std::string_view host = via->received.empty() ? via->host : via->received;
  if (host.size() > 2 && host.front() == '[' && host.back() == ']')
    host = host.substr(1, host.size() - 2);
  ep.host = std::string(host);
  ep.port = via->port ? via->port : sipkit::default_port(ep.protocol);
  if (via->has_rport && !via->rport.empty()) {
    unsigned p = 0;
    auto [ptr, ec] = std::from_chars(via->rport.data(), via->rport.data() + via->rport.size(), p);
    if (ec == std::errc{} && p > 0 && p < 65536) ep.port = static_cast<std::uint16_t>(p);
  }
  return ep;
}

parser::message choose_best_response(std::span<const parser::message> finals) {
  const parser::message* best = nullptr;
  auto rank = [](int code) {
    // Lower is better. 6xx first; then by class; within 4xx the RFC's preferred codes.
    const int cls = code / 100;
    int r = cls == 6 ? 0 : cls * 1000;
    if (cls == 4 && (code == 401 || code == 407 || code == 415 || code == 420 || code == 484))
      r -= 500;
    return r + code % 100;
  };
  for (const auto& r : finals)
    if (!best || rank(r.status_code()) < rank(best->status_code())) best = &r;
  parser::message out = *best;
  const int code = out.status_code();
  if (code == 503) out.set_status(500);  // §16.7 step 6: 503 is about us, not the callee
  if (code == 401 || code == 407) {
    // Step 7: the caller answers every challenge at once.
    std::vector<std::pair<header_id, std::string>> challenges;
    for (const auto& r : finals) {
      if (r.status_code() != 401 && r.status_code() != 407) continue;
      for (const auto& f : r.fields())
        if (f.id == header_id::www_authenticate || f.id == header_id::proxy_authenticate) {
          std::pair<header_id, std::string> c{f.id, std::string(r.value_of(f))};
          if (std::find(challenges.begin(), challenges.end(), c) == challenges.end())
            challenges.push_back(std::move(c));
        }
    }
    out.remove(header_id::www_authenticate);
    out.remove(header_id::proxy_authenticate);
    for (const auto& [id, value] : challenges) out.add(id, value);
  }
  return out;
}

}  // namespace sipkit::proxy
