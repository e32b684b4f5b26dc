// The pull-style event queue (user_agent::async_next_event) and the handlers that feed it
// (event_queue.hpp), plus the public entry points of the hooks and the queue.
#include "event_queue.hpp"

#include "ua_impl.hpp"

namespace sipkit::ua {

namespace detail {

namespace {

// The pulled event's own copy of the message a handler would see for the time of the call
// only. One copy, shared by copies of the event; only these pushers make it, and they are
// installed only when the queue is on.
std::shared_ptr<const parser::message> keep(const parser::message* m) {
  return m ? std::make_shared<const parser::message>(*m) : nullptr;
}

/// The event's texts as views into its own copy of the message (agent_event's doc): every
/// event that has a body or a Content-Type takes them from the message it carries.
void view_texts(agent_event& e, std::string_view content_type, std::string_view body) {
  if (!e.message) return;
  if (!content_type.empty())
    e.content_type = e.message->get(parser::header_id::content_type).value_or("");
  if (!body.empty()) e.body = e.message->body();
}

}  // namespace

event_queue::~event_queue() {
  for (auto& w : waiters_) w.complete(std::make_error_code(std::errc::operation_canceled), {});
}

bool event_queue::push(agent_event e) {
  if (!waiters_.empty()) {
    waiter w = std::move(waiters_.front());
    waiters_.pop_front();
    w.complete(std::error_code{}, std::move(e));
    return true;
  }
  if (events_.size() >= capacity_) {
    ++dropped_;
    log_.log("event queue full", log_level::warning,
             "event queue full (" + std::to_string(capacity_) +
                 " events, ua_config::event_queue): event dropped");
    return false;
  }
  events_.push_back(std::move(e));
  return true;
}

void event_queue::next(waiter w) {
  if (!enabled()) return w.complete(make_error_code(errc::invalid_state), {});
  if (events_.empty()) {
    waiters_.push_back(std::move(w));
    return;
  }
  agent_event e = std::move(events_.front());
  events_.pop_front();
  w.complete(std::error_code{}, std::move(e));
}

std::function<void(call)> queue_incoming_calls(user_agent::impl& ua) {
  return [&ua](call c) {
    agent_event e;
    e.what = agent_event::kind::incoming_call;
    e.call = c;
    if (!ua.events_.push(std::move(e))) {
      (void)c.reject(480);  // as without a handler
      return;
    }
    // Its events follow it into the queue until the application sets on_event.
    c.detail_impl()->events = queue_call_events(ua, c.detail_impl());
  };
}

std::function<void(const call_event&)> queue_call_events(user_agent::impl& ua,
                                                         const std::shared_ptr<call_impl>& c) {
  // Weak: the call keeps this handler, which must not keep the call.
  return [&ua, weak = std::weak_ptr<call_impl>(c)](const call_event& ev) {
    auto live = weak.lock();
    if (!live) return;
    agent_event e;
    e.what = agent_event::kind::call;
    e.call = call(live);
    e.call_what = ev.what;
    e.state = ev.state;
    e.status = ev.status;
    e.target = ev.target;
    e.message = keep(ev.message);
    view_texts(e, ev.content_type, ev.body);
    (void)ua.events_.push(std::move(e));
  };
}

std::function<void(const registration_event&)> queue_registration_events(
    user_agent::impl& ua, const std::shared_ptr<registration_impl>& r) {
  return [&ua, weak = std::weak_ptr<registration_impl>(r)](const registration_event& ev) {
    auto live = weak.lock();
    if (!live) return;
    agent_event e;
    e.what = agent_event::kind::registration;
    e.registration = registration(live);
    e.registration_info = ev;
    e.message = keep(ev.message);
    e.registration_info.message = e.message.get();  // into the event's own copy
    (void)ua.events_.push(std::move(e));
  };
}

std::function<void(const notify_event&)> queue_notifications(
    user_agent::impl& ua, const std::shared_ptr<subscription_impl>& s) {
  return [&ua, weak = std::weak_ptr<subscription_impl>(s)](const notify_event& ev) {
    auto live = weak.lock();
    if (!live) return;
    agent_event e;
    e.what = agent_event::kind::subscription;
    e.subscription = subscription(live);
    e.notify_state = ev.state;
    e.reason = ev.reason;
    e.expires = ev.expires;
    e.message = keep(ev.message);
    view_texts(e, ev.content_type, ev.body);
    (void)ua.events_.push(std::move(e));
  };
}

std::function<void(const message_event&)> queue_messages(user_agent::impl& ua) {
  return [&ua](const message_event& ev) {
    agent_event e;
    e.what = agent_event::kind::message;
    e.from = ev.from;
    e.to = ev.to;
    e.source = ev.source;
    e.message = keep(ev.request);
    view_texts(e, ev.content_type, ev.body);
    e.request = e.message;
    (void)ua.events_.push(std::move(e));
  };
}

}  // namespace detail

// ------------------------------------------------------------------ public surface

void user_agent::on_outgoing(std::function<void(parser::message&)> hook) {
  impl_->outgoing_hook_ = std::move(hook);
}

void user_agent::on_incoming(std::function<void(const parser::message&)> hook) {
  impl_->incoming_tap_.hook = std::move(hook);
  // The tap sits between the transport and the transaction layer only while it has work.
  if (impl_->incoming_tap_.hook)
    impl_->transport_.set_receiver(impl_->incoming_tap_);
  else
    impl_->transport_.set_receiver(impl_->stack_);
}

void user_agent::next_event_impl(
    boost::asio::any_completion_handler<void(std::error_code, agent_event)> h) {
  impl_->events_.next({std::move(h), executor()});
}

std::uint64_t user_agent::events_dropped() const noexcept { return impl_->events_.dropped(); }

std::size_t user_agent::events_queued() const noexcept { return impl_->events_.size(); }

}  // namespace sipkit::ua
