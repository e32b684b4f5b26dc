// The subscriber side of RFC 6665 (SUBSCRIBE, NOTIFY handling, refresh, unsubscribe) and
// the subscription handle.
#include <stdexcept>

#include "header_values.hpp"
#include "sipkit/parser/uri.hpp"
#include "ua_impl.hpp"

namespace sipkit::ua {

using parser::header_id;
using parser::message;
using sipkit::dialog::dialog;

std::string_view to_string(subscription_state s) noexcept {
  switch (s) {
    case subscription_state::requested:
      return "requested";
    case subscription_state::pending:
      return "pending";
    case subscription_state::active:
      return "active";
    case subscription_state::terminated:
      return "terminated";
  }
  return "";
}

namespace {

// RFC 6665 §8.2.3: substate-value *( SEMI subexp-params ).
struct subscription_state_header {
  subscription_state state = subscription_state::active;
  std::string_view reason;
  std::optional<std::chrono::seconds> expires;
};

std::optional<subscription_state_header> read_subscription_state(const message& notify) {
  auto value = notify.get("Subscription-State");
  if (!value) return std::nullopt;
  std::string_view v = *value;
  const auto semi = v.find(';');
  std::string_view token = v.substr(0, semi);
  while (!token.empty() && (token.back() == ' ' || token.back() == '\t')) token.remove_suffix(1);
  subscription_state_header out;
  if (parser::iequals(token, "active"))
    out.state = subscription_state::active;
  else if (parser::iequals(token, "pending"))
    out.state = subscription_state::pending;
  else if (parser::iequals(token, "terminated"))
    out.state = subscription_state::terminated;
  else
    return std::nullopt;  // §8.2.3 allows extensions; we cannot act on them
  if (semi != std::string_view::npos) {
    parser::param_list params(v.substr(semi + 1));
    if (auto r = params.find("reason")) out.reason = r->value;
    if (auto e = params.find("expires"))
      out.expires = delta_seconds(e->value).value_or(std::chrono::seconds(0));
  }
  return out;
}

}  // namespace

subscription user_agent::impl::subscribe(subscribe_options options) {
  auto s = std::make_shared<detail::subscription_impl>();
  s->ua = this;
  s->options = std::move(options);
  s->call_id = random_token(20);
  s->from_tag = random_token(10);
  subscriptions_.emplace(s->call_id, s);
  subscription handle(s);
  parser::uri_view uri;
  if (s->options.event.empty() || parser::parse_uri(s->options.target, uri) || !uri.is_sip()) {
    boost::asio::post(io_, [this, alive = std::weak_ptr<int>(lifetime_), s] {
      if (!alive.expired()) end_subscription(s, 0, "rejected", make_error_code(errc::bad_target));
    });
    return handle;
  }
  s->first_hop_host = std::string(uri.host);
  send_subscribe(s, false);
  return handle;
}

void user_agent::impl::send_subscribe(const sub_ptr& s, bool unsubscribe) {
  const auto expires = unsubscribe ? std::string("0") : std::to_string(s->options.expires.count());
  auto finish = [&](message req, std::vector<tx::endpoint> targets) {
    req.add(header_id::event, s->options.event);
    req.add(header_id::expires, expires);
    if (!s->options.accept.empty()) req.add("Accept", s->options.accept);
    if (!s->options.body.empty()) req.set_body(s->options.body, s->options.content_type);
    client_op op;
    op.kind = op_kind::subscribe;
    op.subscription = s;
    op.request = req;
    start(std::move(req), std::move(targets), std::move(op));
  };
  if (s->dialog_key) {  // refresh or unsubscribe inside the dialog (§4.1.2.2, §4.1.2.3)
    auto* e = subscriber_dialogs_.find(*s->dialog_key);
    if (!e) return end_subscription(s, 0, "noresource");
    auto dest = hop_of(s->peer, s->first_hop_host, "subscription " + s->call_id, e->dialog);
    if (!dest) return end_subscription(s, 0, "noresource", make_error_code(errc::bad_target));
    return finish(e->dialog.make_request("SUBSCRIBE"), {*dest});
  }
  locate(s->options.target,
         [this, s, finish](std::error_code ec, std::vector<tx::endpoint> targets) {
           if (ec || targets.empty())
             return end_subscription(s, 0, "rejected", ec ? ec : make_error_code(errc::bad_target));
           const std::string local = sent_by(targets.front());
           if (local.empty())
             return end_subscription(s, 0, "rejected", make_error_code(errc::bad_target));
           s->peer = targets.front();
           auto req = message::request("SUBSCRIBE", s->options.target);
           req.add(header_id::max_forwards, "70");
           req.add(header_id::from, "<sip:" + config_.user + "@" +
                                        (config_.domain.empty() ? local : config_.domain) +
                                        ">;tag=" + s->from_tag);
           req.add(header_id::to, "<" + s->options.target + ">");
           req.add(header_id::call_id, s->call_id);
           req.add(header_id::cseq, "1 SUBSCRIBE");
           req.add(header_id::contact, contact_for(targets.front()));
           s->subscribe = req;  // without Event/Expires: create_* need only the dialog headers
           finish(std::move(req), std::move(targets));
         });
}

void user_agent::impl::on_subscribe_response(client_op& op, const message& rsp) {
  auto s = op.subscription;
  const int code = rsp.status_code();
  if (!s || code < 200 || s->state == subscription_state::terminated) return;
  if (code >= 300) {
    // A refused refresh ends it too (§4.1.2.2: 481 means the subscription is gone).
    return end_subscription(s, code, s->dialog_key ? "noresource" : "rejected",
                            make_error_code(errc::rejected));
  }
  if (!s->dialog_key && s->subscribe) {
    if (auto* e = subscriber_dialogs_.find_for_response(rsp)) {
      s->dialog_key = e->dialog.id();  // an early NOTIFY made it already
    } else if (auto d = dialog::create_uac(*s->subscribe, rsp)) {
      s->dialog_key = d->id();
      subscriber_dialogs_.insert(std::move(*d), s);
    }
  } else if (auto* e = s->dialog_key ? subscriber_dialogs_.find(*s->dialog_key) : nullptr;
             e && op.request) {
    e->dialog.on_response(*op.request, rsp);
  }
  if (s->unsubscribing) {
    s->unsubscribe_done.complete(std::error_code{}, code);
    return;  // the final NOTIFY ends it
  }
  // §4.1.2.1: the 2xx's Expires is what the notifier granted.
  const auto granted =
      delta_seconds(rsp.get(header_id::expires).value_or("")).value_or(s->options.expires);
  arm_subscription_refresh(s, granted);
}

void user_agent::impl::arm_subscription_refresh(const sub_ptr& s, std::chrono::seconds expires) {
  if (expires.count() <= 0) return;
  if (!s->timer) s->timer = std::make_unique<boost::asio::steady_timer>(io_);
  const auto margin = std::min(s->options.refresh_margin, expires / 2);
  s->timer->expires_after(std::max(std::chrono::seconds(1), expires - margin));
  std::weak_ptr<detail::subscription_impl> weak = s;
  s->timer->async_wait([this, weak](boost::system::error_code ec) {
    auto sub = weak.lock();
    if (ec || !sub || sub->unsubscribing || sub->state == subscription_state::terminated) return;
    send_subscribe(sub, false);
  });
}

bool user_agent::impl::early_notify(tx::transaction_id id, const message& req) {
  if (req.method() != parser::method::notify) return false;
  auto it = subscriptions_.find(std::string(req.call_id()));
  auto to = req.to();
  if (it == subscriptions_.end() || !to || to->tag != it->second->from_tag ||
      !it->second->subscribe)
    return false;
  auto s = it->second;
  auto d = dialog::create_from_notify(*s->subscribe, req);
  if (!d) return false;
  auto [e, inserted] = subscriber_dialogs_.insert(std::move(*d), s);
  if (!e) return false;
  if (!s->dialog_key) s->dialog_key = e->dialog.id();
  on_subscriber_notify(id, req, s, e->dialog);
  return true;
}

void user_agent::impl::on_subscriber_notify(tx::transaction_id id, const message& req,
                                            const sub_ptr& s, dialog& d) {
  if (int code = d.on_request(req)) return respond(id, response_to(req, code));
  auto st = read_subscription_state(req);
  if (!st) return respond(id, response_to(req, 400));  // §8.2.3: required in NOTIFY
  auto event = req.get(header_id::event);
  if (!event || !parser::iequals(event->substr(0, event->find(';')), s->options.event))
    return respond(id, response_to(req, 489));  // §4.1.3: not the package we asked for
  respond(id, response_to(req, 200));
  s->state = st->state;
  notify_event ev;
  ev.state = st->state;
  ev.reason = st->reason;
  ev.expires = st->expires.value_or(std::chrono::seconds(0));
  ev.content_type = req.get(header_id::content_type).value_or("");
  ev.body = req.body();
  if (s->on_notify) {
    auto handler = s->on_notify;
    handler(ev);
  }
  if (st->state == subscription_state::terminated) {
    end_subscription(s, 0, st->reason);
    return;
  }
  // §4.1.2.2: a shorter expiry in the NOTIFY moves the refresh earlier.
  if (st->expires && !s->unsubscribing) arm_subscription_refresh(s, *st->expires);
}

void user_agent::impl::end_subscription(const sub_ptr& s_ref, int status, std::string_view reason,
                                        std::error_code ec) {
  const sub_ptr s = s_ref;  // the reference may live in a table erased below
  if (s->ended) return;
  s->ended = true;
  // A NOTIFY with "terminated" has told the application already.
  const bool notified = s->state == subscription_state::terminated;
  s->state = subscription_state::terminated;
  if (status) s->final_status = status;
  if (s->timer) s->timer->cancel();
  if (s->dialog_key) subscriber_dialogs_.erase(*s->dialog_key);
  subscriptions_.erase(s->call_id);
  s->unsubscribe_done.complete(ec ? ec : std::error_code{}, status);
  if (!notified && s->on_notify) {  // tell the application once, also without a NOTIFY
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
                                                     std::string_view what, const dialog& d) const {
  const std::string uri = d.next_hop_uri();
  if (auto ep = endpoint_of(uri, peer.protocol)) return ep;
  parser::uri_view u;
  if (!parser::parse_uri(uri, u) && parser::iequals(u.host, first_hop_host)) return peer;
  config_.log.log(log_level::warning, "ua", "no address for " + uri + " in " + std::string(what));
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
  if (s.state == subscription_state::terminated || s.unsubscribing || !s.dialog_key)
    return done.complete(make_error_code(errc::invalid_state), 0);
  if (s.timer) s.timer->cancel();
  s.unsubscribing = true;
  s.unsubscribe_done = std::move(done);
  s.ua->send_subscribe(impl_, true);
}

}  // namespace sipkit::ua
