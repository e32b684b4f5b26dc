#include "sipkit/parser/headers.hpp"

#include <array>

#include "parser/byte_class.hpp"
#include "parser/parse_state.hpp"
#include "parser/tolerances.hpp"

namespace sipkit::parser {
namespace {

struct header_names {
  header_id id;
  std::string_view name;
  char compact;
};

constexpr std::array<header_names, static_cast<std::size_t>(header_id::count_)> k_headers{{
    {header_id::extension, "", 0},
    {header_id::via, "Via", 'v'},
    {header_id::from, "From", 'f'},
    {header_id::to, "To", 't'},
    {header_id::call_id, "Call-ID", 'i'},
    {header_id::cseq, "CSeq", 0},
    {header_id::max_forwards, "Max-Forwards", 0},
    {header_id::content_length, "Content-Length", 'l'},
    {header_id::content_type, "Content-Type", 'c'},
    {header_id::contact, "Contact", 'm'},
    {header_id::route, "Route", 0},
    {header_id::record_route, "Record-Route", 0},
    {header_id::expires, "Expires", 0},
    {header_id::require, "Require", 0},
    {header_id::supported, "Supported", 'k'},
    {header_id::proxy_require, "Proxy-Require", 0},
    {header_id::unsupported, "Unsupported", 0},
    {header_id::allow, "Allow", 0},
    {header_id::www_authenticate, "WWW-Authenticate", 0},
    {header_id::proxy_authenticate, "Proxy-Authenticate", 0},
    {header_id::authorization, "Authorization", 0},
    {header_id::proxy_authorization, "Proxy-Authorization", 0},
    {header_id::content_encoding, "Content-Encoding", 'e'},
    {header_id::subject, "Subject", 's'},
    {header_id::event, "Event", 'o'},
    {header_id::allow_events, "Allow-Events", 'u'},
    {header_id::refer_to, "Refer-To", 'r'},
    {header_id::referred_by, "Referred-By", 'b'},
    {header_id::session_expires, "Session-Expires", 'x'},
    {header_id::identity, "Identity", 'y'},
}};

constexpr std::array<std::string_view, 15> k_methods{
    "", "INVITE", "ACK", "BYE", "CANCEL", "REGISTER", "OPTIONS", "INFO", "PRACK", "UPDATE",
    "SUBSCRIBE", "NOTIFY", "REFER", "MESSAGE", "PUBLISH"};

constexpr char lower(char c) noexcept { return (c >= 'A' && c <= 'Z') ? static_cast<char>(c + 32) : c; }
bool is_lws(char c) noexcept { return c == ' ' || c == '\t' || c == '\r' || c == '\n'; }

}  // namespace

bool iequals(std::string_view a, std::string_view b) noexcept {
  if (a.size() != b.size()) return false;
  for (std::size_t i = 0; i < a.size(); ++i)
    if (lower(a[i]) != lower(b[i])) return false;
  return true;
}

std::string_view header_name(header_id id) noexcept {
  auto i = static_cast<std::size_t>(id);
  return i < k_headers.size() ? k_headers[i].name : std::string_view{};
}

namespace {

// Known names bucketed by their first letter, so a lookup compares the length and then at
// most a handful of names. It runs once per header line of every parsed message (the
// grammar dispatches on it), so it must cost less than the DFA trie it replaced.
struct name_buckets {
  std::array<std::array<std::uint8_t, 8>, 26> ids{};  // header_id values, 0 ends a bucket
  std::array<header_id, 26> compact{};
};

constexpr name_buckets make_buckets() {
  name_buckets b;
  for (const auto& h : k_headers) {
    if (h.name.empty()) continue;
    auto& bucket = b.ids[static_cast<std::size_t>(lower(h.name[0]) - 'a')];
    std::size_t i = 0;
    while (bucket[i] != 0) ++i;
    bucket[i] = static_cast<std::uint8_t>(h.id);
    if (h.compact != 0) b.compact[static_cast<std::size_t>(h.compact - 'a')] = h.id;
  }
  return b;
}
// constexpr: a bucket overflow would be an out-of-bounds write, so it fails the build.
constexpr name_buckets k_buckets = make_buckets();

}  // namespace

header_id lookup_header(std::string_view name) noexcept {
  if (name.empty()) return header_id::extension;
  const char first = lower(name[0]);
  if (first < 'a' || first > 'z') return header_id::extension;
  const auto letter = static_cast<std::size_t>(first - 'a');
  if (name.size() == 1) return k_buckets.compact[letter];
  for (std::uint8_t id : k_buckets.ids[letter]) {
    if (id == 0) break;
    const std::string_view known = k_headers[id].name;
    if (known.size() == name.size() && iequals(known.substr(1), name.substr(1)))
      return static_cast<header_id>(id);
  }
  return header_id::extension;
}

bool is_token(std::string_view text) noexcept {
  if (text.empty()) return false;
  for (char c : text)
    if (!k_token[c]) return false;
  return true;
}

bool is_single_value(header_id id) noexcept {
  switch (id) {
    case header_id::call_id:
    case header_id::cseq:
    case header_id::from:
    case header_id::to:
    case header_id::max_forwards:
    case header_id::content_length:
    case header_id::content_type:
    case header_id::expires:
      return true;
    default:
      return false;
  }
}

method lookup_method(std::string_view name) noexcept {
  for (std::size_t i = 1; i < k_methods.size(); ++i)
    if (k_methods[i] == name) return static_cast<method>(i);
  return method::unknown;
}

std::string_view method_name(method m) noexcept {
  auto i = static_cast<std::size_t>(m);
  return i < k_methods.size() ? k_methods[i] : std::string_view{};
}

bool param_list::next(std::size_t& pos, param& out) const noexcept {
  const std::string_view s = raw_;
  auto skip_lws = [&] {
    while (pos < s.size() && is_lws(s[pos])) ++pos;
  };
  skip_lws();
  if (pos < s.size() && s[pos] == ';') {
    ++pos;
    skip_lws();
  }
  if (pos >= s.size()) return false;
  std::size_t name_begin = pos;
  while (pos < s.size() && s[pos] != '=' && s[pos] != ';' && !is_lws(s[pos])) ++pos;
  out = param{};
  out.name = s.substr(name_begin, pos - name_begin);
  skip_lws();
  if (pos < s.size() && s[pos] == '=') {
    ++pos;
    skip_lws();
    std::size_t value_begin = pos;
    if (pos < s.size() && s[pos] == '"') {
      ++pos;
      while (pos < s.size() && s[pos] != '"') pos += (s[pos] == '\\') ? 2 : 1;
      if (pos < s.size()) ++pos;
      pos = pos > s.size() ? s.size() : pos;
    } else {
      while (pos < s.size() && s[pos] != ';' && !is_lws(s[pos])) ++pos;
    }
    out.value = s.substr(value_begin, pos - value_begin);
    out.has_value = true;
  }
  skip_lws();
  return !out.name.empty() || out.has_value;
}

std::optional<param_list::param> param_list::find(std::string_view name) const noexcept {
  std::size_t pos = 0;
  param p;
  while (next(pos, p))
    if (iequals(p.name, name)) return p;
  return std::nullopt;
}

std::string_view unquote(std::string_view quoted, std::string& out) {
  if (quoted.size() < 2 || quoted.front() != '"' || quoted.back() != '"') return quoted;
  std::string_view inner = quoted.substr(1, quoted.size() - 2);
  if (inner.find('\\') == std::string_view::npos) return inner;
  out.clear();
  for (std::size_t i = 0; i < inner.size(); ++i) {
    if (inner[i] == '\\' && i + 1 < inner.size()) ++i;
    out.push_back(inner[i]);
  }
  return out;
}

namespace {

parse_error run_standalone(entry_point entry, parse_state& st, std::string_view value,
                           const char* reason, const parser_options& options = {}) {
  st.base = value.data();
  count_grammar_run();
  auto r = run_sip_machine(entry, st, value.data(), value.data() + value.size());
  if (st.limit_error != errc::ok)
    return {st.limit_error, static_cast<std::size_t>(st.limit_at - st.base), st.limit_reason};
  if (st.bad_ip_at != nullptr)
    return {errc::syntax, static_cast<std::size_t>(st.bad_ip_at - st.base), "IPv6 reference"};
  if (r.error || !r.accepted || r.stop != value.data() + value.size())
    return {errc::syntax, static_cast<std::size_t>(r.stop - st.base), reason};
  if (st.port_overflow_at != nullptr)
    return {errc::value_out_of_range, static_cast<std::size_t>(st.port_overflow_at - st.base),
            "port"};
  if (!options.ipv6_three_colons && st.three_colon_at != nullptr)
    return {errc::syntax, static_cast<std::size_t>(st.three_colon_at - st.base),
            "IPv6 reference (three colons)"};
  return {};
}

}  // namespace

parse_error parse_via(std::string_view value, via_view& out, const parser_limits& limits,
                      const parser_options& options) {
  parse_state st;
  st.limits = &limits;
  st.via_out = &out;
  if (auto err = run_standalone(entry_point::via, st, value, "Via header", options)) return err;
  return check_via_tolerances(out, st, options);
}

parse_error parse_name_addr(std::string_view value, name_addr_view& out,
                            const parser_limits& limits, const parser_options& options) {
  parse_state st;
  st.limits = &limits;
  st.addr_out = &out;
  st.next_addr();
  if (auto err = run_standalone(entry_point::name_addr, st, value, "address", options)) return err;
  if (out.uri.raw.size() > limits.max_uri_length) return {errc::uri_too_long, 0, "URI"};
  finish_address(out);
  return check_addr_tolerances(out, st, options);
}

parse_error parse_auth(std::string_view value, auth_view& out, const parser_limits& limits) {
  parse_state st;
  st.limits = &limits;
  st.auth_out = &out;
  reset_slot(out);
  return run_standalone(entry_point::auth, st, value, "authentication header");
}

parse_error parse_cseq(std::string_view value, cseq_view& out) {
  parse_state st;
  parser_limits limits;
  st.limits = &limits;
  st.cseq_out = &out;
  auto err = run_standalone(entry_point::cseq, st, value, "CSeq header");
  if (err) return err;
  std::uint64_t n = 0;
  for (const char* c = st.cseq_number_start; c < st.cseq_number_end; ++c) {
    n = n * 10 + static_cast<std::uint64_t>(*c - '0');
    if (n >= (1ull << 31)) return {errc::value_out_of_range, 0, "CSeq number"};
  }
  out.number = static_cast<std::uint32_t>(n);
  out.method = lookup_method(out.method_text);
  return {};
}

}  // namespace sipkit::parser
