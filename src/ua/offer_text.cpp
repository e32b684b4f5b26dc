// offer_text.hpp: the offer template.
#include "offer_text.hpp"

#include <charconv>
#include <limits>

#include "sipkit/sdp/session.hpp"

namespace sipkit::ua::detail {
namespace {

void append_number(std::string& out, std::uint64_t v) {
  char digits[24];
  const auto r = std::to_chars(digits, digits + sizeof digits, v);
  out.append(digits, static_cast<std::size_t>(r.ptr - digits));
}

}  // namespace

void offer_text::write(const local_media& local, std::uint64_t session_id, std::uint64_t version,
                       std::string& out) {
  constexpr auto max_origin = static_cast<std::uint64_t>(std::numeric_limits<std::int64_t>::max());
  if (session_id > max_origin || version > max_origin) {
    out = make_offer(local, session_id, version).serialize();  // throws: §5 of RFC 3264
    return;
  }
  if (!built_ || !(media_ == local)) {
    built_ = false;
    // Built with id and version 1, whose text ("1 1") is found right after the username.
    const std::string text = make_offer(local, 1, 1).serialize();
    const auto o = text.find("\r\no=");
    const auto space = o == std::string::npos ? o : text.find(' ', o + 4);
    if (space == std::string::npos || text.compare(space + 1, 4, "1 1 ") != 0) {
      out = make_offer(local, session_id, version).serialize();  // not the expected o= line
      return;
    }
    head_.assign(text, 0, space + 1);
    tail_.assign(text, space + 4);
    media_ = local;
    built_ = true;
  }
  out.clear();
  out += head_;
  append_number(out, session_id);
  out += ' ';
  append_number(out, version);
  out += tail_;
}

}  // namespace sipkit::ua::detail
