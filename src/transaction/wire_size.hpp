// The size of a message on the wire, without serializing it. Private to the manager.
//
// Two budgets count bytes: the bytes held by live transactions (manager_config::
// max_held_bytes) and the amplification ledger (bytes received from and sent to a source,
// source_ledger.hpp). Both want "how big is this message" for every message they see, and
// serializing it to find out would cost an allocation and a copy each time. A message
// that was built or edited serializes in canonical form (message.hpp): the start line,
// "Name: value\r\n" per header with the long names, a computed Content-Length, the blank
// line and the body; wire_size() adds up exactly that, so for such messages it equals
// serialize().size(). A message parsed and left unmodified serializes to its original
// bytes, which may differ by optional whitespace; wire_size() counts the canonical form
// with the header names as received, a close estimate (it does not count whitespace
// padding, so a sender cannot inflate what it is credited with by padding its messages).
// One pass over the header table, no lookups: it runs several times per transaction.
#pragma once

#include <cstddef>

#include "sipkit/parser/message.hpp"

namespace sipkit::transaction::detail {

inline std::size_t decimal_digits(std::size_t n) noexcept {
  std::size_t d = 1;
  while (n >= 10) {
    n /= 10;
    ++d;
  }
  return d;
}

inline std::size_t wire_size(const parser::message& m) noexcept {
  std::size_t n = 0;
  if (m.is_request()) {
    n = m.method_text().size() + 1 + m.request_uri().size() + sizeof(" SIP/2.0\r\n") - 1;
  } else {
    const auto code = static_cast<std::size_t>(m.status_code() < 0 ? 0 : m.status_code());
    n = sizeof("SIP/2.0 ") - 1 + decimal_digits(code) + 1 + m.reason_phrase().size() + 2;
  }
  // The stored name: a built message stores the long name of a known header, which is
  // what it serializes; a parsed one stores the name as received (its wire form while it
  // is unmodified).
  for (const auto& f : m.fields())
    if (f.id != parser::header_id::content_length) n += f.name.length + f.value.length + 4;
  const std::size_t body = m.body().size();
  n += sizeof("Content-Length: ") - 1 + decimal_digits(body) + 4 + body;
  return n;
}

/// A message and its wire size, measured on first use: several budgets may ask for it
/// while one message is being handled, and some never do.
class measured_message {
 public:
  explicit measured_message(const parser::message& m) noexcept : msg_(m) {}
  const parser::message& msg() const noexcept { return msg_; }
  std::size_t size() noexcept {
    if (size_ == unknown) size_ = wire_size(msg_);
    return size_;
  }

 private:
  static constexpr std::size_t unknown = ~std::size_t{0};
  const parser::message& msg_;
  std::size_t size_ = unknown;
};

}  // namespace sipkit::transaction::detail
