// invite_session: the call logic of RFC 3261 §13-§15 for both sides (see the header).
//
// ---------------------------------------------------------------------------------------
// Transitions. "->" names the next state; actions in execution order. A state/event pair
// not listed changes nothing (a late or duplicate message is absorbed).
//
// UAC (§13.2)
//   calling        start                      send_request INVITE
//   calling        hang_up                    -> cancel_pending (§9.1: no CANCEL before a 1xx)
//   calling        100                        -> proceeding
//   calling|proceeding  101-199 (To tag)      early dialog per remote tag; -> early
//   cancel_pending 1xx                        cancel_invite; -> cancelling
//   proceeding|early hang_up                  cancel_invite; -> cancelling
//   any UAC state  2xx (new dialog)           confirm it (its early dialog's offer/answer
//                                             state becomes the session's), drop the other
//                                             early dialogs with theirs;
//                                             offer in 2xx: offer_received, answer() ACKs;
//                                             (an exchange the PRACK completed: its SDP
//                                             is a repeat, not an offer, RFC 3262 §5)
//                                             else send_ack; -> confirmed
//   cancel_pending|cancelling 2xx             send_ack, send_request BYE; -> terminating
//                                             (ends with error::cancelled, §9.1)
//   confirmed..terminated 2xx same dialog     send_ack again (retransmitted 2xx, §13.2.2.4)
//   any            2xx other dialog (fork)    send_ack + send_request BYE for that dialog
//                                             (after a hang-up, with its headers)
//   proceeding|early reliable 1xx with SDP    in that fork's early dialog, whose offer/
//                                             answer state is its own (§13.2.1: per dialog,
//                                             a copy of the INVITE's at its first exchange):
//                                             our offer pending: answer_received; no offer
//                                             yet: offer_received, and that fork's PRACK
//                                             (request/send_built) carries the answer
//   calling..early 300-699                    -> terminated, ended{rejected}
//   cancelling     487                        -> terminated, ended{cancelled}
//   calling..cancelling INVITE failed         -> terminated, ended{408/503, the error}
//
// UAS (§13.3)
//   incoming       start                      offer_received (offer in INVITE) | offer_needed
//   incoming|early ring(101-199)              send_response 1xx (first: early dialog); -> early
//   incoming|early accept                     send_response 2xx, arm retransmit_2xx; -> accepted
//   incoming|early reject | hang_up (486)     send_response; -> terminated, ended{rejected}
//   incoming|early CANCEL                     200 to CANCEL, 487 to INVITE; -> terminated,
//                                             ended{cancelled} (§9.2)
//   accepted       ACK                        stop 2xx; -> confirmed
//   accepted       hang_up                    -> accepted_bye_pending (§15: BYE after ACK)
//   accepted_bye_pending ACK                  stop 2xx; send_request BYE; -> terminating
//   accepted*      retransmit_2xx timer       send_response 2xx again (T1, 2T1 .. T2) or,
//                                             at 64*T1: send_request BYE; -> terminating,
//                                             ended later with error::no_ack (§13.3.1.4)
//
// Both (§14, §15, RFC 3311)
//   confirmed      hang_up                    send_request BYE; -> terminating
//   terminating    final response to BYE      -> terminated, ended
//   in dialog      BYE                        200; (UAS before final: 487 to INVITE);
//                                             -> terminated, ended{session_ended}
//   in dialog      request, CSeq too low      500 (§12.2.2)
//   in dialog      481/408/timeout to ours    -> terminated, ended{session_ended} (§12.2.1.2)
//
// re-INVITE sub-state (§14), only in confirmed:
//   idle           reinvite                   send_request INVITE; -> sent
//   sent           2xx                        send_ack (or offer in 2xx: answer() ACKs); idle
//   sent           491                        -> glare_wait, arm glare_retry (if given), else idle
//   glare_wait     glare_retry timer          send_request INVITE again; -> sent (if the
//                                             peer's re-INVITE is still open: wait again)
//   sent           re-INVITE from the peer    491 (glare, §14.2)
//   idle           re-INVITE from the peer    request_received (+ offer_received); -> received
//   received       respond 2xx                send_response, arm retransmit_2xx; -> awaiting_ack
//   received       respond 3xx-6xx            send_response; -> idle
//   received|awaiting_ack  re-INVITE          500 + Retry-After (§14.2)
//   awaiting_ack   ACK                        stop 2xx; -> idle
//
// Offer/answer (RFC 3264 via offer_answer_state): an incoming UPDATE or re-INVITE with an
// offer while our offer is pending gets 491, while the peer's offer awaits our answer
// 500 + Retry-After (RFC 3311 §5.2, §14.2). UAC before the 2xx: each early dialog keeps
// its own state (reliable 1xx, PRACK, UPDATE in that dialog); oa_ is the INVITE's until
// the 2xx's dialog brings its own.
// ---------------------------------------------------------------------------------------
#include "sipkit/session/invite_session.hpp"

#include <algorithm>
#include <stdexcept>

#include "header_values.hpp"
#include "sipkit/parser/uri.hpp"
#include "sipkit/session/error.hpp"
#include "sipkit/transaction/error.hpp"

namespace sipkit::session {

using parser::header_id;
using parser::message;
using carrier = offer_answer_state::carrier;
using header_lines = std::vector<std::pair<std::string, std::string>>;
using st = invite_session::state;
using detail::has_sdp;

namespace {

/// RFC 3262 §7.1: a 1xx sent reliably carries Require: 100rel and an RSeq.
bool is_reliable_provisional(const message& m) {
  if (!m.get("RSeq")) return false;
  for (const auto& f : m.fields()) {
    if (f.id != header_id::require) continue;
    std::string_view v = m.value_of(f);
    std::size_t pos = 0;
    while (pos <= v.size()) {
      auto comma = v.find(',', pos);
      auto item = v.substr(pos, comma == std::string_view::npos ? v.npos : comma - pos);
      while (!item.empty() && (item.front() == ' ' || item.front() == '\t')) item.remove_prefix(1);
      while (!item.empty() && (item.back() == ' ' || item.back() == '\t')) item.remove_suffix(1);
      if (parser::iequals(item, "100rel")) return true;
      if (comma == std::string_view::npos) break;
      pos = comma + 1;
    }
  }
  return false;
}

void apply(message& m, const message_options& o) {
  for (const auto& [name, value] : o.headers) m.add(name, value);
  if (!o.body.empty()) m.set_body(o.body, o.content_type);
}

std::uint32_t cseq_number(const message& m) {
  auto c = m.cseq();
  return c ? c->number : 0;
}

message retry_later(message rsp) {
  rsp.add("Retry-After", "1");  // §14.2 / RFC 3311 §5.2: "between 0 and 10 seconds"
  return rsp;
}

int failure_status(std::error_code ec) {
  return ec == transaction::error::timeout ? 408 : 503;  // §8.1.3.1
}

/// RFC 3262 §5: the offer of a reliable 1xx (our INVITE had none) "MUST" be answered in
/// the PRACK. A PRACK that carries a body while that offer is open is the answer; one
/// without a body refuses the offer (the application had none to give). Any other PRACK
/// leaves offer/answer alone. The error when `oa` does not take the answer.
/// Whether a PRACK in a dialog of this state carries (or, without a body, refuses) the
/// answer to the offer of a reliable 1xx.
bool awaits_prack_answer(const offer_answer_state& oa) noexcept {
  return oa.current_state() == offer_answer_state::state::offer_received &&
         oa.offer_carrier() == carrier::reliable_provisional;
}

/// The PRACK's part of the exchange, for a state awaits_prack_answer() holds for.
std::error_code answer_in_prack(offer_answer_state& oa, const message& prack) {
  if (!has_sdp(prack)) {
    oa.offer_rejected();
    return {};
  }
  return oa.answer_sent(carrier::prack, prack.body());
}

}  // namespace

// ------------------------------------------------------------------------- creation

invite_session invite_session::make_uac(message invite, invite_session_config config) {
  if (!invite.is_request() || invite.method() != parser::method::invite)
    throw std::invalid_argument("invite_session::make_uac: not an INVITE");
  invite_session s;
  s.uac_ = true;
  s.state_ = st::calling;
  s.config_ = config;
  s.ep().invite = std::move(invite);
  return s;
}

invite_session invite_session::make_uas(const message& invite, transaction::transaction_id tx,
                                        uas_options options, invite_session_config config) {
  if (!invite.is_request() || invite.method() != parser::method::invite)
    throw std::invalid_argument("invite_session::make_uas: not an INVITE");
  invite_session s;
  s.uac_ = false;
  s.state_ = st::incoming;
  s.config_ = config;
  s.ep().invite = invite;
  s.invite_tx_ = tx;
  s.ep().uas = std::move(options);
  return s;
}

invite_session::action_list invite_session::new_list() {
  action_list out;
  if (storage_ && !storage_->free.empty()) {
    out.items = std::move(storage_->free.back());
    storage_->free.pop_back();
  }
  return out;
}

void invite_session::action_storage::give_back(action_list&& used) {
  // A few vectors cover the nesting of one turn (an entry point run from another's
  // actions); more would only hold memory.
  if (used.items.capacity() == 0 || free.size() >= 8) return;
  used.items.clear();
  free.push_back(std::move(used.items));
}

invite_session::action_list invite_session::start(time_point) {
  action_list out = new_list();
  if (started_) {
    out.error = error::invalid_state;
    return out;
  }
  started_ = true;
  if (uac_) {
    if (has_sdp(invite())) (void)oa_.offer_sent(carrier::invite, invite().body());
    invite_id_ = send(out, pending_kind::invite, invite(), nullptr);
    return out;
  }
  if (has_sdp(invite())) {
    (void)oa_.offer_received(carrier::invite, invite().body());
    out.items.push_back(offer_received{carrier::invite, &invite()});
  } else {
    out.items.push_back(offer_needed{});
  }
  return out;
}

// -------------------------------------------------------------------------- helpers

request_id invite_session::send(action_list& out, pending_kind kind, message request,
                                const dialog::dialog* d) {
  const request_id id = next_id_++;
  pending_.push_back({id, kind, request});
  out.items.push_back(send_request{id, std::move(request), d ? d->next_hop_uri() : std::string{}});
  return id;
}

invite_session::pending_request* invite_session::find_pending(request_id id) {
  for (auto& p : pending_)
    if (p.id == id) return &p;
  return nullptr;
}

const message* invite_session::sent_request(request_id id) const noexcept {
  for (const auto& p : pending_)
    if (p.id == id) return &p.request;
  return nullptr;
}

void invite_session::forget_pending(request_id id) {
  std::erase_if(pending_, [id](const pending_request& p) { return p.id == id; });
  if (pending_.empty()) pending_.shrink_to_fit();  // a long call keeps no request copies
}

void invite_session::set_state(action_list& out, state to, const message* cause) {
  if (state_ == to) return;
  const state from = state_;
  state_ = to;
  out.items.push_back(state_changed{from, to, cause});
}

void invite_session::end(action_list& out, int status, std::error_code error,
                         const message* cause) {
  if (state_ == st::terminated) return;
  timers_.cancel_all();
  if (ep_) {
    ep_->retransmitter.reset();
    ep_->ok.reset();
    ep_->glare_retry.reset();
  }
  drop_early();
  std::vector<incoming_request>().swap(incoming_);
  reinvite_ = reinvite_state::idle;
  if (dialog_) dialog_->terminate();
  end_status_ = status;
  if (error || !end_error_) end_error_ = error;
  set_state(out, st::terminated, cause);
  out.items.push_back(ended{status, end_error_, cause});
}

void invite_session::send_bye(action_list& out, time_point,
                              std::vector<std::pair<std::string, std::string>> headers) {
  timers_.cancel_all();
  if (ep_) {
    ep_->retransmitter.reset();
    ep_->ok.reset();
    ep_->glare_retry.reset();
  }
  reinvite_ = reinvite_state::idle;
  if (!dialog_) return end(out, 0, end_error_, nullptr);
  if (awaiting_answer_for_ack_) {
    // The 2xx offered and the application never answered: ACK it all the same (§13.2.2.4
    // requires the ACK) before the BYE.
    awaiting_answer_for_ack_ = false;
    oa_.offer_rejected();
    auto ack = dialog_->make_ack(ack_cseq_);
    keep_ack(ack);
    out.items.push_back(send_ack{std::move(ack), dialog_->next_hop_uri(), false});
  }
  auto bye = dialog_->make_request("BYE");
  for (const auto& [name, value] : headers) bye.add(name, value);
  send(out, pending_kind::bye, std::move(bye), &*dialog_);
  set_state(out, st::terminating, nullptr);
}

std::vector<std::pair<std::string, std::string>> invite_session::take_hangup_headers() noexcept {
  if (!ep_) return {};
  // UAC: until the INVITE transaction ends, another fork may still answer; the BYE that
  // ends it carries the hang-up's headers too (ack_and_bye_fork).
  if (uac_ && !invite_released_) return ep_->hangup_headers;
  return std::exchange(ep_->hangup_headers, {});
}

void invite_session::start_2xx(action_list& out, transaction::transaction_id tx, message ok,
                               time_point now) {
  auto& e = ep();
  e.ok = ok;
  e.ok_tx = tx;
  e.retransmitter.emplace(config_.timers, now, config_.reliable_transport);
  out.items.push_back(send_response{tx, std::move(ok), false});
  arm_2xx_timer();
}

void invite_session::arm_2xx_timer() {
  auto at = ep_ && ep_->retransmitter ? ep_->retransmitter->next_deadline() : std::nullopt;
  if (at)
    timers_.arm(timer::retransmit_2xx, *at);
  else
    timers_.cancel(timer::retransmit_2xx);
}

dialog::dialog* invite_session::dialog_for(const message& request) {
  auto from = request.from();
  auto to = request.to();
  if (!from || !to) return nullptr;
  auto fits = [&](const dialog::dialog& d) {
    return d.id().remote_tag == from->tag && d.id().local_tag == to->tag &&
           d.id().call_id == request.call_id();
  };
  if (dialog_ && fits(*dialog_)) return &*dialog_;
  if (ep_)
    for (auto& d : ep_->early)
      if (fits(d)) return &d;
  return nullptr;
}

offer_answer_state& invite_session::oa_of(const dialog::dialog* d) {
  if (!d || !ep_) return oa_;
  for (std::size_t index = 0; index < ep_->early.size(); ++index) {
    if (&ep_->early[index] != d) continue;
    if (offer_answer_state* own = early_oa_of(index)) return *own;
    // Its first exchange: the fork starts from the INVITE's offer (or none), which oa_
    // keeps until a 2xx. Made only now, so a fork that never negotiates costs nothing.
    return ep_->early_oa.emplace_back(index, oa_).second;
  }
  return oa_;  // the confirmed dialog
}

offer_answer_state* invite_session::early_oa_of(std::size_t index) noexcept {
  if (ep_)
    for (auto& [i, oa] : ep_->early_oa)
      if (i == index) return &oa;
  return nullptr;
}

const offer_answer_state* invite_session::early_oa_of(std::size_t index) const noexcept {
  return const_cast<invite_session*>(this)->early_oa_of(index);
}

const offer_answer_state& invite_session::state_of(const dialog::dialog* d) const noexcept {
  if (d && ep_)
    for (std::size_t index = 0; index < ep_->early.size(); ++index)
      if (&ep_->early[index] == d) {
        const offer_answer_state* own = early_oa_of(index);
        return own ? *own : oa_;  // no exchange of its own yet: the INVITE's
      }
  return oa_;
}

void invite_session::drop_early() noexcept {
  if (!ep_) return;
  std::vector<dialog::dialog>().swap(ep_->early);
  std::vector<std::pair<std::size_t, offer_answer_state>>().swap(ep_->early_oa);
}

const offer_answer_state& invite_session::offer_answer() const noexcept {
  if (dialog_) return oa_;
  const offer_answer_state* first = early_oa_of(0);
  return first ? *first : oa_;
}

const offer_answer_state& invite_session::offer_answer(std::string_view remote_tag) const noexcept {
  if (!dialog_ && ep_)
    for (std::size_t i = 0; i < ep_->early.size(); ++i)
      if (ep_->early[i].id().remote_tag == remote_tag) return state_of(&ep_->early[i]);
  return offer_answer();
}

const dialog::dialog* invite_session::current_dialog() const noexcept {
  if (dialog_) return &*dialog_;
  const auto& early = early_dialogs();
  return early.empty() ? nullptr : &early.front();
}

message invite_session::uas_response(const message& request, int status,
                                     const message_options& options, bool with_contact) const {
  // Our tag and Contact: the dialog's once it exists, else those we were made with.
  static const std::string none;
  const std::string_view tag =
      dialog_ ? dialog_->id().local_tag : std::string_view(ep_ ? ep_->uas.local_tag : none);
  auto rsp = parser::make_response(request, status, {}, status > 100 ? tag : "");
  if (with_contact) {
    if (&request == &invite()) {
      // §12.1.1: the dialog-creating response copies the Record-Route of the request.
      for (const auto& f : request.fields())
        if (f.id == header_id::record_route) rsp.add(header_id::record_route, request.value_of(f));
    }
    rsp.add(header_id::contact,
            dialog_ ? dialog_->local_contact() : std::string_view(ep_ ? ep_->uas.contact : none));
  }
  apply(rsp, options);
  return rsp;
}

// ------------------------------------------------------------------------ UAS, answer

invite_session::action_list invite_session::ring(int status, message_options options, time_point) {
  action_list out = new_list();
  if (uac_ || (state_ != st::incoming && state_ != st::early) || status <= 100 || status >= 200) {
    out.error = error::invalid_state;
    return out;
  }
  auto rsp = uas_response(invite(), status, options, true);
  if (options.reliable && !options.body.empty()) {
    // RFC 3262 §5: a reliable 1xx takes part in offer/answer.
    std::error_code ec;
    if (oa_.current_state() == offer_answer_state::state::offer_received)
      ec = oa_.answer_sent(carrier::reliable_provisional, options.body);
    else if (oa_.current_state() == offer_answer_state::state::no_offer)
      ec = oa_.offer_sent(carrier::reliable_provisional, options.body);
    if (ec) {
      out.error = ec;
      return out;
    }
  }
  if (!dialog_) dialog_ = dialog::dialog::create_uas(invite(), rsp);
  out.items.push_back(send_response{invite_tx_, std::move(rsp), false});
  set_state(out, st::early, nullptr);
  return out;
}

invite_session::action_list invite_session::accept(message_options options, time_point now) {
  action_list out = new_list();
  if (uac_ || (state_ != st::incoming && state_ != st::early)) {
    out.error = error::invalid_state;
    return out;
  }
  using oas = offer_answer_state::state;
  const bool body = !options.body.empty();
  // §13.3.1: the 2xx answers an offer in the INVITE unless a reliable 1xx did.
  if (oa_.current_state() == oas::offer_received && !body) {
    out.error = error::invalid_state;
    return out;
  }
  auto ok = uas_response(invite(), 200, options, true);
  if (!dialog_) {
    dialog_ = dialog::dialog::create_uas(invite(), ok);
    if (!dialog_) {
      out.error = error::invalid_message;
      return out;
    }
  }
  dialog_->on_local_final_response(200);
  if (oa_.current_state() == oas::offer_received)  // `ok` has its copy: the state keeps this one
    (void)oa_.answer_sent(carrier::success, std::move(options.body));
  else if (oa_.current_state() == oas::no_offer && body)
    (void)oa_.offer_sent(carrier::success, options.body);  // the ACK answers
  start_2xx(out, invite_tx_, std::move(ok), now);
  set_state(out, st::accepted, nullptr);
  return out;
}

invite_session::action_list invite_session::reject(int status, message_options options,
                                                   time_point) {
  action_list out = new_list();
  if (uac_ || (state_ != st::incoming && state_ != st::early) || status < 300 || status > 699) {
    out.error = error::invalid_state;
    return out;
  }
  out.items.push_back(
      send_response{invite_tx_, uas_response(invite(), status, options, false), false});
  oa_.offer_rejected();
  end(out, status, error::rejected, nullptr);
  return out;
}

invite_session::action_list invite_session::hang_up(time_point now) { return hang_up({}, now); }

invite_session::action_list invite_session::hang_up(message_options options, time_point now) {
  action_list out = new_list();
  switch (state_) {
    case st::calling:
      // §9.1: the CANCEL waits for a provisional; a 2xx instead gets the BYE.
      if (!options.headers.empty()) ep().hangup_headers = std::move(options.headers);
      set_state(out, st::cancel_pending, nullptr);
      break;
    case st::early:
      if (!uac_) return reject(486, std::move(options), now);
      [[fallthrough]];
    case st::proceeding:
      out.items.push_back(cancel_invite{invite_id_, options.headers});
      // A 2xx may still cross the CANCEL: its BYE carries them too.
      if (!options.headers.empty()) ep().hangup_headers = std::move(options.headers);
      set_state(out, st::cancelling, nullptr);
      break;
    case st::incoming:
      return reject(486, std::move(options), now);
    case st::accepted:
      if (!options.headers.empty()) ep().hangup_headers = std::move(options.headers);
      set_state(out, st::accepted_bye_pending, nullptr);
      break;
    case st::confirmed:
      // A fork that answers later is hung up with them too (ack_and_bye_fork).
      if (uac_ && !invite_released_ && !options.headers.empty())
        ep().hangup_headers = options.headers;
      send_bye(out, now, std::move(options.headers));
      break;
    case st::cancel_pending:
    case st::cancelling:
    case st::accepted_bye_pending:
    case st::terminating:
    case st::terminated:
      break;
  }
  return out;
}

invite_session::action_list invite_session::answer(std::string_view sdp, time_point) {
  action_list out = new_list();
  if (!awaiting_answer_for_ack_ || !dialog_) {
    out.error = error::invalid_state;
    return out;
  }
  if (auto ec = oa_.answer_sent(carrier::ack, sdp)) {
    out.error = ec;
    return out;
  }
  awaiting_answer_for_ack_ = false;
  auto ack = dialog_->make_ack(ack_cseq_);
  ack.set_body(sdp, "application/sdp");
  keep_ack(ack);
  out.items.push_back(send_ack{std::move(ack), dialog_->next_hop_uri(), false});
  return out;
}

// ------------------------------------------------------------------ in-dialog requests

invite_session::action_list invite_session::reinvite(reinvite_options options, time_point) {
  action_list out = new_list();
  if (state_ != st::confirmed || !dialog_) {
    out.error = error::invalid_state;
    return out;
  }
  // §14.1: one INVITE transaction at a time in each direction, and no offer over another.
  if ((reinvite_ != reinvite_state::idle && reinvite_ != reinvite_state::glare_wait) || has_ok() ||
      oa_.pending() || awaiting_answer_for_ack_) {
    out.error = error::request_pending;
    return out;
  }
  timers_.cancel(timer::glare_retry);
  auto req = dialog_->make_request("INVITE");
  apply(req, options.message);
  if (has_sdp(req)) (void)oa_.offer_sent(carrier::reinvite, req.body());
  reinvite_ = reinvite_state::sent;
  ep().glare_retry = std::move(options);
  send(out, pending_kind::reinvite, std::move(req), &*dialog_);
  return out;
}

invite_session::action_list invite_session::update(message_options options, time_point) {
  action_list out = new_list();
  dialog::dialog* d = dialog_ ? &*dialog_ : (ep_ && !ep_->early.empty() ? &ep_->early.front() : nullptr);
  const bool in_dialog = state_ == st::early || state_ == st::accepted || state_ == st::confirmed;
  if (!d || !in_dialog) {
    out.error = error::invalid_state;
    return out;
  }
  auto req = d->make_request("UPDATE");
  apply(req, options);
  if (has_sdp(req)) {
    // RFC 3311 §5.1: an offer only once the initial exchange (of this dialog) completed,
    // none pending.
    auto& oa = oa_of(d);
    if (!oa.negotiated() || oa.pending()) {
      out.error = error::request_pending;
      return out;
    }
    (void)oa.offer_sent(carrier::update, req.body());
  }
  send(out, pending_kind::update, std::move(req), d);
  return out;
}

invite_session::action_list invite_session::request(std::string_view method,
                                                    message_options options, time_point,
                                                    std::string_view remote_tag) {
  action_list out = new_list();
  const auto m = parser::lookup_method(method);
  dialog::dialog* d = dialog_ ? &*dialog_ : (ep_ && !ep_->early.empty() ? &ep_->early.front() : nullptr);
  if (!remote_tag.empty()) {
    d = dialog_ && dialog_->id().remote_tag == remote_tag ? &*dialog_ : nullptr;
    if (ep_)
      for (auto& e : ep_->early)
        if (e.id().remote_tag == remote_tag) d = &e;
  }
  const bool in_dialog = state_ == st::early || state_ == st::accepted ||
                         state_ == st::accepted_bye_pending || state_ == st::confirmed;
  if (m == parser::method::invite || m == parser::method::update || m == parser::method::bye ||
      m == parser::method::ack || m == parser::method::cancel || !d || !in_dialog) {
    out.error = error::invalid_state;
    return out;
  }
  auto req = d->make_request(method);
  apply(req, options);
  if (m == parser::method::prack && awaits_prack_answer(state_of(d)))
    out.error = answer_in_prack(oa_of(d), req);
  if (out.error) return out;
  send(out, pending_kind::other, std::move(req), d);
  return out;
}

dialog::dialog* invite_session::dialog_for_module(std::string_view remote_tag) noexcept {
  if (state_ == st::terminated) return nullptr;
  if (remote_tag.empty()) return dialog_ ? &*dialog_ : (ep_ && !ep_->early.empty() ? &ep_->early.front() : nullptr);
  if (dialog_ && dialog_->id().remote_tag == remote_tag) return &*dialog_;
  if (ep_)
    for (auto& e : ep_->early)
      if (e.id().remote_tag == remote_tag) return &e;
  return nullptr;
}

invite_session::action_list invite_session::send_built(message request, time_point) {
  action_list out = new_list();
  const auto m = request.method();
  const bool in_dialog = state_ == st::early || state_ == st::accepted ||
                         state_ == st::accepted_bye_pending || state_ == st::confirmed;
  // The dialog the module built it with: ours are the From tag, theirs the To tag.
  dialog::dialog* d = nullptr;
  auto from = request.from();
  auto to = request.to();
  if (from && to && !to->tag.empty()) {
    d = dialog_for_module(to->tag);
    if (d && d->id().local_tag != from->tag) d = nullptr;
  }
  const bool refresh = m == parser::method::update && request.body().empty();
  if ((!refresh && (m == parser::method::invite || m == parser::method::update)) ||
      m == parser::method::bye || m == parser::method::ack || m == parser::method::cancel || !d ||
      !in_dialog) {
    out.error = error::invalid_state;
    return out;
  }
  if (m == parser::method::prack && awaits_prack_answer(state_of(d)))
    out.error = answer_in_prack(oa_of(d), request);
  if (out.error) return out;
  send(out, pending_kind::other, std::move(request), d);
  return out;
}

invite_session::action_list invite_session::respond(transaction::transaction_id tx, int status,
                                                    message_options options, time_point now) {
  action_list out = new_list();
  auto it = std::find_if(incoming_.begin(), incoming_.end(),
                         [&](const incoming_request& r) { return r.tx == tx; });
  if (it == incoming_.end() || status < 100 || status > 699) {
    out.error = error::invalid_state;
    return out;
  }
  const message& req = it->request;
  const auto method = req.method();
  const bool success = status >= 200 && status < 300;
  const bool has_body = !options.body.empty();
  using oas = offer_answer_state::state;

  if (method == parser::method::invite || method == parser::method::update) {
    auto& oa = oa_of(dialog_for(req));  // an UPDATE in an early dialog: that fork's
    const carrier mine = method == parser::method::invite ? carrier::reinvite : carrier::update;
    const bool offered = oa.current_state() == oas::offer_received && oa.offer_carrier() == mine;
    if (success) {
      if (offered && !has_body) {
        out.error = error::invalid_state;  // the 2xx must carry the answer
        return out;
      }
      if (offered)
        (void)oa.answer_sent(method == parser::method::invite ? carrier::success : carrier::update,
                             options.body);
      else if (method == parser::method::invite && has_body && !oa.pending())
        (void)oa.offer_sent(carrier::success, options.body);  // the ACK answers (§14.2)
    } else if (status >= 300 && offered) {
      oa.offer_rejected();
    }
  }
  // 2xx to a target refresh request (re-INVITE, UPDATE ...) carries our Contact (§12.2.2).
  auto rsp = uas_response(req, status, options, success && dialog::is_target_refresh(method));
  if (status < 200) {
    out.items.push_back(send_response{tx, std::move(rsp), false});
    return out;
  }
  incoming_.erase(it);
  if (incoming_.empty()) incoming_.shrink_to_fit();
  if (method == parser::method::invite) {
    if (success) {
      reinvite_ = reinvite_state::awaiting_ack;
      start_2xx(out, tx, std::move(rsp), now);
    } else {
      reinvite_ = reinvite_state::idle;
      out.items.push_back(send_response{tx, std::move(rsp), false});
    }
    return out;
  }
  out.items.push_back(send_response{tx, std::move(rsp), false});
  return out;
}

invite_session::action_list invite_session::retry(
    request_id id, std::vector<std::pair<std::string, std::string>> set_headers, time_point) {
  action_list out = new_list();
  auto* p = find_pending(id);
  if (!p || p->kind == pending_kind::fork_bye || state_ == st::terminated) {
    out.error = error::invalid_state;
    return out;
  }
  const pending_kind kind = p->kind;
  message req = p->request;
  for (const auto& [name, value] : set_headers) req.set(name, value);
  dialog::dialog* d = nullptr;
  std::uint32_t cseq = 0;
  if (kind == pending_kind::invite) {
    cseq = cseq_number(req) + 1;
  } else {
    auto to = req.to();
    if (dialog_ && to && dialog_->id().remote_tag == to->tag) d = &*dialog_;
    if (ep_)
      for (auto& e : ep_->early)
        if (to && e.id().remote_tag == to->tag) d = &e;
    if (!d) {
      out.error = error::invalid_state;
      return out;
    }
    cseq = d->next_cseq();  // §8.1.3.5: a new request, a new CSeq
  }
  req.set(header_id::cseq, std::to_string(cseq) + " " + std::string(req.method_text()));
  forget_pending(id);
  if (kind == pending_kind::invite) {
    ep().invite = req;  // ACKs and dialogs of this INVITE take its CSeq from here
    invite_id_ = send(out, kind, std::move(req), nullptr);
  } else {
    send(out, kind, std::move(req), d);
  }
  return out;
}

invite_session::action_list invite_session::give_up_ack(time_point now) {
  action_list out = new_list();
  if (!has_ok() || state_ == st::terminated) {
    out.error = error::invalid_state;
    return out;
  }
  end_error_ = error::no_ack;
  if (state_ == st::accepted || state_ == st::accepted_bye_pending)
    set_state(out, st::confirmed, nullptr);
  send_bye(out, now, take_hangup_headers());
  return out;
}

// --------------------------------------------------------------------------- responses

invite_session::action_list invite_session::on_response(request_id id, const message& response,
                                                        time_point now) {
  auto* p = find_pending(id);
  if (!p) {
    auto cseq = response.cseq();
    if (cseq && cseq->method == parser::method::invite && response.status_code() / 100 == 2)
      return on_2xx_to_invite(response, now);
    return {};
  }
  switch (p->kind) {
    case pending_kind::invite:
      return on_invite_response(*p, response, now);
    case pending_kind::reinvite:
      return on_reinvite_response(*p, response, now);
    case pending_kind::bye: {
      action_list out = new_list();
      if (response.status_code() < 200) return out;
      forget_pending(id);
      end(out, response.status_code(), {}, &response);
      return out;
    }
    case pending_kind::fork_bye:
      if (response.status_code() >= 200) forget_pending(id);
      return {};
    case pending_kind::update:
    case pending_kind::other:
      return on_in_dialog_response(*p, response);
  }
  return {};
}

invite_session::action_list invite_session::on_stray_response(const message& response,
                                                              time_point now) {
  auto cseq = response.cseq();
  if (!uac_ || !cseq || cseq->method != parser::method::invite || response.status_code() / 100 != 2)
    return {};
  return on_2xx_to_invite(response, now);
}

invite_session::action_list invite_session::on_invite_response(pending_request& p,
                                                               const message& response,
                                                               time_point now) {
  action_list out = new_list();
  const int code = response.status_code();
  if (code >= 200 && code < 300) return on_2xx_to_invite(response, now);
  if (state_ != st::calling && state_ != st::proceeding && state_ != st::early &&
      state_ != st::cancel_pending && state_ != st::cancelling)
    return out;  // late: the call is already confirmed or over

  if (code < 200) {
    auto rid = dialog::incoming_response_dialog_id_view(response);
    if (code > 100 && rid) {
      const auto& early = early_dialogs();
      auto known = std::any_of(early.begin(), early.end(), [&](const dialog::dialog& d) {
        return d.id().remote_tag == rid->remote_tag;
      });
      if (!known)
        if (auto d = dialog::dialog::create_uac(invite(), response)) {
          ep().early.push_back(std::move(*d));
        }
    }
    if (state_ == st::cancel_pending) {
      // §9.1: the CANCEL waited for this provisional.
      out.items.push_back(cancel_invite{invite_id_, ep_ ? ep_->hangup_headers : header_lines{}});
      set_state(out, st::cancelling, &response);
      return out;
    }
    if (state_ == st::calling || state_ == st::proceeding)
      set_state(out, code > 100 && rid ? st::early : st::proceeding, &response);
    if (code > 100 && has_sdp(response) && is_reliable_provisional(response)) {
      // RFC 3262 §5: a reliable 1xx answers the INVITE's offer, or offers, in its own
      // early dialog (§13.2.1: each fork's exchange is separate; the event's message
      // names the fork by its To tag).
      using oas = offer_answer_state::state;
      auto& oa = rid ? oa_of(dialog_for_module(rid->remote_tag)) : oa_;
      if (oa.current_state() == oas::offer_sent && oa.offer_carrier() == carrier::invite) {
        if (!oa.answer_received(carrier::reliable_provisional, response.body()))
          out.items.push_back(answer_received{carrier::reliable_provisional, &response});
      } else if (oa.current_state() == oas::no_offer) {
        if (!oa.offer_received(carrier::reliable_provisional, response.body()))
          out.items.push_back(offer_received{carrier::reliable_provisional, &response});
      }
    }
    out.items.push_back(provisional_received{&response});
    return out;
  }

  // 300-699: the ICT ACKs it (§17.1.1.3); every early dialog ends (§13.2.2.3).
  forget_pending(p.id);
  drop_early();
  oa_.offer_rejected();
  const bool cancelled = state_ == st::cancelling && code == 487;
  end(out, code, cancelled ? error::cancelled : error::rejected, &response);
  return out;
}

void invite_session::ack_and_bye_fork(action_list& out, const message& response) {
  auto rid = dialog::incoming_response_dialog_id_view(response);
  if (!rid || invite_released_) return;
  for (const auto& [tag, ack] : ep().fork_acks) {
    if (tag == rid->remote_tag) {  // a retransmission of that fork's 2xx: ACK again
      out.items.push_back(send_ack{ack.ack, ack.next_hop_uri, true});
      return;
    }
  }
  auto d = dialog::dialog::create_uac(invite(), response);
  if (!d) return;
  // §13.2.2.4: ACK the 2xx of the other dialog, then end that dialog with a BYE.
  auto ack = d->make_ack(cseq_number(invite()));
  send_ack sa{std::move(ack), d->next_hop_uri(), false};
  ep().fork_acks.emplace_back(rid->remote_tag, sa);
  out.items.push_back(std::move(sa));
  auto bye = d->make_request("BYE");
  for (const auto& [name, value] : ep().hangup_headers) bye.add(name, value);  // we hung up
  send(out, pending_kind::fork_bye, std::move(bye), &*d);
}

invite_session::action_list invite_session::on_2xx_to_invite(const message& response,
                                                             time_point now) {
  action_list out = new_list();
  auto rid = dialog::incoming_response_dialog_id_view(response);
  if (!uac_ || !rid) return out;
  const std::uint32_t cseq = cseq_number(response);
  if (dialog_) {
    if (dialog_->id() == *rid) {
      // §13.2.2.4: a retransmission of a 2xx we ACKed gets the same ACK.
      if (auto again = ack_again(); again && cseq == ack_cseq_)
        out.items.push_back(send_ack{std::move(*again), dialog_->next_hop_uri(), true});
      return out;
    }
    ack_and_bye_fork(out, response);
    return out;
  }
  if (state_ == st::terminated) {
    ack_and_bye_fork(out, response);
    return out;
  }

  // The first 2xx: its dialog is the call's (§13.2.2.4).
  auto& forks = ep().early;
  auto early = std::find_if(forks.begin(), forks.end(), [&](const dialog::dialog& d) {
    return d.id().remote_tag == rid->remote_tag;
  });
  if (early != forks.end()) {
    dialog_ = std::move(*early);
    if (auto* own = early_oa_of(static_cast<std::size_t>(early - forks.begin())))
      oa_ = std::move(*own);
  } else {
    dialog_ = dialog::dialog::create_uac(invite(), response);
    if (!dialog_) return out;  // no Contact: unusable (§12.1.2)
  }
  dialog_->on_response(invite(), response);
  drop_early();
  // The INVITE's copy in pending_ can go: later 2xx (retransmissions, forks) are
  // recognised by their dialog.
  forget_pending(invite_id_);
  ack_cseq_ = cseq_number(invite());

  using oas = offer_answer_state::state;
  const bool hanging_up = state_ == st::cancelling || state_ == st::cancel_pending;
  bool answered = false;  // reported after the ACK: sends come first
  if (has_sdp(response)) {
    if (oa_.current_state() == oas::offer_sent && oa_.offer_carrier() == carrier::invite) {
      answered = !oa_.answer_received(carrier::success, response.body());
    } else if (oa_.current_state() == oas::no_offer && !hanging_up) {
      (void)oa_.offer_received(carrier::success, response.body());
      awaiting_answer_for_ack_ = true;  // answer() sends the ACK with the answer
    }
  }
  if (hanging_up) {
    // §9.1: the 2xx crossed our CANCEL (or came before any provisional): ACK, then BYE.
    auto ack = dialog_->make_ack(ack_cseq_);
    keep_ack(ack);
    out.items.push_back(send_ack{std::move(ack), dialog_->next_hop_uri(), false});
    end_error_ = error::cancelled;
    send_bye(out, now, take_hangup_headers());
    return out;
  }
  if (!awaiting_answer_for_ack_) {
    auto ack = dialog_->make_ack(ack_cseq_);
    keep_ack(ack);
    out.items.push_back(send_ack{std::move(ack), dialog_->next_hop_uri(), false});
  }
  set_state(out, st::confirmed, &response);
  if (answered) out.items.push_back(answer_received{carrier::success, &response});
  if (awaiting_answer_for_ack_) out.items.push_back(offer_received{carrier::success, &response});
  return out;
}

invite_session::action_list invite_session::on_reinvite_response(pending_request& p,
                                                                 const message& response,
                                                                 time_point now) {
  action_list out = new_list();
  const int code = response.status_code();
  if (code < 200) return out;
  const request_id id = p.id;
  const message request = std::move(p.request);
  forget_pending(id);
  if (!dialog_ || state_ == st::terminated) return out;
  dialog_->on_response(request, response);
  using oas = offer_answer_state::state;
  if (code < 300) {
    reinvite_ = reinvite_state::idle;
    if (ep_) ep_->glare_retry.reset();
    ack_cseq_ = cseq_number(request);
    bool answered = false;  // reported after the ACK: sends come first
    if (oa_.current_state() == oas::offer_sent && oa_.offer_carrier() == carrier::reinvite) {
      answered = has_sdp(response) && !oa_.answer_received(carrier::success, response.body());
    } else if (!oa_.pending() && has_sdp(response)) {
      // Our re-INVITE had no offer: the 2xx offers, the ACK answers (§14.1).
      (void)oa_.offer_received(carrier::success, response.body());
      awaiting_answer_for_ack_ = true;
      out.items.push_back(offer_received{carrier::success, &response});
    }
    if (!awaiting_answer_for_ack_) {
      auto ack = dialog_->make_ack(ack_cseq_);
      keep_ack(ack);
      out.items.push_back(send_ack{std::move(ack), dialog_->next_hop_uri(), false});
    }
    if (answered) out.items.push_back(answer_received{carrier::success, &response});
    if (state_ == st::confirmed)
      out.items.push_back(request_completed{id, parser::method::invite, &response, {}});
    return out;
  }
  if (oa_.current_state() == oas::offer_sent && oa_.offer_carrier() == carrier::reinvite)
    oa_.offer_rejected();
  if (code == 491 && has_glare_retry() && ep_->glare_retry->glare_retry &&
      state_ == st::confirmed) {
    // §14.1: glare; try again after the delay the caller chose.
    reinvite_ = reinvite_state::glare_wait;
    timers_.arm(timer::glare_retry, now + *ep_->glare_retry->glare_retry);
  } else {
    reinvite_ = reinvite_state::idle;
    if (ep_) ep_->glare_retry.reset();
  }
  const std::error_code ec = code == 491 ? error::glare : error::rejected;
  if (state_ == st::confirmed)
    out.items.push_back(request_completed{id, parser::method::invite, &response, ec});
  if (dialog_->state() == dialog::dialog_state::terminated && state_ != st::terminating)
    end(out, code, error::session_ended, &response);  // 481/408 (§12.2.1.2)
  return out;
}

invite_session::action_list invite_session::on_in_dialog_response(pending_request& p,
                                                                  const message& response) {
  action_list out = new_list();
  const int code = response.status_code();
  if (code < 200) return out;
  const request_id id = p.id;
  const message request = std::move(p.request);
  const auto method = request.method();
  forget_pending(id);
  if (state_ == st::terminated) return out;
  auto rid = dialog::incoming_response_dialog_id_view(response);
  dialog::dialog* d = nullptr;
  if (dialog_) d = &*dialog_;
  if (ep_)
    for (auto& e : ep_->early)
      if (rid && e.id() == *rid) d = &e;
  // RFC 5057 §5.1: a failed PRACK concerns that transaction only, not the dialog.
  if (d && method != parser::method::prack) d->on_response(request, response);
  using oas = offer_answer_state::state;
  const auto& seen = state_of(d);
  const bool our_update_offer = method == parser::method::update &&
                                seen.current_state() == oas::offer_sent &&
                                seen.offer_carrier() == carrier::update;
  if (our_update_offer && code < 300 && has_sdp(response)) {
    if (!oa_of(d).answer_received(carrier::update, response.body()))
      out.items.push_back(answer_received{carrier::update, &response});
  } else if (our_update_offer && code >= 300) {
    oa_of(d).offer_rejected();
  }
  std::error_code ec;
  if (code >= 300) ec = code == 491 ? error::glare : error::rejected;
  out.items.push_back(request_completed{id, method, &response, ec});
  if (d && d->state() == dialog::dialog_state::terminated && state_ != st::terminating)
    end(out, code, error::session_ended, &response);  // 481/408 (§12.2.1.2)
  return out;
}

invite_session::action_list invite_session::on_request_failed(request_id id, std::error_code ec,
                                                              time_point) {
  action_list out = new_list();
  auto* p = find_pending(id);
  if (!p) return out;
  const pending_kind kind = p->kind;
  const auto method = p->request.method();
  forget_pending(id);
  switch (kind) {
    case pending_kind::invite:
      if (state_ == st::calling || state_ == st::proceeding || state_ == st::early ||
          state_ == st::cancel_pending || state_ == st::cancelling)
        end(out, failure_status(ec), ec, nullptr);
      break;
    case pending_kind::fork_bye:
      break;
    case pending_kind::bye:
      end(out, failure_status(ec), ec, nullptr);
      break;
    case pending_kind::reinvite:
    case pending_kind::update:
    case pending_kind::other:
      if (kind == pending_kind::reinvite) reinvite_ = reinvite_state::idle;
      if (oa_.current_state() == offer_answer_state::state::offer_sent &&
          (oa_.offer_carrier() == carrier::reinvite || oa_.offer_carrier() == carrier::update))
        oa_.offer_rejected();
      out.items.push_back(request_completed{id, method, nullptr, ec});
      // §12.2.1.2: no response at all ends the dialog like a 408 (a PRACK excepted).
      if (method != parser::method::prack && state_ != st::terminating)
        end(out, failure_status(ec), ec, nullptr);
      break;
  }
  return out;
}

// ------------------------------------------------------------------- incoming requests

invite_session::action_list invite_session::on_request(transaction::transaction_id tx,
                                                       const message& request, time_point) {
  action_list out = new_list();
  dialog::dialog* d = state_ == st::terminated ? nullptr : dialog_for(request);
  if (!d) {
    out.items.push_back(send_response{tx, parser::make_response(request, 481), false});
    return out;
  }
  // §12.2.2: a CSeq lower than the last one is a 500.
  if (int code = d->on_request(request)) {
    out.items.push_back(send_response{tx, parser::make_response(request, code), false});
    return out;
  }
  switch (request.method()) {
    case parser::method::bye:
      out.items.push_back(send_response{tx, parser::make_response(request, 200), false});
      if (!uac_ && (state_ == st::incoming || state_ == st::early)) {
        // §15.1.2: a BYE before our final response ends the INVITE with 487.
        out.items.push_back(
            send_response{invite_tx_, uas_response(invite(), 487, {}, false), false});
      }
      d->terminate();
      end(out, 0, error::session_ended, &request);
      return out;
    case parser::method::invite:
      on_incoming_reinvite(out, tx, request);
      return out;
    case parser::method::update:
      on_incoming_update(out, tx, request);
      return out;
    default:
      incoming_.push_back({tx, request});
      if (request.method() == parser::method::prack && has_sdp(request) &&
          oa_.current_state() == offer_answer_state::state::offer_sent &&
          oa_.offer_carrier() == carrier::reliable_provisional &&
          !oa_.answer_received(carrier::prack, request.body()))  // RFC 3262 §5
        out.items.push_back(answer_received{carrier::prack, &incoming_.back().request});
      out.items.push_back(request_received{tx, &incoming_.back().request});
      return out;
  }
}

void invite_session::on_incoming_reinvite(action_list& out, transaction::transaction_id tx,
                                          const message& request) {
  // §14.2: an INVITE while ours is pending is glare (491); one while the peer's previous
  // INVITE is not finished (our final response or its ACK outstanding) is a 500 with
  // Retry-After; an offer over an open exchange follows offer_answer_state.
  int refuse = 0;
  if (state_ != st::confirmed || has_ok() || reinvite_ == reinvite_state::received ||
      reinvite_ == reinvite_state::awaiting_ack)
    refuse = 500;
  else if (reinvite_ == reinvite_state::sent)
    refuse = 491;
  else if (oa_.pending() || awaiting_answer_for_ack_)
    refuse = awaiting_answer_for_ack_ ? 500 : oa_.check_incoming_offer();
  if (refuse == 500) {
    out.items.push_back(send_response{tx, retry_later(parser::make_response(request, 500)), false});
    return;
  }
  if (refuse) {
    out.items.push_back(send_response{tx, parser::make_response(request, refuse), false});
    return;
  }
  incoming_.push_back({tx, request});
  const message* kept = &incoming_.back().request;
  reinvite_ = reinvite_state::received;
  if (has_sdp(request)) {
    (void)oa_.offer_received(carrier::reinvite, request.body());
    out.items.push_back(offer_received{carrier::reinvite, kept});
  } else {
    out.items.push_back(offer_needed{});  // our 2xx offers, the ACK answers (§14.2)
  }
  out.items.push_back(request_received{tx, kept});
}

void invite_session::on_incoming_update(action_list& out, transaction::transaction_id tx,
                                        const message& request) {
  auto& oa = oa_of(dialog_for(request));  // in an early dialog: that fork's exchange
  if (has_sdp(request)) {
    // RFC 3311 §5.2: 491 over our pending offer, 500 + Retry-After over the peer's.
    int refuse = oa.check_incoming_offer();
    if (!refuse && awaiting_answer_for_ack_) refuse = 500;
    if (refuse == 500) {
      out.items.push_back(
          send_response{tx, retry_later(parser::make_response(request, 500)), false});
      return;
    }
    if (refuse) {
      out.items.push_back(send_response{tx, parser::make_response(request, refuse), false});
      return;
    }
  }
  incoming_.push_back({tx, request});
  const message* kept = &incoming_.back().request;
  if (has_sdp(request)) {
    (void)oa.offer_received(carrier::update, request.body());
    out.items.push_back(offer_received{carrier::update, kept});
  }
  out.items.push_back(request_received{tx, kept});
}

invite_session::action_list invite_session::on_cancel(transaction::transaction_id tx,
                                                      const message& cancel, time_point) {
  action_list out = new_list();
  // §9.2: the CANCEL itself always gets 200 when it matched our INVITE.
  out.items.push_back(send_response{tx, uas_response(cancel, 200, {}, false), false});
  if (uac_ || (state_ != st::incoming && state_ != st::early)) return out;
  out.items.push_back(send_response{invite_tx_, uas_response(invite(), 487, {}, false), false});
  if (dialog_) dialog_->on_local_final_response(487);
  oa_.offer_rejected();
  end(out, 487, error::cancelled, &cancel);
  return out;
}

invite_session::action_list invite_session::on_ack(const message& ack, time_point now) {
  action_list out = new_list();
  if (!has_ok() || cseq_number(ack) != cseq_number(*ep_->ok)) return out;  // absorbed (§17.2.3)
  ep_->retransmitter.reset();
  ep_->ok.reset();
  timers_.cancel(timer::retransmit_2xx);
  using oas = offer_answer_state::state;
  if (oa_.current_state() == oas::offer_sent && oa_.offer_carrier() == carrier::success &&
      has_sdp(ack)) {
    if (!oa_.answer_received(carrier::ack, ack.body()))
      out.items.push_back(answer_received{carrier::ack, &ack});
  }
  if (reinvite_ == reinvite_state::awaiting_ack) reinvite_ = reinvite_state::idle;
  release_episode();
  if (state_ == st::accepted) {
    set_state(out, st::confirmed, &ack);
  } else if (state_ == st::accepted_bye_pending) {
    set_state(out, st::confirmed, &ack);
    send_bye(out, now, take_hangup_headers());  // §15: the hang-up waited for the ACK
  }
  return out;
}

message invite_session::on_invite_transaction_ended() noexcept {
  if (state_ != st::confirmed && state_ != st::terminating && state_ != st::terminated) return {};
  if (!uac_ && has_ok() && cseq_number(*ep_->ok) == cseq_number(invite())) return {};  // ACK due
  invite_released_ = true;
  if (uac_) forget_pending(invite_id_);
  message released;
  if (ep_) {
    released = std::move(ep_->invite);
    ep_->invite = message{};
    std::vector<std::pair<std::string, send_ack>>().swap(ep_->fork_acks);
    if (uac_) header_lines().swap(ep_->hangup_headers);  // no fork can answer now
  }
  release_episode();
  return released;
}

invite_session::episode& invite_session::ep() {
  if (!ep_) ep_ = std::make_unique<episode>();
  return *ep_;
}

void invite_session::keep_ack(const message& ack) {
  // An ACK without body is the dialog's make_ack again, byte for byte: it is rebuilt for
  // each retransmitted 2xx instead of kept (an established call stays small). One that
  // carries our answer (§13.2.2.4) is kept.
  if (!ack.body().empty())
    ep().ack = ack;
  else if (ep_)
    ep_->ack.reset();
}

std::optional<message> invite_session::ack_again() const {
  if (ep_ && ep_->ack) return ep_->ack;
  if (!dialog_ || ack_cseq_ == 0 || awaiting_answer_for_ack_) return std::nullopt;
  return dialog_->make_ack(ack_cseq_);
}

void invite_session::release_episode() noexcept {
  // Once the INVITE is released, nothing of the setup is needed; a re-INVITE's 2xx (UAS)
  // or ACK (UAC) and a glare retry keep it until they are done.
  if (!ep_ || !invite_released_ || ep_->ok || ep_->ack || ep_->glare_retry ||
      !ep_->early.empty() || !ep_->fork_acks.empty() || !ep_->hangup_headers.empty())
    return;
  ep_.reset();
}

const message& invite_session::invite() const noexcept {
  static const message none;
  return ep_ ? ep_->invite : none;
}

const std::vector<dialog::dialog>& invite_session::early_dialogs() const noexcept {
  static const std::vector<dialog::dialog> none;
  return ep_ ? ep_->early : none;
}

// ------------------------------------------------------------------------------ timers

invite_session::action_list invite_session::on_timer(time_point now) {
  action_list out = new_list();
  while (auto t = timers_.pop_due(now)) {
    switch (*t) {
      case timer::retransmit_2xx: {
        if (!has_ok() || !ep_->retransmitter) break;
        switch (ep_->retransmitter->on_timer(now)) {
          case dialog::retransmit_step::wait:
            break;
          case dialog::retransmit_step::retransmit:
            out.items.push_back(send_response{ep_->ok_tx, *ep_->ok, true});
            break;
          case dialog::retransmit_step::give_up:
            // §13.3.1.4: no ACK within 64*T1: confirm and end the session with a BYE.
            end_error_ = error::no_ack;
            if (state_ == st::accepted || state_ == st::accepted_bye_pending)
              set_state(out, st::confirmed, nullptr);
            send_bye(out, now, take_hangup_headers());
            break;
        }
        arm_2xx_timer();
        break;
      }
      case timer::glare_retry: {
        // The peer's re-INVITE may have gone through meanwhile (our 491 made it idle on
        // our side); ours goes now, or, while the peer's is still open, after another delay.
        if (!has_glare_retry() || !ep_->glare_retry->glare_retry) break;
        if (reinvite_ == reinvite_state::glare_wait) reinvite_ = reinvite_state::idle;
        auto options = *ep_->glare_retry;
        auto again = reinvite(std::move(options), now);
        if (again.error == error::request_pending && state_ == st::confirmed) {
          timers_.arm(timer::glare_retry, now + *ep_->glare_retry->glare_retry);
        } else if (again.error) {
          if (ep_) ep_->glare_retry.reset();
        }
        for (auto& a : again.items) out.items.push_back(std::move(a));
        break;
      }
      case timer::count:
        break;
    }
  }
  return out;
}

// ------------------------------------------------------------------------------ names

std::string_view to_string(invite_session::state s) noexcept {
  switch (s) {
    case st::calling:
      return "calling";
    case st::cancel_pending:
      return "cancel pending";
    case st::proceeding:
      return "proceeding";
    case st::early:
      return "early";
    case st::cancelling:
      return "cancelling";
    case st::incoming:
      return "incoming";
    case st::accepted:
      return "accepted";
    case st::accepted_bye_pending:
      return "accepted, BYE pending";
    case st::confirmed:
      return "confirmed";
    case st::terminating:
      return "terminating";
    case st::terminated:
      return "terminated";
  }
  return "?";
}

std::string_view to_string(invite_session::reinvite_state s) noexcept {
  using rs = invite_session::reinvite_state;
  switch (s) {
    case rs::idle:
      return "idle";
    case rs::sent:
      return "re-INVITE sent";
    case rs::glare_wait:
      return "glare wait";
    case rs::received:
      return "re-INVITE received";
    case rs::awaiting_ack:
      return "awaiting ACK";
  }
  return "?";
}

std::string_view to_string(invite_session::timer t) noexcept {
  switch (t) {
    case invite_session::timer::retransmit_2xx:
      return "2xx retransmit";
    case invite_session::timer::glare_retry:
      return "glare retry";
    case invite_session::timer::count:
      break;
  }
  return "?";
}

}  // namespace sipkit::session
