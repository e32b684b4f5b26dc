// Splits a TCP/TLS byte stream into SIP messages (RFC 3261 §18.3).
//
//   stream_framer framer;
//   framer.feed(chunk);
//   for (;;) {
//     auto r = framer.next();
//     if (r.error.code == errc::need_more) break;       // wait for more bytes
//     if (r.error) { close_connection(r.error); break; } // the stream is unusable
//     handle(r.message);                                 // complete bytes of one message
//   }
//
// The framer finds the end of the header block, reads Content-Length (required on
// streams), and waits for the body; it does not validate the grammar, that is the
// one-pass parser's job (parse_message with framing::stream). CRLF sequences between
// messages are RFC 5626 §4.4.1 keep-alives: they are consumed, and every CRLFCRLF ping
// is counted so the transport can answer with a CRLF pong.
//
// The result is the same whatever the chunking of the input. Memory is bounded by
// parser_limits::max_message_size: a header block or body that would exceed it is an
// error (errc::message_too_large / body_too_large) and the connection should be closed.
//
// Ownership: the framer owns a buffer; `next().message` stays valid until the next
// call to feed() or next(). Thread safety: none (one framer per connection).
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

#include "sipkit/parser/error.hpp"
#include "sipkit/parser/limits.hpp"

namespace sipkit::parser {

class stream_framer {
 public:
  struct result {
    parse_error error;          ///< errc::need_more: incomplete, feed more bytes
    std::string_view message;   ///< one complete message when !error
  };

  /// `options.bare_lf` (on by default) also ends a header block on a bare-LF blank line;
  /// the one-pass parser given the same options then judges the lines.
  explicit stream_framer(const parser_limits& limits = {}, const parser_options& options = {})
      : limits_(limits), options_(options) {}

  void feed(std::string_view bytes);
  result next();

  /// CRLFCRLF keep-alive pings seen so far (answer each with one CRLF).
  std::size_t pings_received() const noexcept { return pings_; }
  /// Bytes buffered but not yet returned as a message.
  std::size_t buffered() const noexcept { return buf_.size() - consumed_; }
  /// Total stream offset of the first buffered byte (for error offsets).
  std::size_t stream_offset() const noexcept { return base_offset_ + consumed_; }

 private:
  parser_limits limits_;
  parser_options options_;
  std::string buf_;
  std::size_t consumed_ = 0;      ///< bytes of buf_ already handed out
  std::size_t base_offset_ = 0;   ///< stream offset of buf_[0]
  std::size_t scan_from_ = 0;     ///< where to resume looking for the header end
  std::size_t crlf_run_ = 0;      ///< CRLFs seen between messages
  std::size_t pings_ = 0;
  bool failed_ = false;
  parse_error failure_;
};

}  // namespace sipkit::parser
