// Private: the user_agent's core.
//
// The impl is the transaction user of one asio_adapter (transaction manager) over one
// network_transport: it sends (start, respond, stateless requests), routes (locate, hop_of),
// answers challenges, and dispatches what arrives (dispatch.cpp). It keeps one table of
// dialog usages (usages_: dialog id -> the call, subscription or notifier that owns that
// dialog; the dialogs live in those), and for each client transaction it started the
// continuation that takes its outcome (client_op, continuation.hpp), so responses find their
// way back without a switch on what a transaction was for. Out-of-dialog requests go to the
// application's handlers, then to the core's method table (detail::core_methods).
//
// Everything else lives in bindings, one class and file set each, members of the core:
// call_binding (calls: UAC, UAS, their bookkeeping), prack_binding / session_timer_binding /
// transfer_binding (the call's modules, RFC 3262 / 4028 / 3515), registration_binding,
// subscription_binding (subscriber and notifier), uas_checks (§8.2 prechecks).
// Thread safety: none; the agent's io_context thread only.
#pragma once

#include <memory>
#include <optional>
#include <set>
#include <string>
#include <unordered_map>
#include <vector>

#include "call_binding.hpp"
#include "completion.hpp"
#include "continuation.hpp"
#include "event_queue.hpp"
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
#include "transfer_binding.hpp"
#include "uas_checks.hpp"
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
  /// random_token(hex_digits) appended to `out`.
  void append_random_token(std::string& out, std::size_t hex_digits);
  /// The endpoint of a sip/sips URI with an IP-literal host; nullopt otherwise.
  std::optional<tx::endpoint> endpoint_of(std::string_view uri,
                                          tx::transport_protocol fallback) const;
  /// "host:port" of the listener used towards `dest`, "" when none.
  std::string sent_by(const tx::endpoint& dest) const;
  std::string contact_for(const tx::endpoint& dest) const;
  /// contact_for(dest) appended to `out`.
  void append_contact(std::string& out, const tx::endpoint& dest) const;
  void add_common_headers(parser::message& m) const;
  std::string_view allow_header() const;  // the Allow header's value
  /// Start a client transaction; on failure completes `op.done` / ends the call.
  tx::transaction_id start(parser::message request, std::vector<tx::endpoint> targets,
                           client_op op);
  /// RFC 3263: the targets for a URI — at once for an IP-literal host, else through the
  /// resolver (NAPTR/SRV/A/AAAA). `done` gets an error or a non-empty list.
  using targets_handler = std::function<void(std::error_code, std::vector<tx::endpoint>)>;
  void locate(std::string_view uri, targets_handler done);
  /// Where a request of a dialog goes first: `uri` is the dialog's next_hop_uri() (the
  /// first route, else the remote target). An IP literal is used as it is; a host name
  /// only when it is `first_hop_host`, the host `peer` was resolved from (the address
  /// found then still holds; other names are not resolved here). `what` names the usage
  /// in the log.
  std::optional<tx::endpoint> hop_of(const tx::endpoint& peer, std::string_view first_hop_host,
                                     std::string_view what, std::string_view uri) const;
  /// Send an ACK (or any request outside a transaction) with a fresh Via: its branch is
  /// the magic cookie and `branch` (the same one for an ACK sent again), else random.
  void send_stateless_request(parser::message& request, const tx::endpoint& dest,
                              std::string_view branch = {});
  void respond(tx::transaction_id id, parser::message response);
  /// respond() that reports failure: the stack's own error (no such transaction ...), or
  /// the transport error of a send that failed at once (a response too large for UDP),
  /// which ends the server transaction (RFC 3261 §17.2.4; the stack returns it).
  std::error_code send_response(tx::transaction_id id, parser::message response);
  parser::message response_to(const parser::message& request, int code,
                              std::string_view to_tag = {}) const;
  /// A log line that a peer can trigger once per call or request (a missing ACK, a failed
  /// transaction ...): rate-limited per reason (log_throttle), so that a flood of calls
  /// cannot turn into a flood of log lines. `reason` is a fixed string.
  void peer_log(std::string_view reason, log_level level, std::string_view text) {
    peer_log_.log(reason, level, text);
  }
  /// The usage that owns the dialog of this request / response (§12.2.2); nullptr if none.
  detail::usage* usage_for(const std::optional<sipkit::dialog::dialog_id>& id);

  void out_of_dialog_request(std::string_view method, request_options request, status_handler done);

  /// A 401/407 to `op`: send the request again with credentials (§22.2). False when we
  /// cannot (no credentials, unsupported challenge, already tried twice).
  bool retry_with_credentials(client_op& op, tx::transaction_id id, const parser::message& rsp);
  /// Adds the credentials for `challenge` to `request` (the `attempt`th challenged retry);
  /// false when we cannot or should not (refused credentials without stale=true).
  /// (A call's requests: call_binding answers with the call's own credentials first.)
  bool answer_challenge(parser::message& request, const parser::message& challenge, int attempt);

  void on_application_request(tx::transaction_id id, const parser::message& req,
                              const tx::endpoint& source,
                              const std::function<void(incoming_request&)>& handler);

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
                     sipkit::dialog::dialog_id_hash, sipkit::dialog::dialog_id_equal>
      usages_;
  std::size_t call_dialogs_ = 0;        // the calls' entries in usages_
  const std::size_t max_call_dialogs_;  // (max_calls + max_calls_awaiting_ack) * 2
  // Each client transaction's continuation, until it terminates.
  std::unordered_map<tx::transaction_id, client_op> client_ops_;
  std::function<void(const message_event&)> message_handler_;
  std::unordered_map<std::string, std::function<void(incoming_request&)>> request_handlers_;
  // Out-of-dialog requests by method, after request_handlers_ (the dispatch registry).
  detail::method_table method_handlers_ = detail::core_methods();
  bool stopping_ = false;
  // Expires with the agent: a deferred_request outliving it sends nothing.
  std::shared_ptr<void> alive_ = std::make_shared<char>(0);
  // The bindings: small classes that use this core (a reference) for sending, the tables
  // and the helpers above; members, so they live exactly as long as the agent.
  uas_checks checks_{*this};
  call_binding call_binding_{*this};
  transfer_binding transfer_{*this};
  session_timer_binding session_timer_{*this};
  prack_binding prack_{*this};
  subscription_binding subscription_{*this};
  registration_binding registration_{*this};
  sipkit::log_throttle peer_log_{config_.log, "ua"};
  // Expires with the agent: work it posted checks it before touching the agent.
  std::shared_ptr<int> lifetime_ = std::make_shared<int>(0);

  // ---- hooks and the pull-style event queue (event_queue.hpp)
  /// user_agent::on_outgoing's hook on `m`, just before it goes to the transaction layer.
  void outgoing(parser::message& m) {
    if (outgoing_hook_) outgoing_hook_(m);
  }
  std::function<void(parser::message&)> outgoing_hook_;
  detail::incoming_tap incoming_tap_{stack_};
  detail::event_queue events_{config_.event_queue, peer_log_};
};

}  // namespace sipkit::ua
