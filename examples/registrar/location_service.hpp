// location_service — the registrar example's bindings (RFC 3261 §10.3): address-of-record
// -> contacts, bounded and indexed so that hostile traffic stays cheap.
//
//   registrar::location_service db({.max_contacts = 16, .max_bindings = 100000});
//   db.expire(now);                                    // drop what has expired
//   auto st = db.update(aor, call_id, cseq, false, {{"sip:alice@192.0.2.4", 3600}}, now);
//   for (const auto& b : db.lookup(aor)) ...           // 200 / 302 Contacts, by q
//
// Bounds: at most `max_contacts` bindings per AOR (beyond: too_many_contacts, or with
// `replace_oldest` the least recently refreshed bindings make room, as RFC 5626 §7 lets a
// registrar do), each URI at most `max_uri_length` bytes, and `max_bindings` in total
// (beyond: full; every AOR holds at least one binding, so this bounds the AORs too). A 200
// or 302 listing the bindings of one AOR therefore stays small (16 x 1 KiB by default),
// whatever clients send.
// Cost: a hash index by AOR key, so update() and lookup() cost O(bindings of that AOR)
// whatever the number of AORs; expire() pops a time-ordered queue (a binary heap with one
// live entry per AOR, the AOR's earliest expiry) and costs O(log AORs) per AOR with a due
// binding, never a walk over every binding. Replaced queue entries are skipped when they
// surface, and the queue is rebuilt once they outnumber the live ones, so it holds at most
// about twice as many entries as there are AORs.
// Not thread-safe; one per registrar instance. Times are steady_clock, passed in.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

namespace registrar {

using clock_type = std::chrono::steady_clock;

/// A SIP AOR in the canonical form of RFC 3261 §10.3 step 5, as a key: "sip:" + unescaped
/// user + '@' + lowercase host; URI parameters dropped; the port dropped too and sips:
/// counted as sip: (this registrar's choice: one AOR per user and domain).
struct aor {
  std::string key, user, host;
};
/// nullopt when `uri` is not a SIP/SIPS URI.
std::optional<aor> parse_aor(std::string_view uri);

/// A Contact's q-value (RFC 3261 §20.10: "0" to "1", at most three decimals) in
/// thousandths; nullopt when `text` is not a qvalue.
std::optional<std::uint16_t> parse_q(std::string_view text);

struct binding {
  std::string uri;  ///< the Contact URI as registered
  std::string call_id;
  std::uint32_t cseq = 0;
  clock_type::time_point expires_at;
  clock_type::time_point refreshed_at;  ///< the last REGISTER that added or refreshed it
  std::optional<std::uint16_t> q;       ///< thousandths, as registered; none ranks as 1.0
  std::uint64_t registered = 0;         ///< order of first registration (ties in q)
};

struct location_limits {
  std::size_t max_contacts = 16;      ///< per AOR
  std::size_t max_bindings = 100000;  ///< in total
  bool replace_oldest = false;        ///< at max_contacts, drop the least recently refreshed
  std::size_t max_uri_length = 1024;  ///< per Contact URI: 16 of them fit any datagram
};

/// One Contact of a REGISTER: its URI, the expiry granted (0: remove the binding) and its
/// q-value in thousandths (none given: none kept).
struct contact_update {
  std::string uri;
  long expires = 0;
  std::optional<std::uint16_t> q = {};
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

  /// The bindings of an AOR key (aor::key), highest q first, equal q in the order they
  /// were first registered; empty when none. Valid until the next non-const call.
  std::span<const binding> lookup(std::string_view aor_key) const;

  /// Applies one REGISTER to `aor_key` as a whole or not at all: `remove_all` (Contact: *)
  /// first, then each contact (added, refreshed, or removed when its expires is 0).
  status update(std::string_view aor_key, std::string_view call_id, std::uint32_t cseq,
                bool remove_all, std::span<const contact_update> contacts,
                clock_type::time_point now);

  /// Bindings in total / AORs with bindings.
  std::size_t size() const noexcept { return bindings_; }
  std::size_t aors() const noexcept { return index_.size(); }
  /// When the next binding expires (nullopt when there are none): a Retry-After for `full`.
  std::optional<clock_type::time_point> next_expiry() const;
  const location_limits& limits() const noexcept { return limits_; }

 private:
  // AORs live in slots (stable indices: the queue names them by index, never by pointer);
  // a slot's generation changes whenever its queue entry is replaced or the slot freed.
  struct record {
    std::string key;
    std::vector<binding> bindings;  // lookup() order
    std::uint32_t generation = 0;
  };
  struct due {
    clock_type::time_point at;  // the AOR's earliest expiry when queued
    std::uint32_t slot, generation;
  };
  struct later {
    bool operator()(const due& a, const due& b) const noexcept { return a.at > b.at; }
  };
  struct key_hash {  // transparent: lookup() and update() search by string_view
    using is_transparent = void;
    // Not noexcept on purpose: libstdc++ then keeps each node's hash, so a search compares
    // hashes before strings and a rehash does not hash every key again.
    std::size_t operator()(std::string_view s) const { return std::hash<std::string_view>{}(s); }
  };

  bool live(const due& d) const noexcept { return records_[d.slot].generation == d.generation; }
  void schedule(std::uint32_t slot);  // queue the slot's earliest expiry, replacing its entry
  void release(std::uint32_t slot);   // the AOR has no bindings left
  void drop_stale_top() const;

  location_limits limits_;
  std::unordered_map<std::string, std::uint32_t, key_hash, std::equal_to<>> index_;
  std::vector<record> records_;
  std::vector<std::uint32_t> free_;
  mutable std::vector<due> queue_;  // a min-heap on `at` (std::push_heap with later)
  std::size_t bindings_ = 0;
  std::uint64_t registrations_ = 0;  // next binding::registered
};

}  // namespace registrar
