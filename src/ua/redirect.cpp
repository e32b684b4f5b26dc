// Following a 3xx to a UAC's INVITE (RFC 3261 §8.1.3.4): see redirect.hpp for the rules.
#include "redirect.hpp"

#include <algorithm>
#include <cstdlib>

#include "sipkit/dialog/dialog.hpp"
#include "sipkit/parser/headers.hpp"
#include "sipkit/parser/uri.hpp"
#include "ua_impl.hpp"

namespace sipkit::ua::detail {

using parser::header_id;
using parser::message;
using S = session::invite_session;

namespace {

/// A Contact's qvalue in thousandths; no ;q= counts as 1.0, the highest priority.
int q_of(std::string_view q) {
  if (q.empty()) return 1000;
  const double v = std::strtod(std::string(q).c_str(), nullptr);
  return static_cast<int>(v * 1000 + 0.5);
}

/// The Request-URI a Contact of a 3xx gives: its sip/sips URI without URI headers and
/// without ;method= (§19.1.5, redirect.hpp); nullopt for anything else.
std::optional<std::string> target_of(const parser::uri_view& uri) {
  if (!uri.is_sip()) return std::nullopt;
  return parser::request_uri_form(uri);
}

/// §19.1.4 equality of two URIs given as text (byte equality when either fails to parse).
bool same_uri(std::string_view a, std::string_view b) {
  parser::uri_view ua, ub;
  if (parser::parse_uri(a, ua) || parser::parse_uri(b, ub)) return a == b;
  return parser::uri_equal(ua, ub);
}

bool contains(const std::vector<std::string>& list, std::string_view uri) {
  return std::any_of(list.begin(), list.end(), [&](const auto& t) { return same_uri(t, uri); });
}

/// The Contacts of a 3xx, higher q first, equal q in the order received.
std::vector<std::string> contacts_of(const message& rsp) {
  struct entry {
    int q;
    std::string uri;
  };
  std::vector<entry> list;
  for (const auto& f : rsp.fields()) {
    if (f.id != header_id::contact) continue;
    for (auto value : sipkit::dialog::split_address_list(rsp.value_of(f))) {
      parser::name_addr_view na;
      if (parser::parse_name_addr(value, na) || na.star) continue;
      if (auto t = target_of(na.uri)) list.push_back({q_of(na.q), std::move(*t)});
    }
  }
  std::stable_sort(list.begin(), list.end(),
                   [](const entry& a, const entry& b) { return a.q > b.q; });
  std::vector<std::string> out;
  for (auto& e : list) out.push_back(std::move(e.uri));
  return out;
}

bool redirectable(const call_ptr& c, const client_op& op) {
  if (!c || !c->session || !c->outgoing) return false;
  const auto st = c->session->current_state();
  if (st != S::state::calling && st != S::state::proceeding && st != S::state::early) return false;
  const message* sent = c->session->sent_request(op.session_request);
  if (!sent || sent->method() != parser::method::invite) return false;
  const auto to = sent->to();
  return to && to->tag.empty();  // the initial INVITE, not a re-INVITE
}

void try_next(user_agent::impl& ua, const call_ptr& c, session::request_id id, int cause);

/// Sends the INVITE to `target` once it is located, or moves on.
void send_to(user_agent::impl& ua, const call_ptr& c, session::request_id id, int cause,
             std::string target) {
  const std::string first_hop =
      ua.config_.outbound_proxy.empty() ? target : ua.config_.outbound_proxy;
  ua.locate(first_hop, [&ua, c, id, cause, target, first_hop](std::error_code ec,
                                                              std::vector<tx::endpoint> targets) {
    if (!c->session || !c->redirect || c->state == call_state::terminated) return;
    std::string local = ec || targets.empty() ? std::string() : ua.sent_by(targets.front());
    if (local.empty()) {
      ua.peer_log(
          "redirect target unreachable", log_level::warning,
          "cannot reach redirect target " + target + (ec ? ": " + ec.message() : std::string()));
      return try_next(ua, c, id, cause);
    }
    auto& cb = ua.call_binding_;
    const tx::endpoint dest = targets.front();
    c->peer = dest;
    parser::uri_view hop;
    if (!parser::parse_uri(first_hop, hop)) c->first_hop_host = std::string(hop.host);
    c->prack_uac.reset();  // the RSeqs of the old target's early dialogs
    call_event e;
    e.what = call_event::kind::redirected;
    e.state = c->state;
    e.status = cause;
    e.target = target;
    cb.emit(*c, e);
    if (!c->session || c->state == call_state::terminated) return;  // hung up in the event
    cb.next_.then = &call_then;
    cb.next_.done = std::move(c->redirect->done);
    cb.next_.attempts = 0;
    cb.next_.targets = std::move(targets);
    auto actions = c->session->redirect(id, target, {{"Contact", ua.contact_for(dest)}},
                                        {"Authorization", "Proxy-Authorization"}, now());
    if (actions.error) {
      cb.next_ = {};
      return;
    }
    cb.run(c, std::move(actions));
  });
}

/// The next untried target, or the end: a target that cannot be located ends the call
/// like a transport failure when none is left (503, RFC 3261 §8.1.3.1).
void try_next(user_agent::impl& ua, const call_ptr& c, session::request_id id, int cause) {
  auto& r = *c->redirect;
  while (!r.targets.empty()) {
    std::string t = std::move(r.targets.front());
    r.targets.erase(r.targets.begin());
    if (contains(r.tried, t)) continue;
    r.tried.push_back(t);
    return send_to(ua, c, id, cause, std::move(t));
  }
  ua.call_binding_.run(c,
                       c->session->on_request_failed(id, make_error_code(errc::bad_target), now()));
}

/// Takes the INVITE's continuation over from `op` (whose transaction is over) when there
/// is an untried target; false when none is left.
bool take_over(user_agent::impl& ua, client_op& op, int cause) {
  const call_ptr c = op.call;
  auto& r = *c->redirect;
  const bool any = std::any_of(r.targets.begin(), r.targets.end(),
                               [&](const auto& t) { return !contains(r.tried, t); });
  if (!any) return false;
  const auto id = op.session_request;
  r.done = std::move(op.done);
  op = client_op{};  // the old transaction has no more to say
  try_next(ua, c, id, cause);
  return true;
}

}  // namespace

bool redirect_on_final(user_agent::impl& ua, client_op& op, const message& rsp) {
  const call_ptr c = op.call;
  const int code = rsp.status_code();
  if (code < 300 || ua.config_.max_redirects == 0 || !redirectable(c, op)) return false;
  // 305 and 380 are final (redirect.hpp); a 4xx-6xx moves on only once redirected.
  const bool redirection = code == 300 || code == 301 || code == 302;
  if (!redirection && !c->redirect) return false;
  if (c->session->current_state() == S::state::cancel_pending) return false;
  if (redirection) {
    if (!c->redirect) {
      c->redirect = std::make_unique<redirect_state>();
      c->redirect->tried.emplace_back(c->session->sent_request(op.session_request)->request_uri());
    }
    auto& r = *c->redirect;
    if (r.followed >= ua.config_.max_redirects) {
      ua.peer_log("redirect depth", log_level::info,
                  "not following a " + std::to_string(code) + ": " + std::to_string(r.followed) +
                      " redirects already (max_redirects)");
    } else {
      ++r.followed;
      std::vector<std::string> fresh;
      for (auto& t : contacts_of(rsp))
        if (!contains(r.tried, t) && !contains(fresh, t)) fresh.push_back(std::move(t));
      // The newest redirection first; a target queued earlier and named again moves up.
      std::erase_if(r.targets, [&](const auto& t) { return contains(fresh, t); });
      r.targets.insert(r.targets.begin(), std::make_move_iterator(fresh.begin()),
                       std::make_move_iterator(fresh.end()));
    }
  }
  return take_over(ua, op, code);
}

bool redirect_on_failure(user_agent::impl& ua, client_op& op, std::error_code ec) {
  const call_ptr c = op.call;
  if (!c || !c->redirect || !redirectable(c, op)) return false;
  if (c->session->current_state() == S::state::cancel_pending) return false;
  return take_over(ua, op, failure_status(ec));
}

}  // namespace sipkit::ua::detail
