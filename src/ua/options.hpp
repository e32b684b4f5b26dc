// Private: the one rule for what an application may put into a message (options.hpp's
// header comment), shared by every operation: out-of-dialog requests (requests.cpp), the
// call's INVITE, responses and in-dialog requests (uac.cpp, uas.cpp, requests.cpp).
#pragma once

#include <initializer_list>
#include <string>
#include <string_view>
#include <system_error>

#include "sipkit/parser/message.hpp"
#include "sipkit/session/invite_session.hpp"
#include "sipkit/ua/options.hpp"

namespace sipkit::ua::detail {

/// Which messages the options go into: a call's (dialog-forming or in a dialog, where the
/// session also writes Contact, RSeq, RAck) or a request outside any dialog.
enum class options_scope : unsigned char { out_of_dialog, call };

/// True when `text` holds CR or LF (it would start a header line of its own).
inline bool has_line_break(std::string_view text) noexcept {
  return text.find_first_of("\r\n") != std::string_view::npos;
}

/// std::errc::invalid_argument when the shared fields of an options struct (headers,
/// content_type, body: options.hpp) break the rule (a header name that is not a token or
/// that the stack writes itself in `scope`, a CR/LF in a value, a body without a
/// Content-Type), or when one of `more` values (a Subject, a Reason ...) holds CR/LF; else {}.
std::error_code check_message(const header_list& headers, std::string_view content_type,
                              std::string_view body, options_scope scope,
                              std::initializer_list<std::string_view> more);

/// check_message for any options struct (they share the fields, not a base class).
template <class Options>
std::error_code check_options(const Options& o, options_scope scope,
                              std::initializer_list<std::string_view> more = {}) {
  return check_message(o.headers, o.content_type, o.body, scope, more);
}

/// Appends the options' header lines to `m`, in order.
void add_headers(parser::message& m, const header_list& headers);

/// The session's options for a message with these headers and body; `sdp`, when not
/// empty, is the body (application/sdp) instead.
session::message_options session_message(const header_list& headers,
                                         std::string_view content_type, std::string_view body,
                                         std::string_view sdp);

template <class Options>
session::message_options session_options(const Options& o, std::string_view sdp = {}) {
  return session_message(o.headers, o.content_type, o.body, sdp);
}

}  // namespace sipkit::ua::detail
