// The UA API: one user_agent owns one SIP stack instance (transport, transaction manager,
// dialogs) on an io_context the application owns.
//
//   boost::asio::io_context io;
//   sipkit::ua::ua_config cfg;
//   cfg.transport.listen = {{sipkit::transport::protocol::udp, "127.0.0.1", 5060}};
//   cfg.user = "alice";
//   cfg.media.streams = {{"audio", 40000, "RTP/AVP", {{"PCMU", 8000}, {"PCMA", 8000}}}};
//   sipkit::ua::user_agent agent(io, cfg);
//   if (auto ec = agent.start()) { ... }       // binds the sockets
//   agent.on_incoming_call([](sipkit::ua::call c) { c.ring(); c.answer(); });
//   auto c = agent.make_call("sip:bob@127.0.0.1:5062");
//   c.async_wait_connected([&](std::error_code ec) { ... });
//   io.run();
//
// What it does on its own (RFC 3261 §8.2, §12-§15): answers OPTIONS with Allow and
// Accept; 481 for requests in an unknown dialog and for a CANCEL that matches
// nothing; 405 with Allow for methods it does not handle; 500 for an in-dialog CSeq out
// of order; retransmits its 2xx until the ACK comes (BYE after 64*T1 without one);
// ACKs every 2xx, also retransmitted ones, and for a forked INVITE ACKs and BYEs every 2xx
// after the first; answers the SDP offer of a re-INVITE (hold/resume) from its media
// configuration.
//
// Targets: sip/sips URIs. An IP-literal host is used as is (port and ;transport= from
// the URI); a host name is located by RFC 3263 (NAPTR, SRV, A/AAAA through c-ares on the
// same io_context, `ua_config::dns`), and the INVITE fails over to the next target on a
// timeout or transport error (RFC 3263 §4.3). Inside a dialog, a Contact or Record-Route
// naming a host is used only when it is the host the call was sent to.
// `ua_config::outbound_proxy` sends every out-of-dialog request through a proxy (as a
// pre-loaded Route with ;lr, RFC 3261 §8.1.2).
//
// Ownership: the user_agent owns the sockets and every call; `call` handles refer into it
// and must not be used after the agent is destroyed. Destroying the agent drops live calls
// without BYE (call stop() first for an orderly shutdown... see stop()).
// Thread safety: none. Construct, use and destroy the agent on the io_context's thread
// (one thread runs io.run(); run one agent per core to scale, DESIGN.md). Handlers
// registered here run on that thread.
// Errors: start() returns the transport's bind/TLS errors; make_call never throws for
// network reasons: failures arrive through the call's completion handlers and events.
#pragma once

#include <boost/asio/any_completion_handler.hpp>
#include <boost/asio/async_result.hpp>
#include <boost/asio/io_context.hpp>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <system_error>
#include <vector>

#include "sipkit/log.hpp"
#include "sipkit/parser/message.hpp"
#include "sipkit/transaction/manager.hpp"
#include "sipkit/transaction/transport.hpp"
#include "sipkit/transport/config.hpp"
#include "sipkit/transport/resolver.hpp"
#include "sipkit/transport_protocol.hpp"
#include "sipkit/ua/call.hpp"
#include "sipkit/ua/digest.hpp"
#include "sipkit/ua/incoming_request.hpp"
#include "sipkit/ua/offer_answer.hpp"
#include "sipkit/ua/options.hpp"
#include "sipkit/ua/registration.hpp"
#include "sipkit/ua/replaces.hpp"
#include "sipkit/ua/subscription.hpp"

namespace sipkit::ua {

struct ua_config {
  /// Sockets, TLS files and transport limits (transport/config.hpp). The UA's own log
  /// goes to `log` below; set transport.log too to see the SENT/RECEIVED ladder at debug.
  sipkit::transport::transport_config transport;
  /// T1/T2/T4 and the transaction bound.
  sipkit::transaction::manager_config transactions;
  /// User part of our From and Contact URIs, and the display name in From.
  std::string user = "sipkit";
  std::string display_name;
  /// Host of our From URI (an address-of-record domain); empty: the local address.
  std::string domain;
  /// Sent as User-Agent (requests) and Server (responses); empty: not sent.
  std::string user_agent = "sipkit/0.1";
  /// Media we offer and accept (offer_answer.hpp). An empty address takes the local
  /// address the call's signalling uses.
  local_media media;
  /// Live calls; an INVITE beyond it is answered 486 Busy Here, make_call fails. Incoming
  /// calls whose 2xx still awaits its ACK are not counted here but in
  /// max_calls_awaiting_ack.
  std::size_t max_calls = 10000;
  /// Incoming calls answered with a 2xx that has not been ACKed yet (RFC 3261 §13.3.1.4
  /// keeps them for 64*T1). A caller ACKs within a round trip; INVITEs from spoofed
  /// sources never do. So these calls have a pool of their own. When it is full, a new
  /// INVITE ends the oldest unacknowledged call if its 2xx has waited at least T1 (the
  /// round-trip estimate, §17.1.1.1: its ACK is late and the 2xx has been sent again; its
  /// waiters get errc::no_ack and a BYE goes out, counted in calls_evicted_awaiting_ack())
  /// and is answered; if every waiting 2xx is younger than T1 (their ACKs are likely on
  /// their way), the INVITE is refused with 503 and a Retry-After (§21.5.4), counted in
  /// calls_refused_awaiting_ack(), and no live call is ended. So neither a flood of
  /// INVITEs that are never ACKed nor a burst whose ACKs are merely delayed keeps calls
  /// from completing. 0 = no pool limit. The count is a time budget that shrinks as the
  /// call rate grows (rate x the ACK's delay): 10,000 covers 830 ms at 12,000 calls/s, for
  /// about 4.7 KB per waiting call. A call admitted before the pool filled may still be
  /// answered after: it joins past the bound (max_calls bounds how far).
  std::size_t max_calls_awaiting_ack = 10000;
  /// "sip:192.0.2.1:5060": route every out-of-dialog request through this proxy.
  std::string outbound_proxy;
  /// Transport for targets whose URI names none (sips: always TLS). The same type as
  /// transport.listen's protocols (sipkit/transport_protocol.hpp).
  sipkit::transport_protocol default_transport = sipkit::transport_protocol::udp;
  /// Credentials for 401/407 challenges (RFC 3261 §22, RFC 7616/8760 digest), by realm.
  std::vector<ua::credentials> credentials;
  /// RFC 3262: INVITEs say Supported: 100rel, reliable 18x are PRACKed, and our 18x are
  /// sent reliably (Require: 100rel, RSeq, retransmitted until PRACK) when the caller
  /// supports it.
  bool reliable_provisionals = true;
  /// RFC 4028 session timers: the interval our INVITEs ask for (0: none, but a peer's
  /// Session-Expires is still honoured) and the smallest interval we accept (422 below
  /// it). The RFC's floor is 90 s; lower values are for tests.
  std::chrono::seconds session_expires{0};
  std::chrono::seconds min_se{90};
  /// RFC 3263 resolution of host names in targets (DNS servers, transports, families).
  sipkit::transport::resolver_config dns;
  sipkit::logger log;

  // ---- redirects, hooks and the event queue (issue 11)
  /// RFC 3261 §8.1.3.4: how many 3xx (300, 301, 302) responses one call follows, trying
  /// the Contacts in q order as new INVITE transactions of the same call (a target that
  /// fails moves on to the next; a URI already tried is skipped, so loops end). 0: a 3xx
  /// ends the call, as any final response. Each move is a call_event::kind::redirected.
  int max_redirects = 5;
  /// Pull-style events (user_agent::async_next_event): the most events kept for the
  /// application before it pulls them; beyond that new events are dropped, counted
  /// (user_agent::events_dropped) and logged, and an incoming call that cannot be queued
  /// is answered 480. 0 (the default): no queue, handlers only.
  std::size_t event_queue = 0;
};

/// A MESSAGE (RFC 3428) received outside any dialog. Every view, and `request`, is valid
/// during the handler only.
struct message_event {
  std::string_view from;  ///< From header value
  std::string_view to;
  std::string_view content_type;  ///< empty when absent
  std::string_view body;
  /// Where it came from (address, port, transport, connection): a GB28181 platform, say,
  /// learns a device's address from its keep-alive MESSAGEs.
  transaction::endpoint source;
  /// The whole request, for any other header (Contact, User-Agent, Date ...).
  const parser::message* request = nullptr;
};

// ---- pull-style events (issue 11) ------------------------------------------------------

/// One event of any kind, as user_agent::async_next_event yields it: for programs written
/// around one loop (eXosip's eXosip_event_wait) instead of handlers. It owns everything it
/// holds (copies of the texts, and the message that caused it), so it may be kept, moved
/// and copied freely; copies share the one message. `content_type` and `body` are views
/// into that message (not copies beside it): valid while `message` holds it, in this
/// event or any copy of it; do not reset or reassign `message` while reading them.
struct agent_event {
  enum class kind : std::uint8_t {
    incoming_call,  ///< a new INVITE: `call` (state incoming); ring, answer or reject it
    call,           ///< an event of a call: `call`, `call_what`, `state`, `status`, texts
    registration,   ///< a registration's event: `registration`, `registration_info`
    subscription,   ///< a NOTIFY (or the end) of a subscription: `subscription`, `notify_state`
    message,        ///< an out-of-dialog MESSAGE, already answered 200: `from`, `to`, texts
  };
  kind what = kind::call;
  ua::call call;                  ///< incoming_call, call
  ua::registration registration;  ///< registration
  ua::subscription subscription;  ///< subscription
  call_event::kind call_what = call_event::kind::state_changed;  ///< call
  call_state state = call_state::calling;                        ///< call
  int status = 0;                        ///< call: call_event::status
  registration_event registration_info;  ///< registration
  subscription_state notify_state = subscription_state::active;  ///< subscription
  std::string reason;                      ///< subscription: terminated;reason=
  std::chrono::seconds expires{};          ///< subscription: ;expires=
  /// call (info, message), subscription, message: the Content-Type value and the body of
  /// `message` (views into it; empty when the event has none).
  std::string_view content_type, body;
  std::string target;                      ///< call: redirected
  std::string from, to;                    ///< message: the From and To header values
  transaction::endpoint source;            ///< message: where it came from
  /// The message that caused the event, as a handler's event has it, but owned: a call's
  /// (call_event::message: the 180, the 200, the peer's INFO, re-INVITE, BYE, the NOTIFY
  /// of a refer_progress), a registration's (registration_event::message: the 2xx with
  /// its Date, the 401/403/423), a subscription's NOTIFY, the MESSAGE request. Null where
  /// a handler's would be null (our own operation, a timer). Immutable and shared: it
  /// lives as long as any copy of this event (or of the pointer) does. Copied from the
  /// stack's message only when the queue is on (ua_config::event_queue > 0).
  std::shared_ptr<const parser::message> message;
  /// message: the request (the same object as `message`; the older name).
  std::shared_ptr<const parser::message> request;

  /// kind::call as the call_event a handler would have got; its views point into this
  /// object (valid while it lives unchanged).
  call_event as_call_event() const {
    call_event e;
    e.what = call_what;
    e.state = state;
    e.status = status;
    e.content_type = content_type;
    e.body = body;
    e.target = target;
    e.message = message.get();
    return e;
  }
};

class user_agent {
 public:
  user_agent(boost::asio::io_context& io, ua_config config);
  ~user_agent();
  user_agent(const user_agent&) = delete;
  user_agent& operator=(const user_agent&) = delete;

  /// Binds the configured listeners. Errors: the transport's (address in use, TLS files).
  std::error_code start();
  /// Hangs up every call (BYE/CANCEL/486) and stops accepting new ones. The sockets stay
  /// open until the agent is destroyed, so the BYEs can complete; run the io_context a
  /// little longer (until the call count is 0) for an orderly shutdown.
  void stop();

  /// Where new incoming calls go; without a handler an INVITE is answered 480.
  void on_incoming_call(std::function<void(call)> handler);
  /// Where out-of-dialog MESSAGEs go (answered 200 after the handler returns; 405 when
  /// there is no handler).
  void on_message(std::function<void(const message_event&)> handler);

  /// Requests of `method` ("REGISTER", "PUBLISH" ...) outside dialogs go to `handler`
  /// instead of the agent's own handling (405 for methods it does not take). For INVITE,
  /// MESSAGE or OPTIONS this replaces the agent's behaviour entirely: a redirect server
  /// answers INVITE with 3xx and no call is created. ACK and CANCEL never come here;
  /// requests inside dialogs neither. See incoming_request.hpp. An empty handler removes it.
  void on_request(std::string_view method, std::function<void(incoming_request&)> handler);

  /// Subscribes to an event package at a notifier (RFC 6665; subscription.hpp).
  subscription subscribe(subscribe_options options);
  /// Where SUBSCRIBEs for `event` go; packages without a handler are answered 489 Bad
  /// Event (with Allow-Events listing the others). An empty handler removes it.
  void on_subscribe(std::string_view event, std::function<void(notifier)> handler);

  /// A REFER received in a call (RFC 3515): the handler places the call to `refer_to` and
  /// returns it (or an empty call to decline). The stack answers 202, notifies
  /// "100 Trying" and then the new call's progress and final status to the transferor.
  /// Without a handler REFERs are declined with 603.
  void on_refer(std::function<call(call original, std::string_view refer_to)> handler);

  /// Starts an outgoing call: INVITE with an SDP offer of config().media. Returns the handle
  /// at once; follow it with call::async_wait_connected or on_event. Errors (bad target,
  /// too many calls, transport) are delivered through those, not thrown.
  call make_call(std::string_view target_uri);
  /// The same, shaped by the application (options.hpp): its own SDP offer or none
  /// (delayed offer), extra headers, Subject, From identity, credentials, route set or
  /// outbound proxy of this call. Options that break the header rule end the call at
  /// once with std::errc::invalid_argument (through the handle, as every error).
  call make_call(std::string_view target_uri, call_options options);

  /// Registers our Contact with a registrar and keeps it refreshed (registration.hpp).
  /// Errors arrive as registration events (state failed), never thrown.
  registration start_registration(registration_options options);

  /// Any request outside a dialog (RFC 3261 §8.1): PUBLISH, NOTIFY, MESSAGE, OPTIONS,
  /// INFO, an extension method the stack does not model, built from `options` (Request-URI
  /// and To, From, headers, body; options.hpp) with the stack's Via, From tag, Call-ID,
  /// CSeq, Max-Forwards, Route (ua_config::outbound_proxy). A 401/407 is answered with
  /// ua_config::credentials. Completes with the final status: void(std::error_code, int),
  /// the error errc::rejected for 300-699, a transaction error (timeout ...) with 0,
  /// errc::bad_target for an unusable target, std::errc::invalid_argument for a method
  /// that is not a token or is INVITE/ACK/CANCEL/BYE (a call's), a refused header or
  /// CR/LF, a From URI that does not parse; nothing is sent then.
  template <class Token>
  auto async_send_request(std::string method, request_options options, Token&& token) {
    return boost::asio::async_initiate<Token, void(std::error_code, int)>(
        [this, m = std::move(method), r = std::move(options)](auto handler) mutable {
          request_impl(m, std::move(r), std::move(handler));
        },
        token);
  }
  /// MESSAGE outside any dialog (RFC 3428); completes with the final status.
  template <class Token>
  auto async_send_message(std::string target_uri, std::string content_type, std::string body,
                          Token&& token) {
    message_request r;
    r.target_uri = std::move(target_uri);
    r.content_type = std::move(content_type);
    r.body = std::move(body);
    return async_send_message(std::move(r), std::forward<Token>(token));
  }
  /// The same with a From URI and extra headers of the caller's choosing: one case of
  /// async_send_request ("MESSAGE", ...).
  template <class Token>
  auto async_send_message(message_request request, Token&& token) {
    return async_send_request("MESSAGE", std::move(request), std::forward<Token>(token));
  }
  /// OPTIONS outside any dialog (RFC 3261 §11): a capabilities query or a ping.
  template <class Token>
  auto async_options(std::string target_uri, Token&& token) {
    request_options r;
    r.target_uri = std::move(target_uri);
    return async_send_request("OPTIONS", std::move(r), std::forward<Token>(token));
  }

  /// Live calls (not yet terminated).
  std::size_t call_count() const noexcept;
  /// Incoming calls whose 2xx awaits its ACK (see ua_config::max_calls_awaiting_ack).
  std::size_t calls_awaiting_ack() const noexcept;
  /// Calls ended because the pool of calls awaiting their ACK was full (monotonic).
  std::uint64_t calls_evicted_awaiting_ack() const noexcept;
  /// INVITEs refused with 503 because the pool of calls awaiting their ACK was full of
  /// 2xx younger than T1 (monotonic; see ua_config::max_calls_awaiting_ack).
  std::uint64_t calls_refused_awaiting_ack() const noexcept;
  /// The address and port of the first listener of this protocol ("127.0.0.1:5060").
  std::string local_address(sipkit::transport::protocol p) const;
  const ua_config& config() const noexcept;
  boost::asio::any_io_executor executor() const;

  // ---- hooks and pull-style events (issue 11) --------------------------------------------

  /// Sees, and may edit, every request and response the agent hands to the transaction
  /// layer, before it is serialized: requests of calls, registrations, subscriptions and
  /// out-of-dialog requests (before their Via is added; the transaction then keeps the
  /// edited message, so its retransmissions are the same bytes), responses (a 2xx the
  /// session retransmits, RFC 6026, passes through the hook again each time: keep the hook
  /// deterministic), ACKs for 2xx (with their Via), and the CANCEL of a hang-up (built by
  /// the transaction layer from the INVITE, with the INVITE's Via and the hang-up's
  /// headers; RFC 3261 §9.1 fixes its Request-URI, Via, From, To, Call-ID, CSeq and Route,
  /// so leave those). What the transaction layer builds and answers itself is not shown:
  /// 100 Trying and the ACK of a non-2xx final response (§17.1.1.3). Allowed edits: adding or changing headers the stack does not match on
  /// (P-Asserted-Identity, User-Agent, X-..., topology hiding in Contact at your own risk),
  /// changing the body with its Content-Type. Changing Via, CSeq, Call-ID, From/To tags or
  /// the method breaks transaction and dialog matching; this is documented, not policed.
  /// Content-Length is always recomputed. Runs on the agent's thread; it must not throw or
  /// call back into the agent. An empty function removes the hook.
  void on_outgoing(std::function<void(parser::message&)> hook);
  /// Sees every message received (after parsing, before the transaction layer and the
  /// agent act on it): retransmissions and messages the stack then drops included. For
  /// logging and metrics; the message must not be kept (copy it). Runs on the agent's
  /// thread; it must not throw. An empty function removes it.
  void on_incoming(std::function<void(const parser::message&)> hook);

  /// The next event of any kind (agent_event), once ua_config::event_queue > 0. Which
  /// events reach the queue: those that have no handler. An incoming call when
  /// on_incoming_call has no handler (instead of the 480); a call's events until its
  /// call::on_event sets one (calls made by make_call and incoming calls from the queue);
  /// registration events until registration::on_event sets a handler; NOTIFYs until
  /// subscription::on_notify does; out-of-dialog MESSAGEs when on_message has none (then
  /// answered 200 instead of 405). A handler set later takes the events from then on.
  /// Events come in the order they happened. Completion: void(std::error_code,
  /// agent_event) on the agent's executor (posted); with use_future / use_awaitable a
  /// std::tuple. Several waiters are served in the order they asked. Errors:
  /// errc::invalid_state when the queue is off; std::errc::operation_canceled for waiters
  /// still pending when the agent is destroyed.
  template <class Token>
  auto async_next_event(Token&& token) {
    return boost::asio::async_initiate<Token, void(std::error_code, agent_event)>(
        [this](auto handler) { next_event_impl(std::move(handler)); }, token);
  }
  /// Events dropped because the queue was full (monotonic).
  std::uint64_t events_dropped() const noexcept;
  /// Events waiting to be pulled.
  std::size_t events_queued() const noexcept;

  struct impl;

 private:
  void next_event_impl(
      boost::asio::any_completion_handler<void(std::error_code, agent_event)> h);
  void request_impl(std::string_view method, request_options request,
                    boost::asio::any_completion_handler<void(std::error_code, int)> h);
  std::unique_ptr<impl> impl_;
};

}  // namespace sipkit::ua
