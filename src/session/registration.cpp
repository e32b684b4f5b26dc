// The REGISTER client (RFC 3261 §10.2). All transitions:
//
//   state          event                                -> actions / next state
//   -------------  -----------------------------------  ----------------------------------------
//   unregistered   start                                -> REGISTER(asking) / registering
//   registering,   401/407, attempts < max              -> REGISTER CSeq+1 + challenge / same
//    refreshing,    (unregistering too)
//    unregistering
//   registering,   423 with Min-Expires > asking        -> asking = Min-Expires,
//    refreshing                                            REGISTER(asking) / same
//   registering,   2xx                                  -> granted, bindings; arm refresh
//    refreshing                                            (granted > 0) / registered
//   registering,   other >= 300, on_failure,            -> arm retry (retry_interval > 0)
//    refreshing     on_auth_failed                         / failed
//   registered     refresh timer                        -> REGISTER(asking) / refreshing
//   failed         retry timer                          -> REGISTER(asking) / registering
//   registering,   unregister(all)                      -> cancel timers, REGISTER(Expires: 0,
//    registered,                                           Contact: ours or *) / unregistering
//    refreshing,
//    failed
//   unregistering  2xx                                  -> bindings / unregistered
//   unregistering  other >= 300, on_failure,            -> unregistered (error)
//                   on_auth_failed
//
// Every new REGISTER (not a challenged retry) reports its state, so the application sees
// "registering" for each attempt as it did before the machine existed.
#include "sipkit/session/registration.hpp"

#include <algorithm>

#include "header_values.hpp"
#include "sipkit/dialog/dialog.hpp"
#include "sipkit/parser/uri.hpp"
#include "sipkit/session/error.hpp"

namespace sipkit::session {

using parser::header_id;
using parser::message;

std::string_view to_string(registration::state s) noexcept {
  switch (s) {
    case registration::state::unregistered:
      return "unregistered";
    case registration::state::registering:
      return "registering";
    case registration::state::registered:
      return "registered";
    case registration::state::refreshing:
      return "refreshing";
    case registration::state::unregistering:
      return "unregistering";
    case registration::state::failed:
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
    for (auto value : dialog::split_address_list(ok.value_of(f))) {
      parser::name_addr_view na;
      if (parser::parse_name_addr(value, na) || !ours_ok || !parser::uri_equal(na.uri, ours))
        continue;
      if (!na.expires.empty()) return detail::delta_seconds(na.expires).value_or(asked);
    }
  }
  if (auto e = ok.get(header_id::expires)) return detail::delta_seconds(*e).value_or(asked);
  return asked;
}

}  // namespace

registration::registration(options o) : opts_(std::move(o)), asking_(opts_.expires) {}

message registration::make_register() {
  const bool removing = state_ == state::unregistering;
  auto req = message::request("REGISTER", opts_.registrar);
  req.add(header_id::max_forwards, "70");
  req.add(header_id::from, "<" + opts_.aor + ">;tag=" + opts_.from_tag);
  req.add(header_id::to, "<" + opts_.aor + ">");
  req.add(header_id::call_id, opts_.call_id);
  req.add(header_id::cseq, std::to_string(++cseq_) + " REGISTER");
  if (removing && remove_all_) {
    req.add(header_id::contact, "*");  // §10.2.2: every binding of the AOR
  } else {
    if (!opts_.contact.empty()) req.add(header_id::contact, opts_.contact);
    for (const auto& extra : opts_.extra_contacts)
      req.add(header_id::contact, extra.front() == '<' ? extra : "<" + extra + ">");
  }
  req.add(header_id::expires, removing ? "0" : std::to_string(asking_.count()));
  return req;
}

void registration::send(state next, actions& out) {
  state_ = next;
  auth_attempts_ = 0;
  last_ = make_register();
  report r;
  r.current = state_;
  r.expires = granted_;
  out.emplace_back(r);
  out.emplace_back(send_request{*last_, nullptr, 0});
}

registration::actions registration::start(time_point) {
  actions out;
  if (state_ != state::unregistered || cseq_ != 0) return out;
  send(state::registering, out);
  return out;
}

void registration::fail(int status, std::error_code ec, const message* rsp, actions& out,
                        time_point now) {
  last_.reset();
  report r;
  r.status = status;
  r.error = ec;
  r.response = rsp;
  if (state_ == state::unregistering) {
    state_ = state::unregistered;
    timers_.cancel_all();
    r.current = state_;
    out.emplace_back(r);
    return;
  }
  state_ = state::failed;
  timers_.cancel(timer::refresh);  // the binding is not known to hold any more
  if (opts_.retry_interval.count() > 0) timers_.arm(timer::retry, now + opts_.retry_interval);
  r.current = state_;
  out.emplace_back(r);
}

registration::actions registration::on_response(const message& rsp, time_point now) {
  actions out;
  const int code = rsp.status_code();
  auto cseq = rsp.cseq();
  const bool in_flight =
      state_ == state::registering || state_ == state::refreshing || state_ == state::unregistering;
  if (code < 200 || !in_flight || !last_ || !cseq || cseq->number != cseq_) return out;

  if ((code == 401 || code == 407) && auth_attempts_ < opts_.max_auth_attempts) {
    // §22.2: the same request with credentials, CSeq + 1, same Call-ID and tags.
    ++auth_attempts_;
    challenge_status_ = code;
    last_->set(header_id::cseq, std::to_string(++cseq_) + " REGISTER");
    out.emplace_back(send_request{*last_, &rsp, auth_attempts_});
    return out;
  }
  if (code == 423 && state_ != state::unregistering) {
    // §10.2.8: ask again with at least the registrar's Min-Expires.
    auto min = detail::delta_seconds(rsp.get("Min-Expires").value_or(""));
    if (min && *min > asking_) {
      asking_ = *min;
      send(state_, out);
      return out;
    }
  }
  if (code >= 300) {
    fail(code, error::rejected, &rsp, out, now);
    return out;
  }

  bindings_.clear();
  for (const auto& f : rsp.fields())
    if (f.id == header_id::contact)
      for (auto v : dialog::split_address_list(rsp.value_of(f))) bindings_.emplace_back(v);
  last_.reset();
  report r;
  r.status = code;
  r.response = &rsp;
  if (state_ == state::unregistering) {
    state_ = state::unregistered;
    granted_ = std::chrono::seconds(0);
    timers_.cancel_all();
    r.current = state_;
    out.emplace_back(r);
    return out;
  }
  granted_ = granted_expiry(rsp, dialog::address_uri(opts_.contact), asking_);
  state_ = state::registered;
  timers_.cancel(timer::retry);
  if (granted_.count() > 0) {
    const auto margin = std::min(opts_.refresh_margin, granted_ / 2);
    timers_.arm(timer::refresh, now + std::max(std::chrono::seconds(1), granted_ - margin));
  } else {
    timers_.cancel(timer::refresh);
  }
  r.current = state_;
  r.expires = granted_;
  out.emplace_back(r);
  return out;
}

registration::actions registration::on_failure(std::error_code ec, time_point now) {
  actions out;
  if (state_ == state::registering || state_ == state::refreshing || state_ == state::unregistering)
    fail(0, ec, nullptr, out, now);
  return out;
}

registration::actions registration::on_auth_failed(time_point now) {
  actions out;
  if (state_ == state::registering || state_ == state::refreshing || state_ == state::unregistering)
    fail(challenge_status_, error::rejected, nullptr, out, now);
  return out;
}

std::error_code registration::unregister(bool all, time_point, actions& out) {
  if (state_ == state::unregistering || state_ == state::unregistered) return error::invalid_state;
  timers_.cancel_all();
  remove_all_ = all;
  send(state::unregistering, out);
  return {};
}

void registration::on_timer_fired(timer t, time_point, actions& out) {
  switch (t) {
    case timer::refresh:
      if (state_ == state::registered) send(state::refreshing, out);
      return;
    case timer::retry:
      if (state_ == state::failed) send(state::registering, out);
      return;
    case timer::count:
      return;
  }
}

registration::actions registration::on_timer(time_point now) {
  actions out;
  while (auto t = timers_.pop_due(now)) on_timer_fired(*t, now, out);
  return out;
}

}  // namespace sipkit::session
