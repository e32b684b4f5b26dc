// Seeded hashing of keys that come from the network, private to the manager.
//
// Keys (branches, sent-by hosts, source addresses) are chosen by whoever sends us
// packets, so every table the manager keeps hashes them with a per-manager random seed:
// an attacker who cannot see the seed cannot precompute keys that collide. It is a fast
// multiply-xorshift mix, not a cryptographic PRF; the tables' bounds (max_transactions,
// the max_sources of the per-source tables) cap the damage of any residual weakness.
#pragma once

#include <cstdint>
#include <cstring>
#include <string_view>

namespace sipkit::transaction::detail {

inline constexpr std::uint64_t k_hash_mul = 0x9E3779B97F4A7C15ull;

inline std::uint64_t hash_mix(std::uint64_t h) noexcept {
  h ^= h >> 32;
  h *= 0xD6E8FEB86659FD93ull;
  h ^= h >> 32;
  return h;
}

/// Hash of the bytes of `s`, keyed by `h`.
inline std::uint64_t hash_bytes(std::string_view s, std::uint64_t h) noexcept {
  std::size_t i = 0;
  for (; i + 8 <= s.size(); i += 8) {
    std::uint64_t w;
    std::memcpy(&w, s.data() + i, 8);
    h = (h ^ w) * k_hash_mul;
    h ^= h >> 29;
  }
  std::uint64_t tail = 0;
  for (std::size_t shift = 0; i < s.size(); ++i, shift += 8)
    tail |= static_cast<std::uint64_t>(static_cast<unsigned char>(s[i])) << shift;
  h = (h ^ tail ^ (static_cast<std::uint64_t>(s.size()) << 56)) * k_hash_mul;
  return hash_mix(h);
}

/// As hash_bytes, ASCII case folded (host names, IPv6 literals).
inline std::uint64_t hash_lower(std::string_view s, std::uint64_t h) noexcept {
  for (char c : s) {
    auto u = static_cast<unsigned char>(c);
    if (u >= 'A' && u <= 'Z') u = static_cast<unsigned char>(u + 32);
    h = (h ^ u) * k_hash_mul;
  }
  return hash_mix(h);
}

/// A hash equal for strings that differ only in the case of ASCII letters, fast for
/// short keys such as IP address literals: each byte is OR-ed with 0x20, 8 at a time,
/// which folds 'A'-'Z' onto 'a'-'z' (and leaves digits, '.' and ':' as they are; that it
/// also makes a few other bytes collide only costs a key comparison).
inline std::uint64_t hash_folded(std::string_view s, std::uint64_t h) noexcept {
  constexpr std::uint64_t fold = 0x2020202020202020ull;
  std::size_t i = 0;
  for (; i + 8 <= s.size(); i += 8) {
    std::uint64_t w;
    std::memcpy(&w, s.data() + i, 8);
    h = (h ^ (w | fold)) * k_hash_mul;
    h ^= h >> 29;
  }
  std::uint64_t tail = 0;
  for (std::size_t shift = 0; i < s.size(); ++i, shift += 8)
    tail |= static_cast<std::uint64_t>(static_cast<unsigned char>(s[i]) | 0x20u) << shift;
  h = (h ^ tail ^ (static_cast<std::uint64_t>(s.size()) << 56)) * k_hash_mul;
  return hash_mix(h);
}

}  // namespace sipkit::transaction::detail
