// Binds a transaction manager to an Asio executor and one asio::steady_timer.
//
//   boost::asio::io_context io;
//   sipkit::transport::manager net(io, transport_cfg);  // UDP/TCP/TLS sockets
//   transaction::network_transport tp(net);    // implements transaction::transport
//   my_core core;                              // implements transaction::transaction_user
//   transaction::asio_adapter stack(io.get_executor(), tp, core);
//   tp.set_receiver(stack);                    // the transport calls stack.on_receive(...)
//   net.start();
//   stack.start_client(std::move(request), target);
//   io.run();
//
// The adapter is the only place where the transaction layer meets a real clock: each
// entry point reads std::chrono::steady_clock::now(), calls the manager, and then moves the
// single timer (a deadline_timer: expiries within a few milliseconds share one wake-up)
// to manager::next_deadline(). When it fires, manager::on_timer(now) runs on the executor.
//
// Ownership: the adapter owns the manager; `transport` and `tu` must outlive it.
// Destroying the adapter cancels its timer; a timer completion already queued is ignored.
// Thread safety: none of its own. Every call (including the transport's on_receive and
// on_send_error) must run on the executor given to the constructor, which must be
// single-threaded or a strand: this is how one stack instance per core is meant to run.
// Errors: as manager.hpp; the timer's own errors cannot occur except cancellation.
#pragma once

#include <boost/asio/any_io_executor.hpp>
#include <optional>
#include <system_error>
#include <utility>
#include <vector>

#include "sipkit/transaction/deadline_timer.hpp"
#include "sipkit/transaction/manager.hpp"
#include "sipkit/transaction/transport.hpp"

namespace sipkit::transaction {

class asio_adapter final : public transport_receiver {
 public:
  /// `timer_grain`: the coalescing window of the adapter's timer (deadline_timer.hpp).
  asio_adapter(boost::asio::any_io_executor executor, transport& tp, transaction_user& tu,
               manager_config config = {}, duration timer_grain = default_timer_grain);
  ~asio_adapter() override = default;
  asio_adapter(const asio_adapter&) = delete;
  asio_adapter& operator=(const asio_adapter&) = delete;

  /// The manager, for inspection. Call the mutating operations through the adapter (or
  /// through with_manager) so that the timer follows.
  manager& get() noexcept { return manager_; }

  /// Run `f(manager&, now)` and then re-arm the timer; returns what `f` returns.
  template <class F>
  decltype(auto) with_manager(F&& f) {
    struct rearm_on_exit {
      asio_adapter* self;
      ~rearm_on_exit() { self->rearm(); }
    } guard{this};
    return std::forward<F>(f)(manager_, clock_type::now());
  }

  start_result start_client(parser::message request, std::vector<endpoint> targets);
  start_result start_client(parser::message request, endpoint target);
  start_result start_client(parser::message request, manager::target_source next);
  start_result cancel(transaction_id invite, message_edit edit = {});
  std::error_code respond(transaction_id id, parser::message response);
  /// manager::send_stateless with the current time (the amplification ledger's clock).
  std::error_code send_stateless(const parser::message& msg, const endpoint& destination);

  // transport_receiver
  void on_receive(parser::message msg, const endpoint& source) override;
  void on_send_error(transaction_id origin, std::error_code ec) override;

  boost::asio::any_io_executor get_executor() noexcept { return timer_.get_executor(); }

 private:
  void rearm() { timer_.follow(manager_.next_deadline()); }

  manager manager_;
  deadline_timer timer_;  // after manager_: destroyed first, so no completion sees a dead manager
};

}  // namespace sipkit::transaction
