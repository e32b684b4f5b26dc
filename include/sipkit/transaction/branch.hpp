// Via branch generation (RFC 3261 §8.1.1.7, §17.2.3).
//
// A branch is the magic cookie "z9hG4bK" followed by 22 characters of base64url (RFC 4648
// §5; '-' and '_' are token characters) encoding 128 bits taken from a ChaCha20
// keystream. Why unguessable: the branch is the whole key of a transaction, so an
// off-path attacker who can predict it can inject responses or a CANCEL into it.
//
// Seeding: by default the 256-bit ChaCha20 key comes from std::random_device (getrandom()
// on Linux with libstdc++ and libc++). A fixed `seed` gives a reproducible sequence for
// tests and benchmarks only; such branches are predictable.
//
// Thread safety: none; each manager owns its own generator (no global state).
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <string>

namespace sipkit::transaction {

class branch_generator {
 public:
  /// The magic cookie of RFC 3261 §8.1.1.7.
  static constexpr std::string_view magic_cookie = "z9hG4bK";
  /// Length of a generated branch: the cookie plus 22 base64url characters.
  static constexpr std::size_t branch_length = 7 + 22;

  explicit branch_generator(std::optional<std::uint64_t> seed = std::nullopt);

  /// A fresh branch, "z9hG4bK" + 22 characters.
  std::string next();
  /// Append a fresh branch to `out` (the same sequence as next(), without a string of
  /// its own: the manager writes it straight into the Via it builds).
  void append_to(std::string& out);
  /// 64 fresh bits (also used to seed the manager's hash tables).
  std::uint64_t next_u64();

 private:
  void refill();

  std::array<std::uint32_t, 16> state_{};  // ChaCha20 input block: constants, key, counter, nonce
  std::array<std::uint32_t, 16> block_{};  // keystream not yet used
  std::size_t used_ = 16;                  // words of block_ already handed out
};

}  // namespace sipkit::transaction
