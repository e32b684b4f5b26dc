#include "sipkit/parser/stream_framer.hpp"

#include <cstring>

#include "sipkit/parser/headers.hpp"
#include "sipkit/parser/uri.hpp"

namespace sipkit::parser {
namespace {

bool is_wsp(char c) { return c == ' ' || c == '\t'; }

struct content_length {
  // -1 when absent, -2 when the value is not a number, -3 when several lines disagree,
  // -4 when it exceeds the body limit.
  long long value = -1;
  std::size_t at = 0;  // offset in the header block of the value at fault
};

// Finds Content-Length (or its compact form "l") in a complete header block. Only
// names are compared; the value must be digits. Lines end in LF (a CR before it is part
// of the CRLF, and a bare LF is left for the parser to judge).
content_length find_content_length(std::string_view head, std::size_t max_body) {
  long long found = -1;
  std::size_t pos = head.find('\n');  // skip the start line
  while (pos != std::string_view::npos && pos + 1 < head.size()) {
    std::size_t line = pos + 1;
    std::size_t eol = head.find('\n', line);
    if (eol == std::string_view::npos) eol = head.size();
    std::size_t colon = head.find(':', line);
    if (colon != std::string_view::npos && colon < eol && !is_wsp(head[line])) {
      std::size_t name_end = colon;
      while (name_end > line && is_wsp(head[name_end - 1])) --name_end;
      std::string_view name = head.substr(line, name_end - line);
      if (lookup_header(name) == header_id::content_length) {
        std::size_t v = colon + 1;
        // The value may start on a folded continuation line.
        while (v < head.size() && (is_wsp(head[v]) || head[v] == '\r' || head[v] == '\n')) ++v;
        const std::size_t value_at = v;
        unsigned long long n = 0;
        std::size_t digits = 0;
        while (v < head.size() && head[v] >= '0' && head[v] <= '9') {
          n = n * 10 + static_cast<unsigned>(head[v] - '0');
          if (n > max_body) return {-4, value_at};
          ++v;
          ++digits;
        }
        if (digits == 0) return {-2, value_at};
        if (found >= 0 && found != static_cast<long long>(n)) return {-3, value_at};
        found = static_cast<long long>(n);
      }
    }
    pos = eol;
  }
  return {found, 0};
}

// The end of the header block at or after `from`: the offset just past the blank line, or
// npos. A blank line is CRLF CRLF; with bare LF allowed also LF LF and LF CRLF (a header
// block in CRLF has neither before its CRLFCRLF, so both readings agree on it).
std::size_t find_head_end(std::string_view buf, std::size_t from, bool bare_lf) {
  if (!bare_lf) {
    const std::size_t at = buf.find("\r\n\r\n", from);
    return at == std::string_view::npos ? at : at + 4;
  }
  for (std::size_t at = buf.find('\n', from); at != std::string_view::npos;
       at = buf.find('\n', at + 1)) {
    if (at + 1 < buf.size() && buf[at + 1] == '\n') return at + 2;
    if (at + 2 < buf.size() && buf[at + 1] == '\r' && buf[at + 2] == '\n') return at + 3;
  }
  return std::string_view::npos;
}

}  // namespace

void stream_framer::feed(std::string_view bytes) {
  if (failed_) return;
  // Drop what earlier results handed out; their views are documented as invalid now.
  if (consumed_ > 0) {
    buf_.erase(0, consumed_);
    base_offset_ += consumed_;
    scan_from_ -= std::min(scan_from_, consumed_);
    consumed_ = 0;
  }
  buf_.append(bytes.data(), bytes.size());
}

stream_framer::result stream_framer::next() {
  if (failed_) return {failure_, {}};
  auto fail = [&](errc code, std::size_t offset, const char* reason) {
    failed_ = true;
    failure_ = {code, base_offset_ + offset, reason};
    return result{failure_, {}};
  };

  // RFC 5626 §4.4.1: CRLF between messages is keep-alive traffic, not a message.
  while (consumed_ + 1 < buf_.size() && buf_[consumed_] == '\r' && buf_[consumed_ + 1] == '\n') {
    consumed_ += 2;
    if (++crlf_run_ == 2) {
      ++pings_;
      crlf_run_ = 0;
    }
    scan_from_ = consumed_;
  }
  if (consumed_ < buf_.size() && buf_[consumed_] != '\r') crlf_run_ = 0;
  if (consumed_ >= buf_.size() ||
      (buf_.size() - consumed_ == 1 && buf_[consumed_] == '\r'))
    return {{errc::need_more, base_offset_ + buf_.size(), "message start"}, {}};

  std::string_view view(buf_);
  if (scan_from_ < consumed_) scan_from_ = consumed_;
  std::size_t head_end = find_head_end(
      view, scan_from_ >= 3 + consumed_ ? scan_from_ - 3 : consumed_, options_.bare_lf);
  if (head_end == std::string_view::npos) {
    if (buf_.size() - consumed_ > limits_.max_message_size)
      return fail(errc::message_too_large, consumed_, "header block");
    scan_from_ = buf_.size();
    return {{errc::need_more, base_offset_ + buf_.size(), "header block"}, {}};
  }
  const std::size_t head_size = head_end - consumed_;
  if (head_size > limits_.max_message_size) return fail(errc::message_too_large, consumed_, "header block");

  const content_length found =
      find_content_length(view.substr(consumed_, head_size), limits_.max_body_size);
  const long long cl = found.value;
  const std::size_t cl_at = consumed_ + found.at;  // the value at fault, not the message start
  if (cl == -1) return fail(errc::missing_content_length, consumed_, "Content-Length header");
  if (cl == -2) return fail(errc::syntax, cl_at, "Content-Length header");
  if (cl == -3) return fail(errc::bad_content_length, cl_at, "Content-Length header");
  if (cl == -4) return fail(errc::body_too_large, cl_at, "Content-Length header");
  const std::size_t total = head_size + static_cast<std::size_t>(cl);
  if (total > limits_.max_message_size) return fail(errc::message_too_large, consumed_, "message");
  if (buf_.size() - consumed_ < total)
    return {{errc::need_more, base_offset_ + buf_.size(), "message body"}, {}};

  std::string_view message = view.substr(consumed_, total);
  consumed_ += total;
  scan_from_ = consumed_;
  crlf_run_ = 0;
  return {{}, message};
}

}  // namespace sipkit::parser
