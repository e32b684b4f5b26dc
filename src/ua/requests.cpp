// Requests of the UAC other than the call's INVITE, CANCEL and BYE: in-dialog requests
// (INFO, MESSAGE, UPDATE, re-INVITE for hold/resume, RFC 3261 §14 and RFC 3311) and requests
// out of any dialog (§8.1), with the continuations that take their outcome.
#include "header_values.hpp"
#include "sipkit/parser/uri.hpp"
#include "sipkit/sdp/session.hpp"
#include "ua_impl.hpp"

namespace sipkit::ua {

using parser::header_id;
using parser::message;
using sipkit::dialog::dialog;

const continuation reinvite_then{
    .on_response = [](impl& ua, client_op& op, tx::transaction_id,
                      const message& rsp) { ua.call_binding_.on_reinvite_response(op, rsp); },
    .on_failure =
        [](impl&, client_op& op, tx::transaction_id, std::error_code ec) {
          if (op.call) op.call->reinvite_pending = false;
          op.done.complete(ec, 0);
        },
    .answers_challenges = true,
};

const continuation bye_then{
    .on_response =
        [](impl& ua, client_op& op, tx::transaction_id, const message& rsp) {
          if (rsp.status_code() >= 200 && op.call)
            ua.call_binding_.end_call(op.call, rsp.status_code(), {});
        },
    .on_failure =
        [](impl& ua, client_op& op, tx::transaction_id, std::error_code ec) {
          if (op.call) ua.call_binding_.end_call(op.call, detail::failure_status(ec), ec);
        },
    .answers_challenges = true,
    .ends_call_if_unsent = true,
};

// A request whose only outcome is its final status (INFO, MESSAGE, UPDATE, REFER, NOTIFY,
// PRACK in a call; any method out of dialog).
const continuation request_then{
    .on_response =
        [](impl& ua, client_op& op, tx::transaction_id, const message& rsp) {
          const int code = rsp.status_code();
          if (code < 200) return;
          if (op.call && op.request && op.request->method() == parser::method::update) {
            op.call->update_pending = false;
            if (code < 300 && !rsp.body().empty()) op.call->remote_sdp = std::string(rsp.body());
          }
          // RFC 5057 §5.1: a failed PRACK concerns that transaction only, not the dialog.
          if (op.call && op.request && op.request->method() != parser::method::prack) {
            if (auto* d = ua.call_binding_.dialog_of(*op.call)) {
              d->on_response(*op.request, rsp);
              if (d->state() == sipkit::dialog::dialog_state::terminated)
                ua.call_binding_.end_call(op.call, code, make_error_code(errc::call_ended));
            }
          }
          op.done.complete(code < 300 ? std::error_code{} : make_error_code(errc::rejected), code);
        },
    .on_failure =
        [](impl& ua, client_op& op, tx::transaction_id, std::error_code ec) {
          // §12.2.1.2: a timeout of a request inside a dialog ends the dialog.
          if (op.call) {
            ua.call_binding_.end_call(op.call, detail::failure_status(ec), ec);
            op.call->reinvite_pending = false;
          }
          op.done.complete(ec, 0);
        },
    .answers_challenges = true,
};

void call_binding::in_dialog_request(const call_ptr& c, const std::string& method, std::string ct,
                                     std::string body, status_handler done) {
  auto* d = dialog_of(*c);
  if (!d || c->state != call_state::established)
    return done.complete(make_error_code(errc::invalid_state), 0);
  auto req = d->make_request(method);
  if (!body.empty() || !ct.empty()) req.set_body(body, ct);
  auto dest = ua_.hop_of(*c, *d);
  if (!dest) return done.complete(make_error_code(errc::bad_target), 0);
  start_in_dialog(c, std::move(req), *dest, std::move(done));
}

void call_binding::start_in_dialog(const call_ptr& c, message req, const tx::endpoint& dest,
                                   status_handler done, const continuation& then) {
  client_op op;
  op.then = &then;
  op.call = c;
  op.request = req;
  op.done = std::move(done);
  ua_.start(std::move(req), {dest}, std::move(op));
}

void call_binding::reinvite(const call_ptr& c, bool hold, status_handler done) {
  auto* d = dialog_of(*c);
  if (!d || c->state != call_state::established || c->local_sdp.empty())
    return done.complete(make_error_code(errc::invalid_state), 0);
  sdp::session current;
  if (sdp::parse(c->local_sdp, current))
    return done.complete(make_error_code(errc::invalid_state), 0);
  // RFC 3264 §8.4: hold makes sendrecv streams sendonly and recvonly ones inactive.
  auto offer = hold ? ua::hold(current) : with_direction(current, sdp::direction::sendrecv);
  auto req = d->make_request("INVITE");
  client_op op;
  op.then = &reinvite_then;
  op.call = c;
  op.offer = offer.serialize();
  req.set_body(op.offer, "application/sdp");
  op.request = req;
  op.done = std::move(done);
  auto dest = ua_.hop_of(*c, *d);
  if (!dest) return op.done.complete(make_error_code(errc::bad_target), 0);
  c->reinvite_pending = true;
  ua_.start(std::move(req), {*dest}, std::move(op));
}

void call_binding::update(const call_ptr& c, status_handler done) {
  // RFC 3311: an UPDATE re-offering our current description (unchanged, so the same
  // version, RFC 3264 §8): a session refresh the peer must answer.
  auto* d = dialog_of(*c);
  // RFC 3311 §5.1: also in an early dialog (after a provisional with a To tag).
  const bool in_dialog = c->state == call_state::established || c->state == call_state::early ||
                         c->state == call_state::ringing;
  if (!d || !in_dialog || c->reinvite_pending || c->update_pending)
    return done.complete(make_error_code(errc::invalid_state), 0);
  auto req = d->make_request("UPDATE");
  // §5.1: an offer only once the INVITE's own offer/answer is complete.
  if (!c->local_sdp.empty() && !c->remote_sdp.empty()) {
    req.set_body(c->local_sdp, "application/sdp");
    c->update_pending = true;
  }
  auto dest = ua_.hop_of(*c, *d);
  if (!dest) {
    c->update_pending = false;
    return done.complete(make_error_code(errc::bad_target), 0);
  }
  start_in_dialog(c, std::move(req), *dest, std::move(done));
}

void call_binding::on_reinvite_response(client_op& op, const message& rsp) {
  const int code = rsp.status_code();
  if (code < 200 || !op.call || !op.request) return;
  op.call->reinvite_pending = false;
  auto* d = dialog_of(*op.call);
  if (!d) return;
  auto cseq = op.request->cseq();
  if (code < 300) {
    if (op.call->ack && op.call->ack_cseq == cseq->number) return resend_ack(*op.call);
    d->on_response(*op.request, rsp);
    send_ack(op.call, *d, cseq->number);
    op.call->local_sdp = op.offer;
    if (!rsp.body().empty()) op.call->remote_sdp = std::string(rsp.body());
    op.done.complete(std::error_code{}, code);
    return;
  }
  d->on_response(*op.request, rsp);
  if (d->state() == sipkit::dialog::dialog_state::terminated)
    end_call(op.call, code, make_error_code(errc::call_ended));
  op.done.complete(make_error_code(errc::rejected), code);
}

namespace {

// The headers out_of_dialog_request writes itself: a caller's copy would contradict them.
bool written_by_agent(std::string_view name) {
  switch (parser::lookup_header(name)) {
    case header_id::via:
    case header_id::from:
    case header_id::to:
    case header_id::call_id:
    case header_id::cseq:
    case header_id::max_forwards:
    case header_id::route:
    case header_id::content_type:
    case header_id::content_length:
      return true;
    default:
      return false;
  }
}

}  // namespace

void user_agent::impl::out_of_dialog_request(std::string_view method, message_request r,
                                             status_handler done) {
  parser::uri_view uri;
  if (parser::parse_uri(r.target_uri, uri) || !uri.is_sip())
    return done.complete(make_error_code(errc::bad_target), 0);
  if (!r.from_uri.empty()) {
    parser::uri_view from;
    if (parser::parse_uri(r.from_uri, from))
      return done.complete(std::make_error_code(std::errc::invalid_argument), 0);
  }
  for (const auto& [name, value] : r.headers) {
    if (written_by_agent(name) || !parser::is_token(name) ||
        value.find_first_of("\r\n") != std::string::npos)
      return done.complete(std::make_error_code(std::errc::invalid_argument), 0);
  }
  const std::string_view first_hop = config_.outbound_proxy.empty()
                                         ? std::string_view(r.target_uri)
                                         : std::string_view(config_.outbound_proxy);
  auto shared_done = std::make_shared<status_handler>(std::move(done));
  locate(first_hop, [this, m = std::string(method), r = std::move(r), shared_done](
                        std::error_code ec, std::vector<tx::endpoint> targets) mutable {
    if (ec || targets.empty())
      return shared_done->complete(ec ? ec : make_error_code(errc::bad_target), 0);
    const std::string local = sent_by(targets.front());
    if (local.empty()) return shared_done->complete(make_error_code(errc::bad_target), 0);
    const std::string& t = r.target_uri;
    auto req = message::request(m, t);
    if (!config_.outbound_proxy.empty()) {
      std::string route = bracket(config_.outbound_proxy);
      route.insert(route.size() - 1, ";lr");
      req.add(header_id::route, route);
    }
    req.add(header_id::max_forwards, "70");
    const std::string from =
        r.from_uri.empty()
            ? "sip:" + config_.user + "@" + (config_.domain.empty() ? local : config_.domain)
            : r.from_uri;
    req.add(header_id::from, bracket(from) + ";tag=" + random_token(10));
    req.add(header_id::to, bracket(t));
    req.add(header_id::call_id, random_token(20) + "@" + local);
    req.add(header_id::cseq, "1 " + m);
    for (const auto& [name, value] : r.headers) req.add(name, value);
    if (!r.body.empty() || !r.content_type.empty()) req.set_body(r.body, r.content_type);
    client_op op;
    op.then = &request_then;
    op.done = std::move(*shared_done);
    op.request = req;
    start(std::move(req), std::move(targets), std::move(op));
  });
}

}  // namespace sipkit::ua
