// One INVITE session (a call), both sides, as a sans-I/O machine: RFC 3261 §13 (initial
// INVITE), §9 (CANCEL), §12 (dialogs: early per remote tag, confirmed), §14 (re-INVITE,
// glare), §15 (BYE), RFC 6026 (2xx reliability owned by the session), RFC 3264 offer/answer
// (offer_answer_state.hpp) and RFC 3311 UPDATE.
//
//   // UAC: the caller builds the INVITE (From tag, Call-ID, CSeq, Contact, body; no Via)
//   invite_session s = invite_session::make_uac(std::move(invite), config);
//   run(s.start(now));                 // send_request{id, INVITE}
//   run(s.on_response(id, ringing, now));   // state_changed{early}
//   run(s.on_response(id, ok, now));        // send_ack, state_changed{confirmed}
//
//   // UAS: a new INVITE from the transaction layer (server transaction `tx`)
//   invite_session s = invite_session::make_uas(invite, tx, {local_tag, contact}, config);
//   run(s.start(now));                 // state_changed{incoming}, offer_received
//   run(s.accept({.body = answer}, now));   // send_response{tx, 200}, state accepted
//   ...arm one timer at s.next_deadline(); when it fires: run(s.on_timer(now));
//
// Inputs are the entry points below; every one takes `now` and returns an action_list: the
// things to do, in execution order, as a std::vector of a std::variant of plain structs.
// Sends come in the order the RFC sends them; events for the application follow the
// sends they explain. What the binding does with each action:
//   send_request   start a client transaction for `request` (add the Via; resolve
//                  `next_hop_uri`, or the binding's own target for the initial INVITE) and
//                  feed its responses back with on_response(id, ...) and its failure
//                  with on_request_failed(id, ...): the continuation is `id`.
//   cancel_invite  transaction::manager::cancel on the INVITE started as `invite`, with
//                  `headers` added to the CANCEL (the hang-up's, e.g. an RFC 3326 Reason).
//   send_response  respond on server transaction `tx` (a 2xx retransmission goes through
//                  the IST in Accepted, RFC 6026 §7.1, or statelessly when it is gone).
//   send_ack       send outside any transaction (§13.2.2.4): add a Via with a new branch
//                  (a retransmitted ACK may reuse the first one's) and send to
//                  `next_hop_uri`.
//   the rest       events for the application (state changes, offers and answers,
//                  requests to answer, completions, the end).
//
// Hook points for the modules (100rel, session timer, transfer): every response the
// session sends comes out as a send_response holding the message by value, so a module
// can add RSeq/Require or Session-Expires before the binding sends it; provisional_received
// reports each 1xx a UAC gets (PRACK), request_received each in-dialog request the session
// does not consume itself (PRACK, REFER, NOTIFY, INFO ...), and reinvite_completed /
// update_completed / state_changed{confirmed} are the "session refreshed" moments.
//
// Ownership: the session owns copies of what it keeps (the INVITE, the dialogs, the last
// 2xx until its ACK, an ACK that carries an answer, pending requests); an ACK without
// body is rebuilt from the dialog when a retransmitted 2xx needs it again. What only the
// set-up needs lives in one block allocated on demand and freed once the INVITE
// transaction is over and no 2xx or glare retry is pending, so an established session
// holds its dialog, its offer/answer state and its timer table. Pointers in actions (`cause`, `request`, `response`)
// refer either to the message passed to the entry point or to one the session keeps;
// they are valid until the next call on this session or until that message dies,
// whichever comes first. Execute the actions right away.
//
// Thread safety: none; one session belongs to one thread at a time.
// Errors: operations the state does not allow leave the state unchanged and return an
// action_list whose `error` is set (session::error::invalid_state, request_pending);
// the peer's protocol errors are answered on the wire (481 for a request of no dialog of
// this session, 491 glare, 500 for a CSeq out of order or a crossing offer) and never
// thrown. make_uac/make_uas throw std::invalid_argument for a message that is not an
// INVITE (misuse); otherwise std::bad_alloc only.
//
// Why named entry points rather than one handle(event): each input carries different
// data (a request id, a server transaction id, options), and the application's
// operations (accept, reinvite ...) return errors of their own; the transition table
// at the top of invite_session.cpp is still the one place the behaviour is written down.
// Why UPDATE lives here and not in a module: its only state is the offer/answer state and
// the dialog, both the session's; a module would have to reach into both (RFC 3311 §5 is
// written against the INVITE's offer/answer).
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <system_error>
#include <utility>
#include <variant>
#include <vector>

#include "sipkit/dialog/dialog.hpp"
#include "sipkit/dialog/invite_2xx_retransmitter.hpp"
#include "sipkit/parser/message.hpp"
#include "sipkit/session/offer_answer_state.hpp"
#include "sipkit/session/timer_table.hpp"
#include "sipkit/transaction/transport.hpp"

namespace sipkit::session {

/// Names a request the session asked the binding to send; responses come back with it.
using request_id = std::uint32_t;

struct invite_session_config {
  timer_config timers;
  /// The transport towards the peer is reliable (TCP, TLS, WS): the UAS does not
  /// retransmit its 2xx, but still waits 64*T1 for the ACK (§13.3.1.4).
  bool reliable_transport = false;
};

/// What the application puts into a request or response the session builds.
struct message_options {
  std::string body{};
  std::string content_type = "application/sdp";
  /// Extra headers, added as given (Supported, Require, Subject, User-Agent ...).
  std::vector<std::pair<std::string, std::string>> headers{};
  /// UAS 1xx only: the response will be sent reliably (the 100rel module adds RSeq and
  /// Require), so a body in it takes part in offer/answer (RFC 3262 §5).
  bool reliable = false;
};

/// A re-INVITE's options (§14.1): a 491 answer is retried after `glare_retry` (the
/// caller draws it: 2.1-4 s when it owns the Call-ID, else 0-2 s); none: no retry.
struct reinvite_options {
  message_options message;
  std::optional<duration> glare_retry;
};

class invite_session {
 public:
  /// Named after RFC 3261's ladder: §13.2 for the UAC, §13.3 for the UAS.
  enum class state : std::uint8_t {
    calling,               ///< UAC: INVITE sent, nothing back yet
    cancel_pending,        ///< UAC: hang-up before any provisional: CANCEL on the first (§9.1)
    proceeding,            ///< UAC: 100 received (a CANCEL may go now)
    early,                 ///< a provisional with a To tag: early dialog(s) (§12.1)
    cancelling,            ///< UAC: CANCEL sent, awaiting the INVITE's final response
    incoming,              ///< UAS: INVITE received, nothing sent but maybe 100
    accepted,              ///< UAS: 2xx sent, awaiting the ACK (§13.3.1.4)
    accepted_bye_pending,  ///< UAS: hung up before the ACK: BYE once it comes (§15)
    confirmed,             ///< 2xx sent and ACKed, or received and ACKed
    terminating,           ///< BYE sent, awaiting its final response
    terminated,
  };

  /// The in-dialog INVITE transaction of §14 (one at a time in each direction).
  enum class reinvite_state : std::uint8_t {
    idle,
    sent,          ///< our re-INVITE awaits its final response
    glare_wait,    ///< it got 491: the glare_retry timer runs (§14.1); the peer's
                   ///< re-INVITE may still come in meanwhile (then: received)
    received,      ///< the peer's re-INVITE awaits our final response
    awaiting_ack,  ///< our 2xx to the peer's re-INVITE awaits its ACK
  };

  enum class timer : std::uint8_t {
    retransmit_2xx,  ///< our 2xx again (T1 doubling to T2) / BYE at 64*T1 without ACK
    glare_retry,     ///< re-send the re-INVITE that got 491 (§14.1)
    count
  };

  // ---------------------------------------------------------------- actions
  struct send_request {
    request_id id = 0;
    parser::message request;
    /// dialog::next_hop_uri() of the dialog; empty for the initial INVITE.
    std::string next_hop_uri;
  };
  struct cancel_invite {
    request_id invite = 0;
    /// The hang-up's extra headers, to add to the CANCEL after the fields RFC 3261 §9.1
    /// takes from the INVITE (RFC 3326 §2 allows a Reason in a CANCEL).
    std::vector<std::pair<std::string, std::string>> headers{};
  };
  struct send_response {
    transaction::transaction_id tx;
    parser::message response;
    bool retransmission = false;  ///< a 2xx sent again (§13.3.1.4)
  };
  struct send_ack {
    parser::message ack;
    std::string next_hop_uri;
    bool retransmission = false;  ///< for a retransmitted 2xx (§13.2.2.4)
  };
  struct state_changed {
    state from;
    state to;
    const parser::message* cause = nullptr;  ///< null when the application caused it
  };
  /// The peer made an offer: answer it (accept/respond with the answer as body, or
  /// answer() when it came in a 2xx and the ACK must carry the answer). UAC, in a
  /// reliable 1xx: the offer of that fork's early dialog (the To tag of `message`), to
  /// answer in the PRACK sent in that dialog (request/send_built with that tag); each
  /// fork that offers is reported (RFC 3261 §13.2.1, RFC 3262 §5).
  struct offer_received {
    offer_answer_state::carrier carrier;
    const parser::message* message;
  };
  /// The peer answered our offer (UAC, in a reliable 1xx: in that fork's early dialog,
  /// the To tag of `message`; each fork's answer is reported).
  struct answer_received {
    offer_answer_state::carrier carrier;
    const parser::message* message;
  };
  /// The INVITE (or re-INVITE) carried no offer, so our 2xx (or reliable 1xx) must carry
  /// one (§13.3.1, §14.2).
  struct offer_needed {};
  /// A 1xx to our INVITE (UAC); hook for 100rel (PRACK) and early media.
  struct provisional_received {
    const parser::message* response;
  };
  /// An in-dialog request for the application (re-INVITE, UPDATE, INFO, MESSAGE, ...):
  /// answer it with respond(tx, ...).
  struct request_received {
    transaction::transaction_id tx;
    const parser::message* request;
  };
  /// Our re-INVITE (or UPDATE, or generic request) got its final response; `error` is
  /// empty for a 2xx, error::glare for 491, error::rejected otherwise, or the
  /// transaction's failure (then `response` is null).
  struct request_completed {
    request_id id;
    parser::method method;
    const parser::message* response;
    std::error_code error;
  };
  /// The session is over. `status`: the final response that ended it (INVITE, BYE), 0
  /// when none. `error`: empty for a hang-up of ours, else why (rejected, cancelled,
  /// session_ended for the peer's BYE or a 481/408, no_ack, a transaction error).
  struct ended {
    int status = 0;
    std::error_code error;
    const parser::message* cause = nullptr;
  };

  using action = std::variant<send_request, cancel_invite, send_response, send_ack, state_changed,
                              offer_received, answer_received, offer_needed, provisional_received,
                              request_received, request_completed, ended>;
  struct action_list {
    std::vector<action> items;
    /// Set when the operation was refused; then `items` is empty and nothing changed.
    std::error_code error;

    auto begin() const noexcept { return items.begin(); }
    auto end() const noexcept { return items.end(); }
    std::size_t size() const noexcept { return items.size(); }
    bool empty() const noexcept { return items.empty(); }
    const action& operator[](std::size_t i) const { return items[i]; }
  };
  /// Vectors for action lists, reused from one entry point to the next so that a binding
  /// executing thousands of calls does not allocate a vector per entry point. Optional
  /// (use_action_storage); owned by the binding, shared by all its sessions; not
  /// thread-safe (one executor, like the sessions).
  struct action_storage {
    std::vector<std::vector<action>> free;
    /// Returns the executed list's vector (emptied) for the next entry point's list.
    void give_back(action_list&& used);
  };
  /// Later entry points build their lists in vectors taken from `storage` (null: new
  /// ones). `storage` must outlive every later entry point call.
  void use_action_storage(action_storage* storage) noexcept { storage_ = storage; }

  // ---------------------------------------------------------------- creation
  /// UAC: `invite` as the caller built it (Request-URI, From with tag, To, Call-ID, CSeq,
  /// Contact, Max-Forwards, body; no Via). start() sends it.
  static invite_session make_uac(parser::message invite, invite_session_config config = {});
  struct uas_options {
    std::string local_tag;  ///< our To tag for every response with a tag
    std::string contact;    ///< our Contact header value (name-addr)
  };
  /// UAS: an INVITE received on server transaction `tx` (out of any dialog).
  static invite_session make_uas(const parser::message& invite, transaction::transaction_id tx,
                                 uas_options options, invite_session_config config = {});

  /// UAC: send_request for the INVITE. UAS: state_changed{incoming} and offer_received or
  /// offer_needed. Once only.
  action_list start(time_point now);

  // ---------------------------------------------------------------- application
  /// UAS: a provisional (101-199) on the INVITE; the first with a To tag makes the early
  /// dialog. invalid_state outside incoming/early.
  action_list ring(int status, message_options options, time_point now);
  /// UAS: 200 on the INVITE; the body answers the INVITE's offer, or offers (answer in
  /// the ACK). invalid_state outside incoming/early, or with no answer to an offer.
  action_list accept(message_options options, time_point now);
  /// UAS: a 300-699 on the INVITE; the session ends (error::rejected).
  action_list reject(int status, message_options options, time_point now);
  /// Ends the call the way the state allows: CANCEL (now or at the first provisional),
  /// 486 before our answer, BYE (once the ACK came, for the UAS), nothing when ending.
  action_list hang_up(time_point now);
  /// As hang_up(now), with `options.headers` (an RFC 3326 Reason ...) in what it sends:
  /// the CANCEL (also one that waits for the first provisional, §9.1), the 486, the BYE
  /// (also one that waits for the ACK of our 2xx, or follows a 2xx that crossed our
  /// CANCEL, or the 64*T1 give-up on that ACK; for a UAC also the BYE to each fork that
  /// answers afterwards). The body is used by the 486 only. The
  /// session adds the headers as given: the caller refuses the ones it writes itself.
  action_list hang_up(message_options options, time_point now);
  /// UAC: the answer to an offer that came in the 2xx, sent in the ACK (§13.2.2.4).
  action_list answer(std::string_view sdp, time_point now);
  /// A re-INVITE in the confirmed dialog (§14.1). request_pending while any INVITE or
  /// offer of either side is outstanding.
  action_list reinvite(reinvite_options options, time_point now);
  /// An UPDATE (RFC 3311) in an early or confirmed dialog; with a body it is an offer,
  /// allowed only once the initial offer/answer completed and none is pending (§5.1).
  action_list update(message_options options, time_point now);
  /// Any other request in the dialog (INFO, MESSAGE, OPTIONS, REFER, NOTIFY, PRACK ...):
  /// built by the dialog (Route, CSeq, Contact for target refreshes), completed by
  /// request_completed. Not for INVITE, UPDATE, BYE, ACK, CANCEL. `remote_tag` picks the
  /// early dialog of that fork (a PRACK goes to the dialog of its 1xx, RFC 3262 §7.2);
  /// empty: the confirmed dialog, else the first early one. A PRACK while the offer of a
  /// reliable 1xx of its dialog awaits our answer (our INVITE had none, RFC 3262 §5)
  /// carries the answer as its body; without a body it refuses that offer; other forks'
  /// offers are not touched (same for send_built()).
  action_list request(std::string_view method, message_options options, time_point now,
                      std::string_view remote_tag = {});
  /// For the modules that build in-dialog requests from a dialog themselves (100rel's
  /// PRACK, transfer's REFER and NOTIFY, a session timer's refreshing UPDATE): the
  /// session's dialog with remote tag `remote_tag` (empty: the confirmed one, else the
  /// first early one), mutable so that the module's request takes the dialog's next CSeq
  /// and route set. Null when there is none or the session is over. Send what was built
  /// with send_built(), never past the session: the dialog's CSeq has moved.
  dialog::dialog* dialog_for_module(std::string_view remote_tag = {}) noexcept;
  /// Sends a request a module built with dialog_for_module()'s dialog, as request() sends
  /// one it builds: send_request now, request_completed at its final response (a 481/408
  /// or a timeout ends the session, a PRACK's excepted, §12.2.1.2). The dialog is the one
  /// whose local and remote tags the request's From and To carry. Methods and states as
  /// request(), plus an UPDATE without a body (a refresh: no offer, RFC 4028 §10);
  /// invalid_state otherwise.
  action_list send_built(parser::message request, time_point now);
  /// Answers an in-dialog request reported by request_received. For a re-INVITE or
  /// UPDATE, a 2xx carries our Contact and the body is the answer (or, for a re-INVITE
  /// without offer, our offer); a re-INVITE's 2xx is retransmitted until its ACK.
  action_list respond(transaction::transaction_id tx, int status, message_options options,
                      time_point now);

  /// Sends request `id` again as a new request (new CSeq: the INVITE's + 1 for the initial
  /// INVITE, the dialog's next one otherwise), with the headers in `set_headers` replacing
  /// those of the same name: for credentials after a 401/407 (§22.2, §8.1.3.5) or a larger
  /// Session-Expires after a 422 (RFC 4028 §7.4). The binding (or module) that retries
  /// does so instead of passing that final response to on_response; the new request has
  /// the same continuation. invalid_state when `id` is not pending.
  action_list retry(request_id id, std::vector<std::pair<std::string, std::string>> set_headers,
                    time_point now);
  /// UAC: the initial INVITE `id` got a 3xx (or its redirected target failed) and the
  /// binding follows the redirection (RFC 3261 §8.1.3.4): the same INVITE is sent again
  /// as a new transaction of the same call, to `request_uri` (a Contact of the 3xx), with
  /// CSeq + 1, the same Call-ID, From (tag), To (no tag), headers and body, and the headers
  /// in `set_headers` replacing those of the same name (and `remove_headers` removed: the
  /// credentials meant for the server that redirected). Instead of passing that final
  /// response to on_response. Every early dialog of the old target ends (§13.2.2.3), the
  /// offer of the INVITE is pending again, and the state goes back to calling. A hang-up
  /// that waited (cancel_pending, cancelling) ends the session with error::cancelled
  /// instead. invalid_state when `id` is not the pending initial INVITE of a UAC.
  /// (invite_redirect.cpp)
  action_list redirect(request_id id, std::string_view request_uri,
                       std::vector<std::pair<std::string, std::string>> set_headers,
                       std::vector<std::string> remove_headers, time_point now);
  /// UAS: stop waiting for the ACK of our 2xx now, as if 64*T1 had passed (§13.3.1.4):
  /// BYE, and the session ends with error::no_ack. For a binding that bounds the calls
  /// awaiting their ACK. invalid_state when no 2xx awaits its ACK.
  action_list give_up_ack(time_point now);

  // ---------------------------------------------------------------- network
  /// A response to request `id`, as the transaction layer passes it up (2xx
  /// retransmissions of an INVITE included).
  action_list on_response(request_id id, const parser::message& response, time_point now);
  /// A 2xx for our INVITE that no transaction matched any more (after Timer M): ACKed
  /// again, or, from another fork, ACKed and BYEd.
  action_list on_stray_response(const parser::message& response, time_point now);
  /// Request `id` failed in the transaction layer (timeout: counts as 408; transport
  /// error: 503, §8.1.3.1).
  action_list on_request_failed(request_id id, std::error_code error, time_point now);
  /// A request the binding routed to this session: in one of its dialogs (BYE,
  /// re-INVITE, UPDATE, INFO ...). CANCEL goes to on_cancel, ACK to on_ack.
  action_list on_request(transaction::transaction_id tx, const parser::message& request,
                         time_point now);
  /// UAS: a CANCEL matching our INVITE's server transaction (§9.2), itself on `tx`.
  action_list on_cancel(transaction::transaction_id tx, const parser::message& cancel,
                        time_point now);
  /// An ACK for a 2xx of ours (§13.3.1.4).
  action_list on_ack(const parser::message& ack, time_point now);
  /// The INVITE's transaction is over (the binding saw it terminate: Timer M for the
  /// UAC, the ACK or Timer L for the UAS): once the session is confirmed or ending, the
  /// INVITE it kept is released with the rest of the set-up state (early dialogs, the
  /// fork ACKs), so an established call stays small. After this, a 2xx of
  /// another fork can no longer be ACKed and BYEd (it cannot arrive: the ICT is gone).
  /// Returns the INVITE it let go (moved out, for a binding that keeps it for the
  /// application), an empty message when it kept it (too early) or had released it.
  parser::message on_invite_transaction_ended() noexcept;
  /// Pops and handles every timer due at `now`.
  action_list on_timer(time_point now);

  // ---------------------------------------------------------------- state
  std::optional<time_point> next_deadline() const noexcept { return timers_.next_deadline(); }
  const timer_table<timer>& timers() const noexcept { return timers_; }
  state current_state() const noexcept { return state_; }
  reinvite_state current_reinvite_state() const noexcept { return reinvite_; }
  bool is_uac() const noexcept { return uac_; }
  /// The offer/answer state of current_dialog(): the confirmed dialog's (the UAS's), or
  /// for a UAC before the 2xx the first early dialog's, or, before any early dialog, the
  /// INVITE's own (its offer, or none).
  const offer_answer_state& offer_answer() const noexcept;
  /// UAC before the 2xx: the offer/answer state of the early dialog with remote tag
  /// `remote_tag` (RFC 3261 §13.2.1, RFC 3262 §5: each fork's exchange is its own; the
  /// offer of its reliable 1xx is answered in its PRACK). Otherwise, or when there is no
  /// such early dialog, offer_answer().
  const offer_answer_state& offer_answer(std::string_view remote_tag) const noexcept;
  /// The confirmed dialog, else (UAC) the first early one, else null.
  const dialog::dialog* current_dialog() const noexcept;
  /// UAC: the early dialogs, one per remote tag (forks), until a 2xx picks one.
  const std::vector<dialog::dialog>& early_dialogs() const noexcept;
  /// The INVITE that started the session (UAC: as built, without Via); empty after
  /// on_invite_transaction_ended.
  const parser::message& invite() const noexcept;
  transaction::transaction_id invite_transaction() const noexcept { return invite_tx_; }
  /// The request `id` as sent, while it awaits its final response (a binding that
  /// answers a 401/407 or a 422 reads it to build the headers it passes to retry());
  /// null when `id` is not pending.
  const parser::message* sent_request(request_id id) const noexcept;
  /// After `ended`: its status and error.
  int end_status() const noexcept { return end_status_; }
  std::error_code end_error() const noexcept { return end_error_; }

 private:
  enum class pending_kind : std::uint8_t { invite, reinvite, update, bye, fork_bye, other };
  struct pending_request {
    request_id id;
    pending_kind kind;
    parser::message request;
  };
  struct incoming_request {
    transaction::transaction_id tx;
    parser::message request;
  };

  invite_session() = default;

  // An empty list, in a vector from storage_ when there is one.
  action_list new_list();
  // Helpers; each appends to `out`.
  request_id send(action_list& out, pending_kind kind, parser::message request,
                  const dialog::dialog* d);
  void set_state(action_list& out, state to, const parser::message* cause);
  void end(action_list& out, int status, std::error_code error, const parser::message* cause);
  void send_bye(action_list& out, time_point now,
                std::vector<std::pair<std::string, std::string>> headers = {});
  /// The headers of a hang-up that waits (cancel_pending, accepted_bye_pending, a CANCEL
  /// that a 2xx may cross), moved out for the BYE that ends the wait.
  std::vector<std::pair<std::string, std::string>> take_hangup_headers() noexcept;
  void start_2xx(action_list& out, transaction::transaction_id tx, parser::message ok,
                 time_point now);
  void arm_2xx_timer();
  dialog::dialog* dialog_for(const parser::message& request);
  /// The offer/answer state of dialog `d`: an early dialog's own (made from oa_ on first
  /// use), else oa_.
  offer_answer_state& oa_of(const dialog::dialog* d);
  /// The own offer/answer state of early dialog `index`, or null while it has none (then
  /// the INVITE's, oa_, is its state).
  offer_answer_state* early_oa_of(std::size_t index) noexcept;
  const offer_answer_state* early_oa_of(std::size_t index) const noexcept;
  /// What oa_of(d) would return, without making an early dialog's own state: for the
  /// checks that decide whether the exchange changes at all.
  const offer_answer_state& state_of(const dialog::dialog* d) const noexcept;
  /// Drops every early dialog with its offer/answer state.
  void drop_early() noexcept;
  parser::message uas_response(const parser::message& request, int status,
                               const message_options& options, bool with_contact) const;
  action_list on_invite_response(pending_request& p, const parser::message& response,
                                 time_point now);
  action_list on_2xx_to_invite(const parser::message& response, time_point now);
  void ack_and_bye_fork(action_list& out, const parser::message& response);
  action_list on_reinvite_response(pending_request& p, const parser::message& response,
                                   time_point now);
  action_list on_in_dialog_response(pending_request& p, const parser::message& response);
  void on_incoming_reinvite(action_list& out, transaction::transaction_id tx,
                            const parser::message& request);
  void on_incoming_update(action_list& out, transaction::transaction_id tx,
                          const parser::message& request);
  pending_request* find_pending(request_id id);
  void forget_pending(request_id id);

  // What a session needs only while it is set up, or during a rare episode (a
  // re-INVITE's 2xx, glare): allocated on first use and released once all of it is done
  // with (release_episode), so that an established call carries a pointer instead.
  struct episode {
    uas_options uas;         // until the UAS's dialog exists
    parser::message invite;  // until on_invite_transaction_ended
    // UAC: early dialogs per remote tag, until a 2xx picks one or the INVITE fails.
    std::vector<dialog::dialog> early;
    // The offer/answer state of an early dialog (by its index in `early`) once it has an
    // exchange of its own (§13.2.1: per dialog): a copy of the INVITE's (oa_) at its first
    // reliable 1xx with SDP, PRACK or UPDATE; it becomes oa_ when that dialog's 2xx comes.
    // An early dialog without an entry is still at the INVITE's state.
    std::vector<std::pair<std::size_t, offer_answer_state>> early_oa;
    // UAS side of §13.3.1.4 for the INVITE and each re-INVITE: our 2xx until its ACK.
    std::optional<parser::message> ok;
    transaction::transaction_id ok_tx;
    std::optional<dialog::invite_2xx_retransmitter> retransmitter;
    // UAC side of §13.2.2.4: the ACK of the last 2xx when it carries a body (our answer);
    // one without is rebuilt from the dialog for each retransmitted 2xx (ack_again).
    std::optional<parser::message> ack;
    // UAC, §13.2.2.4: the ACK of each other fork's 2xx (by remote tag), sent again for
    // its retransmissions; that dialog got its BYE once. Until Timer M.
    std::vector<std::pair<std::string, send_ack>> fork_acks;
    std::optional<reinvite_options> glare_retry;  // the re-INVITE to send again
    // A hang-up's headers (RFC 3326 Reason ...) while its CANCEL or BYE waits (§9.1, §15).
    std::vector<std::pair<std::string, std::string>> hangup_headers;
  };
  episode& ep();  // the episode, made on first use
  bool has_ok() const noexcept { return ep_ && ep_->ok; }
  bool has_glare_retry() const noexcept { return ep_ && ep_->glare_retry; }
  void keep_ack(const parser::message& ack);
  std::optional<parser::message> ack_again() const;  // the last ACK, to send again
  void release_episode() noexcept;

  bool uac_ = true;
  bool started_ = false;
  action_storage* storage_ = nullptr;
  bool invite_released_ = false;  // on_invite_transaction_ended dropped the INVITE
  bool awaiting_answer_for_ack_ = false;  // offer in the 2xx: answer() sends the ACK
  state state_ = state::calling;
  reinvite_state reinvite_ = reinvite_state::idle;
  std::uint32_t ack_cseq_ = 0;             // the CSeq of the last ACK (§13.2.2.4)
  request_id invite_id_ = 0;               // UAC: the INVITE's client request
  request_id next_id_ = 1;
  invite_session_config config_;
  transaction::transaction_id invite_tx_;  // UAS: the INVITE's server transaction
  std::optional<dialog::dialog> dialog_;   // confirmed (UAC), or the UAS's dialog
  offer_answer_state oa_;
  timer_table<timer> timers_;
  std::unique_ptr<episode> ep_;

  std::vector<pending_request> pending_;
  std::vector<incoming_request> incoming_;  // requests reported, not yet answered

  int end_status_ = 0;
  std::error_code end_error_;  // reported by `ended` (no_ack, cancelled decided early)
};

std::string_view to_string(invite_session::state s) noexcept;
std::string_view to_string(invite_session::reinvite_state s) noexcept;
std::string_view to_string(invite_session::timer t) noexcept;

}  // namespace sipkit::session
