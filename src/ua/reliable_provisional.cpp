// Reliable provisional responses (RFC 3262, 100rel and PRACK): the binding of
// sipkit::session's reliable_provisional_uas / _uac to the agent (its random source, the
// INVITE server transaction, one Asio timer per call, in-dialog PRACKs).
//
// UAS: when the INVITE says Supported or Require: 100rel (and ua_config::
// reliable_provisionals is on), every 18x goes reliably (the module: Require: 100rel, RSeq,
// retransmitted at T1 doubling); without a PRACK after 64*T1 the INVITE is refused with
// 504 (§3: "SHOULD reject ... with a 5xx"). PRACKs are answered as the module says (200 /
// 481). UAC: INVITEs say Supported: 100rel; each in-order reliable 18x is acknowledged by
// a PRACK in its early dialog.
#include "sipkit/session/reliable_provisional.hpp"

#include "sipkit/dialog/dialog.hpp"
#include "ua_impl.hpp"

namespace sipkit::ua {

using parser::header_id;
using parser::message;

bool prack_binding::wants_reliable_provisionals(const message& invite) const {
  return ua_.config_.reliable_provisionals && session::supports_100rel(invite);
}

std::error_code prack_binding::make_reliable(const call_ptr& c, message& provisional) {
  if (!c->prack_uas) {
    if (!c->invite || !wants_reliable_provisionals(*c->invite)) return {};
    // §3: the first RSeq anywhere in 1 .. 2^31-1; the lower half leaves room to count up.
    const auto first = 1 + static_cast<std::uint32_t>(ua_.random_.next_u64() % 0x7fffffffu) / 2;
    c->prack_uas = std::make_unique<session::reliable_provisional_uas>(
        *c->invite, first, ua_.config_.transactions.timers);
  }
  if (c->prack_uas->send(provisional, tx::clock_type::now()))
    return make_error_code(errc::invalid_state);
  arm_provisional_retransmit(c);
  return {};
}

void prack_binding::stop_provisional_retransmissions(call_impl& c) {
  if (c.prack_uas) c.prack_uas->on_final_response();
  c.provisional_timer.reset();
}

void prack_binding::arm_provisional_retransmit(const call_ptr& c) {
  auto when = c->prack_uas ? c->prack_uas->next_deadline() : std::nullopt;
  if (!when) {
    if (c->provisional_timer) c->provisional_timer->cancel();
    return;
  }
  if (!c->provisional_timer)
    c->provisional_timer = std::make_unique<boost::asio::steady_timer>(ua_.io_);
  c->provisional_timer->expires_at(*when);
  std::weak_ptr<call_impl> weak = c;
  c->provisional_timer->async_wait([this, weak](boost::system::error_code ec) {
    auto call = weak.lock();
    if (ec || !call || !call->prack_uas) return;
    if (call->state != call_state::incoming && call->state != call_state::ringing) return;
    for (const auto& a : call->prack_uas->on_timer(tx::clock_type::now())) {
      if (const auto* r = std::get_if<session::reliable_provisional_uas::retransmit>(&a)) {
        ua_.respond(call->invite_tx, *r->response);
        continue;
      }
      ua_.peer_log("no PRACK", log_level::warning, "no PRACK in call " + call->call_id + ": 504");
      (void)ua_.call_binding_.reject(call, 504, "No PRACK for the reliable provisional response");
      return;
    }
    arm_provisional_retransmit(call);
  });
}

void prack_binding::on_prack(tx::transaction_id id, const message& req, const call_ptr& c) {
  if (!c->prack_uas) return ua_.respond(id, ua_.response_to(req, 481));
  const auto result = c->prack_uas->on_prack(req, tx::clock_type::now());
  if (result.acknowledged) arm_provisional_retransmit(c);  // nothing left to retransmit
  ua_.respond(id, ua_.response_to(req, result.status));
}

void prack_binding::acknowledge_provisional(const call_ptr& c, const message& provisional) {
  if (!session::requires_100rel(provisional)) return;
  auto rid = sipkit::dialog::incoming_response_dialog_id(provisional);
  if (!rid) return;
  auto* d = c->find_dialog(*rid);
  if (!d) return;
  if (!c->prack_uac) c->prack_uac = std::make_unique<session::reliable_provisional_uac>();
  auto result = c->prack_uac->on_provisional(provisional, *d);
  if (!result.prack) return;
  auto dest = ua_.hop_of(*c, *d);
  if (!dest) return;
  ua_.call_binding_.start_in_dialog(c, std::move(*result.prack), *dest);
}

}  // namespace sipkit::ua
