// proxy::asio_adapter (asio_adapter.hpp): the proxy core on an Asio executor.
#include "sipkit/proxy/asio_adapter.hpp"

namespace sipkit::proxy {

asio_adapter::asio_adapter(boost::asio::any_io_executor executor, transaction::transport& tp,
                           services& svc, config cfg, transaction::manager_config manager_config,
                           duration timer_grain)
    : core_(tp, svc, std::move(cfg), std::move(manager_config)),
      timer_(std::move(executor),
             [this] {
               core_.on_timer(clock_type::now());
               rearm();
             },
             timer_grain) {}

void asio_adapter::set_targets(std::uint64_t lookup, std::vector<target> targets,
                               std::optional<fork_mode> mode) {
  with_core([&](core& c, time_point now) { c.set_targets(lookup, std::move(targets), now, mode); });
}

void asio_adapter::respond(std::uint64_t lookup, parser::message response) {
  with_core([&](core& c, time_point now) { c.respond(lookup, std::move(response), now); });
}

void asio_adapter::set_next_hops(std::uint64_t resolution, std::vector<endpoint> hops) {
  with_core([&](core& c, time_point now) { c.set_next_hops(resolution, std::move(hops), now); });
}

void asio_adapter::fail_next_hop(std::uint64_t resolution, int status, std::string_view reason) {
  with_core([&](core& c, time_point now) { c.fail_next_hop(resolution, status, reason, now); });
}

void asio_adapter::on_receive(parser::message msg, const endpoint& source) {
  with_core([&](core& c, time_point now) { c.on_receive(std::move(msg), source, now); });
}

void asio_adapter::on_send_error(transaction_id origin, std::error_code ec) {
  with_core([&](core& c, time_point now) { c.on_send_error(origin, ec, now); });
}

}  // namespace sipkit::proxy
