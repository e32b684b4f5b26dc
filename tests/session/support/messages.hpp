// Test helpers for tests/session: the messages of a call between Alice (UAC,
// atlanta.example.com) and Bob (UAS, biloxi.example.com) as RFC 3665 §3.1 draws it, and a
// driver that runs an invite_session on a manual time line and records its actions.
#pragma once

#include <catch2/catch.hpp>
#include <chrono>
#include <string>
#include <string_view>
#include <utility>
#include <variant>
#include <vector>

#include "sipkit/parser/message.hpp"
#include "sipkit/session/invite_session.hpp"

namespace sipkit::test {

using namespace std::chrono_literals;
using parser::header_id;
using parser::message;
using session::invite_session;

inline constexpr std::string_view alice_tag = "1928301774";
inline constexpr std::string_view bob_tag = "a6c85cf";
inline constexpr std::string_view call_id = "a84b4c76e66710@pc33.atlanta.example.com";
inline constexpr std::string_view alice_contact = "<sip:alice@pc33.atlanta.example.com>";
inline constexpr std::string_view bob_contact = "<sip:bob@192.0.2.4>";
inline constexpr std::string_view offer_sdp = "v=0\r\no=alice 1 1 IN IP4 192.0.2.101\r\n";
inline constexpr std::string_view answer_sdp = "v=0\r\no=bob 2 2 IN IP4 192.0.2.4\r\n";

/// Alice's INVITE as her application builds it: no Via (the transaction layer adds it).
inline message alice_invite(std::string_view sdp = offer_sdp) {
  auto m = message::request("INVITE", "sip:bob@biloxi.example.com");
  m.add(header_id::max_forwards, "70");
  m.add(header_id::from, "Alice <sip:alice@atlanta.example.com>;tag=" + std::string(alice_tag));
  m.add(header_id::to, "Bob <sip:bob@biloxi.example.com>");
  m.add(header_id::call_id, call_id);
  m.add(header_id::cseq, "314159 INVITE");
  m.add(header_id::contact, alice_contact);
  if (!sdp.empty()) m.set_body(sdp, "application/sdp");
  return m;
}

/// The same INVITE as Bob receives it: a Via and a proxy's Record-Route.
inline message invite_at_bob(std::string_view sdp = offer_sdp) {
  auto m = alice_invite(sdp);
  m.push_front(header_id::via, "SIP/2.0/UDP pc33.atlanta.example.com;branch=z9hG4bKnashds8");
  m.add(header_id::record_route, "<sip:ss1.example.com;lr>");
  return m;
}

/// Bob's response to `request` (a To tag on everything above 100; a Contact and the
/// Record-Route on dialog-creating responses).
inline message bob_response(const message& request, int code, std::string_view sdp = {},
                            std::string_view tag = bob_tag) {
  auto r = parser::make_response(request, code, {}, code > 100 ? tag : std::string_view{});
  if (code > 100 && code < 300) {
    if (request.method() == parser::method::invite && !request.to()->tag.size())
      r.add(header_id::record_route, "<sip:ss1.example.com;lr>");
    r.add(header_id::contact, bob_contact);
  }
  if (!sdp.empty()) r.set_body(sdp, "application/sdp");
  return r;
}

/// A request Bob sends in the dialog (UAC tests: Bob is the peer).
inline message request_from_bob(std::string_view method, std::uint32_t cseq,
                                std::string_view sdp = {}, std::string_view tag = bob_tag) {
  auto m = message::request(method, "sip:alice@pc33.atlanta.example.com");
  m.add(header_id::via, "SIP/2.0/UDP 192.0.2.4;branch=z9hG4bKbob" + std::to_string(cseq));
  m.add(header_id::max_forwards, "70");
  m.add(header_id::from, "Bob <sip:bob@biloxi.example.com>;tag=" + std::string(tag));
  m.add(header_id::to, "Alice <sip:alice@atlanta.example.com>;tag=" + std::string(alice_tag));
  m.add(header_id::call_id, call_id);
  m.add(header_id::cseq, std::to_string(cseq) + " " + std::string(method));
  if (method == "INVITE" || method == "UPDATE") m.add(header_id::contact, bob_contact);
  if (!sdp.empty()) m.set_body(sdp, "application/sdp");
  return m;
}

/// A request Alice sends in the dialog (UAS tests: Alice is the peer).
inline message request_from_alice(std::string_view method, std::uint32_t cseq,
                                  std::string_view sdp = {}) {
  auto m = message::request(method, "sip:bob@192.0.2.4");
  m.add(header_id::via, "SIP/2.0/UDP pc33.atlanta.example.com;branch=z9hG4bKa" +
                            std::to_string(cseq) + std::string(method));
  m.add(header_id::max_forwards, "70");
  m.add(header_id::route, "<sip:ss1.example.com;lr>");
  m.add(header_id::from, "Alice <sip:alice@atlanta.example.com>;tag=" + std::string(alice_tag));
  m.add(header_id::to, "Bob <sip:bob@biloxi.example.com>;tag=" + std::string(bob_tag));
  m.add(header_id::call_id, call_id);
  m.add(header_id::cseq, std::to_string(cseq) + " " + std::string(method));
  if (method == "INVITE" || method == "UPDATE") m.add(header_id::contact, alice_contact);
  if (!sdp.empty()) m.set_body(sdp, "application/sdp");
  return m;
}

inline transaction::transaction_id tx_id(std::uint32_t n) { return {n, 1}; }

/// Runs one invite_session: keeps a time line starting at time_point{}, records every
/// action (with the time it came out), and fires the session's timers when advanced.
class session_driver {
 public:
  using action = invite_session::action;
  struct record {
    long long at_ms;
    action what;
  };

  explicit session_driver(invite_session s) : session_(std::move(s)) {}

  invite_session& session() noexcept { return session_; }
  session::time_point now() const noexcept { return now_; }
  long long ms() const noexcept {
    return std::chrono::duration_cast<std::chrono::milliseconds>(now_ - session::time_point{})
        .count();
  }

  /// Records the actions of one call; the call must have been accepted.
  const invite_session::action_list& run(invite_session::action_list l) {
    REQUIRE_FALSE(l.error);
    for (const auto& a : l.items) log_.push_back({ms(), a});
    last_ = std::move(l);
    return last_;
  }
  /// Moves time to `t` (since the start), firing every timer due on the way at its own
  /// deadline.
  void advance_to(std::chrono::milliseconds t) {
    const auto target = session::time_point{} + t;
    while (auto d = session_.next_deadline()) {
      if (*d > target) break;
      now_ = *d;
      run(session_.on_timer(now_));
    }
    now_ = target;
  }
  void advance(std::chrono::milliseconds d) {
    advance_to(std::chrono::duration_cast<std::chrono::milliseconds>(now_ - session::time_point{}) +
               d);
  }

  const std::vector<record>& log() const noexcept { return log_; }
  void clear() { log_.clear(); }
  const invite_session::action_list& last() const noexcept { return last_; }

  /// Every recorded action of type T, with its time.
  template <class T>
  std::vector<std::pair<long long, T>> all() const {
    std::vector<std::pair<long long, T>> out;
    for (const auto& r : log_)
      if (auto* p = std::get_if<T>(&r.what)) out.emplace_back(r.at_ms, *p);
    return out;
  }
  /// The actions of the last call of type T.
  template <class T>
  std::vector<T> last_of() const {
    std::vector<T> out;
    for (const auto& a : last_.items)
      if (auto* p = std::get_if<T>(&a)) out.push_back(*p);
    return out;
  }
  /// The times (ms) of the recorded actions of type T.
  template <class T>
  std::vector<long long> times_of() const {
    std::vector<long long> out;
    for (const auto& [at, a] : all<T>()) out.push_back(at);
    return out;
  }

 private:
  invite_session session_;
  session::time_point now_{};
  std::vector<record> log_;
  invite_session::action_list last_;
};

/// The first line of a message as it goes on the wire ("ACK sip:bob@192.0.2.4 SIP/2.0").
inline std::string start_line(const message& m) {
  auto wire = m.serialize();
  return wire.substr(0, wire.find("\r\n"));
}

}  // namespace sipkit::test
