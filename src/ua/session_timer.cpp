// Session timers (RFC 4028): keeping a call alive by periodic refreshes, and ending it
// when the refresher goes silent.
//
// Negotiation: with ua_config::session_expires set, INVITEs carry Supported: timer,
// Session-Expires and Min-SE (§7.1); a UAS answers an interval below its Min-SE with 422
// (§8.1), which the UAC retries with the Min-SE asked for (§7.4); the 2xx names the
// refresher (§9). After the 2xx the refresher sends an UPDATE with Session-Expires at half
// the interval (§10), and the other side sends BYE when no refresh came by
// interval - min(32 s, interval/3) (§10). A refresh received (re-INVITE or UPDATE with
// Session-Expires) is answered with the interval and restarts the clock (§9).
#include <algorithm>

#include "header_values.hpp"
#include "sipkit/dialog/dialog.hpp"
#include "sipkit/parser/uri.hpp"
#include "ua_impl.hpp"

namespace sipkit::ua {

using parser::header_id;
using parser::message;

std::optional<session_timer_offer> read_session_expires(const message& m) {
  auto v = m.get(header_id::session_expires);  // also the compact form "x"
  if (!v) return std::nullopt;
  auto n = delta_seconds(v->substr(0, v->find(';')));
  if (!n || n->count() <= 0) return std::nullopt;
  session_timer_offer out;
  out.interval = *n;
  if (auto semi = v->find(';'); semi != std::string_view::npos) {
    parser::param_list params(v->substr(semi + 1));
    if (auto r = params.find("refresher")) {
      if (parser::iequals(r->value, "uac")) out.refresher = session_refresher::uac;
      if (parser::iequals(r->value, "uas")) out.refresher = session_refresher::uas;
    }
  }
  return out;
}

std::chrono::seconds min_se_of(const message& m) {
  auto v = m.get("Min-SE");
  // §4: 90 s when absent.
  return (v ? delta_seconds(v->substr(0, v->find(';'))) : std::nullopt)
      .value_or(std::chrono::seconds(90));
}

void user_agent::impl::add_session_timer_offer(message& invite,
                                               std::chrono::seconds interval) const {
  if (config_.session_expires.count() <= 0) return;
  invite.add(header_id::supported, "timer");
  invite.add(header_id::session_expires, std::to_string(interval.count()));
  invite.add("Min-SE", std::to_string(config_.min_se.count()));
}

int user_agent::impl::negotiate_session_timer(const call_ptr& c, const message& req,
                                              message& refusal) {
  // §8: the UAS side. No interval asked and none of our own: no session timer.
  const bool supports = lists_token(req, header_id::supported, "timer") ||
                        lists_token(req, header_id::require, "timer");
  auto asked = read_session_expires(req);
  if (config_.session_expires.count() <= 0 && !asked) return 0;
  if (asked && asked->interval < config_.min_se) {
    refusal = response_to(req, 422, c ? c->local_tag : random_token(10));
    refusal.add("Min-SE", std::to_string(config_.min_se.count()));
    return 422;
  }
  if (!asked && config_.session_expires.count() <= 0) return 0;
  if (!c) return 0;
  c->session_interval = asked ? asked->interval : config_.session_expires;
  // §9: the UAC refreshes when it supports timers and did not leave it to us.
  session_refresher who = session_refresher::uas;
  if (supports) who = asked && asked->refresher ? *asked->refresher : session_refresher::uac;
  c->we_refresh = (who == session_refresher::uas) != c->outgoing;
  c->session_refresher_text = who == session_refresher::uac ? "uac" : "uas";
  c->peer_supports_timer = supports;
  return 0;
}

void user_agent::impl::add_session_timer_answer(const call_impl& c, message& ok) const {
  if (c.session_interval.count() <= 0) return;
  ok.add(header_id::session_expires,
         std::to_string(c.session_interval.count()) + ";refresher=" + c.session_refresher_text);
  if (c.peer_supports_timer) ok.add(header_id::require, "timer");  // §9
}

void user_agent::impl::on_session_timer_response(const call_ptr& c, const message& ok) {
  // §7.2: the UAC learns the interval and who refreshes from the 2xx.
  auto se = read_session_expires(ok);
  if (!se) {
    c->session_interval = std::chrono::seconds(0);
    return;
  }
  c->session_interval = se->interval;
  const auto who = se->refresher.value_or(session_refresher::uac);
  c->we_refresh = (who == session_refresher::uac) == c->outgoing;
  c->session_refresher_text = who == session_refresher::uac ? "uac" : "uas";
  arm_session_timer(c);
}

void user_agent::impl::arm_session_timer(const call_ptr& c) {
  if (c->session_interval.count() <= 0 || c->state == call_state::terminated) return;
  if (!c->session_timer) c->session_timer = std::make_unique<boost::asio::steady_timer>(io_);
  const auto interval = std::chrono::duration_cast<std::chrono::milliseconds>(c->session_interval);
  // §10: the refresher at half the interval; the other side gives up a little before the end.
  const auto after = c->we_refresh ? interval / 2
                                   : interval - std::min<std::chrono::milliseconds>(
                                                    std::chrono::seconds(32), interval / 3);
  c->session_timer->expires_after(after);
  std::weak_ptr<call_impl> weak = c;
  c->session_timer->async_wait([this, weak](boost::system::error_code ec) {
    auto call = weak.lock();
    if (ec || !call || call->state != call_state::established) return;
    if (!call->we_refresh) {
      peer_log("no session refresh", log_level::warning,
               "no session refresh in call " + call->call_id + ": sending BYE");
      return send_bye(call);
    }
    send_session_refresh(call);
  });
}

void user_agent::impl::send_session_refresh(const call_ptr& c) {
  auto* d = dialog_of(*c);
  if (!d) return;
  auto dest = hop_of(*c, *d);
  if (!dest) return;
  // An UPDATE without a body refreshes the session without touching the media (§10).
  auto req = d->make_request("UPDATE");
  req.add(header_id::supported, "timer");
  // We send it and we refresh: "uac" of this transaction (§9).
  req.add(header_id::session_expires,
          std::to_string(c->session_interval.count()) + ";refresher=uac");
  client_op op;
  op.kind = op_kind::session_refresh;
  op.call = c;
  op.request = req;
  start(std::move(req), {*dest}, std::move(op));
}

void user_agent::impl::on_session_refresh_response(client_op& op, const message& rsp) {
  const int code = rsp.status_code();
  if (code < 200 || !op.call) return;
  if (code < 300) {
    // The refresher parameter names the roles of this transaction (§9): we sent it, so
    // "uac" is us.
    if (auto se = read_session_expires(rsp)) {
      op.call->session_interval = se->interval;
      if (se->refresher) op.call->we_refresh = *se->refresher == session_refresher::uac;
    }
    return arm_session_timer(op.call);
  }
  // §10: a 481 or 408 means the session is gone; others leave it to the next try.
  if (code == 481 || code == 408) return end_call(op.call, code, make_error_code(errc::call_ended));
  arm_session_timer(op.call);
}

void user_agent::impl::on_session_refreshed(const call_ptr& c, const message& req, message& ok) {
  // §9: a refresh from the peer (re-INVITE or UPDATE with Session-Expires) restarts it.
  auto se = read_session_expires(req);
  if (!se || c->session_interval.count() <= 0) return;
  c->session_interval = se->interval;
  // We are the UAS of this refresh: "uac" in it is the peer (§9).
  if (se->refresher) c->we_refresh = *se->refresher == session_refresher::uas;
  const bool peer_refreshes = !c->we_refresh;
  ok.add(header_id::session_expires, std::to_string(c->session_interval.count()) +
                                         ";refresher=" + (peer_refreshes ? "uac" : "uas"));
  if (peer_refreshes) ok.add(header_id::require, "timer");  // §9: the refresher must know
  arm_session_timer(c);
}

}  // namespace sipkit::ua
