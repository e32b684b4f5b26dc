#include "sipkit/parser/message_view.hpp"

#include <algorithm>

#include "parser/parse_state.hpp"
#include "parser/tolerances.hpp"

namespace sipkit::parser {

// The parse_state helpers below are the only code that writes into a message_view.
struct message_parser_access {
  static void reset(message_view& m, std::string_view bytes) {
    m.bytes_ = bytes;
    m.method_text_ = m.version_ = m.reason_ = m.call_id_ = m.body_ = {};
    reset_slot(m.request_uri_);
    m.method_ = method::unknown;
    m.status_code_ = 0;
    m.cseq_ = cseq_view{};
    m.has_cseq_ = m.has_ctype_ = false;
    m.max_forwards_ = m.expires_ = m.content_length_ = -1;
    m.ctype_ = content_type_view{};
    m.from_index_ = m.to_index_ = -1;
    m.header_count_ = m.via_count_ = m.addr_count_ = m.auth_count_ = 0;
  }
  static message_view& of(parse_state& st) { return *st.msg; }
};
using access = message_parser_access;

namespace {

constexpr const char* k_header_context[] = {
    "extension header", "Via header", "From header", "To header", "Call-ID header",
    "CSeq header", "Max-Forwards header", "Content-Length header", "Content-Type header",
    "Contact header", "Route header", "Record-Route header", "Expires header",
    "Require header", "Supported header", "Proxy-Require header", "Unsupported header",
    "Allow header", "WWW-Authenticate header", "Proxy-Authenticate header",
    "Authorization header", "Proxy-Authorization header", "Content-Encoding header",
    "Subject header", "Event header", "Allow-Events header", "Refer-To header",
    "Referred-By header", "Session-Expires header", "Identity header"};
static_assert(std::size(k_header_context) == static_cast<std::size_t>(header_id::count_));

bool is_address_header(header_id id) {
  return id == header_id::from || id == header_id::to || id == header_id::contact ||
         id == header_id::route || id == header_id::record_route;
}

inline bool is_lws(char c) { return c == ' ' || c == '\t' || c == '\r' || c == '\n'; }

// Inlined: it runs once per header line of every parsed message.
[[gnu::always_inline]] inline std::string_view trim(std::string_view v) {
  while (!v.empty() && is_lws(v.front())) v.remove_prefix(1);
  while (!v.empty() && is_lws(v.back())) v.remove_suffix(1);
  return v;
}

// trim() for a header value the grammar accepted: the only bytes at or below SP it can hold
// are SP, HTAB, CR and LF (LWS), so one compare per byte tells LWS from value.
[[gnu::always_inline]] inline std::string_view trim_parsed(std::string_view v) {
  const char* b = v.data();
  const char* e = b + v.size();
  while (b != e && static_cast<unsigned char>(*b) <= ' ') ++b;
  while (e != b && static_cast<unsigned char>(e[-1]) <= ' ') --e;
  return {b, static_cast<std::size_t>(e - b)};
}

// Digits only (the grammar has checked); false when the value exceeds `max`.
bool to_number(std::string_view digits, std::uint64_t max, std::uint64_t& out) {
  std::uint64_t v = 0;
  for (char c : digits) {
    v = v * 10 + static_cast<std::uint64_t>(c - '0');
    if (v > max) return false;
  }
  out = v;
  return true;
}

}  // namespace

// ------------------------------------------------------------------ parse_state slots

bool parse_state::open_header(header_id id, const char* colon) {
  header_kind = id;
  context = k_header_context[static_cast<std::size_t>(id)];
  if (msg == nullptr) return true;
  auto& m = *msg;
  const std::size_t cap = std::min(limits->max_headers, message_view::header_capacity);
  if (m.header_count_ >= cap) {
    fail_limit(errc::too_many_headers, "headers", name_start);
    return false;
  }
  const std::uint64_t bit = 1ull << static_cast<unsigned>(id);
  duplicate = id != header_id::extension && (seen_headers & bit) != 0;
  seen_headers |= bit;
  header = &m.headers_[m.header_count_++];
  *header = header_field_view{span(name_start, name_end), std::string_view(colon + 1, 0), id};
  if (is_address_header(id)) return next_addr() != nullptr;
  return true;
}

via_view* parse_state::next_via() {
  via_view* v = nullptr;
  if (msg != nullptr) {
    if (msg->via_count_ >= message_view::via_capacity) {
      fail_limit(errc::too_many_headers, "Via values", name_start);
      return nullptr;
    }
    v = reset_slot(msg->vias_[msg->via_count_++]);
    v->header_index = static_cast<std::uint16_t>(msg->header_count_ - 1);
  } else {
    v = reset_slot((standalone_values++ == 0 && via_out != nullptr) ? *via_out : scratch.via);
  }
  return v;
}

name_addr_view* parse_state::next_addr() {
  // A value without a display name must not pick up the marks of the previous one.
  dn_start = dn_end = nullptr;
  name_addr_view* a = nullptr;
  if (msg != nullptr) {
    const bool single = header_kind == header_id::from || header_kind == header_id::to;
    if (single && duplicate) {
      a = &scratch.addr;  // RFC 3261 §8.2.2: a UAS answers 400; the first value stays typed
    } else if (msg->addr_count_ >= message_view::address_capacity) {
      fail_limit(errc::too_many_headers, "address values", name_start);
      return nullptr;
    } else {
      const auto index = static_cast<std::int16_t>(msg->addr_count_);
      a = &msg->addrs_[msg->addr_count_++];
      if (header_kind == header_id::from) msg->from_index_ = index;
      if (header_kind == header_id::to) msg->to_index_ = index;
    }
    reset_slot(*a);
    a->header = header_kind;
    a->header_index = static_cast<std::uint16_t>(msg->header_count_ - 1);
  } else {
    a = reset_slot((standalone_values++ == 0 && addr_out != nullptr) ? *addr_out : scratch.addr);
  }
  addr = a;
  uri = &a->uri;
  return a;
}

auth_view* parse_state::next_auth() {
  if (msg == nullptr) {
    auth_view* a = (standalone_values++ == 0 && auth_out != nullptr) ? auth_out : &scratch.auth;
    return reset_slot(*a);  // header stays extension: a lone value does not name its header
  }
  if (msg->auth_count_ >= message_view::auth_capacity) {
    fail_limit(errc::too_many_headers, "authentication headers", name_start);
    return nullptr;
  }
  auth_view* a = reset_slot(msg->auths_[msg->auth_count_++]);
  a->header = header_kind;
  a->header_index = static_cast<std::uint16_t>(msg->header_count_ - 1);
  return a;
}

void parse_state::msg_method(std::string_view text) { msg->method_text_ = text; }
uri_view* parse_state::msg_request_uri() { return &msg->request_uri_; }
void parse_state::msg_version(std::string_view text) { msg->version_ = text; }
void parse_state::msg_status(std::string_view text) {
  std::uint64_t code = 0;
  to_number(text, 999, code);
  msg->status_code_ = static_cast<int>(code);
  // A status code of 0 would read as a request (is_request() is status_code() == 0); 1xx
  // is the lowest class (RFC 3261 §7.2), so anything below 100 is refused right here.
  if (code < 100) fail_limit(errc::value_out_of_range, "Status-Code", text.data());
}
void parse_state::msg_reason(std::string_view text) { msg->reason_ = text; }
void parse_state::msg_call_id(std::string_view text) {
  if (msg != nullptr) msg->call_id_ = text;
}
cseq_view* parse_state::msg_cseq() {
  if (msg == nullptr) return cseq_out;
  msg->has_cseq_ = true;
  return &msg->cseq_;
}
content_type_view& parse_state::msg_ctype() {
  if (msg == nullptr) return ctype_scratch;
  msg->has_ctype_ = true;
  return msg->ctype_;
}

// ------------------------------------------------------------------ parse_message

namespace {

parse_error at(errc code, const char* where, const char* base, const char* reason) {
  return {code, static_cast<std::size_t>(where - base), reason};
}

// Numbers, ranges and lengths the grammar cannot express (RFC 4475 §3.1.2.4/5, §3.1.2.19).
parse_error check_values(message_view& m, parse_state& st, const parser_limits& limits,
                         const char* base) {
  if (st.port_overflow_at != nullptr)
    return at(errc::value_out_of_range, st.port_overflow_at, base, "port number");
  if (m.is_request()) {
    // RFC 3261 §19.1.5: headers are not allowed in a Request-URI (RFC 4475 escruri).
    if (!m.request_uri().headers.empty())
      return at(errc::syntax, m.request_uri().headers.data(), base, "Request-URI headers");
    if (m.request_uri().raw.size() > limits.max_uri_length)
      return at(errc::uri_too_long, m.request_uri().raw.data(), base, "Request-URI");
  } else if (m.status_code() < 100 || m.status_code() > 699) {
    return {errc::value_out_of_range, m.sip_version().size() + 1, "Status-Code"};
  }
  for (const auto& a : m.addresses())
    if (a.uri.raw.size() > limits.max_uri_length)
      return at(errc::uri_too_long, a.uri.raw.data(), base, "URI");
  for (const auto& v : m.vias()) {
    std::uint64_t ttl = 0;
    if (!v.ttl.empty() && !to_number(v.ttl, 255, ttl))
      return at(errc::value_out_of_range, v.ttl.data(), base, "Via ttl");
  }
  if (const cseq_view* c = m.cseq()) {
    std::uint64_t n = 0;
    auto digits = st.span(st.cseq_number_start, st.cseq_number_end);
    if (!to_number(digits, (1ull << 31) - 1, n))  // RFC 3261 §8.1.1.5
      return at(errc::value_out_of_range, digits.data(), base, "CSeq number");
    auto& cs = const_cast<cseq_view&>(*c);
    cs.number = static_cast<std::uint32_t>(n);
    cs.method = lookup_method(cs.method_text);
  }
  return {};
}

}  // namespace

constinit thread_local std::uint64_t t_grammar_runs = 0;

std::uint64_t grammar_runs() noexcept { return t_grammar_runs; }

parse_error parse_message(std::string_view bytes, message_view& out, const parser_limits& limits,
                          framing mode, const parser_options& options) {
  access::reset(out, bytes);
  if (bytes.size() > limits.max_message_size)
    return {errc::message_too_large, limits.max_message_size, "message"};

  parse_state st;
  st.base = bytes.data();
  st.limits = &limits;
  st.msg = &out;
  const char* end = bytes.data() + bytes.size();
  count_grammar_run();
  auto r = run_sip_machine(entry_point::message, st, bytes.data(), end);
  if (st.limit_error != errc::ok) return at(st.limit_error, st.limit_at, st.base, st.limit_reason);
  if (st.bad_ip_at != nullptr) return at(errc::syntax, st.bad_ip_at, st.base, "IPv6 reference");
  if (r.error || !st.headers_complete) {
    // A bare LF the grammar took as a line end may be why a later byte failed: a strict
    // user hears about the LF, as RFC 3261 would have it.
    if (!options.bare_lf)
      if (auto err = first_bare_lf(st, r.stop)) return err;
    if (r.error) return at(errc::syntax, r.stop, st.base, st.context);
    return at(errc::syntax, end, st.base, "end of headers (missing blank line)");
  }

  for (auto& h : out.headers_) {
    if (&h == out.headers_.data() + out.header_count_) break;
    h.value = trim_parsed(h.value);
  }
  if (!all_tolerated(options))
    if (auto err = check_message_tolerances(out, st, options, r.stop)) return err;
  for (auto& a : out.addrs_) {
    if (&a == out.addrs_.data() + out.addr_count_) break;
    if (!a.expires.empty() || !a.q.empty()) finish_address(a);
  }
  out.method_ = lookup_method(out.method_text_);
  if (auto err = check_values(out, st, limits, st.base)) return err;

  // Single-value numbers: the first line is authoritative; ranges per RFC 3261 §20.
  struct numeric { header_id id; std::uint64_t max; std::int64_t* slot; const char* what; };
  const numeric numerics[] = {
      {header_id::max_forwards, 255, &out.max_forwards_, "Max-Forwards header"},
      {header_id::expires, 0xFFFFFFFFull, &out.expires_, "Expires header"},
      {header_id::content_length, limits.max_body_size, &out.content_length_,
       "Content-Length header"},
  };
  bool content_length_conflict = false;
  for (const auto& h : out.headers()) {
    const numeric* np = nullptr;
    switch (h.id) {  // one test per header line instead of one per numeric header kind
      case header_id::max_forwards: np = &numerics[0]; break;
      case header_id::expires: np = &numerics[1]; break;
      case header_id::content_length: np = &numerics[2]; break;
      default: continue;
    }
    const numeric& n = *np;
    std::uint64_t v = 0;
    if (!to_number(h.value, n.max, v)) {
      errc code = n.id == header_id::content_length ? errc::body_too_large
                                                    : errc::value_out_of_range;
      return at(code, h.value.data(), st.base, n.what);
    }
    if (*n.slot < 0) *n.slot = static_cast<std::int64_t>(v);
    else if (n.id == header_id::content_length && *n.slot != static_cast<std::int64_t>(v))
      content_length_conflict = true;
  }

  const char* body_begin = r.stop;
  const auto available = static_cast<std::size_t>(end - body_begin);
  std::size_t body_size = available;
  if (mode == framing::stream) {
    if (out.content_length_ < 0)
      return at(errc::missing_content_length, body_begin, st.base, "Content-Length header");
    if (content_length_conflict)
      return at(errc::bad_content_length, body_begin, st.base, "Content-Length header");
  }
  if (out.content_length_ >= 0 && !content_length_conflict) {
    body_size = static_cast<std::size_t>(out.content_length_);
    if (body_size > available) return at(errc::truncated_body, end, st.base, "message body");
  }
  out.body_ = std::string_view(body_begin, body_size);
  out.bytes_ = std::string_view(bytes.data(), static_cast<std::size_t>(body_begin - bytes.data()) + body_size);
  return {};
}

// ------------------------------------------------------------------ accessors

bool message_view::is_sip_2_0() const noexcept { return iequals(version_, "SIP/2.0"); }

const header_field_view* message_view::find(header_id id) const noexcept {
  for (const auto& h : headers())
    if (h.id == id) return &h;
  return nullptr;
}

const header_field_view* message_view::find(std::string_view name) const noexcept {
  header_id id = lookup_header(name);
  if (id != header_id::extension) return find(id);
  for (const auto& h : headers())
    if (h.id == header_id::extension && iequals(h.name, name)) return &h;
  return nullptr;
}

std::size_t message_view::count(header_id id) const noexcept {
  std::size_t n = 0;
  for (const auto& h : headers()) n += h.id == id;
  return n;
}

std::optional<std::uint32_t> message_view::max_forwards() const noexcept {
  if (max_forwards_ < 0) return std::nullopt;
  return static_cast<std::uint32_t>(max_forwards_);
}
std::optional<std::uint32_t> message_view::expires() const noexcept {
  if (expires_ < 0) return std::nullopt;
  return static_cast<std::uint32_t>(expires_);
}
std::optional<std::size_t> message_view::content_length() const noexcept {
  if (content_length_ < 0) return std::nullopt;
  return static_cast<std::size_t>(content_length_);
}

const name_addr_view* message_view::contact() const noexcept {
  for (const auto& a : addresses())
    if (a.header == header_id::contact) return &a;
  return nullptr;
}

std::string_view message_view::raw(header_id id) const noexcept {
  const auto* h = find(id);
  return h ? h->value : std::string_view{};
}

bool message_view::list_contains(header_id id, std::string_view token) const noexcept {
  for (const auto& h : headers()) {
    if (h.id != id) continue;
    std::string_view v = h.value;
    while (!v.empty()) {
      auto comma = v.find(',');
      if (iequals(trim(v.substr(0, comma)), token)) return true;
      if (comma == std::string_view::npos) break;
      v.remove_prefix(comma + 1);
    }
  }
  return false;
}

}  // namespace sipkit::parser
