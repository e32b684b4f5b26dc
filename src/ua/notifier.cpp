// The notifier side of RFC 6665: accepting SUBSCRIBE, sending NOTIFY, refresh, expiry,
// and the notifier handle.
#include <stdexcept>
#include <variant>

#include "header_values.hpp"
#include "sipkit/parser/uri.hpp"
#include "sipkit/session/error.hpp"
#include "sipkit/transaction/error.hpp"
#include "ua_impl.hpp"

namespace sipkit::ua {

using parser::header_id;
using parser::message;
using sipkit::dialog::dialog;

// The binding of session::notifier: the machine holds the subscription (dialog, state,
// expiry); this dispatches the SUBSCRIBE to the package's handler, sends what the machine
// says to the dialog's next hop, arms one Asio timer at its next deadline and tells the
// application when it ends.

namespace {

constexpr std::chrono::seconds k_default_expires{3600};  // when SUBSCRIBE has no Expires

std::string event_package(const message& m) {
  auto e = m.get(header_id::event);
  if (!e) return {};
  std::string_view v = e->substr(0, e->find(';'));
  while (!v.empty() && (v.back() == ' ' || v.back() == '\t')) v.remove_suffix(1);
  return std::string(v);
}

}  // namespace

void subscription_binding::on_new_subscribe(tx::transaction_id id, const message& req,
                                            const tx::endpoint& source) {
  const std::string event = event_package(req);
  auto h = subscribe_handlers_.find(event);
  if (event.empty() || h == subscribe_handlers_.end()) {
    // §8.2.4 / §4.2.1.1: 489 Bad Event, listing what we do support.
    auto rsp = ua_.response_to(req, 489, ua_.random_token(10));
    std::string allow;
    for (const auto& [name, fn] : subscribe_handlers_) allow += (allow.empty() ? "" : ", ") + name;
    if (!allow.empty()) rsp.add(header_id::allow_events, allow);
    return ua_.respond(id, std::move(rsp));
  }
  auto n = std::make_shared<detail::notifier_impl>();
  n->ua = &ua_;
  n->subscriber = std::string(req.get(header_id::from).value_or(""));
  n->request_body = std::string(req.body());
  n->peer = source;
  n->local_tag = ua_.random_token(10);
  session::notifier::options o;
  o.contact = ua_.contact_for(source);
  o.local_tag = n->local_tag;
  o.default_expires = k_default_expires;
  n->machine.emplace(req, id, std::move(o));
  notifiers_.insert(n);
  auto handler = h->second;
  handler(notifier(n));
  if (!n->answered) {
    ua_.config_.log.log(log_level::warning, "ua",
                        "the " + event + " handler did not ua_.answer: 500");
    ua_.respond(id, ua_.response_to(req, 500, n->local_tag));
    n->ended = true;
    notifiers_.erase(n);
  }
}

std::error_code subscription_binding::accept_subscription(const notifier_ptr& n,
                                                          std::string_view ct,
                                                          std::string_view body, bool pending) {
  if (n->answered || n->ended) return make_error_code(errc::invalid_state);
  session::notifier::actions actions;
  auto ec = n->machine->accept(pending, ct, body, std::chrono::steady_clock::now(), actions);
  if (ec == session::error::invalid_state) return make_error_code(errc::invalid_state);
  n->answered = true;
  run_notifier(n, std::move(actions));
  return ec ? make_error_code(errc::invalid_state) : std::error_code{};
}

const continuation notify_then{
    .on_response =
        [](impl& ua, client_op& op, tx::transaction_id, const message& rsp) {
          const int code = rsp.status_code();
          if (code < 200) return;
          // RFC 6665 §4.2.2: a 481 (or any other rejection) ends the subscription.
          if (code >= 300 && op.notifier) ua.subscription_.end_notifier(op.notifier, "noresource");
          op.done.complete(code < 300 ? std::error_code{} : make_error_code(errc::rejected), code);
        },
    .on_failure =
        [](impl& ua, client_op& op, tx::transaction_id, std::error_code ec) {
          if (op.notifier) ua.subscription_.end_notifier(op.notifier, "timeout");
          op.done.complete(ec, 0);
        },
    .answers_challenges = true,
};

void subscription_binding::run_notifier(const notifier_ptr& n_ref,
                                        session::notifier::actions actions, status_handler done) {
  const notifier_ptr n = n_ref;  // the reference may live in a table erased below
  using machine = session::notifier;
  for (auto& action : actions) {
    if (!n->dialog_key && !n->ended)
      if (const auto* d = n->machine->usage_dialog()) {
        n->dialog_key = d->id();
        ua_.usages_.emplace(d->id(), n);
      }
    if (auto* send = std::get_if<machine::send_request>(&action)) {
      const auto* d = n->machine->usage_dialog();
      auto dest = d ? ua_.hop_of(n->peer, {}, "subscription " + std::string(d->id().call_id), d->next_hop_uri()) : std::nullopt;
      if (!dest) {
        done.complete(make_error_code(errc::bad_target), 0);
        continue;
      }
      client_op op;
      op.then = &notify_then;
      op.notifier = n;
      op.request = send->request;
      op.done = std::move(done);
      ua_.start(std::move(send->request), {*dest}, std::move(op));
    } else if (auto* rsp = std::get_if<machine::send_response>(&action)) {
      ua_.add_common_headers(rsp->response);
      ua_.respond(rsp->id, std::move(rsp->response));
    } else if (auto* e = std::get_if<machine::ended>(&action)) {
      finish_notifier(n, e->reason);
    }
  }
  done.complete(make_error_code(errc::invalid_state), 0);  // no NOTIFY went out for it
  arm_notifier(n);
}

void subscription_binding::arm_notifier(const notifier_ptr& n) {
  auto deadline = n->machine && !n->ended ? n->machine->next_deadline() : std::nullopt;
  if (!deadline) {
    if (n->timer) n->timer->cancel();
    return;
  }
  if (!n->timer) n->timer = std::make_unique<boost::asio::steady_timer>(ua_.io_);
  n->timer->expires_at(*deadline);
  std::weak_ptr<detail::notifier_impl> weak = n;
  n->timer->async_wait([this, weak](boost::system::error_code ec) {
    auto sub = weak.lock();
    if (ec || !sub || sub->ended) return;
    run_notifier(sub, sub->machine->on_timer(std::chrono::steady_clock::now()));
  });
}

bool detail::notifier_impl::on_request(const std::shared_ptr<usage>& self, tx::transaction_id tid,
                                       const message& req, const sipkit::dialog::dialog_id_view&) {
  if (req.method() != parser::method::subscribe || !machine) return false;
  ua->subscription_.run_notifier(std::static_pointer_cast<notifier_impl>(self),
                                 machine->on_subscribe(tid, req, std::chrono::steady_clock::now()));
  return true;
}

void subscription_binding::end_notifier(const notifier_ptr& n_ref, std::string_view reason) {
  const notifier_ptr n = n_ref;
  if (n->ended) return;
  // user_agent.cpp's dispatch hands over only what happened to the NOTIFY: a refusal
  // ("noresource", §4.2.2) or a failure ("timeout").
  const auto now = std::chrono::steady_clock::now();
  if (reason == "timeout")
    run_notifier(n, n->machine->on_notify_failure(tx::error::timeout, now));
  else
    run_notifier(n, n->machine->on_notify_response(message::response(481), now));
  finish_notifier(n, reason);  // in case the machine had ended already
}

void subscription_binding::finish_notifier(const notifier_ptr& n_ref, std::string_view reason) {
  const notifier_ptr n = n_ref;
  if (n->ended) return;
  n->ended = true;
  if (n->timer) n->timer->cancel();
  if (n->dialog_key) ua_.usages_.erase(*n->dialog_key);
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
  return impl_ && impl_->machine ? std::string_view(impl_->machine->event()) : std::string_view{};
}
std::string_view notifier::subscriber() const noexcept {
  return impl_ ? std::string_view(impl_->subscriber) : std::string_view{};
}
std::string_view notifier::request_body() const noexcept {
  return impl_ ? std::string_view(impl_->request_body) : std::string_view{};
}
subscription_state notifier::state() const noexcept {
  if (!impl_ || !impl_->machine || impl_->ended) return subscription_state::terminated;
  switch (impl_->machine->current_state()) {
    case session::notifier::state::subscribe_received:
      return subscription_state::requested;
    case session::notifier::state::pending:
      return subscription_state::pending;
    case session::notifier::state::active:
      return subscription_state::active;
    case session::notifier::state::terminated:
      return subscription_state::terminated;
  }
  return subscription_state::terminated;
}
std::error_code notifier::accept(std::string_view content_type, std::string_view body,
                                 bool pending) {
  return live(impl_).ua->subscription_.accept_subscription(impl_, content_type, body, pending);
}
std::error_code notifier::reject(int code) {
  auto& n = live(impl_);
  if (n.answered || n.ended) return make_error_code(errc::invalid_state);
  session::notifier::actions actions;
  if (n.machine->reject(code, actions)) return make_error_code(errc::invalid_state);
  n.answered = true;
  n.ua->subscription_.run_notifier(impl_, std::move(actions));
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
  session::notifier::actions actions;
  const auto now = std::chrono::steady_clock::now();
  if (n.ended || !n.answered ||
      (terminate ? n.machine->terminate(reason, now, actions)
                 : n.machine->notify(content_type, body, now, actions)))
    return done.complete(make_error_code(errc::invalid_state), 0);
  n.ua->subscription_.run_notifier(impl_, std::move(actions), std::move(done));
}

}  // namespace sipkit::ua
