// Top-Via fix-ups (RFC 3261 §18.2.1, RFC 3581 §4) and the 400 for malformed requests.
// No sockets here: everything is a function of bytes and addresses, tested directly.
#include <algorithm>
#include <cstdio>
#include <functional>
#include <string>
#include <vector>

#include "sipkit/parser/headers.hpp"
#include "sipkit/parser/uri.hpp"
#include "sipkit/transport/manager.hpp"

namespace sipkit::transport {
namespace {

bool is_wsp(char c) { return c == ' ' || c == '\t'; }

std::string_view trim(std::string_view s) {
  while (!s.empty() && is_wsp(s.front())) s.remove_prefix(1);
  while (!s.empty() && is_wsp(s.back())) s.remove_suffix(1);
  return s;
}

bool is_token_char(char c) {
  if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9')) return true;
  return std::string_view("-.!%*_+`'~").find(c) != std::string_view::npos;
}

// Safe to copy into a header we write: no control characters, so nothing the peer sent
// can break the framing of our response.
bool printable(std::string_view s) {
  return std::all_of(s.begin(), s.end(), [](char c) {
    auto u = static_cast<unsigned char>(c);
    return u == '\t' || (u >= 0x20 && u != 0x7f);
  });
}

}  // namespace

void replace_top_via(parser::message& m, std::string_view value) {
  // set() keeps the header's position when it is the only Via line; with several lines
  // push_front() inserts before the (new) first one, which is where the old one was.
  if (m.count(parser::header_id::via) <= 1) {
    m.set(parser::header_id::via, value);
  } else {
    m.remove_first(parser::header_id::via);
    m.push_front(parser::header_id::via, value);
  }
}

void compute_via_fixups(const parser::via_view& via, const endpoint& source,
                        std::string& received, std::optional<std::uint16_t>& rport) {
  received.clear();
  rport.reset();
  // RFC 3581 §4: an empty rport is filled with the source port, and received is added
  // even when the sent-by host already equals the source address.
  if (via.has_rport && via.rport.empty()) {
    rport = source.port;
    received = source.address.to_string();
    return;
  }
  // RFC 3261 §18.2.1: add received when sent-by (a name or another address) differs.
  bool same = false;
  if (via.host_type == parser::host_kind::ipv4 || via.host_type == parser::host_kind::ipv6) {
    auto a = parse_ip(via.host);
    same = a && *a == source.address;
  }
  if (!same) received = source.address.to_string();
}

std::string fixed_via_parm(const parser::via_view& via, std::string_view received,
                           std::optional<std::uint16_t> rport) {
  std::string_view raw = via.raw;
  std::string_view prefix = raw;
  const bool has_params = !via.params.empty() && via.params.data() > raw.data() &&
                          via.params.data() <= raw.data() + raw.size();
  if (has_params) {
    prefix = raw.substr(0, static_cast<std::size_t>(via.params.data() - raw.data()));
    // Drop the ';' (and any LWS around it) that introduced the parameters.
    while (!prefix.empty() && (prefix.back() == ';' || is_wsp(prefix.back())))
      prefix.remove_suffix(1);
  }
  std::string out(trim(prefix));
  bool received_done = received.empty();
  bool rport_done = !rport.has_value();
  if (has_params) {
    parser::param_list(via.params).for_each([&](const parser::param_list::param& p) {
      if (!received.empty() && parser::iequals(p.name, "received")) {
        if (!received_done) {
          out += ";received=";
          out += received;
          received_done = true;
        }
        return;
      }
      if (rport && parser::iequals(p.name, "rport")) {
        if (!rport_done) {
          out += ";rport=";
          out += std::to_string(*rport);
          rport_done = true;
        }
        return;
      }
      out += ';';
      out += p.name;
      if (p.has_value) {
        out += '=';
        out += p.value;
      }
    });
  }
  if (!received_done) {
    out += ";received=";
    out += received;
  }
  if (!rport_done) {
    out += ";rport=";
    out += std::to_string(*rport);
  }
  return out;
}

parser::message incoming_message::to_message() const {
  parser::message m = parser::message::from_view(*view);
  if (received.empty() && !rport) return m;
  const parser::via_view* v = view->top_via();
  if (v == nullptr || v->header_index >= view->headers().size()) return m;
  std::string_view line = view->headers()[v->header_index].value;
  std::string value;
  if (v->raw.data() >= line.data() && v->raw.data() + v->raw.size() <= line.data() + line.size()) {
    // Keep the other via-parms of a comma list as they were.
    const auto off = static_cast<std::size_t>(v->raw.data() - line.data());
    value.append(line.substr(0, off));
    value += fixed_via_parm(*v, received, rport);
    value.append(line.substr(off + v->raw.size()));
  } else {
    value = fixed_via_parm(*v, received, rport);
  }
  replace_top_via(m, value);
  return m;
}

std::optional<std::string> make_bad_request_response(std::string_view bytes, std::string_view why,
                                                     const endpoint& source) {
  // Read no further than a legal message could reach.
  bytes = bytes.substr(0, std::min<std::size_t>(bytes.size(), 64 * 1024));
  const std::size_t eol = bytes.find("\r\n");
  if (eol == std::string_view::npos) return std::nullopt;
  // Request-Line = Method SP Request-URI SP SIP-Version CRLF (RFC 3261 §7.1)
  const std::string_view start = bytes.substr(0, eol);
  const std::size_t sp1 = start.find(' ');
  const std::size_t sp2 = start.rfind(' ');
  if (sp1 == std::string_view::npos || sp1 == 0 || sp2 <= sp1 + 1) return std::nullopt;
  const std::string_view method = start.substr(0, sp1);
  const std::string_view version = start.substr(sp2 + 1);
  if (!std::all_of(method.begin(), method.end(), is_token_char)) return std::nullopt;
  if (method.size() >= 4 && parser::iequals(method.substr(0, 4), "SIP/")) return std::nullopt;
  if (version.size() < 4 || !parser::iequals(version.substr(0, 4), "SIP/")) return std::nullopt;
  // RFC 3261 §17.2.1 / §8.2: an ACK is never answered.
  if (method == "ACK") return std::nullopt;

  struct line_t {
    parser::header_id id;
    std::string name;
    std::string value;
  };
  std::vector<line_t> lines;
  std::size_t pos = eol + 2;
  for (int guard = 0; guard < 256 && pos < bytes.size(); ++guard) {
    std::size_t e = bytes.find("\r\n", pos);
    if (e == std::string_view::npos) e = bytes.size();
    std::string_view line = bytes.substr(pos, e - pos);
    pos = e + 2;
    if (line.empty()) break;
    if (is_wsp(line.front())) {  // folded continuation (RFC 3261 §7.3.1)
      if (!lines.empty()) {
        lines.back().value += ' ';
        lines.back().value.append(trim(line));
      }
      continue;
    }
    const std::size_t colon = line.find(':');
    if (colon == std::string_view::npos) continue;
    const std::string_view name = trim(line.substr(0, colon));
    const parser::header_id id = parser::lookup_header(name);
    switch (id) {
      case parser::header_id::via:
      case parser::header_id::from:
      case parser::header_id::to:
      case parser::header_id::call_id:
      case parser::header_id::cseq:
        lines.push_back({id, std::string(parser::header_name(id)), std::string(trim(line.substr(colon + 1)))});
        break;
      default:
        break;
    }
  }

  auto first = [&](parser::header_id id) -> const line_t* {
    for (const auto& l : lines)
      if (l.id == id && printable(l.value) && !l.value.empty()) return &l;
    return nullptr;
  };
  const line_t* top = first(parser::header_id::via);
  if (top == nullptr) return std::nullopt;
  parser::via_view via;
  if (parser::parse_via(top->value, via)) return std::nullopt;

  std::string received;
  std::optional<std::uint16_t> rport;
  compute_via_fixups(via, source, received, rport);

  std::string reason;
  for (char c : why.substr(0, std::min<std::size_t>(why.size(), 120)))
    reason += (static_cast<unsigned char>(c) >= 0x20 && c != 0x7f) ? c : ' ';
  std::string out = "SIP/2.0 400 Bad Request";
  if (!reason.empty()) out += " (" + reason + ")";
  out += "\r\n";
  bool top_done = false;
  for (const auto& l : lines) {
    if (l.id != parser::header_id::via || !printable(l.value)) continue;
    out += "Via: ";
    if (!top_done) {
      const std::string_view v = top->value;
      const auto off = static_cast<std::size_t>(via.raw.data() - v.data());
      out.append(v.substr(0, off));
      out += fixed_via_parm(via, received, rport);
      out.append(v.substr(off + via.raw.size()));
      top_done = true;
    } else {
      out += l.value;
    }
    out += "\r\n";
  }
  if (const line_t* f = first(parser::header_id::from)) out += "From: " + f->value + "\r\n";
  if (const line_t* t = first(parser::header_id::to)) {
    out += "To: " + t->value;
    // RFC 3261 §8.2.6.2: a final response carries a To tag.
    std::string lower;
    for (char c : t->value) lower += static_cast<char>((c >= 'A' && c <= 'Z') ? c + 32 : c);
    if (lower.find(";tag=") == std::string::npos && lower.find("; tag=") == std::string::npos) {
      char tag[24];
      std::snprintf(tag, sizeof tag, ";tag=sk%08zx",
                    std::hash<std::string_view>{}(bytes) & 0xffffffffu);
      out += tag;
    }
    out += "\r\n";
  }
  if (const line_t* c = first(parser::header_id::call_id)) out += "Call-ID: " + c->value + "\r\n";
  if (const line_t* c = first(parser::header_id::cseq)) out += "CSeq: " + c->value + "\r\n";
  out += "Content-Length: 0\r\n\r\n";
  return out;
}

}  // namespace sipkit::transport
