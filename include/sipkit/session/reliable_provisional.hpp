// Reliable provisional responses (RFC 3262, option tag "100rel", method PRACK): a module
// over an INVITE session, one small machine per side.
//
//   UAS (we answer the INVITE):
//     reliable_provisional_uas rp(invite, first_rseq, timers);   // INVITE said 100rel
//     auto ec = rp.send(ringing, now);     // adds Require: 100rel, RSeq; keeps a copy
//     ...pass `ringing` to the INVITE server transaction...
//     for (auto& a : rp.on_timer(now))     // at rp.next_deadline()
//       retransmit -> pass *a.response to the server transaction again
//       unacknowledged -> reject the INVITE with a 5xx (504)
//     auto r = rp.on_prack(prack, now);    // answer the PRACK r.status (200 / 481)
//     rp.on_final_response();              // our final response ends the retransmissions
//
//   UAC (we sent the INVITE):
//     reliable_provisional_uac rp;
//     auto r = rp.on_provisional(ringing, early_dialog);   // r.prack: the PRACK to send
//
// Rules (RFC 3262):
// - §3: a reliable 1xx (101-199) carries Require: 100rel and an RSeq that starts at a
//   random value in 1 .. 2^31-1 (the caller draws it; this module has no random source)
//   and grows by one per reliable provisional. It is retransmitted at T1, 2*T1, 4*T1 ...
//   (doubling without the T2 cap: §3 names none) until a PRACK matches it; after 64*T1
//   without one the UAS SHOULD reject the INVITE with a 5xx (unacknowledged, with
//   session::error::provisional_unacknowledged).
// - §3: "The UAS MUST NOT send a second reliable provisional response until the first is
//   acknowledged", and RECOMMENDED for later ones: this module REFUSES a further reliable
//   provisional while one is unacknowledged (send() returns error::request_pending); the
//   caller may send it unreliably or wait. No queue: the application decides.
// - §3: a PRACK whose RAck (§7.2: RSeq, CSeq number, method) names the pending 1xx is
//   answered 200 and stops the retransmissions; a PRACK for the last reliable 1xx that was
//   already acknowledged, or that our final response overtook, is answered 200 too (a late
//   acknowledgement, not a request for an unknown response); anything else 481.
// - §4: the UAC keeps, per early dialog (remote tag), the RSeq of the last in-order
//   reliable 1xx. The first one of a dialog is taken whatever its RSeq; later ones only
//   with RSeq + 1. Retransmissions (RSeq not higher) and out-of-order ones (higher by more
//   than one) are neither PRACKed nor "processed further": the verdict says which.
//
// Outputs: the UAS timer entry point returns a std::vector of a std::variant of plain
// structs, in execution order; `retransmit::response` points into the machine and is valid
// until the next call on it. The other entry points return small result structs.
//
// Ownership: each machine owns copies of what it keeps (the pending 1xx); inputs are
// borrowed for the call. Thread safety: none; one machine belongs to one thread at a time.
// Errors: values (session::error); std::invalid_argument only for misuse (send() with a
// non-provisional status).
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <system_error>
#include <utility>
#include <variant>
#include <vector>

#include "sipkit/dialog/dialog.hpp"
#include "sipkit/parser/message.hpp"
#include "sipkit/session/timer_table.hpp"

namespace sipkit::session {

/// §4 / §3: the message's Supported or Require lists "100rel".
bool supports_100rel(const parser::message& m);
/// The message's Require lists "100rel".
bool requires_100rel(const parser::message& m);
/// RFC 3261 §8.2.2.3: when `invite` requires 100rel and we do not support it (`supported`
/// false), the 420 to send (Unsupported: 100rel, To tag `to_tag`); nullopt otherwise.
std::optional<parser::message> refuse_100rel(const parser::message& invite, bool supported,
                                             std::string_view to_tag);

/// RSeq of a response (§7.1): nullopt when absent or not a number in 1 .. 2^31-1.
std::optional<std::uint32_t> read_rseq(const parser::message& response);

/// §7.2: RAck = response-num LWS CSeq-num LWS Method.
struct rack {
  std::uint32_t rseq = 0;
  std::uint32_t cseq = 0;
  std::string method;
  /// "<rseq> <cseq> <method>", as a PRACK carries it.
  std::string to_string() const;
  friend bool operator==(const rack&, const rack&) = default;
};
/// The RAck of a PRACK; nullopt when absent or malformed.
std::optional<rack> read_rack(const parser::message& prack);

/// UAS side: the reliable provisionals of one INVITE server transaction.
class reliable_provisional_uas {
 public:
  enum class state : std::uint8_t {
    idle,            ///< no reliable provisional sent yet (or the last one acknowledged)
    awaiting_prack,  ///< a reliable 1xx is retransmitted until its PRACK
    gave_up,         ///< 64*T1 passed without PRACK: the INVITE is to be rejected
    completed,       ///< our final response went out; nothing is retransmitted
  };
  enum class timer : std::uint8_t {
    retransmit,  ///< §3: T1, doubling
    give_up,     ///< §3: 64*T1 after the first transmission
    count
  };

  /// Pass `response` to the INVITE server transaction again (same RSeq).
  struct retransmit {
    const parser::message* response;
  };
  /// No PRACK within 64*T1: reject the INVITE with a 5xx (§3); `code` is
  /// error::provisional_unacknowledged.
  struct unacknowledged {
    std::error_code code;
  };
  using action = std::variant<retransmit, unacknowledged>;
  using action_list = std::vector<action>;

  /// `invite` as received (its CSeq number is what RAcks must name); `first_rseq` the
  /// random initial RSeq in 1 .. 2^31-1 (§3).
  reliable_provisional_uas(const parser::message& invite, std::uint32_t first_rseq,
                           timer_config timers = {});

  /// Makes `provisional` (101-199) reliable: adds Require: 100rel and the next RSeq, keeps
  /// a copy for retransmission and arms the timers. error::request_pending while another
  /// one awaits its PRACK; error::invalid_state after giving up or after the final
  /// response. On error `provisional` is unchanged (it may still go out unreliably).
  std::error_code send(parser::message& provisional, time_point now);

  struct prack_result {
    int status = 481;           ///< answer the PRACK with this (200 or 481)
    bool acknowledged = false;  ///< this PRACK acknowledged the pending 1xx just now
  };
  /// A PRACK received in the dialog (§3).
  prack_result on_prack(const parser::message& prack, time_point now);

  /// Our final response to the INVITE went out: no more retransmissions (§3).
  void on_final_response() noexcept;

  /// Pops the due timers and returns what to do, in order.
  action_list on_timer(time_point now);

  state current_state() const noexcept { return state_; }
  /// The RSeq of the last reliable provisional sent; 0 before the first.
  std::uint32_t last_rseq() const noexcept { return last_rseq_.value_or(0); }
  std::optional<time_point> next_deadline() const noexcept { return timers_.next_deadline(); }
  std::optional<time_point> deadline(timer t) const noexcept { return timers_.deadline(t); }

 private:
  duration t1_;
  timer_table<timer> timers_;
  state state_ = state::idle;
  std::uint32_t invite_cseq_ = 0;
  std::uint32_t next_rseq_ = 1;
  std::optional<std::uint32_t> last_rseq_;  // of the last reliable 1xx sent
  duration interval_{};
  std::unique_ptr<parser::message> pending_;  // by pointer: a session keeps this module inline
};

/// UAC side: the reliable provisionals received for one INVITE, per early dialog.
class reliable_provisional_uac {
 public:
  enum class verdict : std::uint8_t {
    unreliable,      ///< no Require: 100rel: an ordinary provisional
    acknowledge,     ///< in order: send the PRACK, process the response
    retransmission,  ///< RSeq not higher than the last: no PRACK, not processed further
    out_of_order,    ///< RSeq more than one higher: no PRACK, not processed further (§4)
    invalid,         ///< Require: 100rel without a usable RSeq or To tag: ignore it
  };
  struct result {
    verdict what = verdict::unreliable;
    /// With verdict::acknowledge: the PRACK (§7.2 RAck), built in `early_dialog`, to
    /// start as a client transaction; its response needs no more than a log line.
    std::optional<parser::message> prack;
  };

  /// A 101-199 response to our INVITE, `early_dialog` the dialog it belongs to (its To
  /// tag).
  result on_provisional(const parser::message& provisional, sipkit::dialog::dialog& early_dialog);
  /// The same decision without building a PRACK; the RAck to send with `acknowledge`.
  std::pair<verdict, std::optional<rack>> classify(const parser::message& provisional);
  /// A final response ended the early dialogs: forget their RSeqs.
  void on_final_response() noexcept { last_.clear(); }

  /// The RSeq last acknowledged in the early dialog with `remote_tag`, 0 for none.
  std::uint32_t last_rseq(std::string_view remote_tag) const noexcept;

 private:
  std::vector<std::pair<std::string, std::uint32_t>> last_;  // remote tag -> RSeq; few forks
};

std::string_view to_string(reliable_provisional_uas::state s) noexcept;
std::string_view to_string(reliable_provisional_uac::verdict v) noexcept;

}  // namespace sipkit::session
