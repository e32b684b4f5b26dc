// One call (an INVITE dialog and its media session) seen by the application.
//
//   // outgoing
//   sipkit::ua::call c = agent.make_call("sip:bob@192.0.2.7:5060");
//   c.on_event([](const call_event& e) { ... });
//   c.async_wait_connected([](std::error_code ec) { ... });   // 2xx received and ACKed
//   c.async_info("application/dtmf-relay", "Signal=5\r\nDuration=160\r\n", cb);
//   c.async_hangup(cb);                                        // BYE, or CANCEL if early
//
//   // incoming: agent.on_incoming_call([](call c) { c.ring(); c.answer(); });
//
// Every operation also takes its options (options.hpp): extra headers, a body, the
// application's own SDP, Subject, Reason, Retry-After ... e.g. answer(answer_options)
// with the SDP of the application's media engine, async_hangup(hangup_options) with an
// RFC 3326 Reason. The call's messages are readable: invite() is the INVITE that created
// the call, and each call_event carries the message that caused it.
//
// Handles: `call` is a cheap, copyable handle to a call the user_agent owns. The call
// lives until it is terminated (hung up by either side, rejected, cancelled, failed),
// whatever happens to the handles; destroying every handle of a live call does not hang
// it up (it detaches: the agent still answers its BYE, INFO and re-INVITE).
// A default-constructed handle is empty (`!c`): calling an operation on it is a
// programming error and throws std::logic_error.
//
// Asynchronous operations take an Asio completion token: a callback, asio::use_future
// or asio::use_awaitable. Completions run on the agent's executor (posted, never inline).
// Signatures: void(std::error_code) for async_wait_connected/async_hangup,
// void(std::error_code, int status) for requests answered by the peer (INFO, MESSAGE,
// re-INVITE); with use_future/use_awaitable these produce the error code (and status)
// as values (a std::tuple when there are two), not exceptions.
//
// Thread safety: none. Every call on a handle must run on the agent's executor (the
// io_context thread). Events (on_event) run there too.
#pragma once

#include <boost/asio/any_completion_handler.hpp>
#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/async_result.hpp>
#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <system_error>

#include "sipkit/parser/message.hpp"
#include "sipkit/ua/error.hpp"
#include "sipkit/ua/options.hpp"

namespace sipkit::ua {

namespace detail {
struct call_impl;
}

/// Where a call is (RFC 3261 §13 from the application's point of view).
enum class call_state : std::uint8_t {
  calling,      ///< UAC: INVITE sent, nothing or 100 back
  early,        ///< UAC: a 1xx with a To tag (ringing / session progress)
  incoming,     ///< UAS: INVITE received, not answered
  ringing,      ///< UAS: 180/183 sent
  answered,     ///< UAS: 200 sent, waiting for the ACK
  established,  ///< 2xx ACKed: media may flow
  terminating,  ///< BYE or CANCEL sent, waiting for its response
  terminated,   ///< over; final_status() / end_reason() tell why
};
std::string_view to_string(call_state s) noexcept;

struct call_event {
  enum class kind : std::uint8_t {
    state_changed,   ///< `state` is the new state; `status` the response that caused it
    info,            ///< INFO received (RFC 6086): content_type, body
    message,         ///< MESSAGE received in the dialog (RFC 3428): content_type, body
    /// The peer's re-offer (`message`: its re-INVITE or UPDATE) made the media
    /// sendonly/inactive (RFC 3264 §8.4) / sendrecv again.
    remote_hold,
    remote_resume,
    /// The peer's re-offer (`message`: its re-INVITE or UPDATE) changed the session in
    /// another way than hold (a new port, codec, address, stream ...) and we answered it
    /// 200: remote_sdp() is its new SDP, local_sdp() our answer. Raised once the 200 is
    /// sent. Not raised for a refresh that changes nothing (RFC 4028 session refreshes:
    /// an UPDATE or re-INVITE without SDP, or with the same description again: equal but
    /// for the o= version, RFC 3264 §8), nor when hold changes (remote_hold /
    /// remote_resume then), nor for an offer we refused (488).
    remote_reoffer,
    /// A NOTIFY about our REFER (RFC 3515): `status` from its sipfrag body, `message`
    /// the NOTIFY (Subscription-State, Event, the message/sipfrag body).
    refer_progress,
    /// UAC: the INVITE goes on to `target` (RFC 3261 §8.1.3.4): `status` is the 3xx that
    /// redirected it, or the failure of the previous target (4xx-6xx; 408 timeout, 503
    /// transport error). See ua_config::max_redirects.
    redirected,
  };
  kind what = kind::state_changed;
  call_state state = call_state::calling;
  int status = 0;
  std::string_view content_type;  ///< valid during the callback only
  std::string_view body;          ///< valid during the callback only
  std::string_view target;        ///< redirected: the new Request-URI; callback only
  /// The message that caused the event, every header and the body: the response (a
  /// 180, the 200, a 486), the peer's INFO / MESSAGE / re-INVITE / UPDATE / NOTIFY, its
  /// BYE or CANCEL (with an RFC 3326 Reason, say). Null when the application's own
  /// operation caused it (ring, answer, our hang-up) or a timer did. Owned by the stack:
  /// valid during the callback only; copy what you keep (parser::message is copyable).
  /// Pulled events (user_agent::async_next_event) own theirs: agent_event::message.
  const parser::message* message = nullptr;
};

class call {
 public:
  call() = default;
  explicit call(std::shared_ptr<detail::call_impl> impl) : impl_(std::move(impl)) {}
  explicit operator bool() const noexcept { return impl_ != nullptr; }
  /// The stack's own state of the call (for sipkit's implementation, not applications).
  const std::shared_ptr<detail::call_impl>& detail_impl() const noexcept { return impl_; }

  call_state state() const noexcept;
  bool outgoing() const noexcept;
  /// The final response that ended the INVITE (0 before), or that of the BYE.
  int final_status() const noexcept;
  /// Call-ID of the call ("" for an empty handle).
  std::string_view call_id() const noexcept;
  /// The peer's From (incoming) or To (outgoing) name-addr.
  std::string_view remote_party() const noexcept;
  /// Our SDP and the peer's, as last exchanged ("" before the exchange).
  std::string_view local_sdp() const noexcept;
  std::string_view remote_sdp() const noexcept;
  /// The RFC 4028 session interval negotiated for the call, 0 when it has none.
  std::chrono::seconds session_interval() const noexcept;
  /// True while the peer has put us on hold (its last offer was sendonly or inactive).
  bool remote_on_hold() const noexcept;
  /// The INVITE that created the call: for an incoming call the request as received
  /// (every header by name with get("Subject"), get(header_id::from) ..., and body());
  /// for an outgoing one the INVITE as we built it (without Via). Owned by the call,
  /// valid as long as a handle to it exists (also after it ended), unchanged. An empty
  /// message for an empty handle, or for an outgoing call still locating its target.
  const parser::message& invite() const noexcept;

  /// Called on every event of this call, on the agent's executor. Replaces the previous one.
  void on_event(std::function<void(const call_event&)> handler);

  // ---- incoming calls (UAS)
  /// Send 180 Ringing (or 183 with `code` = 183), establishing an early dialog.
  std::error_code ring(int code = 180);
  /// The same with options: code, early-media SDP (a 183's), reason phrase, headers.
  /// Errors: invalid_state (not incoming/ringing, a reliable 1xx still unacknowledged,
  /// an early SDP the offer/answer state cannot take), std::errc::invalid_argument (a
  /// refused header or a CR/LF, options.hpp).
  std::error_code ring(const ring_options& options);
  /// Send 200 OK with an SDP answer to the INVITE's offer (RFC 3264), or with an offer
  /// when the INVITE had none. Errors: invalid_state; 488 is sent and errc::rejected returned
  /// when no offered stream is acceptable.
  std::error_code answer();
  /// The same with the application's SDP (its answer to invite()'s offer, or its offer
  /// when the INVITE had none: the ACK then answers) and headers. With an empty `sdp` the
  /// SDP comes from ua_config::media as for answer(). The application's SDP is sent as
  /// given (no 488 check: the application decided). Errors: as answer(), plus
  /// std::errc::invalid_argument (options.hpp).
  std::error_code answer(const answer_options& options);
  /// Reject with a final response 300-699 (486 Busy Here, 603 Decline ...).
  std::error_code reject(int code, std::string_view reason = {});
  /// The same with Retry-After, Reason (RFC 3326), Warning and headers. Errors:
  /// invalid_state (not incoming/ringing, code outside 300-699), std::errc::invalid_argument.
  std::error_code reject(const reject_options& options);

  // ---- both sides
  /// Completes when the call is established (UAC: 2xx received and ACKed; UAS: the ACK
  /// for our 2xx arrived), or with errc::rejected / cancelled / call_ended / a
  /// transaction timeout. Completes at once when already established or terminated.
  template <class Token>
  auto async_wait_connected(Token&& token) {
    return boost::asio::async_initiate<Token, void(std::error_code)>(
        [this](auto handler) { wait_connected_impl(std::move(handler)); }, token);
  }
  /// Hang up: BYE once established (or once the 2xx is ACKed), CANCEL while an outgoing
  /// call is early (sent once a provisional response arrived, §9.1), 486 for an
  /// unanswered incoming call. Completes when the BYE/CANCEL exchange is over.
  template <class Token>
  auto async_hangup(Token&& token) {
    return async_hangup(hangup_options{}, std::forward<Token>(token));
  }
  /// The same with an RFC 3326 Reason and headers (in the BYE or the 486; a CANCEL goes
  /// without them). std::errc::invalid_argument for a refused header or CR/LF; the call
  /// is then left as it was.
  template <class Token>
  auto async_hangup(hangup_options options, Token&& token) {
    return boost::asio::async_initiate<Token, void(std::error_code)>(
        [this, o = std::move(options)](auto handler) mutable {
          hangup_impl(std::move(o), std::move(handler));
        },
        token);
  }
  /// INFO (RFC 6086) in the dialog; completes with the peer's final status.
  template <class Token>
  auto async_info(std::string content_type, std::string body, Token&& token) {
    return async_request("INFO", std::move(content_type), std::move(body),
                         std::forward<Token>(token));
  }
  /// MESSAGE (RFC 3428) in the dialog.
  template <class Token>
  auto async_message(std::string content_type, std::string body, Token&& token) {
    return async_request("MESSAGE", std::move(content_type), std::move(body),
                         std::forward<Token>(token));
  }
  /// INFO / MESSAGE with options: body, Content-Type and extra headers (Info-Package ...).
  template <class Token>
  auto async_info(message_options options, Token&& token) {
    return async_send_request("INFO", std::move(options), std::forward<Token>(token));
  }
  template <class Token>
  auto async_message(message_options options, Token&& token) {
    return async_send_request("MESSAGE", std::move(options), std::forward<Token>(token));
  }
  /// Any request in the confirmed dialog but INVITE, UPDATE, ACK, CANCEL, BYE, PRACK
  /// (which have their own operations): INFO, MESSAGE, OPTIONS, NOTIFY, an extension
  /// method. Completes with the peer's final status; invalid_state outside an established
  /// call, std::errc::invalid_argument for a refused header, CR/LF or a method that is not
  /// a token.
  template <class Token>
  auto async_send_request(std::string method, message_options options, Token&& token) {
    return boost::asio::async_initiate<Token, void(std::error_code, int)>(
        [this, m = std::move(method), o = std::move(options)](auto handler) mutable {
          request_impl(m, std::move(o), std::move(handler));
        },
        token);
  }
  /// Transfer: REFER the peer to `target` (RFC 3515), e.g. "sip:carol@192.0.2.9". Completes
  /// with the REFER's status (202 when accepted); the transferee's progress then arrives as
  /// call_event::kind::refer_progress events (status 100, 180, ... and the final one).
  template <class Token>
  auto async_refer(std::string target, Token&& token) {
    refer_options o;
    o.target = std::move(target);
    return async_refer(std::move(o), std::forward<Token>(token));
  }
  /// The same with extra headers (Referred-By, say) in the REFER.
  template <class Token>
  auto async_refer(refer_options options, Token&& token) {
    return boost::asio::async_initiate<Token, void(std::error_code, int)>(
        [this, o = std::move(options)](auto handler) mutable {
          refer_impl(std::move(o), std::move(handler));
        },
        token);
  }
  /// A new offer with the application's SDP (re-INVITE, or UPDATE with use_update):
  /// new ports, codecs, ICE candidates, hold the application's way. Completes with the
  /// peer's final status; the peer's answer is then remote_sdp(). invalid_state while
  /// another offer is pending or outside an established call (UPDATE: early too);
  /// std::errc::invalid_argument for a refused header or CR/LF.
  template <class Token>
  auto async_reoffer(reoffer_options options, Token&& token) {
    return boost::asio::async_initiate<Token, void(std::error_code, int)>(
        [this, o = std::move(options)](auto handler) mutable {
          reoffer_impl(std::move(o), std::move(handler));
        },
        token);
  }
  /// UPDATE (RFC 3311) re-offering our current SDP (none before an answer exists): a
  /// session refresh without a re-INVITE, in a confirmed or an early dialog (§5.1);
  /// completes with the peer's status.
  template <class Token>
  auto async_update(Token&& token) {
    return boost::asio::async_initiate<Token, void(std::error_code, int)>(
        [this](auto handler) { update_impl(std::move(handler)); }, token);
  }
  /// re-INVITE putting the peer on hold (our streams sendonly, RFC 3264 §8.4) / back.
  template <class Token>
  auto async_hold(Token&& token) {
    return async_reinvite(true, std::forward<Token>(token));
  }
  template <class Token>
  auto async_resume(Token&& token) {
    return async_reinvite(false, std::forward<Token>(token));
  }

 private:
  using status_completion = boost::asio::any_completion_handler<void(std::error_code, int)>;
  using done_completion = boost::asio::any_completion_handler<void(std::error_code)>;

  template <class Token>
  auto async_request(std::string method, std::string content_type, std::string body,
                     Token&& token) {
    message_options o;
    o.content_type = std::move(content_type);
    o.body = std::move(body);
    return async_send_request(std::move(method), std::move(o), std::forward<Token>(token));
  }
  template <class Token>
  auto async_reinvite(bool hold, Token&& token) {
    return boost::asio::async_initiate<Token, void(std::error_code, int)>(
        [this, hold](auto handler) { reinvite_impl(hold, std::move(handler)); }, token);
  }

  boost::asio::any_io_executor executor() const;
  void wait_connected_impl(done_completion h);
  void hangup_impl(hangup_options options, done_completion h);
  void request_impl(const std::string& method, message_options options, status_completion h);
  void reinvite_impl(bool hold, status_completion h);
  void reoffer_impl(reoffer_options options, status_completion h);
  void refer_impl(refer_options options, status_completion h);
  void update_impl(status_completion h);

  std::shared_ptr<detail::call_impl> impl_;
};

}  // namespace sipkit::ua
