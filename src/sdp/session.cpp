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

extension_line to_owning(const extension_view& x) { return {x.type, copy(x.value), x.after}; }

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

bool has_line_break(std::string_view s) noexcept {
  return s.find_first_of(std::string_view("\r\n\0", 3)) != std::string_view::npos;
}

// Letters RFC 8866 §5 gives a line type; an extension line must not use one, or it would
// parse back as that line.
bool is_extension_type(char c) noexcept {
  const bool letter = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
  return letter && std::string_view("vosiuepcbtrzkam").find(c) == std::string_view::npos;
}

// RFC 8866 §9 token-char.
bool is_token(std::string_view s) noexcept {
  if (s.empty()) return false;
  for (char c : s) {
    const bool alnum = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
    if (!alnum && std::string_view("!#$%&'*+-.^_`{|}~").find(c) == std::string_view::npos) {
      return false;
    }
  }
  return true;
}

void append_attribute(std::vector<attribute>& attrs, std::string name,
                      std::optional<std::string> value) {
  if (!is_token(name)) {
    throw std::invalid_argument("sipkit::sdp add_attribute: the name is not an SDP token");
  }
  if (value && has_line_break(*value)) {
    throw std::invalid_argument("sipkit::sdp add_attribute: CR, LF or NUL in the value");
  }
  attrs.push_back({std::move(name), std::move(value)});
}

void set_in(std::vector<extension_line>& lines, char type, std::string value) {
  if (!is_extension_type(type)) {
    throw std::invalid_argument("sipkit::sdp set_extension: not an unknown SDP type letter");
  }
  if (has_line_break(value)) {
    throw std::invalid_argument("sipkit::sdp set_extension: CR, LF or NUL in the value");
  }
  for (auto& x : lines) {
    if (x.type == type) {
      x.value = std::move(value);
      return;
    }
  }
  lines.push_back({type, std::move(value), extension_line::at_end});
}

const extension_line* find_in(const std::vector<extension_line>& lines, char type) noexcept {
  for (const auto& x : lines) {
    if (x.type == type) return &x;
  }
  return nullptr;
}

// RFC 8866 lines the serializer writes for each level, in the order it writes them.
std::size_t line_count(const media_description& m) noexcept {
  return 1 + (m.information.empty() ? 0 : 1) + m.connections.size() + m.bandwidths.size() +
         (m.key.empty() ? 0 : 1) + m.attributes.size();
}

std::size_t line_count(const session& s) noexcept {
  std::size_t n = 3 + (s.information.empty() ? 0 : 1) + (s.uri.empty() ? 0 : 1) +
                  s.emails.size() + s.phones.size() + (s.connection ? 1 : 0) +
                  s.bandwidths.size() + (s.key.empty() ? 0 : 1) + s.attributes.size();
  for (const auto& t : s.timings) n += 1 + t.repeats.size() + (t.zone.empty() ? 0 : 1);
  return n;
}

// A line that ended its level when parsed stays last when lines are added to the level.
void anchor_trailing(std::vector<extension_line>& lines, std::size_t level_lines) noexcept {
  for (auto& x : lines) {
    if (x.after >= level_lines) x.after = extension_line::at_end;
  }
}

// Writes one line at a time; every field passes through check() so a CR, LF or NUL in a
// value can never split the output into extra lines (SDP injection). Within a level it
// counts the RFC 8866 lines and writes each extension line after the one it follows.
class writer {
 public:
  explicit writer(std::string& out) : out_(out) {}

  void begin_level(const std::vector<extension_line>& lines) {
    extensions_ = lines.empty() ? nullptr : &lines;
    level_lines_ = 0;
  }
  // The extension lines placed after the level's last line (or past it).
  void end_level() {
    if (extensions_ == nullptr) return;
    for (const auto& x : *extensions_) {
      if (x.after > level_lines_) extension(x);
    }
    extensions_ = nullptr;
  }

  writer& line(char type) {
    out_ += type;
    out_ += '=';
    return *this;
  }
  writer& field(std::string_view s) {
    if (has_line_break(s)) {
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
  void end() {
    out_ += "\r\n";
    if (extensions_ == nullptr) return;
    ++level_lines_;
    for (const auto& x : *extensions_) {
      if (std::max<std::size_t>(x.after, 1) == level_lines_) extension(x);
    }
  }

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
  void extension(const extension_line& x) {
    if (!is_extension_type(x.type)) {
      throw std::invalid_argument(
          "sipkit::sdp::session::serialize: extension line with a known or non-letter type");
    }
    out_ += x.type;
    out_ += '=';
    field(x.value);
    out_ += "\r\n";
  }

  std::string& out_;
  const std::vector<extension_line>* extensions_ = nullptr;
  std::size_t level_lines_ = 0;
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
      attributes(copy_all<attribute>(view.attributes())),
      extensions(copy_all<extension_line>(view.extensions())) {
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
    d.extensions = copy_all<extension_line>(view.extensions(m));
    anchor_trailing(d.extensions, line_count(d));
  }
  anchor_trailing(extensions, line_count(*this));
}

void session::serialize_to(std::string& out) const {
  writer w(out);
  w.begin_level(extensions);
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
  w.end_level();
  for (const auto& m : media) {
    w.begin_level(m.extensions);
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
    w.end_level();
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

session& session::add_attribute(std::string attr_name) {
  append_attribute(attributes, std::move(attr_name), std::nullopt);
  return *this;
}

session& session::add_attribute(std::string attr_name, std::string value) {
  append_attribute(attributes, std::move(attr_name), std::move(value));
  return *this;
}

const extension_line* session::find_extension(char type) const noexcept {
  return find_in(extensions, type);
}

session& session::set_extension(char type, std::string value) {
  set_in(extensions, type, std::move(value));
  return *this;
}

std::size_t session::remove_extensions(char type) {
  return std::erase_if(extensions, [type](const extension_line& x) { return x.type == type; });
}

direction session::direction_of(const media_description& m) const noexcept {
  if (auto d = direction_in(m.attributes)) return *d;
  return direction_in(attributes).value_or(direction::sendrecv);
}

const attribute* media_description::find_attribute(std::string_view attr_name) const noexcept {
  return find_in(attributes, attr_name);
}

media_description& media_description::add_attribute(std::string attr_name) {
  append_attribute(attributes, std::move(attr_name), std::nullopt);
  return *this;
}

media_description& media_description::add_attribute(std::string attr_name, std::string value) {
  append_attribute(attributes, std::move(attr_name), std::move(value));
  return *this;
}

const extension_line* media_description::find_extension(char type) const noexcept {
  return find_in(extensions, type);
}

media_description& media_description::set_extension(char type, std::string value) {
  set_in(extensions, type, std::move(value));
  return *this;
}

std::size_t media_description::remove_extensions(char type) {
  return std::erase_if(extensions, [type](const extension_line& x) { return x.type == type; });
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

parse_error parse(std::string_view sdp, session& out, const parse_options& options) {
  session_view view;  // its views point into `sdp` and are not read after this call
  parse_error err = parse(sdp, view, options);
  if (!err) out = session(view);
  return err;
}

}  // namespace sipkit::sdp
