// invite_session::redirect: following a 3xx to the initial INVITE (RFC 3261 §8.1.3.4).
// The binding decides where (the Contacts in q order, loops, depth); the session builds the
// new INVITE from the one it sent and forgets what the old target set up.
#include "header_values.hpp"
#include "sipkit/parser/uri.hpp"
#include "sipkit/session/error.hpp"
#include "sipkit/session/invite_session.hpp"

namespace sipkit::session {

using parser::header_id;
using parser::message;
using st = invite_session::state;

using detail::has_sdp;

invite_session::action_list invite_session::redirect(
    request_id id, std::string_view request_uri,
    std::vector<std::pair<std::string, std::string>> set_headers,
    std::vector<std::string> remove_headers, time_point) {
  action_list out = new_list();
  auto* p = find_pending(id);
  if (!uac_ || !p || p->kind != pending_kind::invite || id != invite_id_ ||
      state_ == st::terminated) {
    out.error = error::invalid_state;
    return out;
  }
  forget_pending(id);
  drop_early();  // §13.2.2.3
  if (state_ == st::cancel_pending || state_ == st::cancelling) {
    // The application hung up while the old target answered: nothing new is sent.
    oa_.offer_rejected();
    end(out, 487, error::cancelled, nullptr);
    return out;
  }
  if (state_ != st::calling && state_ != st::proceeding && state_ != st::early) {
    out.error = error::invalid_state;
    return out;
  }
  message req = invite();
  req.set_request_uri(request_uri);
  for (const auto& name : remove_headers) req.remove(name);
  for (const auto& [name, value] : set_headers) req.set(name, value);
  const auto cseq = req.cseq();
  const std::uint32_t number = (cseq ? cseq->number : 0) + 1;  // §8.1.3.4: a new transaction
  req.set(header_id::cseq, std::to_string(number) + " " + std::string(req.method_text()));
  // A reliable 1xx of the old target may have answered the offer: the new target gets it
  // as a fresh offer.
  oa_ = offer_answer_state{};
  if (has_sdp(req)) (void)oa_.offer_sent(offer_answer_state::carrier::invite, req.body());
  set_state(out, st::calling, nullptr);
  ep().invite = req;  // ACKs and dialogs of this INVITE take its CSeq from here
  invite_id_ = send(out, pending_kind::invite, std::move(req), nullptr);
  return out;
}

}  // namespace sipkit::session
