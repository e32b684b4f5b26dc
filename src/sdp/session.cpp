// Owning SDP session: copy from a view, canonical serializer, typed lookups.
#include "sipkit/sdp/session.hpp"

#include <algorithm>
#include <charconv>
#include <stdexcept>
#include <string>

namespace sipkit::sdp {
namespace {

std::string copy(std::string_view s) { return std::string(s); }

connection to_owning(const connection_view& c) {
  return {copy(c.nettype), copy(c.addrtype), copy(c.address)};
}

bandwidth to_owning(const bandwidth_view& b) { return {copy(b.type), b.value}; }

attribute to_owning(const attribute_view& a) {
  attribute out{copy(a.name), std::nullopt};
  if (a.has_value) out.value = copy(a.value);
  return out;
}

template <class Out, class In>
std::vector<Out> copy_all(std::span<const In> in) {
  std::vector<Out> out;
  out.reserve(in.size());
  for (const auto& x : in) {
    if constexpr (std::is_same_v<Out, std::string>) {
      out.push_back(copy(x));
    } else {
      out.push_back(to_owning(x));
    }
  }
  return out;
}

// Writes one line at a time; every field passes through check() so a CR, LF or NUL in a
// value can never split the output into extra lines (SDP injection).
class writer {
 public:
  explicit writer(std::string& out) : out_(out) {}

  writer& line(char type) {
    out_ += type;
    out_ += '=';
    return *this;
  }
  writer& field(std::string_view s) {
    if (s.find_first_of(std::string_view("\r\n\0", 3)) != std::string_view::npos) {
      throw std::invalid_argument("sipkit::sdp::session::serialize: CR, LF or NUL in a field");
    }
    out_ += s;
    return *this;
  }
  writer& sp() {
    out_ += ' ';
    return *this;
  }
  writer& ch(char c) {
    out_ += c;
    return *this;
  }
  writer& number(std::uint64_t v) {
    char buf[24];
    const auto r = std::to_chars(buf, buf + sizeof buf, v);
    out_.append(buf, r.ptr);
    return *this;
  }
  void end() { out_ += "\r\n"; }

  void text_line(char type, std::string_view value) { line(type).field(value).end(); }
  void connection_line(const connection& c) {
    line('c').field(c.nettype).sp().field(c.addrtype).sp().field(c.address).end();
  }
  void bandwidth_line(const bandwidth& b) { line('b').field(b.type).ch(':').number(b.value).end(); }
  void attribute_line(const attribute& a) {
    line('a').field(a.name);
    if (a.value) ch(':').field(*a.value);
    end();
  }

 private:
  std::string& out_;
};

template <class Attributes>
const attribute* find_in(const Attributes& attrs, std::string_view name) noexcept {
  for (const auto& a : attrs) {
    if (a.name == name) return &a;
  }
  return nullptr;
}

std::optional<direction> direction_in(const std::vector<attribute>& attrs) noexcept {
  for (const auto& a : attrs) {
    if (auto d = direction_from_name(a.name)) return d;
  }
  return std::nullopt;
}

// "<fmt> ..." : the format an rtpmap/fmtp value applies to.
bool value_is_for(const std::optional<std::string>& value, std::string_view fmt) noexcept {
  if (!value) return false;
  const std::string_view v = *value;
  return v.size() > fmt.size() && v.substr(0, fmt.size()) == fmt && v[fmt.size()] == ' ';
}

}  // namespace

session::session(const session_view& view)
    : version(view.version()),
      origin{copy(view.origin().username),  view.origin().session_id,
             view.origin().session_version, copy(view.origin().nettype),
             copy(view.origin().addrtype),  copy(view.origin().address)},
      name(view.name()),
      information(view.information()),
      uri(view.uri()),
      emails(copy_all<std::string>(view.emails())),
      phones(copy_all<std::string>(view.phones())),
      bandwidths(copy_all<bandwidth>(view.bandwidths())),
      timings(),
      key(view.key()),
      attributes(copy_all<attribute>(view.attributes())) {
  if (const connection_view* c = view.connection()) connection = to_owning(*c);
  timings.reserve(view.timings().size());
  for (const timing_view& t : view.timings()) {
    timings.push_back({t.start, t.stop, copy_all<std::string>(view.repeats(t)), copy(t.zone)});
  }
  media.reserve(view.media().size());
  for (const media_view& m : view.media()) {
    media_description& d = media.emplace_back();
    d.media = m.media;
    d.port = m.port;
    d.port_count = m.port_count;
    d.proto = m.proto;
    d.fmts = copy_all<std::string>(view.fmts(m));
    d.information = m.information;
    d.connections = copy_all<sdp::connection>(view.connections(m));
    d.bandwidths = copy_all<bandwidth>(view.bandwidths(m));
    d.key = m.key;
    d.attributes = copy_all<attribute>(view.attributes(m));
  }
}

void session::serialize_to(std::string& out) const {
  writer w(out);
  w.line('v').number(version).end();
  w.line('o')
      .field(origin.username)
      .sp()
      .number(origin.session_id)
      .sp()
      .number(origin.session_version)
      .sp()
      .field(origin.nettype)
      .sp()
      .field(origin.addrtype)
      .sp()
      .field(origin.address)
      .end();
  w.text_line('s', name);
  if (!information.empty()) w.text_line('i', information);
  if (!uri.empty()) w.text_line('u', uri);
  for (const auto& e : emails) w.text_line('e', e);
  for (const auto& p : phones) w.text_line('p', p);
  if (connection) w.connection_line(*connection);
  for (const auto& b : bandwidths) w.bandwidth_line(b);
  for (const auto& t : timings) {
    w.line('t').number(t.start).sp().number(t.stop).end();
    for (const auto& r : t.repeats) w.text_line('r', r);
    if (!t.zone.empty()) w.text_line('z', t.zone);
  }
  if (!key.empty()) w.text_line('k', key);
  for (const auto& a : attributes) w.attribute_line(a);
  for (const auto& m : media) {
    w.line('m').field(m.media).sp().number(m.port);
    if (m.port_count != 0) w.ch('/').number(m.port_count);
    w.sp().field(m.proto);
    for (const auto& f : m.fmts) w.sp().field(f);
    w.end();
    if (!m.information.empty()) w.text_line('i', m.information);
    for (const auto& c : m.connections) w.connection_line(c);
    for (const auto& b : m.bandwidths) w.bandwidth_line(b);
    if (!m.key.empty()) w.text_line('k', m.key);
    for (const auto& a : m.attributes) w.attribute_line(a);
  }
}

std::string session::serialize() const {
  std::string out;
  out.reserve(256);
  serialize_to(out);
  return out;
}

const attribute* session::find_attribute(std::string_view attr_name) const noexcept {
  return find_in(attributes, attr_name);
}

direction session::direction_of(const media_description& m) const noexcept {
  if (auto d = direction_in(m.attributes)) return *d;
  return direction_in(attributes).value_or(direction::sendrecv);
}

const attribute* media_description::find_attribute(std::string_view attr_name) const noexcept {
  return find_in(attributes, attr_name);
}

void media_description::set_direction(sdp::direction d) {
  std::erase_if(attributes,
                [](const attribute& a) { return direction_from_name(a.name).has_value(); });
  attributes.push_back({std::string(to_string(d)), std::nullopt});
}

std::optional<rtpmap> media_description::find_rtpmap(std::string_view fmt) const noexcept {
  for (const auto& a : attributes) {
    if (a.name == "rtpmap" && value_is_for(a.value, fmt)) return parse_rtpmap(*a.value);
  }
  return std::nullopt;
}

std::optional<fmtp> media_description::find_fmtp(std::string_view fmt) const noexcept {
  for (const auto& a : attributes) {
    if (a.name == "fmtp" && value_is_for(a.value, fmt)) return parse_fmtp(*a.value);
  }
  return std::nullopt;
}

parse_error parse(std::string_view sdp, session& out) {
  session_view view;
  parse_error err = parse(sdp, view);
  if (!err) out = session(view);
  return err;
}

}  // namespace sipkit::sdp
