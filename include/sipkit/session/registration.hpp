// The REGISTER client of RFC 3261 §10.2 as a sans-I/O machine: one binding of an
// address-of-record, kept alive by refreshes, and removed on request.
//
//   session::registration::options o;
//   o.registrar = "sip:192.0.2.10";  o.aor = "sip:alice@example.com";
//   o.contact = "<sip:alice@192.0.2.1:5060>";  o.call_id = random();  o.from_tag = random();
//   session::registration reg(o);
//   run(reg.start(now));                      // send_request{REGISTER} and a report
//   ...run(reg.on_response(rsp, now));        // each final response to the last REGISTER
//   ...arm one real timer at reg.next_deadline(); when it fires: run(reg.on_timer(now));
//
// What it does:
// - Every REGISTER of the binding has the same Call-ID and From tag, CSeq + 1 each time
//   (§10.2.4), Max-Forwards 70, From/To = <aor>, our Contact (plus extra_contacts), and
//   Expires = what we ask for.
// - 2xx: registered for the granted expiry: the ;expires of our own Contact in the 2xx,
//   else its Expires header, else what we asked for (§10.2.4). The bindings the 2xx lists
//   are kept (bindings()).
// - Refresh rule (kept from the UA before this machine): at granted - margin, where
//   margin = min(refresh_margin, granted / 2), and never sooner than 1 s after the 2xx;
//   no refresh for a granted expiry of 0.
// - 423 Interval Too Brief: asked again at once with the Min-Expires (§10.2.8), only when
//   that is more than we asked; the raised value is kept for later refreshes.
// - 401/407: send_request with `challenge` set: the binding adds the credentials (RFC 3261
//   §22.2; digest lives in sipkit::ua) and sends it. At most `max_auth_attempts` challenged
//   retries per REGISTER; a binding that cannot answer calls on_auth_failed().
// - Any other final response >= 300, or a failure of the transaction (on_failure: timeout,
//   transport, no target): failed with the status (0 for failures) and, when
//   retry_interval > 0, a new REGISTER after retry_interval.
// - unregister(): Expires: 0 for our Contact(s), or `Contact: *` for every binding of the
//   AOR (§10.2.2); its final response (or failure) ends in unregistered.
// Responses whose CSeq is not that of the last REGISTER (a refresh overtaken by an
// unregister, retransmitted finals) are ignored, as are provisionals.
//
// Outputs: each entry point returns `actions` (a vector of std::variant<send_request,
// report>) in execution order. A report's `response` points to the message being handled
// and is valid during the call only. Errors: misuse (unregister twice) is refused with
// session::error::invalid_state; a rejection reports session::error::rejected; a failure
// reports the transaction's code.
//
// The Contact: the binding usually learns its own address only after resolving the
// registrar (RFC 3263); set_contact() before start() (or before on_timer(), for a later
// REGISTER) tells the machine. Thread safety: none, a plain value.
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <system_error>
#include <variant>
#include <vector>

#include "sipkit/parser/message.hpp"
#include "sipkit/session/timer_table.hpp"

namespace sipkit::session {

class registration {
 public:
  /// The states of one binding. `refreshing` is a REGISTER sent while the binding still
  /// holds (the UA shows it as registering).
  enum class state : std::uint8_t {
    unregistered,   ///< not started yet, or the binding was removed
    registering,    ///< the first REGISTER (or one after a failure) is out
    registered,     ///< a 2xx granted `granted()`
    refreshing,     ///< a refresh REGISTER is out
    unregistering,  ///< REGISTER with Expires: 0 is out
    failed,         ///< final error; retried after retry_interval when that is not 0
  };
  enum class timer : std::uint8_t { refresh, retry, count };

  struct options {
    std::string registrar;  ///< Request-URI (§10.2)
    std::string aor;        ///< To and From URI
    std::string contact;    ///< our Contact as written, e.g. "<sip:alice@192.0.2.1:5060>"
    std::vector<std::string> extra_contacts;  ///< further Contact URIs bound with ours
    std::string call_id, from_tag;            ///< chosen by the caller (random)
    std::chrono::seconds expires{3600};
    std::chrono::seconds refresh_margin{30};
    std::chrono::seconds retry_interval{60};  ///< 0: no retry after a failure
    int max_auth_attempts = 2;                ///< challenged retries per REGISTER
  };

  // ---- actions
  /// Start a non-INVITE client transaction with `request` to the registrar (the binding
  /// adds the Via). `challenge` not null: a 401/407 to answer first (RFC 3261 §22.2).
  struct send_request {
    parser::message request;
    const parser::message* challenge = nullptr;
    int attempt = 0;  ///< challenged retries of this REGISTER so far (1 for the first)
  };
  /// The state changed (or a new REGISTER went out in the same state).
  struct report {
    state current = state::unregistered;
    int status = 0;  ///< the response that caused it, 0 for a failure or a new REGISTER
    std::chrono::seconds expires{};  ///< granted (registered)
    std::error_code error;           ///< failed / unregistered: why, if it went wrong
    const parser::message* response = nullptr;
  };
  using action = std::variant<send_request, report>;
  using actions = std::vector<action>;

  explicit registration(options o);

  /// The first REGISTER (and a report: registering). Only once; later calls return nothing.
  actions start(time_point now);
  /// A response to a REGISTER of ours (any; stale ones are ignored).
  actions on_response(const parser::message& response, time_point now);
  /// The last REGISTER's transaction failed (timeout, transport error, no target).
  actions on_failure(std::error_code ec, time_point now);
  /// The binding could not answer the challenge of the last send_request: fail with it.
  actions on_auth_failed(time_point now);
  /// Remove our binding(s): Expires: 0, `Contact: *` when `all` (§10.2.2). Refused with
  /// invalid_state when unregistering or unregistered.
  std::error_code unregister(bool all, time_point now, actions& out);
  /// Pops every due timer (refresh, retry).
  actions on_timer(time_point now);

  std::optional<time_point> next_deadline() const noexcept { return timers_.next_deadline(); }
  std::optional<time_point> deadline(timer t) const noexcept { return timers_.deadline(t); }

  state current_state() const noexcept { return state_; }
  std::chrono::seconds granted() const noexcept { return granted_; }
  std::chrono::seconds asking() const noexcept { return asking_; }
  const std::vector<std::string>& bindings() const noexcept { return bindings_; }
  const options& config() const noexcept { return opts_; }
  const std::string& contact() const noexcept { return opts_.contact; }
  void set_contact(std::string contact) { opts_.contact = std::move(contact); }
  /// CSeq of the last REGISTER (0 before the first).
  std::uint32_t cseq() const noexcept { return cseq_; }

 private:
  parser::message make_register();
  void send(state next, actions& out);
  void fail(int status, std::error_code ec, const parser::message* rsp, actions& out,
            time_point now);
  void on_timer_fired(timer t, time_point now, actions& out);

  options opts_;
  state state_ = state::unregistered;
  bool remove_all_ = false;  // the unregister asked for `Contact: *`
  std::chrono::seconds asking_{};
  std::chrono::seconds granted_{};
  std::vector<std::string> bindings_;
  std::uint32_t cseq_ = 0;
  int auth_attempts_ = 0;                // challenged retries of the current REGISTER
  int challenge_status_ = 401;           // of the last challenge answered
  std::optional<parser::message> last_;  // the last REGISTER, for a challenged retry
  timer_table<timer> timers_;
};

std::string_view to_string(registration::state s) noexcept;

}  // namespace sipkit::session
