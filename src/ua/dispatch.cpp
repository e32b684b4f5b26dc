// The transaction user: requests dispatched by registration (in-dialog through the usage
// table, out-of-dialog by method: the application's handlers first, then the core's), and
// the outcome of each client transaction handed to the continuation it was started with.
#include "ua_impl.hpp"

namespace sipkit::ua {

using parser::header_id;
using parser::message;

// ------------------------------------------------------------------ application requests

namespace {
// The response side of an application request: the transaction, the To tag, whether a final
// response went out. Shared by the handler's view and a deferred_request.
struct response_slot {
  user_agent::impl* ua;
  std::weak_ptr<void> ua_alive;
  tx::transaction_id id;
  std::string tag;
  bool final = false;

  parser::message make(const parser::message& req, int code, std::string_view reason) const {
    auto rsp = parser::make_response(req, code, reason, code > 100 ? tag : std::string());
    if (!ua_alive.expired()) ua->add_common_headers(rsp);
    return rsp;
  }
  std::error_code send(parser::message response) {
    if (final || ua_alive.expired()) return make_error_code(errc::invalid_state);
    // A final response that fails to go out still ends the transaction: no second try.
    if (response.status_code() >= 200) final = true;
    return ua->send_response(id, std::move(response));
  }
};

class deferred final : public deferred_request {
 public:
  deferred(std::shared_ptr<response_slot> slot, const parser::message& req,
           const tx::endpoint& source)
      : slot_(std::move(slot)), request_(req), source_(source) {}
  ~deferred() override {
    if (!slot_->final && !slot_->ua_alive.expired())
      (void)slot_->send(slot_->make(request_, 500, "No response from the application"));
  }
  const parser::message& message() const noexcept override { return request_; }
  const tx::endpoint& source() const noexcept override { return source_; }
  parser::message make_response(int code, std::string_view reason) const override {
    return slot_->make(request_, code, reason);
  }
  std::error_code respond(parser::message response) override {
    return slot_->send(std::move(response));
  }
  bool answered() const noexcept override { return slot_->final; }

 private:
  std::shared_ptr<response_slot> slot_;
  parser::message request_;
  tx::endpoint source_;
};

class pending_request final : public incoming_request {
 public:
  pending_request(user_agent::impl& ua, tx::transaction_id id, const parser::message& req,
                  const tx::endpoint& source)
      : incoming_request(req, source),
        slot_(std::make_shared<response_slot>(
            response_slot{&ua, ua.alive_, id, ua.random_token(10), false})) {}
  parser::message make_response(int code, std::string_view reason) const override {
    return slot_->make(this->message(), code, reason);
  }
  std::error_code respond(parser::message response) override {
    return slot_->send(std::move(response));
  }
  bool answered() const noexcept override { return slot_->final; }
  std::shared_ptr<deferred_request> defer() override {
    if (slot_->final) return nullptr;
    if (auto d = deferred_.lock()) return d;
    auto d = std::make_shared<deferred>(slot_, this->message(), this->source());
    deferred_ = d;
    was_deferred_ = true;
    return d;
  }
  bool deferred_or_answered() const noexcept { return slot_->final || was_deferred_; }

 private:
  std::shared_ptr<response_slot> slot_;
  std::weak_ptr<deferred> deferred_;
  bool was_deferred_ = false;
};
}  // namespace

void user_agent::impl::on_application_request(tx::transaction_id id, const message& req,
                                              const tx::endpoint& source,
                                              const std::function<void(incoming_request&)>& h) {
  pending_request pending(*this, id, req, source);
  auto handler = h;  // it may remove itself
  handler(pending);
  if (!pending.deferred_or_answered()) {
    config_.log.log(log_level::warning, "ua",
                    "the " + std::string(req.method_text()) + " handler did not respond: 500");
    (void)pending.respond(pending.make_response(500, "No response from the application"));
  }
}

// ------------------------------------------------------------------ transaction user

void user_agent::impl::on_request(tx::transaction_id id, const message& req,
                                  const tx::endpoint& source, tx::transaction_id cancels) {
  if (req.method() == parser::method::cancel) return call_binding_.on_cancel(id, req, cancels);
  message refusal;
  if (checks_.precheck(req, refusal)) return respond(id, std::move(refusal));
  if (checks_.merged_request(id, req)) return respond(id, response_to(req, 482, random_token(10)));

  if (auto to = req.to(); to && !to->tag.empty()) {  // §12.2.2: inside a dialog
    const auto did = sipkit::dialog::incoming_request_dialog_id_view(req);
    if (auto it = did ? usages_.find(*did) : usages_.end(); it != usages_.end()) {
      // A request that names one of our dialogs carries a tag only our messages told: its
      // source receives what we send (the transaction layer's amplification budget).
      stack_.get().mark_proven(source);
      auto owner = it->second;  // the usage may end (and leave the table) while it works
      if (owner->on_request(owner, id, req, *did)) return;
    }
    if (subscription_.early_notify(id, req)) return;
    // OPTIONS may be sent with a To tag as a dialog ping: answer it anyway.
    if (req.method() != parser::method::options) return respond(id, response_to(req, 481));
  }
  // Out of any dialog: the application's handler for the method, else the one the core
  // registered, else §8.2.1: 405 for a method we know but do not take, 501 for one we do
  // not know.
  if (auto h = request_handlers_.find(std::string(req.method_text())); h != request_handlers_.end())
    return on_application_request(id, req, source, h->second);
  if (auto h = method_handlers_.find(req.method_text()); h != method_handlers_.end())
    return h->second(*this, id, req, source);
  const int code = req.method() == parser::method::unknown ? 501 : 405;
  auto rsp = response_to(req, code, random_token(10));
  if (code == 405) rsp.add(header_id::allow, allow_header());
  respond(id, std::move(rsp));
}

namespace {

void refuse_405(user_agent::impl& ua, tx::transaction_id id, const message& req) {
  auto rsp = ua.response_to(req, 405, ua.random_token(10));
  rsp.add(header_id::allow, ua.allow_header());
  ua.respond(id, std::move(rsp));
}

// A request that needs a dialog it does not name (§12.2.2).
void no_dialog(user_agent::impl& ua, tx::transaction_id id, const message& req,
               const tx::endpoint&) {
  ua.respond(id, ua.response_to(req, 481, ua.random_token(10)));
}

}  // namespace

detail::method_table detail::core_methods() {
  return {
      {"INVITE",
       [](user_agent::impl& ua, tx::transaction_id id, const message& req,
          const tx::endpoint& source) { ua.call_binding_.on_new_invite(id, req, source); }},
      // The notifiers, by event package; with no package at all the method is not
      // supported here (§8.2.1).
      {"SUBSCRIBE",
       [](user_agent::impl& ua, tx::transaction_id id, const message& req,
          const tx::endpoint& source) {
         if (ua.subscription_.subscribe_handlers_.empty()) return refuse_405(ua, id, req);
         ua.subscription_.on_new_subscribe(id, req, source);
       }},
      {"OPTIONS",
       [](user_agent::impl& ua, tx::transaction_id id, const message& req, const tx::endpoint&) {
         auto rsp = ua.response_to(req, 200, ua.random_token(10));
         rsp.add("Accept", "application/sdp");
         ua.respond(id, std::move(rsp));
       }},
      {"MESSAGE",
       [](user_agent::impl& ua, tx::transaction_id id, const message& req,
          const tx::endpoint& source) {
         if (!ua.message_handler_) return refuse_405(ua, id, req);
         message_event ev;
         ev.from = req.get(header_id::from).value_or("");
         ev.to = req.get(header_id::to).value_or("");
         ev.content_type = req.get(header_id::content_type).value_or("");
         ev.body = req.body();
         ev.source = source;
         ev.request = &req;
         auto handler = ua.message_handler_;
         handler(ev);
         ua.respond(id, ua.response_to(req, 200, ua.random_token(10)));
       }},
      {"NOTIFY", no_dialog},  // a NOTIFY needs a subscription, hence a To tag
      {"BYE", no_dialog},
      {"INFO", no_dialog},
  };
}

const continuation ignore_then{};

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
  // Not ours (a server transaction, or a request whose synchronous failure start()
  // already learned from the stack's result): nothing to do.
  if (it == client_ops_.end()) return;
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
  if (auto* c = call_binding_.invite_servers_.find(id)) {
    // The IST is over (the ACK came, or Timer L): the session may let the INVITE go.
    const call_ptr call = *c;
    call_binding_.invite_transaction_ended(call);
    call_binding_.invite_servers_.erase(id);
  }
  checks_.forget(id);
}

void user_agent::impl::on_ack(const message& ack, const tx::endpoint& source, tx::transaction_id) {
  auto it = usages_.find(sipkit::dialog::incoming_request_dialog_id_view(ack).value_or(
      sipkit::dialog::dialog_id_view{}));
  if (it == usages_.end()) return;   // an ACK for nothing we know: absorbed (§17.2.3)
  stack_.get().mark_proven(source);  // it names our tag: the source receives our 2xx
  auto owner = it->second;
  owner->on_ack(owner, ack);
}

}  // namespace sipkit::ua
