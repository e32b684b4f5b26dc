// The calls' binding core: executing the actions of a call's session::invite_session,
// the call's dialogs in the usage table, its one Asio timer and the end of a call (the
// pool of calls awaiting their ACK is in awaiting_ack.cpp).
#include <algorithm>

#include "sipkit/session/error.hpp"
#include "options.hpp"
#include "ua_impl.hpp"

namespace sipkit::ua {

call_binding::call_binding(user_agent::impl& ua) : timers_(ua.io_), ua_(ua) {}

using parser::header_id;
using parser::message;
using S = session::invite_session;

namespace {

call_state public_state(S::state s, bool uac) {
  switch (s) {
    case S::state::calling:
    case S::state::cancel_pending:  // §9.1: the CANCEL waits for a provisional
    case S::state::proceeding:
      return call_state::calling;
    case S::state::early:
      return uac ? call_state::early : call_state::ringing;
    case S::state::incoming:
      return call_state::incoming;
    case S::state::accepted:
    case S::state::accepted_bye_pending:
      return call_state::answered;
    case S::state::confirmed:
      return call_state::established;
    case S::state::cancelling:
    case S::state::terminating:
      return call_state::terminating;
    case S::state::terminated:
      break;
  }
  return call_state::terminated;
}

/// The session's reasons for an end, as the call API names them.
std::error_code public_error(std::error_code ec) {
  if (ec.category() != session::session_category()) return ec;
  switch (static_cast<session::error>(ec.value())) {
    case session::error::rejected:
      return make_error_code(errc::rejected);
    case session::error::cancelled:
      return make_error_code(errc::cancelled);
    case session::error::no_ack:
      return make_error_code(errc::no_ack);
    case session::error::session_ended:
      return make_error_code(errc::call_ended);
    default:
      return make_error_code(errc::invalid_state);
  }
}

/// The branch of an ACK for a 2xx: 22 hex digits of two FNV-1a hashes of its Call-ID,
/// tags and CSeq number, unique per ACK transaction and the same each time it is sent.
std::string ack_branch(const message& ack) {
  auto from = ack.from();
  auto to = ack.to();
  auto cseq = ack.cseq();
  const std::string_view parts[] = {ack.call_id(), from ? from->tag : std::string_view{},
                                    to ? to->tag : std::string_view{}};
  std::uint64_t h1 = 1469598103934665603ull, h2 = 0x84222325cbf29ce4ull;
  auto mix = [&](unsigned char ch) {
    h1 = (h1 ^ ch) * 1099511628211ull;
    h2 = (h2 ^ ch) * 0x100000001b3ull + 0x9e3779b97f4a7c15ull;
  };
  for (auto p : parts) {
    for (unsigned char ch : p) mix(ch);
    mix(0);
  }
  for (std::uint32_t n = cseq ? cseq->number : 0, i = 0; i < 4; ++i, n >>= 8) mix(n & 0xff);
  static constexpr char digits[] = "0123456789abcdef";
  std::string out;
  out.reserve(22);
  for (int i = 0; i < 16; ++i, h1 >>= 4) out += digits[h1 & 15];
  for (int i = 0; i < 6; ++i, h2 >>= 4) out += digits[h2 & 15];
  return out;
}

}  // namespace

void call_binding::run(const call_ptr& c, session_actions actions, client_op* op) {
  for (auto& a : actions.items) {
    if (auto* r = std::get_if<S::send_request>(&a)) {
      client_op next;
      next.then = next_.then ? next_.then : &call_then;
      next.done = std::move(next_.done);
      next.attempts = next_.attempts;
      next_.then = nullptr;
      next_.attempts = 0;
      next.call = c;
      start_request(c, *r, std::move(next));
    } else if (auto* cancel = std::get_if<S::cancel_invite>(&a)) {
      // The transaction layer builds the CANCEL (§9.1); the hang-up's headers and the
      // application's on_outgoing hook see it before it goes.
      auto res = ua_.stack_.cancel(c->invite_tx, [&](message& m) {
        detail::add_headers(m, cancel->headers);
        ua_.outgoing(m);
      });
      if (!res) {
        ua_.config_.log.log(log_level::warning, "ua", "CANCEL not sent: " + res.error.message());
        continue;
      }
      ua_.client_ops_.emplace(res.id, client_op{});  // its outcome does not matter (§9.1)
    } else if (auto* rsp = std::get_if<S::send_response>(&a)) {
      send_response(c, *rsp);
    } else if (auto* ack = std::get_if<S::send_ack>(&a)) {
      auto dest = ua_.hop_of(c->peer, c->first_hop_host, "a call", ack->next_hop_uri);
      if (!dest) continue;
      // The ACK of a 2xx is its own transaction (§17.1.1.3) but the same bytes each time
      // it is sent again (§13.2.2.4): its branch derives from the dialog and CSeq.
      ua_.send_stateless_request(ack->ack, *dest, ack_branch(ack->ack));
    } else if (auto* sc = std::get_if<S::state_changed>(&a)) {
      on_state_changed(c, *sc);
    } else if (auto* offer = std::get_if<S::offer_received>(&a)) {
      using carrier = session::offer_answer_state::carrier;
      if (offer->carrier == carrier::reinvite || offer->carrier == carrier::update) {
        on_offer(c, offer->message->body(), offer->message);
      } else if ((offer->carrier == carrier::success ||
                  offer->carrier == carrier::reliable_provisional) &&
                 c->session) {
        // Our INVITE had no offer: the 2xx offers, the ACK answers (§13.2.1), with the
        // application's answer when it gave a way to make one, else from our media.
        // A reliable 1xx that offers is answered alike, in its PRACK (RFC 3262 §5):
        // provisional_received follows and takes answer_.
        std::string mine;
        if (c->extras && c->extras->answer_offer)
          mine = c->extras->answer_offer(offer->message->body());
        if (mine.empty()) on_offer(c, offer->message->body(), offer->message);
        else answer_status_ = 0;
        if (offer->carrier == carrier::reliable_provisional) {
          if (!mine.empty()) answer_ = std::move(mine);
          if (answer_status_) answer_.clear();
          continue;
        }
        run(c, c->session->answer(!mine.empty()     ? std::string_view(mine)
                                  : answer_status_ ? std::string_view{}
                                                   : std::string_view(answer_),
                                  now()));
      }
    } else if (std::holds_alternative<S::offer_needed>(a)) {
      // A re-INVITE without offer: our 2xx offers what we have (§14.2).
      answer_ = c->session ? c->session->offer_answer().local_sdp() : std::string{};
      answer_status_ = 0;
    } else if (auto* pr = std::get_if<S::provisional_received>(&a)) {
      if (ua_.config_.reliable_provisionals)
        ua_.prack_.acknowledge_provisional(c, *pr->response, answer_);
    } else if (auto* in = std::get_if<S::request_received>(&a)) {
      on_request_received(c, in->tx, *in->request);
    } else if (auto* done = std::get_if<S::request_completed>(&a)) {
      if (op && op->session_request == done->id && op->then->on_completed)
        op->then->on_completed(ua_, *op, done->response, done->error);
    } else if (auto* e = std::get_if<S::ended>(&a)) {
      end_call(c, e->status, e->error ? public_error(e->error) : std::error_code{}, e->cause);
    }
  }
  if (c->session) sync_dialogs(c);
  arm_timer(c);
  if (c->session) c->session->use_action_storage(&action_storage_);
  action_storage_.give_back(std::move(actions));
}

void call_binding::send_response(const call_ptr& c, S::send_response& r) {
  auto& rsp = r.response;
  if (!r.retransmission) {
    ua_.add_common_headers(rsp);
    if (!reason_hint_.empty() && rsp.status_code() == status_hint_)
      rsp.set_status(rsp.status_code(), reason_hint_);
    const bool invite_tx = !c->outgoing && c->session && r.tx == c->session->invite_transaction();
    // RFC 3262: an 18x to the INVITE goes reliably when the caller asked for it; the
    // session checked first that no other one awaits its PRACK.
    if (invite_tx && rsp.status_code() > 100 && rsp.status_code() < 200)
      (void)ua_.prack_.make_reliable(c, rsp);
    ua_.respond(r.tx, std::move(rsp));
    return;
  }
  // A 2xx again (§13.3.1.4): the IST in Accepted passes it on (RFC 6026 §7.1); once the
  // IST is gone, statelessly. The same headers as the first time, so the same bytes.
  ua_.add_common_headers(rsp);
  ua_.outgoing(rsp);
  if (ua_.stack_.respond(r.tx, rsp)) (void)ua_.stack_.get().send_stateless(rsp, c->peer);
}

void call_binding::on_state_changed(const call_ptr& c, const S::state_changed& s) {
  if (s.to == S::state::terminated) return;  // `ended` follows
  // The response that caused it, else (UAS ring / answer) the status we sent.
  const bool ours = s.to == S::state::early || s.to == S::state::accepted;
  const int status = s.cause && s.cause->is_response() ? s.cause->status_code()
                     : ours                              ? status_hint_
                                                         : 0;
  const auto& session = *c->session;
  switch (s.to) {
    case S::state::accepted:
      c->final_status = 200;
      ua_.prack_.stop_provisional_retransmissions(*c);  // RFC 3262 §3
      start_awaiting_ack(c);
      break;
    case S::state::confirmed: {
      stop_awaiting_ack(*c);
      if (session.end_error() == session::error::no_ack) {
        // §13.3.1.4: no ACK in 64*T1; the session sends its BYE next.
        ua_.peer_log("no ACK for the 2xx", log_level::warning, "no ACK for the 2xx: sending BYE");
        auto waiters = std::move(c->connected_waiters);
        c->connected_waiters.clear();
        for (auto& w : waiters) w.complete(make_error_code(errc::no_ack));
        return;
      }
      if (c->outgoing) {
        c->final_status = status ? status : 200;
        c->prack_uac.reset();  // PRACK bookkeeping of the early dialogs, done with
        if (s.cause) ua_.session_timer_.on_session_timer_response(c, *s.cause);
      } else {
        c->prack_uas.reset();  // RFC 3262 §3: a PRACK after the ACK acknowledges nothing
      }
      set_state(*c, call_state::established, c->final_status, s.cause);
      ua_.session_timer_.arm_session_timer(c);
      auto waiters = std::move(c->connected_waiters);
      c->connected_waiters.clear();
      for (auto& w : waiters) w.complete(std::error_code{});
      return;
    }
    default:
      break;
  }
  set_state(*c, public_state(s.to, c->outgoing), status, s.cause);
}

void call_binding::invite_transaction_ended(const call_ptr& c) {
  if (!c->session) return;
  auto released = c->session->on_invite_transaction_ended();
  if (!released.method_text().empty()) c->kept_invite = std::move(released);
}

// ------------------------------------------------------------------ dialogs of a call

namespace {
bool list_dialog(user_agent::impl& ua, const call_ptr& c, sipkit::dialog::dialog_id_view id) {
  if (ua.usages_.count(id) || ua.call_dialogs_ >= ua.max_call_dialogs_) return false;
  ua.usages_.emplace(id, c);
  ++ua.call_dialogs_;
  return true;
}
void unlist_dialog(user_agent::impl& ua, sipkit::dialog::dialog_id_view id) {
  if (auto it = ua.usages_.find(id); it != ua.usages_.end()) {
    ua.usages_.erase(it);
    --ua.call_dialogs_;
  }
}
}  // namespace

detail::usage* user_agent::impl::usage_for(const std::optional<sipkit::dialog::dialog_id>& id) {
  if (!id) return nullptr;
  auto it = usages_.find(*id);
  return it == usages_.end() ? nullptr : it->second.get();
}

void call_binding::sync_dialogs(const call_ptr& c) {
  // The usage table follows the session's dialogs: each early dialog of a fork, then the
  // confirmed one alone (§12.1, §13.2.2.4); none once the session is over.
  const auto& s = *c->session;
  const bool over = s.current_state() == S::state::terminated;
  const auto& early = s.early_dialogs();
  const auto* current = early.empty() ? s.current_dialog() : nullptr;
  for (auto it = c->forks.begin(); it != c->forks.end();) {
    const bool still = !over && std::any_of(early.begin(), early.end(), [&](const auto& d) {
                         return d.id() == *it;
                       });
    if (still) {
      ++it;
      continue;
    }
    if (!over && current && current->id() == *it && !c->dialog_listed) {
      c->dialog_listed = true;  // the fork the 2xx picked: its entry stays
    } else {
      unlist_dialog(ua_, it->view());
    }
    it = c->forks.erase(it);
  }
  if (!over) {
    for (const auto& d : early)
      if (std::find(c->forks.begin(), c->forks.end(), d.id()) == c->forks.end() &&
          list_dialog(ua_, c, d.id()))
        c->forks.push_back(d.id());
    if (current && !c->dialog_listed) c->dialog_listed = list_dialog(ua_, c, current->id());
  } else if (c->dialog_listed && s.current_dialog()) {
    unlist_dialog(ua_, s.current_dialog()->id());
    c->dialog_listed = false;
  }
  if (c->forks.empty() && c->forks.capacity()) std::vector<sipkit::dialog::dialog_id>().swap(c->forks);
}

// ------------------------------------------------------------------ the call's timer

void call_binding::arm_timer(const call_ptr& c) {
  std::optional<tx::time_point> when;
  auto earliest = [&](std::optional<tx::time_point> t) {
    if (t && (!when || *t < *when)) when = t;
  };
  if (c->state != call_state::terminated) {
    if (c->session) earliest(c->session->next_deadline());
    if (c->prack_uas) earliest(c->prack_uas->next_deadline());
    if (c->session_timer_module) earliest(c->session_timer_module->next_deadline());
    if (c->transferee) earliest(c->transferee->next_deadline());
    if (c->transferor) earliest(c->transferor->next_deadline());
  }
  if (!when) {
    timers_.clear(*c);  // a long call keeps no deadline
    return;
  }
  timers_.set(c, *when);
  arm_timers();
}

void call_binding::arm_timers() {
  timers_.arm([this](boost::system::error_code ec) {
    // Aborted: re-armed earlier, or the agent is going away (its destructor cancels).
    if (ec) return;
    on_timers_due();
  });
}

void call_binding::on_timers_due() {
  timers_.fired();
  const auto now = tx::clock_type::now();
  // Bounded: a call that sets a deadline already due again is run on the next expiry,
  // not in this loop.
  for (std::size_t left = timers_.size(); left != 0; --left) {
    call_ptr c = timers_.pop_due(now);
    if (!c) break;
    if (c->state != call_state::terminated) on_timer(c);
  }
  arm_timers();
}

void call_binding::on_timer(const call_ptr& c) {
  const auto now = tx::clock_type::now();
  auto due = [&](std::optional<tx::time_point> t) { return t && *t <= now; };
  if (c->session && due(c->session->next_deadline())) run(c, c->session->on_timer(now));
  if (c->prack_uas && due(c->prack_uas->next_deadline())) ua_.prack_.on_timer(c, now);
  if (c->session_timer_module && due(c->session_timer_module->next_deadline()))
    ua_.session_timer_.on_timer(c, now);
  if ((c->transferee && due(c->transferee->next_deadline())) ||
      (c->transferor && due(c->transferor->next_deadline())))
    ua_.transfer_.on_timer(c, now);
  arm_timer(c);
}

// ------------------------------------------------------------------ end of a call

void call_binding::end_call(const call_ptr& call_ref, int status, std::error_code ec,
                            const parser::message* cause) {
  // A copy: `call_ref` may live in a dialog entry or the call table erased below.
  const call_ptr c = call_ref;
  if (c->state == call_state::terminated) return;
  if (status) c->final_status = status;
  c->end_error = ec;
  for (const auto& id : c->forks) unlist_dialog(ua_, id.view());
  std::vector<sipkit::dialog::dialog_id>().swap(c->forks);
  if (c->dialog_listed && c->session && c->session->current_dialog())
    unlist_dialog(ua_, c->session->current_dialog()->id());
  c->dialog_listed = false;
  timers_.clear(*c);
  stop_awaiting_ack(*c);
  if (c->session && !c->outgoing) invite_servers_.erase(c->session->invite_transaction());
  auto waiters = std::move(c->connected_waiters);
  c->connected_waiters.clear();
  for (auto& w : waiters) w.complete(ec ? ec : make_error_code(errc::call_ended));
  set_state(*c, call_state::terminated, status, cause);
  c->hangup_done.complete(std::error_code{});
  c->events = nullptr;  // it may hold a handle to this call: break the cycle
  c->observers.clear();
  calls_.erase(c.get());
}

}  // namespace sipkit::ua
