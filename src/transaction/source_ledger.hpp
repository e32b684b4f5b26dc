// The amplification ledger (manager.hpp, amplification_config). Private to the manager.
//
// A UDP source address can be spoofed: one small request with a victim's address as its
// source would make the stack send the victim responses and their retransmissions, and a
// UA's 2xx retransmissions and BYEs, for a minute. The ledger bounds that reflection the
// way QUIC bounds a server before address validation (RFC 9000 §8.1): per source IP
// address it counts the bytes received from it and the bytes sent to it while it has not
// shown that it receives what we send, and a send to such an *unproven* source goes out
// only while
//
//     sent + size <= factor * received
//
// A send that does not fit is suppressed: treated as a datagram lost on the network, which
// UDP allows at any time. Final responses have priority over provisional ones: a 1xx goes
// out only when the credit left after it could still carry a message of its own size, so
// that the final response that follows usually fits. A source becomes *proven* when it
// answers something only a real receiver can answer (manager.cpp says which) or when the
// TU says so (manager::mark_proven); from then on nothing to it is counted or limited.
//
// What has an entry: a source we received a UDP message from, or a destination we sent a
// response to. A request to a destination without an entry is our own initiative (a UAC
// calling out, a proxy forwarding), not a reflection, and is not limited; a response to a
// source without an entry (evicted from a full table, or idle for longer than
// idle_timeout) starts a fresh entry with no credit: the conservative direction. Entries
// live in a bounded source_table (source_table.hpp); a suppressed send counts as activity,
// so an entry outlives the retransmissions it is limiting.
//
// Thread safety: none.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string_view>

#include "sipkit/parser/message.hpp"
#include "sipkit/transaction/manager.hpp"
#include "transaction/source_table.hpp"
#include "transaction/wire_size.hpp"

namespace sipkit::transaction::detail {

class source_ledger {
 public:
  /// `eviction_counter`: see source_table.
  source_ledger(const amplification_config& config, std::uint64_t seed,
                std::uint64_t* eviction_counter = nullptr);

  /// False when the limit is off (factor 0).
  bool enabled() const noexcept { return factor_ != 0; }

  /// `msg` arrived over UDP from `host`: credit its size (nothing to count once proven).
  void received(std::string_view host, measured_message& msg, time_point now);
  /// `host` has shown that it receives what we send it. True when it was not proven yet.
  bool prove(std::string_view host, time_point now);
  bool proven(std::string_view host, time_point now) const;

  struct verdict {
    bool send = true;
    std::size_t bytes = 0;  ///< the message's size when it was measured, 0 otherwise
  };
  /// May `msg` go to `host` over UDP at `now`? When it may, it is counted as sent.
  /// `bytes`: its wire size when the caller knows it, k_unknown_size otherwise.
  static constexpr std::size_t k_unknown_size = ~std::size_t{0};
  verdict admit(std::string_view host, const parser::message& msg, time_point now,
                std::size_t bytes = k_unknown_size);

  std::size_t sources() const noexcept { return table_.size(); }
  std::uint64_t evictions() const noexcept { return table_.evictions(); }

 private:
  struct entry {
    std::uint64_t received = 0;  // bytes, while unproven
    std::uint64_t sent = 0;      // bytes, while unproven
    bool proven = false;
  };

  std::uint64_t factor_;
  source_table<entry> table_;
};

}  // namespace sipkit::transaction::detail
