#include "sipkit/transaction/asio_adapter.hpp"

namespace sipkit::transaction {

asio_adapter::asio_adapter(boost::asio::any_io_executor executor, transport& tp,
                           transaction_user& tu, manager_config config, duration timer_grain)
    : manager_(tp, tu, std::move(config)),
      timer_(std::move(executor),
             [this] {
               manager_.on_timer(clock_type::now());
               rearm();
             },
             timer_grain) {}

start_result asio_adapter::start_client(parser::message request, std::vector<endpoint> targets) {
  return with_manager([&](manager& m, time_point now) {
    return m.start_client(std::move(request), std::move(targets), now);
  });
}

start_result asio_adapter::start_client(parser::message request, endpoint target) {
  return with_manager([&](manager& m, time_point now) {
    return m.start_client(std::move(request), std::move(target), now);
  });
}

start_result asio_adapter::start_client(parser::message request, manager::target_source next) {
  return with_manager([&](manager& m, time_point now) {
    return m.start_client(std::move(request), std::move(next), now);
  });
}

start_result asio_adapter::cancel(transaction_id invite, message_edit edit) {
  return with_manager([&](manager& m, time_point now) { return m.cancel(invite, now, edit); });
}

std::error_code asio_adapter::respond(transaction_id id, parser::message response) {
  return with_manager(
      [&](manager& m, time_point now) { return m.respond(id, std::move(response), now); });
}

std::error_code asio_adapter::send_stateless(const parser::message& msg,
                                             const endpoint& destination) {
  return manager_.send_stateless(msg, destination, clock_type::now());  // arms no timer
}

void asio_adapter::on_receive(parser::message msg, const endpoint& source) {
  with_manager([&](manager& m, time_point now) { m.on_receive(std::move(msg), source, now); });
}

void asio_adapter::on_send_error(transaction_id origin, std::error_code ec) {
  with_manager([&](manager& m, time_point now) { m.on_send_error(origin, ec, now); });
}

}  // namespace sipkit::transaction
