// Private: the typed views an owning parser::message keeps of its Via, From, To and CSeq,
// so that top_via(), from(), to() and cseq() run the grammar at most once per header.
//
// The record lives inside the message's own buffer (message::typed_at_), as offsets
// relative to the header's value: a copy of the message copies its buffer and with it a
// record that is still right, and a buffer that grows (and moves) needs no fix-up. Offsets
// are 16-bit, so a value longer than 65,535 bytes is never cached (parsed on each call, as
// before). An empty view is stored as the 0xFFFF sentinel and read back as a null view.
#pragma once

#include <cstdint>
#include <string_view>

#include "sipkit/parser/headers.hpp"

namespace sipkit::parser::detail {

struct rel16 {
  std::uint16_t off = 0xFFFF;
  std::uint16_t len = 0;
};

struct uri_record {
  rel16 raw, scheme_text, user, password, host, params, headers, opaque, transport_param,
      user_param, method_param, maddr_param, ttl_param;
  uri_scheme scheme;
  host_kind host_type;
  std::uint16_t port;
  bool lr;
};

struct via_record {
  rel16 raw, protocol_name, protocol_version, transport, host, params, branch, received, rport,
      maddr, ttl;
  host_kind host_type;
  bool has_rport;
  std::uint16_t port;
};

struct addr_record {
  rel16 raw, display_name, params, tag, expires, q;
  uri_record uri;
  bool star, angle_brackets, expires_not_a_number;
};

struct cseq_record {
  std::uint32_t number;
  rel16 method_text;
  sipkit::parser::method method;
};

/// The whole record, about 240 bytes; trivially copyable, read and written with memcpy
/// (the buffer gives no alignment).
struct typed_record {
  via_record via;
  addr_record from, to;
  cseq_record cseq;
};

/// Which of the four entries are filled and which of those hold a value (a header that
/// is absent or does not parse is cached as "no value" too).
enum typed_bit : std::uint8_t { bit_via = 1, bit_from = 2, bit_to = 4, bit_cseq = 8 };
constexpr std::uint8_t present(std::uint8_t bit) noexcept {
  return static_cast<std::uint8_t>(bit << 4);
}

/// The entry a header fills; 0 for headers with no typed entry.
constexpr std::uint8_t typed_bit_of(header_id id) noexcept {
  switch (id) {
    case header_id::via: return bit_via;
    case header_id::from: return bit_from;
    case header_id::to: return bit_to;
    case header_id::cseq: return bit_cseq;
    default: return 0;
  }
}

// Encoding: false when a view does not lie inside `base` (the entry is then not cached).
bool encode(const via_view& v, std::string_view base, via_record& out) noexcept;
bool encode(const name_addr_view& v, std::string_view base, addr_record& out) noexcept;
bool encode(const cseq_view& v, std::string_view base, cseq_record& out) noexcept;
void decode(const via_record& r, std::string_view base, via_view& out) noexcept;
void decode(const addr_record& r, std::string_view base, name_addr_view& out) noexcept;
void decode(const cseq_record& r, std::string_view base, cseq_view& out) noexcept;

}  // namespace sipkit::parser::detail
