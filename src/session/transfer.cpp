// RFC 3515 transfer: the implicit "refer" subscription, transferee and transferor.
//
// Transferee (notifier) transitions:
//   active     x notify(1xx)              -> NOTIFY active;expires=<remaining> / active
//   active     x notify(>= 200)           -> NOTIFY terminated;reason=noresource, cancel
//                                            expiry / terminated
//   active     x expiry fires             -> NOTIFY terminated;reason=timeout (last status)
//                                            / terminated
//   active     x NOTIFY answered >= 300   -> cancel expiry / terminated
//   terminated x anything                 -> nothing
//
// Transferor (subscriber) transitions:
//   refer_sent        x 2xx to the REFER        -> / accepted
//   refer_sent        x 3xx-6xx                 -> / terminated
//   refer_sent/accepted x NOTIFY active;expires=N -> 200, progress, arm expiry now+N
//   refer_sent/accepted x NOTIFY terminated     -> 200, final progress, cancel / terminated
//   any               x NOTIFY, Event not refer -> 489
//   terminated        x NOTIFY                  -> 481
//   accepted          x expiry fires            -> expired / terminated
#include "sipkit/session/transfer.hpp"

#include <charconv>

#include "sipkit/parser/uri.hpp"

namespace sipkit::session {

using parser::header_id;
using parser::message;

namespace {

std::string_view before_params(std::string_view v) {
  v = v.substr(0, v.find(';'));
  while (!v.empty() && (v.front() == ' ' || v.front() == '\t')) v.remove_prefix(1);
  while (!v.empty() && (v.back() == ' ' || v.back() == '\t')) v.remove_suffix(1);
  return v;
}

}  // namespace

std::optional<std::string> refer_target(const message& refer) {
  auto refer_to = refer.get(header_id::refer_to);
  if (!refer_to || refer.count(header_id::refer_to) > 1) return std::nullopt;
  auto uri = std::string(sipkit::dialog::address_uri(*refer_to));
  if (uri.empty()) return std::nullopt;
  return uri;
}

std::optional<int> sipfrag_status(std::string_view body) {
  // message/sipfrag of a status line: "SIP/2.0 SP 3DIGIT SP reason" (RFC 3420).
  if (!body.starts_with("SIP/2.0 ") || body.size() < 11) return std::nullopt;
  int status = 0;
  auto [end, ec] = std::from_chars(body.data() + 8, body.data() + 11, status);
  if (ec != std::errc{} || end != body.data() + 11 || status < 100) return std::nullopt;
  return status;
}

message make_refer(sipkit::dialog::dialog& d, std::string_view target_uri) {
  auto req = d.make_request("REFER");
  req.add(header_id::refer_to, "<" + std::string(target_uri) + ">");
  req.add(header_id::referred_by, d.local_uri().substr(0, d.local_uri().find(";tag=")));
  return req;
}

// ------------------------------------------------------------------------ transferee

transferee::transferee(time_point now, std::chrono::seconds lifetime)
    : expires_at_(now + lifetime) {
  timers_.arm(timer::expiry, expires_at_);
}

message transferee::make_notify(sipkit::dialog::dialog& d, int status, std::string_view reason,
                                std::string_view subscription_state) const {
  auto req = d.make_request("NOTIFY");
  req.add(header_id::event, "refer");
  req.add("Subscription-State", subscription_state);
  std::string frag = "SIP/2.0 " + std::to_string(status) + " ";
  frag += reason.empty() ? parser::default_reason(status) : reason;
  frag += "\r\n";
  req.set_body(frag, "message/sipfrag;version=2.0");
  return req;
}

std::optional<message> transferee::notify(sipkit::dialog::dialog& d, int status,
                                          std::string_view reason, time_point now) {
  if (state_ == state::terminated) return std::nullopt;
  last_status_ = status;
  last_reason_ = std::string(reason);
  if (status >= 200) {
    timers_.cancel_all();
    state_ = state::terminated;
    return make_notify(d, status, reason, "terminated;reason=noresource");
  }
  // RFC 6665 §4.2.2: expires= is what is left of the duration, rounded up.
  const auto left = std::chrono::ceil<std::chrono::seconds>(expires_at_ - now);
  return make_notify(d, status, reason,
                     "active;expires=" + std::to_string(std::max<std::int64_t>(0, left.count())));
}

void transferee::on_notify_response(const message& response) noexcept {
  if (response.status_code() < 300) return;
  timers_.cancel_all();
  state_ = state::terminated;
}

transferee::action_list transferee::on_timer(time_point now, sipkit::dialog::dialog& d) {
  action_list out;
  while (auto t = timers_.pop_due(now)) {
    if (*t != timer::expiry || state_ != state::active) continue;
    state_ = state::terminated;
    out.push_back(
        send_request{make_notify(d, last_status_, last_reason_, "terminated;reason=timeout")});
  }
  return out;
}

// ------------------------------------------------------------------------ transferor

bool transferor::on_refer_response(const message& response, time_point) {
  const int code = response.status_code();
  if (code < 200 || state_ != state::refer_sent) return state_ != state::terminated;
  if (code >= 300) {
    timers_.cancel_all();
    state_ = state::terminated;
    return false;
  }
  state_ = state::accepted;
  return true;
}

transferor::notify_result transferor::on_notify(const message& notify, time_point now) {
  notify_result out;
  auto event = notify.get(header_id::event);
  if (!event || !parser::iequals(before_params(*event), "refer")) {
    out.status = 489;  // RFC 6665 §8.2.1 / §4.1.3: not the package we subscribed to
    return out;
  }
  if (state_ == state::terminated) {
    out.status = 481;
    return out;
  }
  out.progress = sipfrag_status(notify.body()).value_or(0);
  auto sub_state = notify.get("Subscription-State").value_or("active");
  if (parser::iequals(before_params(sub_state), "terminated")) {
    out.final = true;
    timers_.cancel_all();
    state_ = state::terminated;
    return out;
  }
  // active or pending: the subscription lives at least until the expires= it names.
  if (auto semi = sub_state.find(';'); semi != std::string_view::npos) {
    parser::param_list params(sub_state.substr(semi + 1));
    if (auto e = params.find("expires"); e && e->has_value) {
      std::uint32_t secs = 0;
      auto [end, ec] = std::from_chars(e->value.data(), e->value.data() + e->value.size(), secs);
      if (ec == std::errc{} && end == e->value.data() + e->value.size())
        timers_.arm(timer::expiry, now + std::chrono::seconds(secs));
    }
  }
  return out;
}

transferor::action_list transferor::on_timer(time_point now) {
  action_list out;
  while (auto t = timers_.pop_due(now)) {
    if (*t != timer::expiry || state_ == state::terminated) continue;
    state_ = state::terminated;
    out.push_back(expired{});
  }
  return out;
}

std::string_view to_string(transferee::state s) noexcept {
  return s == transferee::state::active ? "active" : "terminated";
}

std::string_view to_string(transferor::state s) noexcept {
  switch (s) {
    case transferor::state::refer_sent:
      return "refer_sent";
    case transferor::state::accepted:
      return "accepted";
    case transferor::state::terminated:
      return "terminated";
  }
  return "?";
}

}  // namespace sipkit::session
