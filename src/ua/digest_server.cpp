// digest_server: challenges and verification (RFC 3261 §22.1-22.4, RFC 7616 §3.3-3.5, §5,
// RFC 8760 §2.4).
#include <arpa/inet.h>
#include <netinet/in.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/rand.h>

#include <algorithm>
#include <array>
#include <cstring>
#include <iterator>
#include <stdexcept>

#include "digest_crypto.hpp"
#include "sipkit/ua/digest.hpp"

namespace sipkit::ua {
namespace {

using namespace detail::digest_crypto;

bool constant_time_equal(std::string_view a, std::string_view b) {
  return a.size() == b.size() && CRYPTO_memcmp(a.data(), b.data(), a.size()) == 0;
}

void append_quoted(std::string& out, std::string_view v) {
  out.push_back('"');
  for (char c : v) {
    if (c == '"' || c == '\\') out.push_back('\\');
    out.push_back(c);
  }
  out.push_back('"');
}

bool iequals(std::string_view a, std::string_view b) noexcept {
  return std::equal(a.begin(), a.end(), b.begin(), b.end(), [](char x, char y) {
    const auto l = [](char c) { return c >= 'A' && c <= 'Z' ? static_cast<char>(c + 32) : c; };
    return l(x) == l(y);
  });
}

// nc-value = 8LHEX (RFC 7616 §3.4); uppercase accepted, the hash uses the text as sent.
std::optional<std::uint32_t> parse_nc(std::string_view nc) {
  if (nc.size() != 8) return std::nullopt;
  std::uint32_t v = 0;
  for (char c : nc) {
    std::uint32_t d = 0;
    if (c >= '0' && c <= '9')
      d = static_cast<std::uint32_t>(c - '0');
    else if (c >= 'a' && c <= 'f')
      d = static_cast<std::uint32_t>(c - 'a' + 10);
    else if (c >= 'A' && c <= 'F')
      d = static_cast<std::uint32_t>(c - 'A' + 10);
    else
      return std::nullopt;
    v = (v << 4) | d;
  }
  return v;
}

int strength(digest_algorithm a) noexcept {
  switch (a) {
    case digest_algorithm::md5:
    case digest_algorithm::md5_sess:
      return 1;
    case digest_algorithm::sha256:
    case digest_algorithm::sha256_sess:
      return 2;
    case digest_algorithm::sha512_256:
    case digest_algorithm::sha512_256_sess:
      return 3;
  }
  return 0;
}

// The throttle's key of a source address: IPv4 as is, an IPv4-mapped IPv6 address as its
// IPv4 address, other IPv6 addresses by their /64 prefix ("2001:db8::/64"); anything that
// does not parse (a host name) as written.
std::string source_key(std::string_view source) {
  if (source.size() > 2 && source.front() == '[' && source.back() == ']')
    source = source.substr(1, source.size() - 2);
  if (source.find(':') == std::string_view::npos) return std::string(source);
  std::string text(source.substr(0, source.find('%')));  // no zone index
  in6_addr a{};
  if (inet_pton(AF_INET6, text.c_str(), &a) != 1) return std::string(source);
  char buf[INET6_ADDRSTRLEN] = {};
  if (IN6_IS_ADDR_V4MAPPED(&a)) {
    in_addr v4{};
    std::memcpy(&v4, a.s6_addr + 12, 4);
    return inet_ntop(AF_INET, &v4, buf, sizeof buf) ? std::string(buf) : std::string(source);
  }
  std::memset(a.s6_addr + 8, 0, 8);
  return inet_ntop(AF_INET6, &a, buf, sizeof buf) ? std::string(buf) + "/64" : std::string(source);
}

// (username, source) as one key; the length prefix keeps "a" + "bc" apart from "ab" + "c".
std::string pair_key(std::string_view user, std::string_view source) {
  std::string k = std::to_string(user.size());
  k += ':';
  k.append(user);
  k.append(source);
  return k;
}

// A username from the network, fit for a log line: printable ASCII, at most 64 characters.
std::string printable(std::string_view s) {
  std::string out;
  for (char c : s.substr(0, 64)) out.push_back(c >= 0x20 && c < 0x7f ? c : '?');
  if (s.size() > 64) out += "...";
  return out;
}

}  // namespace

digest_server::digest_server(digest_server_config cfg, password_lookup lookup, std::string key)
    : cfg_(std::move(cfg)), lookup_(std::move(lookup)), key_(std::move(key)) {
  if (cfg_.realm.empty()) throw std::invalid_argument("sipkit digest_server: empty realm");
  if (cfg_.algorithms.empty()) cfg_.algorithms = {digest_algorithm::sha256, digest_algorithm::md5};
  // RFC 8760 §2.4: most preferred (strongest) first.
  std::stable_sort(cfg_.algorithms.begin(), cfg_.algorithms.end(),
                   [](auto a, auto b) { return strength(a) > strength(b); });
  cfg_.algorithms.erase(std::unique(cfg_.algorithms.begin(), cfg_.algorithms.end()),
                        cfg_.algorithms.end());
  if (cfg_.max_nonces == 0) cfg_.max_nonces = 1;
  if (key_.empty()) {
    key_.resize(32);
    random_bytes(reinterpret_cast<unsigned char*>(key_.data()), key_.size());
  }
  const mac_t o = hmac(key_, std::string(opaque_tag) + cfg_.realm);
  opaque_ = base64url(o.data(), 16);
}

bool digest_server::offered(digest_algorithm a) const noexcept {
  return std::find(cfg_.algorithms.begin(), cfg_.algorithms.end(), a) != cfg_.algorithms.end();
}

std::string digest_server::make_nonce(time_point now) {
  std::array<unsigned char, nonce_raw_len> raw{};
  const auto stamp = static_cast<std::uint64_t>(millis(now));
  for (std::size_t i = 0; i < stamp_len; ++i)
    raw[i] = static_cast<unsigned char>(stamp >> (8 * (stamp_len - 1 - i)));
  random_bytes(raw.data() + stamp_len, salt_len);
  const std::string_view prefix(reinterpret_cast<const char*>(raw.data()), stamp_len + salt_len);
  const mac_t m = hmac(key_, nonce_mac_input(prefix, cfg_.realm));
  std::copy(m.begin(), m.end(), raw.begin() + stamp_len + salt_len);
  return base64url(raw.data(), raw.size());
}

digest_server::nonce_state digest_server::check_nonce(std::string_view nonce, time_point now,
                                                      std::int64_t& stamp) const {
  std::string raw;
  if (!unbase64url(nonce, raw) || raw.size() != nonce_raw_len) return nonce_state::invalid;
  const std::string_view prefix(raw.data(), stamp_len + salt_len);
  const mac_t m = hmac(key_, nonce_mac_input(prefix, cfg_.realm));
  if (CRYPTO_memcmp(m.data(), raw.data() + stamp_len + salt_len, mac_len) != 0)
    return nonce_state::invalid;
  std::uint64_t s = 0;
  for (std::size_t i = 0; i < stamp_len; ++i) s = (s << 8) | static_cast<unsigned char>(raw[i]);
  stamp = static_cast<std::int64_t>(s);
  const std::int64_t age = millis(now) - stamp;
  const auto lifetime =
      std::chrono::duration_cast<std::chrono::milliseconds>(cfg_.nonce_lifetime).count();
  if (age < 0 || age > lifetime) return nonce_state::expired;
  return nonce_state::valid;
}

void digest_server::add_challenges(parser::message& response, bool proxy, bool stale,
                                   time_point now) {
  const std::string nonce = make_nonce(now);
  const auto id =
      proxy ? parser::header_id::proxy_authenticate : parser::header_id::www_authenticate;
  for (const auto a : cfg_.algorithms) {
    // RFC 7616 §3.3 / RFC 3261 §25.1 digest-cln.
    std::string v = "Digest realm=";
    append_quoted(v, cfg_.realm);
    v += ", nonce=\"" + nonce + "\", opaque=\"" + opaque_ + "\", algorithm=";
    v += algorithm_name(a);
    v += cfg_.qop_auth_int ? ", qop=\"auth,auth-int\"" : ", qop=\"auth\"";
    if (stale) v += ", stale=true";
    response.add(id, v);
  }
}

parser::message digest_server::challenge(const parser::message& request, bool proxy, bool stale,
                                         time_point now) {
  // RFC 3261 §8.2.6.2: a To tag on every response but 100; make_response keeps an existing one.
  std::array<unsigned char, 8> tag{};
  random_bytes(tag.data(), tag.size());
  auto response =
      parser::make_response(request, proxy ? 407 : 401, {}, base64url(tag.data(), tag.size()));
  add_challenges(response, proxy, stale, now);
  return response;
}

// ------------------------------------------------------------------ verification

digest_server::result digest_server::verify(const parser::message& request, bool proxy,
                                            time_point now) {
  return verify_impl(request, proxy, now, nullptr);
}

digest_server::result digest_server::verify(const parser::message& request, std::string_view source,
                                            bool proxy, time_point now) {
  const auto& t = cfg_.throttle;
  const std::string src = source_key(source);
  if (t.window.count() > 0 && t.max_failures_per_source > 0 && !src.empty() &&
      locked(sources_, src, now)) {
    ++stats_.throttled;
    return {verdict::throttled, {}, "too many failed authentications from this source"};
  }
  result r = verify_impl(request, proxy, now, &src);
  if (t.window.count() <= 0) return r;
  if (r.v == verdict::ok) {
    if (!src.empty()) remember_good_pair(pair_key(r.username, src), now);
  } else if (r.v == verdict::bad_credentials || r.v == verdict::unknown_user) {
    const auto secs = std::to_string(t.window.count());
    if (t.max_failures_per_source > 0 && !src.empty() &&
        count_failure(sources_, src, t.max_failures_per_source, t.max_sources, now)) {
      ++stats_.source_locks;
      cfg_.log.log(log_level::warning, "digest",
                   "throttled source " + src + " for " + secs +
                       " s: " + std::to_string(t.max_failures_per_source) +
                       " failed authentications within " + secs + " s (realm " + cfg_.realm + ")");
    }
    if (t.max_failures_per_user > 0 &&
        count_failure(users_, r.username, t.max_failures_per_user, t.max_users, now)) {
      ++stats_.user_locks;
      cfg_.log.log(log_level::warning, "digest",
                   "throttled user " + printable(r.username) + " for " + secs + " s: " +
                       std::to_string(t.max_failures_per_user) + " failed authentications within " +
                       secs + " s; only sources it authenticated from before get through (realm " +
                       cfg_.realm + ")");
    }
  }
  return r;
}

digest_server::result digest_server::verify_impl(const parser::message& request, bool proxy,
                                                 time_point now, const std::string* source) {
  const auto headers = read_authorizations(request, proxy);
  const authorization_header* h = nullptr;
  std::string skipped;
  for (const auto& a : headers) {
    if (a.parsed && iequals(a.scheme, "Digest") && a.realm == cfg_.realm) {
      h = &a;
      break;
    }
    if (!iequals(a.scheme, "Digest")) skipped += (skipped.empty() ? "" : ", ") + a.scheme;
  }
  if (h == nullptr) {
    // RFC 3261 §22.3 (proxies: other realms are not ours); RFC 4475 §3.3.7: an unknown
    // scheme is answered with a challenge.
    return {verdict::missing,
            {},
            skipped.empty() ? "no Digest credentials for the realm"
                            : "no Digest credentials for the realm; unsupported scheme " + skipped};
  }
  result r{verdict::malformed, h->username, {}};
  const auto malformed = [&](std::string why) {
    r.reason = std::move(why);
    return r;
  };
  if (h->username.empty() || h->nonce.empty() || h->uri.empty() || h->response.empty())
    return malformed("missing username, nonce, uri or response");
  if (!h->algorithm || !offered(*h->algorithm))
    return malformed("algorithm not offered: " + h->algorithm_text);
  if (h->userhash) return malformed("userhash is not supported");
  digest_qop qop = digest_qop::none;
  if (h->qop == "auth")
    qop = digest_qop::auth;
  else if (h->qop == "auth-int" && cfg_.qop_auth_int)
    qop = digest_qop::auth_int;
  else  // RFC 2617 §3.2.2: qop MUST be answered when the challenge offered it (ours do).
    return malformed("qop not offered: " + h->qop);
  const auto nc = parse_nc(h->nc);
  if (!nc || *nc == 0 || h->cnonce.empty()) return malformed("bad nc or missing cnonce");
  // opaque is not checked: the nonce carries everything we need, and after a key change
  // (restart) a stale re-challenge is better than a 400 for an opaque of the old key.
  // RFC 7616 §3.4.6 (RFC 2617 §3.2.2.5): the uri must name the Request-URI.
  if (h->uri != request.request_uri()) return malformed("uri does not match the Request-URI");

  // A locked username (digest_throttle_config): only its known-good sources get through,
  // and nothing else is looked at (no password lookup, no hashing).
  const auto& t = cfg_.throttle;
  if (source != nullptr && t.window.count() > 0 && t.max_failures_per_user > 0 &&
      locked(users_, h->username, now)) {
    if (source->empty() || !is_good_pair(pair_key(h->username, *source), now)) {
      ++stats_.throttled;
      r.v = verdict::throttled;
      r.reason = "too many failed authentications for this user";
      return r;
    }
    ++stats_.good_pair_passes;
  }

  const auto password = lookup_(h->username, h->realm);
  if (!password) {
    ++stats_.failures;
    r.v = verdict::unknown_user;
    r.reason = "unknown user";
    return r;
  }
  const std::string expected = digest_response({.algorithm = *h->algorithm,
                                                .qop = qop,
                                                .username = h->username,
                                                .realm = h->realm,
                                                .password = *password,
                                                .method = request.method_text(),
                                                .uri = h->uri,
                                                .nonce = h->nonce,
                                                .cnonce = h->cnonce,
                                                .nc = h->nc,
                                                .body = request.body()});
  std::string got = h->response;
  std::transform(got.begin(), got.end(), got.begin(),
                 [](char c) { return c >= 'A' && c <= 'Z' ? static_cast<char>(c + 32) : c; });
  if (!constant_time_equal(got, expected)) {
    ++stats_.failures;
    r.v = verdict::bad_credentials;
    r.reason = "response does not match";
    return r;
  }

  // The digest is right; now the nonce (RFC 7616 §3.3: stale only with a valid digest).
  std::int64_t stamp = 0;
  const auto state = check_nonce(h->nonce, now, stamp);
  if (state != nonce_state::valid) {
    r.v = verdict::stale_nonce;
    r.reason = state == nonce_state::expired ? "nonce expired" : "nonce not issued by us";
    return r;
  }
  auto it = nonces_.find(h->nonce);
  if (it == nonces_.end()) {
    // Its nc history may have been evicted: do not trust it again, ask for a new nonce.
    if (stamp <= evicted_up_to_) {
      r.v = verdict::stale_nonce;
      r.reason = "nonce no longer tracked";
      return r;
    }
    const auto lifetime =
        std::chrono::duration_cast<std::chrono::milliseconds>(cfg_.nonce_lifetime).count();
    const std::int64_t now_ms = millis(now);
    // Expired entries leave first (they would be stale anyway), then the oldest by first use.
    while (!order_.empty()) {
      auto front = nonces_.find(*order_.front());
      const bool expired = now_ms - front->second.stamp > lifetime;
      if (!expired && nonces_.size() < cfg_.max_nonces) break;
      if (!expired) evicted_up_to_ = std::max(evicted_up_to_, front->second.stamp);
      nonces_.erase(front);
      order_.pop_front();
    }
    it = nonces_.emplace(h->nonce, tracked{0, stamp}).first;
    order_.push_back(&it->first);
  }
  if (*nc <= it->second.nc) {
    r.v = verdict::replay;
    r.reason = "nc not greater than the last one seen";
    return r;
  }
  it->second.nc = *nc;
  ++stats_.verified;
  r.v = verdict::ok;
  r.reason.clear();
  return r;
}

}  // namespace sipkit::ua
