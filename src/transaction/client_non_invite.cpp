// NICT, RFC 3261 §17.1.2.2 and Figure 6.
#include "sipkit/transaction/client_non_invite.hpp"

#include <utility>

#include "sipkit/transaction/error.hpp"
#include "transaction/backoff.hpp"
#include "transaction/exact_size.hpp"

namespace sipkit::transaction {

client_non_invite::client_non_invite(parser::message request, bool reliable,
                                     const timer_config& config)
    : request_(std::move(request)), config_(&config), reliable_(reliable) {}

duration client_non_invite::next_e_interval() noexcept {
  // §17.1.2.2: in Trying E doubles from T1 up to T2; in Proceeding it is T2.
  if (state_ == state::proceeding) return config_->t2;
  return detail::backoff(config_->t1, e_fired_, config_->t2);
}

action_list client_non_invite::start(time_point now) {
  action_list out;
  out.send(request_);
  if (!reliable_) out.start(timer::e, now + config_->t1);
  out.start(timer::f, now + config_->timeout());
  return out;
}

action_list client_non_invite::handle(const response_received& e, time_point now) {
  action_list out;
  if (state_ != state::trying && state_ != state::proceeding) return out;  // Completed absorbs
  const int code = e.response.status_code();
  if (code >= 100 && code <= 199) {
    state_ = state::proceeding;
    out.pass(e.response);
    return out;
  }
  if (code < 200 || code > 699) return out;
  if (!reliable_) out.stop(timer::e);
  out.stop(timer::f);
  if (reliable_) {
    // Timer K is zero on reliable transports: Completed is left at once.
    state_ = state::terminated;
    out.pass(e.response);
    out.terminate();
  } else {
    state_ = state::completed;
    out.start(timer::k, now + config_->t4);
    out.pass(e.response);
  }
  return out;
}

action_list client_non_invite::handle(const timer_fired& e, time_point now) {
  action_list out;
  switch (e.which) {
    case timer::e:
      if (state_ != state::trying && state_ != state::proceeding) break;
      detail::bump(e_fired_);
      out.send(request_);
      out.start(timer::e, now + next_e_interval());
      break;
    case timer::f:
      if (state_ != state::trying && state_ != state::proceeding) break;
      if (!reliable_) out.stop(timer::e);
      state_ = state::terminated;
      out.inform(make_error_code(error::timeout));
      out.terminate();
      break;
    case timer::k:
      if (state_ != state::completed) break;
      state_ = state::terminated;
      out.terminate();
      break;
    default:
      break;
  }
  return out;
}

action_list client_non_invite::handle(const transport_failed& e, time_point) {
  action_list out;
  if (state_ != state::trying && state_ != state::proceeding) return out;
  if (!reliable_) out.stop(timer::e);
  out.stop(timer::f);
  state_ = state::terminated;
  out.inform(e.code ? e.code : make_error_code(error::transport_failure));
  out.terminate();
  return out;
}

void client_non_invite::compact() { detail::to_exact_size(request_); }

}  // namespace sipkit::transaction
