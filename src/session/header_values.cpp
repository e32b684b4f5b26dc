#include "header_values.hpp"

#include <algorithm>

#include "sipkit/dialog/dialog.hpp"
#include "sipkit/parser/uri.hpp"

namespace sipkit::session::detail {

std::string_view trim_lws(std::string_view v) {
  while (!v.empty() && (v.front() == ' ' || v.front() == '\t')) v.remove_prefix(1);
  while (!v.empty() && (v.back() == ' ' || v.back() == '\t')) v.remove_suffix(1);
  return v;
}

bool lists_token(const parser::message& m, parser::header_id id, std::string_view token) {
  for (const auto& f : m.fields())
    if (f.id == id)
      for (auto tok : dialog::split_address_list(m.value_of(f)))
        if (parser::iequals(tok, token)) return true;
  return false;
}

std::optional<std::chrono::seconds> delta_seconds(std::string_view v) {
  v = trim_lws(v);
  if (v.empty()) return std::nullopt;
  std::int64_t n = 0;
  for (char c : v) {
    if (c < '0' || c > '9') return std::nullopt;
    n = std::min<std::int64_t>(n * 10 + (c - '0'), std::int64_t{1} << 31);
  }
  return std::chrono::seconds(n);
}

std::string_view event_package(std::string_view v) { return trim_lws(v.substr(0, v.find(';'))); }

std::optional<subscription_state_value> read_subscription_state(const parser::message& m) {
  auto value = m.get("Subscription-State");
  if (!value) return std::nullopt;
  std::string_view v = *value;
  const auto semi = v.find(';');
  std::string_view token = v.substr(0, semi);
  while (!token.empty() && (token.back() == ' ' || token.back() == '\t')) token.remove_suffix(1);
  while (!token.empty() && (token.front() == ' ' || token.front() == '\t')) token.remove_prefix(1);
  subscription_state_value out;
  using ss = subscription_state_value::substate;
  if (parser::iequals(token, "active"))
    out.state = ss::active;
  else if (parser::iequals(token, "pending"))
    out.state = ss::pending;
  else if (parser::iequals(token, "terminated"))
    out.state = ss::terminated;
  else
    return std::nullopt;  // §8.2.3 allows extensions; we cannot act on them
  if (semi != std::string_view::npos) {
    parser::param_list params(v.substr(semi + 1));
    if (auto r = params.find("reason")) out.reason = r->value;
    if (auto e = params.find("expires"))
      out.expires = delta_seconds(e->value).value_or(std::chrono::seconds(0));
    if (auto r = params.find("retry-after")) out.retry_after = delta_seconds(r->value);
  }
  return out;
}

bool has_sdp(const parser::message& m) {
  if (m.body().empty()) return false;
  auto ct = m.get(parser::header_id::content_type);
  if (!ct) return true;
  auto type = ct->substr(0, ct->find(';'));
  while (!type.empty() && type.back() == ' ') type.remove_suffix(1);
  return parser::iequals(type, "application/sdp");
}

}  // namespace sipkit::session::detail
