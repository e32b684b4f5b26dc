#include "sipkit/session/offer_answer_state.hpp"

#include "sipkit/session/error.hpp"

#include <utility>

namespace sipkit::session {

using carrier = offer_answer_state::carrier;

std::error_code offer_answer_state::offer_sent(carrier c, std::string_view sdp) {
  if (pending()) return error::request_pending;
  before_offer_ = state_;
  previous_local_sdp_ = local_sdp_;
  state_ = state::offer_sent;
  offer_carrier_ = c;
  local_sdp_ = sdp;
  return {};
}

std::error_code offer_answer_state::offer_received(carrier c, std::string_view sdp) {
  if (pending()) return error::request_pending;
  before_offer_ = state_;
  previous_remote_sdp_ = remote_sdp_;
  state_ = state::offer_received;
  offer_carrier_ = c;
  remote_sdp_ = sdp;
  return {};
}

std::error_code offer_answer_state::check_answer_sent(carrier c) noexcept {
  if (state_ != state::offer_received) return error::invalid_state;
  if (!answer_allowed(offer_carrier_, c)) return error::invalid_message;
  state_ = state::answered;
  answer_carrier_ = c;
  negotiated_ = true;
  std::string().swap(previous_remote_sdp_);  // only a pending offer can be rolled back
  std::string().swap(previous_local_sdp_);
  return {};
}

std::error_code offer_answer_state::answer_sent(carrier c, std::string_view sdp) {
  if (auto ec = check_answer_sent(c)) return ec;
  local_sdp_ = sdp;
  return {};
}

std::error_code offer_answer_state::answer_sent(carrier c, std::string&& sdp) {
  if (auto ec = check_answer_sent(c)) return ec;
  local_sdp_ = std::move(sdp);
  return {};
}

std::error_code offer_answer_state::answer_received(carrier c, std::string_view sdp) {
  if (state_ != state::offer_sent) return error::invalid_state;
  if (!answer_allowed(offer_carrier_, c)) return error::invalid_message;
  state_ = state::answered;
  answer_carrier_ = c;
  negotiated_ = true;
  remote_sdp_ = sdp;
  std::string().swap(previous_local_sdp_);  // only a pending offer can be rolled back
  std::string().swap(previous_remote_sdp_);
  return {};
}

void offer_answer_state::offer_rejected() noexcept {
  if (state_ == state::offer_sent) local_sdp_.swap(previous_local_sdp_);
  if (state_ == state::offer_received) remote_sdp_.swap(previous_remote_sdp_);
  if (pending()) state_ = before_offer_;
}

int offer_answer_state::check_incoming_offer() const noexcept {
  switch (state_) {
    case state::offer_sent:
      return 491;
    case state::offer_received:
      return 500;
    default:
      return 0;
  }
}

bool offer_answer_state::answer_allowed(carrier offer, carrier answer) noexcept {
  switch (offer) {
    case carrier::invite:
    case carrier::reinvite:
      // §13.2.1: the first reliable non-failure response (RFC 3262 adds reliable 1xx).
      return answer == carrier::success || answer == carrier::reliable_provisional;
    case carrier::success:
      return answer == carrier::ack;  // the INVITE had no offer: the ACK answers
    case carrier::reliable_provisional:
      // RFC 3262 §5: an offer in a reliable 1xx is answered in the PRACK.
      return answer == carrier::prack;
    case carrier::update:
      return answer == carrier::update;  // the 2xx to the UPDATE (RFC 3311 §5.2)
    case carrier::prack:
      return answer == carrier::prack;  // the 2xx to the PRACK (RFC 3262 §5)
    case carrier::ack:
    case carrier::none:
      return false;
  }
  return false;
}

std::string_view to_string(offer_answer_state::state s) noexcept {
  switch (s) {
    case offer_answer_state::state::no_offer:
      return "no offer";
    case offer_answer_state::state::offer_sent:
      return "offer sent";
    case offer_answer_state::state::offer_received:
      return "offer received";
    case offer_answer_state::state::answered:
      return "answered";
  }
  return "?";
}

std::string_view to_string(offer_answer_state::carrier c) noexcept {
  switch (c) {
    case carrier::none:
      return "none";
    case carrier::invite:
      return "INVITE";
    case carrier::reinvite:
      return "re-INVITE";
    case carrier::reliable_provisional:
      return "reliable 1xx";
    case carrier::success:
      return "2xx";
    case carrier::ack:
      return "ACK";
    case carrier::update:
      return "UPDATE";
    case carrier::prack:
      return "PRACK";
  }
  return "?";
}

}  // namespace sipkit::session
