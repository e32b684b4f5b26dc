// redis_location_store — the registrar's bindings (RFC 3261 §10.3) kept in Redis, so that
// several registrar processes on several machines share them and none of them holds state
// that dies with it. Same rules as location_service (see location_service.hpp), asynchronous.
//
//   registrar::redis::client redis(io, {.host = "10.0.0.5", .port = 6379});
//   redis.start();
//   registrar::redis_location_store store(redis, {.limits = {.max_contacts = 16}});
//   store.async_update(aor.key, call_id, cseq, false, contacts,
//       [](std::error_code ec, registrar::location_service::status st,
//          registrar::redis_bindings now) { ... 200 with now.bindings, or 4xx/5xx ... });
//   store.async_lookup(aor.key, [](std::error_code ec, registrar::redis_bindings b) { ... });
//
// Atomic across registrars: each REGISTER is one Lua script (EVALSHA, falling back to EVAL
// when the server lost its script cache, e.g. after a restart) that reads the AOR's bindings,
// applies remove_all and each contact, checks §10.3 step 7 CSeq order, max_uri_length,
// max_contacts (or replace_oldest) and max_bindings, and writes the result, or writes nothing
// and returns the refusal: Redis runs a script alone, so two registrars never interleave.
// Contacts are matched as URIs (§19.1.4, as uri_equal): the store sends, per contact, the
// parts that must be equal (scheme, user, password, host, port, user/ttl/method/maddr/
// transport parameters, headers) as one key and the other parameters by name, and the script
// compares the values of the parameters present in both.
//
// Time is the Redis server's clock (TIME inside the script), not the registrar's: several
// registrar machines then agree on when a binding expires and which one was refreshed last,
// whatever their clock skew, and Redis's own key expiry uses the same clock. Times reported
// back (redis_bindings) are that clock's, with `server_now` to compute what remains.
//
// Expiry by Redis: each AOR is one string key (a JSON array of its bindings, at most
// max_contacts) whose PEXPIREAT is its latest binding's expiry, so an AOR disappears even
// when no registrar is alive; bindings that expired before the others are filtered out on
// every read and dropped on the next write. A sorted set `<prefix>index` (member "aor uri",
// score = expiry) counts the live bindings for max_bindings and expires the same way.
// Keys: "<prefix>aor:<aor key>" and "<prefix>index". One Redis (or a primary with replicas),
// not Redis Cluster: the script touches the AOR's key and the index together.
//
// Errors: transport errors of the client (redis::errc) as std::error_code; a refusal by the
// rules is no error but a status other than ok. Thread safety: as the client (its thread
// only). Lifetime: the client must outlive the store; a handler may outlive the store (it
// captures nothing of it).
#pragma once

#include <chrono>
#include <functional>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <system_error>
#include <vector>

#include "location_service.hpp"
#include "redis_client.hpp"

namespace registrar {

/// A binding as Redis holds it; times on the Redis server's clock.
struct redis_binding {
  std::string uri;
  std::string call_id;
  std::uint32_t cseq = 0;
  std::chrono::system_clock::time_point expires_at;
  std::chrono::system_clock::time_point refreshed_at;
  std::optional<std::uint16_t> q;  ///< thousandths, as registered
};

/// An AOR's live bindings as of `server_now`: highest q first, equal q in the order they were
/// first registered (location_service::lookup's order).
struct redis_bindings {
  std::chrono::system_clock::time_point server_now;
  std::vector<redis_binding> bindings;
  /// With status::full: when the earliest binding in the registrar expires (a Retry-After).
  std::optional<std::chrono::system_clock::time_point> next_expiry;

  /// The expires= to report for `b` (whole seconds left, at least 0).
  std::chrono::seconds expires_in(const redis_binding& b) const;
  /// As location_service bindings on this machine's steady clock, `now` standing for
  /// server_now (what is left of each expiry is kept, whatever the clocks' offset).
  std::vector<binding> local(clock_type::time_point now) const;
};

struct redis_store_config {
  location_limits limits{};
  std::string prefix = "sipkit:loc:";  ///< namespace of the store's keys
};

class redis_location_store {
 public:
  using status = location_service::status;
  using update_handler = std::function<void(std::error_code, status, redis_bindings)>;
  using lookup_handler = std::function<void(std::error_code, redis_bindings)>;

  explicit redis_location_store(redis::client& client, redis_store_config config = {});

  /// One REGISTER applied to `aor_key` as a whole or not at all (see location_service::
  /// update); `h` gets the AOR's bindings after it when the status is ok. An error code means
  /// the outcome is unknown (connection lost) or nothing was sent (not connected).
  void async_update(const std::string& aor_key, std::string_view call_id, std::uint32_t cseq,
                    bool remove_all, std::span<const contact_update> contacts, update_handler h);

  /// The live bindings of `aor_key` (empty when none).
  void async_lookup(const std::string& aor_key, lookup_handler h);

  /// The Redis key that holds `aor_key`'s bindings.
  std::string key_of(const std::string& aor_key) const { return config_.prefix + "aor:" + aor_key; }
  std::string index_key() const { return config_.prefix + "index"; }
  const redis_store_config& config() const noexcept { return config_; }

 private:
  redis::client& client_;
  redis_store_config config_;
};

/// §19.1.4 in two parts (exposed for tests): the text every equal URI shares, and the
/// parameters (lowercase name -> lowercase unescaped value) equal URIs agree on when both have
/// them. Non-SIP or unparsable URIs: "raw:" + the text, no parameters.
struct uri_match_key {
  std::string strict;
  std::vector<std::pair<std::string, std::string>> loose;
};
uri_match_key match_key(std::string_view uri);

}  // namespace registrar
