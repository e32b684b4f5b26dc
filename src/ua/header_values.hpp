// Private: reading the small header values the UA core needs (RFC 3261 §25.1).
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "sipkit/dialog/dialog.hpp"
#include "sipkit/parser/message.hpp"
#include "sipkit/parser/uri.hpp"

namespace sipkit::ua {

/// delta-seconds (1*DIGIT, surrounding LWS allowed), capped at 2^31 so that arithmetic on
/// it cannot overflow; nullopt when the text is empty or not all digits.
inline std::optional<std::chrono::seconds> delta_seconds(std::string_view v) {
  while (!v.empty() && (v.front() == ' ' || v.front() == '\t')) v.remove_prefix(1);
  while (!v.empty() && (v.back() == ' ' || v.back() == '\t')) v.remove_suffix(1);
  if (v.empty()) return std::nullopt;
  std::int64_t n = 0;
  for (char c : v) {
    if (c < '0' || c > '9') return std::nullopt;
    n = std::min<std::int64_t>(n * 10 + (c - '0'), std::int64_t{1} << 31);
  }
  return std::chrono::seconds(n);
}

/// True when a comma-list header (Supported, Require ...) names `token` on any of its lines.
inline bool lists_token(const parser::message& m, parser::header_id id, std::string_view token) {
  for (const auto& f : m.fields())
    if (f.id == id)
      for (auto tok : sipkit::dialog::split_address_list(m.value_of(f)))
        if (parser::iequals(tok, token)) return true;
  return false;
}

/// A URI as a name-addr ("<uri>"), unless it already is one.
inline std::string bracket(std::string_view uri) {
  if (!uri.empty() && uri.front() == '<') return std::string(uri);
  return "<" + std::string(uri) + ">";
}

/// bracket(uri) appended to `out`.
inline void append_bracketed(std::string& out, std::string_view uri) {
  if (!uri.empty() && uri.front() == '<') {
    out.append(uri);
    return;
  }
  out.append("<").append(uri).append(">");
}

}  // namespace sipkit::ua
