// Reliable provisional responses (RFC 3262, 100rel and PRACK), both ends.
//
// UAS: when the INVITE says Supported or Require: 100rel (and ua_config::
// reliable_provisionals is on), every 18x goes with Require: 100rel and an RSeq one higher
// than the last (§3), and is retransmitted at T1, 2*T1, 4*T1 ... until its PRACK arrives;
// without one after 64*T1 the INVITE is refused with 504 (§3: "SHOULD reject ... with a
// 5xx"). A PRACK is answered 200 when its RAck names the pending 18x, 481 otherwise (§3).
// UAC: INVITEs say Supported: 100rel; each new reliable 18x (a higher RSeq, §4) is
// acknowledged by a PRACK in its early dialog with RAck: <RSeq> <CSeq number> INVITE;
// retransmissions of one already acknowledged are ignored.
#include <charconv>

#include "header_values.hpp"
#include "sipkit/dialog/dialog.hpp"
#include "sipkit/parser/uri.hpp"
#include "ua_impl.hpp"

namespace sipkit::ua {

using parser::header_id;
using parser::message;

namespace {

std::optional<std::uint32_t> number_of(std::string_view v) {
  while (!v.empty() && (v.front() == ' ' || v.front() == '\t')) v.remove_prefix(1);
  std::uint32_t n = 0;
  auto [end, ec] = std::from_chars(v.data(), v.data() + v.size(), n);
  if (ec != std::errc{} || end == v.data()) return std::nullopt;
  return n;
}

}  // namespace

bool user_agent::impl::wants_reliable_provisionals(const message& invite) const {
  return config_.reliable_provisionals && (lists_token(invite, header_id::supported, "100rel") ||
                                           lists_token(invite, header_id::require, "100rel"));
}

void user_agent::impl::make_reliable(const call_ptr& c, message& provisional) {
  // §3: RSeq starts anywhere in 1 .. 2^31-1 and grows by one per reliable provisional.
  if (c->rseq == 0)
    c->rseq = 1 + static_cast<std::uint32_t>(random_.next_u64() % 0x7fffffffu) / 2;
  else
    ++c->rseq;
  provisional.add(header_id::require, "100rel");
  provisional.add("RSeq", std::to_string(c->rseq));
  c->unacked_provisional = provisional;
  if (c->invite && c->invite->cseq()) c->invite_cseq = c->invite->cseq()->number;
  c->provisional_interval =
      std::chrono::duration_cast<std::chrono::milliseconds>(config_.transactions.timers.t1);
  c->provisional_give_up = std::chrono::steady_clock::now() + config_.transactions.timers.timeout();
  arm_provisional_retransmit(c);
}

void user_agent::impl::arm_provisional_retransmit(const call_ptr& c) {
  if (!c->provisional_timer)
    c->provisional_timer = std::make_unique<boost::asio::steady_timer>(io_);
  // The doubling interval, but never past the 64*T1 give-up point (§3).
  const auto next = std::chrono::steady_clock::now() + c->provisional_interval;
  c->provisional_timer->expires_at(std::min(next, c->provisional_give_up));
  std::weak_ptr<call_impl> weak = c;
  c->provisional_timer->async_wait([this, weak](boost::system::error_code ec) {
    auto call = weak.lock();
    if (ec || !call || !call->unacked_provisional) return;
    if (std::chrono::steady_clock::now() >= call->provisional_give_up) {
      peer_log("no PRACK", log_level::warning, "no PRACK in call " + call->call_id + ": 504");
      call->unacked_provisional.reset();
      if (call->state == call_state::incoming || call->state == call_state::ringing)
        (void)reject(call, 504, "No PRACK for the reliable provisional response");
      return;
    }
    respond(call->invite_tx, *call->unacked_provisional);
    call->provisional_interval *= 2;  // §3: the interval doubles (no T2 cap for 1xx)
    arm_provisional_retransmit(call);
  });
}

void user_agent::impl::on_prack(tx::transaction_id id, const message& req, const call_ptr& c) {
  // §3/§7.2: RAck = response-num CSeq-num Method, naming the reliable 18x we wait for.
  auto rack = req.get("RAck");
  bool matches = false;
  // The last reliable 18x, even when our final response has overtaken its PRACK: that
  // PRACK is a late acknowledgement, not a request for an unknown response (§3).
  if (rack && c->rseq != 0 && c->invite_cseq != 0) {
    std::string_view v = *rack;
    const auto sp = v.find(' ');
    auto rseq = number_of(v.substr(0, sp));
    auto rest = sp == std::string_view::npos ? std::string_view{} : v.substr(sp + 1);
    auto cseq = number_of(rest);
    matches = rseq && *rseq == c->rseq && cseq && *cseq == c->invite_cseq &&
              rest.find("INVITE") != std::string_view::npos;
  }
  if (!matches) return respond(id, response_to(req, 481));
  c->unacked_provisional.reset();
  if (c->provisional_timer) c->provisional_timer->cancel();
  respond(id, response_to(req, 200));
}

void user_agent::impl::acknowledge_provisional(const call_ptr& c, const message& provisional) {
  if (!lists_token(provisional, header_id::require, "100rel")) return;
  auto rseq_text = provisional.get("RSeq");
  auto rseq = rseq_text ? number_of(*rseq_text) : std::nullopt;
  auto rid = sipkit::dialog::incoming_response_dialog_id(provisional);
  if (!rseq || !rid) return;
  auto* e = dialogs_.find(*rid);
  if (!e) return;
  // §4: one PRACK per reliable provisional; a retransmission (same or lower RSeq) is not
  // acknowledged again, per early dialog (forks number their RSeqs independently).
  auto& last = c->acked_rseq[rid->remote_tag];
  if (last != 0 && *rseq <= last) return;
  last = *rseq;
  auto prack = e->dialog.make_request("PRACK");
  const auto cseq = provisional.cseq() ? provisional.cseq()->number : 1;
  prack.add("RAck", std::to_string(*rseq) + " " + std::to_string(cseq) + " INVITE");
  auto dest = hop_of(*c, e->dialog);
  if (!dest) return;
  start_in_dialog(c, std::move(prack), *dest);
}

}  // namespace sipkit::ua
