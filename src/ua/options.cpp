// The rule for the application's headers and bodies (options.hpp), in one place.
#include "options.hpp"

#include "sipkit/parser/headers.hpp"
#include "sipkit/parser/uri.hpp"

namespace sipkit::ua::detail {

using parser::header_id;

namespace {

// The headers the stack writes itself: an application's copy would contradict them (a
// second Via, CSeq or Content-Length breaks the message; RFC 3261 §7.3.1 allows repeated
// lines only for list headers). In a call the session also writes Contact (§12.1) and the
// 100rel module RSeq / RAck (RFC 3262).
bool written_by_stack(std::string_view name, options_scope scope) {
  switch (parser::lookup_header(name)) {
    case header_id::via:
    case header_id::from:
    case header_id::to:
    case header_id::call_id:
    case header_id::cseq:
    case header_id::max_forwards:
    case header_id::route:
    case header_id::content_type:
    case header_id::content_length:
      return true;
    case header_id::contact:
      return scope == options_scope::call;
    default:
      break;
  }
  return scope == options_scope::call &&
         (parser::iequals(name, "RSeq") || parser::iequals(name, "RAck"));
}

}  // namespace

std::error_code check_message(const header_list& headers, std::string_view content_type,
                              std::string_view body, options_scope scope,
                              std::initializer_list<std::string_view> more) {
  const auto refused = std::make_error_code(std::errc::invalid_argument);
  for (const auto& [name, value] : headers)
    if (written_by_stack(name, scope) || !parser::is_token(name) || has_line_break(value))
      return refused;
  if (has_line_break(content_type) || (!body.empty() && content_type.empty())) return refused;
  for (auto v : more)
    if (has_line_break(v)) return refused;
  return {};
}

void add_headers(parser::message& m, const header_list& headers) {
  for (const auto& [name, value] : headers) m.add(name, value);
}

session::message_options session_message(const header_list& headers,
                                         std::string_view content_type, std::string_view body,
                                         std::string_view sdp) {
  session::message_options out;
  out.headers = headers;
  if (!sdp.empty()) {
    out.body = std::string(sdp);
    out.content_type = "application/sdp";
  } else if (!body.empty()) {
    out.body = std::string(body);
    out.content_type = std::string(content_type);
  }
  return out;
}

}  // namespace sipkit::ua::detail
