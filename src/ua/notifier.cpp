// The notifier side of RFC 6665: accepting SUBSCRIBE, sending NOTIFY, refresh, expiry,
// and the notifier handle.
#include <stdexcept>

#include "header_values.hpp"
#include "sipkit/parser/uri.hpp"
#include "ua_impl.hpp"

namespace sipkit::ua {

using parser::header_id;
using parser::message;
using sipkit::dialog::dialog;

namespace {

constexpr std::chrono::seconds k_default_expires{3600};  // when SUBSCRIBE has no Expires

std::chrono::seconds requested_expires(const message& subscribe) {
  return delta_seconds(subscribe.get(header_id::expires).value_or("")).value_or(k_default_expires);
}

std::string event_package(const message& m) {
  auto e = m.get(header_id::event);
  if (!e) return {};
  std::string_view v = e->substr(0, e->find(';'));
  while (!v.empty() && (v.back() == ' ' || v.back() == '\t')) v.remove_suffix(1);
  return std::string(v);
}

}  // namespace

void user_agent::impl::on_new_subscribe(tx::transaction_id id, const message& req,
                                        const tx::endpoint& source) {
  const std::string event = event_package(req);
  auto h = subscribe_handlers_.find(event);
  if (event.empty() || h == subscribe_handlers_.end()) {
    // §8.2.4 / §4.2.1.1: 489 Bad Event, listing what we do support.
    auto rsp = response_to(req, 489, random_token(10));
    std::string allow;
    for (const auto& [name, fn] : subscribe_handlers_) allow += (allow.empty() ? "" : ", ") + name;
    if (!allow.empty()) rsp.add(header_id::allow_events, allow);
    return respond(id, std::move(rsp));
  }
  auto n = std::make_shared<detail::notifier_impl>();
  n->ua = this;
  n->event = event;
  n->subscriber = std::string(req.get(header_id::from).value_or(""));
  n->request_body = std::string(req.body());
  n->subscribe_tx = id;
  n->subscribe = req;
  n->peer = source;
  n->local_tag = random_token(10);
  n->granted = requested_expires(req);
  notifiers_.insert(n);
  auto handler = h->second;
  handler(notifier(n));
  if (!n->answered) {
    config_.log.log(log_level::warning, "ua", "the " + event + " handler did not answer: 500");
    respond(id, response_to(req, 500, n->local_tag));
    notifiers_.erase(n);
  }
}

std::error_code user_agent::impl::accept_subscription(const notifier_ptr& n, std::string_view ct,
                                                      std::string_view body, bool pending) {
  if (n->answered || !n->subscribe) return make_error_code(errc::invalid_state);
  n->answered = true;
  auto ok = response_to(*n->subscribe, 200, n->local_tag);
  for (const auto& f : n->subscribe->fields())  // §12.1.1, as for INVITE
    if (f.id == header_id::record_route) ok.add(header_id::record_route, n->subscribe->value_of(f));
  ok.add(header_id::contact, contact_for(n->peer));
  ok.add(header_id::expires, std::to_string(n->granted.count()));
  auto d = dialog::create_uas(*n->subscribe, ok);
  respond(n->subscribe_tx, std::move(ok));
  n->subscribe.reset();
  if (!d) {
    end_notifier(n, "noresource");
    return make_error_code(errc::invalid_state);
  }
  n->dialog_key = d->id();
  notifier_dialogs_.insert(std::move(*d), n);
  n->state = pending ? subscription_state::pending : subscription_state::active;
  n->content_type = std::string(ct);
  n->body = std::string(body);
  n->expires_at = std::chrono::steady_clock::now() + n->granted;
  // §4.2.1.2: a NOTIFY right after the 2xx, even for a subscription that just ended.
  if (n->granted.count() == 0) {
    send_notify(n, true, "timeout", {});
    return {};
  }
  send_notify(n, false, {}, {});
  arm_notifier_expiry(n);
  return {};
}

void user_agent::impl::send_notify(const notifier_ptr& n, bool terminate, std::string reason,
                                   status_handler done) {
  auto* e = n->dialog_key ? notifier_dialogs_.find(*n->dialog_key) : nullptr;
  if (!e) return done.complete(make_error_code(errc::invalid_state), 0);
  auto dest = hop_of(n->peer, {}, "subscription " + e->dialog.id().call_id, e->dialog);
  if (!dest) return done.complete(make_error_code(errc::bad_target), 0);
  auto req = e->dialog.make_request("NOTIFY");
  req.add(header_id::event, n->event);
  std::string state;
  if (terminate) {
    state = "terminated;reason=" + (reason.empty() ? std::string("noresource") : reason);
  } else {
    const auto left = std::chrono::duration_cast<std::chrono::seconds>(
        n->expires_at - std::chrono::steady_clock::now());
    state = std::string(n->state == subscription_state::pending ? "pending" : "active") +
            ";expires=" + std::to_string(std::max<std::int64_t>(left.count(), 0));
  }
  req.add("Subscription-State", state);
  if (!n->body.empty() && !terminate) req.set_body(n->body, n->content_type);
  client_op op;
  op.kind = op_kind::notify;
  op.notifier = n;
  op.request = req;
  op.done = std::move(done);
  start(std::move(req), {*dest}, std::move(op));
  if (terminate) end_notifier(n, reason.empty() ? "noresource" : reason);
}

void user_agent::impl::arm_notifier_expiry(const notifier_ptr& n) {
  if (!n->timer) n->timer = std::make_unique<boost::asio::steady_timer>(io_);
  n->timer->expires_at(n->expires_at);
  std::weak_ptr<detail::notifier_impl> weak = n;
  n->timer->async_wait([this, weak](boost::system::error_code ec) {
    auto sub = weak.lock();
    if (ec || !sub || sub->state == subscription_state::terminated) return;
    send_notify(sub, true, "timeout", {});  // §4.2.2: it ran out without a refresh
  });
}

void user_agent::impl::on_notifier_subscribe(tx::transaction_id id, const message& req,
                                             const notifier_ptr& n, dialog& d) {
  if (int code = d.on_request(req)) return respond(id, response_to(req, code));
  if (event_package(req) != n->event) return respond(id, response_to(req, 489));
  n->granted = requested_expires(req);
  auto ok = response_to(req, 200);
  ok.add(header_id::contact, d.local_contact());
  ok.add(header_id::expires, std::to_string(n->granted.count()));
  respond(id, std::move(ok));
  if (n->granted.count() == 0) return send_notify(n, true, "timeout", {});  // unsubscribed
  n->expires_at = std::chrono::steady_clock::now() + n->granted;
  arm_notifier_expiry(n);
  send_notify(n, false, {}, {});  // §4.2.1.2: the current state after every refresh
}

void user_agent::impl::end_notifier(const notifier_ptr& n_ref, std::string_view reason) {
  const notifier_ptr n = n_ref;
  if (n->state == subscription_state::terminated) return;
  n->state = subscription_state::terminated;
  if (n->timer) n->timer->cancel();
  if (n->dialog_key) notifier_dialogs_.erase(*n->dialog_key);
  notifiers_.erase(n);
  if (n->on_end) {
    auto handler = std::move(n->on_end);
    n->on_end = nullptr;
    handler(reason);
  }
}

// ------------------------------------------------------------------ handle

namespace {
detail::notifier_impl& live(const std::shared_ptr<detail::notifier_impl>& p) {
  if (!p) throw std::logic_error("sipkit::ua::notifier: empty handle");
  return *p;
}
}  // namespace

std::string_view notifier::event() const noexcept {
  return impl_ ? std::string_view(impl_->event) : std::string_view{};
}
std::string_view notifier::subscriber() const noexcept {
  return impl_ ? std::string_view(impl_->subscriber) : std::string_view{};
}
std::string_view notifier::request_body() const noexcept {
  return impl_ ? std::string_view(impl_->request_body) : std::string_view{};
}
subscription_state notifier::state() const noexcept {
  return impl_ ? impl_->state : subscription_state::terminated;
}
std::error_code notifier::accept(std::string_view content_type, std::string_view body,
                                 bool pending) {
  return live(impl_).ua->accept_subscription(impl_, content_type, body, pending);
}
std::error_code notifier::reject(int code) {
  auto& n = live(impl_);
  if (n.answered || !n.subscribe || code < 300 || code > 699)
    return make_error_code(errc::invalid_state);
  n.answered = true;
  n.ua->respond(n.subscribe_tx, n.ua->response_to(*n.subscribe, code, n.local_tag));
  n.subscribe.reset();
  n.ua->end_notifier(impl_, "rejected");
  return {};
}
void notifier::on_end(std::function<void(std::string_view)> handler) {
  live(impl_).on_end = std::move(handler);
}
boost::asio::any_io_executor notifier::executor() const {
  return live(impl_).ua->io_.get_executor();
}
void notifier::notify_impl(
    std::string content_type, std::string body, bool terminate, std::string reason,
    boost::asio::any_completion_handler<void(std::error_code, int)> handler) {
  status_handler done(std::move(handler), executor());
  auto& n = live(impl_);
  if (n.state == subscription_state::terminated || !n.answered)
    return done.complete(make_error_code(errc::invalid_state), 0);
  if (!terminate) {
    n.content_type = std::move(content_type);
    n.body = std::move(body);
  }
  n.ua->send_notify(impl_, terminate, std::move(reason), std::move(done));
}

}  // namespace sipkit::ua
