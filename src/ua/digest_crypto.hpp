// Private: the digest server's crypto (the nonce and opaque MACs, random salts, base64url):
// OpenSSL behind a few functions (digest_server.cpp).
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "sipkit/ua/digest.hpp"

namespace sipkit::ua::detail::digest_crypto {

// nonce = base64url(stamp[8] || salt[8] || HMAC-SHA256(key, tag || stamp || salt || realm)).
inline constexpr std::size_t stamp_len = 8;
inline constexpr std::size_t salt_len = 8;
inline constexpr std::size_t mac_len = 32;
inline constexpr std::size_t nonce_raw_len = stamp_len + salt_len + mac_len;
inline constexpr std::string_view nonce_tag = "sipkit digest nonce v1";
inline constexpr std::string_view opaque_tag = "sipkit digest opaque v1";

using mac_t = std::array<unsigned char, mac_len>;

/// Cryptographically random bytes (RAND_bytes); throws std::runtime_error when it fails.
void random_bytes(unsigned char* out, std::size_t n);
/// HMAC-SHA256(key, data).
mac_t hmac(std::string_view key, std::string_view data);
/// RFC 4648 §5 without padding. Also a valid token and quoted-string content.
std::string base64url(const unsigned char* p, std::size_t n);
/// The inverse of base64url; false for anything it would not produce.
bool unbase64url(std::string_view in, std::string& out);
/// Milliseconds of `t` since the clock's epoch.
std::int64_t millis(time_point t);
/// What a nonce's MAC covers: tag || stamp || salt || realm.
std::string nonce_mac_input(std::string_view stamp_and_salt, std::string_view realm);

}  // namespace sipkit::ua::detail::digest_crypto
