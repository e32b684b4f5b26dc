// offer_answer_state: RFC 3264 offer/answer as RFC 3261 §13-§14, RFC 3262 and RFC 3311
// constrain it.
#include "sipkit/session/offer_answer_state.hpp"

#include <catch2/catch.hpp>

#include "sipkit/session/error.hpp"

using sipkit::session::error;
using sipkit::session::offer_answer_state;
using carrier = offer_answer_state::carrier;
using oas = offer_answer_state::state;

TEST_CASE("Offer/answer: an offer in the INVITE is answered in the 2xx") {
  offer_answer_state oa;
  REQUIRE_FALSE(oa.offer_sent(carrier::invite, "offer"));
  REQUIRE(oa.current_state() == oas::offer_sent);
  REQUIRE(oa.pending());
  REQUIRE_FALSE(oa.negotiated());
  REQUIRE_FALSE(oa.answer_received(carrier::success, "answer"));
  REQUIRE(oa.current_state() == oas::answered);
  REQUIRE(oa.negotiated());
  REQUIRE(oa.local_sdp() == "offer");
  REQUIRE(oa.remote_sdp() == "answer");
  REQUIRE(oa.answer_carrier() == carrier::success);
}

TEST_CASE("Offer/answer: an offer in a 2xx can only be answered in the ACK") {
  offer_answer_state oa;
  REQUIRE_FALSE(oa.offer_received(carrier::success, "offer"));
  REQUIRE(oa.answer_sent(carrier::update, "x") == error::invalid_message);
  REQUIRE(oa.current_state() == oas::offer_received);
  REQUIRE_FALSE(oa.answer_sent(carrier::ack, "answer"));
  REQUIRE(oa.current_state() == oas::answered);
}

TEST_CASE("Offer/answer: no new offer while one is pending; 491 for ours, 500 for theirs") {
  offer_answer_state oa;
  REQUIRE(oa.check_incoming_offer() == 0);
  REQUIRE_FALSE(oa.offer_sent(carrier::update, "a"));
  REQUIRE(oa.offer_sent(carrier::reinvite, "b") == error::request_pending);
  REQUIRE(oa.offer_received(carrier::update, "c") == error::request_pending);
  REQUIRE(oa.check_incoming_offer() == 491);
  offer_answer_state theirs;
  REQUIRE_FALSE(theirs.offer_received(carrier::invite, "o"));
  REQUIRE(theirs.check_incoming_offer() == 500);
}

TEST_CASE("Offer/answer: a rejected offer restores the previous state and description") {
  offer_answer_state oa;
  REQUIRE_FALSE(oa.offer_sent(carrier::invite, "v1"));
  REQUIRE_FALSE(oa.answer_received(carrier::success, "r1"));
  REQUIRE_FALSE(oa.offer_sent(carrier::reinvite, "v2"));
  oa.offer_rejected();
  REQUIRE(oa.current_state() == oas::answered);
  REQUIRE(oa.local_sdp() == "v1");
  REQUIRE(oa.remote_sdp() == "r1");
}

TEST_CASE("Offer/answer: an answer without an offer is refused") {
  offer_answer_state oa;
  REQUIRE(oa.answer_received(carrier::success, "x") == error::invalid_state);
  REQUIRE(oa.answer_sent(carrier::success, "x") == error::invalid_state);
  REQUIRE(oa.current_state() == oas::no_offer);
}
