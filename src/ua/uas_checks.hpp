// Private: uas_checks, the UAS core's checks before any dialog logic (RFC 3261 §8.2.1-§8.2.3)
// and merged-request detection (§8.2.2.2).
//
// One of user_agent::impl's bindings (see ua_impl.hpp). It keeps
// a reference to the agent's core (ua_) for sending and the shared tables; its lifetime is
// the agent's (a member of user_agent::impl), so timers' handlers may capture `this`.
#pragma once

#include <string>
#include <cstdint>
#include <vector>

#include "continuation.hpp"

namespace sipkit::ua {

class uas_checks {
 public:
  explicit uas_checks(user_agent::impl& ua) : ua_(ua) {}

  // ---- UAS checks (uas_checks.cpp)
  /// A request the UAS core refuses before any dialog logic (§8.2.1-§8.2.3), or 0
  /// (uas_checks.cpp).
  int precheck(const parser::message& req, parser::message& refusal) const;
  /// A To tag for a stateless-style refusal (precheck is const, the generator is not).
  std::string tag_for_refusal() const;
  /// The Request-URI names one of our listeners' addresses or our domain.
  bool addressed_to_us(const parser::message& req) const;
  /// §8.2.2.2: the same request (From tag, Call-ID, CSeq) already being served on another
  /// transaction: a merged request, answered 482. Remembers `req` otherwise.
  bool merged_request(tx::transaction_id id, const parser::message& req);

  /// Transaction `id` is over: its request no longer counts for merged_request.
  void forget(tx::transaction_id id) noexcept;

 private:
  // Requests without To tag being served, for merged-request detection (§8.2.2.2): an
  // open-addressing table (linear probing, power-of-two size) of the seeded hash of the
  // key (From tag, Call-ID, CSeq) and the transaction, so that an INVITE costs no
  // allocation. Equal hashes are confirmed on the transaction's own request. `slot_of_`
  // maps a transaction index to its key's hash, for forget().
  struct pending {
    std::uint64_t hash = 0;
    tx::transaction_id id;  // invalid: an empty slot
  };
  std::uint64_t key_hash(const parser::message& req) const noexcept;
  bool same_key(const parser::message& req, tx::transaction_id other) const;
  void insert(std::uint64_t hash, tx::transaction_id id);
  std::vector<pending> pending_;
  std::size_t pending_count_ = 0;
  std::vector<pending> hash_by_index_;  // indexed by transaction_id::index
  mutable std::uint64_t seed_ = 0;
  user_agent::impl& ua_;
};

}  // namespace sipkit::ua
