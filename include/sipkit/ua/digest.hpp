// HTTP Digest authentication for SIP, client and server side, without I/O.
//
//   RFC 3261 §22     SIP's use of Digest: 401/WWW-Authenticate, 407/Proxy-Authenticate,
//                    one set of credentials per realm, CSeq+1 on the retried request
//   RFC 2617 §3.2    qop=auth / auth-int, cnonce, nc, the -sess algorithms
//   RFC 2069         the response without qop (RFC 3261 §22.4 keeps it for old peers)
//   RFC 7616         SHA-256, SHA-512-256, userhash; §3.7 several challenges, one per algorithm
//   RFC 8760         the new algorithms in SIP; §2.4 challenge order, strongest first
//
// Client (a UAC that registers or calls through an authenticating proxy):
//
//   sipkit::ua::digest_client auth({{"", "alice", "secret"}});   // "" = any realm
//   // 401/407 to `req` arrived; build the same request again with CSeq+1, then:
//   if (auto ec = auth.authorize(retry, response)) give_up(ec);     // no_credentials ...
//   else send(retry);                                               // carries Authorization
//
// Server (registrar, UAS, proxy):
//
//   sipkit::ua::digest_server auth({.realm = "example.com"}, lookup_password);
//   using verdict = sipkit::ua::digest_server::verdict;
//   auto r = auth.verify(request, source_ip, /*proxy=*/false, now);  // throttled per source
//   if (r.v == verdict::ok) accept(r.username);
//   else if (r.v == verdict::malformed) send(make_response(request, 400));
//   else if (r.v == verdict::throttled) send(make_response(request, 403));
//   else send(auth.challenge(request, false, r.v == verdict::stale_nonce, now));  // 401
//
// Ownership: functions take messages by reference and keep nothing that points into them;
// every value they return or cache is an owning copy. digest_client and digest_server own
// their state (credentials, cached challenges, nonce counts, nonce key).
//
// Thread safety: the free functions are thread-safe. A digest_client or digest_server is a
// plain object without locks: use one from one thread at a time (one per stack instance).
//
// Errors: digest_client::authorize returns a std::error_code of category "sipkit.ua.digest"
// (digest_errc); the server returns a verdict with a short reason. Malformed or unknown
// challenges and credentials are reported, never thrown. Exceptions only for misuse
// (std::invalid_argument: a digest_server without realm), std::bad_alloc, and
// std::runtime_error if OpenSSL itself fails (random generator, hash, HMAC).
//
// Hashes, HMAC, random bytes and the constant-time compare come from OpenSSL libcrypto.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <functional>
#include <limits>
#include <list>
#include <optional>
#include <string>
#include <string_view>
#include <system_error>
#include <unordered_map>
#include <vector>

#include "sipkit/log.hpp"
#include "sipkit/parser/message.hpp"
#include "sipkit/transaction/timer.hpp"

namespace sipkit::ua {

using transaction::time_point;

// ------------------------------------------------------------------------------------------
// Algorithms and the response computation

/// The digest algorithms of RFC 7616 §3.4.2 / §6.1 (IANA registry) that RFC 8760 brings to SIP.
enum class digest_algorithm : std::uint8_t {
  md5,
  md5_sess,
  sha256,
  sha256_sess,
  sha512_256,
  sha512_256_sess
};

/// The token as written in the algorithm parameter: "MD5", "SHA-256-sess" ...
std::string_view algorithm_name(digest_algorithm a) noexcept;
/// Parses an algorithm token (case-insensitive, quotes allowed); nullopt for unknown ones.
std::optional<digest_algorithm> parse_digest_algorithm(std::string_view token) noexcept;

/// The quality of protection a response was computed for (RFC 2617 §3.2.1).
enum class digest_qop : std::uint8_t {
  none,      ///< RFC 2069 form: no qop, cnonce or nc
  auth,      ///< authentication only
  auth_int,  ///< authentication with integrity of the message body
};

/// H(data) of the algorithm's hash as lowercase hex (MD5: 32 digits, SHA-256 and
/// SHA-512/256: 64 digits). -sess variants hash like their base algorithm.
std::string digest_hash(digest_algorithm a, std::string_view data);

/// Inputs of one digest response (RFC 7616 §3.4.1). Values are unquoted.
struct digest_input {
  digest_algorithm algorithm = digest_algorithm::md5;
  digest_qop qop = digest_qop::auth;
  std::string_view username;  ///< the real username, also when userhash is in use (§3.4.4)
  std::string_view realm;
  std::string_view password;
  std::string_view method;  ///< "REGISTER" (RFC 3261 §22.4: the request's method)
  std::string_view uri;     ///< digest-uri: the Request-URI as written
  std::string_view nonce;
  std::string_view cnonce;  ///< unused with qop none
  std::string_view nc;      ///< 8 lowercase hex digits as sent; unused with qop none
  std::string_view body;    ///< the message body; used only by auth-int
};

/// The request-digest (RFC 7616 §3.4.1, RFC 2617 §3.2.2.1), lowercase hex:
///   A1 = user:realm:password, or H(user:realm:password):nonce:cnonce for -sess (§3.4.2)
///   A2 = method:uri, or method:uri:H(body) for auth-int (§3.4.3)
///   response = H(H(A1):nonce:nc:cnonce:qop:H(A2)), or H(H(A1):nonce:H(A2)) without qop
///   (RFC 2069 §2.1.2).
std::string digest_response(const digest_input& in);

// ------------------------------------------------------------------------------------------
// Errors of the client

enum class digest_errc {
  ok = 0,
  /// The response carries no WWW-Authenticate / Proxy-Authenticate header at all.
  no_challenge,
  /// Every challenge uses a scheme, algorithm or qop this module does not implement
  /// ("Basic", "Digest algorithm=SHA-999"); nothing was added to the request.
  unsupported,
  /// There are no credentials for any realm offered.
  no_credentials,
  /// Our answer for this realm was rejected and the server did not say the nonce was
  /// stale: the password is wrong, retrying would loop (RFC 3261 §22.2: do not re-attempt
  /// with rejected credentials; RFC 7616 §3.3 stale).
  already_failed,
};

const std::error_category& digest_category() noexcept;

inline std::error_code make_error_code(digest_errc e) noexcept {
  return {static_cast<int>(e), digest_category()};
}

// ------------------------------------------------------------------------------------------
// Reading challenges and credentials

/// A user's secret for one realm.
struct credentials {
  std::string realm;  ///< empty = use for any realm (an exact realm match is preferred)
  std::string username;
  std::string password;
};

/// One Digest challenge (RFC 3261 §20.44, §20.27; RFC 7616 §3.3), values unquoted.
struct challenge {
  std::string scheme;  ///< "Digest" as written
  std::string realm, nonce, opaque, domain;
  std::vector<std::string> qop_options;                ///< empty: RFC 2069 server, no qop
  digest_algorithm algorithm = digest_algorithm::md5;  ///< MD5 when absent (RFC 7616 §3.3)
  bool stale = false;
  bool userhash = false;  ///< RFC 7616 §3.4.4: send username=H(user:realm)
  bool proxy = false;     ///< from Proxy-Authenticate (407) rather than WWW-Authenticate
};

/// All challenges of a response, in header order.
struct challenge_set {
  /// Digest challenges this module can answer.
  std::vector<challenge> usable;
  /// One short description per challenge it cannot answer: the scheme ("Basic"), or
  /// "Digest algorithm=SHA-999", "Digest qop=auth-conf", "Digest without realm or nonce",
  /// "unparsable: <value>".
  std::vector<std::string> unsupported;
};

/// Reads the WWW-Authenticate and Proxy-Authenticate headers of a 401/407 (or any message).
challenge_set read_challenges(const parser::message& response);

/// The credentials in one Authorization / Proxy-Authorization header (RFC 3261 §20.7,
/// §20.28; RFC 7616 §3.4), values unquoted; absent parameters are empty.
struct authorization_header {
  std::string scheme;  ///< as written; "Digest" or any other scheme
  std::string username, realm, nonce, uri, response, cnonce, opaque, qop, nc;
  std::string algorithm_text;                 ///< as written, empty when absent
  std::optional<digest_algorithm> algorithm;  ///< MD5 when absent, nullopt when unknown
  bool userhash = false;
  bool parsed = true;  ///< false: the value did not parse; only `scheme` is set (first token)
};

/// Reads the Authorization (proxy=false) or Proxy-Authorization (proxy=true) headers of a
/// request, in order. Proxies use it to pick the credentials of their own realm
/// (RFC 3261 §22.3).
std::vector<authorization_header> read_authorizations(const parser::message& request, bool proxy);

// ------------------------------------------------------------------------------------------
// Client

/// Answers Digest challenges for a UAC (RFC 3261 §22.2, §22.3).
///
/// It caches the last challenge answered per (proxy, realm) with its nonce count, so a
/// retried request after a stale nonce, a later 401 from the same server and pre-emptive
/// credentials on later requests (reauthorize) all continue the count: nc is 00000001 for
/// the first use of a nonce and grows by one on each reuse (RFC 7616 §3.4). cnonces are 16
/// random bytes in hex unless a cnonce source is given (tests).
///
/// Choice among several challenges: one answer per realm; among the challenges for one
/// realm, the strongest algorithm (SHA-512-256 > SHA-256 > MD5, -sess ranking with its
/// base), the topmost on a tie. RFC 7616 §3.7 and RFC 8760 §2.4 let the client's policy
/// prefer the strongest; a server following RFC 8760 lists it first anyway. qop=auth is
/// preferred when both auth and auth-int are offered; no qop gives the RFC 2069 response.
class digest_client {
 public:
  /// Returns a fresh client nonce; it must be a valid quoted-string content.
  using cnonce_source = std::function<std::string()>;

  explicit digest_client(std::vector<credentials> creds, cnonce_source make_cnonce = {});

  /// Adds Authorization (401) / Proxy-Authorization (407) headers to `request` answering
  /// `response`. `request` is the NEW request the caller built (same request, CSeq+1,
  /// RFC 3261 §22.2); its method and Request-URI are what the response covers. Existing
  /// credentials in `request` for a realm being answered are replaced. Credentials for
  /// other realms that the rejected request carried (a proxy's, when the 401 comes from the
  /// UAS behind it) are added again with nc+1.
  ///
  /// A response rejects our answer for a realm when its Call-ID and CSeq are those
  /// `request` had when authorize()/reauthorize() returned (so set the new CSeq before the
  /// call), or when it challenges again, in the same call, the nonce we answered. If our
  /// answer comes back rejected without stale=true, or with stale=true but the same nonce,
  /// the result is already_failed and `request` is not changed.
  std::error_code authorize(parser::message& request, const parser::message& response);

  /// Pre-emptive credentials for a later request (e.g. a REGISTER refresh): adds one header
  /// per cached challenge (only for `realm` when it is not empty) with nc+1. Returns the
  /// number of headers added; 0 when nothing is cached.
  std::size_t reauthorize(parser::message& request, std::string_view realm = {});

  /// Forgets the cached challenges (after a change of server or credentials).
  void clear() noexcept { cache_.clear(); }

 private:
  struct entry {
    challenge ch;          ///< the challenge last answered for (proxy, realm)
    std::size_t cred = 0;  ///< index into creds_
    std::uint32_t nc = 0;  ///< the last nc sent with ch.nonce
    std::string call_id;   ///< the request that carried the last answer
    std::uint32_t cseq = 0;
    bool has_cseq = false;
  };
  const credentials* find_credentials(std::string_view realm, std::size_t& index) const;
  entry* find_entry(bool proxy, std::string_view realm);
  void answer(parser::message& request, entry& e);

  std::vector<credentials> creds_;
  cnonce_source make_cnonce_;
  std::vector<entry> cache_;
};

// ------------------------------------------------------------------------------------------
// Server

/// Failure throttling of digest_server::verify(request, source, proxy, now): password
/// guessing is bounded per source address and per username, without any I/O (time is the
/// `now` given to verify). A failure is a wrong response or an unknown username (the two
/// look the same to the client); malformed, stale or replayed credentials are not failures.
///
/// Per source: after `max_failures_per_source` failures from one address within `window`,
/// every request from it gets verdict::throttled (the caller answers 403) until `window`
/// after the failure that reached the limit, even with the right password (otherwise the
/// refusal would tell a guess apart). Addresses count per IPv4 address, IPv6 per /64
/// prefix (one host usually owns a whole /64).
///
/// Per user: after `max_failures_per_user` failures for one username within `window` (from
/// any sources: a distributed guesser), the username is locked for `window` after the
/// failure that reached the limit: its credentials get verdict::throttled, except from a
/// source that authenticated that user before (the good pairs below), so an attacker cannot
/// keep a user's own devices out. A lock always ends after `window`; attempts while locked
/// are not verified, so they neither count nor extend it. Unknown usernames are tracked like
/// known ones, so the throttle says nothing about which users exist.
///
/// Memory is bounded: at most `max_sources` addresses and `max_users` usernames are
/// tracked; when full, the entry whose window started first is dropped (an attacker needs
/// that many fresh addresses or names within a window to push a lock out). Good pairs
/// (username, address) are kept for `good_pair_lifetime` after their last success, at most
/// `max_good_pairs`, the least recently used dropped first.
///
/// Each lock is logged once (warning) when it starts, not per refused attempt; counters are
/// in digest_server::stats().
struct digest_throttle_config {
  /// 0 = no per-source limit.
  std::uint32_t max_failures_per_source = 5;
  /// 0 = no per-user limit.
  std::uint32_t max_failures_per_user = 20;
  /// The counting window, also the length of a lock. 0 = no throttling at all.
  std::chrono::seconds window{60};
  std::size_t max_sources = 10000;
  std::size_t max_users = 10000;
  std::size_t max_good_pairs = 10000;
  std::chrono::seconds good_pair_lifetime{std::chrono::hours(24)};
};

struct digest_server_config {
  /// The protection domain (RFC 3261 §22.1: usually the host or domain of the server).
  std::string realm;
  /// Algorithms offered, one WWW-Authenticate each; sent strongest first (RFC 8760 §2.4).
  std::vector<digest_algorithm> algorithms{digest_algorithm::sha256, digest_algorithm::md5};
  /// Offer qop="auth,auth-int" instead of qop="auth" (auth-int is then also accepted).
  bool qop_auth_int = false;
  /// A nonce older than this is answered with stale=true (RFC 7616 §3.3).
  std::chrono::seconds nonce_lifetime{300};
  /// Bound of the table of used nonces (nc replay tracking); the oldest entry goes first.
  std::size_t max_nonces = 100000;
  /// Failure throttling; applies to verify() calls that give the source address.
  digest_throttle_config throttle = {};
  /// Where throttle locks are reported (component "digest"); stderr at info by default.
  logger log = logger();
};

/// Counters of a digest_server since it was made.
struct digest_server_stats {
  std::uint64_t verified = 0;          ///< verdict::ok
  std::uint64_t failures = 0;          ///< bad_credentials and unknown_user verdicts
  std::uint64_t throttled = 0;         ///< verdict::throttled: refused without verification
  std::uint64_t source_locks = 0;      ///< times a source reached its failure limit
  std::uint64_t user_locks = 0;        ///< times a username reached its failure limit
  std::uint64_t evicted = 0;           ///< live throttle entries dropped for the bounds
  std::uint64_t good_pair_passes = 0;  ///< locked user let through from a known-good source
};

/// The password of `user` in `realm`, or nullopt for an unknown user. Called during verify().
using password_lookup =
    std::function<std::optional<std::string>(std::string_view user, std::string_view realm)>;

/// Challenges requests and verifies their credentials (RFC 3261 §22.1-22.4, RFC 7616 §3.3,
/// §3.4, §5).
///
/// Nonces are stateless and unforgeable: base64url(timestamp || salt || HMAC-SHA256(key,
/// timestamp || salt || realm)), so any nonce can be checked without storing it. Only
/// nonces that have been used are kept, with their last nc, in a bounded table; a nonce
/// that left the table before expiring is answered as stale rather than trusted again.
/// Timestamps are milliseconds of the clock `now` comes from (steady_clock): instances that
/// share a key must share a time base to accept each other's nonces, and the nc table is
/// per instance.
///
/// Not supported on this side: userhash (credentials with userhash=true are malformed),
/// the RFC 2069 form (our challenges always carry qop, so an answer without one is
/// malformed), and the domain parameter.
class digest_server {
 public:
  enum class verdict {
    ok,               ///< credentials valid; `username` is authenticated
    missing,          ///< no Digest credentials for our realm: challenge
    bad_credentials,  ///< wrong password (or tampered parameters): challenge again / 403
    stale_nonce,      ///< correct digest but the nonce expired or is not ours: stale=true
    replay,           ///< nc not greater than the last one seen for the nonce
    unknown_user,     ///< lookup found no such user
    malformed,        ///< missing parameters, unknown algorithm or qop, uri mismatch: 400
    throttled,        ///< too many failures from the source or for the user: 403, no
                      ///< challenge (digest_throttle_config); nothing was verified
  };
  struct result {
    verdict v = verdict::missing;
    std::string username;  ///< the username of the credentials examined (if any)
    std::string reason;    ///< a short explanation for logs
  };

  /// `key` is the secret for nonce MACs (32 random bytes when empty); instances behind a
  /// load balancer share it. Throws std::invalid_argument when cfg.realm is empty.
  digest_server(digest_server_config cfg, password_lookup lookup, std::string key = {});
  /// Movable, not copyable: its tables index their own nodes.
  digest_server(digest_server&&) = default;
  digest_server& operator=(digest_server&&) = default;
  digest_server(const digest_server&) = delete;
  digest_server& operator=(const digest_server&) = delete;

  /// The 401 (407 when proxy) to send for `request` (RFC 3261 §8.2.6, with a To tag when
  /// the request has none), carrying the challenges of add_challenges().
  parser::message challenge(const parser::message& request, bool proxy, bool stale, time_point now);
  /// Adds one WWW-Authenticate (Proxy-Authenticate when proxy) per configured algorithm,
  /// strongest first, all with the same fresh nonce, opaque, qop and stale=true when asked.
  void add_challenges(parser::message& response, bool proxy, bool stale, time_point now);

  /// Verifies the Authorization (Proxy-Authorization when proxy) for our realm: parameters
  /// present, algorithm and qop offered by us, uri equal to the Request-URI (RFC 7616
  /// §3.4.6), the response (compared in constant time; auth-int hashes the body), then the
  /// nonce (ours and not expired, else stale_nonce) and its nc (strictly increasing, else
  /// replay). On ok the nc is recorded.
  ///
  /// This overload knows no source and does no throttling (cfg.throttle is not used);
  /// servers reachable by strangers should call the one below.
  result verify(const parser::message& request, bool proxy, time_point now);

  /// verify() with failure throttling (digest_throttle_config): `source` is the address
  /// the request came from, without port ("192.0.2.1", "2001:db8::1"; for UDP the packet's
  /// source, which the guesser must own to see our answers). A source or user over its
  /// limit gets verdict::throttled before anything is verified; failures and successes are
  /// recorded. When `source` is empty only the per-user limit applies, with no good pairs.
  result verify(const parser::message& request, std::string_view source, bool proxy,
                time_point now);

  /// Nonces currently tracked for replay detection.
  std::size_t tracked_nonces() const noexcept { return nonces_.size(); }
  /// Entries of the throttle tables.
  std::size_t tracked_sources() const noexcept { return sources_.index.size(); }
  std::size_t tracked_users() const noexcept { return users_.index.size(); }
  std::size_t tracked_good_pairs() const noexcept { return good_.index.size(); }
  const digest_server_stats& stats() const noexcept { return stats_; }

 private:
  /// Failure counting of one source or username (a fixed window that starts with its
  /// first failure), in a table ordered by window start.
  struct failure_entry {
    std::string key;
    time_point window_start{};
    time_point locked_until{};  ///< > now: locked
    std::uint32_t failures = 0;
  };
  struct failure_table {
    std::list<failure_entry> order;  ///< oldest window first
    std::unordered_map<std::string_view, std::list<failure_entry>::iterator> index;
  };
  /// A (username, source) pair that authenticated, by last success (least recent first).
  struct good_pair {
    std::string key;
    time_point last{};
  };
  struct good_table {
    std::list<good_pair> order;
    std::unordered_map<std::string_view, std::list<good_pair>::iterator> index;
  };

  result verify_impl(const parser::message& request, bool proxy, time_point now,
                     const std::string* source);
  bool locked(const failure_table& t, const std::string& key, time_point now) const;
  /// Counts one failure; true when it makes the entry reach `limit` (a new lock).
  bool count_failure(failure_table& t, const std::string& key, std::uint32_t limit,
                     std::size_t max_entries, time_point now);
  bool is_good_pair(const std::string& key, time_point now) const;
  void remember_good_pair(std::string key, time_point now);

  enum class nonce_state { valid, expired, invalid };
  std::string make_nonce(time_point now);
  nonce_state check_nonce(std::string_view nonce, time_point now, std::int64_t& stamp) const;
  bool offered(digest_algorithm a) const noexcept;

  struct tracked {
    std::uint32_t nc = 0;
    std::int64_t stamp = 0;  ///< issue time of the nonce, ms
  };
  digest_server_config cfg_;
  password_lookup lookup_;
  std::string key_;
  std::string opaque_;
  std::unordered_map<std::string, tracked> nonces_;
  std::deque<const std::string*> order_;  ///< keys of nonces_ in order of first use
  std::int64_t evicted_up_to_ =
      std::numeric_limits<std::int64_t>::min();  ///< newest issue time among evicted nonces
  failure_table sources_, users_;
  good_table good_;
  digest_server_stats stats_;
};

}  // namespace sipkit::ua

template <>
struct std::is_error_code_enum<sipkit::ua::digest_errc> : std::true_type {};
