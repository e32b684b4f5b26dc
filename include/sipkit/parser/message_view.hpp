// A parsed SIP message that points into the caller's buffer (zero copy).
//
//   sipkit::parser::message_view msg;
//   if (auto err = sipkit::parser::parse_message(bytes, msg)) {
//     log(err.message());            // "syntax error in Via header at offset 212"
//   } else if (msg.is_request()) {
//     auto branch = msg.top_via()->branch;
//   }
//
// Ownership: the view holds std::string_views into `bytes`; the buffer must outlive the
// view and every value read from it. Call `to_message()` (message.hpp) for an owning copy.
// Storage: all tables are inline arrays, so parsing allocates nothing; a message_view is
// large (about 29 KiB on x86-64) and meant to be reused across parses rather than copied.
// Thread safety: a view may be read from several threads; parsing into it is not
// synchronised.
//
// One pass: start line, every header name, and the typed values of the headers listed
// in headers.hpp are all taken in the same Ragel pass that validates the grammar.
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <span>
#include <string_view>

#include "sipkit/parser/error.hpp"
#include "sipkit/parser/headers.hpp"
#include "sipkit/parser/limits.hpp"
#include "sipkit/parser/uri.hpp"

namespace sipkit::parser {

/// One header line. `value` is the raw text after the colon (leading whitespace and the
/// final CRLF excluded, trailing whitespace excluded), byte for byte, folding included.
struct header_field_view {
  std::string_view name;   ///< as written ("v", "VIA", "X-Custom")
  std::string_view value;
  header_id id = header_id::extension;
};

/// How the body is delimited.
enum class framing : std::uint8_t {
  /// UDP: Content-Length optional (absent means "to the end"); octets after the body
  /// are ignored (RFC 3261 §18.3, RFC 4475 dblreq).
  datagram,
  /// TCP/TLS after stream_framer: Content-Length required and must match exactly.
  stream,
};

struct parse_state;

class message_view {
 public:
  static constexpr std::size_t header_capacity = 64;
  static constexpr std::size_t via_capacity = 64;
  static constexpr std::size_t address_capacity = 40;
  static constexpr std::size_t auth_capacity = 8;

  bool is_request() const noexcept { return status_code_ == 0; }
  bool is_response() const noexcept { return status_code_ != 0; }

  // Start line.
  std::string_view method_text() const noexcept { return method_text_; }
  sipkit::parser::method method() const noexcept { return method_; }
  const uri_view& request_uri() const noexcept { return request_uri_; }
  std::string_view sip_version() const noexcept { return version_; }  ///< "SIP/2.0"
  /// True when the version is SIP/2.0 (compared case-insensitively); else a UAS
  /// answers 505 (RFC 3261 §8.2.2... RFC 4475 badvers).
  bool is_sip_2_0() const noexcept;
  int status_code() const noexcept { return status_code_; }
  std::string_view reason_phrase() const noexcept { return reason_; }

  // All headers in order.
  std::span<const header_field_view> headers() const noexcept { return {headers_.data(), header_count_}; }
  /// First header with this id / name (case-insensitive, compact forms match), or nullptr.
  const header_field_view* find(header_id id) const noexcept;
  const header_field_view* find(std::string_view name) const noexcept;
  /// Number of header lines with this id (several for a single-value header is a 400).
  std::size_t count(header_id id) const noexcept;

  // Typed values (absent header -> nullptr / empty / nullopt).
  std::span<const via_view> vias() const noexcept { return {vias_.data(), via_count_}; }
  const via_view* top_via() const noexcept { return via_count_ ? &vias_[0] : nullptr; }
  const name_addr_view* from() const noexcept { return addr_or_null(from_index_); }
  const name_addr_view* to() const noexcept { return addr_or_null(to_index_); }
  std::string_view call_id() const noexcept { return call_id_; }
  const cseq_view* cseq() const noexcept { return has_cseq_ ? &cseq_ : nullptr; }
  std::optional<std::uint32_t> max_forwards() const noexcept;
  std::optional<std::uint32_t> expires() const noexcept;
  std::optional<std::size_t> content_length() const noexcept;
  const content_type_view* content_type() const noexcept { return has_ctype_ ? &ctype_ : nullptr; }
  /// Contact, Route and Record-Route entries in header order; filter by `header`.
  std::span<const name_addr_view> addresses() const noexcept { return {addrs_.data(), addr_count_}; }
  /// First Contact value, nullptr when none.
  const name_addr_view* contact() const noexcept;
  /// Authorization/Proxy-Authorization credentials and WWW-/Proxy-Authenticate challenges.
  std::span<const auth_view> auths() const noexcept { return {auths_.data(), auth_count_}; }
  /// Raw values of list headers (Require, Supported, Allow ...), first occurrence only;
  /// use headers() to see all lines.
  std::string_view raw(header_id id) const noexcept;
  /// True when any line of a comma-list header (Require, Supported, Proxy-Require,
  /// Unsupported, Allow) contains `token` (case-insensitive).
  bool list_contains(header_id id, std::string_view token) const noexcept;

  std::string_view body() const noexcept { return body_; }
  /// The bytes this message occupies in the input (start line through body).
  std::string_view bytes() const noexcept { return bytes_; }

 private:
  friend struct message_parser_access;
  friend struct parse_state;
  friend parse_error parse_message(std::string_view, message_view&, const parser_limits&, framing,
                                   const parser_options&);
  const name_addr_view* addr_or_null(std::int16_t i) const noexcept {
    return i < 0 ? nullptr : &addrs_[static_cast<std::size_t>(i)];
  }

  std::string_view bytes_, method_text_, version_, reason_, call_id_, body_;
  uri_view request_uri_;
  sipkit::parser::method method_ = method::unknown;
  int status_code_ = 0;
  cseq_view cseq_;
  bool has_cseq_ = false, has_ctype_ = false;
  std::int64_t max_forwards_ = -1, expires_ = -1, content_length_ = -1;
  content_type_view ctype_;
  std::int16_t from_index_ = -1, to_index_ = -1;
  std::size_t header_count_ = 0, via_count_ = 0, addr_count_ = 0, auth_count_ = 0;
  std::array<header_field_view, header_capacity> headers_;
  std::array<via_view, via_capacity> vias_;
  std::array<name_addr_view, address_capacity> addrs_;
  std::array<auth_view, auth_capacity> auths_;
};

/// Parse one complete message. On success `out` describes it; on failure `out` is
/// unspecified and the returned error names the reason and the byte offset.
/// With framing::datagram, bytes after Content-Length are ignored (not an error).
/// `options` selects the field tolerances (limits.hpp); all are on by default.
parse_error parse_message(std::string_view bytes, message_view& out,
                          const parser_limits& limits = {},
                          framing mode = framing::datagram,
                          const parser_options& options = {});

/// How many times the calling thread has run the SIP grammar: parse_message, parse_uri and
/// the stand-alone header parsers (parse_via, parse_name_addr, parse_cseq, parse_auth) each
/// count one run. For benchmarks and tests that count parse work per operation (take the
/// difference around it); a thread_local counter, so it costs no synchronisation and each
/// thread sees only its own runs.
std::uint64_t grammar_runs() noexcept;

}  // namespace sipkit::parser
