// src/parser/byte_class.hpp: the skip loops behind the grammar's fast runs. With SSSE3 they
// classify 16 bytes per step (this file is built with the same flag as the grammar), so
// every class is checked against its plain membership table for every byte value at every
// position of buffers longer than one step, and at the buffer end.
#include <catch2/catch.hpp>
#include <string>

#include "parser/byte_class.hpp"

using namespace sipkit::parser;

namespace {

template <const byte_class& C>
const char* reference_skip(const char* p, const char* pe) {
  while (p != pe && C.member[static_cast<unsigned char>(*p)]) ++p;
  return p;
}

// A run of member bytes of length `size` with `stop` written at `at` (if at < size).
template <const byte_class& C>
std::string run_with(std::size_t size, std::size_t at, unsigned char stop) {
  char filler = 0;
  for (unsigned b = 0; b < 256; ++b)
    if (C.member[b]) {
      filler = static_cast<char>(b);
      break;
    }
  std::string s(size, filler);
  if (at < size) s[at] = static_cast<char>(stop);
  return s;
}

template <const byte_class& C>
void check_class() {
  for (unsigned b = 0; b < 256; ++b) {
    for (std::size_t size : {1u, 15u, 16u, 17u, 31u, 32u, 33u, 47u}) {
      for (std::size_t at = 0; at <= size; ++at) {
        const std::string s = run_with<C>(size, at, static_cast<unsigned char>(b));
        const char* begin = s.data();
        const char* end = begin + s.size();
        const auto got = skip_run<C>(begin, end) - begin;
        const auto want = reference_skip<C>(begin, end) - begin;
        if (got != want) {
          CAPTURE(b, size, at);
          REQUIRE(got == want);
        }
      }
    }
  }
}

}  // namespace

TEST_CASE("skip_run stops at the first byte outside each class, at every position", "[skip]") {
  SECTION("token") { check_class<k_token>(); }
  SECTION("word") { check_class<k_word>(); }
  SECTION("text") { check_class<k_text>(); }
  SECTION("qdtext") { check_class<k_qdtext>(); }
  SECTION("alphanum") { check_class<k_alphanum>(); }
  SECTION("digit") { check_class<k_digit>(); }
}

TEST_CASE("skip_run crosses a whole buffer of members and stops at its end", "[skip]") {
  const std::string digits(100, '7');
  CHECK(skip_run<k_digit>(digits.data(), digits.data() + digits.size()) ==
        digits.data() + digits.size());
  CHECK(skip_run<k_digit>(digits.data(), digits.data()) == digits.data());
}

#if defined(__SSSE3__)
TEST_CASE("the nibble tables of each class reproduce its membership for all 256 bytes",
          "[skip]") {
  for (const byte_class* c : {&k_token, &k_word, &k_text, &k_qdtext, &k_alphanum, &k_digit}) {
    const nibble_tables t = make_nibble_tables(*c);
    REQUIRE(t.fits);
    for (unsigned b = 0; b < 256; ++b) {
      CAPTURE(b);
      CHECK(((t.lo[b & 15] & t.hi[b >> 4]) != 0) == c->member[b]);
    }
  }
}
#endif
