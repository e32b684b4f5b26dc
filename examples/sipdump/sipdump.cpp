// sipdump: print SIP messages the way a protocol analyser shows them.
//
// What it shows: the sipkit::parser API from the outside.
//   - parse_message() on a datagram: one file (or stdin) is one UDP payload;
//   - stream_framer on a TCP-style byte stream (--stream): several messages back to back,
//     Content-Length required, CRLF keep-alives between them (RFC 5626 §4.4.1);
//   - the typed views the stack itself reads: Via, From/To, Call-ID, CSeq, Contact,
//     Route/Record-Route, credentials and challenges, Content-Type; every other header raw;
//   - errors as values: a parse_error names the element that failed and its byte offset
//     (the stream offset with --stream);
//   - when the build has sipkit::sdp, an application/sdp body decoded as a subtree.
//
// How to run it (from the build directory):
//   examples/sipdump ../examples/sipdump/samples/invite.sip      # one file = one datagram
//   examples/sipdump a.sip b.sip                                 # several datagrams
//   cat a.sip b.sip | examples/sipdump --stream                  # one stream, many messages
//   examples/sipdump --json ../examples/sipdump/samples/*.sip    # one JSON object per line
//   examples/sipdump - < message.sip                             # stdin ("-" or no file)
//
// Exit status: 0 when every message parsed, 1 when an input could not be read or a message
// did not parse (then stderr says "sipdump: <file>: <reason> at offset <n>"), 2 for bad usage.
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <initializer_list>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "sipkit/parser/headers.hpp"
#include "sipkit/parser/message_view.hpp"
#include "sipkit/parser/stream_framer.hpp"
#include "sipkit/parser/uri.hpp"

#ifdef SIPDUMP_WITH_SDP
#include "sipkit/sdp/attributes.hpp"
#include "sipkit/sdp/gb28181.hpp"
#include "sipkit/sdp/session_view.hpp"
#endif

namespace sp = sipkit::parser;

namespace {

// ------------------------------------------------------------------ text helpers

/// Length of the valid UTF-8 sequence starting at s[i], 0 when the bytes there are not one.
std::size_t utf8_length(std::string_view s, std::size_t i) {
  const auto b = [&](std::size_t k) { return static_cast<unsigned char>(s[i + k]); };
  const unsigned char c = b(0);
  std::size_t n = 0;
  unsigned min_next = 0x80, max_next = 0xBF;  // bounds of the second byte
  if (c >= 0xC2 && c <= 0xDF) {
    n = 2;
  } else if (c >= 0xE0 && c <= 0xEF) {
    n = 3;
    if (c == 0xE0) min_next = 0xA0;  // overlong
    if (c == 0xED) max_next = 0x9F;  // surrogates
  } else if (c >= 0xF0 && c <= 0xF4) {
    n = 4;
    if (c == 0xF0) min_next = 0x90;  // overlong
    if (c == 0xF4) max_next = 0x8F;  // above U+10FFFF
  } else {
    return 0;
  }
  if (i + n > s.size()) return 0;
  if (b(1) < min_next || b(1) > max_next) return 0;
  for (std::size_t k = 2; k < n; ++k)
    if (b(k) < 0x80 || b(k) > 0xBF) return 0;
  return n;
}

void append_hex_byte(std::string& out, const char* prefix, unsigned char c) {
  static constexpr char digits[] = "0123456789abcdef";
  out += prefix;
  out += digits[c >> 4];
  out += digits[c & 0xF];
}

/// For the tree: one line of text. Header folding (CRLF + whitespace) becomes one space,
/// other control bytes and invalid UTF-8 become \xNN so nothing can upset a terminal.
std::string printable(std::string_view s) {
  std::string out;
  out.reserve(s.size());
  for (std::size_t i = 0; i < s.size();) {
    const auto c = static_cast<unsigned char>(s[i]);
    if (c == '\r' || c == '\n') {
      while (i < s.size() && (s[i] == '\r' || s[i] == '\n' || s[i] == ' ' || s[i] == '\t')) ++i;
      out += ' ';
      continue;
    }
    if (c >= 0x80) {
      if (std::size_t n = utf8_length(s, i)) {
        out.append(s.substr(i, n));
        i += n;
        continue;
      }
    }
    if (c < 0x20 || c >= 0x7F) {
      if (c == '\t') out += ' ';
      else append_hex_byte(out, "\\x", c);
    } else {
      out += static_cast<char>(c);
    }
    ++i;
  }
  return out;
}

/// JSON string literal (RFC 8259). Valid UTF-8 passes through; control characters are
/// escaped; a byte that is not part of valid UTF-8 is written as \u00XX (its Latin-1
/// reading), so the output is always valid JSON and no byte is silently lost.
void append_json_string(std::string& out, std::string_view s) {
  out += '"';
  for (std::size_t i = 0; i < s.size();) {
    const auto c = static_cast<unsigned char>(s[i]);
    if (c >= 0x80) {
      if (std::size_t n = utf8_length(s, i)) {
        out.append(s.substr(i, n));
        i += n;
        continue;
      }
      append_hex_byte(out, "\\u00", c);
    } else if (c == '"') {
      out += "\\\"";
    } else if (c == '\\') {
      out += "\\\\";
    } else if (c == '\n') {
      out += "\\n";
    } else if (c == '\r') {
      out += "\\r";
    } else if (c == '\t') {
      out += "\\t";
    } else if (c < 0x20 || c == 0x7F) {
      append_hex_byte(out, "\\u00", c);
    } else {
      out += static_cast<char>(c);
    }
    ++i;
  }
  out += '"';
}

std::string_view first_line(std::string_view bytes) {
  return bytes.substr(0, bytes.find("\r\n"));
}

/// True when the body reads as text: no NUL or control bytes other than CR, LF and TAB.
bool is_text(std::string_view body) {
  for (char ch : body) {
    const auto c = static_cast<unsigned char>(ch);
    if ((c < 0x20 && c != '\r' && c != '\n' && c != '\t') || c == 0x7F) return false;
  }
  return true;
}

#ifdef SIPDUMP_WITH_SDP
bool is_sdp(const sp::message_view& m) {
  const auto* ct = m.content_type();
  return ct != nullptr && sp::iequals(ct->type, "application") && sp::iequals(ct->subtype, "sdp");
}
#endif

// ------------------------------------------------------------------ tree output

/// Writes "<indent><label>: <value>" lines, two spaces per level.
class tree {
 public:
  explicit tree(std::string& out) : out_(out) {}

  void node(int depth, std::string_view text) {
    out_.append(static_cast<std::size_t>(depth) * 2, ' ');
    out_ += printable(text);
    out_ += '\n';
  }
  void field(int depth, std::string_view label, std::string_view value) {
    out_.append(static_cast<std::size_t>(depth) * 2, ' ');
    out_.append(label);
    out_ += ": ";
    out_ += printable(value);
    out_ += '\n';
  }
  void field(int depth, std::string_view label, std::uint64_t value) {
    field(depth, label, std::to_string(value));
  }
  /// Only when the value is present: most parameters are optional.
  void opt(int depth, std::string_view label, std::string_view value) {
    if (!value.empty()) field(depth, label, value);
  }

 private:
  std::string& out_;
};

/// Parameters of a `;name=value` list, skipping those already shown as typed fields.
void tree_params(tree& t, int depth, std::string_view raw,
                 std::initializer_list<std::string_view> shown) {
  sp::param_list(raw).for_each([&](const sp::param_list::param& p) {
    for (auto s : shown)
      if (sp::iequals(s, p.name)) return;
    std::string text(p.name);
    if (p.has_value) text.append("=").append(p.value);
    t.field(depth, "Parameter", text);
  });
}

void tree_uri(tree& t, int depth, const sp::uri_view& u) {
  if (!u.is_sip()) {
    t.field(depth, "Scheme", u.scheme_text);
    t.opt(depth, "Opaque", u.opaque);
    return;
  }
  t.field(depth, "Scheme", u.scheme_text);
  t.opt(depth, "User", u.user);
  t.opt(depth, "Password", u.password);
  t.field(depth, "Host", u.host);
  if (u.port != 0) t.field(depth, "Port", u.port);
  tree_params(t, depth, u.params, {});
  t.opt(depth, "URI Headers", u.headers);
}

void tree_via(tree& t, int depth, const sp::via_view& v) {
  t.field(depth, "Protocol", std::string(v.protocol_name) + "/" + std::string(v.protocol_version));
  t.field(depth, "Transport", v.transport);
  t.field(depth, "Sent-by Address", v.host);
  if (v.port != 0) t.field(depth, "Sent-by Port", v.port);
  t.opt(depth, "Branch", v.branch);
  t.opt(depth, "Received", v.received);
  if (v.has_rport) t.field(depth, "RPort", v.rport.empty() ? "(requested)" : v.rport);
  t.opt(depth, "maddr", v.maddr);
  t.opt(depth, "TTL", v.ttl);
  tree_params(t, depth, v.params, {"branch", "received", "rport", "maddr", "ttl"});
}

void tree_address(tree& t, int depth, const sp::name_addr_view& a) {
  if (a.star) {
    t.field(depth, "Contact", "* (all bindings)");
    return;
  }
  t.opt(depth, "Display Name", a.display_name);
  t.field(depth, "URI", a.uri.raw);
  tree_uri(t, depth + 1, a.uri);
  t.opt(depth, "Tag", a.tag);
  t.opt(depth, "Expires", a.expires);
  t.opt(depth, "q", a.q);
  tree_params(t, depth, a.params, {"tag", "expires", "q"});
}

void tree_auth(tree& t, int depth, const sp::auth_view& a) {
  t.field(depth, "Authentication Scheme", a.scheme);
  const std::pair<std::string_view, std::string_view> digest[] = {
      {"Username", a.username}, {"Realm", a.realm},   {"Nonce", a.nonce},
      {"URI", a.uri},           {"Response", a.response}, {"Algorithm", a.algorithm},
      {"CNonce", a.cnonce},     {"Opaque", a.opaque}, {"QOP", a.qop},
      {"Nonce Count", a.nc},    {"Stale", a.stale},   {"Domain", a.domain},
      {"Userhash", a.userhash}};
  bool any = false;
  for (const auto& [label, value] : digest) {
    t.opt(depth, label, value);
    any = any || !value.empty();
  }
  if (!any) t.opt(depth, "Parameters", a.params);
}

#ifdef SIPDUMP_WITH_SDP
std::string join_media_line(const sipkit::sdp::session_view& s, const sipkit::sdp::media_view& m) {
  std::string line(m.media);
  line += ' ' + std::to_string(m.port);
  if (m.port_count != 0) line += '/' + std::to_string(m.port_count);
  line.append(" ").append(m.proto);
  for (auto f : s.fmts(m)) line.append(" ").append(f);
  return line;
}

std::string attribute_text(const sipkit::sdp::attribute_view& a) {
  std::string text(a.name);
  if (a.has_value) text.append(":").append(a.value);
  return text;
}

void tree_sdp_attribute(tree& t, int depth, std::string_view label,
                        const sipkit::sdp::attribute_view& a) {
  t.field(depth, label, attribute_text(a));
  if (a.name == "rtpmap") {
    if (auto map = sipkit::sdp::parse_rtpmap(a.value)) {
      t.field(depth + 1, "Payload Type", map->payload_type);
      t.field(depth + 1, "Encoding Name", map->encoding_name);
      t.field(depth + 1, "Sample Rate", map->clock_rate);
      t.opt(depth + 1, "Encoding Parameters", map->encoding_parameters);
    }
  } else if (a.name == "fmtp") {
    if (auto f = sipkit::sdp::parse_fmtp(a.value)) {
      t.field(depth + 1, "Format", f->format);
      t.field(depth + 1, "Parameters", f->parameters);
    }
  }
}

// Lines of type letters RFC 8866 does not define (kept by the lenient parse), with GB/T
// 28181's y= (SSRC) and f= (media format) decoded: a capture of a video platform's play
// INVITE should show what the device was asked for, not hide it.
void tree_sdp_extension(tree& t, int depth, const sipkit::sdp::extension_view& e) {
  t.field(depth, std::string("Unknown Line (") + e.type + ")", e.value);
  if (e.type == 'y') {
    sipkit::sdp::gb28181::ssrc y;
    if (auto err = sipkit::sdp::gb28181::parse_ssrc(e.value, y)) {
      t.field(depth + 1, "[GB/T 28181 SSRC not decoded]", err.message());
    } else {
      t.field(depth + 1, "GB/T 28181 SSRC", y.to_string() + " (" + std::to_string(y.value) + ")");
      t.field(depth + 1, "Stream", y.live() ? "live (Play)" : "history (Playback/Download)");
    }
  } else if (e.type == 'f') {
    sipkit::sdp::gb28181::media_format f;
    if (auto err = sipkit::sdp::gb28181::parse_media_format(e.value, f)) {
      t.field(depth + 1, "[GB/T 28181 media format not decoded]", err.message());
      return;
    }
    const auto number = [&](std::string_view label, const std::optional<std::uint32_t>& v) {
      if (v) t.field(depth + 1, label, std::uint64_t{*v});
    };
    number("Video Codec", f.video.codec);
    number("Video Resolution", f.video.resolution);
    number("Video Frame Rate", f.video.frame_rate);
    number("Video Bitrate Type", f.video.bitrate_type);
    number("Video Bitrate (kbit/s)", f.video.bitrate);
    number("Audio Codec", f.audio.codec);
    number("Audio Bitrate", f.audio.bitrate);
    number("Audio Sample Rate", f.audio.sample_rate);
  }
}

void tree_sdp(tree& t, int depth, std::string_view body) {
  auto view = std::make_unique<sipkit::sdp::session_view>();
  if (auto err = sipkit::sdp::parse(body, *view)) {
    t.field(depth, "Session Description Protocol", "not decoded: " + err.message());
    return;
  }
  const auto& s = *view;
  t.node(depth, "Session Description Protocol");
  ++depth;
  t.field(depth, "Session Description Protocol Version (v)", s.version());
  const auto& o = s.origin();
  t.field(depth, "Owner/Creator, Session Id (o)",
          std::string(o.username) + ' ' + std::to_string(o.session_id) + ' ' +
              std::to_string(o.session_version) + ' ' + std::string(o.nettype) + ' ' +
              std::string(o.addrtype) + ' ' + std::string(o.address));
  t.field(depth + 1, "Owner Username", o.username);
  t.field(depth + 1, "Session ID", o.session_id);
  t.field(depth + 1, "Session Version", o.session_version);
  t.field(depth + 1, "Owner Network Type", o.nettype);
  t.field(depth + 1, "Owner Address Type", o.addrtype);
  t.field(depth + 1, "Owner Address", o.address);
  t.field(depth, "Session Name (s)", s.name());
  t.opt(depth, "Session Information (i)", s.information());
  t.opt(depth, "URI of Description (u)", s.uri());
  for (auto e : s.emails()) t.field(depth, "E-mail Address (e)", e);
  for (auto p : s.phones()) t.field(depth, "Phone Number (p)", p);
  if (const auto* c = s.connection())
    t.field(depth, "Connection Information (c)",
            std::string(c->nettype) + ' ' + std::string(c->addrtype) + ' ' + std::string(c->address));
  for (const auto& b : s.bandwidths())
    t.field(depth, "Bandwidth Information (b)", std::string(b.type) + ':' + std::to_string(b.value));
  for (const auto& tm : s.timings()) {
    t.field(depth, "Time Description, active time (t)",
            std::to_string(tm.start) + ' ' + std::to_string(tm.stop));
    for (auto r : s.repeats(tm)) t.field(depth + 1, "Repeat Time (r)", r);
    t.opt(depth + 1, "Time Zone Adjustment (z)", tm.zone);
  }
  t.opt(depth, "Encryption Key (k)", s.key());
  for (const auto& a : s.attributes()) tree_sdp_attribute(t, depth, "Session Attribute (a)", a);
  for (const auto& e : s.extensions()) tree_sdp_extension(t, depth, e);
  for (const auto& m : s.media()) {
    t.field(depth, "Media Description, name and address (m)", join_media_line(s, m));
    const int d = depth + 1;
    t.field(d, "Media Type", m.media);
    t.field(d, "Media Port", m.port);
    if (m.port_count != 0) t.field(d, "Number of Ports", m.port_count);
    t.field(d, "Media Protocol", m.proto);
    for (auto f : s.fmts(m)) t.field(d, "Media Format", f);
    t.opt(d, "Media Title (i)", m.information);
    for (const auto& c : s.connections(m))
      t.field(d, "Connection Information (c)",
              std::string(c.nettype) + ' ' + std::string(c.addrtype) + ' ' + std::string(c.address));
    for (const auto& b : s.bandwidths(m))
      t.field(d, "Bandwidth Information (b)", std::string(b.type) + ':' + std::to_string(b.value));
    t.opt(d, "Encryption Key (k)", m.key);
    for (const auto& a : s.attributes(m)) tree_sdp_attribute(t, d, "Media Attribute (a)", a);
    for (const auto& e : s.extensions(m)) tree_sdp_extension(t, d, e);
    t.field(d, "[Direction]", sipkit::sdp::to_string(s.direction_of(m)));
  }
}
#endif

void tree_body(tree& t, const sp::message_view& m) {
  const std::string_view body = m.body();
  t.node(1, "Message Body");
  t.field(2, "Length", body.size());
  if (body.empty()) return;
#ifdef SIPDUMP_WITH_SDP
  if (is_sdp(m)) {
    tree_sdp(t, 2, body);
    return;
  }
#endif
  if (is_text(body)) {
    for (std::size_t pos = 0; pos < body.size();) {
      std::size_t eol = body.find('\n', pos);
      std::string_view line = body.substr(pos, eol == std::string_view::npos ? eol : eol - pos);
      if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
      t.field(2, "Line", line);
      pos = eol == std::string_view::npos ? body.size() : eol + 1;
    }
  } else {
    std::string hex;
    for (std::size_t i = 0; i < body.size() && i < 32; ++i)
      append_hex_byte(hex, i ? " " : "", static_cast<unsigned char>(body[i]));
    if (body.size() > 32) hex += " ...";
    t.field(2, "Data", hex);
  }
}

/// The whole message as a Wireshark-style tree.
void print_tree(std::string& out, const sp::message_view& m, std::size_t ignored_trailing) {
  tree t(out);
  if (m.is_request()) {
    t.node(0, "Session Initiation Protocol (" + std::string(m.method_text()) + ")");
    t.field(1, "Request-Line", first_line(m.bytes()));
    t.field(2, "Method", m.method_text());
    t.field(2, "Request-URI", m.request_uri().raw);
    tree_uri(t, 3, m.request_uri());
    t.field(2, "SIP-Version", m.sip_version());
  } else {
    t.node(0, "Session Initiation Protocol (" + std::to_string(m.status_code()) + ")");
    t.field(1, "Status-Line", first_line(m.bytes()));
    t.field(2, "SIP-Version", m.sip_version());
    t.field(2, "Status-Code", static_cast<std::uint64_t>(m.status_code()));
    t.field(2, "Reason-Phrase", m.reason_phrase());
  }

  t.node(1, "Message Header");
  const auto headers = m.headers();
  for (std::size_t i = 0; i < headers.size(); ++i) {
    const auto& h = headers[i];
    t.field(2, h.name, h.value);
    const auto index = static_cast<std::uint16_t>(i);
    switch (h.id) {
      case sp::header_id::via: {
        std::vector<const sp::via_view*> parms;
        for (const auto& v : m.vias())
          if (v.header_index == index) parms.push_back(&v);
        for (const auto* v : parms) {
          int depth = 3;
          if (parms.size() > 1) t.field(depth++, "Via-parm", v->raw);
          tree_via(t, depth, *v);
        }
        break;
      }
      case sp::header_id::from:
      case sp::header_id::to:
      case sp::header_id::contact:
      case sp::header_id::route:
      case sp::header_id::record_route: {
        std::vector<const sp::name_addr_view*> values;
        for (const auto& a : m.addresses())
          if (a.header_index == index) values.push_back(&a);
        for (const auto* a : values) {
          int depth = 3;
          if (values.size() > 1) t.field(depth++, "Value", a->raw);
          tree_address(t, depth, *a);
        }
        break;
      }
      case sp::header_id::cseq:
        if (m.cseq() != nullptr && m.find(sp::header_id::cseq) == &h) {
          t.field(3, "Sequence Number", m.cseq()->number);
          t.field(3, "Method", m.cseq()->method_text);
        }
        break;
      case sp::header_id::www_authenticate:
      case sp::header_id::proxy_authenticate:
      case sp::header_id::authorization:
      case sp::header_id::proxy_authorization:
        for (const auto& a : m.auths())
          if (a.header_index == index) tree_auth(t, 3, a);
        break;
      case sp::header_id::content_type:
        if (m.content_type() != nullptr && m.find(sp::header_id::content_type) == &h) {
          const auto* ct = m.content_type();
          t.field(3, "Media Type", std::string(ct->type) + "/" + std::string(ct->subtype));
          tree_params(t, 3, ct->params, {});
        }
        break;
      default:
        break;  // every other header is shown raw
    }
  }
  tree_body(t, m);
  if (ignored_trailing != 0)
    t.field(1, "[Bytes after Content-Length, ignored]", ignored_trailing);
}

// ------------------------------------------------------------------ JSON output

/// A small streaming JSON writer; commas are placed automatically.
class json {
 public:
  explicit json(std::string& out) : out_(out) {}

  void begin_object() { open('{'); }
  void end_object() { close('}'); }
  void begin_array() { open('['); }
  void end_array() { close(']'); }
  void key(std::string_view k) {
    comma();
    append_json_string(out_, k);
    out_ += ':';
    after_key_ = true;
  }
  void value(std::string_view s) {
    comma();
    append_json_string(out_, s);
  }
  void value(std::uint64_t n) {
    comma();
    out_ += std::to_string(n);
  }
  void value(bool b) {
    comma();
    out_ += b ? "true" : "false";
  }
  template <class T>
  void member(std::string_view k, const T& v) {
    key(k);
    value(v);
  }
  void member(std::string_view k, const char* v) { member(k, std::string_view(v)); }
  /// Only when present.
  void opt(std::string_view k, std::string_view v) {
    if (!v.empty()) member(k, v);
  }

 private:
  void comma() {
    if (after_key_) {
      after_key_ = false;
      return;
    }
    if (!first_.empty()) {
      if (!first_.back()) out_ += ',';
      first_.back() = false;
    }
  }
  void open(char c) {
    comma();
    out_ += c;
    first_.push_back(true);
  }
  void close(char c) {
    first_.pop_back();
    out_ += c;
  }

  std::string& out_;
  std::vector<bool> first_;
  bool after_key_ = false;
};

void json_uri(json& j, const sp::uri_view& u) {
  j.begin_object();
  j.member("raw", u.raw);
  j.member("scheme", u.scheme_text);
  if (u.is_sip()) {
    j.opt("user", u.user);
    j.opt("password", u.password);
    j.member("host", u.host);
    if (u.port != 0) j.member("port", std::uint64_t{u.port});
    j.opt("params", u.params);
    j.opt("headers", u.headers);
  } else {
    j.member("opaque", u.opaque);
  }
  j.end_object();
}

void json_address(json& j, const sp::name_addr_view& a) {
  j.begin_object();
  j.member("raw", a.raw);
  if (a.star) {
    j.member("star", true);
  } else {
    j.opt("display_name", a.display_name);
    j.key("uri");
    json_uri(j, a.uri);
    j.opt("tag", a.tag);
    j.opt("expires", a.expires);
    j.opt("q", a.q);
    j.opt("params", a.params);
  }
  j.end_object();
}

#ifdef SIPDUMP_WITH_SDP
void json_sdp_attributes(json& j, std::span<const sipkit::sdp::attribute_view> attributes) {
  j.key("attributes");
  j.begin_array();
  for (const auto& a : attributes) {
    j.begin_object();
    j.member("name", a.name);
    if (a.has_value) j.member("value", a.value);
    j.end_object();
  }
  j.end_array();
}

void json_sdp_extensions(json& j, std::span<const sipkit::sdp::extension_view> extensions) {
  if (extensions.empty()) return;
  j.key("extensions");
  j.begin_array();
  for (const auto& e : extensions) {
    j.begin_object();
    j.member("type", std::string_view(&e.type, 1));
    j.member("value", e.value);
    j.end_object();
  }
  j.end_array();
}

void json_sdp(json& j, std::string_view body) {
  auto view = std::make_unique<sipkit::sdp::session_view>();
  if (auto err = sipkit::sdp::parse(body, *view)) {
    j.member("sdp_error", err.message());
    return;
  }
  const auto& s = *view;
  j.key("sdp");
  j.begin_object();
  j.member("version", std::uint64_t{s.version()});
  const auto& o = s.origin();
  j.key("origin");
  j.begin_object();
  j.member("username", o.username);
  j.member("session_id", o.session_id);
  j.member("session_version", o.session_version);
  j.member("nettype", o.nettype);
  j.member("addrtype", o.addrtype);
  j.member("address", o.address);
  j.end_object();
  j.member("name", s.name());
  if (const auto* c = s.connection()) j.member("connection", c->address);
  json_sdp_attributes(j, s.attributes());
  json_sdp_extensions(j, s.extensions());
  j.key("media");
  j.begin_array();
  for (const auto& m : s.media()) {
    j.begin_object();
    j.member("media", m.media);
    j.member("port", std::uint64_t{m.port});
    j.member("proto", m.proto);
    j.key("fmts");
    j.begin_array();
    for (auto f : s.fmts(m)) j.value(f);
    j.end_array();
    if (!s.connections(m).empty()) j.member("connection", s.connections(m).front().address);
    j.member("direction", sipkit::sdp::to_string(s.direction_of(m)));
    json_sdp_attributes(j, s.attributes(m));
    json_sdp_extensions(j, s.extensions(m));
    j.end_object();
  }
  j.end_array();
  j.end_object();
}
#endif

/// One JSON object on one line.
void print_json(std::string& out, const sp::message_view& m, std::string_view input,
                std::size_t frame, std::size_t offset, std::size_t ignored_trailing) {
  json j(out);
  j.begin_object();
  j.member("input", input);
  j.member("frame", std::uint64_t{frame});
  j.member("offset", std::uint64_t{offset});
  j.member("length", std::uint64_t{m.bytes().size()});
  if (m.is_request()) {
    j.member("type", "request");
    j.member("method", m.method_text());
    j.key("request_uri");
    json_uri(j, m.request_uri());
  } else {
    j.member("type", "response");
    j.member("status_code", static_cast<std::uint64_t>(m.status_code()));
    j.member("reason", m.reason_phrase());
  }
  j.member("version", m.sip_version());

  j.key("headers");
  j.begin_array();
  for (const auto& h : m.headers()) {
    j.begin_object();
    j.member("name", h.name);
    j.member("value", h.value);
    j.end_object();
  }
  j.end_array();

  j.key("via");
  j.begin_array();
  for (const auto& v : m.vias()) {
    j.begin_object();
    j.member("transport", v.transport);
    j.member("host", v.host);
    if (v.port != 0) j.member("port", std::uint64_t{v.port});
    j.opt("branch", v.branch);
    j.opt("received", v.received);
    if (v.has_rport) j.member("rport", v.rport);
    j.opt("maddr", v.maddr);
    j.opt("ttl", v.ttl);
    j.opt("params", v.params);
    j.end_object();
  }
  j.end_array();

  if (const auto* a = m.from()) {
    j.key("from");
    json_address(j, *a);
  }
  if (const auto* a = m.to()) {
    j.key("to");
    json_address(j, *a);
  }
  if (m.find(sp::header_id::call_id) != nullptr) j.member("call_id", m.call_id());
  if (const auto* c = m.cseq()) {
    j.key("cseq");
    j.begin_object();
    j.member("number", std::uint64_t{c->number});
    j.member("method", c->method_text);
    j.end_object();
  }
  if (auto v = m.max_forwards()) j.member("max_forwards", std::uint64_t{*v});
  if (auto v = m.expires()) j.member("expires", std::uint64_t{*v});
  if (auto v = m.content_length()) j.member("content_length", std::uint64_t{*v});

  const std::pair<sp::header_id, std::string_view> lists[] = {
      {sp::header_id::contact, "contact"},
      {sp::header_id::route, "route"},
      {sp::header_id::record_route, "record_route"}};
  for (const auto& [id, name] : lists) {
    if (m.find(id) == nullptr) continue;
    j.key(name);
    j.begin_array();
    for (const auto& a : m.addresses())
      if (a.header == id) json_address(j, a);
    j.end_array();
  }

  if (!m.auths().empty()) {
    j.key("auth");
    j.begin_array();
    for (const auto& a : m.auths()) {
      j.begin_object();
      j.member("header", sp::header_name(a.header));
      j.member("scheme", a.scheme);
      j.opt("username", a.username);
      j.opt("realm", a.realm);
      j.opt("nonce", a.nonce);
      j.opt("uri", a.uri);
      j.opt("response", a.response);
      j.opt("algorithm", a.algorithm);
      j.opt("cnonce", a.cnonce);
      j.opt("opaque", a.opaque);
      j.opt("qop", a.qop);
      j.opt("nc", a.nc);
      j.opt("stale", a.stale);
      j.opt("domain", a.domain);
      j.opt("userhash", a.userhash);
      j.member("params", a.params);
      j.end_object();
    }
    j.end_array();
  }

  if (const auto* ct = m.content_type()) {
    j.key("content_type");
    j.begin_object();
    j.member("type", ct->type);
    j.member("subtype", ct->subtype);
    j.opt("params", ct->params);
    j.end_object();
  }
  j.key("body");
  j.begin_object();
  j.member("length", std::uint64_t{m.body().size()});
  j.member("text", m.body());
  j.end_object();
#ifdef SIPDUMP_WITH_SDP
  if (is_sdp(m) && !m.body().empty()) json_sdp(j, m.body());
#endif
  if (ignored_trailing != 0) j.member("ignored_trailing_bytes", std::uint64_t{ignored_trailing});
  j.end_object();
  out += '\n';
}

// ------------------------------------------------------------------ driver

struct options {
  bool stream = false;
  bool json = false;
  std::vector<std::string> inputs;
};

class dumper {
 public:
  explicit dumper(const options& opt) : opt_(opt), view_(std::make_unique<sp::message_view>()) {}

  /// Returns false when the input could not be read or a message did not parse.
  bool run(const std::string& input) {
    const bool is_stdin = input == "-";
    name_ = is_stdin ? std::string("<stdin>") : input;
    std::FILE* f = is_stdin ? stdin : std::fopen(input.c_str(), "rb");
    if (f == nullptr) {
      std::fprintf(stderr, "sipdump: %s: %s\n", name_.c_str(), std::strerror(errno));
      return false;
    }
    const bool ok = opt_.stream ? run_stream(f) : run_datagram(f);
    if (!is_stdin) std::fclose(f);
    return ok;
  }

 private:
  bool read_error(std::FILE* f) {
    if (!std::ferror(f)) return false;
    std::fprintf(stderr, "sipdump: %s: read error: %s\n", name_.c_str(), std::strerror(errno));
    return true;
  }

  bool fail(const sp::parse_error& err) {
    std::fflush(stdout);
    std::fprintf(stderr, "sipdump: %s: %s\n", name_.c_str(), err.message().c_str());
    return false;
  }

  /// The whole input is one datagram: bytes after Content-Length are ignored, no
  /// Content-Length means the body runs to the end (RFC 3261 §18.3).
  bool run_datagram(std::FILE* f) {
    std::string bytes;
    char chunk[16384];
    std::size_t n = 0;
    while ((n = std::fread(chunk, 1, sizeof chunk, f)) > 0) bytes.append(chunk, n);
    if (read_error(f)) return false;
    if (auto err = sp::parse_message(bytes, *view_, limits_, sp::framing::datagram))
      return fail(err);
    emit(0, bytes.size() - view_->bytes().size());
    return true;
  }

  /// A TCP-style stream, read and framed chunk by chunk as a transport would.
  bool run_stream(std::FILE* f) {
    sp::stream_framer framer(limits_);
    bool ok = true;
    std::size_t pings = 0;
    char chunk[4096];
    sp::parse_error last;
    for (;;) {
      const std::size_t n = std::fread(chunk, 1, sizeof chunk, f);
      if (n == 0) break;
      framer.feed(std::string_view(chunk, n));
      for (;;) {
        auto r = framer.next();
        for (; pings < framer.pings_received(); ++pings) emit_keepalive();
        if (r.error.code == sp::errc::need_more) {
          last = r.error;
          break;
        }
        if (r.error) return fail(r.error);  // framing lost: the rest of the stream is unusable
        // framer.stream_offset() is now just past this message.
        const std::size_t offset = framer.stream_offset() - r.message.size();
        if (auto err = sp::parse_message(r.message, *view_, limits_, sp::framing::stream)) {
          err.offset += offset;  // report where it is in the stream, not in the message
          ok = fail(err);        // the framing is intact: carry on with the next message
          continue;
        }
        emit(offset, 0);
      }
    }
    if (read_error(f)) return false;
    // Anything left is a message the stream ended in the middle of.
    if (framer.buffered() != 0) return fail(last);
    return ok;
  }

  void emit(std::size_t offset, std::size_t ignored_trailing) {
    ++frame_;
    std::string out;
    if (opt_.json) {
      print_json(out, *view_, name_, frame_, offset, ignored_trailing);
    } else {
      if (frame_ > 1) out += '\n';
      out += "Frame " + std::to_string(frame_) + ": " + printable(name_);
      if (opt_.stream) out += ", stream offset " + std::to_string(offset);
      out += ", " + std::to_string(view_->bytes().size()) + " bytes\n";
      print_tree(out, *view_, ignored_trailing);
    }
    std::fwrite(out.data(), 1, out.size(), stdout);
    std::fflush(stdout);
  }

  void emit_keepalive() {
    std::string out;
    if (opt_.json) {
      json j(out);
      j.begin_object();
      j.member("input", name_);
      j.member("type", "keepalive");
      j.end_object();
      out += '\n';
    } else {
      out = "Keep-alive: CRLFCRLF ping (RFC 5626 section 4.4.1)\n";
    }
    std::fwrite(out.data(), 1, out.size(), stdout);
  }

  const options& opt_;
  sp::parser_limits limits_;
  std::unique_ptr<sp::message_view> view_;  // tens of KiB: reused across messages
  std::string name_;
  std::size_t frame_ = 0;
};

void usage(std::FILE* to) {
  std::fputs(
      "usage: sipdump [--stream] [--json] [FILE...]\n"
      "Print SIP messages as a protocol tree. With no FILE, or FILE \"-\", read stdin.\n"
      "  --stream  the input is a TCP-style stream of messages (Content-Length required,\n"
      "            CRLF keep-alives allowed); otherwise each file is one datagram\n"
      "  --json    one JSON object per message instead of the tree\n"
      "Exit status: 0 all parsed, 1 an input failed (reason and offset on stderr), 2 usage.\n",
      to);
}

}  // namespace

int main(int argc, char** argv) {
  options opt;
  bool only_files = false;
  for (int i = 1; i < argc; ++i) {
    const std::string_view arg = argv[i];
    if (only_files || arg == "-" || arg.empty() || arg[0] != '-') {
      opt.inputs.emplace_back(arg);
    } else if (arg == "--") {
      only_files = true;
    } else if (arg == "--stream") {
      opt.stream = true;
    } else if (arg == "--json") {
      opt.json = true;
    } else if (arg == "-h" || arg == "--help") {
      usage(stdout);
      return 0;
    } else {
      std::fprintf(stderr, "sipdump: unknown option %s\n", argv[i]);
      usage(stderr);
      return 2;
    }
  }
  if (opt.inputs.empty()) opt.inputs.emplace_back("-");

  dumper d(opt);
  bool ok = true;
  for (const auto& input : opt.inputs) ok = d.run(input) && ok;
  return ok ? 0 : 1;
}
