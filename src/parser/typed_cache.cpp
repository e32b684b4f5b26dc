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

// One visitor per record: the only list of its fields, for both directions, so encode
// and decode cannot drift apart (a field added to one and not the other). `span(view's
// field, record's field)` for each string_view, `value(view's field, record's field)` for
// each field copied as it is. View and record are const on the side that is read.
template <class Span, class Value, class Uri, class Rec>
void each(Span&& span, Value&& value, Uri& u, Rec& r) {
  span(u.raw, r.raw);
  span(u.scheme_text, r.scheme_text);
  span(u.user, r.user);
  span(u.password, r.password);
  span(u.host, r.host);
  span(u.params, r.params);
  span(u.headers, r.headers);
  span(u.opaque, r.opaque);
  span(u.transport_param, r.transport_param);
  span(u.user_param, r.user_param);
  span(u.method_param, r.method_param);
  span(u.maddr_param, r.maddr_param);
  span(u.ttl_param, r.ttl_param);
  value(u.scheme, r.scheme);
  value(u.host_type, r.host_type);
  value(u.port, r.port);
  value(u.lr, r.lr);
}

template <class Span, class Value, class Via, class Rec>
void each_via(Span&& span, Value&& value, Via& v, Rec& r) {
  span(v.raw, r.raw);
  span(v.protocol_name, r.protocol_name);
  span(v.protocol_version, r.protocol_version);
  span(v.transport, r.transport);
  span(v.host, r.host);
  span(v.params, r.params);
  span(v.branch, r.branch);
  span(v.received, r.received);
  span(v.rport, r.rport);
  span(v.maddr, r.maddr);
  span(v.ttl, r.ttl);
  value(v.host_type, r.host_type);
  value(v.has_rport, r.has_rport);
  value(v.port, r.port);
}

template <class Span, class Value, class Addr, class Rec>
void each_addr(Span&& span, Value&& value, Addr& v, Rec& r) {
  span(v.raw, r.raw);
  span(v.display_name, r.display_name);
  span(v.params, r.params);
  span(v.tag, r.tag);
  span(v.expires, r.expires);
  span(v.q, r.q);
  each(span, value, v.uri, r.uri);
  value(v.star, r.star);
  value(v.angle_brackets, r.angle_brackets);
  value(v.expires_not_a_number, r.expires_not_a_number);
}

// The value copies of the two directions.
constexpr auto to_record = [](const auto& from, auto& to) noexcept { to = from; };
constexpr auto to_view = [](auto& to, const auto& from) noexcept { to = from; };

}  // namespace

bool encode(const via_view& v, std::string_view base, via_record& out) noexcept {
  if (!fits(base)) return false;
  encoder e{base};
  each_via(e, to_record, v, out);
  return e.ok;
}

void decode(const via_record& r, std::string_view base, via_view& v) noexcept {
  each_via(decoder{base}, to_view, v, r);
}

bool encode(const name_addr_view& v, std::string_view base, addr_record& out) noexcept {
  if (!fits(base)) return false;
  encoder e{base};
  each_addr(e, to_record, v, out);
  return e.ok;
}

void decode(const addr_record& r, std::string_view base, name_addr_view& v) noexcept {
  each_addr(decoder{base}, to_view, v, r);
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
