// Two invite_sessions talking to each other, Alice (UAC) and Bob (UAS), through a small
// in-memory "wire" that plays the binding: it adds Vias, maps server transactions back to
// the request ids of the other side, builds CANCELs, and fires both sides' timers in
// order. What one side builds, the other must accept: tags, CSeq order, ACK matching,
// glare resolution. Each test asserts the whole ladder.
#include <array>
#include <deque>
#include <map>
#include <optional>

#include "session/support/messages.hpp"
#include "sipkit/session/error.hpp"

using namespace sipkit::test;
using sipkit::session::error;
using sipkit::session::request_id;
using st = invite_session::state;
using transaction_id_t = sipkit::transaction::transaction_id;

namespace {

enum class side : int { alice = 0, bob = 1 };
side other(side s) { return s == side::alice ? side::bob : side::alice; }

class wire {
 public:
  struct peer {
    std::optional<invite_session> s;
    std::vector<std::string> events;  // "state:<name>", "ended:<status>:<error>", ...
    std::vector<std::pair<transaction_id_t, std::string>> requests;  // reported, not yet answered
  };

  explicit wire(std::string_view offer = offer_sdp) {
    alice().s = invite_session::make_uac(alice_invite(offer));
  }
  peer& alice() { return peers_[0]; }
  peer& bob() { return peers_[1]; }
  peer& of(side s) { return peers_[static_cast<int>(s)]; }
  sipkit::session::time_point now() const { return now_; }
  long long ms() const {
    return std::chrono::duration_cast<std::chrono::milliseconds>(now_ - decltype(now_){}).count();
  }

  /// Queues what `who` returned and runs the network until it is quiet: each action is
  /// executed in order, and what it makes the other side return is queued behind it, as a
  /// binding with a real network would see it.
  void deliver(side who, invite_session::action_list l) {
    post(who, std::move(l));
    pump();
  }
  /// Queues without running: two requests posted before a pump() cross on the wire.
  void post(side who, invite_session::action_list l) {
    REQUIRE_FALSE(l.error);
    for (auto& a : l.items) queue_.emplace_back(who, std::move(a));
  }
  void pump() {
    while (!queue_.empty()) {
      auto [who, a] = std::move(queue_.front());
      queue_.pop_front();
      one(who, a);
    }
  }
  void advance_to(std::chrono::milliseconds t) {
    const auto target = decltype(now_){} + t;
    for (;;) {
      std::optional<std::pair<sipkit::session::time_point, side>> next;
      for (side s : {side::alice, side::bob}) {
        auto& p = of(s);
        if (!p.s) continue;
        if (auto d = p.s->next_deadline(); d && *d <= target && (!next || *d < next->first))
          next = {{*d, s}};
      }
      if (!next) break;
      now_ = next->first;
      deliver(next->second, of(next->second).s->on_timer(now_));
    }
    now_ = target;
  }

  /// The ladder so far: "A>B INVITE", "B>A 180", ...
  std::vector<std::string> ladder;

 private:
  struct client {
    side owner;
    request_id id;  // 0: nobody waits (CANCEL)
    message request;
  };

  std::string arrow(side from) const { return from == side::alice ? "A>B " : "B>A "; }
  std::string via() { return "SIP/2.0/UDP host;branch=z9hG4bK" + std::to_string(next_branch_++); }

  void one(side who, invite_session::action& a) {
    auto& me = of(who);
    auto& peer_s = of(other(who));
    if (auto* rq = std::get_if<invite_session::send_request>(&a)) {
      message req = rq->request;
      req.push_front(header_id::via, via());
      ladder.push_back(arrow(who) + std::string(req.method_text()));
      const transaction_id_t tx{next_tx_++, 1};
      clients_[tx.index] = {who, rq->id, req};
      if (!peer_s.s) {  // the initial INVITE reaches Bob: a new session
        peer_s.s =
            invite_session::make_uas(req, tx, {std::string(bob_tag), std::string(bob_contact)});
        post(other(who), peer_s.s->start(now_));
      } else {
        post(other(who), peer_s.s->on_request(tx, req, now_));
      }
    } else if (auto* rs = std::get_if<invite_session::send_response>(&a)) {
      ladder.push_back(arrow(who) + std::to_string(rs->response.status_code()) +
                       (rs->retransmission ? " again" : ""));
      auto it = clients_.find(rs->tx.index);
      REQUIRE(it != clients_.end());
      if (it->second.id != 0)
        post(it->second.owner,
             of(it->second.owner).s->on_response(it->second.id, rs->response, now_));
    } else if (auto* ak = std::get_if<invite_session::send_ack>(&a)) {
      message ack = ak->ack;
      ack.push_front(header_id::via, via());
      ladder.push_back(arrow(who) + "ACK");
      post(other(who), peer_s.s->on_ack(ack, now_));
    } else if (auto* cn = std::get_if<invite_session::cancel_invite>(&a)) {
      for (auto& [index, c] : clients_) {
        if (c.owner != who || c.id != cn->invite) continue;
        // §9.1: Request-URI, Call-ID, To, From, CSeq number and the top Via of the INVITE.
        auto cancel = message::request("CANCEL", c.request.request_uri());
        cancel.add(header_id::via, *c.request.get(header_id::via));
        cancel.add(header_id::from, *c.request.get(header_id::from));
        cancel.add(header_id::to, *c.request.get(header_id::to));
        cancel.add(header_id::call_id, c.request.call_id());
        cancel.add(header_id::cseq, std::to_string(c.request.cseq()->number) + " CANCEL");
        ladder.push_back(arrow(who) + "CANCEL");
        const transaction_id_t tx{next_tx_++, 1};
        clients_[tx.index] = {who, 0, cancel};
        post(other(who), peer_s.s->on_cancel(tx, cancel, now_));
        break;
      }
    } else if (auto* sc = std::get_if<invite_session::state_changed>(&a)) {
      me.events.push_back("state:" + std::string(to_string(sc->to)));
    } else if (auto* en = std::get_if<invite_session::ended>(&a)) {
      me.events.push_back("ended:" + std::to_string(en->status) + ":" + en->error.message());
    } else if (auto* rr = std::get_if<invite_session::request_received>(&a)) {
      me.requests.emplace_back(rr->tx, std::string(rr->request->method_text()));
    } else if (auto* rc = std::get_if<invite_session::request_completed>(&a)) {
      me.events.push_back("completed:" + std::string(sipkit::parser::method_name(rc->method)) +
                          ":" + (rc->response ? std::to_string(rc->response->status_code()) : "-"));
    }
  }

  std::array<peer, 2> peers_;
  sipkit::session::time_point now_{};
  std::uint32_t next_tx_ = 1;
  std::uint32_t next_branch_ = 1;
  std::map<std::uint32_t, client> clients_;
  std::deque<std::pair<side, invite_session::action>> queue_;
};

using ladder_t = std::vector<std::string>;

}  // namespace

TEST_CASE("Pair: a call is set up, answered, ACKed, and Bob's BYE ends both sides") {
  wire w;
  w.deliver(side::alice, w.alice().s->start(w.now()));
  w.deliver(side::bob, w.bob().s->ring(180, {}, w.now()));
  w.deliver(side::bob, w.bob().s->accept({.body = std::string(answer_sdp)}, w.now()));
  REQUIRE(w.alice().s->current_state() == st::confirmed);
  REQUIRE(w.bob().s->current_state() == st::confirmed);
  REQUIRE_FALSE(w.bob().s->next_deadline());  // the ACK stopped the 2xx timer
  w.deliver(side::bob, w.bob().s->hang_up(w.now()));
  REQUIRE(w.ladder ==
          ladder_t{"A>B INVITE", "B>A 180", "B>A 200", "A>B ACK", "B>A BYE", "A>B 200"});
  REQUIRE(w.alice().events == std::vector<std::string>{"state:early", "state:confirmed",
                                                       "state:terminated",
                                                       "ended:0:session ended"});
  REQUIRE(w.bob().events.back() == "ended:200:Success");
}

TEST_CASE("Pair: Alice's hang-up while ringing cancels; both sides end with 487") {
  wire w;
  w.deliver(side::alice, w.alice().s->start(w.now()));
  w.deliver(side::bob, w.bob().s->ring(180, {}, w.now()));
  w.deliver(side::alice, w.alice().s->hang_up(w.now()));
  REQUIRE(w.ladder == ladder_t{"A>B INVITE", "B>A 180", "A>B CANCEL", "B>A 200", "B>A 487"});
  REQUIRE(w.alice().events.back() == "ended:487:cancelled");
  REQUIRE(w.bob().events.back() == "ended:487:cancelled");
}

TEST_CASE("Pair: re-INVITE glare resolves by the retry timers (Alice 2.5 s, Bob 1 s)") {
  wire w;
  w.deliver(side::alice, w.alice().s->start(w.now()));
  w.deliver(side::bob, w.bob().s->accept({.body = std::string(answer_sdp)}, w.now()));
  w.ladder.clear();
  // Both re-INVITE at once: each request reaches the other before its answer.
  auto a = w.alice().s->reinvite({{.body = "v=0 a-hold"}, 2500ms}, w.now());
  auto b = w.bob().s->reinvite({{.body = "v=0 b-hold"}, 1000ms}, w.now());
  w.post(side::alice, std::move(a));
  w.post(side::bob, std::move(b));
  w.pump();
  REQUIRE(w.ladder == ladder_t{"A>B INVITE", "B>A INVITE", "B>A 491", "A>B 491"});
  // Bob's timer fires first; his re-INVITE goes through, Alice answers when told.
  w.advance_to(1000ms);
  REQUIRE(w.alice().requests.size() == 1);
  w.deliver(side::alice, w.alice().s->respond(w.alice().requests[0].first, 200,
                                              {.body = "v=0 a-answer"}, w.now()));
  w.advance_to(2500ms);
  REQUIRE(w.ladder == ladder_t{"A>B INVITE", "B>A INVITE", "B>A 491", "A>B 491", "B>A INVITE",
                               "A>B 200", "B>A ACK", "A>B INVITE"});
  REQUIRE(w.bob().requests.size() == 1);
  w.deliver(side::bob,
            w.bob().s->respond(w.bob().requests[0].first, 200, {.body = "v=0 b-answer"}, w.now()));
  REQUIRE(w.ladder.back() == "A>B ACK");
  REQUIRE(w.alice().s->offer_answer().local_sdp() == "v=0 a-hold");
  REQUIRE(w.alice().s->offer_answer().remote_sdp() == "v=0 b-answer");
  REQUIRE(w.bob().s->offer_answer().local_sdp() == "v=0 b-answer");
  REQUIRE_FALSE(w.alice().s->next_deadline());
  REQUIRE_FALSE(w.bob().s->next_deadline());
}

TEST_CASE("Pair: an UPDATE in the early dialog, then the call, then Alice's BYE") {
  wire w;
  w.deliver(side::alice, w.alice().s->start(w.now()));
  w.deliver(side::bob, w.bob().s->ring(183,
                                       {.body = std::string(answer_sdp),
                                        .headers = {{"Require", "100rel"}, {"RSeq", "1"}},
                                        .reliable = true},
                                       w.now()));
  REQUIRE(w.alice().s->offer_answer().negotiated());
  w.deliver(side::alice, w.alice().s->update({.body = "v=0 a-update"}, w.now()));
  REQUIRE(w.bob().requests.size() == 1);
  REQUIRE(w.bob().requests[0].second == "UPDATE");
  w.deliver(side::bob,
            w.bob().s->respond(w.bob().requests[0].first, 200, {.body = "v=0 b-update"}, w.now()));
  w.deliver(side::bob, w.bob().s->accept({}, w.now()));
  w.deliver(side::alice, w.alice().s->hang_up(w.now()));
  REQUIRE(w.ladder == ladder_t{"A>B INVITE", "B>A 183", "A>B UPDATE", "B>A 200", "B>A 200",
                               "A>B ACK", "A>B BYE", "B>A 200"});
  REQUIRE(w.alice().s->current_state() == st::terminated);
  REQUIRE(w.bob().s->current_state() == st::terminated);
  REQUIRE(w.alice().s->offer_answer().remote_sdp() == "v=0 b-update");
}

TEST_CASE("Pair: delayed offer in a reliable 183, answered in Alice's PRACK (RFC 3262 §5)") {
  wire w("");
  w.deliver(side::alice, w.alice().s->start(w.now()));
  w.deliver(side::bob, w.bob().s->ring(183,
                                       {.body = std::string(offer_sdp),
                                        .headers = {{"Require", "100rel"}, {"RSeq", "7"}},
                                        .reliable = true},
                                       w.now()));
  REQUIRE(w.alice().s->offer_answer().current_state() ==
          sipkit::session::offer_answer_state::state::offer_received);
  w.deliver(side::alice, w.alice().s->request("PRACK",
                                              {.body = std::string(answer_sdp),
                                               .headers = {{"RAck", "7 314159 INVITE"}}},
                                              w.now()));
  // Bob took the PRACK's body as the answer to his 183's offer.
  REQUIRE(w.bob().requests.size() == 1);
  REQUIRE(w.bob().requests[0].second == "PRACK");
  REQUIRE(w.bob().s->offer_answer().current_state() ==
          sipkit::session::offer_answer_state::state::answered);
  REQUIRE(w.bob().s->offer_answer().answer_carrier() ==
          sipkit::session::offer_answer_state::carrier::prack);
  REQUIRE(w.bob().s->offer_answer().remote_sdp() == answer_sdp);
  w.deliver(side::bob, w.bob().s->respond(w.bob().requests[0].first, 200, {}, w.now()));
  // The 200 repeats Bob's description; nobody offers again, the ACK carries nothing.
  w.deliver(side::bob, w.bob().s->accept({.body = std::string(offer_sdp)}, w.now()));
  REQUIRE(w.ladder ==
          ladder_t{"A>B INVITE", "B>A 183", "A>B PRACK", "B>A 200", "B>A 200", "A>B ACK"});
  REQUIRE(w.alice().s->current_state() == st::confirmed);
  REQUIRE(w.bob().s->current_state() == st::confirmed);
  for (auto* p : {&w.alice(), &w.bob()})
    REQUIRE(p->s->offer_answer().current_state() ==
            sipkit::session::offer_answer_state::state::answered);
  REQUIRE(w.alice().s->offer_answer().local_sdp() == answer_sdp);
  REQUIRE(w.alice().s->offer_answer().remote_sdp() == offer_sdp);
  REQUIRE(w.bob().s->offer_answer().local_sdp() == offer_sdp);
  REQUIRE(w.alice().events ==
          std::vector<std::string>{"state:early", "completed:PRACK:200", "state:confirmed"});
}
