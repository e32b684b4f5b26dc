#include "sipkit/parser/uri.hpp"

#include "parser/parse_state.hpp"
#include "parser/tolerances.hpp"
#include "sipkit/parser/headers.hpp"

namespace sipkit::parser {
namespace {

int hex_value(char c) noexcept {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

bool iequals_unescaped(std::string_view a, std::string_view b) {
  return iequals(unescape(a), unescape(b));
}

// RFC 3261 §19.1.4: these parameters must match if either URI has them.
constexpr std::string_view k_must_match[] = {"user", "ttl", "method", "maddr", "transport"};

}  // namespace

std::optional<std::string_view> uri_view::param(std::string_view name) const noexcept {
  auto p = param_list(params).find(name);
  if (!p) return std::nullopt;
  return p->value;
}

parse_error parse_uri(std::string_view text, uri_view& out, const parser_limits& limits,
                      const parser_options& options) {
  if (text.size() > limits.max_uri_length) return {errc::uri_too_long, limits.max_uri_length, "URI"};
  parse_state st;
  st.limits = &limits;
  st.base = text.data();
  reset_slot(out);
  st.uri = &out;
  count_grammar_run();
  auto r = run_sip_machine(entry_point::uri, st, text.data(), text.data() + text.size());
  if (st.bad_ip_at != nullptr)
    return {errc::syntax, static_cast<std::size_t>(st.bad_ip_at - text.data()), "IPv6 reference"};
  if (r.error || !r.accepted || r.stop != text.data() + text.size())
    return {errc::syntax, static_cast<std::size_t>(r.stop - text.data()), "URI"};
  if (!options.ipv6_three_colons && st.three_colon_at != nullptr)
    return {errc::syntax, static_cast<std::size_t>(st.three_colon_at - text.data()),
            "IPv6 reference (three colons)"};
  if (auto err = check_uri_tolerances(out, st, options)) return err;
  if (st.port_overflow_at != nullptr)
    return {errc::value_out_of_range, static_cast<std::size_t>(st.port_overflow_at - text.data()),
            "URI port"};
  return {};
}

std::string unescape(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  for (std::size_t i = 0; i < text.size(); ++i) {
    if (text[i] == '%' && i + 2 < text.size()) {
      int hi = hex_value(text[i + 1]);
      int lo = hex_value(text[i + 2]);
      if (hi >= 0 && lo >= 0) {
        out.push_back(static_cast<char>(hi * 16 + lo));
        i += 2;
        continue;
      }
    }
    out.push_back(text[i]);
  }
  return out;
}

std::string request_uri_form(const uri_view& u) {
  const std::string_view raw = u.raw;
  std::size_t end = raw.size();
  if (!u.headers.empty()) end = static_cast<std::size_t>(u.headers.data() - raw.data()) - 1;
  if (u.params.empty() || !u.param("method")) return std::string(raw.substr(0, end));
  // Everything before the first ';', then the parameters we keep (params views `raw`).
  const auto params_at = static_cast<std::size_t>(u.params.data() - raw.data());
  std::string out(raw.substr(0, params_at - 1));
  param_list(u.params).for_each([&](const param_list::param& p) {
    if (iequals(p.name, "method")) return;
    out += ';';
    out += p.name;
    if (p.has_value) {
      out += '=';
      out += p.value;
    }
  });
  return out;
}

bool uri_equal(const uri_view& a, const uri_view& b) {
  if (!a.is_sip() || !b.is_sip()) return a.raw == b.raw;
  if (a.scheme != b.scheme) return false;
  if (unescape(a.user) != unescape(b.user)) return false;
  if (unescape(a.password) != unescape(b.password)) return false;
  if (!iequals(a.host, b.host) || a.port != b.port) return false;

  param_list pa(a.params), pb(b.params);
  for (auto name : k_must_match) {
    auto va = pa.find(name), vb = pb.find(name);
    if (va.has_value() != vb.has_value()) return false;
    if (va && !iequals_unescaped(va->value, vb->value)) return false;
  }
  bool mismatch = false;
  // A name repeated in one URI (not allowed, but the network sends it) is compared by its
  // first occurrence on both sides, so that the comparison stays an equivalence.
  pa.for_each([&](const param_list::param& p) {
    auto q = pb.find(p.name);
    if (q && !iequals_unescaped(pa.find(p.name)->value, q->value)) mismatch = true;
  });
  if (mismatch) return false;
  // Headers: every header in either must be present in the other with an equal value. A
  // name repeated on one side is compared by its first occurrence (as parameters are).
  auto value_of = [](std::string_view hv) {
    auto eq = hv.find('=');
    return eq == std::string_view::npos ? std::string_view{} : hv.substr(eq + 1);
  };
  auto first_header = [](std::string_view x, std::string_view name) {
    std::size_t pos = 0;
    for (;;) {
      std::size_t amp = x.find('&', pos);
      std::string_view h = x.substr(pos, amp == std::string_view::npos ? x.npos : amp - pos);
      if (iequals_unescaped(h.substr(0, h.find('=')), name) || amp == std::string_view::npos)
        return h;
      pos = amp + 1;
    }
  };
  auto headers_subset = [&](std::string_view x, std::string_view y) {
    std::size_t pos = 0;
    while (pos < x.size()) {
      std::size_t amp = x.find('&', pos);
      std::string_view h = x.substr(pos, amp == std::string_view::npos ? x.npos : amp - pos);
      std::string_view name = h.substr(0, h.find('='));
      bool found = false;
      std::size_t q = 0;
      while (q < y.size()) {
        std::size_t amp2 = y.find('&', q);
        std::string_view h2 = y.substr(q, amp2 == std::string_view::npos ? y.npos : amp2 - q);
        if (iequals_unescaped(h2.substr(0, h2.find('=')), name)) {
          found = unescape(value_of(h2)) == unescape(value_of(first_header(x, name)));
          break;
        }
        if (amp2 == std::string_view::npos) break;
        q = amp2 + 1;
      }
      if (!found) return false;
      if (amp == std::string_view::npos) break;
      pos = amp + 1;
    }
    return true;
  };
  return headers_subset(a.headers, b.headers) && headers_subset(b.headers, a.headers);
}

}  // namespace sipkit::parser
