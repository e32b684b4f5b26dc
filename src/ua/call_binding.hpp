// Private: call_binding, the calls: UAC (RFC 3261 §13.2, §9 CANCEL, §15 BYE, forks §13.2.2.4), UAS
// (§13.3, 2xx retransmission until the ACK, calls awaiting their ACK), in-dialog requests (INFO,
// MESSAGE, UPDATE RFC 3311, re-INVITE §14), each call's dialogs in the usage table.
//
// One of user_agent::impl's bindings (see ua_impl.hpp). It keeps
// a reference to the agent's core (ua_) for sending and the shared tables; its lifetime is
// the agent's (a member of user_agent::impl), so timers' handlers may capture `this`.
#pragma once

#include <list>
#include <unordered_map>

#include "continuation.hpp"

namespace sipkit::ua {

class call_binding {
 public:
  explicit call_binding(user_agent::impl& ua) : ua_(ua) {}

  // ---- calls (calls.cpp, uac.cpp, uas.cpp, requests.cpp, user_agent.cpp)
  /// An in-dialog request of `c` whose outcome is its final status (INFO, MESSAGE, UPDATE,
  /// PRACK; REFER and NOTIFY with their module's continuation), sent to the dialog's next hop.
  void start_in_dialog(const call_ptr& c, parser::message request, const tx::endpoint& dest,
                       status_handler done = {}, const continuation& then = request_then);
  void resend_ack(call_impl& c);
  /// 500 with Retry-After: 1 (RFC 3261 §14.2, RFC 3311 §5.2): the request crossed an
  /// offer/answer of ours that is about to complete.
  parser::message retry_later(const parser::message& request) const;
  void emit(call_impl& c, call_event e);
  void set_state(call_impl& c, call_state s, int status = 0);
  /// The call is over: dialogs dropped, waiters completed, event sent, call released.
  void end_call(const call_ptr& c, int status, std::error_code ec);
  void arm_retransmit(const call_ptr& c);
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

  std::unordered_map<call_impl*, call_ptr> calls_;
  // Incoming calls whose initial 2xx awaits its ACK, oldest first. Counted apart from
  // max_calls, so that INVITEs from sources that never ACK cannot starve new calls.
  std::list<call_impl*> awaiting_ack_;
  std::uint64_t calls_evicted_awaiting_ack_ = 0;
  std::unordered_map<tx::transaction_id, call_ptr> invite_servers_;  // IST -> call
  std::function<void(call)> incoming_handler_;

 private:
  user_agent::impl& ua_;
};

}  // namespace sipkit::ua
