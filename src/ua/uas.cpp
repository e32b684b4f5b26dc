// The UAS half of the calls: incoming INVITEs (RFC 3261 §13.3), ring / answer / reject,
// CANCEL (§9.2), the requests the session passes up inside a call's dialogs (INFO,
// MESSAGE, OPTIONS, re-INVITE §14.2, UPDATE RFC 3311, and the modules' PRACK, REFER,
// NOTIFY) and our answers to the peer's offers (RFC 3264).
#include "options.hpp"
#include "sdp_formats.hpp"
#include "sipkit/sdp/session.hpp"
#include "ua_impl.hpp"

namespace sipkit::ua {

using parser::header_id;
using parser::message;
using S = session::invite_session;

void call_binding::on_new_invite(tx::transaction_id id, const message& req,
                                 const tx::endpoint& source) {
  if (ua_.stopping_ || calls_.size() - awaiting_ack_.size >= ua_.config_.max_calls)
    return ua_.respond(id, ua_.response_to(req, 486, ua_.random_token(10)));
  if (!incoming_handler_) return ua_.respond(id, ua_.response_to(req, 480, ua_.random_token(10)));
  if (auto retry = admit_awaiting_ack()) {
    // RFC 3261 §21.5.4: overloaded for now; the caller may retry after the delay.
    ++calls_refused_awaiting_ack_;
    ua_.peer_log(
        "calls awaiting their ACK are at the limit", log_level::warning,
        "calls awaiting their ACK are at the limit, none past T1: INVITE refused with 503");
    auto busy = ua_.response_to(req, 503, ua_.random_token(10));
    busy.add("Retry-After", std::to_string(retry->count()));
    return ua_.respond(id, std::move(busy));
  }
  if (message refusal; ua_.session_timer_.negotiate_session_timer(nullptr, req, refusal))
    return ua_.respond(id, std::move(refusal));  // 422 (RFC 4028 §8.1)
  auto c = std::make_shared<call_impl>();
  c->ua = &ua_;
  c->outgoing = false;
  c->state = call_state::incoming;
  c->peer = source;
  c->sdp_session_id = random_session_id(ua_.random_);
  c->session.emplace(S::make_uas(req, id, {ua_.random_token(10), ua_.contact_for(source)},
                                 {ua_.config_.transactions.timers, source.reliable()}));
  c->session->use_action_storage(&action_storage_);
  message unused;
  ua_.session_timer_.negotiate_session_timer(c, req, unused);
  calls_.insert(c);
  invite_servers_.emplace(id, c);
  run(c, c->session->start(now()));  // offer_received / offer_needed: answer() uses them
  auto handler = incoming_handler_;
  handler(call(c));
}

std::error_code call_binding::ring(const call_ptr& c, const ring_options& o) {
  if (detail::check_options(o, detail::options_scope::call, {o.reason_phrase}))
    return std::make_error_code(std::errc::invalid_argument);
  if (c->state != call_state::incoming && c->state != call_state::ringing)
    return make_error_code(errc::invalid_state);
  // RFC 3262 §3: one reliable provisional at a time; a further one waits for the PRACK.
  if (ua_.prack_.reliable_pending(*c)) return make_error_code(errc::invalid_state);
  auto options = detail::session_options(o, o.sdp);
  // An 18x goes reliably when the caller supports 100rel (send_response): then its SDP is
  // the answer (RFC 3262 §5) and the session must know.
  options.reliable = o.code > 100 && o.code < 200 &&
                     ua_.prack_.wants_reliable_provisionals(c->session->invite());
  auto actions = c->session->ring(o.code, std::move(options), now());
  if (actions.error) return make_error_code(errc::invalid_state);
  status_hint_ = o.code;
  reason_hint_ = o.reason_phrase;
  run(c, std::move(actions));
  status_hint_ = 0;
  reason_hint_ = {};
  return {};
}

std::error_code call_binding::answer(const call_ptr& c, const answer_options& o) {
  if (detail::check_options(o, detail::options_scope::call, {}))
    return std::make_error_code(std::errc::invalid_argument);
  if (c->state != call_state::incoming && c->state != call_state::ringing)
    return make_error_code(errc::invalid_state);
  c->sdp_version = 1;
  auto ok = detail::session_options(o, o.sdp);  // the application's SDP or body, if any
  using oas = session::offer_answer_state::state;
  const auto& oa = c->session->offer_answer();
  if (!ok.body.empty()) {
    // The application decided: its answer to the offer, or its offer (the ACK answers).
  } else if (oa.current_state() == oas::offer_received) {
    // Straight from the offer's text to the answer's: no owning copy of either.
    const auto a = write_answer(oa.remote_sdp(), media_for(c->peer), c->sdp_session_id, 1,
                                ok.body);
    if (!a || !a->any_accepted) {  // §6 of RFC 3264 / RFC 3261 §13.3.1.3
      (void)reject(c, 488, {});
      return make_error_code(errc::rejected);
    }
  } else if (oa.current_state() == oas::no_offer) {
    const auto& media = media_for(c->peer);
    if (!media.streams.empty()) ok.body = make_offer(media, c->sdp_session_id, 1).serialize();
  } else if (!oa.local_sdp().empty()) {
    // A reliable 18x carried the answer (RFC 3262 §5): the 2xx repeats it unchanged.
    ok.body = oa.local_sdp();
  }
  if (!ok.body.empty() && ok.content_type.empty()) ok.content_type = "application/sdp";
  for (auto& h : ua_.session_timer_.session_timer_answer(*c)) ok.headers.push_back(std::move(h));
  auto actions = c->session->accept(std::move(ok), now());
  if (actions.error) return make_error_code(errc::invalid_state);
  status_hint_ = 200;
  run(c, std::move(actions));
  status_hint_ = 0;
  return {};
}

std::error_code call_binding::reject(const call_ptr& c, int code, std::string_view reason) {
  reject_options o;
  o.code = code;
  o.reason_phrase = std::string(reason);
  return reject(c, o);
}

std::error_code call_binding::reject(const call_ptr& c, const reject_options& o) {
  if (detail::check_options(o, detail::options_scope::call,
                            {o.reason_phrase, o.reason, o.warning}))
    return std::make_error_code(std::errc::invalid_argument);
  if ((c->state != call_state::incoming && c->state != call_state::ringing) || o.code < 300 ||
      o.code > 699)
    return make_error_code(errc::invalid_state);
  auto options = detail::session_options(o);
  if (o.retry_after) options.headers.emplace_back("Retry-After", std::to_string(o.retry_after->count()));
  if (!o.reason.empty()) options.headers.emplace_back("Reason", o.reason);
  if (!o.warning.empty()) options.headers.emplace_back("Warning", o.warning);
  status_hint_ = o.code;
  reason_hint_ = o.reason_phrase;
  auto actions = c->session->reject(o.code, std::move(options), now());
  if (!actions.error) run(c, std::move(actions));
  status_hint_ = 0;
  reason_hint_ = {};
  return actions.error ? make_error_code(errc::invalid_state) : std::error_code{};
}

void call_binding::on_cancel(tx::transaction_id id, const message& req,
                             tx::transaction_id cancels) {
  auto* found = invite_servers_.find(cancels);
  if (!found) return ua_.respond(id, ua_.response_to(req, 481, ua_.random_token(10)));
  const call_ptr c = *found;
  run(c, c->session->on_cancel(id, req, now()));  // §9.2: 200, and 487 to the INVITE
}

void call_binding::respond(const call_ptr& c, tx::transaction_id tx, int status,
                           session::message_options options) {
  run(c, c->session->respond(tx, status, std::move(options), now()));
}

void call_binding::on_request_received(const call_ptr& c, tx::transaction_id tx,
                                       const message& req) {
  // `req` is the session's copy: it goes when we answer, so it is read first.
  switch (req.method()) {
    case parser::method::info:
    case parser::method::message: {
      call_event ev;
      ev.what =
          req.method() == parser::method::info ? call_event::kind::info : call_event::kind::message;
      ev.state = c->state;
      ev.content_type = req.get(header_id::content_type).value_or("");
      ev.body = req.body();
      ev.message = &req;
      emit(*c, ev);
      return respond(c, tx, 200);
    }
    case parser::method::options:
      return respond(c, tx, 200, {.headers = {{"Accept", "application/sdp"}}});
    case parser::method::invite:
    case parser::method::update: {
      // The offer (if any) was answered by on_offer; no offer in an UPDATE: no body.
      const bool offer = !req.body().empty();
      const bool changed = std::exchange(reoffer_changed_, false) && offer;
      if (answer_status_) return respond(c, tx, std::exchange(answer_status_, 0));
      session::message_options ok;
      if (offer || req.method() == parser::method::invite) ok.body = std::move(answer_);
      answer_.clear();
      ok.headers = ua_.session_timer_.on_session_refreshed(c, req);
      if (!changed || !c->events) return respond(c, tx, 200, std::move(ok));
      // The event says the offer was answered, so it follows the 200; `req` goes with
      // the 200, so the event has a copy (only for a re-offer that changed something).
      const message reoffer = req;
      respond(c, tx, 200, std::move(ok));
      call_event ev;
      ev.what = call_event::kind::remote_reoffer;
      ev.state = c->state;
      ev.message = &reoffer;
      return emit(*c, ev);
    }
    case parser::method::prack:
      return ua_.prack_.on_prack(c, tx, req);
    case parser::method::refer:
      return ua_.transfer_.on_refer(c, tx, req);
    case parser::method::notify: {
      // The implicit subscription of our REFER (RFC 3515 §2.4.4); no other package
      // lives in a call's dialog here.
      auto event = req.get(header_id::event).value_or("");
      if (!parser::iequals(event.substr(0, event.find(';')), "refer")) return respond(c, tx, 489);
      return ua_.transfer_.on_refer_notify(c, tx, req);
    }
    default: {
      session::message_options refusal;
      refusal.headers.emplace_back("Allow", ua_.allow_header());
      return respond(c, tx, req.method() == parser::method::unknown ? 501 : 405,
                     std::move(refusal));
    }
  }
}

void call_binding::on_offer(const call_ptr& c, std::string_view body, const message* from) {
  answer_.clear();
  answer_status_ = 0;
  reoffer_changed_ = false;
  const auto& media = media_for(c->peer);
  // One view for the offer, the previous description and the comparisons in turn (17 KiB
  // of stack); it is parsed from `body` again before the offer is read a second time.
  sdp::session_view offer;
  std::optional<answer_summary> a;
  if (!sdp::parse(body, offer)) {
    a = write_answer(offer, media, c->sdp_session_id, c->sdp_version + 1, answer_);
  }
  if (!a || !a->any_accepted) {
    answer_.clear();
    answer_status_ = 488;
    return;
  }
  // §8 of RFC 3264: the version moves only when the description changes. Before the 2xx,
  // a fork's reliable 18x offers in its own early dialog: compare with that dialog's.
  std::string_view fork;
  if (from && from->is_response())
    if (auto to = from->to()) fork = to->tag;
  const std::string& previous = c->session->offer_answer(fork).local_sdp();
  bool same = false;
  if (!sdp::parse(previous, offer)) {
    const std::uint64_t version = offer.origin().session_version;
    detail::sdp_formats::set_answer_version(answer_, media.username, version);
    same = detail::sdp_formats::same_session(answer_, previous, false, offer);
    (void)sdp::parse(body, offer);  // parsed above, so it parses again
  }
  if (!same) detail::sdp_formats::set_answer_version(answer_, media.username, ++c->sdp_version);
  // RFC 3264 §8.4: sendonly/inactive streams (or an RFC 2543 c=0.0.0.0) put us on hold.
  bool hold = !offer.media().empty();
  for (const auto& m : offer.media()) {
    auto dir = offer.direction_of(m);
    const auto own = offer.connections(m);
    const sdp::connection_view* conn = own.empty() ? offer.connection() : &own.front();
    const bool zero_addr = conn && conn->address == "0.0.0.0";
    if (m.port != 0 && dir != sdp::direction::sendonly && dir != sdp::direction::inactive &&
        !zero_addr)
      hold = false;
  }
  if (hold != c->remote_hold) {
    c->remote_hold = hold;
    call_event ev;
    ev.what = hold ? call_event::kind::remote_hold : call_event::kind::remote_resume;
    ev.state = c->state;
    ev.message = from;
    emit(*c, ev);
  } else if (from && from->is_request()) {
    // A re-INVITE / UPDATE that changes nothing but the o= version is a refresh (RFC 4028),
    // not news for the application (RFC 3264 §8: same version, same description).
    reoffer_changed_ = !detail::sdp_formats::same_session(
        c->session->offer_answer().previous_remote_sdp(), body, true, offer);
  }
}

// ------------------------------------------------------------------ the call as a dialog usage

namespace detail {

bool call_impl::on_request(const std::shared_ptr<usage>& self, tx::transaction_id tid,
                           const parser::message& req, const sipkit::dialog::dialog_id_view&) {
  if (!session) return false;
  const call_ptr c = std::static_pointer_cast<call_impl>(self);
  ua->call_binding_.run(c, session->on_request(tid, req, now()));
  return true;
}

void call_impl::on_ack(const std::shared_ptr<usage>& self, const parser::message& request) {
  if (!session) return;
  const call_ptr c = std::static_pointer_cast<call_impl>(self);
  ua->call_binding_.run(c, session->on_ack(request, now()));
  // The IST may have ended (Timer L) before this ACK: then nothing else releases the INVITE.
  if (c->session && !ua->call_binding_.invite_servers_.contains(c->session->invite_transaction()))
    ua->call_binding_.invite_transaction_ended(c);
}

void call_impl::on_stray_2xx(const parser::message& rsp) {
  // A 2xx retransmission after the ICT ended (Timer M): ACKed again (§13.2.2.4).
  if (!session || !ua) return;
  auto* found = ua->call_binding_.calls_.find(this);
  if (!found) return;
  const call_ptr c = *found;
  ua->call_binding_.run(c, session->on_stray_response(rsp, now()));
}

}  // namespace detail

}  // namespace sipkit::ua
