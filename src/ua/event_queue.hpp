// Private: the agent's queue of events for user_agent::async_next_event, and the hooks
// (on_outgoing / on_incoming). See user_agent.hpp for what reaches the queue.
//
// The queue holds at most ua_config::event_queue events; waiters (the pending
// async_next_event completions) are served first-come first-served, each event going to
// the oldest waiter or, when none waits, to the back of the queue. A full queue drops the
// new event (counted, logged through the agent's logger, rate-limited): an incoming call
// that cannot be queued is answered 480 by the caller of push().
// The "pushers" are the handlers the agent installs where the application set none: they
// turn each kind of event into an agent_event. Thread safety: none (the agent's thread).
#pragma once

#include <cstdint>
#include <deque>
#include <functional>
#include <memory>

#include "sipkit/transaction/transport.hpp"
#include "usages.hpp"

namespace sipkit::ua::detail {

class event_queue {
 public:
  using waiter = any_handler<void(std::error_code, agent_event)>;

  event_queue(std::size_t capacity, log_throttle& log) : capacity_(capacity), log_(log) {}
  ~event_queue();
  event_queue(const event_queue&) = delete;
  event_queue& operator=(const event_queue&) = delete;

  bool enabled() const noexcept { return capacity_ > 0; }
  /// Hands `e` to the oldest waiter, else queues it; false when it was dropped.
  bool push(agent_event e);
  /// The next event for `w`: at once (posted) when one is queued, else when it comes.
  void next(waiter w);
  std::size_t size() const noexcept { return events_.size(); }
  std::uint64_t dropped() const noexcept { return dropped_; }

 private:
  std::size_t capacity_;
  log_throttle& log_;
  std::deque<agent_event> events_;
  std::deque<waiter> waiters_;
  std::uint64_t dropped_ = 0;
};

// The handlers the agent installs when the application set none (event_queue.cpp).
std::function<void(call)> queue_incoming_calls(user_agent::impl& ua);
std::function<void(const call_event&)> queue_call_events(user_agent::impl& ua,
                                                         const std::shared_ptr<call_impl>& c);
std::function<void(const registration_event&)> queue_registration_events(
    user_agent::impl& ua, const std::shared_ptr<registration_impl>& r);
std::function<void(const notify_event&)> queue_notifications(
    user_agent::impl& ua, const std::shared_ptr<subscription_impl>& s);
std::function<void(const message_event&)> queue_messages(user_agent::impl& ua);

/// Passes every received message to on_incoming's hook, then to the transaction layer.
/// Installed as the transport's receiver only while the hook is set.
class incoming_tap final : public transaction::transport_receiver {
 public:
  explicit incoming_tap(transaction::transport_receiver& next) : next_(next) {}
  void on_receive(parser::message msg, const transaction::endpoint& source) override {
    if (hook) hook(msg);
    next_.on_receive(std::move(msg), source);
  }
  void on_send_error(transaction::transaction_id origin, std::error_code ec) override {
    next_.on_send_error(origin, ec);
  }
  std::function<void(const parser::message&)> hook;

 private:
  transaction::transport_receiver& next_;
};

}  // namespace sipkit::ua::detail
