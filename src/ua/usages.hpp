// Private: the objects behind the handles and the usages of dialogs. A call (the INVITE
// usage, RFC 5057), a subscription and a notifier each implement `usage` so that the
// core's one table of dialogs (user_agent::impl::usages_) dispatches to them; a
// registration is a usage without a dialog. Each holds its machine (the call: its
// session::invite_session) plus the binding's bits: the Asio timer armed at the machine's
// next_deadline(), the application's handlers. Thread safety: none (the agent's thread).
#pragma once

#include <boost/asio/steady_timer.hpp>
#include <functional>
#include <list>
#include <memory>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

#include "completion.hpp"
#include "sipkit/dialog/dialog.hpp"
#include "sipkit/session/invite_session.hpp"
#include "sipkit/session/registration.hpp"
#include "sipkit/session/reliable_provisional.hpp"
#include "sipkit/session/session_timer.hpp"
#include "sipkit/session/subscription.hpp"
#include "sipkit/session/transfer.hpp"
#include "sipkit/transaction/error.hpp"
#include "sipkit/transaction/transport.hpp"
#include "sipkit/ua/call.hpp"
#include "sipkit/ua/digest.hpp"
#include "sipkit/ua/options.hpp"
#include "sipkit/ua/registration.hpp"
#include "sipkit/ua/subscription.hpp"
#include "sipkit/ua/user_agent.hpp"

namespace sipkit::ua {

namespace tx = sipkit::transaction;
using done_handler = detail::any_handler<void(std::error_code)>;
using status_handler = detail::any_handler<void(std::error_code, int)>;

namespace detail {

/// A usage of a dialog (RFC 5057 §3): a call (the INVITE usage, one dialog per fork), a
/// subscription, a notifier. user_agent::impl::usages_ maps each dialog id to the usage
/// that owns the dialog; the dialog itself lives only in the usage (or its machine).
struct usage {
  virtual ~usage() = default;
  /// A request the peer sent inside dialog `id` of this usage. False: not one this usage
  /// takes (the core answers it as if there were no dialog: 481).
  virtual bool on_request(const std::shared_ptr<usage>& self, tx::transaction_id tid,
                          const parser::message& req,
                          const sipkit::dialog::dialog_id_view& id) = 0;
  /// An ACK inside dialog `id` (only the INVITE usage has one to take).
  virtual void on_ack(const std::shared_ptr<usage>&, const parser::message&) {}
  /// A 2xx to an INVITE of ours that no transaction claims any more (§13.2.2.4).
  virtual void on_stray_2xx(const parser::message&) {}
};

/// A UAC call's redirect bookkeeping (redirect.hpp), made at its first 3xx.
struct redirect_state {
  std::vector<std::string> targets;  // still to try, in order
  std::vector<std::string> tried;    // every Request-URI the INVITE went to
  int followed = 0;                  // 3xx responses followed (ua_config::max_redirects)
  // While the next target is located (RFC 3263): the INVITE operation's completion.
  status_handler done;
};

/// The parts of a call that only calls shaped by options need (options.hpp).
struct call_extras {
  // Per-call credentials (call_options::credentials), tried before the agent's.
  std::unique_ptr<digest_client> digest;
  // Delayed offer: the application's answer to the offer in the 2xx.
  std::function<std::string(std::string_view)> answer_offer;
};

struct call_impl final : usage {
  bool on_request(const std::shared_ptr<usage>& self, tx::transaction_id tid,
                  const parser::message& req, const sipkit::dialog::dialog_id_view& id) override;
  void on_ack(const std::shared_ptr<usage>& self, const parser::message& request) override;
  void on_stray_2xx(const parser::message& rsp) override;

  user_agent::impl* ua = nullptr;
  // The call itself: states, dialogs (early forks and the confirmed one), the INVITE,
  // offer/answer (the SDP exchanged), 2xx/ACK reliability. A UAC's is made once the
  // target is located; until then the call has none.
  std::optional<sipkit::session::invite_session> session;
  call_state state = call_state::calling;  // as last reported to the application
  bool outgoing = false;
  bool remote_hold = false;
  bool dialog_listed = false;  // the session's confirmed (or UAS) dialog is in usages_
  bool awaiting_ack = false;   // UAS: in call_binding::awaiting_ack_ (below)
  int final_status = 0;
  // UAS: when the initial 2xx began to await its ACK, in milliseconds of the steady clock
  // modulo 2^32 (ages are differences, good for 49 days; it fills the hole before
  // end_error, so the pool costs an established call nothing).
  std::uint32_t awaiting_ack_since_ms = 0;
  std::error_code end_error;  // why it ended, for waiters that come late
  std::uint64_t sdp_session_id = 0, sdp_version = 0;
  tx::endpoint peer;           // UAC: first hop; UAS: source of the INVITE
  std::string first_hop_host;  // UAC: the host that was resolved to `peer`
  tx::transaction_id invite_tx;  // UAC: the INVITE's client transaction (CANCEL, Timer M)
  // UAC: the ids of the session's early dialogs listed in usages_ (forks), until a 2xx
  // picks one; empty (and without capacity) afterwards.
  std::vector<sipkit::dialog::dialog_id> forks;
  // The earliest deadline of the session and its modules, while the call has one: the
  // call's place in call_binding's timer table (call_timer_table; no_index: none).
  tx::time_point timer_due{};
  std::uint32_t timer_slot = 0xFFFFFFFFu;
  // The extension modules (sipkit::session), allocated only while in use, so that a call
  // without them pays a pointer each (call_memory_test). RFC 4028: the session timer.
  std::unique_ptr<sipkit::session::session_timer> session_timer_module;
  // RFC 3262: UAS side, from the first reliable 18x until the ACK; UAC side, the RSeqs
  // acknowledged per early dialog, until the 2xx.
  std::unique_ptr<sipkit::session::reliable_provisional_uas> prack_uas;
  std::unique_ptr<sipkit::session::reliable_provisional_uac> prack_uac;
  // RFC 3515: the implicit subscription of a REFER we accepted / sent.
  std::unique_ptr<sipkit::session::transferee> transferee;
  std::unique_ptr<sipkit::session::transferor> transferor;
  // UAC: allocated at the first 3xx it follows (RFC 3261 §8.1.3.4).
  std::unique_ptr<redirect_state> redirect;
  // UAS: the initial 2xx awaits its ACK: the call's links in call_binding::awaiting_ack_
  // (intrusive, oldest first: no node per call); awaiting_ack and its time above.
  call_impl* ack_prev = nullptr;
  call_impl* ack_next = nullptr;
  // The call's place in call_binding::calls_ (no_index: not a live call).
  static constexpr std::uint32_t no_index = 0xFFFFFFFFu;
  std::uint32_t table_index = no_index;

  // The INVITE that created the call once the session let it go (call::invite()): moved
  // out of the session, never copied, so a call holds it once.
  parser::message kept_invite;
  // What only some calls need, allocated on first use (call_memory_test).
  std::unique_ptr<call_extras> extras;

  std::vector<done_handler> connected_waiters;
  done_handler hangup_done;
  std::function<void(const call_event&)> events;
  // The stack's own watchers of state changes (a transfer follows the new call).
  std::vector<std::function<void(call_state, int)>> observers;
};

// The bindings of the session layer's registration / subscription machines: the machine
// holds the protocol state; these hold the handle's side (Asio timer armed at the
// machine's next_deadline(), handlers, where to send).
struct registration_impl {
  user_agent::impl* ua = nullptr;
  registration_options options;
  std::optional<session::registration> machine;  // none when the registrar URI is unusable
  registration_state state = registration_state::registering;  // as last reported
  tx::endpoint peer;  // where the last REGISTER went (a challenged retry goes there too)
  std::unique_ptr<boost::asio::steady_timer> timer;
  std::function<void(const registration_event&)> events;
  any_handler<void(std::error_code, int)> unregister_done;
};

struct subscription_impl final : usage {
  /// NOTIFY only (RFC 6665 §4.1.3): anything else in its dialog is answered 481.
  bool on_request(const std::shared_ptr<usage>& self, tx::transaction_id tid,
                  const parser::message& req, const sipkit::dialog::dialog_id_view& id) override;
  user_agent::impl* ua = nullptr;
  subscribe_options options;
  std::optional<session::subscriber> machine;                // made once the target is located
  subscription_state state = subscription_state::requested;  // as last reported
  int final_status = 0;
  std::optional<sipkit::dialog::dialog_id> dialog_key;  // its entry in usages_
  std::string call_id, from_tag, first_hop_host;
  tx::endpoint peer;
  bool ended = false;
  std::unique_ptr<boost::asio::steady_timer> timer;
  std::function<void(const notify_event&)> on_notify;
  any_handler<void(std::error_code, int)> unsubscribe_done;
};

struct notifier_impl final : usage {
  /// SUBSCRIBE only (a refresh or an unsubscribe): anything else is answered 481.
  bool on_request(const std::shared_ptr<usage>& self, tx::transaction_id tid,
                  const parser::message& req, const sipkit::dialog::dialog_id_view& id) override;
  user_agent::impl* ua = nullptr;
  std::string subscriber, request_body, local_tag;
  std::optional<session::notifier> machine;
  std::optional<sipkit::dialog::dialog_id> dialog_key;  // its entry in usages_
  tx::endpoint peer;
  bool answered = false;
  bool ended = false;
  std::unique_ptr<boost::asio::steady_timer> timer;
  std::function<void(std::string_view)> on_end;
};

/// RFC 3261 §8.1.3.1: a transaction timeout counts as 408, a transport failure as 503.
inline int failure_status(std::error_code ec) { return ec == tx::error::timeout ? 408 : 503; }

/// Who serves a new out-of-dialog request, by method (after the application's handlers).
using method_handler = void (*)(user_agent::impl&, tx::transaction_id, const parser::message&,
                                const tx::endpoint&);
using method_table = std::unordered_map<std::string_view, method_handler>;
/// The core's registrations (dispatch.cpp): INVITE -> the calls, SUBSCRIBE -> the notifiers
/// by event package, MESSAGE / OPTIONS -> the core's defaults, NOTIFY / BYE / INFO -> 481
/// (they need a dialog). Any other method gets §8.2.1's 405 / 501.
method_table core_methods();

}  // namespace detail

}  // namespace sipkit::ua
