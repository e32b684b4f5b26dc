// Shared by examples/gb28181_platform and examples/gb28181_device: the GB/T 28181 pieces
// that are not SIP — 20-digit IDs, the SSRC rule, the GB28181 form of the Date header and
// just enough MANSCDP (the XML carried in MESSAGE bodies) to write and read keepalives and
// catalogs. No XML library: elements are found with bounded string searches. Copy it along
// with the example you start from.
//
// GB28181 IDs are 20 decimal digits: centre code (8) and industry code (2), whose ten digits
// name the SIP domain and the digest realm ("3402000000"), then a type (3 digits: 132 an IPC,
// 131 a camera channel, 200 a SIP server), a network digit and a 6-digit serial number.
#pragma once

#include <charconv>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <ctime>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "sipkit/parser/headers.hpp"

namespace gb28181 {

/// The Content-Type of MANSCDP bodies (GB/T 28181 §A.2 writes it this way; compare it
/// case-insensitively, media types are).
constexpr std::string_view manscdp_type = "Application/MANSCDP+xml";
/// Larger MANSCDP bodies are not read at all: every search below is bounded by this.
constexpr std::size_t max_body = 64 * 1024;

inline bool is_id(std::string_view id) {
  if (id.size() != 20) return false;
  for (char c : id)
    if (c < '0' || c > '9') return false;
  return true;
}

/// Channel k of a device: the device's first ten digits (its domain), type 131 (camera),
/// network 0, then the six-digit serial number.
inline std::string channel_id(std::string_view device_id, int k) {
  char serial[16];
  std::snprintf(serial, sizeof serial, "%06d", k);
  return std::string(device_id.substr(0, 10)) + "1310" + serial;
}

/// The SSRC of a live stream (GB/T 28181 Annex F): "0" for live (1 is playback), digits 4-8
/// of the platform's ID (its domain), then four digits numbering the streams of the domain.
inline std::string live_ssrc(std::string_view platform_id, unsigned n) {
  char seq[8];
  std::snprintf(seq, sizeof seq, "%04u", n % 10000);
  return "0" + std::string(platform_id.substr(3, 5)) + seq;
}

/// The Date of a REGISTER's 200 in the GB28181 form "2026-12-02T13:00:00.000" (local time,
/// no zone), which devices set their clocks from. Not RFC 3261's RFC 1123 form.
inline std::string date_now() {
  const auto now = std::chrono::system_clock::now();
  const std::time_t secs = std::chrono::system_clock::to_time_t(now);
  const auto ms =
      std::chrono::duration_cast<std::chrono::milliseconds>(now.time_since_epoch()) % 1000;
  std::tm t{};
  localtime_r(&secs, &t);
  char out[80];  // room for any int the compiler can imagine in each field
  std::snprintf(out, sizeof out, "%04d-%02d-%02dT%02d:%02d:%02d.%03d", t.tm_year + 1900,
                t.tm_mon + 1, t.tm_mday, t.tm_hour, t.tm_min, t.tm_sec,
                static_cast<int>(ms.count()));
  return out;
}

/// The time a GB28181 Date names ("2026-12-02T13:00:00.000", local time; the milliseconds
/// may be left out), or nullopt when `text` is not in that form.
inline std::optional<std::chrono::system_clock::time_point> read_date(std::string_view text) {
  const std::string t(text);  // sscanf wants a terminated string
  int y = 0, mo = 0, d = 0, h = 0, mi = 0, s = 0, used = 0;
  if (std::sscanf(t.c_str(), "%4d-%2d-%2dT%2d:%2d:%2d%n", &y, &mo, &d, &h, &mi, &s, &used) != 6)
    return std::nullopt;
  std::string_view rest = text.substr(static_cast<std::size_t>(used));
  int ms = 0;
  if (!rest.empty()) {
    const auto digits = rest.substr(1);
    if (rest.front() != '.' || digits.size() != 3 ||
        std::from_chars(digits.data(), digits.data() + 3, ms).ptr != digits.data() + 3)
      return std::nullopt;
  }
  std::tm when{};
  when.tm_year = y - 1900;
  when.tm_mon = mo - 1;
  when.tm_mday = d;
  when.tm_hour = h;
  when.tm_min = mi;
  when.tm_sec = s;
  when.tm_isdst = -1;  // local time, whatever daylight saving says then
  const std::time_t secs = std::mktime(&when);
  if (secs == static_cast<std::time_t>(-1)) return std::nullopt;
  return std::chrono::system_clock::from_time_t(secs) + std::chrono::milliseconds(ms);
}

// ---------------------------------------------------------------- MANSCDP, minimally
// An element is found by searching for "<Tag" followed by '>', '/' or white space, then for
// the next "</Tag>". No entities are decoded; comments, CDATA and an element nested in one
// of its own name are not understood (MANSCDP has none).

struct element {
  std::string_view attributes;  ///< between the tag name and '>'
  std::string_view text;        ///< the content, white space trimmed
  std::size_t end = 0;          ///< offset just past the closing tag
};

inline std::string_view trim(std::string_view s) {
  const auto space = [](char c) { return c == ' ' || c == '\t' || c == '\r' || c == '\n'; };
  while (!s.empty() && space(s.front())) s.remove_prefix(1);
  while (!s.empty() && space(s.back())) s.remove_suffix(1);
  return s;
}

inline std::optional<element> find_element(std::string_view xml, std::string_view tag,
                                           std::size_t from = 0) {
  for (auto at = xml.find('<', from); at != std::string_view::npos; at = xml.find('<', at + 1)) {
    const std::string_view rest = xml.substr(at + 1);
    if (rest.size() <= tag.size() || !rest.starts_with(tag)) continue;
    const char after = rest[tag.size()];
    if (after != '>' && after != '/' && after != ' ' && after != '\t' && after != '\r' &&
        after != '\n')
      continue;
    const auto open_end = xml.find('>', at);
    if (open_end == std::string_view::npos) return std::nullopt;
    element e;
    const auto name_end = at + 1 + tag.size();
    e.attributes = xml.substr(name_end, open_end - name_end);
    if (!e.attributes.empty() && e.attributes.back() == '/') {  // <Tag/>
      e.end = open_end + 1;
      return e;
    }
    for (auto close = xml.find("</", open_end); close != std::string_view::npos;
         close = xml.find("</", close + 2)) {
      const std::string_view c = xml.substr(close + 2);
      if (c.size() > tag.size() && c.starts_with(tag) && c[tag.size()] == '>') {
        e.text = trim(xml.substr(open_end + 1, close - open_end - 1));
        e.end = close + 2 + tag.size() + 1;
        return e;
      }
    }
    return std::nullopt;
  }
  return std::nullopt;
}

/// The text of <tag> inside `xml`; empty when absent.
inline std::string_view text_of(std::string_view xml, std::string_view tag) {
  auto e = find_element(xml, tag);
  return e ? e->text : std::string_view{};
}

inline std::optional<std::uint32_t> to_uint(std::string_view text) {
  std::uint32_t n = 0;
  const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), n);
  if (text.empty() || ec != std::errc{} || end != text.data() + text.size()) return std::nullopt;
  return n;
}

/// Parameters (;charset=...) are ignored.
inline bool is_manscdp(std::string_view content_type) {
  return sipkit::parser::iequals(trim(content_type.substr(0, content_type.find(';'))),
                                 manscdp_type);
}

/// Peer text for the terminal: bounded, control characters replaced.
inline std::string printable(std::string_view s, std::size_t max = 64) {
  std::string out(s.substr(0, max));
  for (char& c : out)
    if (static_cast<unsigned char>(c) < 0x20 || c == 0x7f) c = '?';
  return out;
}

/// A MANSCDP command: <Root><CmdType>..</CmdType><SN>..</SN><DeviceID>..</DeviceID> + more.
inline std::string command(std::string_view root, std::string_view cmd, std::uint32_t sn,
                           std::string_view device_id, std::string_view more = {}) {
  std::string x = "<?xml version=\"1.0\" encoding=\"GB2312\"?>\r\n<" + std::string(root) + ">\r\n";
  x += "<CmdType>" + std::string(cmd) + "</CmdType>\r\n<SN>" + std::to_string(sn) + "</SN>\r\n";
  x += "<DeviceID>" + std::string(device_id) + "</DeviceID>\r\n" + std::string(more);
  return x + "</" + std::string(root) + ">\r\n";
}

/// The fields of a MANSCDP body that every command has.
struct command_view {
  std::string_view root;  ///< "Notify", "Query", "Response" or "Control"
  std::string_view cmd_type, device_id, content;
  std::optional<std::uint32_t> sn;
};

inline std::optional<command_view> read_command(std::string_view body) {
  if (body.size() > max_body) return std::nullopt;
  for (std::string_view root : {"Notify", "Query", "Response", "Control"}) {
    if (auto e = find_element(body, root)) {
      return command_view{root, text_of(e->text, "CmdType"), text_of(e->text, "DeviceID"), e->text,
                          to_uint(text_of(e->text, "SN"))};
    }
  }
  return std::nullopt;
}

// ---------------------------------------------------------------- SDP, the GB28181 lines
/// The value of the first "<letter>=" line of an SDP body ("y", "f", "s"), or empty.
inline std::string_view sdp_line(std::string_view sdp, char letter) {
  std::size_t at = 0;
  while (at < sdp.size()) {
    auto eol = sdp.find('\n', at);
    if (eol == std::string_view::npos) eol = sdp.size();
    std::string_view line = sdp.substr(at, eol - at);
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    if (line.size() >= 2 && line[0] == letter && line[1] == '=') return line.substr(2);
    at = eol + 1;
  }
  return {};
}

}  // namespace gb28181
