// Requests of a call other than its INVITE, CANCEL and BYE, through its session: in-dialog
// requests (INFO, MESSAGE, UPDATE, re-INVITE for hold/resume, RFC 3261 §14 and RFC 3311,
// the modules' PRACK, REFER, NOTIFY), and requests out of any dialog (§8.1).
#include "header_values.hpp"
#include "options.hpp"
#include "sipkit/parser/uri.hpp"
#include "sipkit/sdp/session.hpp"
#include "ua_impl.hpp"

namespace sipkit::ua {

using parser::header_id;
using parser::message;
using sipkit::dialog::dialog;

// A request out of any dialog: its only outcome is its final status.
const continuation request_then{
    .on_response =
        [](impl&, client_op& op, tx::transaction_id, const message& rsp) {
          const int code = rsp.status_code();
          if (code < 200) return;
          op.done.complete(code < 300 ? std::error_code{} : make_error_code(errc::rejected), code);
        },
    .on_failure = [](impl&, client_op& op, tx::transaction_id,
                     std::error_code ec) { op.done.complete(ec, 0); },
    .answers_challenges = true,
};

namespace {
/// The operation's completion and continuation go with the request the session sends
/// next; when it refuses, the completion has errc::invalid_state.
template <class Start>
void start_call_request(call_binding& b, const call_ptr& c, const continuation& then,
                        status_handler done, Start&& start) {
  b.next_.then = &then;
  b.next_.done = std::move(done);
  auto actions = start();
  if (actions.error) {
    b.next_.then = nullptr;
    return b.next_.done.complete(make_error_code(errc::invalid_state), 0);
  }
  b.run(c, std::move(actions));
  if (b.next_.then) {  // nothing was sent after all
    b.next_.then = nullptr;
    b.next_.done.complete(make_error_code(errc::invalid_state), 0);
  }
}
}  // namespace

void call_binding::send_built(const call_ptr& c, message request, const continuation& then,
                              status_handler done) {
  if (!c->session) return done.complete(make_error_code(errc::invalid_state), 0);
  start_call_request(*this, c, then, std::move(done),
                     [&] { return c->session->send_built(std::move(request), now()); });
}

void call_binding::in_dialog_request(const call_ptr& c, const std::string& method,
                                     message_options o, status_handler done) {
  // The methods with operations (and state) of their own are not sent this way.
  static constexpr std::string_view own[] = {"INVITE", "UPDATE", "ACK", "CANCEL", "BYE", "PRACK"};
  bool refused = !parser::is_token(method) ||
                 detail::check_options(o, detail::options_scope::call, {});
  for (auto m : own) refused = refused || parser::iequals(method, m);
  if (refused) return done.complete(std::make_error_code(std::errc::invalid_argument), 0);
  if (!c->session || c->state != call_state::established)
    return done.complete(make_error_code(errc::invalid_state), 0);
  session::message_options options;
  options.headers = std::move(o.headers);
  options.body = std::move(o.body);
  options.content_type = std::move(o.content_type);
  start_call_request(*this, c, call_then, std::move(done), [&] {
    return c->session->request(method, std::move(options), now());
  });
}

void call_binding::reinvite(const call_ptr& c, bool hold, status_handler done) {
  const std::string_view local =
      c->session ? std::string_view(c->session->offer_answer().local_sdp()) : std::string_view{};
  sdp::session current;
  if (c->state != call_state::established || local.empty() || sdp::parse(local, current))
    return done.complete(make_error_code(errc::invalid_state), 0);
  // RFC 3264 §8.4: hold makes sendrecv streams sendonly and recvonly ones inactive.
  auto offer = hold ? ua::hold(current) : with_direction(current, sdp::direction::sendrecv);
  session::reinvite_options options;
  options.message.body = offer.serialize();
  start_call_request(*this, c, call_then, std::move(done),
                     [&] { return c->session->reinvite(std::move(options), now()); });
}

void call_binding::reoffer(const call_ptr& c, reoffer_options o, status_handler done) {
  if (detail::check_options(o, detail::options_scope::call, {}))
    return done.complete(std::make_error_code(std::errc::invalid_argument), 0);
  if (!c->session) return done.complete(make_error_code(errc::invalid_state), 0);
  // Empty: our current description again (a refresh, RFC 3264 §8: same version).
  std::string offer = o.sdp.empty() ? c->session->offer_answer().local_sdp() : std::move(o.sdp);
  if (o.use_update) {
    // RFC 3311 §5.1: an offer only once the INVITE's offer/answer is complete and none
    // is pending; also in an early dialog.
    const bool in_dialog = c->state == call_state::established ||
                           c->state == call_state::early || c->state == call_state::ringing;
    const auto& oa = c->session->offer_answer();
    if (!in_dialog || !oa.negotiated() || oa.pending() ||
        c->session->current_reinvite_state() == session::invite_session::reinvite_state::sent)
      return done.complete(make_error_code(errc::invalid_state), 0);
    session::message_options options = detail::session_options(o, offer);
    return start_call_request(*this, c, call_then, std::move(done),
                              [&] { return c->session->update(std::move(options), now()); });
  }
  if (c->state != call_state::established || offer.empty())
    return done.complete(make_error_code(errc::invalid_state), 0);
  session::reinvite_options options;
  options.message = detail::session_options(o, offer);
  start_call_request(*this, c, call_then, std::move(done),
                     [&] { return c->session->reinvite(std::move(options), now()); });
}

void call_binding::update(const call_ptr& c, status_handler done) {
  // RFC 3311: an UPDATE re-offering our current description (unchanged, so the same
  // version, RFC 3264 §8): a session refresh the peer must answer. §5.1: also in an
  // early dialog, and an offer only once the INVITE's own offer/answer is complete.
  const bool in_dialog = c->state == call_state::established || c->state == call_state::early ||
                         c->state == call_state::ringing;
  using oa = session::offer_answer_state;
  const bool our_offer_pending = c->session && c->session->offer_answer().current_state() ==
                                                   oa::state::offer_sent;
  if (!c->session || !in_dialog ||
      (our_offer_pending &&
       c->session->offer_answer().offer_carrier() == oa::carrier::update) ||
      c->session->current_reinvite_state() == session::invite_session::reinvite_state::sent)
    return done.complete(make_error_code(errc::invalid_state), 0);
  session::message_options options;
  if (c->session->offer_answer().negotiated() && !c->session->offer_answer().pending())
    options.body = c->session->offer_answer().local_sdp();
  start_call_request(*this, c, call_then, std::move(done),
                     [&] { return c->session->update(std::move(options), now()); });
}

void user_agent::impl::out_of_dialog_request(std::string_view method, request_options r,
                                             status_handler done) {
  // A call's methods need a call (make_call, async_hangup); the rest is the rule of
  // options.hpp, the same for every operation.
  static constexpr std::string_view call_methods[] = {"INVITE", "ACK", "CANCEL", "BYE"};
  bool refused = !parser::is_token(method) ||
                 detail::check_options(r, detail::options_scope::out_of_dialog,
                                       {r.display_name}) ||
                 r.display_name.find('"') != std::string::npos;
  for (auto m : call_methods) refused = refused || parser::iequals(method, m);
  if (!refused && !r.from_uri.empty()) {
    parser::uri_view from;
    refused = static_cast<bool>(parser::parse_uri(r.from_uri, from));
  }
  if (refused) return done.complete(std::make_error_code(std::errc::invalid_argument), 0);
  parser::uri_view uri;
  if (parser::parse_uri(r.target_uri, uri) || !uri.is_sip())
    return done.complete(make_error_code(errc::bad_target), 0);
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
    const std::string name = r.display_name.empty() ? "" : "\"" + r.display_name + "\" ";
    req.add(header_id::from, name + bracket(from) + ";tag=" + random_token(10));
    req.add(header_id::to, bracket(t));
    req.add(header_id::call_id, random_token(20) + "@" + local);
    req.add(header_id::cseq, "1 " + m);
    detail::add_headers(req, r.headers);
    if (!r.body.empty() || !r.content_type.empty()) req.set_body(r.body, r.content_type);
    client_op op;
    op.then = &request_then;
    op.done = std::move(*shared_done);
    op.request = req;
    start(std::move(req), std::move(targets), std::move(op));
  });
}

}  // namespace sipkit::ua
