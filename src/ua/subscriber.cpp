// The subscriber side of RFC 6665 (SUBSCRIBE, NOTIFY handling, refresh, unsubscribe) and
// the subscription handle.
#include <stdexcept>
#include <variant>

#include "header_values.hpp"
#include "sipkit/parser/uri.hpp"
#include "sipkit/session/error.hpp"
#include "ua_impl.hpp"

namespace sipkit::ua {

using parser::header_id;
using parser::message;
using sipkit::dialog::dialog;

// The binding of session::subscriber: the machine holds the subscription (dialog, state,
// refresh, Timer N); this locates the target, sends where the dialog says, answers
// challenges, arms one Asio timer at the machine's next deadline and tells the application.

namespace {

std::error_code public_error(std::error_code ec) {
  if (ec == session::error::rejected) return make_error_code(errc::rejected);
  if (ec == session::error::invalid_state) return make_error_code(errc::invalid_state);
  return ec;
}

}  // namespace

subscription subscription_binding::subscribe(subscribe_options options) {
  auto s = std::make_shared<detail::subscription_impl>();
  s->ua = &ua_;
  s->options = std::move(options);
  s->call_id = ua_.random_token(20);
  s->from_tag = ua_.random_token(10);
  subscriptions_.emplace(s->call_id, s);
  if (ua_.events_.enabled()) s->on_notify = detail::queue_notifications(ua_, s);
  subscription handle(s);
  parser::uri_view uri;
  if (s->options.event.empty() || parser::parse_uri(s->options.target, uri) || !uri.is_sip()) {
    boost::asio::post(ua_.io_, [this, alive = std::weak_ptr<int>(ua_.lifetime_), s] {
      if (!alive.expired()) end_subscription(s, 0, "rejected", make_error_code(errc::bad_target));
    });
    return handle;
  }
  s->first_hop_host = std::string(uri.host);
  ua_.locate(s->options.target, [this, s](std::error_code ec, std::vector<tx::endpoint> targets) {
    if (ec || targets.empty())
      return end_subscription(s, 0, "rejected", ec ? ec : make_error_code(errc::bad_target));
    const std::string local = ua_.sent_by(targets.front());
    if (local.empty()) return end_subscription(s, 0, "rejected", make_error_code(errc::bad_target));
    if (s->ended) return;
    s->peer = targets.front();
    session::subscriber::options o;
    o.target = s->options.target;
    o.event = s->options.event;
    o.accept = s->options.accept;
    o.content_type = s->options.content_type;
    o.body = s->options.body;
    o.from =
        "sip:" + ua_.config_.user + "@" + (ua_.config_.domain.empty() ? local : ua_.config_.domain);
    o.contact = ua_.contact_for(targets.front());
    o.call_id = s->call_id;
    o.from_tag = s->from_tag;
    o.expires = s->options.expires;
    o.refresh_margin = s->options.refresh_margin;
    o.timers = ua_.config_.transactions.timers;
    s->machine.emplace(std::move(o));
    run_subscriber(s, s->machine->start(std::chrono::steady_clock::now()));
  });
  return handle;
}

void subscription_binding::run_subscriber(const sub_ptr& s_ref,
                                          session::subscriber::actions actions) {
  const sub_ptr s = s_ref;  // the reference may live in a table erased below
  const auto now = [] { return std::chrono::steady_clock::now(); };
  using machine = session::subscriber;
  for (std::size_t i = 0; i < actions.size(); ++i) {
    // The machine's dialog, as soon as it has one, is what NOTIFYs are looked up by.
    if (!s->dialog_key && !s->ended)
      if (const auto* d = s->machine->usage_dialog()) {
        s->dialog_key = d->id();
        ua_.usages_.emplace(d->id(), s);
      }
    machine::actions more;
    if (auto* send = std::get_if<machine::send_request>(&actions[i])) {
      std::optional<tx::endpoint> dest = s->peer;
      if (const auto* d = s->machine->usage_dialog())
        dest = ua_.hop_of(s->peer, s->first_hop_host, "subscription " + s->call_id, d->next_hop_uri());
      if (!dest) {
        more = s->machine->on_failure(make_error_code(errc::bad_target), now());
      } else if (send->challenge &&
                 !ua_.answer_challenge(send->request, *send->challenge, send->attempt)) {
        more = s->machine->on_auth_failed(now());
      } else {
        client_op op;
        op.then = &subscribe_then;
        op.subscription = s;
        op.request = send->request;
        if (!ua_.start(std::move(send->request), {*dest}, std::move(op)))
          more = s->machine->on_failure(make_error_code(errc::bad_target), now());
      }
    } else if (auto* rsp = std::get_if<machine::send_response>(&actions[i])) {
      ua_.add_common_headers(rsp->response);
      ua_.respond(rsp->id, std::move(rsp->response));
    } else if (auto* n = std::get_if<machine::notified>(&actions[i])) {
      s->state = n->state;
      notify_event ev;
      ev.state = s->state;
      ev.reason = n->reason;
      ev.expires = n->expires.value_or(std::chrono::seconds(0));
      ev.content_type = n->notify->get(header_id::content_type).value_or("");
      ev.body = n->notify->body();
      ev.message = n->notify;
      if (s->on_notify) {
        auto handler = s->on_notify;
        handler(ev);
      }
    } else if (auto* u = std::get_if<machine::unsubscribe_answered>(&actions[i])) {
      s->unsubscribe_done.complete(public_error(u->error), u->status);
    } else if (auto* t = std::get_if<machine::terminated>(&actions[i])) {
      finish_subscription(s, t->status, t->reason, public_error(t->error), t->by_notify);
    }
    for (auto& a : more) actions.push_back(std::move(a));
  }
  arm_subscriber(s);
}

void subscription_binding::arm_subscriber(const sub_ptr& s) {
  auto deadline = s->machine && !s->ended ? s->machine->next_deadline() : std::nullopt;
  if (!deadline) {
    if (s->timer) s->timer->cancel();
    return;
  }
  if (!s->timer) s->timer = std::make_unique<boost::asio::steady_timer>(ua_.io_);
  s->timer->expires_at(*deadline);
  std::weak_ptr<detail::subscription_impl> weak = s;
  s->timer->async_wait([this, weak](boost::system::error_code ec) {
    auto sub = weak.lock();
    if (ec || !sub || sub->ended) return;
    run_subscriber(sub, sub->machine->on_timer(std::chrono::steady_clock::now()));
  });
}

// The subscriber machine answers its own challenges (CSeq + 1 in or out of its dialog).
const continuation subscribe_then{
    .on_response = [](impl& ua, client_op& op, tx::transaction_id,
                      const message& rsp) { ua.subscription_.on_subscribe_response(op, rsp); },
    .on_failure =
        [](impl& ua, client_op& op, tx::transaction_id, std::error_code ec) {
          if (op.subscription)
            ua.subscription_.end_subscription(op.subscription, 408, "timeout", ec);
        },
};

void subscription_binding::on_subscribe_response(client_op& op, const message& rsp) {
  auto s = op.subscription;
  if (!s || !s->machine || s->ended) return;
  run_subscriber(s, s->machine->on_response(rsp, std::chrono::steady_clock::now()));
}

bool detail::subscription_impl::on_request(const std::shared_ptr<usage>& self,
                                           tx::transaction_id tid, const message& req,
                                           const sipkit::dialog::dialog_id_view&) {
  if (req.method() != parser::method::notify) return false;
  const auto s = std::static_pointer_cast<subscription_impl>(self);
  if (!machine) {
    ua->respond(tid, ua->response_to(req, 481));
    return true;
  }
  ua->subscription_.run_subscriber(s,
                                   machine->on_notify(tid, req, std::chrono::steady_clock::now()));
  return true;
}

bool subscription_binding::early_notify(tx::transaction_id id, const message& req) {
  if (req.method() != parser::method::notify) return false;
  auto it = subscriptions_.find(std::string(req.call_id()));
  auto to = req.to();
  if (it == subscriptions_.end() || !to || to->tag != it->second->from_tag ||
      !it->second->machine || it->second->ended)
    return false;
  auto s = it->second;
  run_subscriber(s, s->machine->on_notify(id, req, std::chrono::steady_clock::now()));
  return true;
}

void subscription_binding::end_subscription(const sub_ptr& s_ref, int status,
                                            std::string_view reason, std::error_code ec) {
  const sub_ptr s = s_ref;
  if (s->ended) return;
  if (s->machine && s->machine->current_state() != session::subscriber::state::terminated &&
      s->machine->current_state() != session::subscriber::state::idle)
    return run_subscriber(s, s->machine->on_failure(ec, std::chrono::steady_clock::now()));
  finish_subscription(s, status, reason, ec, false);
}

void subscription_binding::finish_subscription(const sub_ptr& s_ref, int status,
                                               std::string_view reason, std::error_code ec,
                                               bool told) {
  const sub_ptr s = s_ref;  // the reference may live in a table erased below
  if (s->ended) return;
  s->ended = true;
  s->state = subscription_state::terminated;
  if (status) s->final_status = status;
  if (s->timer) s->timer->cancel();
  if (s->dialog_key) ua_.usages_.erase(*s->dialog_key);
  subscriptions_.erase(s->call_id);
  s->unsubscribe_done.complete(ec, status);
  if (!told && s->on_notify) {  // tell the application once, also without a NOTIFY
    notify_event ev;
    ev.state = subscription_state::terminated;
    ev.reason = reason;
    auto handler = s->on_notify;
    handler(ev);
  }
  s->on_notify = nullptr;
}

std::optional<tx::endpoint> user_agent::impl::hop_of(const tx::endpoint& peer,
                                                     std::string_view first_hop_host,
                                                     std::string_view what,
                                                     std::string_view uri) const {
  if (auto ep = endpoint_of(uri, peer.protocol)) return ep;
  parser::uri_view u;
  if (!parser::parse_uri(uri, u) && parser::iequals(u.host, first_hop_host)) return peer;
  config_.log.log(log_level::warning, "ua", "no address for " + std::string(uri) + " in " + std::string(what));
  return std::nullopt;
}

// ------------------------------------------------------------------ handle

subscription_state subscription::state() const noexcept {
  return impl_ ? impl_->state : subscription_state::terminated;
}
int subscription::final_status() const noexcept { return impl_ ? impl_->final_status : 0; }
void subscription::on_notify(std::function<void(const notify_event&)> handler) {
  if (!impl_) throw std::logic_error("sipkit::ua::subscription: empty handle");
  if (impl_->state != subscription_state::terminated) impl_->on_notify = std::move(handler);
}
boost::asio::any_io_executor subscription::executor() const {
  if (!impl_) throw std::logic_error("sipkit::ua::subscription: empty handle");
  return impl_->ua->io_.get_executor();
}
void subscription::unsubscribe_impl(
    boost::asio::any_completion_handler<void(std::error_code, int)> handler) {
  status_handler done(std::move(handler), executor());
  auto& s = *impl_;
  session::subscriber::actions actions;
  if (s.ended || !s.machine || s.machine->unsubscribe(std::chrono::steady_clock::now(), actions))
    return done.complete(make_error_code(errc::invalid_state), 0);
  s.unsubscribe_done = std::move(done);
  s.ua->subscription_.run_subscriber(impl_, std::move(actions));
}

}  // namespace sipkit::ua
