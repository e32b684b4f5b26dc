// libFuzzer target for the URI parser and comparison (sipkit::parser, uri.hpp).
//
// Any input: parse_uri() must not crash, read out of bounds or overflow (ASan/UBSan).
// Accepted input, these properties must hold, or the target traps so libFuzzer keeps it:
//  - every field is a slice of the input, and `raw` is the whole input;
//  - uri_equal(u, u) is true (RFC 3261 §19.1.4 comparison is an equivalence);
//  - the parameter accessors and unescape() work on every field;
//  - the tolerances only widen: what parser_options::strict() accepts, the defaults accept,
//    and the same way.
// When the input holds a '|' (a byte no URI may contain unescaped), the two halves are
// parsed separately and uri_equal must be symmetric on them.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "sipkit/parser/headers.hpp"
#include "sipkit/parser/uri.hpp"

namespace sp = sipkit::parser;

namespace {

void check(bool ok) {
  if (!ok) __builtin_trap();
}

bool inside(std::string_view part, std::string_view whole) {
  if (part.empty()) return true;
  return part.data() >= whole.data() && part.data() + part.size() <= whole.data() + whole.size();
}

void check_uri(const sp::uri_view& u, std::string_view text) {
  check(u.raw == text && u.raw.data() == text.data());
  for (auto field : {u.scheme_text, u.user, u.password, u.host, u.params, u.headers, u.opaque,
                     u.transport_param, u.user_param, u.method_param, u.maddr_param, u.ttl_param})
    check(inside(field, text));
  if (u.is_sip()) {
    check(!u.host.empty());
    check(u.host_type != sp::host_kind::none);
    check(sp::iequals(u.scheme_text, u.scheme == sp::uri_scheme::sips ? "sips" : "sip"));
  }
  // The captured parameters agree with a lookup by name.
  if (!u.transport_param.empty()) check(u.param("transport").has_value());
  if (u.lr) check(u.param("lr").has_value());
  sp::param_list(u.params).for_each([](const sp::param_list::param&) {});
  (void)sp::unescape(u.user);
  (void)sp::unescape(u.headers);

  check(sp::uri_equal(u, u));
  const sp::uri_view copy = u;
  check(sp::uri_equal(u, copy) && sp::uri_equal(copy, u));
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view input(reinterpret_cast<const char*>(data), size);

  sp::uri_view u;
  const bool ok = !sp::parse_uri(input, u);
  if (ok) check_uri(u, input);
  sp::uri_view s;
  if (!sp::parse_uri(input, s, {}, sp::parser_options::strict())) {
    check(ok);
    check(s.host == u.host && s.port == u.port && s.user == u.user && s.params == u.params);
  }

  const std::size_t bar = input.find('|');
  if (bar == std::string_view::npos) return 0;
  const std::string_view left = input.substr(0, bar), right = input.substr(bar + 1);
  sp::uri_view a, b;
  if (sp::parse_uri(left, a) || sp::parse_uri(right, b)) return 0;
  check_uri(a, left);
  check_uri(b, right);
  check(sp::uri_equal(a, b) == sp::uri_equal(b, a));
  return 0;
}
