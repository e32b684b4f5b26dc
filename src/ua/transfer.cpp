// Call transfer by REFER (RFC 3515) inside a call's dialog, both ends, and the Replaces
// header (RFC 3891) parser.
//
// Transferor: call::async_refer sends REFER with Refer-To and Referred-By; the NOTIFYs of
// the implicit "refer" subscription (message/sipfrag bodies, §2.4.5) come back in the same
// dialog and reach the call's events as kind::refer_progress with the sipfrag status.
// Transferee: a REFER is answered 202 and "SIP/2.0 100 Trying" is notified at once (§2.4.4);
// the application's refer handler places the new call (or declines: 603 is notified);
// the stack then notifies that call's progress and ends the subscription with its final
// status (§2.4.5).
#include <charconv>
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

void user_agent::impl::refer(const call_ptr& c, std::string target, status_handler done) {
  auto* d = dialog_of(*c);
  if (!d || c->state != call_state::established)
    return done.complete(make_error_code(errc::invalid_state), 0);
  parser::uri_view uri;
  if (parser::parse_uri(target, uri)) return done.complete(make_error_code(errc::bad_target), 0);
  auto req = d->make_request("REFER");
  req.add(header_id::refer_to, "<" + target + ">");
  req.add(header_id::referred_by, d->local_uri().substr(0, d->local_uri().find(";tag=")));
  auto dest = hop_of(*c, *d);
  if (!dest) return done.complete(make_error_code(errc::bad_target), 0);
  start_in_dialog(c, std::move(req), *dest, std::move(done));
}

void user_agent::impl::send_refer_notify(const call_ptr& c, int status, std::string_view reason,
                                         bool final) {
  auto* d = dialog_of(*c);
  if (!d || c->state == call_state::terminated) return;
  auto dest = hop_of(*c, *d);
  if (!dest) return;
  auto req = d->make_request("NOTIFY");
  req.add(header_id::event, "refer");
  req.add("Subscription-State", final ? "terminated;reason=noresource" : "active;expires=60");
  std::string frag = "SIP/2.0 " + std::to_string(status) + " ";
  frag += reason.empty() ? parser::default_reason(status) : reason;
  frag += "\r\n";
  req.set_body(frag, "message/sipfrag;version=2.0");
  start_in_dialog(c, std::move(req), *dest);
}

void user_agent::impl::on_refer(tx::transaction_id id, const message& req, const call_ptr& c) {
  auto refer_to = req.get(header_id::refer_to);  // also the compact form "r"
  if (!refer_to || req.count(header_id::refer_to) > 1)
    return respond(id, response_to(req, 400));  // §2.4.1: exactly one Refer-To
  auto uri = std::string(sipkit::dialog::address_uri(*refer_to));
  if (uri.empty()) return respond(id, response_to(req, 400));
  if (!refer_handler_) {
    auto rsp = response_to(req, 603);  // nobody to place the call: declined (§2.4.2)
    return respond(id, std::move(rsp));
  }
  respond(id, response_to(req, 202));
  send_refer_notify(c, 100, "Trying", false);  // §2.4.4: the first NOTIFY right away
  auto handler = refer_handler_;
  call replacement = handler(call(c), uri);
  if (!replacement) return send_refer_notify(c, 603, "Declined", true);
  // Follow the new call: its provisional and final statuses become NOTIFYs (§2.4.5).
  std::weak_ptr<call_impl> original = c;
  replacement.detail_impl()->observers.push_back([this, original](call_state s, int status) {
    auto orig = original.lock();
    if (!orig) return;
    if (s == call_state::established) return send_refer_notify(orig, 200, "OK", true);
    if (s == call_state::terminated)
      return send_refer_notify(orig, status ? status : 487, {}, true);
    if (s == call_state::early && status > 100) send_refer_notify(orig, status, {}, false);
  });
}

void user_agent::impl::on_refer_notify(tx::transaction_id id, const message& req,
                                       const call_ptr& c) {
  // The transferee's progress report: "SIP/2.0 180 Ringing" in a message/sipfrag body.
  std::string_view body = req.body();
  int status = 0;
  if (body.starts_with("SIP/2.0 ") && body.size() >= 11)
    std::from_chars(body.data() + 8, body.data() + 11, status);
  respond(id, response_to(req, 200));
  call_event ev;
  ev.what = call_event::kind::refer_progress;
  ev.state = c->state;
  ev.status = status;
  ev.content_type = req.get(header_id::content_type).value_or("");
  ev.body = body;
  emit(*c, ev);
}

void user_agent::on_refer(std::function<call(call original, std::string_view refer_to)> handler) {
  impl_->refer_handler_ = std::move(handler);
}

void call::refer_impl(std::string target,
                      boost::asio::any_completion_handler<void(std::error_code, int)> h) {
  if (!impl_) throw std::logic_error("sipkit::ua::call: empty call handle");
  impl_->ua->refer(impl_, std::move(target), {std::move(h), executor()});
}

}  // namespace sipkit::ua
