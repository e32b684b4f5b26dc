// The transaction manager: slots, matching tables, timer lists, action execution.
#include "sipkit/transaction/manager.hpp"

#include <array>
#include <cstring>
#include <functional>
#include <string>
#include <type_traits>
#include <unordered_map>
#include <utility>
#include <variant>

#include "sipkit/parser/uri.hpp"
#include "sipkit/transaction/action.hpp"
#include "sipkit/transaction/branch.hpp"
#include "sipkit/transaction/client_invite.hpp"
#include "sipkit/transaction/client_non_invite.hpp"
#include "sipkit/transaction/server_invite.hpp"
#include "sipkit/transaction/server_non_invite.hpp"
#include "transaction/index_table.hpp"
#include "transaction/rare_warning.hpp"
#include "transaction/rate_limiter.hpp"
#include "transaction/request_shedding.hpp"
#include "transaction/seeded_hash.hpp"
#include "transaction/source_ledger.hpp"
#include "transaction/timer_lists.hpp"
#include "transaction/wire_size.hpp"

namespace sipkit::transaction {
namespace {

constexpr std::uint32_t npos = 0xFFFFFFFFu;
constexpr std::string_view k_invite = "INVITE";

// Two timer lanes per transaction are enough: no state of any machine runs more than one
// retransmission timer (A, E, G, 100) and one timeout/wait timer (B, D, F, H, I, J, K, L,
// M) at once. Each lane is a node of the timer lists (timer_lists.hpp) kept in the slot,
// so arming and stopping allocate nothing and touch no other structure.
constexpr std::size_t lane_of(timer t) noexcept {
  switch (t) {
    case timer::a:
    case timer::e:
    case timer::g:
    case timer::trying:
      return 0;
    default:
      return 1;
  }
}

// Matching keys are hashed with the manager's random seed (seeded_hash.hpp).
using detail::hash_bytes;
using detail::hash_lower;

/// A transaction's matching key, kept in its slot: views into the request the transaction
/// owns, plus the seeded hash. Client keys (§17.1.3) are branch + method; server keys
/// (§17.2.3) add the sent-by host (case-insensitive) and port, and count ACK as INVITE.
struct txn_key {
  std::string_view branch;
  std::string_view host;
  std::string_view method;
  std::uint64_t hash = 0;
  std::uint16_t port = 0;
};

txn_key make_client_key(std::string_view branch, std::string_view method, std::uint64_t seed) {
  return {branch, {}, method, hash_bytes(method, hash_bytes(branch, seed)), 0};
}
txn_key make_server_key(std::string_view branch, std::string_view host, std::uint16_t port,
                        std::string_view method, std::uint64_t seed) {
  std::uint64_t h = hash_bytes(branch, seed ^ port);
  return {branch, host, method, hash_bytes(method, hash_lower(host, h)), port};
}
bool client_match(const txn_key& a, const txn_key& b) noexcept {
  return a.hash == b.hash && a.branch == b.branch && a.method == b.method;
}
bool server_match(const txn_key& a, const txn_key& b) noexcept {
  return a.hash == b.hash && a.branch == b.branch && a.port == b.port && a.method == b.method &&
         parser::iequals(a.host, b.host);
}

/// RFC 2543 fallback (§17.2.3): bucket by Call-ID, From tag and CSeq number; the other
/// fields are compared on the few candidates.
struct legacy_key {
  std::string_view call_id;
  std::string_view from_tag;
  std::uint32_t cseq = 0;
  friend bool operator==(const legacy_key&, const legacy_key&) = default;
};
struct legacy_hash {
  std::uint64_t seed;
  std::size_t operator()(const legacy_key& k) const noexcept {
    return static_cast<std::size_t>(hash_bytes(k.from_tag, hash_bytes(k.call_id, seed ^ k.cseq)));
  }
};

template <class... F>
struct overloaded : F... {
  using F::operator()...;
};
template <class... F>
overloaded(F...) -> overloaded<F...>;

// start_client's branch suffix: token characters (RFC 3261 §25.1) that cannot end the
// Via parameter, and short enough that it cannot make the branch a payload.
bool valid_branch_suffix(std::string_view s) noexcept {
  if (s.size() > 64) return false;
  for (char c : s) {
    const bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                    std::string_view("-.!%*_+`'~").find(c) != std::string_view::npos;
    if (!ok) return false;
  }
  return true;
}

// RFC 3261 §8.1.1.7 / RFC 4475 §3.2.1 (badbranch): a branch that is only the magic cookie
// carries no unique part, so it is matched by the RFC 2543 rules like a branch without it.
bool is_rfc3261_branch(const parser::via_view& via) noexcept {
  return via.branch.size() > branch_generator::magic_cookie.size() && via.has_rfc3261_branch();
}

std::string_view server_method(const parser::message& req) noexcept {
  return req.method() == parser::method::ack ? k_invite : req.method_text();
}

bool uris_match(std::string_view a, std::string_view b) {
  parser::uri_view ua, ub;
  if (!parse_uri(a, ua) && !parse_uri(b, ub)) return parser::uri_equal(ua, ub);
  return a == b;
}

bool vias_match(const parser::via_view& a, const parser::via_view& b) noexcept {
  return parser::iequals(a.transport, b.transport) && parser::iequals(a.host, b.host) &&
         a.port == b.port && a.params == b.params;
}

std::string_view to_tag_of(const parser::message& m) {
  auto to = m.to();
  return to ? to->tag : std::string_view{};
}

// A default-constructed message (no response or ACK yet) holds nothing.
std::size_t held_size(const parser::message& m) noexcept {
  if (m.status_code() == 0 && m.method_text().empty()) return 0;
  return detail::wire_size(m);
}

constexpr std::size_t k_unmeasured = ~std::size_t{0};
constexpr std::uint8_t k_not_compacted = 0xFF;

/// What an INVITE server transaction in Accepted or Confirmed keeps of its last response
/// (server_invite::shed_response): the status line and To, built at their exact size in
/// one allocation (a built message would reserve 512 bytes of slack).
parser::message response_tag_part(const parser::message& rsp) {
  const auto to = rsp.get(parser::header_id::to);
  const std::size_t bytes = to ? parser::header_name(parser::header_id::to).size() + to->size() : 0;
  auto kept = parser::message::response(rsp.status_code(), rsp.reason_phrase(), bytes, to ? 1 : 0);
  if (to) kept.add(parser::header_id::to, *to);
  return kept;
}

}  // namespace

// ====================================================================== impl

struct manager::impl {
  using machine_variant = std::variant<std::monostate, client_invite, client_non_invite,
                                       server_invite, server_non_invite>;

  /// Failover state of a client transaction, allocated only when there is more than
  /// one target (RFC 3263 §4.3).
  struct client_targets {
    std::vector<endpoint> list;
    std::size_t next = 0;
    target_source source;
    std::string branch_suffix;  // start_client's, for every failover branch
  };

  // Fields in order of use: what lookups, timers and slot recycling read comes first, so
  // that a cold slot costs as few cache lines as possible; the machine (with its
  // messages) comes last.
  struct slot {
    std::array<detail::timer_node, 2> timers{};  // lanes, see lane_of
    std::uint32_t generation = 0;
    std::uint32_t next_free = npos;
    std::uint8_t depth = 0;  // nested executions of this slot's actions
    std::uint8_t epoch = 0;  // bumped on failover: a new machine in the same slot
    bool live = false;
    bool pending_terminate = false;
    bool got_response = false;
    bool legacy = false;                       // keyed in the RFC 2543 table
    bool shed_pending = false;                 // final response sent: shed the request at depth 0
    std::uint8_t compacted = k_not_compacted;  // the lingering state compacted for, see compact
    std::uint32_t held = 0;                    // bytes of its messages counted in held_bytes_
    std::uint32_t held_request = 0;            // of which the request's
    txn_key key;                               // valid while the slot is in clients_ or servers_
    endpoint peer;
    std::unique_ptr<client_targets> targets;
    machine_variant machine;
  };

  // transaction_fixed_bytes (manager.hpp) must cover a slot and its matching-table
  // entries: one key per transaction, 8-byte entries, a load factor of at least 1/4.
  static_assert(sizeof(slot) + 4 * 8 <= transaction_fixed_bytes,
                "transaction_fixed_bytes no longer covers a slot: measure it again");

  static constexpr std::size_t chunk_bits = 10;
  static constexpr std::size_t chunk_size = std::size_t{1} << chunk_bits;

  // Timer node ids: slot index * 2 + lane.
  struct timer_nodes {
    impl* self;
    detail::timer_node& operator()(std::uint32_t id) const noexcept {
      return self->at(id >> 1).timers[id & 1];
    }
  };
  static std::uint32_t node_id(std::uint32_t i, std::size_t lane) noexcept {
    return (i << 1) | static_cast<std::uint32_t>(lane);
  }

  impl(transport& tp, transaction_user& tu, manager_config cfg)
      : tp_(tp),
        tu_(tu),
        cfg_(std::move(cfg)),
        branches_(cfg_.seed),
        seed_(branches_.next_u64()),
        legacy_(16, legacy_hash{seed_}),
        timers_(timer_nodes{this}),
        rate_limiter_(cfg_.rate_limit, detail::hash_mix(seed_ + 1), &stats_.sources_evicted),
        ledger_(cfg_.amplification, detail::hash_mix(seed_ + 2), &stats_.sources_evicted),
        max_live_(live_bound(cfg_)) {}

  /// manager_config::max_transactions, or derived from the byte budget when it is 0.
  static std::size_t live_bound(const manager_config& c) noexcept {
    if (c.max_transactions != 0) return c.max_transactions;
    if (c.max_held_bytes == 0) return ~std::size_t{0};
    const std::size_t n = c.max_held_bytes / transaction_fixed_bytes;
    return n != 0 ? n : 1;
  }

  transport& tp_;
  transaction_user& tu_;
  manager_config cfg_;
  branch_generator branches_;
  std::uint64_t seed_;
  // The matching tables hold slot indices; the keys stay in the slots (txn_key).
  detail::index_table clients_;
  detail::index_table servers_;
  std::unordered_multimap<legacy_key, std::uint32_t, legacy_hash> legacy_;
  // Slots live in fixed chunks that never move, so references and the string_views in
  // the keys stay valid while the tables and the slot array grow.
  std::vector<std::unique_ptr<slot[]>> chunks_;
  std::uint32_t slot_count_ = 0;
  std::uint32_t free_ = npos;
  std::size_t live_ = 0;
  detail::timer_lists<timer_nodes> timers_;
  manager_stats stats_;
  std::string via_scratch_;  // make_via's buffer, kept for its capacity
  // failure_capture: the slot whose failure an entry point returns, and that failure.
  std::uint32_t reporting_slot_ = npos;
  std::error_code reported_failure_;
  std::size_t via_branch_offset_ = 0;  // where make_via put the branch
  std::size_t via_branch_length_ = 0;  // and its length, suffix included
  // Source of the request being received, for the TU upcalls it causes (an ACK or a
  // retransmission may come from another address than the creating request).
  const endpoint* current_source_ = nullptr;
  // Hostile traffic (manager.hpp): the per-source rate limit, the amplification ledger,
  // the bytes held by live transactions.
  detail::rate_limiter rate_limiter_;
  detail::source_ledger ledger_;
  std::size_t held_bytes_ = 0;
  // The latest `now` an entry point was given, for the calls that take none
  // (send_stateless, mark_proven).
  time_point now_{};
  detail::rare_warning warn_rate_, warn_bytes_, warn_amplification_;
  std::size_t max_live_;  // live_bound(cfg_)

  // ------------------------------------------------------------------ slots

  slot& at(std::uint32_t i) noexcept { return chunks_[i >> chunk_bits][i & (chunk_size - 1)]; }
  const slot& at(std::uint32_t i) const noexcept {
    return chunks_[i >> chunk_bits][i & (chunk_size - 1)];
  }

  slot* find(transaction_id id) noexcept {
    if (!id.valid() || id.index >= slot_count_) return nullptr;
    slot& s = at(id.index);
    return s.live && s.generation == id.generation ? &s : nullptr;
  }
  const slot* find(transaction_id id) const noexcept { return const_cast<impl*>(this)->find(id); }
  transaction_id id_of(std::uint32_t i) const noexcept { return {i, at(i).generation}; }

  std::uint32_t allocate() {
    std::uint32_t i;
    if (free_ != npos) {
      i = free_;
      free_ = at(i).next_free;
    } else {
      if ((slot_count_ >> chunk_bits) == chunks_.size())
        chunks_.push_back(std::make_unique<slot[]>(chunk_size));
      i = slot_count_++;
    }
    slot& s = at(i);
    s.live = true;
    s.next_free = npos;
    s.pending_terminate = s.got_response = s.legacy = s.shed_pending = false;
    s.compacted = k_not_compacted;
    s.held = s.held_request = 0;
    ++live_;
    return i;
  }

  // ------------------------------------------------------------------ held bytes

  static std::uint32_t clamp32(std::size_t n) noexcept {
    return static_cast<std::uint32_t>(n < 0xFFFFFFFFu ? n : 0xFFFFFFFFu);
  }

  /// Slot i holds a request of `request_bytes` and other messages of `other_bytes`.
  void hold(std::uint32_t i, std::size_t request_bytes, std::size_t other_bytes) noexcept {
    slot& s = at(i);
    const std::uint32_t total = clamp32(request_bytes + other_bytes);
    held_bytes_ = held_bytes_ - s.held + total;
    s.held = total;
    s.held_request = clamp32(request_bytes);
  }

  /// The message slot i holds besides its request changed (a response from the TU, the
  /// IST's own 100 Trying, the ICT's ACK): count it instead of the one before.
  void hold_other(std::uint32_t i) noexcept {
    slot& s = at(i);
    const std::size_t other = std::visit(
        [](const auto& m) -> std::size_t {
          using M = std::decay_t<decltype(m)>;
          if constexpr (std::is_same_v<M, server_invite> || std::is_same_v<M, server_non_invite>)
            return held_size(m.last_response());
          else if constexpr (std::is_same_v<M, client_invite>)
            return held_size(m.ack());
          else
            return 0;
        },
        s.machine);
    hold(i, s.held_request, other);
  }

  /// Whether `bytes` more fit in the byte budget.
  bool fits_budget(std::size_t bytes) const noexcept {
    return cfg_.max_held_bytes == 0 ||
           (held_bytes_ <= cfg_.max_held_bytes && bytes <= cfg_.max_held_bytes - held_bytes_);
  }

  const parser::message& request_of(const slot& s) const {
    return std::visit(
        [](const auto& m) -> const parser::message& {
          if constexpr (std::is_same_v<std::decay_t<decltype(m)>, std::monostate>) {
            static const parser::message empty;
            return empty;
          } else {
            return m.request();
          }
        },
        s.machine);
  }

  bool is_client(const slot& s) const noexcept {
    return std::holds_alternative<client_invite>(s.machine) ||
           std::holds_alternative<client_non_invite>(s.machine);
  }

  // ------------------------------------------------------------------ keys

  std::optional<txn_key> client_key_of(const parser::message& req) const {
    auto via = req.top_via();
    if (!via || via->branch.empty()) return std::nullopt;
    return make_client_key(via->branch, req.method_text(), seed_);
  }

  static std::optional<legacy_key> legacy_key_of(const parser::message& req) {
    auto cseq = req.cseq();
    if (!cseq) return std::nullopt;
    auto from = req.from();
    return legacy_key{req.call_id(), from ? from->tag : std::string_view{}, cseq->number};
  }

  /// Key the server transaction of slot i. `via` was parsed from the top Via value
  /// `via_value` of the request before it moved into the machine: the key's views are
  /// moved onto the same text in the machine's copy instead of parsing the Via again.
  void insert_server_key(std::uint32_t i, const parser::via_view& via, std::string_view via_value) {
    slot& s = at(i);
    const parser::message& req = request_of(s);
    if (is_rfc3261_branch(via)) {
      const std::string_view kept = req.get(parser::header_id::via).value_or("");
      auto rebase = [&](std::string_view v) {
        if (v.empty()) return std::string_view{};
        return kept.substr(static_cast<std::size_t>(v.data() - via_value.data()), v.size());
      };
      s.key = make_server_key(rebase(via.branch), rebase(via.host), via.port, server_method(req),
                              seed_);
      servers_.insert(s.key.hash, i);
    } else if (auto k = legacy_key_of(req)) {
      legacy_.emplace(*k, i);
      s.legacy = true;
    }
  }

  void erase_keys(std::uint32_t i) {
    slot& s = at(i);
    if (s.legacy) {
      if (auto k = legacy_key_of(request_of(s))) {
        auto [b, e] = legacy_.equal_range(*k);
        for (auto it = b; it != e; ++it)
          if (it->second == i) {
            legacy_.erase(it);
            break;
          }
      }
      return;
    }
    if (is_client(s))
      clients_.erase(s.key.hash, i);
    else
      servers_.erase(s.key.hash, i);
    s.key = txn_key{};
  }

  // §17.2.3, RFC 2543 rules. `method` is the creating request's method wanted.
  std::uint32_t find_legacy(const parser::message& msg, const parser::via_view& via,
                            std::string_view method) {
    auto key = legacy_key_of(msg);
    if (!key) return npos;
    const bool is_ack = msg.method() == parser::method::ack;
    auto [b, e] = legacy_.equal_range(*key);
    for (auto it = b; it != e; ++it) {
      const slot& s = at(it->second);
      const parser::message& req = request_of(s);
      if (req.method_text() != method) continue;
      auto stored_via = req.top_via();
      if (!stored_via || !vias_match(*stored_via, via)) continue;
      if (!uris_match(req.request_uri(), msg.request_uri())) continue;
      std::string_view want_tag = to_tag_of(req);
      if (is_ack) {
        // The ACK carries the To tag of the response the server transaction sent.
        if (const auto* ist = std::get_if<server_invite>(&s.machine))
          want_tag = to_tag_of(ist->last_response());
      }
      if (to_tag_of(msg) != want_tag) continue;
      return it->second;
    }
    return npos;
  }

  std::uint32_t find_client(const txn_key& key) const {
    return clients_.find(key.hash, [&](std::uint32_t i) { return client_match(key, at(i).key); });
  }

  std::uint32_t find_server(const parser::message& msg, const parser::via_view& via,
                            std::string_view method) {
    if (is_rfc3261_branch(via)) {
      const txn_key key = make_server_key(via.branch, via.host, via.port, method, seed_);
      return servers_.find(key.hash, [&](std::uint32_t i) { return server_match(key, at(i).key); });
    }
    return find_legacy(msg, via, method);
  }

  transaction_id cancel_target(const parser::message& cancel) {
    auto via = cancel.top_via();
    if (!via) return {};
    std::uint32_t i = find_server(cancel, *via, k_invite);
    if (i == npos || !std::holds_alternative<server_invite>(at(i).machine)) return {};
    return id_of(i);
  }

  // ------------------------------------------------------------------ timers

  void arm(std::uint32_t i, timer which, time_point deadline, time_point now) {
    timers_.arm(node_id(i, lane_of(which)), which, deadline, now);
  }
  void disarm(std::uint32_t i, timer which) noexcept {
    const std::size_t lane = lane_of(which);
    const detail::timer_node& n = at(i).timers[lane];
    if (!n.armed() || n.which != which) return;  // another timer of that lane
    timers_.disarm(node_id(i, lane));
  }
  void disarm_all(std::uint32_t i) noexcept {
    for (std::size_t lane = 0; lane < 2; ++lane) timers_.disarm(node_id(i, lane));
  }

  // ------------------------------------------------------------------ execution

  template <class Event>
  action_list feed(slot& s, const Event& ev, time_point now) {
    return std::visit(
        [&](auto& m) -> action_list {
          if constexpr (requires { m.handle(ev, now); })
            return m.handle(ev, now);
          else
            return {};
        },
        s.machine);
  }

  template <class Event>
  void dispatch(std::uint32_t i, const Event& ev, time_point now) {
    action_list acts = feed(at(i), ev, now);
    // The events after which a machine holds a message it did not hold before: an ICT
    // builds the ACK for a non-2xx final, an IST makes its own 100 Trying. Counted
    // before the actions run, which may end the transaction.
    if constexpr (std::is_same_v<Event, response_received>) {
      if (ev.response.status_code() >= 300 && std::holds_alternative<client_invite>(at(i).machine))
        hold_other(i);
    } else if constexpr (std::is_same_v<Event, timer_fired>) {
      if (ev.which == timer::trying) hold_other(i);
    }
    execute(i, acts, now);
  }

  void deliver(std::uint32_t i, const parser::message& msg) {
    slot& s = at(i);
    const transaction_id id = id_of(i);
    if (is_client(s)) {
      tu_.on_response(id, msg);
    } else if (msg.method() == parser::method::ack) {
      tu_.on_ack(msg, current_source_ ? *current_source_ : s.peer, id);
    } else {
      transaction_id cancels;
      if (msg.method() == parser::method::cancel) cancels = cancel_target(msg);
      tu_.on_request(id, msg, s.peer, cancels);
    }
  }

  void execute(std::uint32_t i, const action_list& acts, time_point now) {
    slot& s = at(i);
    const transaction_id id = id_of(i);
    const std::uint8_t epoch = s.epoch;
    ++s.depth;
    std::error_code send_error;
    for (const action& a : acts) {
      if (s.epoch != epoch) break;  // failed over: these actions belong to the old machine
      switch (a.kind) {
        case action_kind::send: {
          // A machine sends its request or the other message it holds (a response, the
          // ACK), both measured already for held_bytes.
          const std::size_t bytes =
              a.msg == &request_of(s) ? s.held_request : s.held - s.held_request;
          if (auto ec = send(*a.msg, s.peer, id, now, bytes); ec && !send_error) send_error = ec;
          break;
        }
        case action_kind::start_timer:
          arm(i, a.which, a.deadline, now);
          break;
        case action_kind::stop_timer:
          disarm(i, a.which);
          break;
        case action_kind::pass_to_tu:
          deliver(i, *a.msg);
          break;
        case action_kind::inform_tu:
          if (!failover(i, now)) {
            if (i == reporting_slot_) reported_failure_ = a.code;
            tu_.on_failure(id, a.code);
          }
          break;
        case action_kind::terminated:
          s.pending_terminate = true;
          break;
      }
    }
    if (send_error && s.epoch == epoch && !s.pending_terminate) {
      // §17.1.4 / §17.2.4: a synchronous send failure is a transport error event.
      action_list more = feed(s, transport_failed{send_error}, now);
      execute(i, more, now);
    }
    --s.depth;
    if (s.depth != 0 || !s.live) return;
    if (s.pending_terminate) {
      destroy(i);
      return;
    }
    if (s.shed_pending) shed(i);
    compact(i);
  }

  /// The state a machine lingers in after its exchange (for Timer D, H, I, J, L or M), or
  /// k_not_compacted when it is in none (then it still needs everything it holds) or is
  /// not worth compacting.
  static std::uint8_t lingering_state(const machine_variant& machine) noexcept {
    return std::visit(
        [](const auto& m) -> std::uint8_t {
          using M = std::decay_t<decltype(m)>;
          if constexpr (std::is_same_v<M, std::monostate> || std::is_same_v<M, client_non_invite>) {
            // A NICT lingers only for Timer K (T4, 5 s): the copy would cost more than the
            // slack it saves for so short a time.
            return k_not_compacted;
          } else {
            const auto st = m.current_state();
            bool lingers = st == M::state::completed;
            if constexpr (std::is_same_v<M, server_invite>)
              lingers = lingers || st == M::state::accepted || st == M::state::confirmed;
            else if constexpr (std::is_same_v<M, client_invite>)
              lingers = lingers || st == M::state::accepted;
            return lingers ? static_cast<std::uint8_t>(st) : k_not_compacted;
          }
        },
        machine);
  }

  /// Once per lingering state a transaction enters, at depth 0: keep only what that state
  /// needs, at its exact size. Every lingering state keeps the request for matching (its
  /// keys are views into it) and re-allocates it without slack; NIST Completed and IST
  /// Completed keep the response they re-send on a retransmitted request, ICT Completed
  /// the ACK it re-sends on a retransmitted final; IST Accepted and Confirmed never send
  /// their response again (RFC 6026 §7.1; Confirmed absorbs everything) and keep only its
  /// status line and To (the ACK's To tag is matched against it). RFC 2543 transactions
  /// (keys in the legacy table, views into the request and response) and NICTs (Timer K is
  /// only T4) are left as they are.
  void compact(std::uint32_t i) {
    slot& s = at(i);
    const std::uint8_t st = lingering_state(s.machine);
    if (st == k_not_compacted || st == s.compacted || s.legacy) return;
    s.compacted = st;
    // The keys are views into the request's top Via (branch, host) and its method text;
    // the copy has the same bytes at the same offsets.
    const parser::message& old_req = request_of(s);
    const std::string_view old_via = old_req.get(parser::header_id::via).value_or("");
    const char* old_method = old_req.method_text().data();
    auto offset_in_via = [&](std::string_view v) -> std::ptrdiff_t {
      const std::less<const char*> before;
      if (v.empty() || old_via.empty() || before(v.data(), old_via.data()) ||
          before(old_via.data() + old_via.size(), v.data() + v.size()))
        return -1;
      return v.data() - old_via.data();
    };
    const std::ptrdiff_t branch_at = offset_in_via(s.key.branch);
    const std::ptrdiff_t host_at = offset_in_via(s.key.host);
    const bool method_in_request = !s.key.method.empty() && s.key.method.data() == old_method;
    if ((!s.key.branch.empty() && branch_at < 0) || (!s.key.host.empty() && host_at < 0))
      return;  // keys not in the top Via (cannot happen): leave the request where it is
    bool response_shed = false;
    std::visit(
        [&](auto& m) {
          using M = std::decay_t<decltype(m)>;
          // The response is shed first: compacting it and then dropping it would cost a
          // copy for nothing.
          if constexpr (std::is_same_v<M, server_invite>) {
            if (m.current_state() != server_invite::state::completed) {
              m.shed_response(response_tag_part(m.last_response()));
              response_shed = true;
            }
          }
          if constexpr (!std::is_same_v<M, std::monostate>) m.compact();
        },
        s.machine);
    const parser::message& req = request_of(s);
    const std::string_view via = req.get(parser::header_id::via).value_or("");
    if (branch_at >= 0)
      s.key.branch = via.substr(static_cast<std::size_t>(branch_at), s.key.branch.size());
    if (host_at >= 0) s.key.host = via.substr(static_cast<std::size_t>(host_at), s.key.host.size());
    if (method_in_request) s.key.method = req.method_text();
    if (response_shed) hold_other(i);
  }

  /// Reduce the request of server transaction i to what matching needs (matching_part)
  /// and move its keys onto the smaller copy. Runs when no callback of the transaction
  /// is on the stack, so that no reference the TU was given into the request dangles.
  void shed(std::uint32_t i) {
    slot& s = at(i);
    s.shed_pending = false;
    parser::message kept = detail::matching_part(request_of(s));
    if (s.legacy) erase_keys(i);  // the RFC 2543 table's keys are views into the request
    std::visit(
        [&](auto& m) {
          using M = std::decay_t<decltype(m)>;
          if constexpr (std::is_same_v<M, server_invite> || std::is_same_v<M, server_non_invite>)
            m.shed_request(std::move(kept));
        },
        s.machine);
    const parser::message& req = request_of(s);
    if (s.legacy) {
      if (auto k = legacy_key_of(req)) legacy_.emplace(*k, i);
    } else if (!s.key.branch.empty()) {
      // Same text, so the same hash and table entry: only the views move.
      if (auto via = req.top_via()) {
        s.key.branch = via->branch;
        s.key.host = via->host;
        s.key.method = server_method(req);
      } else {
        erase_keys(i);  // cannot happen: the same Via text parsed when the request came
      }
    }
    hold(i, held_size(req), s.held - s.held_request);
    ++stats_.requests_shed;
  }

  /// After the TU's response on server transaction i: a final response makes the request
  /// a candidate for shedding (done at depth 0, see execute).
  void maybe_shed(std::uint32_t i, int status_code) {
    slot& s = at(i);
    if (status_code < 200 || !s.live || s.pending_terminate) return;
    if (s.shed_pending) return;
    if (!detail::worth_shedding(request_of(s), s.held_request)) return;
    s.shed_pending = true;
  }

  // ------------------------------------------------------------------ sends

  /// Every send of the manager: the amplification budget first (UDP only), then the
  /// transport. A send the budget suppresses is "lost on the network": no error.
  std::error_code send(const parser::message& msg, const endpoint& to, transaction_id origin,
                       time_point now, std::size_t bytes = detail::source_ledger::k_unknown_size) {
    if (limits_udp(to)) {
      const auto verdict = ledger_.admit(to.host, msg, now, bytes);
      if (!verdict.send) {
        ++stats_.amplification_suppressed;
        stats_.amplification_suppressed_bytes += verdict.bytes;
        warn_amplification_(cfg_.log, now, [&] {
          return "amplification budget: sends to unproven UDP sources suppressed so far: " +
                 std::to_string(stats_.amplification_suppressed) + " (" +
                 std::to_string(stats_.amplification_suppressed_bytes) + " bytes), the latest to " +
                 to.host;
        });
        return {};
      }
    }
    return tp_.send(msg, to, origin);
  }

  /// 503 with Retry-After, outside any transaction (RFC 3261 §21.5.4).
  void reject_503(const parser::message& req, const endpoint& source, time_point now) {
    parser::message rsp = parser::make_response(req, 503);
    rsp.add("Retry-After", std::to_string(cfg_.retry_after_seconds));
    (void)send(rsp, source, {}, now);
  }

  void note_time(time_point now) noexcept {
    if (now > now_) now_ = now;
  }

  void prove(const endpoint& source, time_point now) {
    if (limits_udp(source) && ledger_.prove(source.host, now)) ++stats_.sources_proven;
  }

  /// Sources the rate limit and the amplification budget leave alone.
  bool exempt(const endpoint& e) const noexcept {
    return cfg_.exempt_loopback && detail::is_loopback(e.host);
  }
  /// Whether the amplification ledger counts what goes to / comes from `e`.
  bool limits_udp(const endpoint& e) const noexcept {
    return ledger_.enabled() && e.protocol == transport_protocol::udp && !exempt(e);
  }

  /// While an entry point (start_client, cancel, respond) runs the actions of slot i, the
  /// failure the TU is told of for that slot is also kept, so that the entry point can
  /// return it: the caller may not know the id yet (start_client), and a TU should not
  /// need to match upcalls against the call it is in. Scopes nest (a TU callback may
  /// start another transaction).
  class failure_capture {
   public:
    failure_capture(impl& m, std::uint32_t slot)
        : m_(m), saved_slot_(m.reporting_slot_), saved_failure_(m.reported_failure_) {
      m_.reporting_slot_ = slot;
      m_.reported_failure_.clear();
    }
    ~failure_capture() {
      m_.reporting_slot_ = saved_slot_;
      m_.reported_failure_ = saved_failure_;
    }
    failure_capture(const failure_capture&) = delete;
    failure_capture& operator=(const failure_capture&) = delete;
    std::error_code failure() const noexcept { return m_.reported_failure_; }

   private:
    impl& m_;
    std::uint32_t saved_slot_;
    std::error_code saved_failure_;
  };

  void destroy(std::uint32_t i) {
    slot& s = at(i);
    const transaction_id id = id_of(i);
    disarm_all(i);
    erase_keys(i);
    held_bytes_ -= s.held;
    s.held = s.held_request = 0;
    s.shed_pending = false;
    s.machine.emplace<std::monostate>();
    s.targets.reset();
    s.peer = endpoint{};
    s.live = false;
    s.pending_terminate = false;
    ++s.generation;
    s.next_free = free_;
    free_ = i;
    --live_;
    tu_.on_terminated(id);
  }

  // ------------------------------------------------------------------ client side

  /// The top Via of a client request, built in a buffer that is reused from request
  /// to request (push_front copies it into the message).
  std::string_view make_via(const endpoint& target, std::string_view branch_suffix = {}) {
    std::string& via = via_scratch_;
    via.assign("SIP/2.0/");
    via += via_transport_name(target.protocol);
    via += ' ';
    via += tp_.via_sent_by(target);
    via += ";branch=";
    via_branch_offset_ = via.size();
    branches_.append_to(via);
    via += branch_suffix;
    via_branch_length_ = branch_generator::branch_length + branch_suffix.size();
    if (cfg_.add_rport) via += ";rport";
    return via;
  }

  std::optional<endpoint> next_target(client_targets& t) {
    if (t.next < t.list.size()) return t.list[t.next++];
    if (t.source) return t.source();
    return std::nullopt;
  }

  /// Start (or restart, on failover) the client machine of slot i. `own_via` says that
  /// the top Via is the one make_via just built, so its branch is found without parsing.
  /// `request_bytes`: the request's wire size when the caller measured it already.
  void start_machine(std::uint32_t i, parser::message request, time_point now, bool own_via = false,
                     std::size_t request_bytes = k_unmeasured) {
    slot& s = at(i);
    const bool reliable = s.peer.reliable();
    s.compacted = k_not_compacted;
    if (request.method() == parser::method::invite)
      s.machine.emplace<client_invite>(std::move(request), reliable, cfg_.timers);
    else
      s.machine.emplace<client_non_invite>(std::move(request), reliable, cfg_.timers);
    const parser::message& req = request_of(s);
    hold(i, request_bytes == k_unmeasured ? held_size(req) : request_bytes, 0);
    std::optional<txn_key> key;
    if (own_via) {
      const std::string_view via = req.get(parser::header_id::via).value_or("");
      key = make_client_key(via.substr(via_branch_offset_, via_branch_length_), req.method_text(),
                            seed_);
    } else {
      key = client_key_of(req);
    }
    if (auto k = key) {
      // The first transaction with a key keeps it (a TU reusing a branch gets no match).
      if (find_client(*k) == npos) {
        s.key = *k;
        clients_.insert(k->hash, i);
      }
    }
    action_list acts = std::visit(
        [&](auto& m) -> action_list {
          if constexpr (std::is_same_v<std::decay_t<decltype(m)>, client_invite> ||
                        std::is_same_v<std::decay_t<decltype(m)>, client_non_invite>)
            return m.start(now);
          else
            return {};
        },
        s.machine);
    execute(i, acts, now);
  }

  /// RFC 3263 §4.3 / RFC 3261 §8.1.2: on a timeout or transport error before any
  /// response, try the next target as a new transaction (new branch). True if retried.
  bool failover(std::uint32_t i, time_point now) {
    slot& s = at(i);
    if (!is_client(s) || s.got_response || !s.targets) return false;
    auto target = next_target(*s.targets);
    if (!target) return false;
    parser::message request = request_of(s);  // copy: the old machine is replaced
    request.remove_first(parser::header_id::via);
    disarm_all(i);
    erase_keys(i);
    ++s.epoch;
    s.pending_terminate = false;
    s.peer = std::move(*target);
    request.push_front(parser::header_id::via, make_via(s.peer, s.targets->branch_suffix));
    ++stats_.failovers;
    start_machine(i, std::move(request), now, true);
    return true;
  }

  start_result start_client(parser::message request, endpoint first,
                            std::unique_ptr<client_targets> more, std::string_view branch_suffix,
                            time_point now) {
    // Presence only: the manager never reads the CSeq of a request it sends (responses
    // are matched on their own CSeq method, §17.1.3), and parsing it costs more than the
    // rest of the check.
    if (request.is_response() || request.method() == parser::method::ack ||
        !request.get(parser::header_id::cseq) || request.call_id().empty())
      return {{}, make_error_code(error::invalid_message)};
    if (!valid_branch_suffix(branch_suffix)) return {{}, make_error_code(error::invalid_message)};
    if (live_ >= max_live_) {
      ++stats_.rejected_full;
      return {{}, make_error_code(error::too_many_transactions)};
    }
    if (more) more->branch_suffix = branch_suffix;
    request.push_front(parser::header_id::via, make_via(first, branch_suffix));
    const std::size_t bytes = detail::wire_size(request);
    if (!fits_budget(bytes)) {
      ++stats_.rejected_bytes;
      return {{}, make_error_code(error::byte_budget_exceeded)};
    }
    const std::uint32_t i = allocate();
    slot& s = at(i);
    s.peer = std::move(first);
    s.targets = std::move(more);
    ++stats_.client_created;
    const transaction_id id = id_of(i);
    failure_capture capture(*this, i);
    start_machine(i, std::move(request), now, true, bytes);
    return {id, capture.failure()};
  }

  // ------------------------------------------------------------------ input

  void receive_response(const parser::message& msg, const endpoint& source, time_point now) {
    auto via = msg.top_via();
    auto cseq = msg.cseq();
    if (!via || !cseq) {
      ++stats_.dropped_invalid;
      return;
    }
    const std::uint32_t i = find_client(make_client_key(via->branch, cseq->method_text, seed_));
    if (i == npos) {
      if (limits_udp(source)) {
        detail::measured_message m(msg);
        ledger_.received(source.host, m, now);
      }
      ++stats_.stray_responses;
      tu_.on_stray_response(msg, source);
      return;
    }
    // It carries our branch, which only the receiver of our request has seen: the source
    // receives what we send.
    prove(source, now);
    at(i).got_response = true;
    dispatch(i, response_received{msg}, now);
  }

  void receive_request(parser::message msg, const endpoint& source, time_point now) {
    detail::measured_message measured(msg);
    const bool counted = limits_udp(source);
    if (counted) ledger_.received(source.host, measured, now);
    auto via = msg.top_via();
    // Presence of CSeq only: RFC 3261 matching does not read it (the RFC 2543 fallback
    // parses it and leaves a request without a valid one unkeyed), and the transport's
    // parser has already refused requests whose CSeq does not parse.
    if (!via || !msg.get(parser::header_id::cseq) || msg.call_id().empty()) {
      ++stats_.dropped_invalid;  // cannot even be answered without Via and CSeq (§8.2.6)
      return;
    }
    const bool is_ack = msg.method() == parser::method::ack;
    const std::uint32_t found = find_server(msg, *via, server_method(msg));
    if (found != npos) {
      if (is_ack && !std::holds_alternative<server_invite>(at(found).machine)) return;
      if (is_ack && counted) prove_by_ack(found, msg, source, now);
      if (!is_ack) ++stats_.retransmissions_absorbed;
      const endpoint* outer = std::exchange(current_source_, &source);
      dispatch(found, request_received{msg}, now);
      current_source_ = outer;
      return;
    }
    if (is_ack) {
      ++stats_.stray_acks;
      tu_.on_ack(msg, source, {});
      return;
    }
    if (!admit(msg, measured, source, now)) return;
    const std::uint32_t i = allocate();
    slot& s = at(i);
    s.peer = source;
    const bool reliable = source.reliable();
    ++stats_.server_created;
    const std::size_t size = measured.size();  // before the message moves
    const std::string_view via_value = msg.get(parser::header_id::via).value_or("");
    action_list acts;
    if (msg.method() == parser::method::invite) {
      auto& m = s.machine.emplace<server_invite>(std::move(msg), reliable, cfg_.timers);
      insert_server_key(i, *via, via_value);
      acts = m.start(now);
    } else {
      auto& m = s.machine.emplace<server_non_invite>(std::move(msg), reliable, cfg_.timers);
      insert_server_key(i, *via, via_value);
      acts = m.start(now);
    }
    hold(i, size, 0);
    execute(i, acts, now);
  }

  /// May a request that matched no transaction create one? The per-source rate limit,
  /// then the bounds on transactions and on held bytes; a refused request is answered
  /// 503 with Retry-After statelessly (or dropped, as the rate limit's action says).
  bool admit(const parser::message& msg, detail::measured_message& measured, const endpoint& source,
             time_point now) {
    // A CANCEL of a live INVITE transaction is not limited: its INVITE was admitted, and
    // its caller must be able to end it (§9.2).
    if (rate_limiter_.enabled() && !exempt(source) &&
        !(msg.method() == parser::method::cancel && cancel_target(msg).valid()) &&
        !rate_limiter_.admit(source.host, now)) {
      ++stats_.rate_limited;
      warn_rate_(cfg_.log, now, [&] {
        return "rate limit: requests refused so far: " + std::to_string(stats_.rate_limited) +
               ", the latest from " + source.host;
      });
      if (cfg_.rate_limit.action == rate_limit_action::reject) reject_503(msg, source, now);
      return false;
    }
    if (live_ >= max_live_) {
      // Full: answer statelessly instead of growing without bound (RFC 3261 §21.5.4).
      ++stats_.rejected_full;
      reject_503(msg, source, now);
      return false;
    }
    if (!fits_budget(measured.size())) {
      ++stats_.rejected_bytes;
      warn_bytes_(cfg_.log, now, [&] {
        return "byte budget: requests refused so far: " + std::to_string(stats_.rejected_bytes) +
               ", bytes held: " + std::to_string(held_bytes_);
      });
      reject_503(msg, source, now);
      return false;
    }
    return true;
  }

  /// An ACK matched INVITE server transaction i. When it carries the To tag of the final
  /// response we sent, and that tag was ours (the INVITE had none), its sender has seen
  /// that response: the source receives what we send (§17.2.3 / RFC 6026 §7.1 match the
  /// ACK to the transaction; the tag is what a spoofer cannot know).
  void prove_by_ack(std::uint32_t i, const parser::message& ack, const endpoint& source,
                    time_point now) {
    const auto& ist = std::get<server_invite>(at(i).machine);
    const auto state = ist.current_state();
    if (state != server_invite::state::completed && state != server_invite::state::confirmed &&
        state != server_invite::state::accepted)
      return;
    const std::string_view ours = to_tag_of(ist.last_response());
    if (ours.empty() || !to_tag_of(ist.request()).empty() || to_tag_of(ack) != ours) return;
    prove(source, now);
  }
};

// ====================================================================== manager

manager::manager(transport& tp, transaction_user& tu, manager_config config)
    : impl_(std::make_unique<impl>(tp, tu, std::move(config))) {}

manager::~manager() = default;

start_result manager::start_client(parser::message request, std::vector<endpoint> targets,
                                   time_point now, std::string_view branch_suffix) {
  impl_->note_time(now);
  if (targets.empty()) return {{}, make_error_code(error::no_target)};
  endpoint first = std::move(targets.front());
  std::unique_ptr<impl::client_targets> more;
  if (targets.size() > 1) {
    more = std::make_unique<impl::client_targets>();
    more->list = std::move(targets);
    more->next = 1;
  }
  return impl_->start_client(std::move(request), std::move(first), std::move(more), branch_suffix,
                             now);
}

start_result manager::start_client(parser::message request, endpoint target, time_point now,
                                   std::string_view branch_suffix) {
  impl_->note_time(now);
  return impl_->start_client(std::move(request), std::move(target), nullptr, branch_suffix, now);
}

start_result manager::start_client(parser::message request, target_source next, time_point now,
                                   std::string_view branch_suffix) {
  impl_->note_time(now);
  if (!next) return {{}, make_error_code(error::no_target)};
  auto first = next();
  if (!first) return {{}, make_error_code(error::no_target)};
  auto more = std::make_unique<impl::client_targets>();
  more->source = std::move(next);
  return impl_->start_client(std::move(request), std::move(*first), std::move(more), branch_suffix,
                             now);
}

start_result manager::cancel(transaction_id invite, time_point now, message_edit edit) {
  impl_->note_time(now);
  auto* s = impl_->find(invite);
  if (!s) return {{}, make_error_code(error::no_such_transaction)};
  const auto* ict = std::get_if<client_invite>(&s->machine);
  if (!ict) return {{}, make_error_code(error::invalid_state)};
  if (impl_->live_ >= impl_->max_live_) {
    ++impl_->stats_.rejected_full;
    return {{}, make_error_code(error::too_many_transactions)};
  }
  parser::message cancel = make_cancel(ict->request());
  if (edit) edit(cancel);
  const std::size_t bytes = detail::wire_size(cancel);
  if (!impl_->fits_budget(bytes)) {
    ++impl_->stats_.rejected_bytes;
    return {{}, make_error_code(error::byte_budget_exceeded)};
  }
  endpoint peer = s->peer;
  const std::uint32_t i = impl_->allocate();
  auto& slot = impl_->at(i);
  slot.peer = std::move(peer);
  ++impl_->stats_.client_created;
  const transaction_id id = impl_->id_of(i);
  // The CANCEL keeps the INVITE's Via (§9.1): no new branch, no failover.
  impl::failure_capture capture(*impl_, i);
  impl_->start_machine(i, std::move(cancel), now, false, bytes);
  return {id, capture.failure()};
}

std::error_code manager::respond(transaction_id id, parser::message response, time_point now) {
  impl_->note_time(now);
  auto* s = impl_->find(id);
  if (!s) return make_error_code(error::no_such_transaction);
  if (!response.is_response()) return make_error_code(error::invalid_message);
  const int code = response.status_code();
  action_list acts;
  if (auto* ist = std::get_if<server_invite>(&s->machine))
    acts = ist->handle(response_from_tu{std::move(response)}, now);
  else if (auto* nist = std::get_if<server_non_invite>(&s->machine))
    acts = nist->handle(response_from_tu{std::move(response)}, now);
  else
    return make_error_code(error::invalid_state);
  if (acts.error) return acts.error;
  // The machine keeps the response (and, once it is final, the request may be shed).
  impl_->hold_other(id.index);
  s->compacted = k_not_compacted;  // a 2xx again in Accepted: keep only its tag part again
  impl_->maybe_shed(id.index, code);
  impl::failure_capture capture(*impl_, id.index);
  impl_->execute(id.index, acts, now);
  return capture.failure();
}

std::error_code manager::send_stateless(const parser::message& msg, const endpoint& destination,
                                        time_point now) {
  impl_->note_time(now);
  return impl_->send(msg, destination, {}, now);
}

std::error_code manager::send_stateless(const parser::message& msg, const endpoint& destination) {
  return impl_->send(msg, destination, {}, impl_->now_);
}

void manager::mark_proven(const endpoint& source) { impl_->prove(source, impl_->now_); }

void manager::on_receive(parser::message msg, const endpoint& source, time_point now) {
  impl_->note_time(now);
  if (msg.is_response())
    impl_->receive_response(msg, source, now);
  else
    impl_->receive_request(std::move(msg), source, now);
}

void manager::on_send_error(transaction_id id, std::error_code ec, time_point now) {
  impl_->note_time(now);
  if (!impl_->find(id)) return;  // the transaction is already gone
  impl_->dispatch(id.index, transport_failed{ec}, now);
}

std::optional<time_point> manager::next_deadline() const noexcept {
  return impl_->timers_.next_deadline();
}

void manager::on_timer(time_point now) {
  impl_->note_time(now);
  for (;;) {
    const std::uint32_t node = impl_->timers_.pop_due(now);
    if (node == detail::timer_node::npos) break;
    const std::uint32_t i = node >> 1;
    impl_->dispatch(i, timer_fired{impl_->at(i).timers[node & 1].which}, now);
  }
}

std::size_t manager::size() const noexcept { return impl_->live_; }
std::size_t manager::armed_timers() const noexcept { return impl_->timers_.size(); }
bool manager::contains(transaction_id id) const noexcept { return impl_->find(id) != nullptr; }

std::optional<transaction_kind> manager::kind(transaction_id id) const noexcept {
  const auto* s = impl_->find(id);
  if (!s) return std::nullopt;
  switch (s->machine.index()) {
    case 1:
      return transaction_kind::client_invite;
    case 2:
      return transaction_kind::client_non_invite;
    case 3:
      return transaction_kind::server_invite;
    case 4:
      return transaction_kind::server_non_invite;
    default:
      return std::nullopt;
  }
}

std::string_view manager::state_name(transaction_id id) const noexcept {
  const auto* s = impl_->find(id);
  if (!s) return {};
  return std::visit(
      [](const auto& m) -> std::string_view {
        if constexpr (std::is_same_v<std::decay_t<decltype(m)>, std::monostate>)
          return {};
        else
          return to_string(m.current_state());
      },
      s->machine);
}

const parser::message* manager::request(transaction_id id) const noexcept {
  const auto* s = impl_->find(id);
  return s ? &impl_->request_of(*s) : nullptr;
}

const endpoint* manager::peer(transaction_id id) const noexcept {
  const auto* s = impl_->find(id);
  return s ? &s->peer : nullptr;
}

std::size_t manager::held_bytes() const noexcept { return impl_->held_bytes_; }
std::size_t manager::max_live() const noexcept { return impl_->max_live_; }
std::size_t manager::memory_bytes() const noexcept {
  return impl_->held_bytes_ + impl_->live_ * transaction_fixed_bytes;
}

bool manager::is_proven(const endpoint& source) const noexcept {
  return impl_->limits_udp(source) && impl_->ledger_.proven(source.host, impl_->now_);
}

std::size_t manager::rate_limit_sources() const noexcept { return impl_->rate_limiter_.sources(); }
std::size_t manager::ledger_sources() const noexcept { return impl_->ledger_.sources(); }

const manager_stats& manager::stats() const noexcept { return impl_->stats_; }
const manager_config& manager::config() const noexcept { return impl_->cfg_; }

}  // namespace sipkit::transaction
