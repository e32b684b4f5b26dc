// The call handle: forwards to the user_agent's impl, which owns the call.
#include "sipkit/ua/call.hpp"

#include <stdexcept>

#include "ua_impl.hpp"

namespace sipkit::ua {

namespace {
detail::call_impl& live(const std::shared_ptr<detail::call_impl>& p) {
  if (!p) throw std::logic_error("sipkit::ua::call: empty call handle");
  return *p;
}
}  // namespace

std::string_view to_string(call_state s) noexcept {
  switch (s) {
    case call_state::calling:
      return "calling";
    case call_state::early:
      return "early";
    case call_state::incoming:
      return "incoming";
    case call_state::ringing:
      return "ringing";
    case call_state::answered:
      return "answered";
    case call_state::established:
      return "established";
    case call_state::terminating:
      return "terminating";
    case call_state::terminated:
      return "terminated";
  }
  return "";
}

call_state call::state() const noexcept { return impl_ ? impl_->state : call_state::terminated; }
bool call::outgoing() const noexcept { return impl_ && impl_->outgoing; }
int call::final_status() const noexcept { return impl_ ? impl_->final_status : 0; }
// What the session holds is read from it: the call keeps no copy.
std::string_view call::call_id() const noexcept {
  if (!impl_ || !impl_->session) return {};
  const auto& s = *impl_->session;
  if (const auto* d = s.current_dialog()) return d->id().call_id;
  return s.invite().call_id();
}
std::string_view call::remote_party() const noexcept {
  if (!impl_ || !impl_->session) return {};
  const auto& s = *impl_->session;
  // Once the 2xx picked a dialog (UAS: from the INVITE on), the peer's name-addr with its
  // tag; before, for a UAC, the INVITE's To.
  if (const auto* d = s.current_dialog(); d && (!s.is_uac() || s.early_dialogs().empty()))
    return d->remote_uri();
  return s.invite().get(s.is_uac() ? parser::header_id::to : parser::header_id::from).value_or("");
}
std::string_view call::local_sdp() const noexcept {
  return impl_ && impl_->session ? std::string_view(impl_->session->offer_answer().local_sdp())
                                 : std::string_view{};
}
std::string_view call::remote_sdp() const noexcept {
  return impl_ && impl_->session ? std::string_view(impl_->session->offer_answer().remote_sdp())
                                 : std::string_view{};
}
std::chrono::seconds call::session_interval() const noexcept {
  return impl_ && impl_->session_timer_module ? impl_->session_timer_module->interval()
                                              : std::chrono::seconds(0);
}
bool call::remote_on_hold() const noexcept { return impl_ && impl_->remote_hold; }
const parser::message& call::invite() const noexcept {
  static const parser::message none;
  if (!impl_) return none;
  // The session's while it keeps it; the call's once the session let it go.
  if (impl_->session && !impl_->session->invite().method_text().empty())
    return impl_->session->invite();
  return impl_->kept_invite;
}

void call::on_event(std::function<void(const call_event&)> handler) {
  auto& c = live(impl_);
  // A terminated call has been released by the agent: keep no handler (it may hold us).
  if (c.state != call_state::terminated) c.events = std::move(handler);
}

std::error_code call::ring(int code) {
  ring_options o;
  o.code = code;
  return ring(o);
}
std::error_code call::ring(const ring_options& options) {
  live(impl_);
  return impl_->ua->call_binding_.ring(impl_, options);
}
std::error_code call::answer() {
  live(impl_);
  return impl_->ua->call_binding_.answer(impl_);
}
std::error_code call::answer(const answer_options& options) {
  live(impl_);
  return impl_->ua->call_binding_.answer(impl_, options);
}
std::error_code call::reject(const reject_options& options) {
  live(impl_);
  return impl_->ua->call_binding_.reject(impl_, options);
}
std::error_code call::reject(int code, std::string_view reason) {
  live(impl_);
  return impl_->ua->call_binding_.reject(impl_, code, reason);
}

boost::asio::any_io_executor call::executor() const { return live(impl_).ua->io_.get_executor(); }

void call::wait_connected_impl(boost::asio::any_completion_handler<void(std::error_code)> handler) {
  done_handler h(std::move(handler), executor());
  auto& c = live(impl_);
  if (c.state == call_state::established) return h.complete(std::error_code{});
  if (c.state == call_state::terminated || c.state == call_state::terminating)
    return h.complete(c.end_error ? c.end_error : make_error_code(errc::call_ended));
  c.connected_waiters.push_back(std::move(h));
}

void call::hangup_impl(hangup_options options,
                       boost::asio::any_completion_handler<void(std::error_code)> h) {
  live(impl_);
  impl_->ua->call_binding_.hangup(impl_, std::move(options), {std::move(h), executor()});
}

void call::request_impl(const std::string& method, message_options options,
                        boost::asio::any_completion_handler<void(std::error_code, int)> h) {
  live(impl_);
  impl_->ua->call_binding_.in_dialog_request(impl_, method, std::move(options),
                                             {std::move(h), executor()});
}

void call::reoffer_impl(reoffer_options options,
                        boost::asio::any_completion_handler<void(std::error_code, int)> h) {
  live(impl_);
  impl_->ua->call_binding_.reoffer(impl_, std::move(options), {std::move(h), executor()});
}

void call::update_impl(boost::asio::any_completion_handler<void(std::error_code, int)> h) {
  live(impl_);
  impl_->ua->call_binding_.update(impl_, {std::move(h), executor()});
}

void call::reinvite_impl(bool hold,
                         boost::asio::any_completion_handler<void(std::error_code, int)> h) {
  live(impl_);
  impl_->ua->call_binding_.reinvite(impl_, hold, {std::move(h), executor()});
}

call user_agent::make_call(std::string_view target_uri, call_options options) {
  return impl_->call_binding_.make_call(target_uri, std::move(options));
}

}  // namespace sipkit::ua
