// Digest algorithms, the response computation, the error category, and reading challenges
// and credentials out of owning messages (RFC 7616 §3.3-3.4, RFC 2617 §3.2, RFC 3261 §22).
#include "sipkit/ua/digest.hpp"

#include <openssl/evp.h>

#include <array>
#include <initializer_list>
#include <memory>
#include <stdexcept>

#include "sipkit/parser/headers.hpp"

namespace sipkit::ua {
namespace {

char lower(char c) noexcept { return c >= 'A' && c <= 'Z' ? static_cast<char>(c - 'A' + 'a') : c; }

bool iequals(std::string_view a, std::string_view b) noexcept {
  if (a.size() != b.size()) return false;
  for (std::size_t i = 0; i < a.size(); ++i)
    if (lower(a[i]) != lower(b[i])) return false;
  return true;
}

std::string unquoted(std::string_view v) {
  std::string scratch;
  return std::string(parser::unquote(v, scratch));
}

std::string_view trim(std::string_view s) noexcept {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

// RFC 7616 §3.3: qop-options is a quoted, comma-separated list of tokens.
std::vector<std::string> split_qop(std::string_view list) {
  std::vector<std::string> out;
  while (!list.empty()) {
    const auto comma = list.find(',');
    const auto item = trim(list.substr(0, comma));
    if (!item.empty()) out.emplace_back(item);
    if (comma == std::string_view::npos) break;
    list.remove_prefix(comma + 1);
  }
  return out;
}

bool is_true(std::string_view v) { return iequals(unquoted(v), "true"); }

// The first token of a header value that did not parse, for the report.
std::string first_token(std::string_view value) {
  value = trim(value);
  const auto end = value.find_first_of(" \t,\r\n");
  return std::string(value.substr(0, end));
}

const EVP_MD* evp_of(digest_algorithm a) noexcept {
  switch (a) {
    case digest_algorithm::md5:
    case digest_algorithm::md5_sess:
      return EVP_md5();
    case digest_algorithm::sha256:
    case digest_algorithm::sha256_sess:
      return EVP_sha256();
    case digest_algorithm::sha512_256:
    case digest_algorithm::sha512_256_sess:
      return EVP_sha512_256();
  }
  return nullptr;
}

bool is_sess(digest_algorithm a) noexcept {
  return a == digest_algorithm::md5_sess || a == digest_algorithm::sha256_sess ||
         a == digest_algorithm::sha512_256_sess;
}

// Parses single auth header values with the SIP grammar (parser::parse_auth, the same
// machine the message parser runs on these headers).
class auth_reader {
 public:
  // The result points into this reader and `value`; valid until the next read().
  const parser::auth_view* read(parser::header_id id, std::string_view value) {
    while (!value.empty() && (value.front() == ' ' || value.front() == '\t'))
      value.remove_prefix(1);
    while (!value.empty() && (value.back() == ' ' || value.back() == '\t')) value.remove_suffix(1);
    if (parser::parse_auth(value, view_)) return nullptr;
    view_.header = id;
    return &view_;
  }

 private:
  parser::auth_view view_;
};

class digest_category_impl final : public std::error_category {
 public:
  const char* name() const noexcept override { return "sipkit.ua.digest"; }
  std::string message(int code) const override {
    switch (static_cast<digest_errc>(code)) {
      case digest_errc::ok:
        return "success";
      case digest_errc::no_challenge:
        return "no authentication challenge in the response";
      case digest_errc::unsupported:
        return "no supported authentication scheme or algorithm offered";
      case digest_errc::no_credentials:
        return "no credentials for the realms offered";
      case digest_errc::already_failed:
        return "credentials rejected by the server";
    }
    return "unknown sipkit.ua.digest error";
  }
};

}  // namespace

const std::error_category& digest_category() noexcept {
  static const digest_category_impl instance;
  return instance;
}

// RFC 7616 §6.1 (Hash Algorithms for HTTP Digest Authentication registry).
std::string_view algorithm_name(digest_algorithm a) noexcept {
  switch (a) {
    case digest_algorithm::md5:
      return "MD5";
    case digest_algorithm::md5_sess:
      return "MD5-sess";
    case digest_algorithm::sha256:
      return "SHA-256";
    case digest_algorithm::sha256_sess:
      return "SHA-256-sess";
    case digest_algorithm::sha512_256:
      return "SHA-512-256";
    case digest_algorithm::sha512_256_sess:
      return "SHA-512-256-sess";
  }
  return "";
}

std::optional<digest_algorithm> parse_digest_algorithm(std::string_view token) noexcept {
  if (token.size() >= 2 && token.front() == '"' && token.back() == '"')
    token = token.substr(1, token.size() - 2);
  for (auto a : {digest_algorithm::md5, digest_algorithm::md5_sess, digest_algorithm::sha256,
                 digest_algorithm::sha256_sess, digest_algorithm::sha512_256,
                 digest_algorithm::sha512_256_sess})
    if (iequals(token, algorithm_name(a))) return a;
  return std::nullopt;
}

std::string digest_hash(digest_algorithm a, std::string_view data) {
  std::array<unsigned char, EVP_MAX_MD_SIZE> md{};
  unsigned int len = 0;
  if (EVP_Digest(data.data(), data.size(), md.data(), &len, evp_of(a), nullptr) != 1)
    throw std::runtime_error("sipkit digest: OpenSSL hash failed");
  static constexpr char hex[] = "0123456789abcdef";
  std::string out(std::size_t{len} * 2, '0');
  for (std::size_t i = 0; i < len; ++i) {
    out[2 * i] = hex[md[i] >> 4];
    out[2 * i + 1] = hex[md[i] & 0x0f];
  }
  return out;
}

std::string digest_response(const digest_input& in) {
  const auto join = [](std::initializer_list<std::string_view> parts) {
    std::string s;
    bool first = true;
    for (auto p : parts) {
      if (!first) s.push_back(':');
      first = false;
      s.append(p);
    }
    return s;
  };
  const auto h = [&](std::initializer_list<std::string_view> parts) {
    return digest_hash(in.algorithm, join(parts));
  };
  // RFC 7616 §3.4.2: A1, and for -sess the session key of RFC 2617 §3.2.2.2 (in hex).
  std::string ha1 = h({in.username, in.realm, in.password});
  if (is_sess(in.algorithm)) ha1 = h({ha1, in.nonce, in.cnonce});
  // RFC 7616 §3.4.3: A2.
  const std::string ha2 = in.qop == digest_qop::auth_int
                              ? h({in.method, in.uri, digest_hash(in.algorithm, in.body)})
                              : h({in.method, in.uri});
  if (in.qop == digest_qop::none) return h({ha1, in.nonce, ha2});  // RFC 2069 §2.1.2
  const std::string_view qop = in.qop == digest_qop::auth ? "auth" : "auth-int";
  return h({ha1, in.nonce, in.nc, in.cnonce, qop, ha2});
}

challenge_set read_challenges(const parser::message& response) {
  challenge_set out;
  auth_reader reader;
  for (const auto& f : response.fields()) {
    if (f.id != parser::header_id::www_authenticate &&
        f.id != parser::header_id::proxy_authenticate)
      continue;
    const auto value = response.value_of(f);
    const parser::auth_view* a = reader.read(f.id, value);
    if (a == nullptr) {
      out.unsupported.push_back("unparsable: " + first_token(value));
      continue;
    }
    if (!iequals(a->scheme, "Digest")) {  // RFC 3261 §22.1: other schemes are not defined
      out.unsupported.emplace_back(a->scheme);
      continue;
    }
    challenge c;
    c.scheme = std::string(a->scheme);
    if (!a->algorithm.empty()) {
      const auto alg = parse_digest_algorithm(a->algorithm);
      if (!alg) {
        out.unsupported.push_back("Digest algorithm=" + unquoted(a->algorithm));
        continue;
      }
      c.algorithm = *alg;
    }
    c.realm = unquoted(a->realm);
    c.nonce = unquoted(a->nonce);
    if (a->realm.empty() || a->nonce.empty()) {  // both required (RFC 3261 §25.1 digest-cln)
      out.unsupported.emplace_back("Digest without realm or nonce");
      continue;
    }
    c.opaque = unquoted(a->opaque);
    c.domain = unquoted(a->domain);
    c.qop_options = split_qop(unquoted(a->qop));
    c.stale = is_true(a->stale);
    c.userhash = is_true(a->userhash);
    c.proxy = f.id == parser::header_id::proxy_authenticate;
    bool known_qop = c.qop_options.empty();
    for (const auto& q : c.qop_options) known_qop = known_qop || q == "auth" || q == "auth-int";
    if (!known_qop) {
      out.unsupported.push_back("Digest qop=" + unquoted(a->qop));
      continue;
    }
    // RFC 2617 §3.2.2: without qop there is no cnonce, which the -sess A1 needs.
    if (c.qop_options.empty() && is_sess(c.algorithm)) {
      out.unsupported.push_back("Digest algorithm=" + std::string(algorithm_name(c.algorithm)) +
                                " without qop");
      continue;
    }
    out.usable.push_back(std::move(c));
  }
  return out;
}

std::vector<authorization_header> read_authorizations(const parser::message& request, bool proxy) {
  const auto id = proxy ? parser::header_id::proxy_authorization : parser::header_id::authorization;
  std::vector<authorization_header> out;
  auth_reader reader;
  for (const auto& f : request.fields()) {
    if (f.id != id) continue;
    const auto value = request.value_of(f);
    authorization_header h;
    const parser::auth_view* a = reader.read(f.id, value);
    if (a == nullptr) {
      h.scheme = first_token(value);
      h.parsed = false;
      out.push_back(std::move(h));
      continue;
    }
    h.scheme = std::string(a->scheme);
    h.username = unquoted(a->username);
    h.realm = unquoted(a->realm);
    h.nonce = unquoted(a->nonce);
    h.uri = unquoted(a->uri);
    h.response = unquoted(a->response);
    h.cnonce = unquoted(a->cnonce);
    h.opaque = unquoted(a->opaque);
    h.qop = unquoted(a->qop);
    h.nc = unquoted(a->nc);
    h.algorithm_text = unquoted(a->algorithm);
    h.algorithm = a->algorithm.empty() ? std::optional{digest_algorithm::md5}
                                       : parse_digest_algorithm(a->algorithm);
    h.userhash = is_true(a->userhash);
    out.push_back(std::move(h));
  }
  return out;
}

}  // namespace sipkit::ua
