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

namespace sipkit::parser {

/// Field tolerances: inputs RFC 3261 refuses but devices in the field send, and that
/// other stacks (PJSIP, Sofia-SIP, Kamailio) accept. Each is on by default; a strict user
/// turns it off (or starts from `parser_options::strict()`), and the input is then a syntax
/// error at the offending byte. None of them makes an RFC 4475 "reject" message parse.
/// Plain value, thread-safe to share.
struct parser_options {
  /// '_' inside a host name label, where '-' may stand ("sip:my_proxy09.example.com"), as
  /// container and cloud tooling names hosts. RFC 3261 §25.1 allows letters, digits and '-'.
  bool underscore_in_host = true;
  /// A Status-Line without a Reason-Phrase, with or without the SP before CRLF
  /// ("SIP/2.0 200\r\n"). RFC 3261 §25.1 requires the SP; the phrase may be empty.
  bool status_line_without_reason = true;
  /// Empty elements in comma lists of tokens (Require, Supported, Proxy-Require,
  /// Unsupported, Allow): "Supported: ,outbound", "outbound,,path", "path,".
  bool empty_list_elements = true;
  /// One ';' after the last parameter of From, To, Contact, Route, Record-Route
  /// ("From: <sip:a@b>;tag=1;"). Only one: ";;" stays an error (RFC 4475 badinv01).
  bool trailing_semicolon = true;
  /// LF without CR as a line end, and LF alone as the blank line ending the headers, in
  /// datagrams and streams. Messages sipkit builds always use CRLF.
  bool bare_lf = true;
  /// The three-colon IPv6 reference of RFC 3261's original ABNF ("[2001:db8:::192.0.2.1]"),
  /// which RFC 5118 §4.10 and RFC 5954 call a bug; the two-colon form is always accepted.
  bool ipv6_three_colons = true;

  /// Every tolerance off: RFC 3261 (as corrected by RFC 5954) and nothing more.
  static constexpr parser_options strict() noexcept {
    return {false, false, false, false, false, false};
  }
};

}  // namespace sipkit::parser
