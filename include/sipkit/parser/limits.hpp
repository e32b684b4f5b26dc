// Bounds applied to every parse, so that nothing the network sends can make the
// parser read, store or wait for an unbounded amount of data.
//
// Defaults suit a SIP endpoint or proxy on the public Internet; raise them for
// test tools that need to carry unusual messages. Plain value, thread-safe to share.
#pragma once

#include <cstddef>
#include <cstdint>

namespace sipkit::parser {

struct parser_limits {
  /// Whole message (start line, headers and body). RFC 3261 §18.1.1 keeps UDP under
  /// 1300 bytes, but TCP carries bigger bodies (presence documents, MESSAGE with XML).
  std::size_t max_message_size = 64 * 1024;
  /// Header lines (a comma list counts once). The message view stores up to 64 inline
  /// (message_view::header_capacity); a higher limit is clamped to that.
  std::size_t max_headers = 64;
  /// One header line, counting its folded continuation lines.
  std::size_t max_line_length = 8 * 1024;
  /// Request-URI and every URI inside a header.
  std::size_t max_uri_length = 4 * 1024;
  /// Content-Length above this is rejected before waiting for the body.
  std::size_t max_body_size = 60 * 1024;
};

}  // namespace sipkit::parser
