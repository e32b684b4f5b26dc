// IST, RFC 3261 §17.2.1 and Figure 7, with RFC 6026 §7.1 (Accepted, Timer L).
#include "sipkit/transaction/server_invite.hpp"

#include <utility>

#include "sipkit/transaction/error.hpp"
#include "transaction/backoff.hpp"
#include "transaction/exact_size.hpp"

namespace sipkit::transaction {

server_invite::server_invite(parser::message request, bool reliable, const timer_config& config)
    : request_(std::move(request)), config_(&config), reliable_(reliable) {}

action_list server_invite::start(time_point now) {
  action_list out;
  // §17.2.1: send 100 Trying unless the TU answers within 200 ms.
  trying_armed_ = true;
  out.start(timer::trying, now + config_->trying);
  out.pass(request_);
  return out;
}

action_list server_invite::handle(const request_received& e, time_point now) {
  action_list out;
  if (e.request.method() == parser::method::ack) {
    switch (state_) {
      case state::completed:
        if (!reliable_) out.stop(timer::g);
        out.stop(timer::h);
        if (reliable_) {
          state_ = state::terminated;  // Timer I is zero on reliable transports
          out.terminate();
        } else {
          state_ = state::confirmed;
          out.start(timer::i, now + config_->t4);
        }
        break;
      case state::accepted:
        out.pass(e.request);  // RFC 6026 §7.1: the ACK for the 2xx goes to the TU
        break;
      default:
        break;  // Confirmed absorbs ACK retransmissions; Proceeding has nothing to ack
    }
    return out;
  }
  // An INVITE retransmission.
  switch (state_) {
    case state::proceeding:
      // §17.2.1: the most recent provisional response, if any was sent.
      if (response_.status_code() != 0) out.send(response_);
      break;
    case state::completed:
      out.send(response_);
      break;
    default:
      break;  // Accepted (RFC 6026 §7.1) and Confirmed absorb it
  }
  return out;
}

action_list server_invite::handle(response_from_tu e, time_point now) {
  action_list out;
  const int code = e.response.status_code();
  if (code < 100 || code > 699) {
    out.error = make_error_code(error::invalid_message);
    return out;
  }
  if (state_ == state::accepted) {
    if (code < 200 || code >= 300) {
      out.error = make_error_code(error::invalid_state);
      return out;
    }
    response_ = std::move(e.response);  // a 2xx retransmission by the TU (RFC 6026 §7.1)
    out.send(response_);
    return out;
  }
  if (state_ != state::proceeding) {
    out.error = make_error_code(error::invalid_state);
    return out;
  }
  response_ = std::move(e.response);
  out.send(response_);
  if (trying_armed_) {
    trying_armed_ = false;
    out.stop(timer::trying);
  }
  if (code < 200) return out;
  if (code < 300) {
    state_ = state::accepted;
    out.start(timer::l, now + config_->timeout());
  } else {
    state_ = state::completed;
    if (!reliable_) out.start(timer::g, now + config_->t1);
    out.start(timer::h, now + config_->timeout());
  }
  return out;
}

action_list server_invite::handle(const timer_fired& e, time_point now) {
  action_list out;
  switch (e.which) {
    case timer::trying:
      if (state_ != state::proceeding || !trying_armed_) break;
      trying_armed_ = false;
      if (response_.status_code() == 0) {
        response_ = parser::make_response(request_, 100);
        out.send(response_);
      }
      break;
    case timer::g:
      if (state_ != state::completed) break;
      // §17.2.1: re-send, interval doubles from T1 up to T2.
      detail::bump(g_fired_);
      out.send(response_);
      out.start(timer::g, now + detail::backoff(config_->t1, g_fired_, config_->t2));
      break;
    case timer::h:
      if (state_ != state::completed) break;
      if (!reliable_) out.stop(timer::g);
      state_ = state::terminated;
      out.inform(make_error_code(error::timeout));  // the ACK never came
      out.terminate();
      break;
    case timer::i:
      if (state_ != state::confirmed) break;
      state_ = state::terminated;
      out.terminate();
      break;
    case timer::l:
      if (state_ != state::accepted) break;
      state_ = state::terminated;
      out.terminate();
      break;
    default:
      break;
  }
  return out;
}

action_list server_invite::handle(const transport_failed& e, time_point) {
  action_list out;
  // RFC 6026 §7.1: inform the TU but keep the state; the timers end the transaction.
  if (state_ != state::terminated)
    out.inform(e.code ? e.code : make_error_code(error::transport_failure));
  return out;
}

void server_invite::compact() {
  detail::to_exact_size(request_);
  detail::to_exact_size(response_);
}

}  // namespace sipkit::transaction
