// Private to the UA headers: a move-only, type-erased completion handler.
//
// Why: Asio completion handlers (use_awaitable's, use_future's) are move-only, and
// std::move_only_function is C++23; Boost 1.74 (Debian 12) has no any_completion_handler.
// The handler is invoked through asio::post on its associated executor (the stack's
// executor by default), never inline, so a completion never re-enters the caller.
#pragma once

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/associated_executor.hpp>
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/post.hpp>
#include <memory>
#include <tuple>
#include <utility>

namespace sipkit::ua::detail {

template <class Signature>
class any_handler;

template <class... Args>
class any_handler<void(Args...)> {
 public:
  any_handler() = default;
  template <class Handler>
  any_handler(Handler&& h, const boost::asio::any_io_executor& fallback)
      : impl_(std::make_unique<model<std::decay_t<Handler>>>(std::forward<Handler>(h), fallback)) {}

  explicit operator bool() const noexcept { return impl_ != nullptr; }

  /// Posts the completion; the handler is consumed. No-op when empty.
  void complete(Args... args) {
    if (!impl_) return;
    auto p = std::move(impl_);
    p->post(std::move(p), std::move(args)...);
  }

 private:
  struct concept_t {
    virtual ~concept_t() = default;
    virtual void post(std::unique_ptr<concept_t> self, Args... args) = 0;
  };
  template <class Handler>
  struct model final : concept_t {
    using executor_type = boost::asio::associated_executor_t<Handler, boost::asio::any_io_executor>;
    model(Handler h, const boost::asio::any_io_executor& fallback)
        : handler(std::move(h)), work(boost::asio::get_associated_executor(handler, fallback)) {}
    void post(std::unique_ptr<concept_t> self, Args... args) override {
      auto ex = work.get_executor();
      boost::asio::post(
          ex, [self = std::move(self), tup = std::make_tuple(std::move(args)...)]() mutable {
            auto* m = static_cast<model*>(self.get());
            Handler h = std::move(m->handler);
            auto moved = std::move(tup);
            self.reset();
            std::apply(std::move(h), std::move(moved));
          });
    }
    Handler handler;
    boost::asio::executor_work_guard<executor_type> work;
  };
  std::unique_ptr<concept_t> impl_;
};

}  // namespace sipkit::ua::detail
