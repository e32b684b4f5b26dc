// ICT, RFC 3261 §17.1.1 and Figure 5, with RFC 6026 §7.2 (Accepted, Timer M).
#include "sipkit/transaction/client_invite.hpp"

#include <string>
#include <utility>

#include "sipkit/transaction/error.hpp"
#include "transaction/backoff.hpp"
#include "transaction/exact_size.hpp"

namespace sipkit::transaction {
namespace {

void copy_all(const parser::message& from, parser::message& to, parser::header_id id) {
  for (const auto& f : from.fields())
    if (f.id == id) to.add(id, from.value_of(f));
}

// The first via-parm of the top Via line (a line may hold a comma list).
std::string_view top_via_text(const parser::message& m) {
  if (auto v = m.top_via()) return v->raw;
  return m.get(parser::header_id::via).value_or("");
}

std::string cseq_with(const parser::message& m, std::string_view method) {
  std::string out;
  if (auto c = m.cseq()) out = std::to_string(c->number);
  out += ' ';
  out += method;
  return out;
}

}  // namespace

parser::message make_ack(const parser::message& invite, const parser::message& response) {
  // §17.1.1.3: Request-URI, Call-ID, From, top Via (only) from the INVITE; To from the
  // response (it carries the UAS's tag); CSeq number from the INVITE with method ACK;
  // the INVITE's Route headers, since the ACK must follow the INVITE's path.
  auto ack = parser::message::request("ACK", invite.request_uri());
  ack.add(parser::header_id::via, top_via_text(invite));
  ack.add(parser::header_id::max_forwards,
          invite.get(parser::header_id::max_forwards).value_or("70"));
  copy_all(invite, ack, parser::header_id::route);
  ack.add(parser::header_id::from, invite.get(parser::header_id::from).value_or(""));
  ack.add(parser::header_id::to, response.get(parser::header_id::to).value_or(""));
  ack.add(parser::header_id::call_id, invite.call_id());
  ack.add(parser::header_id::cseq, cseq_with(invite, "ACK"));
  return ack;
}

parser::message make_cancel(const parser::message& invite, header_lines extra) {
  // §9.1: same Request-URI, Call-ID, To, From, CSeq number, the INVITE's top Via only and
  // its Route headers; method CANCEL.
  auto cancel = parser::message::request("CANCEL", invite.request_uri());
  cancel.add(parser::header_id::via, top_via_text(invite));
  cancel.add(parser::header_id::max_forwards,
             invite.get(parser::header_id::max_forwards).value_or("70"));
  copy_all(invite, cancel, parser::header_id::route);
  cancel.add(parser::header_id::from, invite.get(parser::header_id::from).value_or(""));
  cancel.add(parser::header_id::to, invite.get(parser::header_id::to).value_or(""));
  cancel.add(parser::header_id::call_id, invite.call_id());
  cancel.add(parser::header_id::cseq, cseq_with(invite, "CANCEL"));
  for (const auto& [name, value] : extra) cancel.add(name, value);
  return cancel;
}

client_invite::client_invite(parser::message request, bool reliable, const timer_config& config)
    : request_(std::move(request)), config_(&config), reliable_(reliable) {}

action_list client_invite::start(time_point now) {
  action_list out;
  out.send(request_);
  if (!reliable_) out.start(timer::a, now + config_->t1);
  out.start(timer::b, now + config_->timeout());
  return out;
}

action_list client_invite::handle(const response_received& e, time_point now) {
  action_list out;
  const int code = e.response.status_code();
  if (code < 100 || code > 699) return out;
  switch (state_) {
    case state::calling:
    case state::proceeding: {
      const bool leaving_calling = state_ == state::calling;
      if (code >= 300) {
        ack_ = make_ack(request_, e.response);
        out.send(ack_);
      }
      if (leaving_calling) {
        // Any response ends Calling: no more INVITE retransmissions, no Timer B.
        if (!reliable_) out.stop(timer::a);
        out.stop(timer::b);
      }
      if (code < 200) {
        state_ = state::proceeding;
        out.pass(e.response);
      } else if (code < 300) {
        state_ = state::accepted;  // RFC 6026 §7.2
        out.start(timer::m, now + config_->timeout());
        out.pass(e.response);
      } else if (reliable_) {
        state_ = state::terminated;  // Timer D is zero on reliable transports
        out.pass(e.response);
        out.terminate();
      } else {
        state_ = state::completed;
        out.start(timer::d, now + config_->d);
        out.pass(e.response);
      }
      break;
    }
    case state::completed:
      // A retransmitted final: re-send the ACK, do not bother the TU (§17.1.1.2).
      if (code >= 300) out.send(ack_);
      break;
    case state::accepted:
      // 2xx retransmissions and 2xx from other forks go to the TU (RFC 6026 §7.2).
      if (code >= 200 && code < 300) out.pass(e.response);
      break;
    case state::terminated:
      break;
  }
  return out;
}

action_list client_invite::handle(const timer_fired& e, time_point now) {
  action_list out;
  switch (e.which) {
    case timer::a:
      if (state_ != state::calling) break;
      // §17.1.1.2: on each firing re-send and double the interval (no cap for INVITE).
      detail::bump(a_fired_);
      out.send(request_);
      out.start(timer::a, now + detail::backoff(config_->t1, a_fired_, duration::max()));
      break;
    case timer::b:
      if (state_ != state::calling) break;
      if (!reliable_) out.stop(timer::a);
      state_ = state::terminated;
      out.inform(make_error_code(error::timeout));
      out.terminate();
      break;
    case timer::d:
      if (state_ != state::completed) break;
      state_ = state::terminated;
      out.terminate();
      break;
    case timer::m:
      if (state_ != state::accepted) break;
      state_ = state::terminated;
      out.terminate();
      break;
    default:
      break;
  }
  return out;
}

action_list client_invite::handle(const transport_failed& e, time_point) {
  action_list out;
  // Figure 5: only Calling (the INVITE) and Completed (the ACK) send anything.
  if (state_ == state::calling) {
    if (!reliable_) out.stop(timer::a);
    out.stop(timer::b);
  } else if (state_ == state::completed) {
    out.stop(timer::d);
  } else {
    return out;
  }
  state_ = state::terminated;
  out.inform(e.code ? e.code : make_error_code(error::transport_failure));
  out.terminate();
  return out;
}

void client_invite::compact() {
  detail::to_exact_size(request_);
  detail::to_exact_size(ack_);
}

}  // namespace sipkit::transaction
