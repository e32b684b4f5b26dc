#include "parser/typed_cache.hpp"

namespace sipkit::parser::detail {

namespace {

// A pass over every view of a record, in one place for both directions.
struct encoder {
  std::string_view base;
  bool ok = true;
  void operator()(std::string_view v, rel16& out) noexcept {
    if (v.empty()) {
      out = rel16{};
      return;
    }
    const auto b = reinterpret_cast<std::uintptr_t>(base.data());
    const auto p = reinterpret_cast<std::uintptr_t>(v.data());
    if (p < b || p + v.size() > b + base.size()) {
      ok = false;
      return;
    }
    out.off = static_cast<std::uint16_t>(p - b);
    out.len = static_cast<std::uint16_t>(v.size());
  }
};

struct decoder {
  std::string_view base;
  void operator()(std::string_view& out, const rel16& r) const noexcept {
    out = r.off == 0xFFFF ? std::string_view{} : base.substr(r.off, r.len);
  }
};

bool fits(std::string_view base) noexcept { return base.size() < 0xFFFF; }

template <class F, class Uri, class Rec>
void each(F&& f, Uri& u, Rec& r) {
  f(u.raw, r.raw);
  f(u.scheme_text, r.scheme_text);
  f(u.user, r.user);
  f(u.password, r.password);
  f(u.host, r.host);
  f(u.params, r.params);
  f(u.headers, r.headers);
  f(u.opaque, r.opaque);
  f(u.transport_param, r.transport_param);
  f(u.user_param, r.user_param);
  f(u.method_param, r.method_param);
  f(u.maddr_param, r.maddr_param);
  f(u.ttl_param, r.ttl_param);
}

}  // namespace

bool encode(const via_view& v, std::string_view base, via_record& out) noexcept {
  if (!fits(base)) return false;
  encoder e{base};
  e(v.raw, out.raw);
  e(v.protocol_name, out.protocol_name);
  e(v.protocol_version, out.protocol_version);
  e(v.transport, out.transport);
  e(v.host, out.host);
  e(v.params, out.params);
  e(v.branch, out.branch);
  e(v.received, out.received);
  e(v.rport, out.rport);
  e(v.maddr, out.maddr);
  e(v.ttl, out.ttl);
  out.host_type = v.host_type;
  out.has_rport = v.has_rport;
  out.port = v.port;
  return e.ok;
}

void decode(const via_record& r, std::string_view base, via_view& v) noexcept {
  decoder d{base};
  d(v.raw, r.raw);
  d(v.protocol_name, r.protocol_name);
  d(v.protocol_version, r.protocol_version);
  d(v.transport, r.transport);
  d(v.host, r.host);
  d(v.params, r.params);
  d(v.branch, r.branch);
  d(v.received, r.received);
  d(v.rport, r.rport);
  d(v.maddr, r.maddr);
  d(v.ttl, r.ttl);
  v.host_type = r.host_type;
  v.has_rport = r.has_rport;
  v.port = r.port;
}

bool encode(const name_addr_view& v, std::string_view base, addr_record& out) noexcept {
  if (!fits(base)) return false;
  encoder e{base};
  e(v.raw, out.raw);
  e(v.display_name, out.display_name);
  e(v.params, out.params);
  e(v.tag, out.tag);
  e(v.expires, out.expires);
  e(v.q, out.q);
  each([&](std::string_view s, rel16& r) { e(s, r); }, v.uri, out.uri);
  out.uri.scheme = v.uri.scheme;
  out.uri.host_type = v.uri.host_type;
  out.uri.port = v.uri.port;
  out.uri.lr = v.uri.lr;
  out.star = v.star;
  out.angle_brackets = v.angle_brackets;
  out.expires_not_a_number = v.expires_not_a_number;
  return e.ok;
}

void decode(const addr_record& r, std::string_view base, name_addr_view& v) noexcept {
  decoder d{base};
  d(v.raw, r.raw);
  d(v.display_name, r.display_name);
  d(v.params, r.params);
  d(v.tag, r.tag);
  d(v.expires, r.expires);
  d(v.q, r.q);
  each([&](std::string_view& s, const rel16& x) { d(s, x); }, v.uri, r.uri);
  v.uri.scheme = r.uri.scheme;
  v.uri.host_type = r.uri.host_type;
  v.uri.port = r.uri.port;
  v.uri.lr = r.uri.lr;
  v.star = r.star;
  v.angle_brackets = r.angle_brackets;
  v.expires_not_a_number = r.expires_not_a_number;
}

bool encode(const cseq_view& v, std::string_view base, cseq_record& out) noexcept {
  if (!fits(base)) return false;
  encoder e{base};
  e(v.method_text, out.method_text);
  out.number = v.number;
  out.method = v.method;
  return e.ok;
}

void decode(const cseq_record& r, std::string_view base, cseq_view& v) noexcept {
  decoder{base}(v.method_text, r.method_text);
  v.number = r.number;
  v.method = r.method;
}

}  // namespace sipkit::parser::detail
