// Private: uas_checks, the UAS core's checks before any dialog logic (RFC 3261 §8.2.1-§8.2.3)
// and merged-request detection (§8.2.2.2).
//
// One of user_agent::impl's bindings (see ua_impl.hpp). It keeps
// a reference to the agent's core (ua_) for sending and the shared tables; its lifetime is
// the agent's (a member of user_agent::impl), so timers' handlers may capture `this`.
#pragma once

#include <string>
#include <unordered_map>

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

  // Requests without To tag being served, for merged-request detection (§8.2.2.2).
  std::unordered_map<std::string, tx::transaction_id> pending_requests_;
  std::unordered_map<tx::transaction_id, std::string> pending_keys_;

 private:
  user_agent::impl& ua_;
};

}  // namespace sipkit::ua
