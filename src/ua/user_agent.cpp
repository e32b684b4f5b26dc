// user_agent: construction, the transaction user's dispatch, and helpers shared by the
// UAC (uac.cpp) and UAS (uas.cpp) halves.
#include "sipkit/ua/user_agent.hpp"

#include <boost/asio/ip/address.hpp>

#include "sipkit/parser/uri.hpp"
#include "ua_impl.hpp"

namespace sipkit::ua {

using parser::header_id;
using parser::message;

namespace {
// RFC 3261 §20.5 / §8.2.2.2: what we handle, for Allow and 405s.

}  // namespace

user_agent::impl::impl(boost::asio::io_context& io, ua_config cfg)
    : io_(io),
      config_(std::move(cfg)),
      net_(io, config_.transport),
      transport_(net_),
      stack_(io.get_executor(), transport_, *this, config_.transactions),
      random_(config_.transactions.seed
                  ? std::optional<std::uint64_t>(*config_.transactions.seed + 1)
                  : std::nullopt),
      digest_(config_.credentials),
      max_call_dialogs_((config_.max_calls + config_.max_calls_awaiting_ack) * 2) {
  transport_.set_receiver(stack_);
}

user_agent::impl::~impl() {
  peer_log_.flush_all(std::chrono::steady_clock::now());
  transport_.set_receiver(nullptr);
  // Handles may outlive the agent and keep these objects (and their timers) alive: cancel
  // every wait, so that no handler runs with a dangling agent (they return on
  // operation_aborted before touching it).
  auto cancel = [](const std::unique_ptr<boost::asio::steady_timer>& t) {
    if (t) t->cancel();
  };
  for (auto& [p, c] : calls_) {
    cancel(c->timer);
    cancel(c->session_timer);
    cancel(c->provisional_timer);
    cancel(c->transfer_timer);
  }
  for (auto& r : registrations_) cancel(r->timer);
  for (auto& [id, sub] : subscriptions_) cancel(sub->timer);
  for (auto& n : notifiers_) cancel(n->timer);
}

std::string user_agent::impl::random_token(std::size_t hex_digits) {
  static constexpr char digits[] = "0123456789abcdef";
  std::string out;
  out.reserve(hex_digits);
  while (out.size() < hex_digits) {
    auto v = random_.next_u64();
    for (int i = 0; i < 16 && out.size() < hex_digits; ++i, v >>= 4) out += digits[v & 15];
  }
  return out;
}

std::optional<tx::endpoint> user_agent::impl::endpoint_of(std::string_view uri_text,
                                                          tx::transport_protocol fallback) const {
  parser::uri_view uri;
  if (parser::parse_uri(uri_text, uri) || !uri.is_sip()) return std::nullopt;
  std::string host(uri.host);
  if (host.size() > 2 && host.front() == '[') host = host.substr(1, host.size() - 2);
  if (!uri.maddr_param.empty()) host = std::string(uri.maddr_param);  // §19.1.1
  boost::system::error_code ec;
  boost::asio::ip::make_address(host, ec);
  if (ec) return std::nullopt;  // names need RFC 3263 resolution (see errc::bad_target)
  tx::endpoint ep;
  ep.host = host;
  ep.protocol = fallback;
  const bool sips = uri.scheme == parser::uri_scheme::sips;
  auto t = uri.transport_param;
  if (sips || parser::iequals(t, "tls"))
    ep.protocol = tx::transport_protocol::tls;
  else if (parser::iequals(t, "tcp"))
    ep.protocol = tx::transport_protocol::tcp;
  else if (parser::iequals(t, "udp"))
    ep.protocol = tx::transport_protocol::udp;
  ep.port = uri.port ? uri.port : (ep.protocol == tx::transport_protocol::tls ? 5061 : 5060);
  return ep;
}

std::optional<tx::endpoint> user_agent::impl::hop_of(const call_impl& c,
                                                     const sipkit::dialog::dialog& d) const {
  // A host name inside the dialog is used only when it is the host the call was first
  // sent to (the address found then still holds); other names are not resolved here.
  return hop_of(c.peer, c.first_hop_host, "call " + c.call_id, d);
}

void user_agent::impl::locate(std::string_view uri, targets_handler done) {
  if (auto ep = endpoint_of(uri, config_.default_transport)) return done({}, {*ep});
  parser::uri_view u;
  if (parser::parse_uri(uri, u) || !u.is_sip()) return done(make_error_code(errc::bad_target), {});
  if (!resolver_) resolver_ = std::make_unique<sipkit::transport::resolver>(io_, config_.dns);
  resolver_->locate(
      uri, [done = std::move(done)](std::error_code ec, sipkit::transport::target_list list) {
        std::vector<tx::endpoint> targets;
        for (const auto& t : list.all()) {
          tx::endpoint ep;
          ep.host = t.remote.address.to_string();
          ep.port = t.remote.port;
          ep.protocol = tx::to_transaction_protocol(t.transport);
          targets.push_back(std::move(ep));
        }
        done(ec, std::move(targets));
      });
}

std::string user_agent::impl::sent_by(const tx::endpoint& dest) const {
  return transport_.via_sent_by(dest);
}

std::string user_agent::impl::contact_for(const tx::endpoint& dest) const {
  std::string c = "<sip:";
  if (dest.protocol == tx::transport_protocol::tls) c = "<sips:";
  c += config_.user;
  c += '@';
  c += sent_by(dest);
  if (dest.protocol == tx::transport_protocol::tcp) c += ";transport=tcp";
  c += '>';
  return c;
}

std::string user_agent::impl::allow_header() const {
  // RFC 3261 §20.5: what this agent takes. NOTIFY always (any subscription of ours may be
  // notified); SUBSCRIBE only with an event package to serve.
  std::string allow = "INVITE, ACK, CANCEL, BYE, OPTIONS, INFO, MESSAGE, NOTIFY, REFER, UPDATE";
  if (config_.reliable_provisionals) allow += ", PRACK";
  if (!subscribe_handlers_.empty()) allow += ", SUBSCRIBE";
  return allow;
}

void user_agent::impl::add_common_headers(message& m) const {
  if (!config_.user_agent.empty())
    m.add(m.is_request() ? "User-Agent" : "Server", config_.user_agent);
  const bool invite_or_options =
      m.is_request()
          ? (m.method() == parser::method::invite || m.method() == parser::method::options)
          : (m.cseq() && (m.cseq()->method == parser::method::invite ||
                          m.cseq()->method == parser::method::options));
  if (invite_or_options) m.add(header_id::allow, allow_header());
}

local_media user_agent::impl::media_for(const tx::endpoint& dest) const {
  local_media m = config_.media;
  if (m.address.empty()) {
    auto host = sent_by(dest);
    // sent-by is "host:port" or "[v6]:port"
    if (!host.empty() && host.front() == '[')
      host = host.substr(1, host.find(']') - 1);
    else if (auto colon = host.rfind(':'); colon != std::string::npos)
      host.resize(colon);
    m.address = host.empty() ? "127.0.0.1" : host;
  }
  return m;
}

tx::transaction_id user_agent::impl::start(message request, std::vector<tx::endpoint> targets,
                                           client_op op) {
  add_common_headers(request);
  sync_failure_.reset();
  auto r = stack_.start_client(std::move(request), std::move(targets));
  std::error_code ec = r.error;
  if (!ec && sync_failure_ && sync_failure_->first == r.id) ec = sync_failure_->second;
  sync_failure_.reset();
  if (ec) {
    peer_log("request not sent", log_level::warning, "request not sent: " + ec.message());
    if (op.then->ends_call_if_unsent && op.call) end_call(op.call, 0, ec);
    op.done.complete(ec, 0);
    return {};
  }
  client_ops_.emplace(r.id, std::move(op));
  return r.id;
}

void user_agent::impl::send_stateless_request(message& request, const tx::endpoint& dest) {
  std::string via = "SIP/2.0/";
  via += tx::via_transport_name(dest.protocol);
  via += ' ';
  via += sent_by(dest);
  via += ";branch=";
  via += tx::branch_generator::magic_cookie;
  via += random_token(22);
  if (config_.transactions.add_rport) via += ";rport";
  request.push_front(header_id::via, via);
  add_common_headers(request);
  if (auto ec = stack_.get().send_stateless(request, dest))
    peer_log("stateless send failed", log_level::warning, "stateless send failed: " + ec.message());
}

void user_agent::impl::respond(tx::transaction_id id, message response) {
  (void)send_response(id, std::move(response));
}

std::error_code user_agent::impl::send_response(tx::transaction_id id, message response) {
  const int code = response.status_code();
  sync_failure_.reset();
  if (auto ec = stack_.respond(id, std::move(response))) {
    config_.log.log(log_level::debug, "ua", "response not sent: " + ec.message());
    return ec;
  }
  std::error_code ec;
  if (sync_failure_ && sync_failure_->first == id) ec = sync_failure_->second;
  sync_failure_.reset();
  if (ec)
    peer_log("response not sent", log_level::warning,
             "response " + std::to_string(code) + " not sent: " + ec.message() +
                 "; its server transaction is over");
  return ec;
}

message user_agent::impl::response_to(const message& request, int code,
                                      std::string_view to_tag) const {
  auto rsp = parser::make_response(request, code, {}, code == 100 ? std::string_view{} : to_tag);
  add_common_headers(rsp);
  return rsp;
}

message user_agent::impl::retry_later(const message& request) const {
  auto rsp = response_to(request, 500);
  rsp.add("Retry-After", "1");
  return rsp;
}

void user_agent::impl::emit(call_impl& c, call_event e) {
  if (!c.events) return;
  auto handler = c.events;  // the handler may replace itself
  handler(e);
}

void user_agent::impl::set_state(call_impl& c, call_state s, int status) {
  if (c.state == s) return;
  c.state = s;
  call_event e;
  e.what = call_event::kind::state_changed;
  e.state = s;
  e.status = status;
  emit(c, e);
  auto observers = c.observers;  // an observer may add another
  for (auto& o : observers) o(s, status);
}

sipkit::dialog::dialog* user_agent::impl::add_call_dialog(const call_ptr& c,
                                                          sipkit::dialog::dialog d) {
  if (auto* mine = c->find_dialog(d.id())) return mine;
  if (usages_.count(d.id()) || call_dialogs_ >= max_call_dialogs_) return nullptr;
  usages_.emplace(d.id(), c);
  ++call_dialogs_;
  return &c->dialogs.emplace_back(std::move(d));
}

void user_agent::impl::drop_call_dialogs(call_impl& c, const sipkit::dialog::dialog_id* keep) {
  for (auto it = c.dialogs.begin(); it != c.dialogs.end();) {
    if (keep && it->id() == *keep) {
      ++it;
      continue;
    }
    usages_.erase(it->id());
    --call_dialogs_;
    it = c.dialogs.erase(it);
  }
}

sipkit::dialog::dialog* user_agent::impl::dialog_of(call_impl& c) {
  return c.dialog_key ? c.find_dialog(*c.dialog_key) : nullptr;
}

detail::usage* user_agent::impl::usage_for(const std::optional<sipkit::dialog::dialog_id>& id) {
  if (!id) return nullptr;
  auto it = usages_.find(*id);
  return it == usages_.end() ? nullptr : it->second.get();
}

void user_agent::impl::end_call(const call_ptr& call_ref, int status, std::error_code ec) {
  // A copy: `call_ref` may live in a dialog entry or the call table erased below.
  const call_ptr c = call_ref;
  if (c->state == call_state::terminated) return;
  if (status) c->final_status = status;
  c->end_error = ec;
  // Every dialog of the call (early forks included) goes with it.
  drop_call_dialogs(*c);
  if (c->timer) c->timer->cancel();
  if (c->session_timer) c->session_timer->cancel();
  if (c->provisional_timer) c->provisional_timer->cancel();
  if (c->transfer_timer) c->transfer_timer->cancel();
  c->retransmitter.reset();
  c->ok.reset();
  stop_awaiting_ack(*c);
  c->invite.reset();
  if (c->invite_tx) invite_servers_.erase(c->invite_tx);
  auto waiters = std::move(c->connected_waiters);
  c->connected_waiters.clear();
  for (auto& w : waiters) w.complete(ec ? ec : make_error_code(errc::call_ended));
  set_state(*c, call_state::terminated, status);
  c->hangup_done.complete(std::error_code{});
  c->events = nullptr;  // it may hold a handle to this call: break the cycle
  c->observers.clear();
  calls_.erase(c.get());
}

void user_agent::impl::arm_retransmit(const call_ptr& c) {
  if (!c->retransmitter) return;
  auto deadline = c->retransmitter->next_deadline();
  if (!deadline) return;
  if (!c->timer) c->timer = std::make_unique<boost::asio::steady_timer>(io_);
  c->timer->expires_at(*deadline);
  std::weak_ptr<call_impl> weak = c;
  c->timer->async_wait([this, weak](boost::system::error_code ec) {
    auto call = weak.lock();
    if (ec || !call || !call->retransmitter || !call->ok) return;
    switch (call->retransmitter->on_timer(tx::clock_type::now())) {
      case sipkit::dialog::retransmit_step::wait:
        break;
      case sipkit::dialog::retransmit_step::retransmit:
        // The IST is in Accepted (RFC 6026 §7.1) and passes a TU 2xx retransmission on.
        if (stack_.respond(call->ok_tx, *call->ok))
          (void)stack_.send_stateless(*call->ok, call->peer);
        break;
      case sipkit::dialog::retransmit_step::give_up:
        give_up_on_ack(call, "no ACK for the 2xx");
        return;
    }
    arm_retransmit(call);
  });
}

void user_agent::impl::give_up_on_ack(const call_ptr& c, std::string_view why) {
  peer_log(why, log_level::warning, std::string(why) + " of call " + c->call_id + ": sending BYE");
  stop_awaiting_ack(*c);
  if (c->timer) c->timer->cancel();
  c->retransmitter.reset();
  c->ok.reset();
  auto waiters = std::move(c->connected_waiters);
  c->connected_waiters.clear();
  for (auto& w : waiters) w.complete(make_error_code(errc::no_ack));
  send_bye(c);
}

void user_agent::impl::start_awaiting_ack(const call_ptr& c) {
  if (c->awaiting_ack) return;
  const std::size_t limit = config_.max_calls_awaiting_ack;
  while (limit != 0 && awaiting_ack_.size() >= limit) {
    auto it = calls_.find(awaiting_ack_.front());
    if (it == calls_.end()) {  // cannot happen: end_call unlinks; keep the list honest
      awaiting_ack_.pop_front();
      continue;
    }
    ++calls_evicted_awaiting_ack_;
    give_up_on_ack(call_ptr(it->second), "calls awaiting their ACK are at the limit: oldest 2xx");
  }
  c->awaiting_ack = awaiting_ack_.insert(awaiting_ack_.end(), c.get());
}

void user_agent::impl::stop_awaiting_ack(call_impl& c) {
  if (!c.awaiting_ack) return;
  awaiting_ack_.erase(*c.awaiting_ack);
  c.awaiting_ack.reset();
}

// ------------------------------------------------------------------ application requests

namespace {
class pending_request final : public incoming_request {
 public:
  pending_request(user_agent::impl& ua, tx::transaction_id id, const parser::message& req,
                  const tx::endpoint& source)
      : incoming_request(req, source), ua_(ua), id_(id), tag_(ua.random_token(10)) {}
  parser::message make_response(int code, std::string_view reason) const override {
    auto rsp =
        parser::make_response(this->message(), code, reason, code > 100 ? tag_ : std::string());
    ua_.add_common_headers(rsp);
    return rsp;
  }
  std::error_code respond(parser::message response) override {
    if (final_) return make_error_code(errc::invalid_state);
    // A final response that fails to go out still ends the transaction: no second try.
    if (response.status_code() >= 200) final_ = true;
    return ua_.send_response(id_, std::move(response));
  }
  bool answered() const noexcept override { return final_; }

 private:
  user_agent::impl& ua_;
  tx::transaction_id id_;
  std::string tag_;
  bool final_ = false;
};
}  // namespace

void user_agent::impl::on_application_request(tx::transaction_id id, const message& req,
                                              const tx::endpoint& source,
                                              const std::function<void(incoming_request&)>& h) {
  pending_request pending(*this, id, req, source);
  auto handler = h;  // it may remove itself
  handler(pending);
  if (!pending.answered()) {
    config_.log.log(log_level::warning, "ua",
                    "the " + std::string(req.method_text()) + " handler did not respond: 500");
    (void)pending.respond(pending.make_response(500, "No response from the application"));
  }
}

// ------------------------------------------------------------------ transaction user

void user_agent::impl::on_request(tx::transaction_id id, const message& req,
                                  const tx::endpoint& source, tx::transaction_id cancels) {
  if (req.method() == parser::method::cancel) return on_cancel(id, req, cancels);
  message refusal;
  if (precheck(req, refusal)) return respond(id, std::move(refusal));
  if (merged_request(id, req)) return respond(id, response_to(req, 482, random_token(10)));

  if (auto to = req.to(); to && !to->tag.empty()) {  // §12.2.2: inside a dialog
    const auto did = sipkit::dialog::incoming_request_dialog_id(req);
    if (auto it = did ? usages_.find(*did) : usages_.end(); it != usages_.end()) {
      // A request that names one of our dialogs carries a tag only our messages told: its
      // source receives what we send (the transaction layer's amplification budget).
      stack_.get().mark_proven(source);
      auto owner = it->second;  // the usage may end (and leave the table) while it works
      if (owner->on_request(owner, id, req, *did)) return;
    }
    if (early_notify(id, req)) return;
    // OPTIONS may be sent with a To tag as a dialog ping: answer it anyway.
    if (req.method() != parser::method::options) return respond(id, response_to(req, 481));
  }
  if (auto h = request_handlers_.find(std::string(req.method_text())); h != request_handlers_.end())
    return on_application_request(id, req, source, h->second);
  switch (req.method()) {
    case parser::method::invite:
      return on_new_invite(id, req, source);
    case parser::method::subscribe:
      if (!subscribe_handlers_.empty()) return on_new_subscribe(id, req, source);
      {  // no event package at all: the method is not supported here (§8.2.1)
        auto rsp = response_to(req, 405, random_token(10));
        rsp.add(header_id::allow, allow_header());
        return respond(id, std::move(rsp));
      }
    case parser::method::notify:  // a NOTIFY needs a subscription, hence a To tag
      return respond(id, response_to(req, 481, random_token(10)));
    case parser::method::options: {
      auto rsp = response_to(req, 200, random_token(10));
      rsp.add("Accept", "application/sdp");
      return respond(id, std::move(rsp));
    }
    case parser::method::message: {
      if (!message_handler_) {
        auto rsp = response_to(req, 405, random_token(10));
        rsp.add(header_id::allow, allow_header());
        return respond(id, std::move(rsp));
      }
      message_event ev;
      ev.from = req.get(header_id::from).value_or("");
      ev.to = req.get(header_id::to).value_or("");
      ev.content_type = req.get(header_id::content_type).value_or("");
      ev.body = req.body();
      ev.source = source;
      ev.request = &req;
      auto handler = message_handler_;
      handler(ev);
      return respond(id, response_to(req, 200, random_token(10)));
    }
    case parser::method::bye:
    case parser::method::info:
      return respond(id, response_to(req, 481, random_token(10)));  // no dialog
    default: {
      // §8.2.1: 405 for a method we know but do not take, 501 for one we do not know.
      const int code = req.method() == parser::method::unknown ? 501 : 405;
      auto rsp = response_to(req, code, random_token(10));
      if (code == 405) rsp.add(header_id::allow, allow_header());
      return respond(id, std::move(rsp));
    }
  }
}

const user_agent::impl::continuation user_agent::impl::ignore_then{};

void user_agent::impl::on_response(tx::transaction_id id, const message& rsp) {
  auto it = client_ops_.find(id);
  if (it == client_ops_.end()) return;
  auto& op = it->second;
  const int code = rsp.status_code();
  if ((code == 401 || code == 407) && op.then->answers_challenges &&
      retry_with_credentials(op, id, rsp))
    return;
  if (op.then->on_response) op.then->on_response(*this, op, id, rsp);
}

void user_agent::impl::on_stray_response(const message& rsp, const tx::endpoint&) {
  auto cseq = rsp.cseq();
  if (!cseq || cseq->method != parser::method::invite || rsp.status_code() / 100 != 2) return;
  if (auto* u = usage_for(sipkit::dialog::incoming_response_dialog_id(rsp))) u->on_stray_2xx(rsp);
}

void user_agent::impl::on_failure(tx::transaction_id id, std::error_code ec) {
  auto it = client_ops_.find(id);
  if (it == client_ops_.end()) {
    if (!invite_servers_.count(id)) sync_failure_ = {id, ec};
    return;
  }
  auto& op = it->second;
  peer_log("transaction failed", log_level::info, "transaction failed: " + ec.message());
  if (op.then->on_failure) op.then->on_failure(*this, op, id, ec);
}

void user_agent::impl::on_terminated(tx::transaction_id id) {
  if (auto it = client_ops_.find(id); it != client_ops_.end()) {
    // The INVITE transaction is over (no more forked 2xx): the request can go.
    auto& op = it->second;
    if (op.then->on_terminated) op.then->on_terminated(*this, op, id);
    client_ops_.erase(it);
  }
  invite_servers_.erase(id);
  if (auto it = pending_keys_.find(id); it != pending_keys_.end()) {
    pending_requests_.erase(it->second);
    pending_keys_.erase(it);
  }
}

void user_agent::impl::on_ack(const message& ack, const tx::endpoint& source, tx::transaction_id) {
  auto it = usages_.find(
      sipkit::dialog::incoming_request_dialog_id(ack).value_or(sipkit::dialog::dialog_id{}));
  if (it == usages_.end()) return;   // an ACK for nothing we know: absorbed (§17.2.3)
  stack_.get().mark_proven(source);  // it names our tag: the source receives our 2xx
  auto owner = it->second;
  owner->on_ack(owner, ack);
}

// ------------------------------------------------------------------ the call as a usage

namespace detail {

bool call_impl::on_request(const std::shared_ptr<usage>& self, tx::transaction_id tid,
                           const parser::message& req, const sipkit::dialog::dialog_id& id) {
  auto* d = find_dialog(id);
  if (!d) return false;
  ua->on_in_dialog_request(tid, req, std::static_pointer_cast<call_impl>(self), *d);
  return true;
}

void call_impl::on_ack(const std::shared_ptr<usage>& self, const parser::message& request) {
  const call_ptr c = std::static_pointer_cast<call_impl>(self);
  auto cseq = request.cseq();
  if (!c->ok || !cseq || c->ok->cseq()->number != cseq->number) return;
  // Done with the 2xx: its timer goes too (a long call should not keep it); a wait
  // still queued completes with operation_aborted and finds no call state to touch.
  c->timer.reset();
  c->retransmitter.reset();
  c->ok.reset();
  ua->stop_awaiting_ack(*c);
  if (!request.body().empty() && c->remote_sdp.empty()) c->remote_sdp = std::string(request.body());
  if (c->state == call_state::answered) {
    c->invite.reset();
    c->prack_uas.reset();  // RFC 3262 §3: a PRACK after the ACK acknowledges nothing (481)
    ua->set_state(*c, call_state::established, 200);
    ua->arm_session_timer(c);
    auto waiters = std::move(c->connected_waiters);
    c->connected_waiters.clear();
    for (auto& w : waiters) w.complete(std::error_code{});
  }
  if (c->hangup_pending) {
    c->hangup_pending = false;
    ua->send_bye(c);
  }
}

void call_impl::on_stray_2xx(const parser::message& rsp) {
  // A 2xx retransmission after the ICT ended (Timer M): ACK it again (§13.2.2.4).
  if (ack && ack_cseq == rsp.cseq()->number) ua->resend_ack(*this);
}

}  // namespace detail

// ------------------------------------------------------------------ public surface

user_agent::user_agent(boost::asio::io_context& io, ua_config config)
    : impl_(std::make_unique<impl>(io, std::move(config))) {}

user_agent::~user_agent() = default;

std::error_code user_agent::start() { return impl_->net_.start(); }

void user_agent::stop() {
  impl_->stopping_ = true;
  for (auto& r : impl_->registrations_)
    if (r->timer) r->timer->cancel();
  std::vector<call_ptr> live;
  for (auto& [p, c] : impl_->calls_) live.push_back(c);
  for (auto& c : live) impl_->hangup(c, {});
}

void user_agent::on_incoming_call(std::function<void(call)> handler) {
  impl_->incoming_handler_ = std::move(handler);
}

void user_agent::on_request(std::string_view method,
                            std::function<void(incoming_request&)> handler) {
  if (handler)
    impl_->request_handlers_[std::string(method)] = std::move(handler);
  else
    impl_->request_handlers_.erase(std::string(method));
}

void user_agent::on_message(std::function<void(const message_event&)> handler) {
  impl_->message_handler_ = std::move(handler);
}

call user_agent::make_call(std::string_view target_uri) { return impl_->make_call(target_uri); }

registration user_agent::start_registration(registration_options options) {
  return impl_->start_registration(std::move(options));
}

subscription user_agent::subscribe(subscribe_options options) {
  return impl_->subscribe(std::move(options));
}

void user_agent::on_subscribe(std::string_view event, std::function<void(notifier)> handler) {
  if (handler)
    impl_->subscribe_handlers_[std::string(event)] = std::move(handler);
  else
    impl_->subscribe_handlers_.erase(std::string(event));
}

std::size_t user_agent::call_count() const noexcept { return impl_->calls_.size(); }

std::size_t user_agent::calls_awaiting_ack() const noexcept { return impl_->awaiting_ack_.size(); }

std::uint64_t user_agent::calls_evicted_awaiting_ack() const noexcept {
  return impl_->calls_evicted_awaiting_ack_;
}

std::string user_agent::local_address(sipkit::transport::protocol p) const {
  for (const auto& l : impl_->net_.listeners())
    if (l.transport == p) return l.local.to_string();
  return {};
}

const ua_config& user_agent::config() const noexcept { return impl_->config_; }

boost::asio::any_io_executor user_agent::executor() const { return impl_->io_.get_executor(); }

void user_agent::request_impl(std::string_view method, message_request request,
                              boost::asio::any_completion_handler<void(std::error_code, int)> h) {
  impl_->out_of_dialog_request(method, std::move(request), {std::move(h), executor()});
}

}  // namespace sipkit::ua
