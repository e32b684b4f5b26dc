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

#include "options.hpp"
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
// (a rejected REFER never had one); then `done` has the status, as for any request.
const continuation refer_then{
    .on_response = call_then.on_response,
    .on_failure = call_then.on_failure,
    .on_terminated = nullptr,
    .on_completed =
        [](impl& ua, client_op& op, const message* rsp, std::error_code ec) {
          if (rsp && op.call && op.call->transferor)
            (void)op.call->transferor->on_refer_response(*rsp, now());
          call_then.on_completed(ua, op, rsp, ec);
        },
};

// A failure answer to one of our NOTIFYs (481 ...) ends the transferee's subscription
// (RFC 6665 §4.2.2): no more NOTIFYs for it.
const continuation refer_notify_then{
    .on_response = call_then.on_response,
    .on_failure = call_then.on_failure,
    .on_terminated = nullptr,
    .on_completed =
        [](impl&, client_op& op, const message* rsp, std::error_code) {
          if (rsp && op.call && op.call->transferee) op.call->transferee->on_notify_response(*rsp);
        },
};

void transfer_binding::refer(const call_ptr& c, refer_options o, status_handler done) {
  if (detail::check_options(o, detail::options_scope::call, {o.target}))
    return done.complete(std::make_error_code(std::errc::invalid_argument), 0);
  auto* d = c->session ? c->session->dialog_for_module() : nullptr;
  if (!d || c->state != call_state::established)
    return done.complete(make_error_code(errc::invalid_state), 0);
  parser::uri_view uri;
  if (parser::parse_uri(o.target, uri)) return done.complete(make_error_code(errc::bad_target), 0);
  // One implicit subscription per call at a time: a new REFER replaces the last one's.
  c->transferor = std::make_unique<session::transferor>();
  auto refer = session::make_refer(*d, o.target);
  // The application's Referred-By (RFC 3892) replaces the one made from our From.
  for (const auto& h : o.headers)
    if (parser::lookup_header(h.first) == header_id::referred_by) refer.remove(header_id::referred_by);
  detail::add_headers(refer, o.headers);
  if (!o.body.empty()) refer.set_body(o.body, o.content_type);
  ua_.call_binding_.send_built(c, std::move(refer), refer_then, std::move(done));
}

void transfer_binding::send_refer_notify(const call_ptr& c, int status, std::string_view reason) {
  if (c->state == call_state::terminated || !c->transferee || !c->session) return;
  auto* d = c->session->dialog_for_module();
  if (!d) return;
  auto req = c->transferee->notify(*d, status, reason, now());
  if (!req) return;  // the subscription has ended: nothing more to report
  ua_.call_binding_.send_built(c, std::move(*req), refer_notify_then);
}

void transfer_binding::on_timer(const call_ptr& c, tx::time_point now) {
  // The subscriber's side just ends; no event: the progress reports stop.
  if (c->transferor) (void)c->transferor->on_timer(now);
  auto* d = c->session ? c->session->dialog_for_module() : nullptr;
  if (!c->transferee || !d) return;
  for (auto& a : c->transferee->on_timer(now, *d))  // §2.4.4: reason=timeout
    ua_.call_binding_.send_built(c, std::move(std::get<0>(a).request), refer_notify_then);
}

void transfer_binding::on_refer(const call_ptr& c, tx::transaction_id id, const message& req) {
  auto uri = session::refer_target(req);  // read before answering: `req` goes with it
  if (!uri) return ua_.call_binding_.respond(c, id, 400);  // §2.4.1: exactly one Refer-To
  // Nobody to place the call: declined (§2.4.2).
  if (!refer_handler_) return ua_.call_binding_.respond(c, id, 603);
  ua_.call_binding_.respond(c, id, 202);
  c->transferee = std::make_unique<session::transferee>(now());
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

void transfer_binding::on_refer_notify(const call_ptr& c, tx::transaction_id id,
                                       const message& req) {
  // The transferee's progress report: "SIP/2.0 180 Ringing" in a message/sipfrag body.
  if (!c->transferor)  // a NOTIFY without our REFER: take it as that REFER's
    c->transferor = std::make_unique<session::transferor>();
  const auto result = c->transferor->on_notify(req, now());
  if (!result.progress) return ua_.call_binding_.respond(c, id, result.status);
  // `req` goes with the answer, and the event comes after the answer: it gets a copy
  // (one NOTIFY per transferee progress step, rare).
  const message notify = req;
  ua_.call_binding_.respond(c, id, result.status);
  call_event ev;
  ev.what = call_event::kind::refer_progress;
  ev.state = c->state;
  ev.status = *result.progress;
  ev.content_type = notify.get(header_id::content_type).value_or("");
  ev.body = notify.body();
  ev.message = &notify;
  ua_.call_binding_.emit(*c, ev);
}

void user_agent::on_refer(std::function<call(call original, std::string_view refer_to)> handler) {
  impl_->transfer_.refer_handler_ = std::move(handler);
}

void call::refer_impl(refer_options options,
                      boost::asio::any_completion_handler<void(std::error_code, int)> h) {
  if (!impl_) throw std::logic_error("sipkit::ua::call: empty call handle");
  impl_->ua->transfer_.refer(impl_, std::move(options), {std::move(h), executor()});
}

}  // namespace sipkit::ua
