// Private: the user_agent's state and the call objects it owns.
//
// The impl is the transaction user of one asio_adapter (transaction manager) over one
// network_transport. It keeps one table of dialog usages (usages_: dialog id -> the call,
// subscription or notifier that owns that dialog; the dialogs live in those), the calls, and
// for each client transaction it started the continuation that takes its outcome
// (client_op), so responses find their way back without a switch on what it was for.
#pragma once

#include <memory>
#include <optional>
#include <set>
#include <string>
#include <unordered_map>
#include <vector>

#include "completion.hpp"
#include "continuation.hpp"
#include "prack_binding.hpp"
#include "registration_binding.hpp"
#include "session_timer_binding.hpp"
#include "sipkit/transaction/asio_adapter.hpp"
#include "sipkit/transaction/branch.hpp"
#include "sipkit/transaction/network_transport.hpp"
#include "sipkit/transport/manager.hpp"
#include "sipkit/transport/resolver.hpp"
#include "sipkit/ua/call.hpp"
#include "sipkit/ua/digest.hpp"
#include "sipkit/ua/registration.hpp"
#include "sipkit/ua/subscription.hpp"
#include "sipkit/ua/user_agent.hpp"
#include "subscription_binding.hpp"
#include "sync_failure.hpp"
#include "transfer_binding.hpp"
#include "usages.hpp"

namespace sipkit::ua {

struct user_agent::impl final : tx::transaction_user {
  impl(boost::asio::io_context& io, ua_config cfg);
  ~impl() override;

  // transaction_user
  void on_request(tx::transaction_id id, const parser::message& request, const tx::endpoint& source,
                  tx::transaction_id cancels) override;
  void on_response(tx::transaction_id id, const parser::message& response) override;
  void on_ack(const parser::message& ack, const tx::endpoint& source,
              tx::transaction_id matched) override;
  void on_stray_response(const parser::message& response, const tx::endpoint& source) override;
  void on_failure(tx::transaction_id id, std::error_code ec) override;
  void on_terminated(tx::transaction_id id) override;

  // ---- shared helpers (user_agent.cpp)
  std::string random_token(std::size_t hex_digits = 16);
  /// The endpoint of a sip/sips URI with an IP-literal host; nullopt otherwise.
  std::optional<tx::endpoint> endpoint_of(std::string_view uri,
                                          tx::transport_protocol fallback) const;
  /// "host:port" of the listener used towards `dest`, "" when none.
  std::string sent_by(const tx::endpoint& dest) const;
  std::string contact_for(const tx::endpoint& dest) const;
  void add_common_headers(parser::message& m) const;
  std::string allow_header() const;  // User-Agent/Server, Allow, Supported
  /// Start a client transaction; on failure completes `op.done` / ends the call.
  tx::transaction_id start(parser::message request, std::vector<tx::endpoint> targets,
                           client_op op);
  /// An in-dialog request of `c` whose outcome is its final status (INFO, MESSAGE, UPDATE,
  /// PRACK; REFER and NOTIFY with their module's continuation), sent to the dialog's next hop.
  void start_in_dialog(const call_ptr& c, parser::message request, const tx::endpoint& dest,
                       status_handler done = {}, const continuation& then = request_then);
  /// RFC 3263: the targets for a URI — at once for an IP-literal host, else through the
  /// resolver (NAPTR/SRV/A/AAAA). `done` gets an error or a non-empty list.
  using targets_handler = std::function<void(std::error_code, std::vector<tx::endpoint>)>;
  void locate(std::string_view uri, targets_handler done);
  /// Where a request in dialog `d` of call `c` goes first (the first route, else the
  /// remote target: dialog::next_hop_uri).
  std::optional<tx::endpoint> hop_of(const call_impl& c, const sipkit::dialog::dialog& d) const;
  /// Where a request in dialog `d` goes first, from `peer` (the address `first_hop_host` was
  /// resolved to); `what` names the usage in the log.
  std::optional<tx::endpoint> hop_of(const tx::endpoint& peer, std::string_view first_hop_host,
                                     std::string_view what, const sipkit::dialog::dialog& d) const;
  void resend_ack(call_impl& c);
  /// Send an ACK (or any request outside a transaction) with a fresh Via.
  void send_stateless_request(parser::message& request, const tx::endpoint& dest);
  void respond(tx::transaction_id id, parser::message response);
  /// respond() that reports failure: the stack's own error (no such transaction ...), or
  /// the transport error of a send that failed at once (a response too large for UDP),
  /// which ends the server transaction (RFC 3261 §17.2.4) and reaches us through
  /// on_failure while the stack's respond() succeeds.
  std::error_code send_response(tx::transaction_id id, parser::message response);
  parser::message response_to(const parser::message& request, int code,
                              std::string_view to_tag = {}) const;
  /// 500 with Retry-After: 1 (RFC 3261 §14.2, RFC 3311 §5.2): the request crossed an
  /// offer/answer of ours that is about to complete.
  parser::message retry_later(const parser::message& request) const;
  void emit(call_impl& c, call_event e);
  void set_state(call_impl& c, call_state s, int status = 0);
  /// The call is over: dialogs dropped, waiters completed, event sent, call released.
  void end_call(const call_ptr& c, int status, std::error_code ec);
  void arm_retransmit(const call_ptr& c);
  /// A log line that a peer can trigger once per call or request (a missing ACK, a failed
  /// transaction ...): rate-limited per reason (log_throttle), so that a flood of calls
  /// cannot turn into a flood of log lines. `reason` is a fixed string.
  void peer_log(std::string_view reason, log_level level, std::string_view text) {
    peer_log_.log(reason, level, text);
  }
  /// The initial 2xx of `c` got no ACK (64*T1 passed, or the call was evicted from the
  /// calls awaiting their ACK): its waiters fail with errc::no_ack and a BYE goes out.
  void give_up_on_ack(const call_ptr& c, std::string_view why);
  /// Bookkeeping of calls whose initial 2xx awaits its ACK (ua_config::
  /// max_calls_awaiting_ack): a new one evicts the oldest when the pool is full.
  void start_awaiting_ack(const call_ptr& c);
  void stop_awaiting_ack(call_impl& c);
  local_media media_for(const tx::endpoint& dest) const;
  sipkit::dialog::dialog* dialog_of(call_impl& c);
  /// Adds a dialog of call `c` (a fork, or the first one) and its entry in usages_; the
  /// existing one when `c` has it; nullptr when the id is another usage's or the calls'
  /// dialogs are at their bound.
  sipkit::dialog::dialog* add_call_dialog(const call_ptr& c, sipkit::dialog::dialog d);
  /// Drops the dialogs of `c` other than `keep` (none: all of them) and their entries.
  void drop_call_dialogs(call_impl& c, const sipkit::dialog::dialog_id* keep = nullptr);
  /// The usage that owns the dialog of this request / response (§12.2.2); nullptr if none.
  detail::usage* usage_for(const std::optional<sipkit::dialog::dialog_id>& id);

  // ---- UAC (uac.cpp)
  call make_call(std::string_view target);
  void send_invite(const call_ptr& c, const std::string& target, std::vector<tx::endpoint> targets);
  void on_invite_response(client_op& op, tx::transaction_id id, const parser::message& rsp);
  void on_reinvite_response(client_op& op, const parser::message& rsp);
  void send_ack(const call_ptr& c, sipkit::dialog::dialog& d, std::uint32_t cseq,
                std::string_view body = {});
  void send_bye(const call_ptr& c, done_handler done = {});
  void send_cancel(const call_ptr& c);
  void hangup(const call_ptr& c, done_handler done);
  void in_dialog_request(const call_ptr& c, const std::string& method, std::string ct,
                         std::string body, status_handler done);
  void reinvite(const call_ptr& c, bool hold, status_handler done);
  void out_of_dialog_request(std::string_view method, message_request request, status_handler done);

  /// A 401/407 to `op`: send the request again with credentials (§22.2). False when we
  /// cannot (no credentials, unsupported challenge, already tried twice).
  bool retry_with_credentials(client_op& op, tx::transaction_id id, const parser::message& rsp);
  /// Adds the credentials for `challenge` to `request` (the `attempt`th challenged retry);
  /// false when we cannot or should not (refused credentials without stale=true).
  bool answer_challenge(parser::message& request, const parser::message& challenge, int attempt);

  void on_application_request(tx::transaction_id id, const parser::message& req,
                              const tx::endpoint& source,
                              const std::function<void(incoming_request&)>& handler);

  // ---- UAS (uas.cpp)
  void on_new_invite(tx::transaction_id id, const parser::message& req, const tx::endpoint& source);
  void on_in_dialog_request(tx::transaction_id id, const parser::message& req, const call_ptr& c,
                            sipkit::dialog::dialog& d);
  void on_cancel(tx::transaction_id id, const parser::message& req, tx::transaction_id cancels);
  void on_reinvite(tx::transaction_id id, const parser::message& req, const call_ptr& c,
                   sipkit::dialog::dialog& d);
  /// Answers an SDP offer of the peer from our media (RFC 3264): 0, or 488.
  int answer_offer(const call_ptr& c, std::string_view body, std::string& answer_sdp);
  void on_update(tx::transaction_id id, const parser::message& req, const call_ptr& c,
                 sipkit::dialog::dialog& d);
  void update(const call_ptr& c, status_handler done);
  std::error_code ring(const call_ptr& c, int code);
  std::error_code answer(const call_ptr& c);
  std::error_code reject(const call_ptr& c, int code, std::string_view reason);
  /// A request the UAS core refuses before any dialog logic (§8.2.1-§8.2.3), or 0
  /// (uas_checks.cpp).
  int precheck(const parser::message& req, parser::message& refusal) const;
  /// A To tag for a stateless-style refusal (precheck is const, the generator is not).
  std::string tag_for_refusal() const { return const_cast<impl*>(this)->random_token(10); }
  /// The Request-URI names one of our listeners' addresses or our domain.
  bool addressed_to_us(const parser::message& req) const;
  /// §8.2.2.2: the same request (From tag, Call-ID, CSeq) already being served on another
  /// transaction: a merged request, answered 482. Remembers `req` otherwise.
  bool merged_request(tx::transaction_id id, const parser::message& req);

  boost::asio::io_context& io_;
  ua_config config_;
  sipkit::transport::manager net_;
  tx::network_transport transport_;
  tx::asio_adapter stack_;
  tx::branch_generator random_;
  std::unique_ptr<sipkit::transport::resolver> resolver_;  // made on the first host name
  digest_client digest_;
  // The one table of dialog usages: each dialog id (every fork of a call, a subscription,
  // a notifier) to the usage that owns the dialog. In-dialog requests, ACKs and stray 2xx
  // are dispatched through it.
  std::unordered_map<sipkit::dialog::dialog_id, std::shared_ptr<detail::usage>,
                     sipkit::dialog::dialog_id_hash>
      usages_;
  std::size_t call_dialogs_ = 0;        // the calls' entries in usages_
  const std::size_t max_call_dialogs_;  // (max_calls + max_calls_awaiting_ack) * 2
  std::unordered_map<call_impl*, call_ptr> calls_;
  // Incoming calls whose initial 2xx awaits its ACK, oldest first. Counted apart from
  // max_calls, so that INVITEs from sources that never ACK cannot starve new calls.
  std::list<call_impl*> awaiting_ack_;
  std::uint64_t calls_evicted_awaiting_ack_ = 0;
  std::unordered_map<tx::transaction_id, client_op> client_ops_;
  std::unordered_map<tx::transaction_id, call_ptr> invite_servers_;  // IST -> call
  // Requests without To tag being served, for merged-request detection (§8.2.2.2).
  std::unordered_map<std::string, tx::transaction_id> pending_requests_;
  std::unordered_map<tx::transaction_id, std::string> pending_keys_;
  std::function<void(call)> incoming_handler_;
  std::function<void(const message_event&)> message_handler_;
  std::unordered_map<std::string, std::function<void(incoming_request&)>> request_handlers_;
  // Out-of-dialog requests by method, after request_handlers_ (the dispatch registry).
  detail::method_table method_handlers_ = detail::core_methods();
  // start_client may report a synchronous failure before it returns the id, and so may
  // respond() for a server transaction (send_response).
  detail::sync_failure_trap sync_failure_;
  bool stopping_ = false;
  transfer_binding transfer_{*this};
  session_timer_binding session_timer_{*this};
  prack_binding prack_{*this};
  subscription_binding subscription_{*this};
  registration_binding registration_{*this};
  sipkit::log_throttle peer_log_{config_.log, "ua"};
  // Expires with the agent: work it posted checks it before touching the agent.
  std::shared_ptr<int> lifetime_ = std::make_shared<int>(0);
};

}  // namespace sipkit::ua
