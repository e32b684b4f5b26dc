#include "sipkit/parser/error.hpp"

#include <string>

namespace sipkit::parser {
namespace {

class parser_category_impl final : public std::error_category {
 public:
  const char* name() const noexcept override { return "sipkit.parser"; }
  std::string message(int ev) const override {
    return std::string(to_string(static_cast<errc>(ev)));
  }
};

}  // namespace

const std::error_category& parser_category() noexcept {
  static const parser_category_impl category;
  return category;
}

std::string_view to_string(errc e) noexcept {
  switch (e) {
    case errc::ok: return "success";
    case errc::need_more: return "incomplete message";
    case errc::syntax: return "syntax error";
    case errc::message_too_large: return "message too large";
    case errc::too_many_headers: return "too many headers";
    case errc::line_too_long: return "header line too long";
    case errc::uri_too_long: return "URI too long";
    case errc::body_too_large: return "body too large";
    case errc::missing_content_length: return "missing Content-Length on a stream";
    case errc::truncated_body: return "body shorter than Content-Length";
    case errc::bad_content_length: return "conflicting Content-Length values";
    case errc::value_out_of_range: return "value out of range";
  }
  return "unknown parser error";
}

std::string parse_error::message() const {
  std::string out(to_string(code));
  if (!reason.empty()) {
    out += " in ";
    out += reason;
  }
  out += " at offset ";
  out += std::to_string(offset);
  return out;
}

}  // namespace sipkit::parser
