// The agent's initial SDP offers as text, written from one serialized template.
#pragma once

#include <cstdint>
#include <string>

#include "sipkit/ua/offer_answer.hpp"

namespace sipkit::ua::detail {

/// make_offer(local, id, version).serialize() for a `local` that stays the same from one
/// call to the next: the description differs only in the o= line's session id and
/// version, so it is built and serialized once, and each offer is the template with the
/// two numbers written in (building and serializing an sdp::session per outgoing call was
/// 15 heap allocations, most of a UAC call's SDP work).
/// Memory: one copy of the local_media and the template text, per agent.
/// Thread safety: none (the agent's executor).
class offer_text {
 public:
  /// Replaces `out` with the offer, byte for byte make_offer(local, session_id,
  /// version).serialize(). Throws as make_offer does (std::invalid_argument).
  void write(const local_media& local, std::uint64_t session_id, std::uint64_t version,
             std::string& out);

 private:
  local_media media_;
  bool built_ = false;
  std::string head_;  // up to and with "o=<username> "
  std::string tail_;  // from " IN IP4|IP6 <address>" on
};

}  // namespace sipkit::ua::detail
