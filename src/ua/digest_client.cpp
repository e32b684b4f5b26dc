// digest_client: answering 401/407 challenges (RFC 3261 §22.2-22.3, RFC 7616 §3.4, RFC 8760).
#include <openssl/rand.h>

#include <algorithm>
#include <array>
#include <charconv>
#include <stdexcept>

#include "sipkit/ua/digest.hpp"

namespace sipkit::ua {
namespace {

// RFC 7616 §3.7 / RFC 8760 §2.4: the client may prefer the strongest hash. -sess variants
// rank with their base algorithm.
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

std::string random_hex(std::size_t bytes) {
  std::array<unsigned char, 32> raw{};
  bytes = std::min(bytes, raw.size());
  if (RAND_bytes(raw.data(), static_cast<int>(bytes)) != 1)
    throw std::runtime_error("sipkit digest: OpenSSL RAND_bytes failed");
  static constexpr char hex[] = "0123456789abcdef";
  std::string out(bytes * 2, '0');
  for (std::size_t i = 0; i < bytes; ++i) {
    out[2 * i] = hex[raw[i] >> 4];
    out[2 * i + 1] = hex[raw[i] & 0x0f];
  }
  return out;
}

// quoted-string (RFC 3261 §25.1): '"' and '\' travel as quoted-pairs.
void append_quoted(std::string& out, std::string_view v) {
  out.push_back('"');
  for (char c : v) {
    if (c == '"' || c == '\\') out.push_back('\\');
    out.push_back(c);
  }
  out.push_back('"');
}

// nc-value = 8LHEX (RFC 7616 §3.4).
std::string format_nc(std::uint32_t n) {
  std::array<char, 8> digits{};
  auto r = std::to_chars(digits.data(), digits.data() + digits.size(), n, 16);
  const auto len = static_cast<std::size_t>(r.ptr - digits.data());
  std::string out(8 - len, '0');
  out.append(digits.data(), len);
  return out;
}

// RFC 2617 §3.2.2: qop=auth preferred when both are offered; none for an RFC 2069 server.
digest_qop choose_qop(const challenge& c) {
  if (c.qop_options.empty()) return digest_qop::none;
  for (const auto& q : c.qop_options)
    if (q == "auth") return digest_qop::auth;
  return digest_qop::auth_int;
}

parser::header_id header_for(bool proxy) noexcept {
  return proxy ? parser::header_id::proxy_authorization : parser::header_id::authorization;
}

// Removes the credentials of `realm` from the request, keeping those for other realms.
void remove_realm(parser::message& request, bool proxy, std::string_view realm) {
  const auto id = header_for(proxy);
  if (request.count(id) == 0) return;
  const auto parsed = read_authorizations(request, proxy);
  std::vector<std::string> keep;
  std::size_t i = 0;
  for (const auto& f : request.fields()) {
    if (f.id != id) continue;
    if (!(parsed[i].parsed && parsed[i].realm == realm)) keep.emplace_back(request.value_of(f));
    ++i;
  }
  request.remove(id);
  for (const auto& v : keep) request.add(id, v);
}

}  // namespace

digest_client::digest_client(std::vector<credentials> creds, cnonce_source make_cnonce)
    : creds_(std::move(creds)), make_cnonce_(std::move(make_cnonce)) {
  if (!make_cnonce_) make_cnonce_ = [] { return random_hex(16); };
}

const credentials* digest_client::find_credentials(std::string_view realm,
                                                   std::size_t& index) const {
  for (std::size_t i = 0; i < creds_.size(); ++i)
    if (creds_[i].realm == realm) return &creds_[index = i];
  for (std::size_t i = 0; i < creds_.size(); ++i)
    if (creds_[i].realm.empty()) return &creds_[index = i];
  return nullptr;
}

digest_client::entry* digest_client::find_entry(bool proxy, std::string_view realm) {
  for (auto& e : cache_)
    if (e.ch.proxy == proxy && e.ch.realm == realm) return &e;
  return nullptr;
}

void digest_client::answer(parser::message& request, entry& e) {
  const credentials& cr = creds_[e.cred];
  const challenge& c = e.ch;
  const digest_qop qop = choose_qop(c);
  ++e.nc;
  const std::string nc = format_nc(e.nc);
  const std::string cnonce = qop == digest_qop::none ? std::string() : make_cnonce_();
  const std::string response = digest_response({.algorithm = c.algorithm,
                                                .qop = qop,
                                                .username = cr.username,
                                                .realm = c.realm,
                                                .password = cr.password,
                                                .method = request.method_text(),
                                                .uri = request.request_uri(),
                                                .nonce = c.nonce,
                                                .cnonce = cnonce,
                                                .nc = nc,
                                                .body = request.body()});
  // RFC 3261 §25.1 digest-response / RFC 7616 §3.4.
  std::string v = c.scheme.empty() ? std::string("Digest") : c.scheme;
  v += " username=";
  // RFC 7616 §3.4.4: with userhash the username travels as H(user:realm).
  append_quoted(v,
                c.userhash ? digest_hash(c.algorithm, cr.username + ":" + c.realm) : cr.username);
  v += ", realm=";
  append_quoted(v, c.realm);
  v += ", nonce=";
  append_quoted(v, c.nonce);
  v += ", uri=";
  append_quoted(v, request.request_uri());
  v += ", response=\"" + response + "\", algorithm=";
  v += algorithm_name(c.algorithm);
  if (qop != digest_qop::none) {
    v += ", cnonce=";
    append_quoted(v, cnonce);
  }
  if (!c.opaque.empty()) {
    v += ", opaque=";
    append_quoted(v, c.opaque);
  }
  if (qop != digest_qop::none) {
    v += qop == digest_qop::auth ? ", qop=auth" : ", qop=auth-int";
    v += ", nc=" + nc;
  }
  if (c.userhash) v += ", userhash=true";
  request.add(header_for(c.proxy), v);

  e.call_id = std::string(request.call_id());
  const auto cseq = request.cseq();
  e.has_cseq = cseq.has_value();
  e.cseq = cseq ? cseq->number : 0;
}

std::error_code digest_client::authorize(parser::message& request,
                                         const parser::message& response) {
  const challenge_set set = read_challenges(response);
  if (set.usable.empty())
    return set.unsupported.empty() ? digest_errc::no_challenge : digest_errc::unsupported;

  // One answer per (proxy, realm): the strongest algorithm, the topmost on a tie.
  std::vector<const challenge*> best;
  for (const auto& c : set.usable) {
    auto it = std::find_if(best.begin(), best.end(), [&](const challenge* b) {
      return b->proxy == c.proxy && b->realm == c.realm;
    });
    if (it == best.end())
      best.push_back(&c);
    else if (strength(c.algorithm) > strength((*it)->algorithm))
      *it = &c;
  }

  // Did this response reject a request that carried our answer for the entry's realm? That
  // request had the Call-ID and CSeq recorded by answer(); the same nonce challenged again
  // in the same call also counts (covers a caller that changes the CSeq after authorize()).
  const std::string_view call_id = response.call_id();
  const auto cseq = response.cseq();
  const auto rejected = [&](const entry& e, const challenge& c) {
    if (!cseq || !e.has_cseq) return e.ch.nonce == c.nonce;
    return e.call_id == call_id && (e.cseq == cseq->number || e.ch.nonce == c.nonce);
  };

  struct plan {
    challenge ch;
    std::size_t cred;
  };
  std::vector<plan> plans;
  bool failed = false;
  for (const challenge* c : best) {
    std::size_t cred = 0;
    if (find_credentials(c->realm, cred) == nullptr) continue;
    if (const entry* e = find_entry(c->proxy, c->realm); e != nullptr && rejected(*e, *c)) {
      // RFC 3261 §22.2: do not re-attempt with rejected credentials; a stale nonce
      // (RFC 7616 §3.3) may be retried, but only with a new nonce (no loops).
      if (!c->stale || c->nonce == e->ch.nonce) {
        failed = true;
        continue;
      }
    }
    plans.push_back({*c, cred});
  }
  if (failed) return digest_errc::already_failed;
  if (plans.empty()) return digest_errc::no_credentials;

  // Realms the rejected request answered that this response does not challenge (the proxy's
  // when the 401 comes from the UAS behind it) need their credentials again.
  if (cseq) {
    for (const entry& e : cache_) {
      if (!e.has_cseq || e.call_id != call_id || e.cseq != cseq->number) continue;
      const bool challenged = std::any_of(best.begin(), best.end(), [&](const challenge* b) {
        return b->proxy == e.ch.proxy && b->realm == e.ch.realm;
      });
      if (!challenged) plans.push_back({e.ch, e.cred});
    }
  }

  for (auto& p : plans) {
    entry* e = find_entry(p.ch.proxy, p.ch.realm);
    if (e == nullptr) e = &cache_.emplace_back();
    if (e->ch.nonce != p.ch.nonce) e->nc = 0;  // a new nonce starts at nc=00000001
    e->ch = std::move(p.ch);
    e->cred = p.cred;
    remove_realm(request, e->ch.proxy, e->ch.realm);
    answer(request, *e);
  }
  return {};
}

std::size_t digest_client::reauthorize(parser::message& request, std::string_view realm) {
  std::size_t added = 0;
  for (auto& e : cache_) {
    if (!realm.empty() && e.ch.realm != realm) continue;
    remove_realm(request, e.ch.proxy, e.ch.realm);
    answer(request, e);
    ++added;
  }
  return added;
}

}  // namespace sipkit::ua
