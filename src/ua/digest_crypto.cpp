// The digest server's crypto (digest_crypto.hpp).
#include "digest_crypto.hpp"

#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/rand.h>

#include <stdexcept>

namespace sipkit::ua::detail::digest_crypto {

void random_bytes(unsigned char* out, std::size_t n) {
  if (RAND_bytes(out, static_cast<int>(n)) != 1)
    throw std::runtime_error("sipkit digest: OpenSSL RAND_bytes failed");
}

mac_t hmac(std::string_view key, std::string_view data) {
  mac_t out{};
  unsigned int len = 0;
  if (HMAC(EVP_sha256(), key.data(), static_cast<int>(key.size()),
           reinterpret_cast<const unsigned char*>(data.data()), data.size(), out.data(),
           &len) == nullptr ||
      len != mac_len)
    throw std::runtime_error("sipkit digest: OpenSSL HMAC failed");
  return out;
}

constexpr char b64_alphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

// RFC 4648 §5 without padding. Also a valid token and quoted-string content.
std::string base64url(const unsigned char* p, std::size_t n) {
  std::string out;
  out.reserve((n * 4 + 2) / 3);
  std::uint32_t acc = 0;
  int bits = 0;
  for (std::size_t i = 0; i < n; ++i) {
    acc = (acc << 8) | p[i];
    bits += 8;
    while (bits >= 6) {
      bits -= 6;
      out.push_back(b64_alphabet[(acc >> bits) & 0x3f]);
    }
  }
  if (bits > 0) out.push_back(b64_alphabet[(acc << (6 - bits)) & 0x3f]);
  return out;
}

bool unbase64url(std::string_view in, std::string& out) {
  out.clear();
  std::uint32_t acc = 0;
  int bits = 0;
  for (char c : in) {
    int v = -1;
    if (c >= 'A' && c <= 'Z')
      v = c - 'A';
    else if (c >= 'a' && c <= 'z')
      v = c - 'a' + 26;
    else if (c >= '0' && c <= '9')
      v = c - '0' + 52;
    else if (c == '-')
      v = 62;
    else if (c == '_')
      v = 63;
    if (v < 0) return false;
    acc = (acc << 6) | static_cast<std::uint32_t>(v);
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out.push_back(static_cast<char>((acc >> bits) & 0xff));
    }
  }
  return true;
}

std::int64_t millis(time_point t) {
  return std::chrono::duration_cast<std::chrono::milliseconds>(t.time_since_epoch()).count();
}

std::string nonce_mac_input(std::string_view stamp_and_salt, std::string_view realm) {
  std::string s(nonce_tag);
  s.append(stamp_and_salt);
  s.append(realm);
  return s;
}

}  // namespace sipkit::ua::detail::digest_crypto
