// Registration (RFC 3261 §10.2): the REGISTER client of the user_agent and the handle.
#include "sipkit/ua/registration.hpp"

#include <algorithm>
#include <stdexcept>
#include <variant>

#include "header_values.hpp"
#include "sipkit/dialog/dialog.hpp"
#include "sipkit/parser/uri.hpp"
#include "sipkit/session/error.hpp"
#include "ua_impl.hpp"

namespace sipkit::ua {

using parser::header_id;
using parser::message;

std::string_view to_string(registration_state s) noexcept {
  switch (s) {
    case registration_state::registering:
      return "registering";
    case registration_state::registered:
      return "registered";
    case registration_state::unregistering:
      return "unregistering";
    case registration_state::unregistered:
      return "unregistered";
    case registration_state::failed:
      return "failed";
  }
  return "";
}

namespace {

registration_state public_state(session::registration::state s) noexcept {
  using ms = session::registration::state;
  switch (s) {
    case ms::registering:
    case ms::refreshing:
      return registration_state::registering;
    case ms::registered:
      return registration_state::registered;
    case ms::unregistering:
      return registration_state::unregistering;
    case ms::unregistered:
      return registration_state::unregistered;
    case ms::failed:
      return registration_state::failed;
  }
  return registration_state::failed;
}

// The machine says session::error::rejected; the UA's API has always said errc::rejected.
std::error_code public_error(std::error_code ec) {
  if (ec == session::error::rejected) return make_error_code(errc::rejected);
  if (ec == session::error::invalid_state) return make_error_code(errc::invalid_state);
  return ec;
}

}  // namespace

// The binding of session::registration: the machine decides what to send and when; this
// resolves the registrar (RFC 3263), starts the transactions, answers challenges with
// digest_client, arms one Asio timer at the machine's next deadline and tells the
// application.

registration registration_binding::start_registration(registration_options options) {
  auto r = std::make_shared<detail::registration_impl>();
  r->ua = &ua_;
  r->options = std::move(options);
  registrations_.insert(r);
  if (ua_.events_.enabled()) r->events = detail::queue_registration_events(ua_, r);
  registration handle(r);
  parser::uri_view reg_uri;
  if (parser::parse_uri(r->options.registrar, reg_uri) || !reg_uri.is_sip()) {
    boost::asio::post(ua_.io_, [this, alive = std::weak_ptr<int>(ua_.lifetime_), r] {
      if (alive.expired()) return;  // the agent is gone
      set_registration_state(*r, registration_state::failed, 0, make_error_code(errc::bad_target));
    });
    return handle;
  }
  session::registration::options o;
  o.registrar = r->options.registrar;
  o.aor = r->options.aor.empty() ? "sip:" + ua_.config_.user + "@" + std::string(reg_uri.host)
                                 : r->options.aor;
  o.extra_contacts = r->options.extra_contacts;
  o.call_id = ua_.random_token(20);
  o.from_tag = ua_.random_token(10);
  o.expires = r->options.expires;
  o.refresh_margin = r->options.refresh_margin;
  o.retry_interval = r->options.retry_interval;
  r->machine.emplace(std::move(o));
  locate_registrar(r, [this, r](std::vector<tx::endpoint> targets, std::error_code ec) {
    run_registration(r, r->machine->start(std::chrono::steady_clock::now()), std::move(targets),
                     ec);
  });
  return handle;
}

void registration_binding::locate_registrar(
    const reg_ptr& r, std::function<void(std::vector<tx::endpoint>, std::error_code)> next) {
  ua_.locate(r->options.registrar, [this, r, next = std::move(next)](
                                       std::error_code ec, std::vector<tx::endpoint> targets) {
    if (!ec && (targets.empty() || ua_.sent_by(targets.front()).empty()))
      ec = make_error_code(errc::bad_target);
    if (ec) return next({}, ec);
    r->machine->set_contact(ua_.contact_for(targets.front()));
    next(std::move(targets), {});
  });
}

namespace {

// Reports the machine made without a response (session::registration sets one only on the
// report a response decided) carry `cause`, while it lives: valid during the run only.
void carry_response(session::registration::actions& actions, const message* cause) {
  for (auto& a : actions)
    if (auto* rep = std::get_if<session::registration::report>(&a); rep && !rep->response)
      rep->response = cause;
}

}  // namespace

void registration_binding::set_registration_state(detail::registration_impl& r,
                                                  registration_state s, int status,
                                                  std::error_code ec,
                                                  const message* cause) {
  r.state = s;
  if (!r.events) return;
  registration_event e;
  e.state = s;
  e.status = status;
  e.expires = r.machine ? r.machine->granted() : std::chrono::seconds(0);
  e.error = ec;
  e.message = cause;
  auto handler = r.events;
  handler(e);
}

void registration_binding::run_registration(const reg_ptr& r_ref,
                                            session::registration::actions actions,
                                            std::vector<tx::endpoint> targets,
                                            std::error_code locate_error) {
  const reg_ptr r = r_ref;  // the reference may live in registrations_, erased below
  const auto now = [] { return std::chrono::steady_clock::now(); };
  for (std::size_t i = 0; i < actions.size(); ++i) {
    if (auto* rep = std::get_if<session::registration::report>(&actions[i])) {
      const auto ec = public_error(rep->error);
      if (rep->current == session::registration::state::failed)
        ua_.config_.log.log(log_level::warning, "ua",
                            "registration of " + r->machine->config().aor + " failed: " +
                                (rep->status ? std::to_string(rep->status) : ec.message()));
      set_registration_state(*r, public_state(rep->current), rep->status, ec, rep->response);
      if (rep->current == session::registration::state::unregistered) {
        r->unregister_done.complete(ec, rep->status);
        registrations_.erase(r);
      }
      continue;
    }
    auto& send = std::get<session::registration::send_request>(actions[i]);
    session::registration::actions more;
    if (targets.empty()) {
      more = r->machine->on_failure(locate_error ? locate_error : make_error_code(errc::bad_target),
                                    now());
    } else if (send.challenge &&
               !ua_.answer_challenge(send.request, *send.challenge, send.attempt)) {
      more = r->machine->on_auth_failed(now());
      carry_response(more, send.challenge);  // the failure is the 401/407's
    } else {
      // A REGISTER without a challenge to answer carries the credentials of the last one
      // (nc + 1), saving a round trip; a registrar that wants a new nonce challenges again.
      if (!send.challenge && send.request.cseq() && send.request.cseq()->number > 1)
        ua_.digest_.reauthorize(send.request);
      r->peer = targets.front();
      client_op op;
      op.then = &register_then;
      op.registration = r;
      op.request = send.request;
      if (!ua_.start(std::move(send.request), targets, std::move(op)))
        more = r->machine->on_failure(make_error_code(errc::bad_target), now());
    }
    for (auto& a : more) actions.push_back(std::move(a));
  }
  arm_registration(r);
}

void registration_binding::arm_registration(const reg_ptr& r) {
  auto deadline = r->machine ? r->machine->next_deadline() : std::nullopt;
  if (!deadline || ua_.stopping_) {
    if (r->timer) r->timer->cancel();
    return;
  }
  if (!r->timer) r->timer = std::make_unique<boost::asio::steady_timer>(ua_.io_);
  r->timer->expires_at(*deadline);
  std::weak_ptr<detail::registration_impl> weak = r;
  r->timer->async_wait([this, weak](boost::system::error_code ec) {
    auto reg = weak.lock();
    if (ec || !reg || ua_.stopping_) return;
    // The next REGISTER goes to the registrar resolved again (RFC 3263), from the
    // Contact we have towards it now.
    locate_registrar(reg, [this, reg](std::vector<tx::endpoint> targets, std::error_code lec) {
      run_registration(reg, reg->machine->on_timer(std::chrono::steady_clock::now()),
                       std::move(targets), lec);
    });
  });
}

void registration_binding::on_register_response(client_op& op, tx::transaction_id id,
                                                const message& rsp) {
  auto r = op.registration;
  if (!r || !r->machine || rsp.status_code() < 200) return;
  std::vector<tx::endpoint> targets{r->peer};
  if (const auto* peer = ua_.stack_.get().peer(id)) targets = {*peer};
  auto actions = r->machine->on_response(rsp, std::chrono::steady_clock::now());
  // A report without a response of its own came from this one too: the "registering"
  // of a REGISTER sent again at once because of a 423's Min-Expires (§10.2.8).
  carry_response(actions, &rsp);
  run_registration(r, std::move(actions), std::move(targets));
}

const continuation register_then{
    .on_response = [](impl& ua, client_op& op, tx::transaction_id id,
                      const message& rsp) { ua.registration_.on_register_response(op, id, rsp); },
    .on_failure =
        [](impl& ua, client_op& op, tx::transaction_id, std::error_code ec) {
          if (op.registration) ua.registration_.registration_failed(op.registration, 0, ec);
        },
};

void registration_binding::registration_failed(const reg_ptr& r, int, std::error_code ec) {
  if (!r->machine) return;
  run_registration(r, r->machine->on_failure(ec, std::chrono::steady_clock::now()), {r->peer});
}

bool user_agent::impl::answer_challenge(message& request, const message& challenge, int attempt) {
  // Credentials already sent and refused: only a stale nonce (RFC 7616 §3.3) is worth
  // another try; anything else would repeat a wrong password.
  if (attempt >= 2) {
    bool stale = false;
    for (const auto& c : read_challenges(challenge).usable) stale = stale || c.stale;
    if (!stale) return false;
  }
  if (auto ec = digest_.authorize(request, challenge)) {
    config_.log.log(log_level::warning, "ua",
                    "cannot answer the " + std::to_string(challenge.status_code()) +
                        " challenge: " + ec.message());
    return false;
  }
  return true;
}

bool user_agent::impl::retry_with_credentials(client_op& op, tx::transaction_id id,
                                              const message& rsp) {
  // RFC 3261 §22.2: a new request with the credentials, CSeq + 1, same Call-ID and tags.
  if (!op.request || op.attempts >= 2) return false;
  message retry = *op.request;
  // The new CSeq first: digest_client tells our rejected answers by Call-ID and CSeq.
  std::uint32_t cseq = retry.cseq() ? retry.cseq()->number + 1 : 1;
  if (op.notifier && op.notifier->machine) cseq = op.notifier->machine->next_cseq();
  retry.set(header_id::cseq, std::to_string(cseq) + " " + std::string(retry.method_text()));
  if (!answer_challenge(retry, rsp, op.attempts + 1)) return false;
  client_op next = std::move(op);
  next.attempts++;
  next.request = retry;
  const auto* peer = stack_.get().peer(id);
  std::vector<tx::endpoint> targets{peer ? *peer : tx::endpoint{}};
  start(std::move(retry), std::move(targets), std::move(next));
  // The old transaction ends on its own; it has no handler left.
  op = client_op{};
  return true;
}

// ------------------------------------------------------------------ handle

registration_state registration::state() const noexcept {
  return impl_ ? impl_->state : registration_state::unregistered;
}
std::chrono::seconds registration::expires() const noexcept {
  return impl_ && impl_->machine ? impl_->machine->granted() : std::chrono::seconds(0);
}
const std::vector<std::string>& registration::bindings() const noexcept {
  static const std::vector<std::string> none;
  return impl_ && impl_->machine ? impl_->machine->bindings() : none;
}
void registration::on_event(std::function<void(const registration_event&)> handler) {
  if (!impl_) throw std::logic_error("sipkit::ua::registration: empty handle");
  impl_->events = std::move(handler);
}
boost::asio::any_io_executor registration::executor() const {
  if (!impl_) throw std::logic_error("sipkit::ua::registration: empty handle");
  return impl_->ua->io_.get_executor();
}
void registration::unregister_impl(
    bool all, boost::asio::any_completion_handler<void(std::error_code, int)> handler) {
  status_handler done(std::move(handler), executor());
  auto& r = *impl_;
  session::registration::actions actions;
  if (!r.machine || r.machine->unregister(all, std::chrono::steady_clock::now(), actions))
    return done.complete(make_error_code(errc::invalid_state), 0);
  r.unregister_done = std::move(done);
  auto* ua = r.ua;
  ua->registration_.locate_registrar(
      impl_, [ua, self = impl_, actions = std::move(actions)](std::vector<tx::endpoint> targets,
                                                              std::error_code ec) mutable {
        ua->registration_.run_registration(self, std::move(actions), std::move(targets), ec);
      });
}

}  // namespace sipkit::ua
