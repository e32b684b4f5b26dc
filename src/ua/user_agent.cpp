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
  if (events_.enabled()) {  // events without a handler go to async_next_event
    call_binding_.incoming_handler_ = detail::queue_incoming_calls(*this);
    message_handler_ = detail::queue_messages(*this);
  }
}

user_agent::impl::~impl() {
  alive_.reset();  // deferred requests that outlive the agent send nothing
  peer_log_.flush_all(std::chrono::steady_clock::now());
  transport_.set_receiver(nullptr);
  // Handles may outlive the agent and keep these objects (and their timers) alive: cancel
  // every wait, so that no handler runs with a dangling agent (they return on
  // operation_aborted before touching it).
  auto cancel = [](const std::unique_ptr<boost::asio::steady_timer>& t) {
    if (t) t->cancel();
  };
  call_binding_.timers_.cancel();
  for (auto& r : registration_.registrations_) cancel(r->timer);
  for (auto& [id, sub] : subscription_.subscriptions_) cancel(sub->timer);
  for (auto& n : subscription_.notifiers_) cancel(n->timer);
}

std::string user_agent::impl::random_token(std::size_t hex_digits) {
  std::string out;
  out.reserve(hex_digits);
  append_random_token(out, hex_digits);
  return out;
}

void user_agent::impl::append_random_token(std::string& out, std::size_t hex_digits) {
  static constexpr char digits[] = "0123456789abcdef";
  const std::size_t end = out.size() + hex_digits;
  while (out.size() < end) {
    auto v = random_.next_u64();
    for (int i = 0; i < 16 && out.size() < end; ++i, v >>= 4) out += digits[v & 15];
  }
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

void user_agent::impl::locate(std::string_view uri, targets_handler done) {
  if (auto ep = endpoint_of(uri, config_.default_transport)) return done({}, {*ep});
  parser::uri_view u;
  if (parser::parse_uri(uri, u) || !u.is_sip()) return done(make_error_code(errc::bad_target), {});
  if (!resolver_) resolver_ = std::make_unique<sipkit::transport::resolver>(io_, config_.dns);
  resolver_->locate(
      uri, [done = std::move(done)](std::error_code ec, sipkit::transport::target_list list) {
        std::vector<tx::endpoint> targets;
        for (const auto& t : list.all()) targets.push_back(tx::to_endpoint(t));
        done(ec, std::move(targets));
      });
}

std::string user_agent::impl::sent_by(const tx::endpoint& dest) const {
  return transport_.via_sent_by(dest);
}

std::string user_agent::impl::contact_for(const tx::endpoint& dest) const {
  std::string c;
  append_contact(c, dest);
  return c;
}

void user_agent::impl::append_contact(std::string& c, const tx::endpoint& dest) const {
  c += dest.protocol == tx::transport_protocol::tls ? "<sips:" : "<sip:";
  c += config_.user;
  c += '@';
  c += sent_by(dest);
  if (dest.protocol == tx::transport_protocol::tcp) c += ";transport=tcp";
  c += '>';
}

std::string_view user_agent::impl::allow_header() const {
  // RFC 3261 §20.5: what this agent takes. NOTIFY always (any subscription of ours may be
  // notified); SUBSCRIBE only with an event package to serve. Four constant texts, so
  // that no response builds a string for it.
#define SIPKIT_ALLOW "INVITE, ACK, CANCEL, BYE, OPTIONS, INFO, MESSAGE, NOTIFY, REFER, UPDATE"
  static constexpr std::string_view texts[] = {SIPKIT_ALLOW, SIPKIT_ALLOW ", PRACK",
                                               SIPKIT_ALLOW ", SUBSCRIBE",
                                               SIPKIT_ALLOW ", PRACK, SUBSCRIBE"};
#undef SIPKIT_ALLOW
  return texts[(config_.reliable_provisionals ? 1 : 0) +
               (subscription_.subscribe_handlers_.empty() ? 0 : 2)];
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

const local_media& call_binding::media_for(const tx::endpoint& dest) const {
  if (!ua_.config_.media.address.empty()) return ua_.config_.media;
  auto host = ua_.sent_by(dest);
  // sent-by is "host:port" or "[v6]:port"
  if (!host.empty() && host.front() == '[')
    host = host.substr(1, host.find(']') - 1);
  else if (auto colon = host.rfind(':'); colon != std::string::npos)
    host.resize(colon);
  if (host.empty()) host = "127.0.0.1";
  // Calls mostly go out of one listener: the copy made for its address serves them all.
  if (!media_cached_ || media_cache_.address != host) {
    media_cache_ = ua_.config_.media;
    media_cache_.address = std::move(host);
    media_cached_ = true;
  }
  return media_cache_;
}

tx::transaction_id user_agent::impl::start(message request, std::vector<tx::endpoint> targets,
                                           client_op op) {
  add_common_headers(request);
  outgoing(request);
  // A synchronous transport failure comes back in r.error (its on_failure upcall ran
  // before the id was known here and was ignored).
  auto r = stack_.start_client(std::move(request), std::move(targets));
  if (const std::error_code ec = r.error) {
    peer_log("request not sent", log_level::warning, "request not sent: " + ec.message());
    op.done.complete(ec, 0);
    return {};
  }
  client_ops_.emplace(r.id, std::move(op));
  return r.id;
}

void user_agent::impl::send_stateless_request(message& request, const tx::endpoint& dest,
                                              std::string_view branch) {
  // Sized once (the Via of an ACK to a 2xx, our usual stateless request, is ~70 bytes).
  std::string via;
  via.reserve(96);
  via += "SIP/2.0/";
  via += tx::via_transport_name(dest.protocol);
  via += ' ';
  via += sent_by(dest);
  via += ";branch=";
  via += tx::branch_generator::magic_cookie;
  if (branch.empty())
    append_random_token(via, 22);
  else
    via += branch;
  if (config_.transactions.add_rport) via += ";rport";
  request.push_front(header_id::via, via);
  add_common_headers(request);
  outgoing(request);
  if (auto ec = stack_.get().send_stateless(request, dest))
    peer_log("stateless send failed", log_level::warning, "stateless send failed: " + ec.message());
}

void user_agent::impl::respond(tx::transaction_id id, message response) {
  (void)send_response(id, std::move(response));
}

std::error_code user_agent::impl::send_response(tx::transaction_id id, message response) {
  outgoing(response);
  const int code = response.status_code();
  const std::error_code ec = stack_.respond(id, std::move(response));
  if (!ec) return ec;
  if (ec == tx::error::no_such_transaction || ec == tx::error::invalid_state ||
      ec == tx::error::invalid_message) {
    config_.log.log(log_level::debug, "ua", "response not sent: " + ec.message());
    return ec;
  }
  // The transport failed at once: the server transaction is over (RFC 3261 §17.2.4).
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

void call_binding::emit(call_impl& c, call_event e) {
  if (!c.events) return;
  auto handler = c.events;  // the handler may replace itself
  handler(e);
}

void call_binding::set_state(call_impl& c, call_state s, int status,
                             const parser::message* cause) {
  if (c.state == s) return;
  c.state = s;
  call_event e;
  e.what = call_event::kind::state_changed;
  e.state = s;
  e.status = status;
  e.message = cause;
  emit(c, e);
  auto observers = c.observers;  // an observer may add another
  for (auto& o : observers) o(s, status);
}

// ------------------------------------------------------------------ public surface

user_agent::user_agent(boost::asio::io_context& io, ua_config config)
    : impl_(std::make_unique<impl>(io, std::move(config))) {}

user_agent::~user_agent() = default;

std::error_code user_agent::start() { return impl_->net_.start(); }

void user_agent::stop() {
  impl_->stopping_ = true;
  for (auto& r : impl_->registration_.registrations_)
    if (r->timer) r->timer->cancel();
  std::vector<call_ptr> live;
  for (auto& c : impl_->call_binding_.calls_) live.push_back(c);
  for (auto& c : live) impl_->call_binding_.hangup(c, {});
}

void user_agent::on_incoming_call(std::function<void(call)> handler) {
  if (!handler && impl_->events_.enabled()) handler = detail::queue_incoming_calls(*impl_);
  impl_->call_binding_.incoming_handler_ = std::move(handler);
}

void user_agent::on_request(std::string_view method,
                            std::function<void(incoming_request&)> handler) {
  if (handler)
    impl_->request_handlers_[std::string(method)] = std::move(handler);
  else
    impl_->request_handlers_.erase(std::string(method));
}

void user_agent::on_message(std::function<void(const message_event&)> handler) {
  if (!handler && impl_->events_.enabled()) handler = detail::queue_messages(*impl_);
  impl_->message_handler_ = std::move(handler);
}

call user_agent::make_call(std::string_view target_uri) {
  return impl_->call_binding_.make_call(target_uri);
}

registration user_agent::start_registration(registration_options options) {
  return impl_->registration_.start_registration(std::move(options));
}

subscription user_agent::subscribe(subscribe_options options) {
  return impl_->subscription_.subscribe(std::move(options));
}

void user_agent::on_subscribe(std::string_view event, std::function<void(notifier)> handler) {
  if (handler)
    impl_->subscription_.subscribe_handlers_[std::string(event)] = std::move(handler);
  else
    impl_->subscription_.subscribe_handlers_.erase(std::string(event));
}

std::size_t user_agent::call_count() const noexcept { return impl_->call_binding_.calls_.size(); }

std::size_t user_agent::calls_awaiting_ack() const noexcept {
  return impl_->call_binding_.awaiting_ack_.size;
}

std::uint64_t user_agent::calls_evicted_awaiting_ack() const noexcept {
  return impl_->call_binding_.calls_evicted_awaiting_ack_;
}

std::uint64_t user_agent::calls_refused_awaiting_ack() const noexcept {
  return impl_->call_binding_.calls_refused_awaiting_ack_;
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
