// Binds a proxy::core to an Asio executor and one timer (transaction::deadline_timer): the proxy's
// counterpart of transaction::asio_adapter (target sipkit::proxy_asio; sipkit::proxy
// itself stays I/O-free).
//
//   boost::asio::io_context io;
//   sipkit::transport::manager net(io, transport_cfg);    // UDP/TCP/TLS sockets
//   transaction::network_transport tp(net);               // the manager's transport
//   my_services svc;                                      // proxy::services
//   proxy::asio_adapter px(io.get_executor(), tp, svc, proxy_cfg);
//   svc.adapter = &px;                                    // services answer through px
//   tp.set_receiver(px);                                  // the transport calls px.on_receive
//   net.start();
//   io.run();
//
// The core's driving interface mirrors the transaction manager's (on_receive,
// on_send_error, next_deadline, on_timer). The adapter is the only place where the proxy
// meets a real clock: each entry point reads std::chrono::steady_clock::now(), calls the
// core, then moves the single timer (transaction::deadline_timer, which coalesces
// expiries a few milliseconds apart) to core::next_deadline(); when it fires,
// core::on_timer(now) runs on the executor. Services that answer later (an RFC 3263
// lookup, a database) must answer through set_targets / respond / set_next_hops here (or
// with_core), so that the timer follows; answering from inside services::locate/resolve
// through the adapter is fine too (entry points nest).
//
// Ownership: the adapter owns the core (which owns the transaction manager); `transport`
// and `services` must outlive it. Destroying the adapter cancels its timer; a completion
// already queued is ignored.
// Thread safety: none of its own. Every call, including the transport's on_receive and
// on_send_error, must run on the executor given to the constructor (single-threaded or a
// strand). Run one adapter per thread, each with its own sockets, to use more cores.
// Errors: as core.hpp (refusals are SIP responses); the timer's own errors cannot occur
// except cancellation.
#pragma once

#include <boost/asio/any_io_executor.hpp>
#include <cstdint>
#include <optional>
#include <system_error>
#include <utility>
#include <vector>

#include "sipkit/proxy/core.hpp"
#include "sipkit/transaction/deadline_timer.hpp"
#include "sipkit/transaction/transport.hpp"

namespace sipkit::proxy {

class asio_adapter final : public transaction::transport_receiver {
 public:
  using clock_type = transaction::clock_type;

  asio_adapter(boost::asio::any_io_executor executor, transaction::transport& tp, services& svc,
               config cfg = {}, transaction::manager_config manager_config = {},
               duration timer_grain = transaction::default_timer_grain);
  ~asio_adapter() override = default;
  asio_adapter(const asio_adapter&) = delete;
  asio_adapter& operator=(const asio_adapter&) = delete;

  /// The core, for inspection (statistics, contexts). Drive it through the adapter (or
  /// with_core) so that the timer follows.
  core& get() noexcept { return core_; }
  const core& get() const noexcept { return core_; }

  /// Run `f(core&, now)` and then re-arm the timer; returns what `f` returns.
  template <class F>
  decltype(auto) with_core(F&& f) {
    struct rearm_on_exit {
      asio_adapter* self;
      ~rearm_on_exit() { self->rearm(); }
    } guard{this};
    return std::forward<F>(f)(core_, clock_type::now());
  }

  // services' answers (core.hpp)
  void set_targets(std::uint64_t lookup, std::vector<target> targets,
                   std::optional<fork_mode> mode = std::nullopt);
  void respond(std::uint64_t lookup, parser::message response);
  void set_next_hops(std::uint64_t resolution, std::vector<endpoint> hops);
  void fail_next_hop(std::uint64_t resolution, int status, std::string_view reason = {});

  // transaction::transport_receiver
  void on_receive(parser::message msg, const endpoint& source) override;
  void on_send_error(transaction_id origin, std::error_code ec) override;

  boost::asio::any_io_executor get_executor() noexcept { return timer_.get_executor(); }

 private:
  void rearm() { timer_.follow(core_.next_deadline()); }

  core core_;
  transaction::deadline_timer timer_;  // after core_: destroyed first
};

}  // namespace sipkit::proxy
