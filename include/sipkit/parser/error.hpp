// Parser errors: values, not exceptions.
//
// Every failed parse yields a `parse_error`: an error code (usable as a
// std::error_code through make_error_code), the byte offset in the input where the
// parser stopped, and a short static reason naming the element that failed
// ("Via header", "Request-URI", ...). `errc::need_more` is the only retryable code:
// a stream framer returns it while a message is still incomplete.
//
// Thread safety: all types here are plain values; the category is a stateless singleton.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>
#include <system_error>

namespace sipkit::parser {

enum class errc {
  ok = 0,
  need_more,             ///< incomplete input on a stream; feed more bytes and retry
  syntax,                ///< the bytes do not follow the RFC grammar at `offset`
  message_too_large,     ///< exceeds parser_limits::max_message_size
  too_many_headers,      ///< exceeds parser_limits::max_headers (or a typed-value table)
  line_too_long,         ///< a header line exceeds parser_limits::max_line_length
  uri_too_long,          ///< a URI exceeds parser_limits::max_uri_length
  body_too_large,        ///< Content-Length exceeds parser_limits::max_body_size
  missing_content_length,///< stream transport and no Content-Length (RFC 3261 §18.3)
  truncated_body,        ///< Content-Length promises more bytes than the datagram holds
  bad_content_length,    ///< several differing Content-Length values on a stream
  value_out_of_range,    ///< a number overflows its field (CSeq, Max-Forwards, Expires ...)
};

/// The category of sipkit parser errors ("sipkit.parser").
const std::error_category& parser_category() noexcept;

inline std::error_code make_error_code(errc e) noexcept {
  return {static_cast<int>(e), parser_category()};
}

/// Human-readable name of a code, e.g. "syntax error".
std::string_view to_string(errc e) noexcept;

/// Where and why a parse failed. `reason` points to static storage.
struct parse_error {
  errc code = errc::ok;
  std::size_t offset = 0;       ///< byte offset into the input where parsing stopped
  std::string_view reason;      ///< the grammar element being parsed, e.g. "CSeq header"

  explicit operator bool() const noexcept { return code != errc::ok; }
  std::error_code error_code() const noexcept { return make_error_code(code); }
  /// "syntax error in Via header at offset 123"
  std::string message() const;
};

}  // namespace sipkit::parser

template <>
struct std::is_error_code_enum<sipkit::parser::errc> : std::true_type {};
