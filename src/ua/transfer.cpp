// Call transfer by REFER (RFC 3515) inside a call's dialog, both ends, and the Replaces
// header (RFC 3891) parser.
//
// The protocol (REFER, NOTIFY bodies and Subscription-State, the implicit subscription's
// state and expiry) is sipkit::session's transferor / transferee; this file binds them.
// Transferor: call::async_refer sends REFER with Refer-To and Referred-By; the NOTIFYs of
// the implicit "refer" subscription (message/sipfrag bodies, §2.4.5) come back in the same
// dialog and reach the call's events as kind::refer_progress with the sipfrag status.
// Transferee: a REFER is answered 202 and "SIP/2.0 100 Trying" is notified at once (§2.4.4);
// the application's refer handler places the new call (or declines: 603 is notified);
// the stack then notifies that call's progress and ends the subscription with its final
// status (§2.4.5), or with reason=timeout when the subscription's 60 s run out first.
#include "sipkit/session/transfer.hpp"

#include <stdexcept>

#include "sipkit/parser/uri.hpp"
#include "ua_impl.hpp"

namespace sipkit::ua {

using parser::header_id;
using parser::message;

std::optional<replaces_value> parse_replaces(std::string_view value) {
  // RFC 3891 §6.1: callid *(SEMI replaces-param), to-tag and from-tag required.
  const auto semi = value.find(';');
  replaces_value out;
  std::string_view id = value.substr(0, semi);
  while (!id.empty() && (id.back() == ' ' || id.back() == '\t')) id.remove_suffix(1);
  while (!id.empty() && (id.front() == ' ' || id.front() == '\t')) id.remove_prefix(1);
  if (id.empty() || semi == std::string_view::npos) return std::nullopt;
  out.call_id = std::string(id);
  parser::param_list params(value.substr(semi + 1));
  auto to = params.find("to-tag");
  auto from = params.find("from-tag");
  if (!to || !from || !to->has_value || !from->has_value) return std::nullopt;
  out.to_tag = std::string(to->value);
  out.from_tag = std::string(from->value);
  out.early_only = params.find("early-only").has_value();
  return out;
}

// The REFER's final response tells the transferor whether the implicit subscription exists
// (a rejected REFER never had one); then what any in-dialog request's outcome does.
const continuation refer_then{
    .on_response =
        [](impl& ua, client_op& op, tx::transaction_id id, const message& rsp) {
          if (rsp.status_code() >= 200 && op.call && op.call->transferor) {
            (void)op.call->transferor->on_refer_response(rsp, tx::clock_type::now());
            ua.transfer_.arm_transfer_timer(op.call);
          }
          request_then.on_response(ua, op, id, rsp);
        },
    .on_failure = [](impl& ua, client_op& op, tx::transaction_id id,
                     std::error_code ec) { request_then.on_failure(ua, op, id, ec); },
    .answers_challenges = true,
};

// A failure answer to one of our NOTIFYs (481 ...) ends the transferee's subscription
// (RFC 6665 §4.2.2): no more NOTIFYs for it.
const continuation refer_notify_then{
    .on_response =
        [](impl& ua, client_op& op, tx::transaction_id id, const message& rsp) {
          if (rsp.status_code() >= 200 && op.call && op.call->transferee) {
            op.call->transferee->on_notify_response(rsp);
            ua.transfer_.arm_transfer_timer(op.call);
          }
          request_then.on_response(ua, op, id, rsp);
        },
    .on_failure = [](impl& ua, client_op& op, tx::transaction_id id,
                     std::error_code ec) { request_then.on_failure(ua, op, id, ec); },
    .answers_challenges = true,
};

void transfer_binding::refer(const call_ptr& c, std::string target, status_handler done) {
  auto* d = ua_.call_binding_.dialog_of(*c);
  if (!d || c->state != call_state::established)
    return done.complete(make_error_code(errc::invalid_state), 0);
  parser::uri_view uri;
  if (parser::parse_uri(target, uri)) return done.complete(make_error_code(errc::bad_target), 0);
  auto dest = ua_.hop_of(*c, *d);
  if (!dest) return done.complete(make_error_code(errc::bad_target), 0);
  // One implicit subscription per call at a time: a new REFER replaces the last one's.
  c->transferor = std::make_unique<session::transferor>();
  ua_.call_binding_.start_in_dialog(c, session::make_refer(*d, target), *dest, std::move(done),
                                    refer_then);
}

void transfer_binding::send_refer_notify(const call_ptr& c, int status, std::string_view reason) {
  auto* d = ua_.call_binding_.dialog_of(*c);
  if (!d || c->state == call_state::terminated || !c->transferee) return;
  auto dest = ua_.hop_of(*c, *d);
  if (!dest) return;
  auto req = c->transferee->notify(*d, status, reason, tx::clock_type::now());
  if (!req) return;  // the subscription has ended: nothing more to report
  ua_.call_binding_.start_in_dialog(c, std::move(*req), *dest, {}, refer_notify_then);
  arm_transfer_timer(c);
}

void transfer_binding::arm_transfer_timer(const call_ptr& c) {
  std::optional<tx::time_point> when;
  for (auto t : {c->transferee ? c->transferee->next_deadline() : std::nullopt,
                 c->transferor ? c->transferor->next_deadline() : std::nullopt})
    if (t && (!when || *t < *when)) when = t;
  if (!when) {
    if (c->transfer_timer) c->transfer_timer->cancel();
    return;
  }
  if (!c->transfer_timer) c->transfer_timer = std::make_unique<boost::asio::steady_timer>(ua_.io_);
  c->transfer_timer->expires_at(*when);
  std::weak_ptr<call_impl> weak = c;
  c->transfer_timer->async_wait([this, weak](boost::system::error_code ec) {
    auto call = weak.lock();
    if (ec || !call || call->state == call_state::terminated) return;
    const auto now = tx::clock_type::now();
    // The subscriber's side just ends; no event: the progress reports stop.
    if (call->transferor) (void)call->transferor->on_timer(now);
    auto* d = ua_.call_binding_.dialog_of(*call);
    if (call->transferee && d) {
      auto dest = ua_.hop_of(*call, *d);
      for (auto& a : call->transferee->on_timer(now, *d))  // §2.4.4: reason=timeout
        if (dest)
          ua_.call_binding_.start_in_dialog(call, std::move(std::get<0>(a).request), *dest, {},
                                            refer_notify_then);
    }
    arm_transfer_timer(call);
  });
}

void transfer_binding::on_refer(tx::transaction_id id, const message& req, const call_ptr& c) {
  auto uri = session::refer_target(req);
  if (!uri) return ua_.respond(id, ua_.response_to(req, 400));  // §2.4.1: exactly one Refer-To
  if (!refer_handler_) {
    auto rsp = ua_.response_to(req, 603);  // nobody to place the call: declined (§2.4.2)
    return ua_.respond(id, std::move(rsp));
  }
  ua_.respond(id, ua_.response_to(req, 202));
  c->transferee = std::make_unique<session::transferee>(tx::clock_type::now());
  send_refer_notify(c, 100, "Trying");  // §2.4.4: the first NOTIFY right away
  auto handler = refer_handler_;
  call replacement = handler(call(c), *uri);
  if (!replacement) return send_refer_notify(c, 603, "Declined");
  // Follow the new call: its provisional and final statuses become NOTIFYs (§2.4.5).
  std::weak_ptr<call_impl> original = c;
  replacement.detail_impl()->observers.push_back([this, original](call_state s, int status) {
    auto orig = original.lock();
    if (!orig) return;
    if (s == call_state::established) return send_refer_notify(orig, 200, "OK");
    if (s == call_state::terminated) return send_refer_notify(orig, status ? status : 487, {});
    if (s == call_state::early && status > 100) send_refer_notify(orig, status, {});
  });
}

void transfer_binding::on_refer_notify(tx::transaction_id id, const message& req,
                                       const call_ptr& c) {
  // The transferee's progress report: "SIP/2.0 180 Ringing" in a message/sipfrag body.
  if (!c->transferor)  // a NOTIFY without our REFER: take it as that REFER's
    c->transferor = std::make_unique<session::transferor>();
  const auto result = c->transferor->on_notify(req, tx::clock_type::now());
  ua_.respond(id, ua_.response_to(req, result.status));
  if (!result.progress) return;
  arm_transfer_timer(c);
  call_event ev;
  ev.what = call_event::kind::refer_progress;
  ev.state = c->state;
  ev.status = *result.progress;
  ev.content_type = req.get(header_id::content_type).value_or("");
  ev.body = req.body();
  ua_.call_binding_.emit(*c, ev);
}

void user_agent::on_refer(std::function<call(call original, std::string_view refer_to)> handler) {
  impl_->transfer_.refer_handler_ = std::move(handler);
}

void call::refer_impl(std::string target,
                      boost::asio::any_completion_handler<void(std::error_code, int)> h) {
  if (!impl_) throw std::logic_error("sipkit::ua::call: empty call handle");
  impl_->ua->transfer_.refer(impl_, std::move(target), {std::move(h), executor()});
}

}  // namespace sipkit::ua
