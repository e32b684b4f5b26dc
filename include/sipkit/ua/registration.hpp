// Registration of this agent's Contact with a registrar (RFC 3261 §10.2).
//
//   sipkit::ua::registration_options opts;
//   opts.registrar = "sip:192.0.2.10";             // Request-URI of the REGISTER
//   opts.aor = "sip:alice@example.com";            // To/From; default sip:<user>@<registrar host>
//   auto reg = agent.start_registration(opts);     // REGISTER now, refreshed before expiry
//   reg.on_event([](const registration_event& e) { ... e.state, e.status, e.expires ... });
//   ...
//   reg.async_unregister([](std::error_code ec, int status) { ... });   // Expires: 0
//
// What it does: one Call-ID for all REGISTERs of the binding and CSeq + 1 each time
// (§10.2.4); the expiry the registrar granted read from our Contact's ;expires or the
// Expires header of the 2xx (§10.2.4), refreshed `refresh_margin` before it ends (half of
// it for short expiries); 423 Interval Too Brief retried with the Min-Expires asked for
// (§10.2.8); 401/407 answered with the agent's credentials (ua_config::credentials,
// RFC 7616/8760 digest); a failure (other final response, timeout) reported and retried
// after `retry_interval`. Unregistering sends Expires: 0 for our Contact, or `Contact: *`
// to remove every binding of the AOR (§10.2.2).
//
// Handles: like `call`, a cheap handle to a registration the user_agent owns; it stays
// active (and refreshed) whatever happens to its handles until unregistered or the agent
// stops. Thread safety: none; use it on the agent's executor.
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
#include <vector>

#include "sipkit/parser/message.hpp"
#include "sipkit/ua/error.hpp"

namespace sipkit::ua {

namespace detail {
struct registration_impl;
}

struct registration_options {
  /// Request-URI of the REGISTER: the registrar's domain or address (§10.2).
  std::string registrar;
  /// Address-of-record in To and From; empty: sip:<ua_config::user>@<registrar host>.
  std::string aor;
  /// The expiry we ask for.
  std::chrono::seconds expires{3600};
  /// Refresh this long before the granted expiry (at most half the expiry).
  std::chrono::seconds refresh_margin{30};
  /// After a failed registration, try again after this long; 0: give up.
  std::chrono::seconds retry_interval{60};
  /// Further Contact URIs to bind besides our own (several devices behind one agent).
  std::vector<std::string> extra_contacts;
};

enum class registration_state : std::uint8_t {
  registering,    ///< REGISTER sent (first one or a refresh)
  registered,     ///< 2xx received; `expires` says for how long
  unregistering,  ///< REGISTER with Expires: 0 sent
  unregistered,   ///< binding removed (or never made)
  failed,         ///< final error; retried after retry_interval when that is not 0
};
std::string_view to_string(registration_state s) noexcept;

struct registration_event {
  registration_state state = registration_state::registering;
  int status = 0;                  ///< the response that caused it, 0 for timeouts
  std::chrono::seconds expires{};  ///< granted expiry (registered)
  std::error_code error;           ///< failed: why
  /// The response that caused the event, every header and the body: the 2xx (its Date,
  /// Contact list with ;expires, Expires ...), the 401/407 we could not answer, the 403,
  /// the 423 whose Min-Expires made us register again (state registering). Null when we
  /// caused it ourselves (the first REGISTER, a refresh) or a timeout / transport error
  /// did. Owned by the stack: valid during the handler only; copy what you keep. In an
  /// agent_event (async_next_event) it points into that event's own `message`.
  const parser::message* message = nullptr;
};

class registration {
 public:
  registration() = default;
  explicit registration(std::shared_ptr<detail::registration_impl> impl) : impl_(std::move(impl)) {}
  explicit operator bool() const noexcept { return impl_ != nullptr; }

  registration_state state() const noexcept;
  /// The expiry the registrar granted last (0 before).
  std::chrono::seconds expires() const noexcept;
  /// The Contact values the last 2xx listed: every binding the AOR has (§10.2.4).
  const std::vector<std::string>& bindings() const noexcept;
  /// Called on every state change, on the agent's executor. Replaces the previous one.
  void on_event(std::function<void(const registration_event&)> handler);

  /// Remove our Contact(s) (Expires: 0) and stop refreshing; completes with the status.
  template <class Token>
  auto async_unregister(Token&& token) {
    return boost::asio::async_initiate<Token, void(std::error_code, int)>(
        [this](auto handler) { unregister_impl(false, std::move(handler)); }, token);
  }
  /// Remove every binding of the AOR (Contact: *, Expires: 0, §10.2.2).
  template <class Token>
  auto async_unregister_all(Token&& token) {
    return boost::asio::async_initiate<Token, void(std::error_code, int)>(
        [this](auto handler) { unregister_impl(true, std::move(handler)); }, token);
  }

 private:
  boost::asio::any_io_executor executor() const;
  void unregister_impl(bool all,
                       boost::asio::any_completion_handler<void(std::error_code, int)> done);
  std::shared_ptr<detail::registration_impl> impl_;
};

}  // namespace sipkit::ua
