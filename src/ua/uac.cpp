// The UAC half of the user_agent: outgoing calls, ACK, CANCEL, BYE, requests in and out
// of dialogs (RFC 3261 §8.1, §9.1, §13.2, §15).
#include <boost/asio/post.hpp>

#include "header_values.hpp"
#include "sipkit/parser/uri.hpp"
#include "sipkit/sdp/session.hpp"
#include "ua_impl.hpp"

namespace sipkit::ua {

using parser::header_id;
using parser::message;
using sipkit::dialog::dialog;

const continuation invite_then{
    .on_response = [](impl& ua, client_op& op, tx::transaction_id id,
                      const message& rsp) { ua.call_binding_.on_invite_response(op, id, rsp); },
    .on_failure =
        [](impl& ua, client_op& op, tx::transaction_id, std::error_code ec) {
          if (op.call && op.call->state != call_state::established)
            ua.call_binding_.end_call(op.call, detail::failure_status(ec), ec);
        },
    // The INVITE transaction is over (no more forked 2xx): the request can go.
    .on_terminated =
        [](impl&, client_op& op, tx::transaction_id id) {
          if (op.call && op.call->invite_tx == id && op.call->state == call_state::established)
            op.call->invite.reset();
        },
    .answers_challenges = true,
    .ends_call_if_unsent = true,
    .initial_invite = true,
};

call call_binding::make_call(std::string_view target) {
  auto c = std::make_shared<call_impl>();
  c->ua = &ua_;
  c->outgoing = true;
  c->state = call_state::calling;
  c->remote_party = bracket(target);
  call handle(c);
  calls_.emplace(c.get(), c);

  auto fail = [&](errc why, std::string_view text) {
    ua_.config_.log.log(log_level::warning, "ua", std::string(text) + ": " + std::string(target));
    // Posted, so the caller can attach handlers to the handle first.
    boost::asio::post(ua_.io_, [this, alive = std::weak_ptr<int>(ua_.lifetime_), c, why] {
      if (!alive.expired()) end_call(c, 0, make_error_code(why));
    });
    return handle;
  };
  if (ua_.stopping_) return fail(errc::invalid_state, "agent stopping, call refused");
  if (calls_.size() > ua_.config_.max_calls) return fail(errc::too_many_calls, "too many calls");
  parser::uri_view uri;
  if (parser::parse_uri(target, uri) || !uri.is_sip()) return fail(errc::bad_target, "cannot call");
  const std::string_view first_hop =
      ua_.config_.outbound_proxy.empty() ? target : std::string_view(ua_.config_.outbound_proxy);
  ua_.locate(first_hop, [this, c, t = std::string(target)](std::error_code ec,
                                                           std::vector<tx::endpoint> targets) {
    if (c->state == call_state::terminated) return;
    if (c->cancel_requested) return end_call(c, 0, make_error_code(errc::cancelled));
    if (ec || targets.empty()) {
      ua_.config_.log.log(log_level::warning, "ua", "cannot ua_.locate " + t + ": " + ec.message());
      return end_call(c, 0, ec ? ec : make_error_code(errc::bad_target));
    }
    send_invite(c, t, std::move(targets));
  });
  return handle;
}

void call_binding::send_invite(const call_ptr& c, const std::string& target,
                               std::vector<tx::endpoint> targets) {
  const tx::endpoint& dest = targets.front();
  const std::string local = ua_.sent_by(dest);
  if (local.empty()) {
    ua_.config_.log.log(log_level::warning, "ua", "no listener for the transport of " + target);
    return end_call(c, 0, make_error_code(errc::bad_target));
  }
  c->peer = dest;
  if (parser::uri_view hop; !parser::parse_uri(ua_.config_.outbound_proxy.empty()
                                                   ? std::string_view(target)
                                                   : std::string_view(ua_.config_.outbound_proxy),
                                               hop))
    c->first_hop_host = std::string(hop.host);
  c->local_tag = ua_.random_token(10);
  c->call_id = ua_.random_token(20) + "@" + local;

  auto inv = message::request("INVITE", target);
  if (!ua_.config_.outbound_proxy.empty()) {
    std::string route = bracket(ua_.config_.outbound_proxy);
    route.insert(route.size() - 1, ";lr");  // §16.12: a loose router, pre-loaded
    inv.add(header_id::route, route);
  }
  inv.add(header_id::max_forwards, "70");
  std::string from;
  if (!ua_.config_.display_name.empty()) from += "\"" + ua_.config_.display_name + "\" ";
  from += "<sip:" + ua_.config_.user + "@";
  from += ua_.config_.domain.empty() ? local : ua_.config_.domain;
  from += ">;tag=" + c->local_tag;
  inv.add(header_id::from, from);
  inv.add(header_id::to, c->remote_party);
  inv.add(header_id::call_id, c->call_id);
  inv.add(header_id::cseq, "1 INVITE");
  inv.add(header_id::contact, ua_.contact_for(dest));
  ua_.session_timer_.add_session_timer_offer(c, inv);
  if (ua_.config_.reliable_provisionals) inv.add(header_id::supported, "100rel");
  c->sdp_session_id = random_session_id();
  c->sdp_version = 1;
  if (!ua_.config_.media.streams.empty()) {
    c->local_sdp = make_offer(media_for(dest), c->sdp_session_id, c->sdp_version).serialize();
    inv.set_body(c->local_sdp, "application/sdp");
  }
  c->invite = inv;
  client_op op;
  op.then = &invite_then;
  op.call = c;
  op.request = inv;
  c->invite_tx = ua_.start(std::move(inv), std::move(targets), std::move(op));
}

void call_binding::send_ack(const call_ptr& c, dialog& d, std::uint32_t cseq,
                            std::string_view body) {
  auto ack = d.make_ack(cseq);
  if (!body.empty()) ack.set_body(body, "application/sdp");
  auto dest = ua_.hop_of(*c, d);
  if (!dest) {
    ua_.peer_log("cannot route an ACK", log_level::warning,
                 "cannot route the ACK of call " + c->call_id);
    return;
  }
  ua_.send_stateless_request(ack, *dest);
  c->ack = std::move(ack);
  c->ack_cseq = cseq;
  c->ack_destination = *dest;
}

void call_binding::resend_ack(call_impl& c) {
  if (c.ack) (void)ua_.stack_.get().send_stateless(*c.ack, c.ack_destination);
}

void call_binding::on_invite_response(client_op& op, tx::transaction_id id, const message& rsp) {
  const call_ptr c = op.call;
  const int code = rsp.status_code();
  auto rid = sipkit::dialog::incoming_response_dialog_id(rsp);

  if (code < 200) {
    // Any provisional, 100 included, allows the CANCEL (§9.1).
    c->provisional_seen = true;
    if (code == 100) {
      if (c->cancel_requested) send_cancel(c);
      return;
    }
    if (rid && c->invite && !c->find_dialog(*rid)) {
      if (auto d = dialog::create_uac(*c->invite, rsp)) add_call_dialog(c, std::move(*d));
      if (!c->dialog_key) c->dialog_key = rid;
    }
    if (ua_.config_.reliable_provisionals) ua_.prack_.acknowledge_provisional(c, rsp);
    if (c->cancel_requested) return send_cancel(c);
    if (c->state == call_state::calling) set_state(*c, call_state::early, code);
    return;
  }

  if (code < 300) {
    if (!rid) return;
    auto* e = c->find_dialog(*rid);
    if (c->state == call_state::established || c->state == call_state::terminating ||
        c->state == call_state::terminated) {
      if (e && c->dialog_key == rid) {
        // A retransmission of the 2xx we acknowledged: the same ACK again (§13.2.2.4).
        resend_ack(*c);
        return;
      }
      // A 2xx from another fork (§13.2.2.4): acknowledge it, then end that dialog.
      if (!c->invite) return;
      auto d = dialog::create_uac(*c->invite, rsp);
      if (!d) return;
      auto ack = d->make_ack(rsp.cseq() ? rsp.cseq()->number : 1);
      if (auto dest = ua_.hop_of(*c, *d)) {
        ua_.send_stateless_request(ack, *dest);
        auto bye = d->make_request("BYE");
        client_op bye_op;
        bye_op.then = &ignore_then;
        ua_.start(std::move(bye), {*dest}, std::move(bye_op));
      }
      return;
    }
    if (!e) {
      if (!c->invite) return;
      auto d = dialog::create_uac(*c->invite, rsp);
      if (!d) {
        ua_.peer_log("2xx without Contact/To tag", log_level::warning,
                     "2xx without a usable Contact/To tag dropped");
        return;
      }
      e = add_call_dialog(c, std::move(*d));
      if (!e) return;
    }
    e->on_response(*c->invite, rsp);
    // The other early dialogs of this INVITE will not be confirmed by this 2xx.
    drop_call_dialogs(*c, &*rid);
    c->dialog_key = rid;
    c->final_status = code;
    c->remote_party = e->remote_uri();
    c->remote_sdp = std::string(rsp.body());
    c->prack_uac.reset();  // PRACK bookkeeping of the early dialogs, done with
    send_ack(c, *e, c->invite->cseq() ? c->invite->cseq()->number : 1);
    // c->invite stays until the INVITE transaction ends (Timer M): a 2xx from another
    // fork needs it to build that dialog's ACK and BYE (§13.2.2.4).
    (void)id;
    set_state(*c, call_state::established, code);
    ua_.session_timer_.on_session_timer_response(c, rsp);
    auto waiters = std::move(c->connected_waiters);
    c->connected_waiters.clear();
    for (auto& w : waiters) w.complete(std::error_code{});
    if (c->cancel_requested || c->cancelled) send_bye(c);  // CANCEL lost the race (§9.1)
    return;
  }

  // 300-699: the ICT has sent the ACK (§17.1.1.3); every early dialog ends (§12.3).
  if (c->state == call_state::established) return;
  if (code == 422 && c->invite && op.attempts < 2 && !c->cancelled) {
    // RFC 4028 §7.4: ask again with at least the Min-SE the UAS wants.
    message retry = *c->invite;
    if (ua_.session_timer_.retry_session_timer(c, rsp, retry)) {
      const std::uint32_t cseq = retry.cseq() ? retry.cseq()->number + 1 : 2;
      retry.set(header_id::cseq, std::to_string(cseq) + " INVITE");
      client_op next;
      next.then = &invite_then;
      next.call = c;
      next.request = retry;
      next.attempts = op.attempts + 1;
      c->invite = retry;
      op = client_op{};  // the old transaction has no more to say
      c->invite_tx = ua_.start(std::move(retry), {c->peer}, std::move(next));
      return;
    }
  }
  const bool cancelled = c->cancelled && code == 487;
  end_call(c, code, make_error_code(cancelled ? errc::cancelled : errc::rejected));
}

void call_binding::send_cancel(const call_ptr& c) {
  c->cancel_requested = false;
  c->cancelled = true;
  set_state(*c, call_state::terminating);
  auto r = ua_.stack_.cancel(c->invite_tx);
  if (!r) {
    ua_.config_.log.log(log_level::warning, "ua", "CANCEL not sent: " + r.error.message());
    return;
  }
  client_op op;
  op.then = &ignore_then;
  ua_.client_ops_.emplace(r.id, std::move(op));
}

void call_binding::send_bye(const call_ptr& c, done_handler done) {
  if (done) c->hangup_done = std::move(done);
  auto* d = dialog_of(*c);
  if (!d) {
    end_call(c, 0, {});
    return;
  }
  auto bye = d->make_request("BYE");
  auto dest = ua_.hop_of(*c, *d);
  if (!dest) {
    ua_.peer_log("cannot route a BYE", log_level::warning,
                 "cannot route the BYE of call " + c->call_id);
    end_call(c, 0, {});
    return;
  }
  set_state(*c, call_state::terminating);
  client_op op;
  op.then = &bye_then;
  op.call = c;
  op.request = bye;
  ua_.start(std::move(bye), {*dest}, std::move(op));
}

void call_binding::hangup(const call_ptr& c, done_handler done) {
  switch (c->state) {
    case call_state::calling:
      c->hangup_done = std::move(done);
      if (c->provisional_seen) return send_cancel(c);  // a 100 came
      // §9.1: no CANCEL before a provisional response; send it when one arrives.
      c->cancel_requested = true;
      return;
    case call_state::early:
      c->hangup_done = std::move(done);
      return send_cancel(c);
    case call_state::incoming:
    case call_state::ringing:
      (void)reject(c, 486, {});
      done.complete(std::error_code{});
      return;
    case call_state::answered:
      // §15: the callee must not send BYE before the ACK (or its 64*T1 wait).
      c->hangup_pending = true;
      c->hangup_done = std::move(done);
      return;
    case call_state::established:
      return send_bye(c, std::move(done));
    case call_state::terminating:
      if (c->hangup_done)
        done.complete(make_error_code(errc::invalid_state));
      else
        c->hangup_done = std::move(done);
      return;
    case call_state::terminated:
      done.complete(std::error_code{});
      return;
  }
}

}  // namespace sipkit::ua
