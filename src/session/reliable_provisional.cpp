// RFC 3262 reliable provisional responses: the UAS and UAC machines.
//
// UAS transitions (state x event -> actions / next state):
//
//   idle / completed? x send(1xx)      -> add Require + RSeq, keep a copy, arm retransmit at
//                                          now+T1 and give_up at now+64*T1 / awaiting_prack
//                                          (completed, gave_up: refused, invalid_state)
//   awaiting_prack  x send(1xx)        -> refused (request_pending), unchanged
//   awaiting_prack  x retransmit fires -> retransmit the copy, interval *= 2, re-arm
//   awaiting_prack  x give_up fires    -> unacknowledged(provisional_unacknowledged),
//                                          cancel timers / gave_up
//   awaiting_prack  x PRACK matching   -> 200, cancel timers, drop the copy / idle
//   any             x PRACK for the last RSeq already acknowledged (or overtaken by the
//                     final response)  -> 200, unchanged
//   any             x other PRACK      -> 481, unchanged
//   any but gave_up x final response   -> cancel timers, drop the copy / completed
//
// UAC (per early dialog = remote tag; "last" = RSeq of the last in-order reliable 1xx):
//
//   no Require: 100rel                 -> unreliable
//   no RSeq / no To tag                -> invalid
//   first in this dialog               -> last = RSeq, PRACK / acknowledge
//   RSeq == last + 1                   -> last = RSeq, PRACK / acknowledge
//   RSeq <= last                       -> retransmission (nothing sent)
//   RSeq >  last + 1                   -> out_of_order (nothing sent)
#include "sipkit/session/reliable_provisional.hpp"

#include <charconv>
#include <stdexcept>

#include "header_values.hpp"
#include "sipkit/parser/uri.hpp"
#include "sipkit/session/error.hpp"

namespace sipkit::session {

using parser::header_id;
using parser::message;

namespace {

// 1*DIGIT in 1 .. 2^31-1 (§7.1: response-num), the whole of `v`.
std::optional<std::uint32_t> number(std::string_view v) {
  v = detail::trim_lws(v);
  std::uint32_t n = 0;
  auto [end, ec] = std::from_chars(v.data(), v.data() + v.size(), n);
  if (ec != std::errc{} || end != v.data() + v.size() || n == 0 || n > 0x7fffffffu)
    return std::nullopt;
  return n;
}

}  // namespace

bool supports_100rel(const message& m) {
  return detail::lists_token(m, header_id::supported, "100rel") || requires_100rel(m);
}

bool requires_100rel(const message& m) {
  return detail::lists_token(m, header_id::require, "100rel");
}

std::optional<message> refuse_100rel(const message& invite, bool supported,
                                     std::string_view to_tag) {
  if (supported || !requires_100rel(invite)) return std::nullopt;
  auto rsp = parser::make_response(invite, 420, {}, to_tag);
  rsp.add(header_id::unsupported, "100rel");
  return rsp;
}

std::optional<std::uint32_t> read_rseq(const message& response) {
  auto v = response.get("RSeq");
  return v ? number(*v) : std::nullopt;
}

std::string rack::to_string() const {
  return std::to_string(rseq) + " " + std::to_string(cseq) + " " + method;
}

std::optional<rack> read_rack(const message& prack) {
  auto v = prack.get("RAck");
  if (!v) return std::nullopt;
  std::string_view text = detail::trim_lws(*v);
  rack out;
  const auto sp1 = text.find_first_of(" \t");
  if (sp1 == std::string_view::npos) return std::nullopt;
  auto rseq = number(text.substr(0, sp1));
  text = detail::trim_lws(text.substr(sp1));
  const auto sp2 = text.find_first_of(" \t");
  if (!rseq || sp2 == std::string_view::npos) return std::nullopt;
  std::uint32_t cseq = 0;
  auto cseq_text = text.substr(0, sp2);
  auto [end, ec] = std::from_chars(cseq_text.data(), cseq_text.data() + cseq_text.size(), cseq);
  if (ec != std::errc{} || end != cseq_text.data() + cseq_text.size()) return std::nullopt;
  auto method = detail::trim_lws(text.substr(sp2));
  if (!parser::is_token(method)) return std::nullopt;
  out.rseq = *rseq;
  out.cseq = cseq;
  out.method = std::string(method);
  return out;
}

// ------------------------------------------------------------------------------ UAS

reliable_provisional_uas::reliable_provisional_uas(const message& invite, std::uint32_t first_rseq,
                                                   timer_config timers)
    : t1_(timers.t1), next_rseq_(first_rseq == 0 ? 1 : first_rseq) {
  if (auto cseq = invite.cseq()) invite_cseq_ = cseq->number;
}

std::error_code reliable_provisional_uas::send(message& provisional, time_point now) {
  const int code = provisional.status_code();
  if (code <= 100 || code >= 200)
    throw std::invalid_argument("reliable_provisional_uas::send: not a 101-199 response");
  if (state_ == state::awaiting_prack) return error::request_pending;
  if (state_ != state::idle) return error::invalid_state;
  const std::uint32_t rseq = next_rseq_;
  provisional.add(header_id::require, "100rel");
  provisional.add("RSeq", std::to_string(rseq));
  next_rseq_ = rseq == 0x7fffffffu ? 1 : rseq + 1;
  last_rseq_ = rseq;
  pending_ = std::make_unique<message>(provisional);
  interval_ = t1_;
  timers_.arm(timer::retransmit, now + interval_);
  timers_.arm(timer::give_up, now + 64 * t1_);  // §3: 64*T1
  state_ = state::awaiting_prack;
  return {};
}

reliable_provisional_uas::prack_result reliable_provisional_uas::on_prack(const message& prack,
                                                                          time_point) {
  prack_result out;
  auto r = read_rack(prack);
  if (!r || !last_rseq_ || r->rseq != *last_rseq_ || r->cseq != invite_cseq_ ||
      r->method != "INVITE")
    return out;  // 481: names no reliable provisional of ours (§3)
  out.status = 200;
  if (state_ == state::awaiting_prack) {
    timers_.cancel_all();
    pending_.reset();
    state_ = state::idle;
    out.acknowledged = true;
  }
  return out;
}

void reliable_provisional_uas::on_final_response() noexcept {
  if (state_ == state::gave_up) return;
  timers_.cancel_all();
  pending_.reset();
  state_ = state::completed;
}

reliable_provisional_uas::action_list reliable_provisional_uas::on_timer(time_point now) {
  action_list out;
  while (auto t = timers_.pop_due(now)) {
    if (state_ != state::awaiting_prack) continue;
    switch (*t) {
      case timer::retransmit:
        out.push_back(retransmit{pending_.get()});
        interval_ *= 2;  // §3: doubling, no cap
        timers_.arm(timer::retransmit, now + interval_);
        break;
      case timer::give_up:
        timers_.cancel_all();
        state_ = state::gave_up;
        out.push_back(unacknowledged{error::provisional_unacknowledged});
        break;
      case timer::count:
        break;
    }
  }
  // The copy stays until the next call: retransmit::response points to it.
  return out;
}

// ------------------------------------------------------------------------------ UAC

std::pair<reliable_provisional_uac::verdict, std::optional<rack>>
reliable_provisional_uac::classify(const message& provisional) {
  if (!requires_100rel(provisional)) return {verdict::unreliable, std::nullopt};
  auto rseq = read_rseq(provisional);
  auto to = provisional.to();
  auto cseq = provisional.cseq();
  if (!rseq || !to || to->tag.empty() || !cseq) return {verdict::invalid, std::nullopt};
  auto it = last_.begin();
  while (it != last_.end() && it->first != to->tag) ++it;
  if (it != last_.end()) {
    if (*rseq <= it->second) return {verdict::retransmission, std::nullopt};
    if (*rseq != it->second + 1) return {verdict::out_of_order, std::nullopt};
    it->second = *rseq;
  } else {
    last_.emplace_back(std::string(to->tag), *rseq);
  }
  return {verdict::acknowledge, rack{*rseq, cseq->number, std::string(cseq->method_text)}};
}

reliable_provisional_uac::result reliable_provisional_uac::on_provisional(
    const message& provisional, sipkit::dialog::dialog& early_dialog) {
  auto [what, r] = classify(provisional);
  result out;
  out.what = what;
  if (what == verdict::acknowledge) {
    out.prack = early_dialog.make_request("PRACK");
    out.prack->add("RAck", r->to_string());
  }
  return out;
}

std::uint32_t reliable_provisional_uac::last_rseq(std::string_view remote_tag) const noexcept {
  for (const auto& [tag, rseq] : last_)
    if (tag == remote_tag) return rseq;
  return 0;
}

std::string_view to_string(reliable_provisional_uas::state s) noexcept {
  switch (s) {
    case reliable_provisional_uas::state::idle:
      return "idle";
    case reliable_provisional_uas::state::awaiting_prack:
      return "awaiting_prack";
    case reliable_provisional_uas::state::gave_up:
      return "gave_up";
    case reliable_provisional_uas::state::completed:
      return "completed";
  }
  return "?";
}

std::string_view to_string(reliable_provisional_uac::verdict v) noexcept {
  switch (v) {
    case reliable_provisional_uac::verdict::unreliable:
      return "unreliable";
    case reliable_provisional_uac::verdict::acknowledge:
      return "acknowledge";
    case reliable_provisional_uac::verdict::retransmission:
      return "retransmission";
    case reliable_provisional_uac::verdict::out_of_order:
      return "out_of_order";
    case reliable_provisional_uac::verdict::invalid:
      return "invalid";
  }
  return "?";
}

}  // namespace sipkit::session
