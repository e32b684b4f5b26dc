// The transaction manager: creates the four kinds of transactions, matches incoming
// messages to them, runs their timers and executes their actions (RFC 3261 §17).
//
//   my_transport tp;          // implements transaction::transport
//   my_core core;             // implements transaction::transaction_user
//   transaction::manager mgr(tp, core);
//   auto r = mgr.start_client(std::move(options_request), {target}, now);
//   ...
//   mgr.on_receive(std::move(msg), source, now);       // from the transport
//   if (auto t = mgr.next_deadline()) arm_timer(*t);    // then call mgr.on_timer(now)
//
// Still sans-I/O: the manager reads no clock and owns no socket or thread. Every entry
// point takes `now`; timers are kept in one sorted list per interval (RFC 3261 timers
// come in a few fixed intervals, so arming is an append and firing a pop) and surface as
// next_deadline() / on_timer(now). Sends go through the abstract `transport`
// (transport.hpp) and upcalls through `transaction_user`. The Asio adapter
// (asio_adapter.hpp) binds it to an executor and a steady_timer; network_transport
// (network_transport.hpp) binds it to sipkit::transport.
//
// Matching (O(1) average, open-addressing tables of slot indices hashed with a
// per-manager random seed against collision flooding; keys are views into the requests
// the transactions own, so no key copies and no allocation per transaction):
//  - responses: top Via branch + CSeq method -> client transaction (§17.1.3); no match ->
//    transaction_user::on_stray_response (2xx retransmissions and forked 2xx go to the
//    dialog layer; a stateless proxy forwards them, RFC 6026 §7).
//  - requests with an RFC 3261 branch: branch + sent-by + method -> server transaction,
//    ACK taken as INVITE (§17.2.3). A CANCEL gets its own non-INVITE server transaction
//    and the id of the INVITE server transaction it cancels (same key, method INVITE;
//    §9.2).
//  - requests whose branch lacks the "z9hG4bK" cookie (RFC 2543 peers): Request-URI, To
//    tag, From tag, Call-ID, CSeq and top Via must match the creating request; an ACK
//    matches with the CSeq number and the To tag of the response sent (§17.2.3).
//  - an ACK that matches nothing, or matches an INVITE server transaction in Accepted,
//    goes to transaction_user::on_ack: it acknowledges a 2xx (§13.3.1.4, RFC 6026).
//
// Bounds and hostile traffic (defaults protect a user who changes nothing; each knob is
// documented in manager_config, each refusal is counted in manager_stats):
//  - one memory budget, config.max_held_bytes, bounds both what the live transactions
//    cost by themselves and the messages they hold: at most max_held_bytes bytes of
//    messages (requests, last responses, ACKs kept for retransmission), and at most
//    max_held_bytes / transaction_fixed_bytes live transactions (unless
//    config.max_transactions sets another count). A request that would create one more
//    transaction beyond either bound is answered 503 (Service Unavailable) statelessly
//    with Retry-After; a client transaction beyond them is refused with
//    error::too_many_transactions / error::byte_budget_exceeded. A server transaction
//    that has sent its final response keeps only the part of a big request (with a body,
//    or over 1 KiB) that matching needs (see request()), so that a flood of such requests
//    costs little once answered.
//  - a transaction that lingers after its exchange (RFC 3261 §17: NIST/ICT/IST
//    Completed, IST Confirmed; RFC 6026: IST/ICT Accepted) keeps only what that state
//    needs, at its exact size: its request (for matching), the response it re-sends
//    (NIST, IST Completed) or the ACK (ICT Completed). IST Accepted and Confirmed keep of
//    the response only its status line and To (the tag the ACK is matched with): they
//    never send it again, the TU re-sends a 2xx itself.
//
//    The arithmetic of the default budget (512 MiB): at R calls/s a UAS keeps each call's
//    INVITE server transaction in Accepted (Timer L, 64*T1 = 32 s) and its BYE's NIST in
//    Completed (Timer J, 32 s), 64*R live transactions. Measured (bench/transaction_bench,
//    BM_lingering_bytes; INVITE with SDP, 200 with SDP, BYE, 200): the messages counted
//    for one call are 388 bytes (IST Accepted: the INVITE's matching part and the 200's
//    status line and To) + 671 (NIST: the BYE and its 200) = 1,059, so 32 s of calls at
//    R/s count 33,900*R bytes of messages and 64*R transactions. 512 MiB holds R = 15,800
//    calls/s of messages and 512 MiB / 512 = 1,048,576 transactions = 16,384 calls/s:
//    10,000 calls/s (640,000 lingering transactions, 339 MB of messages counted, heap
//    about 2,300 bytes per call with the slots) leaves both bounds about 1.5x headroom.
//    The heap a lingering transaction really takes is its slot (transaction_fixed_bytes)
//    plus its messages' buffers and header tables (about 1.3x what is counted here).
//  - a per-source rate limit (config.rate_limit) on requests that would create a server
//    transaction, like Kamailio's pike: 503 with Retry-After, or a silent drop.
//  - an amplification budget (config.amplification) on what is sent over UDP to a source
//    address that has not shown that it receives what we send: at most `factor` times
//    the bytes it sent us. Every send goes through it: respond, the machines'
//    retransmissions, send_stateless, start_client and cancel. A send beyond it is
//    suppressed, as if the datagram had been lost on the network; the machines carry on
//    and their retransmissions (or the peer's) try again.
//
// RFC 3263 §4.3 failover: start_client takes a list of targets or a callback giving the
// next one. When Timer B/F fires or the transport fails before any response arrived, the
// manager retries on the next target with a fresh branch (a new transaction, §8.1.2) under
// the same transaction_id; the TU hears of the failure only when no target is left.
//
// Re-entrancy: transaction_user callbacks may call back into the manager (respond from
// on_request, start_client, cancel ...). A transaction that terminates while one of its
// own callbacks runs is destroyed when that callback returns.
//
// Thread safety: none. One manager is driven by one thread (or one strand) at a time;
// run one manager per core to scale (DESIGN.md).
#pragma once

#include <concepts>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string_view>
#include <system_error>
#include <type_traits>
#include <vector>

#include "sipkit/log.hpp"
#include "sipkit/parser/message.hpp"
#include "sipkit/transaction/error.hpp"
#include "sipkit/transaction/timer.hpp"
#include "sipkit/transaction/transport.hpp"

namespace sipkit::transaction {

/// What the per-source rate limit does with a request beyond it.
enum class rate_limit_action : std::uint8_t {
  /// Answer 503 (Service Unavailable) with Retry-After statelessly: the client stops
  /// retransmitting and may try another server (RFC 3261 §21.5.4, RFC 3263 §4.3).
  reject,
  /// Drop the request without an answer. Costs nothing to send, but a real client then
  /// retransmits it (each retransmission is limited again).
  drop,
};

/// Per-source rate limit on requests that would create a new server transaction, in the
/// manner of Kamailio's pike module: a token bucket per source IP address (all
/// transports), holding at most `burst` tokens and refilled at `requests_per_second`; each
/// such request takes a token, and a request that finds the bucket empty is refused
/// (manager_stats::rate_limited). Not limited: retransmissions matched to a transaction,
/// ACKs, and a CANCEL that matches a live INVITE server transaction (the INVITE was
/// admitted, so its caller must be able to cancel it; §9.2). Protects the TU and the
/// transaction table from one address flooding it.
///
/// The default, 100 requests/s with a burst of 200, is far above what one phone or one
/// registering client sends (a call is one INVITE and one BYE; a busy desk phone sends a
/// few requests per minute) and far below what one machine can make a stack process.
/// A trunk, proxy or load balancer that carries many users' calls from one address, or
/// a load test, must raise it or turn it off (0); manager_config::exempt_loopback exempts
/// a co-located one.
struct rate_limit_config {
  /// Sustained rate per source address; 0 turns the limit off.
  unsigned requests_per_second = 100;
  /// Requests a source address may send at once after it was idle (0 is taken as 1).
  unsigned burst = 200;
  /// What to do with a request over the limit.
  rate_limit_action action = rate_limit_action::reject;
  /// Source addresses tracked at once. A source whose bucket has refilled is forgotten;
  /// when the table is full the least recently seen source is forgotten (and starts again
  /// with a full bucket). Memory: about 100 bytes per tracked source.
  std::size_t max_sources = 65536;
};

/// Amplification budget towards UDP sources that have not proven that they receive
/// (reflection attacks with spoofed source addresses). Per source IP address, while it is
/// unproven: bytes sent to it <= factor * bytes received from it. A send that does not fit
/// is suppressed, like a datagram lost on the network (manager_stats::
/// amplification_suppressed). A provisional response (100 Trying included) goes out only
/// when the credit left after it could still carry a message of its own size, so that the
/// final response that follows usually fits; an INVITE that got no provisional is
/// retransmitted by the caller, which grows the credit, and a suppressed 2xx goes out with
/// the TU's next retransmission of it.
///
/// A source becomes proven, and is no longer limited, when it shows that it receives what
/// we send: a response matching one of our client transactions (our branch is
/// unguessable); an ACK matching an INVITE server transaction (a non-2xx final in
/// Completed, or a 2xx in Accepted) that carries the To tag of the response we sent,
/// when that tag was ours (the request had none); or manager::mark_proven, which the TU
/// calls when it knows better (an in-dialog request or a 2xx ACK matching a dialog whose
/// local tag it chose, a REGISTER whose digest answers a nonce it sent).
///
/// The guarantee: while a source's entry lives (see idle_timeout, max_sources), the
/// bytes sent to it before it is proven are at most factor times the bytes received from
/// it. Real callers pay only where a call's first messages are small and its answers big
/// (an INVITE without SDP answered by a 180 and a 2xx carrying an offer): a 2xx that does
/// not fit goes out only once the caller has sent more (an INVITE retransmission, a PRACK)
/// or the TU has marked the source proven.
///
/// Only UDP is limited: reliable transports have a handshake, so their peers cannot be
/// spoofed. A request sent to a destination that has no entry is our own initiative and
/// not limited; a request to a source that contacted us and is still unproven (a BYE to a
/// caller that never ACKed, a proxy forwarding to a contact that just registered without
/// authentication) is limited by that source's credit like a response.
struct amplification_config {
  /// Bytes sent per byte received while unproven (QUIC uses 3, RFC 9000 §8.1); 0 = off.
  unsigned factor = 3;
  /// Source addresses tracked at once; when full the least recently active is forgotten
  /// and starts again unproven with no credit (the conservative direction). Memory:
  /// about 100 bytes per tracked source.
  std::size_t max_sources = 65536;
  /// An entry with no traffic either way (a suppressed send counts) for this long is
  /// forgotten. 32 s = 64*T1: the life of a transaction and of a UA's 2xx retransmissions.
  duration idle_timeout{32000};
};

/// What one live transaction costs beyond the messages it holds: its slot (the largest
/// of the four machines with their message objects, keys, timer nodes, peer), its entry
/// in a matching table (8 bytes at a load factor between 1/4 and 1/2) and rounding.
/// Measured on x86-64 with libstdc++: a 456-byte slot + up to 32 bytes of table; the
/// manager checks at compile time that the figure still covers it.
inline constexpr std::size_t transaction_fixed_bytes = 512;

struct manager_config {
  timer_config timers;
  /// Live transactions of all four kinds together. 0 (the default): derived from the
  /// byte budget, max_held_bytes / transaction_fixed_bytes (1,048,576 with the default
  /// 512 MiB: 16,384 calls/s of a UAS's lingering transactions, see the arithmetic at
  /// the top), so that the transactions themselves cost at most as much memory as the
  /// messages they may hold; no count limit when max_held_bytes is 0 too. Set it to bound
  /// the count on its own (a backstop smaller or larger than that).
  std::size_t max_transactions = 0;
  /// Bytes of messages held by the live transactions together: requests, last responses
  /// and the ACKs an INVITE client transaction keeps for retransmission, each counted as
  /// the size it serializes to (its heap use is of the same order). A request that would
  /// create a server transaction beyond it is answered 503 with Retry-After statelessly,
  /// and start_client/cancel beyond it fail with error::byte_budget_exceeded
  /// (manager_stats::rejected_bytes). Protects memory against floods of big requests: a
  /// NIST keeps its request for Timer J (32 s), and a flood of 31 KB OPTIONS grew a UAS
  /// from 11 MB to 979 MB, while a count bound alone allows 262,144 x 64 KiB.
  /// Responses the TU gives to admitted transactions are never refused, so the total may
  /// pass the budget by those. It also derives the count bound (max_transactions = 0).
  /// 512 MiB by default: a UAS's lingering transactions at 10,000 calls/s count 339 MB
  /// (arithmetic at the top of this file); a smaller machine or a lower rate may lower it.
  /// 0 = no limit.
  std::size_t max_held_bytes = std::size_t{512} << 20;
  /// Seconds in the Retry-After of the stateless 503s (RFC 3261 §20.33): manager full,
  /// byte budget used up, source over its rate limit.
  unsigned retry_after_seconds = 5;
  /// Per-source rate limit on new server transactions (on by default).
  rate_limit_config rate_limit;
  /// Amplification budget towards unproven UDP sources (on by default).
  amplification_config amplification;
  /// Neither the rate limit nor the amplification budget applies to loopback addresses
  /// (127.0.0.0/8, ::1, ::ffff:127.x.x.x) when set. A host drops packets from the network
  /// that claim a loopback source (RFC 1122 §3.2.1.3; Linux's martian filter), so such a
  /// source is this host: it cannot be spoofed from outside nor be a remote flood. Set it
  /// to keep a co-located front proxy (a Kamailio on the same host) or a local load
  /// generator (sipp on loopback) unlimited. Off by default, so that the defences behave
  /// the same whatever the source, and can be tried out on loopback. The byte budget
  /// applies to every source.
  bool exempt_loopback = false;
  /// Add ";rport" to the Via of client requests (RFC 3581 §3).
  bool add_rport = true;
  /// Seed of the branch generator and hash tables; empty = std::random_device. A fixed
  /// seed makes branches predictable: tests and benchmarks only (branch.hpp).
  std::optional<std::uint64_t> seed;
  /// Where the manager reports refusals (at warning level, at most one line per minute
  /// of each kind, with the counts so far). Default: warnings and above to stderr.
  logger log{log_level::warning};
};

/// The transaction user (RFC 3261 §5: UA core, proxy core or dialog layer). All
/// references passed in are valid for the duration of the call only.
class transaction_user {
 public:
  virtual ~transaction_user() = default;

  /// A new server transaction `id` was created for `request` (never an ACK). Answer with
  /// manager::respond, now or later. For a CANCEL, `cancels` is the INVITE server
  /// transaction it matches (§9.2), or an invalid id: then answer 481 (§9.2).
  virtual void on_request(transaction_id id, const parser::message& request, const endpoint& source,
                          transaction_id cancels) = 0;
  /// A response for client transaction `id`: provisional, final, and in Accepted every
  /// further 2xx (RFC 6026 §7.2).
  virtual void on_response(transaction_id id, const parser::message& response) = 0;
  /// An ACK the transaction layer does not absorb: for a 2xx. `matched` is the INVITE
  /// server transaction in Accepted it matched, or an invalid id when none did.
  virtual void on_ack(const parser::message& ack, const endpoint& source,
                      transaction_id matched) = 0;
  /// A response that matches no client transaction (RFC 6026 §7).
  virtual void on_stray_response(const parser::message& response, const endpoint& source) = 0;
  /// Transaction `id` failed: error::timeout (Timer B, F or H) or a transport error.
  /// Server INVITE transactions keep running after a transport error (RFC 6026 §7.1).
  virtual void on_failure(transaction_id id, std::error_code ec) = 0;
  /// Transaction `id` reached Terminated and is gone; the id is dead from now on.
  virtual void on_terminated(transaction_id id) { (void)id; }
};

/// A non-owning reference to a callable `void(parser::message&)` that edits a message the
/// manager builds itself (manager::cancel). It refers to the caller's callable, which
/// must outlive the call it is passed to; copying it copies the reference, so passing
/// one allocates nothing. Empty by default (nothing to edit).
class message_edit {
 public:
  message_edit() noexcept = default;
  template <class F>
    requires(!std::same_as<std::remove_cvref_t<F>, message_edit> &&
             std::invocable<F&, parser::message&>)
  message_edit(F&& f) noexcept  // NOLINT(google-explicit-constructor): a callable is one
      : object_(const_cast<void*>(static_cast<const void*>(std::addressof(f)))),
        call_([](void* o, parser::message& m) {
          (*static_cast<std::remove_reference_t<F>*>(o))(m);
        }) {}

  explicit operator bool() const noexcept { return call_ != nullptr; }
  void operator()(parser::message& m) const { call_(object_, m); }

 private:
  void* object_ = nullptr;
  void (*call_)(void*, parser::message&) = nullptr;
};

/// The outcome of start_client / cancel.
struct start_result {
  transaction_id id;
  std::error_code error;
  explicit operator bool() const noexcept { return !error; }
};

/// Which of the four machines a transaction runs.
enum class transaction_kind : std::uint8_t {
  client_invite,
  client_non_invite,
  server_invite,
  server_non_invite
};

/// Counters for monitoring; monotonically increasing.
struct manager_stats {
  std::uint64_t client_created = 0;
  std::uint64_t server_created = 0;
  std::uint64_t rejected_full = 0;   ///< 503 sent or start_client refused: max_transactions
  std::uint64_t rejected_bytes = 0;  ///< 503 sent or start_client refused: max_held_bytes
  std::uint64_t rate_limited = 0;    ///< requests over their source's rate limit (503 or drop)
  std::uint64_t retransmissions_absorbed = 0;
  std::uint64_t stray_responses = 0;
  std::uint64_t stray_acks = 0;
  std::uint64_t failovers = 0;        ///< retries on a next target (RFC 3263 §4.3)
  std::uint64_t dropped_invalid = 0;  ///< messages without Via/CSeq/Call-ID
  /// Sends to unproven UDP sources suppressed by the amplification budget, and their bytes.
  std::uint64_t amplification_suppressed = 0;
  std::uint64_t amplification_suppressed_bytes = 0;
  std::uint64_t sources_proven = 0;  ///< times a source was found to receive what we send
  /// Entries of the rate limiter's and the ledger's source tables dropped to make room
  /// while still active (a sign of many sources, real or spoofed).
  std::uint64_t sources_evicted = 0;
  /// Server requests reduced to what matching needs after their final response.
  std::uint64_t requests_shed = 0;
};

class manager {
 public:
  /// Gives the next RFC 3263 target, or nullopt when there is none left.
  using target_source = std::function<std::optional<endpoint>()>;

  /// `transport` and `tu` must outlive the manager.
  manager(transport& tp, transaction_user& tu, manager_config config = {});
  ~manager();
  manager(const manager&) = delete;
  manager& operator=(const manager&) = delete;

  // ---------------------------------------------------------------- client side

  /// Start a client transaction (INVITE -> ICT, any other method but ACK -> NICT) for
  /// `request` towards targets[0], failing over to targets[1...] (RFC 3263 §4.3). The
  /// manager pushes a new top Via ("SIP/2.0/<transport> <sent-by>;branch=z9hG4bK...;rport")
  /// and sends the request. Errors: error::no_target (empty list),
  /// error::invalid_message (an ACK: the ACK for a 2xx is sent with send_stateless;
  /// missing CSeq/Call-ID), error::too_many_transactions.
  /// When the transport fails synchronously on the last target, on_failure and
  /// on_terminated for the new id run before this returns, and the result carries the
  /// transport's error as well (with the id, which is then dead): the caller needs no
  /// upcall to learn that its request never left.
  ///
  /// `branch_suffix` (default none) is appended to the random branch of this transaction
  /// and of every failover branch after it: "z9hG4bK" + 22 random characters + suffix.
  /// It lets a TU carry data of its own in the branch, e.g. a proxy's loop-detection
  /// hash (RFC 3261 §16.6 step 8: "z9hG4bK<random>.<loop hash>"). The random part keeps
  /// the branch unique and unguessable; the suffix adds nothing to either. At most 64
  /// token characters (RFC 3261 §25.1), else error::invalid_message.
  start_result start_client(parser::message request, std::vector<endpoint> targets, time_point now,
                            std::string_view branch_suffix = {});
  /// As above with one target and no failover (allocates no target list).
  start_result start_client(parser::message request, endpoint target, time_point now,
                            std::string_view branch_suffix = {});
  /// As above, asking `next` for each target in turn (first one immediately).
  start_result start_client(parser::message request, target_source next, time_point now,
                            std::string_view branch_suffix = {});

  /// Cancel the INVITE of client transaction `invite` (RFC 3261 §9.1): build a CANCEL
  /// (make_cancel, same top Via) and run it as a non-INVITE client transaction to the
  /// INVITE's current target. Send it only after a provisional response (§9.1): this
  /// function does not check. Errors: no_such_transaction, invalid_state (not an ICT).
  ///
  /// `edit`, when given, is called once on the CANCEL after it is built and before it is
  /// sized and sent: to add headers (an RFC 3326 Reason) or run an application hook over
  /// it. It must leave what §9.1 fixes (Request-URI, Via, From, To, Call-ID, CSeq, Route)
  /// as built, or the server will not match the CANCEL to its INVITE. It is not kept.
  start_result cancel(transaction_id invite, time_point now, message_edit edit = {});

  // ---------------------------------------------------------------- server side

  /// The TU's response on server transaction `id`. Errors: no_such_transaction,
  /// invalid_state (client transaction, or the machine refuses it), invalid_message; and
  /// the transport's error when the response failed to go out at once and the transaction
  /// failed for it (RFC 3261 §17.2.4: on_failure reports it too, before this returns).
  std::error_code respond(transaction_id id, parser::message response, time_point now);

  /// Send outside any transaction (the ACK for a 2xx, a TU's 2xx retransmission, a
  /// stateless proxy's forwarding). The amplification budget applies: a send it
  /// suppresses returns no error (the datagram is "lost"; stats().amplification_suppressed
  /// counts it). The overload without `now` uses the time of the latest call that took one.
  std::error_code send_stateless(const parser::message& msg, const endpoint& destination,
                                 time_point now);
  std::error_code send_stateless(const parser::message& msg, const endpoint& destination);

  /// The TU knows that `source` (its host: the IP address) receives what we send: an
  /// in-dialog request or a 2xx ACK matched a dialog whose local tag the TU chose, a
  /// digest response answered a nonce it sent. The amplification budget no longer limits
  /// sends to it until its ledger entry is forgotten (amplification_config). Uses the time
  /// of the latest call that took `now` (call it from a TU callback or right after an
  /// entry point). Does nothing when the budget is off, `source` is not UDP or it is an
  /// exempt loopback address (manager_config::exempt_loopback).
  void mark_proven(const endpoint& source);

  // ---------------------------------------------------------------- input

  /// A message from the transport.
  void on_receive(parser::message msg, const endpoint& source, time_point now);
  /// A send of transaction `id` failed after transport::send returned (§17.1.4).
  void on_send_error(transaction_id id, std::error_code ec, time_point now);

  // ---------------------------------------------------------------- time

  /// The earliest timer deadline, nullopt when no timer is armed.
  std::optional<time_point> next_deadline() const noexcept;
  /// Fire every timer due at or before `now`, earliest first (ties in arming order).
  void on_timer(time_point now);

  // ---------------------------------------------------------------- inspection

  /// Live transactions.
  std::size_t size() const noexcept;
  std::size_t armed_timers() const noexcept;
  bool contains(transaction_id id) const noexcept;
  std::optional<transaction_kind> kind(transaction_id id) const noexcept;
  /// The RFC's name of the transaction's state ("Calling", "Completed" ...), "" if dead.
  std::string_view state_name(transaction_id id) const noexcept;
  /// The request the transaction owns (with the manager's Via on client requests);
  /// nullptr if dead. Valid until the next call into the manager. Once a server
  /// transaction has sent its final response and its on_request callback has returned, a
  /// request with a body or of more than 1 KiB is reduced to what matching retransmissions
  /// and ACKs needs: the request line, the top Via (first via-parm), From, To, Call-ID and
  /// CSeq (manager_stats::requests_shed).
  const parser::message* request(transaction_id id) const noexcept;
  /// The target a client transaction currently uses / the source of a server request.
  const endpoint* peer(transaction_id id) const noexcept;
  /// Bytes of messages the live transactions hold now (see manager_config::max_held_bytes).
  std::size_t held_bytes() const noexcept;
  /// The bound on live transactions in force: manager_config::max_transactions, or the
  /// one derived from max_held_bytes (SIZE_MAX for none).
  std::size_t max_live() const noexcept;
  /// What the budget bounds, for monitoring: held_bytes() + size() *
  /// transaction_fixed_bytes.
  std::size_t memory_bytes() const noexcept;
  /// Whether the amplification ledger counts `source` (its host; UDP) as proven, as of
  /// the latest `now` an entry point was given. False for what the ledger does not track:
  /// reliable transports, exempt loopback addresses, a budget that is off.
  bool is_proven(const endpoint& source) const noexcept;
  /// Source addresses tracked by the rate limiter / by the amplification ledger (idle
  /// ones are dropped lazily, on the next lookup, so this may count a few of them).
  std::size_t rate_limit_sources() const noexcept;
  std::size_t ledger_sources() const noexcept;
  const manager_stats& stats() const noexcept;
  const manager_config& config() const noexcept;

 private:
  struct impl;
  std::unique_ptr<impl> impl_;
};

}  // namespace sipkit::transaction
