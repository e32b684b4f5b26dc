// RFC 6665 subscriber and notifier machines. All transitions:
//
// Subscriber
//   state            event                               -> actions / next state
//   ---------------  ----------------------------------  ---------------------------------------
//   idle             start                               -> SUBSCRIBE, arm N / subscribing
//   subscribing,     401/407, attempts < max             -> same SUBSCRIBE CSeq+1 + challenge
//    any live
//   subscribing      2xx                                 -> dialog (create_uac unless a NOTIFY
//                                                           made it), arm refresh+expiry
//                                                           / notify_wait
//   subscribing      >= 300, failure, auth failed        -> terminated(rejected | timeout)
//   subscribing,     NOTIFY (dialog created if none)     -> 200, notified, cancel N
//    notify_wait,                                           / pending | active (per NOTIFY),
//    pending, active                                        terminated for "terminated"
//   unsubscribing    NOTIFY                              -> 200, notified / same, or terminated
//   notify_wait,     refresh timer                       -> SUBSCRIBE in dialog / same
//    pending, active
//   notify_wait,     2xx to refresh                      -> re-arm refresh+expiry / same
//    pending, active
//   notify_wait,     405/408/481/489, failure            -> terminated(noresource | timeout)
//    pending, active  other >= 300                       -> nothing: valid until expiry
//   notify_wait,     unsubscribe                         -> SUBSCRIBE Expires: 0, cancel refresh
//    pending, active                                        and expiry, arm N / unsubscribing
//   unsubscribing    final response, failure             -> unsubscribe_answered / same, or
//                                                           terminated (>= 300, failure)
//   subscribing,     Timer N                             -> terminated(timeout, no_notify)
//    notify_wait,
//    unsubscribing
//   notify_wait,     expiry timer                        -> terminated(timeout)
//    pending, active
//   terminated       NOTIFY                              -> 481
//
// Notifier
//   subscribe_received  accept(pending?)         -> 200, NOTIFY(active|pending;expires=N), arm
//                                                   expiry / active | pending
//                       accept, granted 0        -> 200, NOTIFY(terminated;reason=timeout),
//                                                   ended / terminated
//                       reject(code)             -> code, ended(rejected) / terminated
//   pending, active     notify(body)             -> NOTIFY(state;expires=left) / same
//   pending             activate                 -> NOTIFY(active) / active
//   pending, active     SUBSCRIBE refresh        -> 200, arm expiry, NOTIFY / same
//   pending, active     SUBSCRIBE Expires: 0     -> 200, NOTIFY(terminated;reason=timeout),
//                                                   ended / terminated
//   pending, active     terminate(reason)        -> NOTIFY(terminated;reason), ended / terminated
//   pending, active     expiry timer             -> NOTIFY(terminated;reason=timeout), ended
//                                                   / terminated
//   pending, active     NOTIFY >= 300, failure   -> ended(noresource | timeout) / terminated
#include "sipkit/session/subscription.hpp"

#include <algorithm>

#include "header_values.hpp"
#include "sipkit/parser/uri.hpp"
#include "sipkit/session/error.hpp"

namespace sipkit::session {

using parser::header_id;
using parser::message;
using sipkit::dialog::dialog;

std::string_view to_string(subscription_state s) noexcept {
  switch (s) {
    case subscription_state::requested:
      return "requested";
    case subscription_state::pending:
      return "pending";
    case subscription_state::active:
      return "active";
    case subscription_state::terminated:
      return "terminated";
  }
  return "";
}

std::string_view to_string(subscriber::state s) noexcept {
  switch (s) {
    case subscriber::state::idle:
      return "idle";
    case subscriber::state::subscribing:
      return "subscribing";
    case subscriber::state::notify_wait:
      return "notify_wait";
    case subscriber::state::pending:
      return "pending";
    case subscriber::state::active:
      return "active";
    case subscriber::state::unsubscribing:
      return "unsubscribing";
    case subscriber::state::terminated:
      return "terminated";
  }
  return "";
}

std::string_view to_string(notifier::state s) noexcept {
  switch (s) {
    case notifier::state::subscribe_received:
      return "subscribe_received";
    case notifier::state::pending:
      return "pending";
    case notifier::state::active:
      return "active";
    case notifier::state::terminated:
      return "terminated";
  }
  return "";
}

// ============================================================================ subscriber

subscriber::subscriber(options o) : opts_(std::move(o)) {}

message subscriber::make_subscribe(bool unsubscribe) {
  message req;
  if (dialog_) {  // refresh or unsubscribe inside the dialog (§4.1.2.2, §4.1.2.3)
    req = dialog_->make_request("SUBSCRIBE");
  } else {
    req = message::request("SUBSCRIBE", opts_.target);
    req.add(header_id::max_forwards, "70");
    req.add(header_id::from, "<" + opts_.from + ">;tag=" + opts_.from_tag);
    req.add(header_id::to, "<" + opts_.target + ">");
    req.add(header_id::call_id, opts_.call_id);
    req.add(header_id::cseq, std::to_string(last_cseq_ + 1) + " SUBSCRIBE");
    req.add(header_id::contact, opts_.contact);
  }
  req.add(header_id::event, opts_.event);
  req.add(header_id::expires,
          unsubscribe ? std::string("0") : std::to_string(opts_.expires.count()));
  if (!opts_.accept.empty()) req.add("Accept", opts_.accept);
  if (!opts_.body.empty()) req.set_body(opts_.body, opts_.content_type);
  return req;
}

void subscriber::send(bool unsubscribe, actions& out) {
  auth_attempts_ = 0;
  last_ = make_subscribe(unsubscribe);
  last_cseq_ = last_->cseq() ? last_->cseq()->number : last_cseq_ + 1;
  if (!dialog_) initial_ = *last_;
  out.emplace_back(send_request{*last_, nullptr, 0});
}

subscriber::actions subscriber::start(time_point now) {
  actions out;
  if (state_ != state::idle) return out;
  state_ = state::subscribing;
  send(false, out);
  timers_.arm(timer::notify_wait, now + opts_.timers.timeout());
  return out;
}

void subscriber::learn_expiry(std::chrono::seconds expires, time_point now) {
  if (expires.count() <= 0) return;
  const auto margin = std::min(opts_.refresh_margin, expires / 2);
  timers_.arm(timer::refresh, now + std::max(std::chrono::seconds(1), expires - margin));
  timers_.arm(timer::expiry, now + expires);
}

void subscriber::end(int status, std::string_view reason, std::error_code ec, bool by_notify,
                     actions& out) {
  state_ = state::terminated;
  substate_ = subscription_state::terminated;
  timers_.cancel_all();
  reason_ = std::string(reason);
  if (dialog_) dialog_->terminate();
  terminated t;
  t.status = status;
  t.reason = reason_;
  t.error = ec;
  t.by_notify = by_notify;
  out.emplace_back(t);
}

subscriber::actions subscriber::on_response(const message& rsp, time_point now) {
  actions out;
  const int code = rsp.status_code();
  auto cseq = rsp.cseq();
  if (code < 200 || !live() || !last_ || !cseq || cseq->number != last_cseq_) return out;

  if ((code == 401 || code == 407) && auth_attempts_ < opts_.max_auth_attempts) {
    ++auth_attempts_;
    challenge_status_ = code;
    last_cseq_ = dialog_ ? dialog_->next_cseq() : last_cseq_ + 1;
    last_->set(header_id::cseq, std::to_string(last_cseq_) + " SUBSCRIBE");
    if (!dialog_) initial_ = *last_;
    out.emplace_back(send_request{*last_, &rsp, auth_attempts_});
    return out;
  }
  const message request = std::move(*last_);
  last_.reset();

  if (state_ == state::unsubscribing) {
    if (dialog_) dialog_->on_response(request, rsp);
    unsubscribe_answered a;
    a.status = code;
    if (code >= 300) a.error = error::rejected;
    out.emplace_back(a);
    if (code >= 300) end(code, "noresource", error::rejected, false, out);
    return out;  // else the final NOTIFY ends it (Timer N runs)
  }
  if (code >= 300) {
    if (state_ == state::subscribing) {
      end(code, "rejected", error::rejected, false, out);
    } else if (code == 405 || code == 408 || code == 481 || code == 489) {
      // §4.1.2.2: the subscription is gone (481), or the usage with it (RFC 5057).
      end(code, "noresource", error::rejected, false, out);
    }
    // Any other refusal of a refresh: still valid until the expiry timer.
    return out;
  }

  if (!dialog_) {
    if (auto d = dialog::create_uac(initial_ ? *initial_ : request, rsp)) dialog_ = std::move(*d);
  } else if (sipkit::dialog::incoming_response_dialog_id(rsp) == dialog_->id()) {
    dialog_->on_response(request, rsp);
  }
  if (state_ == state::subscribing) state_ = state::notify_wait;
  // §4.1.2.1: the 2xx's Expires is what the notifier granted.
  const auto granted =
      detail::delta_seconds(rsp.get(header_id::expires).value_or("")).value_or(opts_.expires);
  learn_expiry(granted, now);
  return out;
}

subscriber::actions subscriber::on_failure(std::error_code ec, time_point) {
  actions out;
  if (!live() || !last_) return out;
  last_.reset();
  if (state_ == state::unsubscribing) out.emplace_back(unsubscribe_answered{0, ec});
  // RFC 3261 §8.1.3.1: a timeout counts as 408; §12.2.1.2: it ends the usage.
  end(408, "timeout", ec, false, out);
  return out;
}

subscriber::actions subscriber::on_auth_failed(time_point) {
  actions out;
  if (!live() || !last_) return out;
  last_.reset();
  if (state_ == state::unsubscribing)
    out.emplace_back(unsubscribe_answered{challenge_status_, error::rejected});
  end(challenge_status_, state_ == state::subscribing ? "rejected" : "noresource", error::rejected,
      false, out);
  return out;
}

subscriber::actions subscriber::on_notify(transaction::transaction_id id, const message& req,
                                          time_point now) {
  actions out;
  auto answer = [&](int code) {
    out.emplace_back(send_response{id, parser::make_response(req, code)});
  };
  if (!live()) {
    answer(481);
    return out;
  }
  if (!dialog_) {
    // §4.1.2.4: a NOTIFY overtaking the 2xx creates the dialog.
    auto d = initial_ ? dialog::create_from_notify(*initial_, req) : std::nullopt;
    if (!d) {
      answer(481);
      return out;
    }
    dialog_ = std::move(*d);
  } else if (sipkit::dialog::incoming_request_dialog_id(req) != dialog_->id()) {
    answer(481);  // another fork's NOTIFY: we keep one dialog per subscription
    return out;
  }
  if (int code = dialog_->on_request(req)) {
    answer(code);
    return out;
  }
  auto st = detail::read_subscription_state(req);
  if (!st) {
    answer(400);  // §8.2.3: required in NOTIFY
    return out;
  }
  auto event = req.get(header_id::event);
  if (!event || !parser::iequals(detail::event_package(*event), opts_.event)) {
    answer(489);  // §4.1.3: not the package we asked for
    return out;
  }
  answer(200);
  timers_.cancel(timer::notify_wait);
  using ss = detail::subscription_state_value::substate;
  notified n;
  n.state = st->state == ss::active    ? subscription_state::active
            : st->state == ss::pending ? subscription_state::pending
                                       : subscription_state::terminated;
  n.reason = st->reason;
  n.expires = st->expires;
  n.retry_after = st->retry_after;
  n.notify = &req;
  substate_ = n.state;
  out.emplace_back(n);
  if (n.state == subscription_state::terminated) {
    end(0, st->reason, {}, true, out);
    return out;
  }
  if (state_ != state::unsubscribing) {
    state_ = n.state == subscription_state::active ? state::active : state::pending;
    // §4.1.2.2: a shorter expiry in the NOTIFY moves the refresh earlier.
    if (st->expires) learn_expiry(*st->expires, now);
  }
  return out;
}

std::error_code subscriber::unsubscribe(time_point now, actions& out) {
  if (!dialog_ ||
      !(state_ == state::notify_wait || state_ == state::pending || state_ == state::active))
    return error::invalid_state;
  timers_.cancel_all();
  state_ = state::unsubscribing;
  send(true, out);
  timers_.arm(timer::notify_wait, now + opts_.timers.timeout());  // the final NOTIFY's wait
  return {};
}

subscriber::actions subscriber::on_timer(time_point now) {
  actions out;
  while (auto t = timers_.pop_due(now)) {
    if (!live()) break;
    switch (*t) {
      case timer::refresh:
        if (state_ == state::notify_wait || state_ == state::pending || state_ == state::active)
          send(false, out);
        break;
      case timer::notify_wait:
        end(0, "timeout", error::no_notify, false, out);
        break;
      case timer::expiry:
        end(0, "timeout", {}, false, out);
        break;
      case timer::count:
        break;
    }
  }
  return out;
}

// ============================================================================== notifier

notifier::notifier(const message& subscribe, transaction::transaction_id id, options o)
    : opts_(std::move(o)), subscribe_id_(id), subscribe_(subscribe) {
  event_ = std::string(detail::event_package(subscribe.get(header_id::event).value_or("")));
  granted_ = requested_expires(subscribe);
}

std::chrono::seconds notifier::requested_expires(const message& m) const {
  return detail::delta_seconds(m.get(header_id::expires).value_or(""))
      .value_or(opts_.default_expires);
}

std::error_code notifier::accept(bool pending, std::string_view ct, std::string_view body,
                                 time_point now, actions& out) {
  if (state_ != state::subscribe_received || !subscribe_) return error::invalid_state;
  auto ok = parser::make_response(*subscribe_, 200, {}, opts_.local_tag);
  for (const auto& f : subscribe_->fields())  // §12.1.1, as for INVITE
    if (f.id == header_id::record_route) ok.add(header_id::record_route, subscribe_->value_of(f));
  ok.add(header_id::contact, opts_.contact);
  ok.add(header_id::expires, std::to_string(granted_.count()));
  auto d = dialog::create_uas(*subscribe_, ok);
  out.emplace_back(send_response{subscribe_id_, std::move(ok)});
  subscribe_.reset();
  if (!d) {
    end("noresource", out);
    return error::invalid_message;
  }
  dialog_ = std::move(*d);
  state_ = pending ? state::pending : state::active;
  content_type_ = std::string(ct);
  body_ = std::string(body);
  expires_at_ = now + granted_;
  // §4.2.1.2: a NOTIFY right after the 2xx, even for a subscription that just ended.
  if (granted_.count() == 0) {
    send_notify(true, "timeout", now, out);
    return {};
  }
  timers_.arm(timer::expiry, expires_at_);
  send_notify(false, {}, now, out);
  return {};
}

std::error_code notifier::reject(int code, actions& out) {
  if (state_ != state::subscribe_received || !subscribe_ || code < 300 || code > 699)
    return error::invalid_state;
  out.emplace_back(
      send_response{subscribe_id_, parser::make_response(*subscribe_, code, {}, opts_.local_tag)});
  subscribe_.reset();
  end("rejected", out);
  return {};
}

void notifier::send_notify(bool terminate, std::string_view reason, time_point now, actions& out) {
  auto req = dialog_->make_request("NOTIFY");
  req.add(header_id::event, event_);
  std::string value;
  if (terminate) {
    value = "terminated;reason=" + std::string(reason.empty() ? "noresource" : reason);
  } else {
    const auto left = std::chrono::duration_cast<std::chrono::seconds>(expires_at_ - now);
    value = std::string(state_ == state::pending ? "pending" : "active") +
            ";expires=" + std::to_string(std::max<std::int64_t>(left.count(), 0));
  }
  req.add("Subscription-State", value);
  if (!body_.empty() && !terminate) req.set_body(body_, content_type_);
  out.emplace_back(send_request{std::move(req), nullptr, 0});
  if (terminate) end(reason.empty() ? "noresource" : reason, out);
}

void notifier::end(std::string_view reason, actions& out) {
  reason_ = std::string(reason);
  state_ = state::terminated;
  timers_.cancel_all();
  if (dialog_) dialog_->terminate();
  out.emplace_back(ended{reason_});
}

std::error_code notifier::notify(std::string_view ct, std::string_view body, time_point now,
                                 actions& out) {
  if (state_ != state::pending && state_ != state::active) return error::invalid_state;
  content_type_ = std::string(ct);
  body_ = std::string(body);
  send_notify(false, {}, now, out);
  return {};
}

std::error_code notifier::activate(time_point now, actions& out) {
  if (state_ != state::pending) return error::invalid_state;
  state_ = state::active;
  send_notify(false, {}, now, out);
  return {};
}

std::error_code notifier::terminate(std::string_view reason, time_point now, actions& out) {
  if (state_ != state::pending && state_ != state::active) return error::invalid_state;
  send_notify(true, reason, now, out);
  return {};
}

notifier::actions notifier::on_subscribe(transaction::transaction_id id, const message& req,
                                         time_point now) {
  actions out;
  auto answer = [&](int code) {
    out.emplace_back(send_response{id, parser::make_response(req, code)});
  };
  if (!dialog_ || (state_ != state::pending && state_ != state::active)) {
    answer(481);
    return out;
  }
  if (int code = dialog_->on_request(req)) {
    answer(code);
    return out;
  }
  if (detail::event_package(req.get(header_id::event).value_or("")) != event_) {
    answer(489);
    return out;
  }
  granted_ = requested_expires(req);
  auto ok = parser::make_response(req, 200);
  ok.add(header_id::contact, dialog_->local_contact());
  ok.add(header_id::expires, std::to_string(granted_.count()));
  out.emplace_back(send_response{id, std::move(ok)});
  if (granted_.count() == 0) {  // unsubscribed (§4.2.1.3): the final NOTIFY
    send_notify(true, "timeout", now, out);
    return out;
  }
  expires_at_ = now + granted_;
  timers_.arm(timer::expiry, expires_at_);
  send_notify(false, {}, now, out);  // §4.2.1.2: the current state after every refresh
  return out;
}

notifier::actions notifier::on_notify_response(const message& rsp, time_point) {
  actions out;
  // RFC 6665 §4.2.2: a 481 (or any other rejection) ends the subscription.
  if (rsp.status_code() >= 300 && state_ != state::terminated) end("noresource", out);
  return out;
}

notifier::actions notifier::on_notify_failure(std::error_code, time_point) {
  actions out;
  if (state_ != state::terminated) end("timeout", out);
  return out;
}

notifier::actions notifier::on_timer(time_point now) {
  actions out;
  while (auto t = timers_.pop_due(now)) {
    if (*t == timer::expiry && (state_ == state::pending || state_ == state::active))
      send_notify(true, "timeout", now, out);  // §4.2.2: it ran out without a refresh
  }
  return out;
}

}  // namespace sipkit::session
