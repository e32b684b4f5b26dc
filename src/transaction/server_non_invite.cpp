// NIST, RFC 3261 §17.2.2 and Figure 8.
#include "sipkit/transaction/server_non_invite.hpp"

#include <utility>

#include "sipkit/transaction/error.hpp"
#include "transaction/exact_size.hpp"

namespace sipkit::transaction {

server_non_invite::server_non_invite(parser::message request, bool reliable,
                                     const timer_config& config)
    : request_(std::move(request)), config_(&config), reliable_(reliable) {}

action_list server_non_invite::start(time_point) {
  action_list out;
  out.pass(request_);
  return out;
}

action_list server_non_invite::handle(const request_received&, time_point) {
  action_list out;
  // Trying: "any further request retransmissions ... MUST be discarded"; Proceeding and
  // Completed re-send the last response.
  if (state_ == state::proceeding || state_ == state::completed) out.send(response_);
  return out;
}

action_list server_non_invite::handle(response_from_tu e, time_point now) {
  action_list out;
  const int code = e.response.status_code();
  if (code < 100 || code > 699) {
    out.error = make_error_code(error::invalid_message);
    return out;
  }
  if (state_ != state::trying && state_ != state::proceeding) {
    out.error = make_error_code(error::invalid_state);
    return out;
  }
  response_ = std::move(e.response);
  out.send(response_);
  if (code < 200) {
    state_ = state::proceeding;
  } else if (reliable_) {
    state_ = state::terminated;  // Timer J is zero on reliable transports
    out.terminate();
  } else {
    state_ = state::completed;
    out.start(timer::j, now + config_->timeout());
  }
  return out;
}

action_list server_non_invite::handle(const timer_fired& e, time_point) {
  action_list out;
  if (e.which == timer::j && state_ == state::completed) {
    state_ = state::terminated;
    out.terminate();
  }
  return out;
}

action_list server_non_invite::handle(const transport_failed& e, time_point) {
  action_list out;
  if (state_ != state::proceeding && state_ != state::completed) return out;
  if (state_ == state::completed && !reliable_) out.stop(timer::j);
  state_ = state::terminated;
  out.inform(e.code ? e.code : make_error_code(error::transport_failure));
  out.terminate();
  return out;
}

void server_non_invite::compact() {
  detail::to_exact_size(request_);
  detail::to_exact_size(response_);
}

}  // namespace sipkit::transaction
