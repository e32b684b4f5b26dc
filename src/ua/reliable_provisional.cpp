// Reliable provisional responses (RFC 3262, 100rel and PRACK): the binding of
// sipkit::session's reliable_provisional_uas / _uac to the agent (its random source, the
// INVITE server transaction, the call's timer, PRACKs through the call's session).
//
// UAS: when the INVITE says Supported or Require: 100rel (and ua_config::
// reliable_provisionals is on), every 18x goes reliably (the module: Require: 100rel, RSeq,
// retransmitted at T1 doubling); without a PRACK after 64*T1 the INVITE is refused with
// 504 (§3: "SHOULD reject ... with a 5xx"). PRACKs are answered as the module says (200 /
// 481). UAC: INVITEs say Supported: 100rel; each in-order reliable 18x is acknowledged by
// a PRACK in its early dialog, which answers the 18x's offer when our INVITE had none
// (RFC 3262 §5).
#include "sipkit/session/reliable_provisional.hpp"

#include "sipkit/dialog/dialog.hpp"
#include "ua_impl.hpp"

namespace sipkit::ua {

using parser::header_id;
using parser::message;

bool prack_binding::wants_reliable_provisionals(const message& invite) const {
  return ua_.config_.reliable_provisionals && session::supports_100rel(invite);
}

bool prack_binding::reliable_pending(const call_impl& c) const {
  return c.prack_uas &&
         c.prack_uas->current_state() != session::reliable_provisional_uas::state::idle;
}

std::error_code prack_binding::make_reliable(const call_ptr& c, message& provisional) {
  if (!c->prack_uas) {
    if (!c->session || !wants_reliable_provisionals(c->session->invite())) return {};
    // §3: the first RSeq anywhere in 1 .. 2^31-1; the lower half leaves room to count up.
    const auto first = 1 + static_cast<std::uint32_t>(ua_.random_.next_u64() % 0x7fffffffu) / 2;
    c->prack_uas = std::make_unique<session::reliable_provisional_uas>(
        c->session->invite(), first, ua_.config_.transactions.timers);
  }
  if (c->prack_uas->send(provisional, now())) return make_error_code(errc::invalid_state);
  return {};
}

void prack_binding::stop_provisional_retransmissions(call_impl& c) {
  if (c.prack_uas) c.prack_uas->on_final_response();
}

void prack_binding::on_timer(const call_ptr& c, tx::time_point now) {
  if (c->state != call_state::incoming && c->state != call_state::ringing) return;
  for (const auto& a : c->prack_uas->on_timer(now)) {
    if (const auto* r = std::get_if<session::reliable_provisional_uas::retransmit>(&a)) {
      ua_.respond(c->session->invite_transaction(), *r->response);
      continue;
    }
    ua_.peer_log("no PRACK", log_level::warning, "no PRACK for a reliable 18x: 504");
    (void)ua_.call_binding_.reject(c, 504, "No PRACK for the reliable provisional response");
    return;
  }
}

void prack_binding::on_prack(const call_ptr& c, tx::transaction_id id, const message& req) {
  if (!c->prack_uas) return ua_.call_binding_.respond(c, id, 481);
  const auto result = c->prack_uas->on_prack(req, now());
  ua_.call_binding_.respond(c, id, result.status);
}

void prack_binding::acknowledge_provisional(const call_ptr& c, const message& provisional,
                                            std::string_view answer) {
  if (!session::requires_100rel(provisional)) return;
  auto rid = sipkit::dialog::incoming_response_dialog_id(provisional);
  if (!rid || !c->session) return;
  auto* d = c->session->dialog_for_module(rid->remote_tag);
  if (!d) return;
  if (!c->prack_uac) c->prack_uac = std::make_unique<session::reliable_provisional_uac>();
  auto result = c->prack_uac->on_provisional(provisional, *d);
  if (!result.prack) return;
  // RFC 3262 §5: the 1xx offered (the session took it as the pending offer): the PRACK
  // answers it. With no acceptable answer the PRACK still goes (it stops the 1xx's
  // retransmissions) and refuses the offer; a call without media is then hung up, as
  // §13.2.1 has a UAC do after an unacceptable offer in a 2xx.
  const auto& oa = c->session->offer_answer(rid->remote_tag);  // that fork's exchange
  const bool offered =
      oa.current_state() == session::offer_answer_state::state::offer_received &&
      oa.offer_carrier() == session::offer_answer_state::carrier::reliable_provisional;
  if (offered && !answer.empty()) result.prack->set_body(answer, "application/sdp");
  ua_.call_binding_.send_built(c, std::move(*result.prack), call_then);
  if (!offered || !answer.empty()) return;
  ua_.peer_log("no answer", log_level::warning,
               "no acceptable answer to the offer of a reliable 18x: hanging up");
  boost::asio::post(ua_.io_, [this, alive = std::weak_ptr<int>(ua_.lifetime_), c] {
    if (alive.expired()) return;
    hangup_options o;
    o.reason = "SIP;cause=488;text=\"Not Acceptable Here\"";
    ua_.call_binding_.hangup(c, std::move(o), {});
  });
}

}  // namespace sipkit::ua
