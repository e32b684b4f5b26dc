#include "parser/tolerances.hpp"

namespace sipkit::parser {
namespace {

bool is_digit(char c) noexcept { return c >= '0' && c <= '9'; }

bool all_digits(std::string_view s) noexcept {
  for (char c : s)
    if (!is_digit(c)) return false;
  return !s.empty();
}

// The grammar's c-p-q before this change: DIGIT ["." 0*3DIGIT] (RFC 3261's qvalue also
// bounds it to 1; values above are passed on as they always were).
bool is_qvalue(std::string_view s) noexcept {
  if (s.empty() || !is_digit(s[0])) return false;
  if (s.size() == 1) return true;
  if (s[1] != '.' || s.size() > 5) return false;
  return all_digits(s.substr(2)) || s.size() == 2;
}

parse_error at(const parse_state& st, const char* where, const char* reason) {
  return {errc::syntax, static_cast<std::size_t>(where - st.base), reason};
}

const char* underscore(std::string_view host) noexcept {
  for (const char& c : host)
    if (c == '_') return &c;
  return nullptr;
}

inline bool is_lws(char c) noexcept { return c == ' ' || c == '\t' || c == '\r' || c == '\n'; }

}  // namespace

void finish_address(name_addr_view& a) noexcept {
  if (!a.expires.empty() && !all_digits(a.expires)) {
    a.expires = {};
    a.expires_not_a_number = true;
  }
  if (!a.q.empty() && !is_qvalue(a.q)) a.q = {};
}

parse_error first_bare_lf(const parse_state& st, const char* end) {
  for (const char* c = st.base; c != end; ++c)
    if (*c == '\n' && (c == st.base || c[-1] != '\r')) return at(st, c, "line end (bare LF)");
  return {};
}

parse_error check_uri_tolerances(const uri_view& u, const parse_state& st,
                                 const parser_options& o) {
  if (!o.underscore_in_host) {
    if (const char* c = underscore(u.host)) return at(st, c, "host name ('_')");
    if (const char* c = underscore(u.maddr_param)) return at(st, c, "host name ('_')");
  }
  return {};
}

parse_error check_via_tolerances(const via_view& v, const parse_state& st,
                                 const parser_options& o) {
  if (!o.underscore_in_host) {
    if (const char* c = underscore(v.host)) return at(st, c, "host name ('_')");
    if (const char* c = underscore(v.maddr)) return at(st, c, "host name ('_')");
  }
  return {};
}

parse_error check_addr_tolerances(const name_addr_view& a, const parse_state& st,
                                  const parser_options& o) {
  if (auto err = check_uri_tolerances(a.uri, st, o)) return err;
  if (!o.trailing_semicolon) {
    std::string_view raw = a.raw;
    while (!raw.empty() && is_lws(raw.back())) raw.remove_suffix(1);
    // No parameter value and no URI outside <> can end in ';': only the tolerated one can.
    if (!raw.empty() && raw.back() == ';') return at(st, &raw.back(), "trailing ';'");
  }
  return {};
}

parse_error check_message_tolerances(const message_view& m, const parse_state& st,
                                     const parser_options& o, const char* headers_end) {
  if (!o.ipv6_three_colons && st.three_colon_at != nullptr)
    return at(st, st.three_colon_at, "IPv6 reference (three colons)");
  if (!o.bare_lf)
    if (auto err = first_bare_lf(st, headers_end)) return err;
  if (!o.status_line_without_reason && m.is_response()) {
    // "SIP/2.0 200" then SP: the grammar took the line, so the code is three digits.
    const char* after_code = m.sip_version().data() + m.sip_version().size() + 4;
    if (*after_code != ' ') return at(st, after_code, "Status-Line (no Reason-Phrase)");
  }
  if (m.is_request())
    if (auto err = check_uri_tolerances(m.request_uri(), st, o)) return err;
  for (const auto& v : m.vias())
    if (auto err = check_via_tolerances(v, st, o)) return err;
  for (const auto& a : m.addresses())
    if (auto err = check_addr_tolerances(a, st, o)) return err;
  if (!o.empty_list_elements) {
    for (const auto& h : m.headers()) {
      switch (h.id) {
        case header_id::require: case header_id::supported: case header_id::proxy_require:
        case header_id::unsupported: case header_id::allow: break;
        default: continue;
      }
      // The grammar has checked the elements; only an empty one is left to find.
      bool element = false;
      for (const char& c : h.value) {
        if (c == ',') {
          if (!element) return at(st, &c, "comma list (empty element)");
          element = false;
        } else if (!is_lws(c)) {
          element = true;
        }
      }
      if (!element && !h.value.empty()) return at(st, h.value.data() + h.value.size() - 1,
                                                  "comma list (empty element)");
    }
  }
  return {};
}

}  // namespace sipkit::parser
