// Branch generation: ChaCha20 (RFC 8439 §2.3) as a keystream generator.
#include "sipkit/transaction/branch.hpp"

#include <random>

namespace sipkit::transaction {
namespace {

constexpr std::uint32_t rotl(std::uint32_t v, int c) noexcept { return (v << c) | (v >> (32 - c)); }

void quarter_round(std::array<std::uint32_t, 16>& x, int a, int b, int c, int d) noexcept {
  x[a] += x[b];
  x[d] ^= x[a];
  x[d] = rotl(x[d], 16);
  x[c] += x[d];
  x[b] ^= x[c];
  x[b] = rotl(x[b], 12);
  x[a] += x[b];
  x[d] ^= x[a];
  x[d] = rotl(x[d], 8);
  x[c] += x[d];
  x[b] ^= x[c];
  x[b] = rotl(x[b], 7);
}

std::uint64_t splitmix64(std::uint64_t& s) noexcept {
  std::uint64_t z = (s += 0x9E3779B97F4A7C15ull);
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
  return z ^ (z >> 31);
}

constexpr char k_base64url[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

}  // namespace

branch_generator::branch_generator(std::optional<std::uint64_t> seed) {
  // "expand 32-byte k"
  state_[0] = 0x61707865u;
  state_[1] = 0x3320646eu;
  state_[2] = 0x79622d32u;
  state_[3] = 0x6b206574u;
  if (seed) {
    std::uint64_t s = *seed;
    for (int i = 0; i < 4; ++i) {
      std::uint64_t v = splitmix64(s);
      state_[4 + 2 * i] = static_cast<std::uint32_t>(v);
      state_[5 + 2 * i] = static_cast<std::uint32_t>(v >> 32);
    }
  } else {
    std::random_device rd;
    for (int i = 4; i < 12; ++i) state_[i] = rd();
  }
  // Counter (words 12-13) starts at 0; nonce (14-15) 0: the key is fresh per generator.
}

void branch_generator::refill() {
  std::array<std::uint32_t, 16> x = state_;
  for (int round = 0; round < 10; ++round) {
    quarter_round(x, 0, 4, 8, 12);
    quarter_round(x, 1, 5, 9, 13);
    quarter_round(x, 2, 6, 10, 14);
    quarter_round(x, 3, 7, 11, 15);
    quarter_round(x, 0, 5, 10, 15);
    quarter_round(x, 1, 6, 11, 12);
    quarter_round(x, 2, 7, 8, 13);
    quarter_round(x, 3, 4, 9, 14);
  }
  for (std::size_t i = 0; i < 16; ++i) block_[i] = x[i] + state_[i];
  // 64-bit block counter: 2^64 blocks never wrap in practice.
  if (++state_[12] == 0) ++state_[13];
  used_ = 0;
}

std::uint64_t branch_generator::next_u64() {
  if (used_ + 2 > block_.size()) refill();
  std::uint64_t v = block_[used_] | (static_cast<std::uint64_t>(block_[used_ + 1]) << 32);
  used_ += 2;
  return v;
}

std::string branch_generator::next() {
  std::string out;
  out.reserve(branch_length);
  append_to(out);
  return out;
}

void branch_generator::append_to(std::string& out) {
  // 128 bits -> 22 characters of 6 bits (the last carries 2 bits), written in place.
  const std::size_t at = out.size();
  out.resize(at + branch_length);
  char* p = out.data() + at;
  for (char c : magic_cookie) *p++ = c;
  std::uint64_t hi = next_u64();
  std::uint64_t lo = next_u64();
  for (int i = 0; i < 11; ++i) {
    *p++ = k_base64url[hi & 63u];
    hi >>= 6;
  }
  for (int i = 0; i < 11; ++i) {
    *p++ = k_base64url[lo & 63u];
    lo >>= 6;
  }
}

}  // namespace sipkit::transaction
