// The UAC half of the calls: the INVITE (RFC 3261 §13.2), hang-up (CANCEL §9.1, BYE §15)
// and the continuation that feeds each request's outcome to the call's session, with
// the retries the binding makes itself (credentials §22.2, Session-Expires RFC 4028 §7.4).
#include <boost/asio/post.hpp>

#include "header_values.hpp"
#include "redirect.hpp"
#include "options.hpp"
#include "sipkit/parser/uri.hpp"
#include "sipkit/sdp/session.hpp"
#include "ua_impl.hpp"

namespace sipkit::ua {

using parser::header_id;
using parser::message;

// Every request of a call's session: its outcome goes to the session, which reports the
// final one as request_completed; then `done` has the status.
const continuation call_then{
    .on_response = [](impl& ua, client_op& op, tx::transaction_id,
                      const message& rsp) { ua.call_binding_.on_response(op, rsp); },
    .on_failure =
        [](impl& ua, client_op& op, tx::transaction_id, std::error_code ec) {
          const call_ptr c = op.call;
          if (detail::redirect_on_failure(ua, op, ec)) return;  // a next redirect target
          if (c && c->session)
            ua.call_binding_.run(c, c->session->on_request_failed(op.session_request, ec, now()),
                                 &op);
        },
    // The INVITE transaction is over (Timer M: no more forked 2xx): the session lets the
    // INVITE and what it kept for the 2xx go.
    .on_terminated =
        [](impl& ua, client_op& op, tx::transaction_id id) {
          if (op.call && op.call->session && op.call->outgoing && op.call->invite_tx == id)
            ua.call_binding_.invite_transaction_ended(op.call);
        },
    .on_completed =
        [](impl&, client_op& op, const message* rsp, std::error_code ec) {
          const int code = rsp ? rsp->status_code() : 0;
          if (ec && code) ec = make_error_code(errc::rejected);
          op.done.complete(ec, code);
        },
};

void call_binding::start_request(const call_ptr& c, session::invite_session::send_request& r,
                                 client_op op) {
  op.session_request = r.id;
  const bool invite = r.request.method() == parser::method::invite && r.next_hop_uri.empty();
  std::vector<tx::endpoint> targets;
  if (invite) {
    targets = next_.targets.empty() ? std::vector<tx::endpoint>{c->peer} : std::move(next_.targets);
    next_.targets.clear();
  } else if (auto dest = ua_.hop_of(c->peer, c->first_hop_host, "a call", r.next_hop_uri)) {
    targets.push_back(*dest);
  } else {
    ua_.peer_log("cannot route a request", log_level::warning, "cannot route a call's request");
    run(c, c->session->on_request_failed(r.id, make_error_code(errc::bad_target), now()), &op);
    return;
  }
  ua_.add_common_headers(r.request);
  ua_.outgoing(r.request);
  auto started = ua_.stack_.start_client(std::move(r.request), std::move(targets));
  if (started.error) {
    // A synchronous transport failure (its upcall ran before the id was known).
    ua_.peer_log("request not sent", log_level::warning,
                 "request not sent: " + started.error.message());
    run(c, c->session->on_request_failed(r.id, started.error, now()), &op);
    return;
  }
  if (invite) c->invite_tx = started.id;
  ua_.client_ops_.emplace(started.id, std::move(op));
}

namespace {
/// The values of the headers named `names` in `m` (any form of the name), for
/// invite_session::retry.
std::vector<std::pair<std::string, std::string>> headers_of(
    const message& m, std::initializer_list<std::string_view> names) {
  std::vector<std::pair<std::string, std::string>> out;
  for (const auto& f : m.fields())
    for (auto name : names)
      if (parser::iequals(m.name_of(f), name) ||
          (f.id != header_id::extension && f.id == parser::lookup_header(name)))
        out.emplace_back(std::string(name), std::string(m.value_of(f)));
  return out;
}

/// Challenges one request of a call answers in a row (RFC 3261 §22.3: a proxy's 407,
/// then the UAS's 401, and a stale nonce); bounds a peer that keeps sending new nonces.
constexpr int max_challenge_rounds = 3;

/// §22.2/§22.3: the call's own credentials (call_options::credentials) answer a 401/407
/// to any request of the call, the agent's when the call has none for the realms
/// offered. Each challenge is answered once: digest_client refuses (already_failed) to
/// answer a realm again when this response rejects our answer (its nonce again, or our
/// CSeq, without a new stale nonce), and the request then ends with the response.
bool answer_call_challenge(user_agent::impl& ua, const call_ptr& c, message& retry,
                           const message& rsp) {
  digest_client* own = c->extras ? c->extras->digest.get() : nullptr;
  std::error_code ec =
      own ? own->authorize(retry, rsp) : make_error_code(digest_errc::no_credentials);
  if (ec == digest_errc::no_credentials) ec = ua.digest_.authorize(retry, rsp);
  if (ec)
    ua.config_.log.log(
        log_level::warning, "ua",
        "cannot answer the " + std::to_string(rsp.status_code()) + " challenge: " + ec.message());
  return !ec;
}
}  // namespace

void call_binding::on_response(client_op& op, const message& rsp) {
  const call_ptr c = op.call;
  if (!c || !c->session) return;
  const int code = rsp.status_code();
  const message* sent = c->session->sent_request(op.session_request);
  const bool challenge = code == 401 || code == 407;
  if (sent && (challenge ? op.attempts < max_challenge_rounds : code == 422 && op.attempts < 2)) {
    // Sent again as a new request (new CSeq, same continuation), which the session builds;
    // the headers come from a copy of the one refused.
    message retry = *sent;
    std::vector<std::pair<std::string, std::string>> set;
    if (code == 422) {
      // RFC 4028 §7.4: ask again with at least the Min-SE the UAS wants.
      if (retry.method() == parser::method::invite && c->session_timer_module &&
          c->session_timer_module->on_422(rsp, retry))
        set = headers_of(retry, {"Session-Expires", "Min-SE"});
    } else {
      // §22.2: the digest client tells our rejected answers by Call-ID and CSeq, so the
      // copy takes the CSeq the session will give the new request.
      std::uint32_t cseq = retry.cseq() ? retry.cseq()->number + 1 : 1;
      if (auto to = retry.to(); to && !to->tag.empty())
        if (auto* d = c->session->dialog_for_module(to->tag)) cseq = d->local_cseq() + 1;
      retry.set(header_id::cseq, std::to_string(cseq) + " " + std::string(retry.method_text()));
      if (answer_call_challenge(ua_, c, retry, rsp))
        set = headers_of(retry, {"Authorization", "Proxy-Authorization"});
    }
    if (!set.empty()) {
      next_.then = op.then;
      next_.done = std::move(op.done);
      next_.attempts = op.attempts + 1;
      // The initial INVITE (no To tag) goes where the refused one went.
      if (auto to = sent->to(); to && to->tag.empty())
        if (const auto* peer = ua_.stack_.get().peer(c->invite_tx)) next_.targets = {*peer};
      auto actions = c->session->retry(op.session_request, std::move(set), now());
      op = client_op{};  // the old transaction has no more to say
      return run(c, std::move(actions));
    }
  }
  // §8.1.3.4: a 3xx (or a failed redirect target) may send the INVITE elsewhere.
  if (code >= 300 && detail::redirect_on_final(ua_, op, rsp)) return;
  run(c, c->session->on_response(op.session_request, rsp, now()), &op);
}

call call_binding::make_call(std::string_view target, call_options options) {
  auto c = std::make_shared<call_impl>();
  c->ua = &ua_;
  c->outgoing = true;
  c->state = call_state::calling;
  call handle(c);
  calls_.insert(c);
  if (ua_.events_.enabled()) c->events = detail::queue_call_events(ua_, c);

  auto fail = [&](std::error_code why, std::string_view text) {
    ua_.config_.log.log(log_level::warning, "ua", std::string(text) + ": " + std::string(target));
    // Posted, so the caller can attach handlers to the handle first.
    boost::asio::post(ua_.io_, [this, alive = std::weak_ptr<int>(ua_.lifetime_), c, why] {
      if (!alive.expired()) end_call(c, 0, why);
    });
    return handle;
  };
  if (ua_.stopping_) return fail(make_error_code(errc::invalid_state), "agent stopping, call refused");
  if (calls_.size() > ua_.config_.max_calls)
    return fail(make_error_code(errc::too_many_calls), "too many calls");
  parser::uri_view uri;
  if (parser::parse_uri(target, uri) || !uri.is_sip())
    return fail(make_error_code(errc::bad_target), "cannot call");
  if (check_call_options(options))
    return fail(std::make_error_code(std::errc::invalid_argument), "call options refused");
  if (!options.credentials.empty() || options.answer_offer) {
    c->extras = std::make_unique<detail::call_extras>();
    if (!options.credentials.empty())
      c->extras->digest = std::make_unique<digest_client>(std::move(options.credentials));
    c->extras->answer_offer = std::move(options.answer_offer);
  }
  // §8.1.2: the first hop is the first route (a pre-loaded route set or the outbound
  // proxy), else the target. A view into one of them (located() reads it before it moves
  // the options), not a string per call.
  std::string_view first_hop = target;
  if (!options.route.empty())
    first_hop = options.route.front();
  else if (!options.outbound_proxy.empty())
    first_hop = options.outbound_proxy;
  else if (!ua_.config_.outbound_proxy.empty())
    first_hop = ua_.config_.outbound_proxy;
  if (auto lt = first_hop.find('<'); lt != std::string_view::npos)  // a name-addr route value
    first_hop = first_hop.substr(lt + 1, first_hop.find('>', lt) - lt - 1);
  if (auto ep = ua_.endpoint_of(first_hop, ua_.config_.default_transport)) {
    // An address (the usual case): locate would answer at once, so no continuation (a
    // std::function and copies of the target and the first hop) is built for it.
    located(c, target, first_hop, std::move(options), {}, {*ep});
    return handle;
  }
  // A copy first: `options`, which first_hop may point into, moves into the continuation.
  std::string hop(first_hop);
  ua_.locate(hop, [this, c, t = std::string(target), hop, o = std::move(options)](
                      std::error_code ec, std::vector<tx::endpoint> targets) mutable {
    located(c, t, hop, std::move(o), ec, std::move(targets));
  });
  return handle;
}

void call_binding::located(const call_ptr& c, std::string_view t, std::string_view first_hop,
                           call_options&& o, std::error_code ec,
                           std::vector<tx::endpoint> targets) {
  if (c->state == call_state::terminated) return;  // hung up meanwhile
  if (ec || targets.empty()) {
    ua_.config_.log.log(log_level::warning, "ua",
                        "cannot locate " + std::string(t) + ": " + ec.message());
    return end_call(c, 0, ec ? ec : make_error_code(errc::bad_target));
  }
  const tx::endpoint& dest = targets.front();
  const std::string local = ua_.sent_by(dest);
  if (local.empty()) {
    ua_.config_.log.log(log_level::warning, "ua",
                        "no listener for the transport of " + std::string(t));
    return end_call(c, 0, make_error_code(errc::bad_target));
  }
  c->peer = dest;
  if (parser::uri_view hop; !parser::parse_uri(first_hop, hop))
    c->first_hop_host = std::string(hop.host);
  start_invite(c, t, local, dest, std::move(o));
  next_.targets = std::move(targets);
  run(c, c->session->start(now()));
}

std::error_code call_binding::check_call_options(const call_options& o) {
  if (auto ec = detail::check_options(o, detail::options_scope::call,
                                      {o.from_uri, o.display_name, o.outbound_proxy,
                                       o.subject}))
    return ec;
  const auto refused = std::make_error_code(std::errc::invalid_argument);
  for (const auto& r : o.route)
    if (detail::has_line_break(r) || r.empty()) return refused;
  parser::uri_view u;
  if (!o.from_uri.empty() && parser::parse_uri(o.from_uri, u)) return refused;
  if (!o.outbound_proxy.empty() && parser::parse_uri(o.outbound_proxy, u)) return refused;
  if (o.display_name.find('"') != std::string::npos) return refused;
  return {};
}

void call_binding::start_invite(const call_ptr& c, std::string_view t, const std::string& local,
                                const tx::endpoint& dest, call_options o) {
  auto inv = message::request("INVITE", t);
  // §8.1.2: a pre-loaded route set as given, else the outbound proxy as a loose router.
  const std::string& proxy = o.outbound_proxy.empty() ? ua_.config_.outbound_proxy : o.outbound_proxy;
  if (!o.route.empty()) {
    for (const auto& r : o.route) inv.add(header_id::route, bracket(r));
  } else if (!proxy.empty()) {
    std::string route = bracket(proxy);
    route.insert(route.size() - 1, ";lr");  // §16.12: a loose router, pre-loaded
    inv.add(header_id::route, route);
  }
  inv.add(header_id::max_forwards, "70");
  // Each value is written into scratch_ (no string per header and per piece of it).
  std::string& v = scratch_;
  v.clear();
  const std::string& name = o.display_name.empty() ? ua_.config_.display_name : o.display_name;
  if (!name.empty()) v.append("\"").append(name).append("\" ");
  if (o.from_uri.empty()) {
    v.append("<sip:").append(ua_.config_.user).append("@");
    v.append(ua_.config_.domain.empty() ? local : ua_.config_.domain).append(">");
  } else {
    append_bracketed(v, o.from_uri);
  }
  v.append(";tag=");
  ua_.append_random_token(v, 10);
  inv.add(header_id::from, v);
  v.clear();
  append_bracketed(v, t);
  inv.add(header_id::to, v);
  v.clear();
  ua_.append_random_token(v, 20);
  v.append("@").append(local);
  inv.add(header_id::call_id, v);
  inv.add(header_id::cseq, "1 INVITE");
  v.clear();
  ua_.append_contact(v, dest);
  inv.add(header_id::contact, v);
  ua_.session_timer_.add_session_timer_offer(c, inv);
  if (ua_.config_.reliable_provisionals) inv.add(header_id::supported, "100rel");
  if (!o.subject.empty()) inv.add("Subject", o.subject);
  detail::add_headers(inv, o.headers);
  c->sdp_session_id = random_session_id(ua_.random_);
  c->sdp_version = 1;
  if (o.delayed_offer) {
    // No offer: the 2xx offers, the ACK answers (RFC 3264 §4).
  } else if (!o.sdp.empty()) {
    inv.set_body(o.sdp, "application/sdp");
  } else if (!o.body.empty()) {
    inv.set_body(o.body, o.content_type);
  } else if (!ua_.config_.media.streams.empty()) {
    offer_text_.write(media_for(dest), c->sdp_session_id, c->sdp_version, scratch_);
    inv.set_body(scratch_, "application/sdp");
  }
  c->session.emplace(session::invite_session::make_uac(
      std::move(inv), {ua_.config_.transactions.timers, dest.reliable()}));
}

void call_binding::hangup(const call_ptr& c, hangup_options o, done_handler done) {
  if (detail::check_options(o, detail::options_scope::call, {o.reason}))
    return done.complete(std::make_error_code(std::errc::invalid_argument));
  if (!o.reason.empty()) o.headers.emplace_back("Reason", std::move(o.reason));
  switch (c->state) {
    case call_state::terminated:
      return done.complete(std::error_code{});
    case call_state::incoming:
    case call_state::ringing: {
      reject_options r;
      r.code = 486;
      r.headers = std::move(o.headers);
      (void)reject(c, r);
      return done.complete(std::error_code{});
    }
    case call_state::terminating:
      if (c->hangup_done) return done.complete(make_error_code(errc::invalid_state));
      break;
    default:
      break;
  }
  if (done) c->hangup_done = std::move(done);
  // Still locating the target: nothing was sent, so nothing to cancel.
  if (!c->session) return end_call(c, 0, make_error_code(errc::cancelled));
  // The session puts the headers in the CANCEL (RFC 3326 §2), the 486 or the BYE,
  // whichever it sends and whenever: the CANCEL may wait for a provisional (§9.1), the
  // BYE for the ACK of our 2xx (§15) or a 2xx that crossed the CANCEL.
  session::message_options m;
  m.headers = std::move(o.headers);
  run(c, c->session->hang_up(std::move(m), now()));
}

}  // namespace sipkit::ua
