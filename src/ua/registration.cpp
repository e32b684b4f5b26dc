// Registration (RFC 3261 §10.2): the REGISTER client of the user_agent and the handle.
#include "sipkit/ua/registration.hpp"

#include <algorithm>
#include <stdexcept>

#include "header_values.hpp"
#include "sipkit/dialog/dialog.hpp"
#include "sipkit/parser/uri.hpp"
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

// §10.2.4: the expiry of our binding is our Contact's ;expires in the 2xx, else the
// Expires header, else what we asked for.
std::chrono::seconds granted_expiry(const message& ok, std::string_view our_contact_uri,
                                    std::chrono::seconds asked) {
  parser::uri_view ours;
  const bool ours_ok = !parser::parse_uri(our_contact_uri, ours);
  for (const auto& f : ok.fields()) {
    if (f.id != header_id::contact) continue;
    for (auto value : sipkit::dialog::split_address_list(ok.value_of(f))) {
      parser::name_addr_view na;
      if (parser::parse_name_addr(value, na) || !ours_ok || !parser::uri_equal(na.uri, ours))
        continue;
      if (!na.expires.empty()) return delta_seconds(na.expires).value_or(asked);
    }
  }
  if (auto e = ok.get(header_id::expires)) return delta_seconds(*e).value_or(asked);
  return asked;
}

}  // namespace

registration user_agent::impl::start_registration(registration_options options) {
  auto r = std::make_shared<detail::registration_impl>();
  r->ua = this;
  r->options = std::move(options);
  r->asking = r->options.expires;
  r->call_id = random_token(20);
  r->from_tag = random_token(10);
  registrations_.insert(r);
  registration handle(r);
  parser::uri_view reg_uri;
  if (parser::parse_uri(r->options.registrar, reg_uri) || !reg_uri.is_sip()) {
    boost::asio::post(io_, [this, alive = std::weak_ptr<int>(lifetime_), r] {
      if (alive.expired()) return;  // the agent is gone
      set_registration_state(*r, registration_state::failed, 0, make_error_code(errc::bad_target));
    });
    return handle;
  }
  r->aor = r->options.aor.empty() ? "sip:" + config_.user + "@" + std::string(reg_uri.host)
                                  : r->options.aor;
  send_register(r);
  return handle;
}

void user_agent::impl::set_registration_state(detail::registration_impl& r, registration_state s,
                                              int status, std::error_code ec) {
  r.state = s;
  if (!r.events) return;
  registration_event e;
  e.state = s;
  e.status = status;
  e.expires = r.granted;
  e.error = ec;
  auto handler = r.events;
  handler(e);
}

void user_agent::impl::send_register(const std::shared_ptr<detail::registration_impl>& r) {
  const bool removing = r->unregistering;
  set_registration_state(
      *r, removing ? registration_state::unregistering : registration_state::registering);
  locate(r->options.registrar,
         [this, r, removing](std::error_code ec, std::vector<tx::endpoint> targets) {
           if (ec || targets.empty())
             return registration_failed(r, 0, ec ? ec : make_error_code(errc::bad_target));
           const std::string local = sent_by(targets.front());
           if (local.empty()) return registration_failed(r, 0, make_error_code(errc::bad_target));
           auto req = message::request("REGISTER", r->options.registrar);
           req.add(header_id::max_forwards, "70");
           req.add(header_id::from, "<" + r->aor + ">;tag=" + r->from_tag);
           req.add(header_id::to, "<" + r->aor + ">");
           req.add(header_id::call_id, r->call_id);
           req.add(header_id::cseq, std::to_string(++r->cseq) + " REGISTER");
           r->contact = contact_for(targets.front());
           if (removing && r->unregister_all) {
             req.add(header_id::contact, "*");  // §10.2.2: every binding of the AOR
           } else {
             req.add(header_id::contact, r->contact);
             for (const auto& extra : r->options.extra_contacts)
               req.add(header_id::contact, extra.front() == '<' ? extra : "<" + extra + ">");
           }
           req.add(header_id::expires, removing ? "0" : std::to_string(r->asking.count()));
           // A refresh carries the credentials of the last challenge (nc + 1), saving a round
           // trip; a registrar that wants a new nonce challenges again.
           if (r->cseq > 1) digest_.reauthorize(req);
           client_op op;
           op.kind = op_kind::register_;
           op.registration = r;
           op.request = req;
           start(std::move(req), std::move(targets), std::move(op));
         });
}

void user_agent::impl::registration_failed(const std::shared_ptr<detail::registration_impl>& r,
                                           int status, std::error_code ec) {
  config_.log.log(
      log_level::warning, "ua",
      "registration of " + r->aor + " failed: " + (status ? std::to_string(status) : ec.message()));
  if (r->unregistering) {
    r->unregistering = false;
    set_registration_state(*r, registration_state::unregistered, status, ec);
    r->unregister_done.complete(ec ? ec : make_error_code(errc::rejected), status);
    registrations_.erase(r);
    return;
  }
  set_registration_state(*r, registration_state::failed, status, ec);
  if (r->options.retry_interval.count() > 0 && !stopping_)
    arm_registration(r, r->options.retry_interval);
}

void user_agent::impl::arm_registration(const std::shared_ptr<detail::registration_impl>& r,
                                        std::chrono::seconds after) {
  if (!r->timer) r->timer = std::make_unique<boost::asio::steady_timer>(io_);
  r->timer->expires_after(after);
  std::weak_ptr<detail::registration_impl> weak = r;
  r->timer->async_wait([this, weak](boost::system::error_code ec) {
    auto reg = weak.lock();
    if (ec || !reg || reg->unregistering || reg->state == registration_state::unregistered) return;
    reg->asking = reg->options.expires;
    send_register(reg);
  });
}

void user_agent::impl::on_register_response(client_op& op, tx::transaction_id id,
                                            const message& rsp) {
  auto r = op.registration;
  const int code = rsp.status_code();
  if (!r || code < 200) return;
  if ((code == 401 || code == 407) && retry_with_credentials(op, id, rsp)) return;
  if (code == 423 && !r->unregistering && op.attempts < 2) {
    // §10.2.8: ask again with at least the registrar's Min-Expires.
    if (auto min = delta_seconds(rsp.get("Min-Expires").value_or("")); min && *min > r->asking) {
      r->asking = *min;
      send_register(r);
      return;
    }
  }
  if (code >= 300) return registration_failed(r, code, make_error_code(errc::rejected));

  r->bindings.clear();
  for (const auto& f : rsp.fields())
    if (f.id == header_id::contact)
      for (auto v : sipkit::dialog::split_address_list(rsp.value_of(f)))
        r->bindings.emplace_back(v);
  if (r->unregistering) {
    r->unregistering = false;
    r->granted = std::chrono::seconds(0);
    if (r->timer) r->timer->cancel();
    set_registration_state(*r, registration_state::unregistered, code);
    r->unregister_done.complete(std::error_code{}, code);
    registrations_.erase(r);
    return;
  }
  r->granted = granted_expiry(rsp, sipkit::dialog::address_uri(r->contact), r->asking);
  set_registration_state(*r, registration_state::registered, code);
  if (r->granted.count() > 0) {
    const auto margin = std::min(r->options.refresh_margin, r->granted / 2);
    arm_registration(r, std::max(std::chrono::seconds(1), r->granted - margin));
  }
}

bool user_agent::impl::retry_with_credentials(client_op& op, tx::transaction_id id,
                                              const message& rsp) {
  // RFC 3261 §22.2: a new request with the credentials, CSeq + 1, same Call-ID and tags.
  if (!op.request || op.attempts >= 2 || op.kind == op_kind::cancel) return false;
  // Credentials already sent and refused: only a stale nonce (RFC 7616 §3.3) is worth
  // another try; anything else would repeat a wrong password.
  if (op.attempts >= 1) {
    bool stale = false;
    for (const auto& c : read_challenges(rsp).usable) stale = stale || c.stale;
    if (!stale) return false;
  }
  message retry = *op.request;
  // The new CSeq first: digest_client tells our rejected answers by Call-ID and CSeq.
  std::uint32_t cseq = retry.cseq() ? retry.cseq()->number + 1 : 1;
  if (op.call)
    if (auto* d = dialog_of(*op.call); d && op.kind != op_kind::invite) cseq = d->next_cseq();
  if (op.registration) cseq = ++op.registration->cseq;
  if (op.subscription && op.subscription->dialog_key)
    if (auto* e = subscriber_dialogs_.find(*op.subscription->dialog_key))
      cseq = e->dialog.next_cseq();
  if (op.notifier && op.notifier->dialog_key)
    if (auto* e = notifier_dialogs_.find(*op.notifier->dialog_key)) cseq = e->dialog.next_cseq();
  retry.set(header_id::cseq, std::to_string(cseq) + " " + std::string(retry.method_text()));
  if (auto ec = digest_.authorize(retry, rsp)) {
    config_.log.log(
        log_level::warning, "ua",
        "cannot answer the " + std::to_string(rsp.status_code()) + " challenge: " + ec.message());
    return false;
  }
  client_op next = std::move(op);
  next.attempts++;
  next.request = retry;
  if (next.kind == op_kind::invite && next.call) next.call->invite = retry;
  if (next.subscription && !next.subscription->dialog_key) next.subscription->subscribe = retry;
  const auto* peer = stack_.get().peer(id);
  std::vector<tx::endpoint> targets{peer ? *peer : (next.call ? next.call->peer : tx::endpoint{})};
  auto call = next.call;
  const bool invite = next.kind == op_kind::invite;
  auto new_id = start(std::move(retry), std::move(targets), std::move(next));
  if (invite && call && new_id) call->invite_tx = new_id;
  // The old transaction ends on its own; it has no handler left.
  op = client_op{};
  op.kind = op_kind::cancel;
  return true;
}

// ------------------------------------------------------------------ handle

registration_state registration::state() const noexcept {
  return impl_ ? impl_->state : registration_state::unregistered;
}
std::chrono::seconds registration::expires() const noexcept {
  return impl_ ? impl_->granted : std::chrono::seconds(0);
}
const std::vector<std::string>& registration::bindings() const noexcept {
  static const std::vector<std::string> none;
  return impl_ ? impl_->bindings : none;
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
  if (r.unregistering) return done.complete(make_error_code(errc::invalid_state), 0);
  if (r.timer) r.timer->cancel();
  r.unregistering = true;
  r.unregister_all = all;
  r.unregister_done = std::move(done);
  r.ua->send_register(impl_);
}

}  // namespace sipkit::ua
