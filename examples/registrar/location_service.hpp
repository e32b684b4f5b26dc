// location_service — the registrar example's bindings (RFC 3261 §10.3): address-of-record
// -> contacts, bounded and indexed so that hostile traffic stays cheap.
//
//   registrar::location_service db({.max_contacts = 16, .max_bindings = 100000});
//   db.expire(now);                                    // drop what has expired
//   auto st = db.update(aor, call_id, cseq, false, {{"sip:alice@192.0.2.4", 3600}}, now);
//   for (const auto& b : db.lookup(aor)) ...           // 200 / 302 Contacts
//
// Bounds: at most `max_contacts` bindings per AOR (beyond: too_many_contacts, or with
// `replace_oldest` the least recently refreshed bindings make room, as RFC 5626 §7 lets a
// registrar do), each URI at most `max_uri_length` bytes, and `max_bindings` in total
// (beyond: full). A 200 or 302 listing the bindings of one AOR therefore stays small
// (16 x 1 KiB by default), whatever clients send.
// Cost: update() is O(log AORs + bindings of that AOR); expire() is O(expired x log n),
// through an expiry queue ordered by time, instead of a walk over every binding.
// Not thread-safe; one per registrar instance. Times are steady_clock.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <map>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace registrar {

using clock_type = std::chrono::steady_clock;

/// A SIP AOR normalised as a key: "sip:" + unescaped user + '@' + lowercase host (no port,
/// no parameters; sips: counts as sip:).
struct aor {
  std::string key, user, host;
};
/// nullopt when `uri` is not a SIP/SIPS URI.
std::optional<aor> parse_aor(std::string_view uri);

struct binding {
  std::string uri;  ///< the Contact URI as registered
  std::string call_id;
  std::uint32_t cseq = 0;
  clock_type::time_point expires_at;
  clock_type::time_point refreshed_at;  ///< the last REGISTER that added or refreshed it
};

struct location_limits {
  std::size_t max_contacts = 16;      ///< per AOR
  std::size_t max_bindings = 100000;  ///< in total
  bool replace_oldest = false;        ///< at max_contacts, drop the least recently refreshed
  std::size_t max_uri_length = 1024;  ///< per Contact URI: 16 of them fit any datagram
};

/// One Contact of a REGISTER: its URI and the expiry granted (0: remove the binding).
struct contact_update {
  std::string uri;
  long expires = 0;
};

class location_service {
 public:
  enum class status {
    ok,
    cseq_out_of_order,  ///< §10.3 step 7: same Call-ID, CSeq not higher: 500
    too_many_contacts,  ///< the AOR would exceed max_contacts: 403
    uri_too_long,       ///< a Contact URI longer than max_uri_length: 400
    full,               ///< the registrar would exceed max_bindings: 503 + Retry-After
  };

  explicit location_service(location_limits limits = {});

  /// Drops every binding that has expired at `now`.
  void expire(clock_type::time_point now);

  /// The bindings of an AOR key (aor::key), in registration order; empty when none.
  std::span<const binding> lookup(const std::string& aor_key) const;

  /// Applies one REGISTER to `aor_key` as a whole or not at all: `remove_all` (Contact: *)
  /// first, then each contact (added, refreshed, or removed when its expires is 0).
  status update(const std::string& aor_key, std::string_view call_id, std::uint32_t cseq,
                bool remove_all, std::span<const contact_update> contacts,
                clock_type::time_point now);

  /// Bindings in total / AORs with bindings.
  std::size_t size() const noexcept { return expiry_.size(); }
  std::size_t aors() const noexcept { return aors_.size(); }
  /// When the next binding expires (nullopt when there are none): a Retry-After for `full`.
  std::optional<clock_type::time_point> next_expiry() const;
  const location_limits& limits() const noexcept { return limits_; }

 private:
  // Expiry queue: one entry per binding, pointing at its AOR's key (map keys are stable).
  using expiry_queue = std::multimap<clock_type::time_point, const std::string*>;
  struct record {
    std::vector<binding> bindings;
    std::vector<expiry_queue::iterator> expiry;  ///< parallel to bindings
  };

  location_limits limits_;
  std::map<std::string, record, std::less<>> aors_;
  expiry_queue expiry_;
};

}  // namespace registrar
