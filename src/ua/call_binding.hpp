// Private: call_binding, the calls over session::invite_session. The session holds the
// call (states, dialogs, offer/answer, 2xx/ACK reliability, CANCEL, forks, re-INVITE,
// UPDATE); the binding turns the application's operations into the session's entry
// points and executes the actions it returns: requests through the transaction manager,
// each with its continuation (client_op), responses, ACKs, CANCEL, events to the
// application. It also keeps each call's dialogs in the usage table, the one Asio timer
// for all calls and the pool of calls awaiting their ACK.
//
// One of user_agent::impl's bindings (see ua_impl.hpp). It keeps
// a reference to the agent's core (ua_) for sending and the shared tables; its lifetime is
// the agent's (a member of user_agent::impl), so timers' handlers may capture `this`.
#pragma once

#include <algorithm>
#include <chrono>
#include <optional>
#include <unordered_map>

#include "call_timers.hpp"
#include "continuation.hpp"
#include "offer_text.hpp"

namespace sipkit::ua {

using session_actions = session::invite_session::action_list;

class call_binding {
 public:
  explicit call_binding(user_agent::impl& ua);

  // ---- executing the session's actions (calls.cpp)
  /// Executes the actions of `c`'s session in order. `op`: the client transaction whose
  /// outcome produced them (its request_completed goes to op's continuation).
  void run(const call_ptr& c, session_actions actions, client_op* op = nullptr);
  /// The call is over: dialogs unlisted, waiters completed, event sent, call released.
  /// `cause`: the message that ended it (the peer's BYE, a final response), for the event.
  void end_call(const call_ptr& c, int status, std::error_code ec,
                const parser::message* cause = nullptr);
  /// Sets the call's deadline in the timer table to the earliest of its session and
  /// modules (none: taken out), and the table's Asio timer to the earliest of all calls.
  void arm_timer(const call_ptr& c);
  /// The table's Asio timer expired: runs every call whose deadline has come.
  void on_timers_due();
  void arm_timers();
  /// The initial 2xx of `c` gets no more ACK wait (evicted from the calls awaiting it).
  void give_up_on_ack(const call_ptr& c, std::string_view why);
  /// Bookkeeping of calls whose initial 2xx awaits its ACK (ua_config::
  /// max_calls_awaiting_ack). A new INVITE is admitted while the pool has room, or once
  /// the oldest waiting 2xx is overdue (ack_overdue), which is then ended with a BYE;
  /// otherwise the returned Retry-After goes in a 503.
  std::optional<std::chrono::seconds> admit_awaiting_ack();
  /// RFC 3261 §13.3.1.4: the 2xx went at T1, 2*T1 ... T2 until the ACK, 64*T1 at most;
  /// T1 is the round-trip estimate (§17.1.1.1), so an ACK not there after T1 is already
  /// late (the first retransmission has gone on UDP) and ending that call costs less than
  /// refusing a new one. A younger one is never evicted: its ACK is likely on its way.
  bool ack_overdue(const call_impl& c, tx::time_point at) const;
  std::chrono::milliseconds ack_waited(const call_impl& c, tx::time_point at) const;
  /// Ends the oldest call awaiting its ACK if it is overdue; false if none is.
  bool evict_overdue_ack();
  void start_awaiting_ack(const call_ptr& c);
  void stop_awaiting_ack(call_impl& c);
  void emit(call_impl& c, call_event e);
  void set_state(call_impl& c, call_state s, int status = 0,
                 const parser::message* cause = nullptr);
  /// The INVITE's transaction is over: the session lets the INVITE go and the call keeps
  /// it for call::invite() (moved, not copied).
  void invite_transaction_ended(const call_ptr& c);
  /// Our media (ua_config::media) with the address of the listener towards `dest` when
  /// the configuration names none. Valid until the next media_for call.
  const local_media& media_for(const tx::endpoint& dest) const;

  // ---- UAC and the call's requests (uac.cpp, requests.cpp)
  call make_call(std::string_view target, call_options options = {});
  /// std::errc::invalid_argument when `o` breaks the header rule (options.hpp), has an
  /// unparsable From URI or proxy, or a display name with a quote.
  static std::error_code check_call_options(const call_options& o);
  /// Builds the call's INVITE (From, route set, Subject, headers, the offer) and session.
  void start_invite(const call_ptr& c, std::string_view target, const std::string& local,
                    const tx::endpoint& dest, call_options o);
  /// make_call's next step once the first hop `first_hop` is located (ec, or its targets):
  /// the INVITE to `t` is built and sent, or the call ends. `first_hop` may point into
  /// `o`: it is read before `o` is moved from.
  void located(const call_ptr& c, std::string_view t, std::string_view first_hop, call_options&& o,
               std::error_code ec, std::vector<tx::endpoint> targets);
  /// A request the session asked for: a client transaction with `op` as its continuation.
  void start_request(const call_ptr& c, session::invite_session::send_request& r, client_op op);
  /// A response to one of a call's requests: retried with credentials / a larger
  /// Session-Expires, or passed to the session.
  void on_response(client_op& op, const parser::message& rsp);
  void hangup(const call_ptr& c, done_handler done) { hangup(c, {}, std::move(done)); }
  void hangup(const call_ptr& c, hangup_options options, done_handler done);
  void in_dialog_request(const call_ptr& c, const std::string& method, message_options options,
                         status_handler done);
  void reinvite(const call_ptr& c, bool hold, status_handler done);
  void reoffer(const call_ptr& c, reoffer_options options, status_handler done);
  void update(const call_ptr& c, status_handler done);
  /// Sends a request a module built from the session's dialog (PRACK, REFER, NOTIFY, a
  /// refreshing UPDATE) with the module's continuation.
  void send_built(const call_ptr& c, parser::message request, const continuation& then,
                  status_handler done = {});

  // ---- UAS (uas.cpp)
  void on_new_invite(tx::transaction_id id, const parser::message& req, const tx::endpoint& source);
  void on_cancel(tx::transaction_id id, const parser::message& req, tx::transaction_id cancels);
  std::error_code ring(const call_ptr& c, const ring_options& options);
  std::error_code answer(const call_ptr& c, const answer_options& options = {});
  std::error_code reject(const call_ptr& c, int code, std::string_view reason);
  std::error_code reject(const call_ptr& c, const reject_options& options);
  /// An in-dialog request the session passed up (INFO, MESSAGE, re-INVITE, UPDATE, PRACK,
  /// REFER, NOTIFY ...): answered here or by the module it belongs to.
  void on_request_received(const call_ptr& c, tx::transaction_id tx, const parser::message& req);
  /// The peer offered (re-INVITE, UPDATE, INVITE): our answer from our media, for the
  /// response that on_request_received sends.
  /// `offer`: the message that carried it, for the events.
  void on_offer(const call_ptr& c, std::string_view sdp, const parser::message* offer = nullptr);
  void respond(const call_ptr& c, tx::transaction_id tx, int status,
               session::message_options options = {});

  // The live calls: a vector with each call's place in it (call_impl::table_index),
  // removed by moving the last one into the hole. No node per call.
  class call_table {
   public:
    std::size_t size() const noexcept { return calls_.size(); }
    auto begin() noexcept { return calls_.begin(); }
    auto end() noexcept { return calls_.end(); }
    void insert(const call_ptr& c) {
      c->table_index = static_cast<std::uint32_t>(calls_.size());
      calls_.push_back(c);
    }
    /// The table's reference to `c`, or nullptr when it is not (any more) a live call.
    const call_ptr* find(const call_impl* c) const noexcept {
      return c && c->table_index < calls_.size() && calls_[c->table_index].get() == c
                 ? &calls_[c->table_index]
                 : nullptr;
    }
    /// The caller holds its own reference to `c`, or the call goes with the table's.
    void erase(call_impl* c) noexcept {
      if (!find(c)) return;
      const std::uint32_t i = c->table_index;
      c->table_index = call_impl::no_index;  // before the table's reference goes
      if (i + 1 != calls_.size()) {
        calls_[i] = std::move(calls_.back());
        calls_[i]->table_index = i;
      }
      calls_.pop_back();
    }

   private:
    std::vector<call_ptr> calls_;
  };
  call_table calls_;
  // One deadline per call with one, one Asio timer for them all (call_timers.hpp).
  call_timer_table timers_;
  // Incoming calls whose initial 2xx awaits its ACK, oldest first, linked through the
  // calls themselves (call_impl::ack_prev / ack_next). Counted apart from max_calls, so
  // that INVITEs from sources that never ACK cannot starve new calls.
  struct awaiting_ack_list {
    call_impl* head = nullptr;  // oldest
    call_impl* tail = nullptr;  // newest
    std::size_t size = 0;
  };
  awaiting_ack_list awaiting_ack_;
  std::uint64_t calls_evicted_awaiting_ack_ = 0;
  std::uint64_t calls_refused_awaiting_ack_ = 0;  // INVITEs answered 503: pool full and young
  // IST -> call while the INVITE's server transaction lives (until its ACK or Timer L):
  // open addressing with linear probing over (id, call) entries, at most half full,
  // grown by doubling, so it is as large as the most calls in setup at once and a call
  // costs no node.
  class invite_server_table {
   public:
    call_ptr* find(tx::transaction_id id) noexcept {
      if (!id || slots_.empty()) return nullptr;
      for (std::size_t i = home(id);; i = (i + 1) & mask()) {
        auto& e = slots_[i];
        if (!e.call) return nullptr;
        if (e.id == id) return &e.call;
      }
    }
    bool contains(tx::transaction_id id) noexcept { return find(id) != nullptr; }
    void emplace(tx::transaction_id id, call_ptr c) {
      if (!id || !c) return;
      if (auto* there = find(id)) {
        *there = std::move(c);
        return;
      }
      if ((count_ + 1) * 2 > slots_.size()) grow();
      place(id, std::move(c));
      ++count_;
    }
    void erase(tx::transaction_id id) noexcept {
      if (!id || slots_.empty()) return;
      std::size_t i = home(id);
      for (;; i = (i + 1) & mask()) {
        if (!slots_[i].call) return;
        if (slots_[i].id == id) break;
      }
      // Backward shift: pull each later entry of the run into the hole when its home
      // does not lie cyclically in (hole, its slot], so that no probe meets a gap.
      for (std::size_t j = (i + 1) & mask();; j = (j + 1) & mask()) {
        if (!slots_[j].call) break;
        const std::size_t h = home(slots_[j].id);
        const bool stays = i <= j ? (i < h && h <= j) : (i < h || h <= j);
        if (stays) continue;
        slots_[i] = std::move(slots_[j]);
        i = j;
      }
      slots_[i] = entry{};
      // A burst of setups is over: give its table back (a small one stays, so a steady
      // trickle of calls allocates nothing).
      if (--count_ == 0 && slots_.size() > 64) std::vector<entry>().swap(slots_);
    }

   private:
    struct entry {
      tx::transaction_id id;
      call_ptr call;
    };
    std::size_t mask() const noexcept { return slots_.size() - 1; }
    std::size_t home(tx::transaction_id id) const noexcept {
      const std::uint64_t k = (std::uint64_t{id.generation} << 32) | id.index;
      return static_cast<std::size_t>((k * 0x9e3779b97f4a7c15ull) >> 20) & mask();
    }
    void place(tx::transaction_id id, call_ptr c) noexcept {
      std::size_t i = home(id);
      while (slots_[i].call) i = (i + 1) & mask();
      slots_[i] = {id, std::move(c)};
    }
    void grow() {
      std::vector<entry> old(slots_.empty() ? 16 : slots_.size() * 2);
      old.swap(slots_);
      for (auto& e : old)
        if (e.call) place(e.id, std::move(e.call));
    }
    std::vector<entry> slots_;
    std::size_t count_ = 0;
  };
  invite_server_table invite_servers_;
  std::function<void(call)> incoming_handler_;

  // What the operation in progress gives the next request its session sends: the
  // continuation, the completion and the retry count; for a UAC's INVITE, the targets.
  // Set just before the session's entry point and taken by the first send_request.
  struct next_request {
    const continuation* then = nullptr;
    status_handler done;
    int attempts = 0;
    std::vector<tx::endpoint> targets;
  };
  next_request next_;
  // The status and reason phrase of the operation in progress (ring, answer, reject),
  // for the state change it causes and the response it sends.
  int status_hint_ = 0;
  std::string_view reason_hint_;
  // Our answer to the offer of the in-dialog request being handled (on_offer), or the
  // status refusing it (488).
  std::string answer_;
  int answer_status_ = 0;
  // That offer changed the session other than by hold: a remote_reoffer event follows
  // its 200 (on_request_received).
  bool reoffer_changed_ = false;
  // The vectors of executed action lists, for the sessions' next lists (no allocation
  // per session entry point).
  session::invite_session::action_storage action_storage_;
  // media_for's copy of the configured media with a listener's address.
  mutable local_media media_cache_;
  mutable bool media_cached_ = false;
  // The initial offers' template, and a text buffer start_invite reuses (its capacity
  // stays, so an INVITE's header values and offer are not each a new string).
  detail::offer_text offer_text_;
  std::string scratch_;

 private:
  void on_state_changed(const call_ptr& c, const session::invite_session::state_changed& s);
  void sync_dialogs(const call_ptr& c);
  void on_timer(const call_ptr& c);
  void send_response(const call_ptr& c, session::invite_session::send_response& r);

  user_agent::impl& ua_;
};

}  // namespace sipkit::ua
