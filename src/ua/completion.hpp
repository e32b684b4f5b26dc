// Private: a pending completion of a UA operation.
//
// The public headers hand every operation's handler over as a
// boost::asio::any_completion_handler (type-erased, move-only; use_awaitable's and
// use_future's handlers are move-only). This wrapper adds the two rules the UA keeps:
// the handler runs through asio::post — never inline, so a completion never re-enters
// the code that caused it — on the handler's associated executor, or the stack's executor
// when it has none; and completing an empty (or already completed) handler does nothing.
#pragma once

#include <boost/asio/any_completion_handler.hpp>
#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/post.hpp>
#include <tuple>
#include <utility>

namespace sipkit::ua::detail {

template <class Signature>
class any_handler;

template <class... Args>
class any_handler<void(Args...)> {
 public:
  any_handler() = default;
  any_handler(boost::asio::any_completion_handler<void(Args...)> h,
              boost::asio::any_io_executor stack_executor)
      : handler_(std::move(h)), stack_executor_(std::move(stack_executor)) {}

  // Boost 1.81's any_completion_handler move assignment wraps the source in a new
  // handler instead of moving it (its operator= passes an lvalue to the converting
  // constructor; fixed in 1.82): an assigned-to handler would crash when destroyed or
  // called. So this class moves by construction and swap only.
  any_handler(any_handler&& other) noexcept
      : handler_(std::move(other.handler_)), stack_executor_(std::move(other.stack_executor_)) {}
  any_handler& operator=(any_handler&& other) noexcept {
    boost::asio::any_completion_handler<void(Args...)> taken(std::move(other.handler_));
    handler_.swap(taken);
    stack_executor_ = std::move(other.stack_executor_);
    return *this;
  }

  explicit operator bool() const noexcept { return static_cast<bool>(handler_); }

  /// Posts the completion; the handler is consumed. No-op when empty.
  void complete(Args... args) {
    if (!handler_) return;
    // post(executor, handler) runs on `executor` and then on the handler's own associated
    // executor when it has one (a strand, a coroutine's executor), tracking work meanwhile.
    boost::asio::post(stack_executor_,
                      [h = std::move(handler_), t = std::make_tuple(std::move(args)...)]() mutable {
                        std::apply(std::move(h), std::move(t));
                      });
    handler_ = {};
  }

 private:
  boost::asio::any_completion_handler<void(Args...)> handler_;
  boost::asio::any_io_executor stack_executor_;
};

}  // namespace sipkit::ua::detail
