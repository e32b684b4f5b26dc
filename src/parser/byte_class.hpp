// Private: byte classes for the fast skip loops of grammar/sip_message.rl.
//
// A skip action advances p over a run of bytes with one table load per byte instead of one
// generated state (a compare tree) per byte. tests/parser/check_skip_loops.py reads the k_*
// definitions below and proves on Ragel's state graph that every skip enters a state that
// loops on exactly these bytes anyway, so the accepted language does not change.
#pragma once

#include <array>
#include <cstdint>
#include <string_view>

namespace sipkit::parser {

struct byte_class {
  std::array<bool, 256> member{};

  // `ranges`: pairs of first and last byte ("09AZ" = 0-9 and A-Z); `singles`: single bytes.
  static constexpr byte_class of(std::string_view ranges, std::string_view singles) {
    byte_class c;
    for (std::size_t i = 0; i + 1 < ranges.size(); i += 2)
      for (unsigned b = static_cast<unsigned char>(ranges[i]);
           b <= static_cast<unsigned char>(ranges[i + 1]); ++b)
        c.member[b] = true;
    for (char s : singles) c.member[static_cast<unsigned char>(s)] = true;
    return c;
  }
  constexpr bool operator[](char c) const { return member[static_cast<unsigned char>(c)]; }
};

// RFC 3261 token characters.
inline constexpr byte_class k_token = byte_class::of("09AZaz", "-.!%*_+`'~");
// RFC 3261 word characters (Call-ID).
inline constexpr byte_class k_word = byte_class::of("09AZaz", "-.!%*_+`'~()<>:\\\"/[]?{}");
// Header-value bytes without LWS: visible ASCII and UTF-8 continuation bytes. Lead bytes
// of multi-byte sequences are left to the grammar, which checks what follows them.
inline constexpr byte_class k_text = byte_class::of("\x21\x7e\x80\xbf", "");
// qdtext without LWS and UTF8-NONASCII: the ASCII bytes of a quoted string but '"' and '\\'.
inline constexpr byte_class k_qdtext = byte_class::of("\x23\x5b\x5d\x7e", "\x21");
inline constexpr byte_class k_alphanum = byte_class::of("09AZaz", "");
inline constexpr byte_class k_digit = byte_class::of("09", "");

// First byte at or after `p` (and before `pe`) that is not in `c`, or `pe`.
[[gnu::always_inline]] inline const char* skip_run(const byte_class& c, const char* p,
                                                   const char* pe) noexcept {
  while (p != pe && c[*p]) ++p;
  return p;
}

}  // namespace sipkit::parser
