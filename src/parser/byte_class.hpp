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

#if defined(__SSSE3__)
#include <tmmintrin.h>
#endif

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

#if defined(__SSSE3__)
// A byte class as two 16-byte tables for the nibble-lookup test: byte b is a member iff
// lo[b & 15] & hi[b >> 4] != 0. Each distinct row (the set of low nibbles allowed under one
// high nibble) gets a bit; eight bits cover every class above (static_assert below).
struct nibble_tables {
  alignas(16) std::array<std::uint8_t, 16> lo{};
  alignas(16) std::array<std::uint8_t, 16> hi{};
  bool fits = true;
};

constexpr nibble_tables make_nibble_tables(const byte_class& c) {
  nibble_tables t;
  std::array<std::uint16_t, 8> rows{};  // row pattern owning each bit
  int used = 0;
  for (unsigned h = 0; h < 16; ++h) {
    std::uint16_t row = 0;
    for (unsigned l = 0; l < 16; ++l)
      if (c.member[h * 16 + l]) row = static_cast<std::uint16_t>(row | (1u << l));
    if (row == 0) continue;
    int bit = -1;
    for (int i = 0; i < used; ++i)
      if (rows[static_cast<std::size_t>(i)] == row) bit = i;
    if (bit < 0) {
      if (used == 8) {
        t.fits = false;
        return t;
      }
      bit = used;
      rows[static_cast<std::size_t>(used++)] = row;
    }
    t.hi[h] = static_cast<std::uint8_t>(t.hi[h] | (1u << bit));
    for (unsigned l = 0; l < 16; ++l)
      if (row & (1u << l)) t.lo[l] = static_cast<std::uint8_t>(t.lo[l] | (1u << bit));
  }
  return t;
}
#endif

// First byte at or after `p` (and before `pe`) that is not in `c`, or `pe`. With SSSE3, 16
// bytes are classified per step without a branch per byte: most runs (tags, branches, host
// labels) are shorter than 16 bytes, so the loop exit is one predictable test instead of a
// mispredicted per-byte branch.
template <const byte_class& C>
[[gnu::always_inline]] inline const char* skip_run(const char* p, const char* pe) noexcept {
#if defined(__SSSE3__)
  static constexpr nibble_tables t = make_nibble_tables(C);
  static_assert(t.fits, "byte class needs more than eight distinct nibble rows");
  const __m128i lo_table = _mm_load_si128(reinterpret_cast<const __m128i*>(t.lo.data()));
  const __m128i hi_table = _mm_load_si128(reinterpret_cast<const __m128i*>(t.hi.data()));
  const __m128i low_nibble = _mm_set1_epi8(0x0f);
  while (pe - p >= 16) {
    const __m128i v = _mm_loadu_si128(reinterpret_cast<const __m128i*>(p));
    const __m128i lo = _mm_shuffle_epi8(lo_table, _mm_and_si128(v, low_nibble));
    const __m128i hi =
        _mm_shuffle_epi8(hi_table, _mm_and_si128(_mm_srli_epi16(v, 4), low_nibble));
    const __m128i outside = _mm_cmpeq_epi8(_mm_and_si128(lo, hi), _mm_setzero_si128());
    const unsigned mask = static_cast<unsigned>(_mm_movemask_epi8(outside));
    if (mask != 0) return p + __builtin_ctz(mask);
    p += 16;
  }
#endif
  while (p != pe && C[*p]) ++p;
  return p;
}

}  // namespace sipkit::parser
