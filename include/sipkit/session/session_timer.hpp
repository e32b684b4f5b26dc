// Session timers (RFC 4028): a module over an INVITE session that negotiates the session
// interval and the refresher, then keeps the schedule: the refresher refreshes the session
// before it expires, the other side ends it when no refresh comes.
//
//   session_timer st({.session_expires = 1800s, .min_se = 90s});
//   // UAC
//   st.add_to_invite(invite);                       // Supported: timer, Session-Expires, Min-SE
//   if (rsp is 422) { if (st.on_422(rsp, retry)) send retry; }      // §7.4
//   st.on_2xx(ok, now);                             // interval and refresher (§7.2), running
//   // UAS
//   if (int code = st.on_invite(invite)) { rsp = 422; st.add_min_se(rsp); }  // §8.1 / §9
//   st.add_to_2xx(ok);  ...  st.start(now);          // when the ACK confirms the session
//   // both
//   for (auto& a : st.on_timer(now, dialog))        // at st.next_deadline()
//     send_request -> start the UPDATE (its response: st.on_refresh_response)
//     expired      -> send BYE, report session::error::session_expired
//   st.on_refresh_request(update_or_reinvite, ok, now);   // a refresh from the peer
//
// Rules:
// - §7.1: a UAC that supports the extension lists Supported: timer on its INVITE; one
//   asking for a session timer adds Session-Expires (our interval, at least our Min-SE)
//   and Min-SE (our minimum).
// - §7.4: a 422 carries the UAS's Min-SE; the UAC retries once more with Session-Expires
//   and Min-SE raised to it (the caller sets the new CSeq and sends).
// - §7.2: the 2xx's Session-Expires gives the interval and the refresher (absent
//   refresher: the UAC); no Session-Expires in the 2xx: no session timer.
// - §8.1/§9: the UAS answers an interval below its Min-SE with 422 and Min-SE. It uses the
//   peer's interval, else its own configured one (none asked and none configured: no
//   session timer). §9 picks the refresher: the peer's choice when it supports timer (the
//   UAC when it chose none); the UAS when the peer does not support timer. The 2xx carries
//   Session-Expires with the refresher, and Require: timer when the peer supports it.
// - §10: the refresher refreshes at half the interval (UPDATE, no body, Session-Expires
//   with refresher=uac: we are the UAC of that transaction); the other side sends BYE when
//   no refresh came by interval - min(32 s, interval/3). A 2xx to our refresh, or a
//   refresh received, restarts the clock with the interval and refresher it names; the
//   refresher parameter names the roles of THAT transaction (§9). A 481 or 408 to our
//   refresh ends the session (reported as refresh_failed); another error leaves the
//   session alone and the next refresh comes half an interval later.
//
// Outputs: on_timer and on_refresh_response return a std::vector of a std::variant of plain
// structs, in execution order; send_request carries the UPDATE by value.
//
// Ownership: a value; messages are borrowed for the call. Thread safety: none.
// Errors: values (session::error::session_expired in `expired`); nothing throws but
// std::bad_alloc.
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <string_view>
#include <system_error>
#include <variant>
#include <vector>

#include "sipkit/dialog/dialog.hpp"
#include "sipkit/parser/message.hpp"
#include "sipkit/session/timer_table.hpp"

namespace sipkit::session {

/// §4: who refreshes the session, named by the roles in the transaction that carries it.
enum class refresher : std::uint8_t { uac, uas };
std::string_view to_string(refresher r) noexcept;

/// §4: a Session-Expires value.
struct session_expires_value {
  std::chrono::seconds interval{};
  std::optional<refresher> who;  ///< the refresher parameter, when present
};
/// Session-Expires of a message (also the compact "x"); nullopt when absent or not a
/// positive delta-seconds.
std::optional<session_expires_value> read_session_expires(const parser::message& m);
/// Min-SE of a message; 90 s when absent (§4).
std::chrono::seconds read_min_se(const parser::message& m);
/// The message's Supported or Require lists "timer".
bool supports_timer(const parser::message& m);

struct session_timer_config {
  /// The interval we ask for as UAC and use as UAS when the peer asks none; 0: none.
  std::chrono::seconds session_expires{0};
  /// The smallest interval we accept (§4: at least 90 s on the Internet; lower for tests).
  std::chrono::seconds min_se{90};
};

class session_timer {
 public:
  enum class state : std::uint8_t {
    inactive,          ///< no session timer (not asked, or not in the 2xx)
    offered,           ///< UAC: the INVITE asked for one; waiting for the 2xx or a 422
    negotiated,        ///< UAS: agreed, not running until the session is confirmed
    refreshing,        ///< running; we are the refresher (timer::refresh armed)
    refresh_sent,      ///< our refresh awaits its final response
    awaiting_refresh,  ///< running; the peer refreshes (timer::expire armed)
    expired,           ///< no refresh came: the session is to be ended
  };
  enum class timer : std::uint8_t {
    refresh,  ///< §10: half the interval, the refresher's
    expire,   ///< §10: interval - min(32 s, interval/3), the other side's
    count
  };

  /// Start the client transaction (the binding adds the Via, sends to the dialog's next
  /// hop) and feed its final response to on_refresh_response().
  struct send_request {
    parser::message request;
  };
  /// No refresh in time (§10): send BYE; `code` is error::session_expired.
  struct expired_event {
    std::error_code code;
  };
  /// Our refresh got 481 or 408 (§10): the dialog is gone; end the session.
  struct refresh_failed {
    int status = 0;
  };
  using action = std::variant<send_request, expired_event, refresh_failed>;
  using action_list = std::vector<action>;

  explicit session_timer(session_timer_config config = {}) : config_(config) {}

  // ---- UAC negotiation
  /// §7.1: adds Supported: timer to our INVITE and, with session_expires configured,
  /// Session-Expires and Min-SE (-> `offered`).
  void add_to_invite(parser::message& invite);
  /// §7.4: a 422 to our INVITE. True when `retry` (a copy of the INVITE; the caller gives
  /// it its new CSeq) now asks for the peer's Min-SE; false when we already asked twice or
  /// did not offer.
  bool on_422(const parser::message& response, parser::message& retry);
  /// §7.2: the 2xx to our INVITE; starts the schedule when it names an interval.
  void on_2xx(const parser::message& ok, time_point now);

  // ---- UAS negotiation
  /// §8.1/§9: an initial INVITE. Returns 422 when its interval is below our Min-SE (answer
  /// with add_min_se), else 0 (negotiated or inactive).
  int on_invite(const parser::message& invite);
  /// Min-SE: <ours>, for the 422.
  void add_min_se(parser::message& response) const;
  /// §9: Session-Expires with the refresher, and Require: timer when the peer supports it.
  /// Nothing when inactive.
  void add_to_2xx(parser::message& ok) const;
  /// The session is confirmed (ACK for our 2xx): the schedule starts.
  void start(time_point now);

  // ---- both sides, running
  /// Pops due timers: the refresher's UPDATE, built in `d`, or the expiry.
  action_list on_timer(time_point now, sipkit::dialog::dialog& d);
  /// The final response to our refresh.
  action_list on_refresh_response(const parser::message& response, time_point now);
  /// A re-INVITE or UPDATE from the peer (§9): when it carries Session-Expires and a timer
  /// runs, adopts its interval and refresher, adds Session-Expires (and Require: timer
  /// when the peer refreshes) to our 2xx `ok`, and restarts the clock.
  void on_refresh_request(const parser::message& request, parser::message& ok, time_point now);
  /// The session ended: timers off, inactive.
  void stop() noexcept;

  state current_state() const noexcept { return state_; }
  /// The negotiated interval; 0 without a session timer.
  std::chrono::seconds interval() const noexcept { return interval_; }
  /// Whether we refresh (meaningful while running).
  bool we_refresh() const noexcept { return we_refresh_; }
  std::optional<time_point> next_deadline() const noexcept { return timers_.next_deadline(); }
  std::optional<time_point> deadline(timer t) const noexcept { return timers_.deadline(t); }

 private:
  void run(time_point now);

  session_timer_config config_;
  timer_table<timer> timers_;
  state state_ = state::inactive;
  std::chrono::seconds interval_{};
  std::chrono::seconds asked_min_se_{};  // UAC: the Min-SE we put on the INVITE
  bool outgoing_ = false;                // we sent the INVITE (UAC of the session)
  bool we_refresh_ = false;
  bool peer_supports_ = false;
  refresher who_ = refresher::uac;  // as named in the INVITE transaction
  int retries_ = 0;
};

std::string_view to_string(session_timer::state s) noexcept;

}  // namespace sipkit::session
