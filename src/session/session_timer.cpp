// RFC 4028 session timers: negotiation and the refresh / expiry schedule.
//
// Transitions (state x event -> actions / next state). "run" arms timer::refresh at
// now + interval/2 when we refresh (-> refreshing), else timer::expire at
// now + interval - min(32 s, interval/3) (-> awaiting_refresh).
//
//   inactive         x add_to_invite                -> Supported: timer; configured:
//                                                      SE, Min-SE / offered
//   offered          x 422 (first two)              -> retry with the peer's Min-SE / offered
//   inactive/offered x 2xx with Session-Expires     -> we refresh iff refresher=uac; run
//   inactive/offered x 2xx without it               -> / inactive
//   inactive         x INVITE (UAS), SE < Min-SE    -> 422 / inactive
//   inactive         x INVITE (UAS), SE or ours     -> §9 refresher / negotiated
//   negotiated       x start (ACK)                  -> run
//   refreshing       x refresh fires                -> send UPDATE / refresh_sent
//   refresh_sent     x 2xx                          -> adopt its SE and refresher; run
//   refresh_sent     x 481, 408                     -> refresh_failed / inactive
//   refresh_sent     x other final                  -> run (next try half an interval on)
//   awaiting_refresh x expire fires                 -> expired_event / expired
//   running          x refresh request with SE      -> adopt it, SE in the 2xx; run
//   any              x stop                         -> cancel timers / inactive
#include "sipkit/session/session_timer.hpp"

#include <algorithm>

#include "header_values.hpp"
#include "sipkit/parser/uri.hpp"
#include "sipkit/session/error.hpp"

namespace sipkit::session {

using parser::header_id;
using parser::message;
using std::chrono::seconds;

namespace {

bool running(session_timer::state s) {
  return s == session_timer::state::refreshing || s == session_timer::state::refresh_sent ||
         s == session_timer::state::awaiting_refresh;
}

}  // namespace

std::string_view to_string(refresher r) noexcept { return r == refresher::uac ? "uac" : "uas"; }

std::optional<session_expires_value> read_session_expires(const message& m) {
  auto v = m.get(header_id::session_expires);
  if (!v) return std::nullopt;
  const auto semi = v->find(';');
  auto n = detail::delta_seconds(v->substr(0, semi));
  if (!n || n->count() <= 0) return std::nullopt;
  session_expires_value out;
  out.interval = *n;
  if (semi != std::string_view::npos) {
    parser::param_list params(v->substr(semi + 1));
    if (auto r = params.find("refresher")) {
      if (parser::iequals(r->value, "uac")) out.who = refresher::uac;
      if (parser::iequals(r->value, "uas")) out.who = refresher::uas;
    }
  }
  return out;
}

seconds read_min_se(const message& m) {
  auto v = m.get("Min-SE");
  return (v ? detail::delta_seconds(v->substr(0, v->find(';'))) : std::nullopt)
      .value_or(seconds(90));
}

bool supports_timer(const message& m) {
  return detail::lists_token(m, header_id::supported, "timer") ||
         detail::lists_token(m, header_id::require, "timer");
}

// ------------------------------------------------------------------------------ UAC

void session_timer::add_to_invite(message& invite) {
  outgoing_ = true;
  // §7.1: a UAC that supports the extension says so in every request, asking or not.
  invite.add(header_id::supported, "timer");
  if (config_.session_expires.count() <= 0) return;
  interval_ = std::max(config_.session_expires, config_.min_se);
  asked_min_se_ = config_.min_se;
  invite.add(header_id::session_expires, std::to_string(interval_.count()));
  invite.add("Min-SE", std::to_string(asked_min_se_.count()));
  state_ = state::offered;
}

bool session_timer::on_422(const message& response, message& retry) {
  if (state_ != state::offered || retries_ >= 2) return false;
  ++retries_;
  // §7.4: Min-SE of the retry is the largest Min-SE seen; the interval at least that.
  asked_min_se_ = std::max(asked_min_se_, read_min_se(response));
  interval_ = std::max(interval_, asked_min_se_);
  retry.set(header_id::session_expires, std::to_string(interval_.count()));
  retry.set("Min-SE", std::to_string(asked_min_se_.count()));
  return true;
}

void session_timer::on_2xx(const message& ok, time_point now) {
  outgoing_ = true;
  auto se = read_session_expires(ok);
  if (!se) {  // §7.2: no Session-Expires in the 2xx, no session timer
    stop();
    return;
  }
  interval_ = se->interval;
  who_ = se->who.value_or(refresher::uac);
  we_refresh_ = who_ == refresher::uac;
  peer_supports_ = supports_timer(ok);
  run(now);
}

// ------------------------------------------------------------------------------ UAS

int session_timer::on_invite(const message& invite) {
  outgoing_ = false;
  auto asked = read_session_expires(invite);
  if (!asked && config_.session_expires.count() <= 0) return 0;  // nobody wants one
  if (asked && asked->interval < config_.min_se) return 422;     // §8.1 / §9
  peer_supports_ = supports_timer(invite);
  interval_ = asked ? asked->interval : config_.session_expires;
  // §9: the UAC's choice when it supports timer (itself when it chose none); otherwise
  // only we can refresh.
  who_ = refresher::uas;
  if (peer_supports_) who_ = asked && asked->who ? *asked->who : refresher::uac;
  we_refresh_ = who_ == refresher::uas;
  state_ = state::negotiated;
  return 0;
}

void session_timer::add_min_se(message& response) const {
  response.add("Min-SE", std::to_string(config_.min_se.count()));
}

void session_timer::add_to_2xx(message& ok) const {
  if (state_ == state::inactive || state_ == state::expired || interval_.count() <= 0) return;
  ok.add(header_id::session_expires,
         std::to_string(interval_.count()) + ";refresher=" + std::string(to_string(who_)));
  if (peer_supports_) ok.add(header_id::require, "timer");  // §9
}

void session_timer::start(time_point now) {
  if (state_ == state::negotiated) run(now);
}

// -------------------------------------------------------------------------- running

void session_timer::run(time_point now) {
  timers_.cancel_all();
  const auto interval = std::chrono::duration_cast<duration>(interval_);
  if (we_refresh_) {
    timers_.arm(timer::refresh, now + interval / 2);
    state_ = state::refreshing;
  } else {
    const duration margin = std::min<duration>(seconds(32), interval / 3);
    timers_.arm(timer::expire, now + interval - margin);
    state_ = state::awaiting_refresh;
  }
}

session_timer::action_list session_timer::on_timer(time_point now, sipkit::dialog::dialog& d) {
  action_list out;
  while (auto t = timers_.pop_due(now)) {
    if (*t == timer::refresh && state_ == state::refreshing) {
      // An UPDATE without a body refreshes without touching the media (§10); we are the
      // UAC of it, and the refresher.
      auto req = d.make_request("UPDATE");
      req.add(header_id::supported, "timer");
      req.add(header_id::session_expires, std::to_string(interval_.count()) + ";refresher=uac");
      state_ = state::refresh_sent;
      out.push_back(send_request{std::move(req)});
    } else if (*t == timer::expire && state_ == state::awaiting_refresh) {
      state_ = state::expired;
      timers_.cancel_all();
      out.push_back(expired_event{error::session_expired});
    }
  }
  return out;
}

session_timer::action_list session_timer::on_refresh_response(const message& response,
                                                              time_point now) {
  action_list out;
  const int code = response.status_code();
  if (code < 200 || state_ != state::refresh_sent) return out;
  if (code < 300) {
    // The refresher parameter names the roles of this transaction (§9): we sent it.
    if (auto se = read_session_expires(response)) {
      interval_ = se->interval;
      if (se->who) we_refresh_ = *se->who == refresher::uac;
    }
  } else if (code == 481 || code == 408) {
    stop();
    out.push_back(refresh_failed{code});
    return out;
  }
  run(now);
  return out;
}

void session_timer::on_refresh_request(const message& request, message& ok, time_point now) {
  auto se = read_session_expires(request);
  if (!se || !running(state_)) return;
  interval_ = se->interval;
  // We are the UAS of this refresh: "uac" in it is the peer (§9).
  if (se->who) we_refresh_ = *se->who == refresher::uas;
  ok.add(header_id::session_expires,
         std::to_string(interval_.count()) + ";refresher=" + (we_refresh_ ? "uas" : "uac"));
  if (!we_refresh_) ok.add(header_id::require, "timer");  // §9: the refresher must know
  run(now);
}

void session_timer::stop() noexcept {
  timers_.cancel_all();
  state_ = state::inactive;
  interval_ = seconds(0);
}

std::string_view to_string(session_timer::state s) noexcept {
  switch (s) {
    case session_timer::state::inactive:
      return "inactive";
    case session_timer::state::offered:
      return "offered";
    case session_timer::state::negotiated:
      return "negotiated";
    case session_timer::state::refreshing:
      return "refreshing";
    case session_timer::state::refresh_sent:
      return "refresh_sent";
    case session_timer::state::awaiting_refresh:
      return "awaiting_refresh";
    case session_timer::state::expired:
      return "expired";
  }
  return "?";
}

}  // namespace sipkit::session
