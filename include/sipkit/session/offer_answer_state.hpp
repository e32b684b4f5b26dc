// The RFC 3264 offer/answer state of one INVITE session (RFC 3261 §13.2.1, §14; RFC 3262
// §5; RFC 3311 §5): whether an offer is outstanding, in which direction, which message
// carried it, and the last session descriptions each side settled on.
//
//   offer_answer_state oa;
//   oa.offer_sent(carrier::invite, sdp);        // our INVITE carries an offer
//   oa.answer_received(carrier::success, body); // the 2xx answers: state answered
//   if (int code = oa.check_incoming_offer()) reply(code);   // 491 / 500 + Retry-After
//
// States (RFC 3264 §4 as the SIP RFCs constrain it):
//
//   no_offer        -- offer_sent -->      offer_sent
//   no_offer        -- offer_received -->  offer_received
//   offer_sent      -- answer_received --> answered
//   offer_received  -- answer_sent -->     answered
//   answered        -- offer_sent / offer_received --> offer_sent / offer_received
//   offer_sent      -- offer_rejected -->  the state before the offer (no_offer or answered)
//   offer_received  -- offer_rejected -->  the state before the offer (we refused it)
//
// "No new offer while one is pending" is the one rule every method shares: offer_sent()
// and offer_received() refuse with error::request_pending while an exchange is open, and
// check_incoming_offer() tells the session what to answer to a request carrying an offer
// then (RFC 3311 §5.2, RFC 3261 §14.2): 491 when our own offer is outstanding (glare),
// 500 with Retry-After when the peer's offer is still unanswered by us.
//
// Where the answer may go (RFC 3261 §13.2.1, RFC 3262 §5): an offer in the INVITE is
// answered in the first reliable non-failure response (a reliable 1xx or the 2xx); an offer
// in a 2xx (the INVITE had none) is answered in the ACK; an offer in an UPDATE or PRACK in
// the 2xx to it. answer_allowed() checks that pairing.
//
// SDP bodies are opaque strings here: this class does not parse them (sipkit::ua's
// offer_answer negotiates the media). Ownership: a value that owns copies of the bodies.
// Thread safety: none, a plain value. Errors: std::error_code with session::error values.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <system_error>

namespace sipkit::session {

class offer_answer_state {
 public:
  enum class state : std::uint8_t { no_offer, offer_sent, offer_received, answered };

  /// The message that carried an offer or an answer.
  enum class carrier : std::uint8_t {
    none,
    invite,                ///< the initial INVITE
    reinvite,              ///< an INVITE inside the dialog (§14)
    reliable_provisional,  ///< a 1xx sent reliably (RFC 3262)
    success,               ///< the 2xx to an INVITE or re-INVITE
    ack,                   ///< the ACK for a 2xx that carried an offer
    update,                ///< an UPDATE (RFC 3311), or the 2xx answering one
    prack,                 ///< a PRACK (RFC 3262), or the 2xx answering one
  };

  state current_state() const noexcept { return state_; }
  /// The carrier of the pending offer, or of the last completed one; none before any.
  carrier offer_carrier() const noexcept { return offer_carrier_; }
  /// The carrier of the last answer; none before any.
  carrier answer_carrier() const noexcept { return answer_carrier_; }
  /// True while an offer awaits its answer, in either direction.
  bool pending() const noexcept {
    return state_ == state::offer_sent || state_ == state::offer_received;
  }
  /// True once an offer/answer exchange has completed (RFC 3311 §5.1: an UPDATE may carry
  /// an offer only then).
  bool negotiated() const noexcept { return negotiated_; }

  /// The last description we sent (offer or answer) and the last one the peer sent.
  const std::string& local_sdp() const noexcept { return local_sdp_; }
  const std::string& remote_sdp() const noexcept { return remote_sdp_; }
  /// While the peer's offer awaits our answer (offer_received): its description before
  /// that offer (what offer_rejected() goes back to); empty otherwise.
  const std::string& previous_remote_sdp() const noexcept { return previous_remote_sdp_; }

  /// We send an offer. error::request_pending while an exchange is open.
  std::error_code offer_sent(carrier c, std::string_view sdp);
  /// The peer sent an offer. error::request_pending while an exchange is open (the
  /// session answers 491 / 500 before calling this; see check_incoming_offer).
  std::error_code offer_received(carrier c, std::string_view sdp);
  /// We answer the peer's offer. error::invalid_state unless state is offer_received,
  /// error::invalid_message when `c` cannot carry the answer to that offer.
  std::error_code answer_sent(carrier c, std::string_view sdp);
  /// The same, taking over `sdp` (the answer text is then kept once, not copied) when it
  /// succeeds; on an error `sdp` is left as it was.
  std::error_code answer_sent(carrier c, std::string&& sdp);
  /// The same for a C string (without it a literal would fit both overloads above).
  std::error_code answer_sent(carrier c, const char* sdp) {
    return answer_sent(c, std::string_view(sdp));
  }
  /// The peer answered our offer; same errors as answer_sent.
  std::error_code answer_received(carrier c, std::string_view sdp);
  /// The request that carried the pending offer failed or was refused (a non-2xx to a
  /// re-INVITE or UPDATE, RFC 3261 §14.1): back to the state before that offer.
  void offer_rejected() noexcept;

  /// What a request carrying an offer gets while an exchange is open: 0 (accept it), 491
  /// (our offer is outstanding: glare) or 500 (the peer's earlier offer awaits our answer;
  /// send it with Retry-After). RFC 3311 §5.2, RFC 3261 §14.2.
  int check_incoming_offer() const noexcept;

  /// True when an answer in `answer` fits an offer carried by `offer` (§13.2.1, RFC 3262
  /// §5, RFC 3311 §5.1).
  static bool answer_allowed(carrier offer, carrier answer) noexcept;

 private:
  state state_ = state::no_offer;
  state before_offer_ = state::no_offer;
  carrier offer_carrier_ = carrier::none;
  carrier answer_carrier_ = carrier::none;
  bool negotiated_ = false;
  std::error_code check_answer_sent(carrier c) noexcept;

  std::string local_sdp_, remote_sdp_;
  std::string previous_local_sdp_, previous_remote_sdp_;
};

std::string_view to_string(offer_answer_state::state s) noexcept;
std::string_view to_string(offer_answer_state::carrier c) noexcept;

}  // namespace sipkit::session
