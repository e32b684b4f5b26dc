// The UAS half of the user_agent: incoming calls, CANCEL, requests inside dialogs,
// re-INVITEs and the UAS core's checks (RFC 3261 §8.2, §9.2, §12.2.2, §13.3, §14.2).
#include "sipkit/sdp/session.hpp"
#include "ua_impl.hpp"

namespace sipkit::ua {

using parser::header_id;
using parser::message;
using sipkit::dialog::dialog;

void call_binding::on_new_invite(tx::transaction_id id, const message& req,
                                 const tx::endpoint& source) {
  if (ua_.stopping_ || calls_.size() - awaiting_ack_.size() >= ua_.config_.max_calls)
    return ua_.respond(id, ua_.response_to(req, 486, ua_.random_token(10)));
  if (!incoming_handler_) return ua_.respond(id, ua_.response_to(req, 480, ua_.random_token(10)));
  if (message refusal; ua_.session_timer_.negotiate_session_timer(nullptr, req, refusal))
    return ua_.respond(id, std::move(refusal));  // 422 (RFC 4028 §8.1)
  auto c = std::make_shared<call_impl>();
  c->ua = &ua_;
  c->outgoing = false;
  c->state = call_state::incoming;
  c->invite = req;
  c->invite_tx = id;
  c->peer = source;
  c->local_tag = ua_.random_token(10);
  c->call_id = std::string(req.call_id());
  c->remote_party = std::string(req.get(header_id::from).value_or(""));
  c->remote_sdp = std::string(req.body());
  c->sdp_session_id = random_session_id();
  message unused;
  ua_.session_timer_.negotiate_session_timer(c, req, unused);
  calls_.emplace(c.get(), c);
  invite_servers_.emplace(id, c);
  auto handler = incoming_handler_;
  handler(call(c));
}

namespace {
// A response that creates or refreshes a dialog: our Contact, and every Record-Route of
// the request copied in order (§12.1.1), so the caller learns the same route set.
message dialog_response(const message& request, message rsp, const std::string& contact) {
  for (const auto& f : request.fields())
    if (f.id == header_id::record_route) rsp.add(header_id::record_route, request.value_of(f));
  rsp.add(header_id::contact, contact);
  return rsp;
}
}  // namespace

std::error_code call_binding::ring(const call_ptr& c, int code) {
  if ((c->state != call_state::incoming && c->state != call_state::ringing) || !c->invite ||
      code <= 100 || code >= 200)
    return make_error_code(errc::invalid_state);
  auto rsp = dialog_response(*c->invite, ua_.response_to(*c->invite, code, c->local_tag),
                             ua_.contact_for(c->peer));
  if (!c->dialog_key) {
    if (auto d = dialog::create_uas(*c->invite, rsp)) {
      c->dialog_key = d->id();
      add_call_dialog(c, std::move(*d));
    }
  }
  // RFC 3262 §3: one reliable provisional at a time; a further one waits for the PRACK.
  if (auto ec = ua_.prack_.make_reliable(c, rsp)) return ec;
  ua_.respond(c->invite_tx, std::move(rsp));
  set_state(*c, call_state::ringing, code);
  return {};
}

std::error_code call_binding::answer(const call_ptr& c) {
  if ((c->state != call_state::incoming && c->state != call_state::ringing) || !c->invite)
    return make_error_code(errc::invalid_state);
  auto media = media_for(c->peer);
  c->sdp_version = 1;
  if (!c->remote_sdp.empty()) {
    sdp::session offer;
    std::optional<answer_result> a;
    if (!sdp::parse(c->remote_sdp, offer)) a = make_answer(offer, media, c->sdp_session_id, 1);
    if (!a || !a->any_accepted) {  // §6 of RFC 3264 / RFC 3261 §13.3.1.3
      (void)reject(c, 488, {});
      return make_error_code(errc::rejected);
    }
    c->local_sdp = a->answer.serialize();
  } else if (!media.streams.empty()) {
    c->local_sdp = make_offer(media, c->sdp_session_id, 1).serialize();  // the ACK answers
  }
  auto ok = dialog_response(*c->invite, ua_.response_to(*c->invite, 200, c->local_tag),
                            ua_.contact_for(c->peer));
  if (!c->local_sdp.empty()) ok.set_body(c->local_sdp, "application/sdp");
  ua_.session_timer_.add_session_timer_answer(*c, ok);
  if (auto* d = dialog_of(*c)) {
    d->on_local_final_response(200);
  } else if (auto nd = dialog::create_uas(*c->invite, ok)) {
    c->dialog_key = nd->id();
    add_call_dialog(c, std::move(*nd));
  }
  // The final response ends the reliable provisional's retransmissions (RFC 3262 §3).
  ua_.prack_.stop_provisional_retransmissions(*c);
  c->ok = ok;
  c->ok_tx = c->invite_tx;
  c->retransmitter.emplace(ua_.config_.transactions.timers, tx::clock_type::now(),
                           c->peer.reliable());
  start_awaiting_ack(c);
  ua_.respond(c->invite_tx, std::move(ok));
  c->final_status = 200;
  set_state(*c, call_state::answered, 200);
  arm_retransmit(c);
  return {};
}

std::error_code call_binding::reject(const call_ptr& c, int code, std::string_view reason) {
  if ((c->state != call_state::incoming && c->state != call_state::ringing) || !c->invite ||
      code < 300 || code > 699)
    return make_error_code(errc::invalid_state);
  auto rsp = parser::make_response(*c->invite, code, reason, c->local_tag);
  ua_.add_common_headers(rsp);
  ua_.respond(c->invite_tx, std::move(rsp));
  end_call(c, code, make_error_code(errc::rejected));
  return {};
}

void call_binding::on_cancel(tx::transaction_id id, const message& req,
                             tx::transaction_id cancels) {
  auto it = cancels ? invite_servers_.find(cancels) : invite_servers_.end();
  if (it == invite_servers_.end())
    return ua_.respond(id, ua_.response_to(req, 481, ua_.random_token(10)));
  const call_ptr c = it->second;
  ua_.respond(id, ua_.response_to(req, 200, c->local_tag));  // §9.2: the CANCEL itself
  if (c->state == call_state::incoming || c->state == call_state::ringing) {
    c->cancelled = true;
    auto rsp = parser::make_response(*c->invite, 487, {}, c->local_tag);
    ua_.add_common_headers(rsp);
    ua_.respond(c->invite_tx, std::move(rsp));
    end_call(c, 487, make_error_code(errc::cancelled));
  }
}

void call_binding::on_in_dialog_request(tx::transaction_id id, const message& req,
                                        const call_ptr& c_ref, dialog& d) {
  const call_ptr c = c_ref;
  if (int code = d.on_request(req)) return ua_.respond(id, ua_.response_to(req, code));
  switch (req.method()) {
    case parser::method::bye:
      ua_.respond(id, ua_.response_to(req, 200));
      d.terminate();
      if (c->state == call_state::incoming || c->state == call_state::ringing) {
        // BYE before our final response ends the INVITE with 487 (§15.1.2).
        ua_.respond(c->invite_tx, ua_.response_to(*c->invite, 487, c->local_tag));
      }
      return end_call(c, 0, make_error_code(errc::call_ended));
    case parser::method::info:
    case parser::method::message: {
      call_event ev;
      ev.what =
          req.method() == parser::method::info ? call_event::kind::info : call_event::kind::message;
      ev.state = c->state;
      ev.content_type = req.get(header_id::content_type).value_or("");
      ev.body = req.body();
      emit(*c, ev);
      return ua_.respond(id, ua_.response_to(req, 200));
    }
    case parser::method::options: {
      auto rsp = ua_.response_to(req, 200);
      rsp.add("Accept", "application/sdp");
      return ua_.respond(id, std::move(rsp));
    }
    case parser::method::invite:
      return on_reinvite(id, req, c, d);
    case parser::method::refer:
      return ua_.transfer_.on_refer(id, req, c);
    case parser::method::update:
      return on_update(id, req, c, d);
    case parser::method::prack:
      return ua_.prack_.on_prack(id, req, c);
    case parser::method::notify: {
      // The implicit subscription of our REFER (RFC 3515 §2.4.4); no other package
      // lives in a call's dialog here.
      auto event = req.get(header_id::event).value_or("");
      if (!parser::iequals(event.substr(0, event.find(';')), "refer"))
        return ua_.respond(id, ua_.response_to(req, 489));
      return ua_.transfer_.on_refer_notify(id, req, c);
    }
    default: {
      auto rsp = ua_.response_to(req, req.method() == parser::method::unknown ? 501 : 405);
      rsp.add(header_id::allow, ua_.allow_header());
      return ua_.respond(id, std::move(rsp));
    }
  }
}

void call_binding::on_reinvite(tx::transaction_id id, const message& req, const call_ptr& c,
                               dialog& d) {
  // §14.2: a second offer while ours is outstanding is a 491; one while we wait for the
  // ACK of a previous 2xx is a 500 with Retry-After.
  if (c->ok) {
    return ua_.respond(id, retry_later(req));
  }
  // §14.2: an offer crossing our own pending re-INVITE (glare) is a 491.
  if (c->state != call_state::established || c->reinvite_pending)
    return ua_.respond(id, ua_.response_to(req, 491));
  std::string answer_sdp = c->local_sdp;
  if (!req.body().empty())
    if (int code = answer_offer(c, req.body(), answer_sdp))
      return ua_.respond(id, ua_.response_to(req, code));
  c->local_sdp = answer_sdp;
  auto ok = dialog_response(req, ua_.response_to(req, 200), d.local_contact());
  if (!answer_sdp.empty()) ok.set_body(answer_sdp, "application/sdp");
  ua_.session_timer_.on_session_refreshed(c, req, ok);
  c->ok = ok;
  c->ok_tx = id;
  c->retransmitter.emplace(ua_.config_.transactions.timers, tx::clock_type::now(),
                           c->peer.reliable());
  ua_.respond(id, std::move(ok));
  arm_retransmit(c);
}

int call_binding::answer_offer(const call_ptr& c, std::string_view body, std::string& answer_sdp) {
  auto media = media_for(c->peer);
  sdp::session offer;
  std::optional<answer_result> a;
  if (!sdp::parse(body, offer))
    a = make_answer(offer, media, c->sdp_session_id, c->sdp_version + 1);
  if (!a || !a->any_accepted) return 488;
  // §8 of RFC 3264: the version moves only when the description changes.
  sdp::session previous;
  bool same = false;
  if (!sdp::parse(c->local_sdp, previous)) {
    a->answer.origin.session_version = previous.origin.session_version;
    same = a->answer == previous;
  }
  if (!same) a->answer.origin.session_version = ++c->sdp_version;
  answer_sdp = a->answer.serialize();
  c->remote_sdp = std::string(body);
  // RFC 3264 §8.4: sendonly/inactive streams (or an RFC 2543 c=0.0.0.0) put us on hold.
  bool hold = !offer.media.empty();
  for (const auto& m : offer.media) {
    auto dir = offer.direction_of(m);
    const bool zero_addr =
        (m.connections.empty() ? offer.connection
                               : std::optional<sdp::connection>(m.connections[0]))
            .value_or(sdp::connection{})
            .address == "0.0.0.0";
    if (m.port != 0 && dir != sdp::direction::sendonly && dir != sdp::direction::inactive &&
        !zero_addr)
      hold = false;
  }
  if (hold != c->remote_hold) {
    c->remote_hold = hold;
    call_event ev;
    ev.what = hold ? call_event::kind::remote_hold : call_event::kind::remote_resume;
    ev.state = c->state;
    emit(*c, ev);
  }
  return 0;
}

void call_binding::on_update(tx::transaction_id id, const message& req, const call_ptr& c,
                             dialog& d) {
  // RFC 3311 §5.2: an offer while one of ours is outstanding is a 491; an UPDATE while we
  // wait for the ACK of an INVITE 2xx carrying an offer would cross it (500, Retry-After).
  if (c->reinvite_pending || c->update_pending) return ua_.respond(id, ua_.response_to(req, 491));
  if (!req.body().empty() && c->local_sdp.empty() != c->remote_sdp.empty()) {
    // §5.2: the INVITE's offer/answer is incomplete. Our offer unanswered: 491; the
    // peer's offer not yet answered by us: 500 with Retry-After.
    if (c->remote_sdp.empty()) return ua_.respond(id, ua_.response_to(req, 491));
    return ua_.respond(id, retry_later(req));
  }
  if (c->ok && !req.body().empty()) {
    return ua_.respond(id, retry_later(req));
  }
  std::string answer_sdp = c->local_sdp;
  if (!req.body().empty())
    if (int code = answer_offer(c, req.body(), answer_sdp))
      return ua_.respond(id, ua_.response_to(req, code));
  c->local_sdp = answer_sdp;
  // UPDATE refreshes the target (§5.2), so the 2xx carries our Contact.
  auto ok = dialog_response(req, ua_.response_to(req, 200), d.local_contact());
  if (!req.body().empty() && !answer_sdp.empty()) ok.set_body(answer_sdp, "application/sdp");
  ua_.session_timer_.on_session_refreshed(c, req, ok);
  ua_.respond(id, std::move(ok));
}

// ------------------------------------------------------------------ the call as a dialog usage

namespace detail {

bool call_impl::on_request(const std::shared_ptr<usage>& self, tx::transaction_id tid,
                           const parser::message& req, const sipkit::dialog::dialog_id& id) {
  auto* d = find_dialog(id);
  if (!d) return false;
  ua->call_binding_.on_in_dialog_request(tid, req, std::static_pointer_cast<call_impl>(self), *d);
  return true;
}

void call_impl::on_ack(const std::shared_ptr<usage>& self, const parser::message& request) {
  const call_ptr c = std::static_pointer_cast<call_impl>(self);
  auto cseq = request.cseq();
  if (!c->ok || !cseq || c->ok->cseq()->number != cseq->number) return;
  // Done with the 2xx: its timer goes too (a long call should not keep it); a wait
  // still queued completes with operation_aborted and finds no call state to touch.
  c->timer.reset();
  c->retransmitter.reset();
  c->ok.reset();
  ua->call_binding_.stop_awaiting_ack(*c);
  if (!request.body().empty() && c->remote_sdp.empty()) c->remote_sdp = std::string(request.body());
  if (c->state == call_state::answered) {
    c->invite.reset();
    c->prack_uas.reset();  // RFC 3262 §3: a PRACK after the ACK acknowledges nothing (481)
    ua->call_binding_.set_state(*c, call_state::established, 200);
    ua->session_timer_.arm_session_timer(c);
    auto waiters = std::move(c->connected_waiters);
    c->connected_waiters.clear();
    for (auto& w : waiters) w.complete(std::error_code{});
  }
  if (c->hangup_pending) {
    c->hangup_pending = false;
    ua->call_binding_.send_bye(c);
  }
}

void call_impl::on_stray_2xx(const parser::message& rsp) {
  // A 2xx retransmission after the ICT ended (Timer M): ACK it again (§13.2.2.4).
  if (ack && ack_cseq == rsp.cseq()->number) ua->call_binding_.resend_ack(*this);
}

}  // namespace detail

}  // namespace sipkit::ua
