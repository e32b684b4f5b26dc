// The proxy core (core.hpp). A response context (§16.7) per stateful request, a branch
// per target; the branch's transitions, all in one place:
//
//   branch state  | event                          | actions                       | next
//   --------------+--------------------------------+-------------------------------+-----------
//   waiting       | its group starts               | resolve next hop              | resolving
//   waiting       | CANCEL / 2xx / 6xx elsewhere   | -                             | completed
//   resolving     | next hops set                  | RR, start_client, Timer C     | trying
//   resolving     | no next hop / start fails      | record 503                    | completed
//   trying        | 100                            | CANCEL if cancel_pending      | proceeding
//   trying/proc.  | 101-199                        | forward, re-arm Timer C;      | proceeding
//                 |                                | CANCEL if cancel_pending      |
//   completed     | 1xx (Timer C gave up on it)    | CANCEL if cancel_pending      | completed
//   trying/proc.  | 2xx                            | forward; CANCEL the others    | completed
//   trying/proc.  | 3xx-6xx                        | record (6xx: CANCEL others)   | completed
//   trying/proc.  | timeout / transport error      | record 408 / 503              | completed
//   trying        | Timer C                        | record 408, cancel_pending    | completed
//   proceeding    | Timer C                        | CANCEL, record 408            | completed
//   proceeding    | CANCEL from upstream           | CANCEL                        | proceeding
//   trying        | CANCEL from upstream           | cancel_pending                | trying
//   completed     | 2xx (another one, RFC 6026)    | forward                       | completed
//
// After each branch event the context checks itself (settle): when every branch of the
// current group is completed, the next group starts (sequential forking) unless a 2xx or
// 6xx arrived or the request was CANCELled; when none is left, the best response goes up.
// The context dies once its final response is sent and no branch is still running.
#include "sipkit/proxy/core.hpp"

#include <algorithm>
#include <deque>
#include <stdexcept>
#include <string_view>
#include <unordered_map>
#include <utility>

#include "sipkit/transaction/client_invite.hpp"

namespace sipkit::proxy {
namespace {

using parser::header_id;

enum class branch_state : std::uint8_t { waiting, resolving, trying, proceeding, completed };

struct branch_ref {
  std::uint64_t context = 0;
  std::size_t index = 0;
};

struct timer_c_key {
  branch_ref ref;
  std::uint64_t generation = 0;
};

struct branch {
  std::string target;
  std::size_t group = 0;
  branch_state state = branch_state::waiting;
  parser::message request;  // the forwarded copy, until start_client takes it
  transaction_id client;
  bool cancel_pending = false;
  bool client_live = false;
  std::uint64_t timer_c_generation = 0;
  // Its entry in impl::timer_c_ while armed: removed on re-arm and completion, so the
  // table holds one entry per live INVITE branch, not one per provisional until due.
  std::optional<std::multimap<time_point, timer_c_key>::iterator> timer_c;
};

struct context {
  transaction_id server;
  parser::message request;  // as received, after Route pre-processing
  std::string loop;         // loop_hash of the request as received
  endpoint source;
  bool invite = false;
  bool located = false;  // target set known
  bool final_sent = false;
  bool cancelled = false;
  bool stop_forking = false;  // 2xx or 6xx: no new branches
  bool starting = false;      // start_group is running: settle waits for it
  bool dead = false;          // erased; memory freed at the end of the entry point
  std::vector<branch> branches;
  std::size_t current_group = 0;
  std::size_t groups = 0;
  std::vector<parser::message> finals;  // 3xx-6xx, our Via removed
};

/// A next-hop resolution in flight: for a branch, or for a stateless send.
struct resolution {
  branch_ref ref;                              // stateful: which branch
  bool stateless = false;                      // stateless: send `message` with a Via for the hop
  parser::message message;                     // stateless only
  std::string branch_param;                    // stateless only: our Via branch
  transaction::transport_protocol incoming{};  // for the double Record-Route (stateless)
  bool record_route = false;
};

/// A location lookup in flight.
struct lookup {
  std::uint64_t context = 0;  // stateful
  bool stateless = false;
  // stateless: the request after pre-processing (shared: locate may answer from inside
  // the call that borrows it)
  std::shared_ptr<parser::message> request;
  std::string branch_param;
  endpoint source;
  // stateless, a CANCEL without context (§16.10): its server transaction, which our own
  // refusals (482, 404 ...) answer instead of a stateless response.
  transaction_id server;
};

bool has_to_tag(const parser::message& m) {
  auto to = m.to();
  return to && !to->tag.empty();
}

}  // namespace

struct core::impl {
  impl(transaction::transport& tp, services& svc, config cfg, transaction::manager_config mcfg,
       core& self)
      : tp_(tp), svc_(svc), cfg_(std::move(cfg)), mgr_(tp, self, std::move(mcfg)) {}

  transaction::transport& tp_;
  services& svc_;
  config cfg_;
  transaction::manager mgr_;
  stats stats_;
  time_point now_{};

  std::uint64_t next_id_ = 1;
  std::unordered_map<std::uint64_t, context> contexts_;
  std::unordered_map<transaction_id, std::uint64_t> by_server_;
  std::unordered_map<transaction_id, branch_ref> by_client_;
  std::unordered_map<std::uint64_t, lookup> lookups_;
  std::unordered_map<std::uint64_t, resolution> resolutions_;
  std::multimap<time_point, timer_c_key> timer_c_;
  // §16.10: CANCELs forwarded statelessly (no response context), by the branch they went
  // out with: their server transaction, answered with the response that comes back.
  std::unordered_map<std::string, transaction_id> stray_cancels_;
  std::unordered_map<transaction_id, std::string> stray_cancel_branch_;
  std::deque<std::pair<time_point, transaction_id>> stray_cancel_deadlines_;
  std::vector<std::uint64_t> graveyard_;

  // ------------------------------------------------------------------ helpers

  context* find_context(std::uint64_t id) {
    auto it = contexts_.find(id);
    return it == contexts_.end() || it->second.dead ? nullptr : &it->second;
  }
  branch* find_branch(branch_ref r) {
    context* c = find_context(r.context);
    return c && r.index < c->branches.size() ? &c->branches[r.index] : nullptr;
  }

  bool is_local_sent_by(const parser::via_view& via) const {
    const std::uint16_t port =
        via.port ? via.port
                 : sipkit::default_port(sipkit::parse_transport_protocol(via.transport)
                                            .value_or(transaction::transport_protocol::udp));
    std::string_view host = via.host;
    if (host.size() > 2 && host.front() == '[') host = host.substr(1, host.size() - 2);
    return std::any_of(cfg_.locals.begin(), cfg_.locals.end(), [&](const local_address& l) {
      const std::uint16_t lport = l.port ? l.port : sipkit::default_port(l.protocol);
      std::string_view lhost = l.host;
      if (lhost.size() > 2 && lhost.front() == '[') lhost = lhost.substr(1, lhost.size() - 2);
      return lport == port && parser::iequals(lhost, host);
    });
  }

  /// §16.3 step 4: a Via of ours whose branch carries the same loop hash (every branch
  /// we send carries one: stateless_branch, or the manager's with our suffix).
  bool is_loop(const parser::message& request, const std::string& loop) const {
    for (const auto& entry : header_list(request, header_id::via)) {
      parser::via_view via;
      if (parser::parse_via(entry, via) || !is_local_sent_by(via)) continue;
      if (branch_loop_part(via.branch) == loop) return true;
    }
    return false;
  }

  const local_address* local_for(transaction::transport_protocol p) const {
    for (const auto& l : cfg_.locals)
      if (l.protocol == p) return &l;
    return cfg_.locals.empty() ? nullptr : &cfg_.locals.front();
  }

  /// §16.6 step 4: our Record-Route URIs for a request that came in on `in` and goes out
  /// on `out`; two when the transports differ, so each side sees the address it can reach.
  std::vector<std::string> record_route_for(transaction::transport_protocol in,
                                            transaction::transport_protocol out) const {
    std::vector<std::string> uris;
    const local_address* o = local_for(out);
    const local_address* i = local_for(in);
    if (o) uris.push_back(record_route_uri(*o));
    if (i && i != o) uris.push_back(record_route_uri(*i));
    return uris;
  }

  bool wants_record_route(const parser::message& request) const {
    return cfg_.record_route && !has_to_tag(request) &&
           request.method() != parser::method::register_ && request.method() != parser::method::ack;
  }

  bool wants_path(const parser::message& request) const {
    if (!cfg_.add_path || request.method() != parser::method::register_) return false;
    for (const auto& tag : header_list(request, header_id::supported))
      if (parser::iequals(tag, "path")) return true;
    return false;
  }

  /// An OPTIONS for the proxy itself: our URI without a user part, no Route left.
  bool addressed_to_us(const parser::message& routed) const {
    if (routed.method() != parser::method::options || routed.get(header_id::route)) return false;
    parser::uri_view u;
    return !parser::parse_uri(routed.request_uri(), u) && u.user.empty() &&
           is_local_uri(routed.request_uri(), cfg_.locals);
  }

  /// §16.5: does this request go through location?
  bool needs_location(const parser::message& request) const {
    if (has_to_tag(request) || request.get(header_id::route)) return false;
    parser::uri_view u;
    if (parser::parse_uri(request.request_uri(), u)) return false;
    if (!u.maddr_param.empty()) return false;
    // A Request-URI naming the proxy itself (a REGISTER sent to the registrar's address)
    // is a resource at this proxy too; forwarding it to itself would only loop.
    if (is_local_uri(request.request_uri(), cfg_.locals)) return true;
    return std::any_of(cfg_.domains.begin(), cfg_.domains.end(),
                       [&](const std::string& d) { return parser::iequals(d, u.host); });
  }

  /// Send a response the core made (a rejection) for a request outside any transaction.
  void send_stateless_response(const parser::message& response, const endpoint& source) {
    endpoint dest = source;
    if (auto via = response.top_via(); via && !source.reliable() && !via->has_rport)
      dest.port = via->port ? via->port : 5060;
    mgr_.send_stateless(response, dest, now_);
  }

  std::string make_via(const endpoint& hop, std::string_view branch_param) const {
    std::string via = "SIP/2.0/";
    via += sipkit::via_transport_name(hop.protocol);
    via += ' ';
    via += tp_.via_sent_by(hop);
    via += ";branch=";
    via += branch_param;
    via += ";rport";
    return via;
  }

  // ------------------------------------------------------------------ stateful requests

  void on_request(transaction_id id, const parser::message& request, const endpoint& source,
                  transaction_id cancels) {
    if (request.method() == parser::method::cancel) return on_cancel(id, request, source, cancels);
    if (auto refusal = validate_request(request, cfg_.validation, cfg_.locals)) {
      ++stats_.rejected;
      mgr_.respond(id, std::move(*refusal), now_);
      return;
    }
    std::string loop = loop_hash(request, cfg_.secret);
    if (is_loop(request, loop)) {
      ++stats_.loops;
      ++stats_.rejected;
      mgr_.respond(id, parser::make_response(request, 482, {}, loop.substr(0, 10)), now_);
      return;
    }
    parser::message routed = request;
    preprocess_route(routed, cfg_.locals);  // §16.4
    if (addressed_to_us(routed)) {
      // §16.1: an element may answer a request itself; an OPTIONS to the proxy's own URI
      // (a keep-alive ping) is answered like a UAS would (§11.2).
      auto ok = parser::make_response(request, 200, {}, loop.substr(0, 10));
      ok.add(header_id::allow, "INVITE, ACK, CANCEL, BYE, OPTIONS, REGISTER");
      mgr_.respond(id, std::move(ok), now_);
      return;
    }
    const std::uint64_t cid = next_id_++;
    context& c = contexts_[cid];
    c.server = id;
    c.request = std::move(routed);
    c.loop = std::move(loop);
    c.source = source;
    c.invite = request.method() == parser::method::invite;
    by_server_[id] = cid;
    if (c.invite && cfg_.send_trying) mgr_.respond(id, parser::make_response(request, 100), now_);
    if (needs_location(c.request)) {
      const std::uint64_t lid = next_id_++;
      lookups_[lid].context = cid;
      svc_.locate(lid, c.request);  // may answer at once
    } else {
      const std::string ruri(c.request.request_uri());
      start_targets(cid, {{ruri, 1.0}}, fork_mode::parallel);
    }
  }

  void set_targets(std::uint64_t lid, std::vector<target> targets, std::optional<fork_mode> mode) {
    auto it = lookups_.find(lid);
    if (it == lookups_.end()) return;
    lookup l = std::move(it->second);
    lookups_.erase(it);
    if (l.stateless) return stateless_targets(std::move(l), std::move(targets));
    context* c = find_context(l.context);
    if (!c || c->final_sent) return;
    if (targets.empty()) {
      ++stats_.rejected;
      send_final(l.context, parser::make_response(c->request, 404, {}, c->loop.substr(0, 10)));
      return;
    }
    start_targets(l.context, std::move(targets), mode.value_or(cfg_.forking));
  }

  void respond(std::uint64_t lid, parser::message response) {
    auto it = lookups_.find(lid);
    if (it == lookups_.end()) return;
    lookup l = std::move(it->second);
    lookups_.erase(it);
    if (l.stateless) return refuse_stateless(l.server, response, l.source);
    ++stats_.rejected;
    if (find_context(l.context)) send_final(l.context, std::move(response));
  }

  /// §16.5/16.6: order the target set by q (stable: equal q keep their order), group it,
  /// make one branch per target and start the first group.
  void start_targets(std::uint64_t cid, std::vector<target> targets, fork_mode mode) {
    context* c = find_context(cid);
    if (!c) return;
    std::stable_sort(targets.begin(), targets.end(),
                     [](const target& a, const target& b) { return a.q > b.q; });
    c->located = true;
    std::size_t group = 0;
    for (std::size_t i = 0; i < targets.size(); ++i) {
      if (mode == fork_mode::sequential && i > 0 && targets[i].q != targets[i - 1].q) ++group;
      branch b;
      b.target = std::move(targets[i].uri);
      b.group = group;
      c->branches.push_back(std::move(b));
    }
    c->groups = group + 1;
    c->current_group = 0;
    start_group(cid);
  }

  void start_group(std::uint64_t cid) {
    context* c = find_context(cid);
    if (!c) return;
    const std::size_t group = c->current_group;
    c->starting = true;
    for (std::size_t i = 0; i < c->branches.size(); ++i) {
      c = find_context(cid);  // a synchronous answer may have changed the context
      if (!c) return;
      if (c->stop_forking || c->cancelled) break;
      branch& b = c->branches[i];
      if (b.group != group || b.state != branch_state::waiting) continue;
      forward_options opts;
      if (wants_path(c->request)) {
        if (const local_address* l = local_for(c->source.protocol))
          opts.path = record_route_uri(*l);
      }
      const bool strict = strict_next_hop(c->request);
      b.request = make_forward(c->request, b.target, opts);  // §16.6 steps 1-6
      b.state = branch_state::resolving;
      const std::uint64_t rid = next_id_++;
      resolutions_[rid].ref = {cid, i};
      const std::string hop = next_hop_uri(b.request, strict);  // step 7
      svc_.resolve(rid, hop);                                   // may answer at once
    }
    if (context* cc = find_context(cid)) cc->starting = false;
    settle(cid);
  }

  /// The binding knows why `rid`'s next hop cannot be reached (RFC 5626 §5.3: a flow
  /// that is gone): the branch ends with that response of ours, not the 503 of a send.
  void fail_next_hop(std::uint64_t rid, int status, std::string_view reason) {
    auto it = resolutions_.find(rid);
    if (it == resolutions_.end()) return;
    resolution r = std::move(it->second);
    resolutions_.erase(it);
    if (r.stateless) return;  // stateless: nothing to answer (§16.11)
    context* c = find_context(r.ref.context);
    if (!c || c->branches[r.ref.index].state != branch_state::resolving) return;
    complete_with(r.ref, status, reason);
    settle(r.ref.context);
  }

  void set_next_hops(std::uint64_t rid, std::vector<endpoint> hops) {
    auto it = resolutions_.find(rid);
    if (it == resolutions_.end()) return;
    resolution r = std::move(it->second);
    resolutions_.erase(it);
    if (r.stateless) return stateless_send(std::move(r), std::move(hops));
    context* c = find_context(r.ref.context);
    if (!c) return;
    branch& b = c->branches[r.ref.index];
    if (b.state != branch_state::resolving) return;
    if (hops.empty() || c->cancelled || c->stop_forking) {
      complete_with(r.ref, hops.empty() ? 503 : 487);
      return settle(r.ref.context);
    }
    if (wants_record_route(c->request))
      add_record_route(b.request, record_route_for(c->source.protocol, hops.front().protocol));
    parser::message req = std::move(b.request);
    b.request = parser::message{};
    b.state = branch_state::trying;
    ++stats_.forwarded;
    // Steps 8-10: the manager's branch, suffixed with the loop hash (also on failover).
    auto started = mgr_.start_client(std::move(req), std::move(hops), now_, "." + c->loop);
    c = find_context(r.ref.context);
    if (!c) return;
    branch& bb = c->branches[r.ref.index];
    if (!started.id || started.error) {
      if (started.id) by_client_.erase(started.id);
      complete_with(r.ref, 503);
      return settle(r.ref.context);
    }
    bb.client = started.id;
    bb.client_live = true;
    by_client_[started.id] = r.ref;
    if (c->invite) arm_timer_c(r.ref, bb);  // step 11
  }

  // ------------------------------------------------------------------ Timer C

  void arm_timer_c(branch_ref ref, branch& b) {
    disarm_timer_c(b);
    b.timer_c = timer_c_.emplace(now_ + cfg_.timer_c, timer_c_key{ref, b.timer_c_generation});
  }

  void disarm_timer_c(branch& b) {
    ++b.timer_c_generation;
    if (b.timer_c) timer_c_.erase(*b.timer_c);
    b.timer_c.reset();
  }

  void fire_timer_c(timer_c_key k) {
    branch* b = find_branch(k.ref);
    if (!b || b->timer_c_generation != k.generation) return;
    b->timer_c.reset();  // popped by on_timer
    if (b->state != branch_state::trying && b->state != branch_state::proceeding) return;
    ++stats_.timer_c_fired;
    // §16.8: a branch with a provisional is CANCELled; one without is treated as if it
    // had received a 408. Either way the branch now counts as answered 408.
    if (b->state == branch_state::proceeding)
      send_cancel(*b);
    else
      b->cancel_pending = true;  // §9.1: not before a provisional; then it goes out
    complete_with(k.ref, 408);
    settle(k.ref.context);
  }

  // ------------------------------------------------------------------ responses

  void send_cancel(branch& b) {
    if (!b.client_live) return;
    b.cancel_pending = false;
    if (mgr_.cancel(b.client, now_)) ++stats_.cancels_sent;
  }

  /// Branch `ref` ends with a response of our own making (408 Timer C / timeout, 503,
  /// 487 for a branch that never started).
  void complete_with(branch_ref ref, int code, std::string_view reason = {}) {
    context* c = find_context(ref.context);
    if (!c) return;
    branch& b = c->branches[ref.index];
    b.state = branch_state::completed;
    disarm_timer_c(b);
    c->finals.push_back(parser::make_response(c->request, code, reason, c->loop.substr(0, 10)));
  }

  void send_upstream(context& c, parser::message response) {
    ++stats_.responses_forwarded;
    if (mgr_.respond(c.server, response, now_)) {
      // The server transaction is gone (a late 2xx after Timer L): by Via (RFC 6026 §7).
      if (auto dest = response_destination(response)) mgr_.send_stateless(response, *dest, now_);
    }
  }

  void send_final(std::uint64_t cid, parser::message response) {
    context* c = find_context(cid);
    if (!c || c->final_sent) return;
    c->final_sent = true;
    send_upstream(*c, std::move(response));
    settle(cid);
  }

  void cancel_others(context& c, std::size_t except) {
    for (std::size_t i = 0; i < c.branches.size(); ++i) {
      if (i == except) continue;
      branch& b = c.branches[i];
      if (b.state == branch_state::proceeding) {
        send_cancel(b);
      } else if (b.state == branch_state::trying) {
        b.cancel_pending = true;
      } else if (b.state == branch_state::waiting) {
        b.state = branch_state::completed;  // never started: nothing to cancel
      }
    }
  }

  void on_response(transaction_id id, const parser::message& received) {
    auto it = by_client_.find(id);
    const int code = received.status_code();
    branch* b = it == by_client_.end() ? nullptr : find_branch(it->second);
    if (!b) {
      // The context is gone: only a 2xx still matters (a forked INVITE's late answer).
      if (code >= 200 && code < 300) forward_by_via(received);
      return;
    }
    const branch_ref ref = it->second;
    context& c = contexts_.at(ref.context);
    parser::message response = received;
    pop_via(response);  // §16.7 step 3
    if (code < 200) {
      if (b->state == branch_state::trying) b->state = branch_state::proceeding;
      // §16.7 step 2: 101-199 re-arm Timer C; a 100 only says the next hop got it.
      if (b->state == branch_state::proceeding && c.invite && code > 100) arm_timer_c(ref, *b);
      // §9.1: a CANCEL waits for a provisional (even for a branch Timer C gave up on).
      if (b->cancel_pending) send_cancel(*b);
      // §16.7 step 5: 100 is absorbed; other provisionals go up while no final did.
      if (code > 100 && !c.final_sent && b->state != branch_state::completed)
        send_upstream(c, std::move(response));
      return;
    }
    const bool was_open = b->state == branch_state::trying || b->state == branch_state::proceeding;
    if (code < 300) {
      // §16.7 step 5: every 2xx goes up at once, even after another final (a forked
      // INVITE may be answered by several UASes; the caller sorts them out, §13.2.2.4).
      if (was_open) {
        b->state = branch_state::completed;
        disarm_timer_c(*b);
      }
      c.stop_forking = true;
      c.final_sent = true;
      send_upstream(c, std::move(response));
      if (c.invite) cancel_others(c, ref.index);  // §16.7 step 10
      return settle(ref.context);
    }
    if (!was_open) return;  // Timer C already counted it as 408
    b->state = branch_state::completed;
    disarm_timer_c(*b);
    if (code >= 600) {
      // §16.7 step 5: no new branches, and the pending ones are CANCELled.
      c.stop_forking = true;
      if (c.invite) cancel_others(c, ref.index);
    }
    c.finals.push_back(std::move(response));
    settle(ref.context);
  }

  void on_failure(transaction_id id, std::error_code ec) {
    auto it = by_client_.find(id);
    if (it == by_client_.end()) return;
    const branch_ref ref = it->second;
    branch* b = find_branch(ref);
    if (!b) return;
    if (b->state != branch_state::trying && b->state != branch_state::proceeding) return;
    // §16.7: a timeout is a 408, a transport error a 503 (§16.9).
    complete_with(ref, ec == make_error_code(transaction::error::timeout) ? 408 : 503);
    settle(ref.context);
  }

  void on_terminated(transaction_id id) {
    if (auto it = stray_cancel_branch_.find(id); it != stray_cancel_branch_.end()) {
      stray_cancels_.erase(it->second);
      stray_cancel_branch_.erase(it);
    }
    if (auto it = by_client_.find(id); it != by_client_.end()) {
      const branch_ref ref = it->second;
      by_client_.erase(it);
      if (branch* b = find_branch(ref)) {
        b->client_live = false;
        if (b->state == branch_state::trying || b->state == branch_state::proceeding)
          b->state = branch_state::completed;
        settle(ref.context);
      }
    }
    if (auto it = by_server_.find(id); it != by_server_.end()) {
      const std::uint64_t cid = it->second;
      by_server_.erase(it);
      if (context* c = find_context(cid)) {
        c->final_sent = true;  // nothing more can go up through it
        settle(cid);
      }
    }
  }

  /// The context after a change: next group, best response, or its end.
  void settle(std::uint64_t cid) {
    context* c = find_context(cid);
    if (!c || c->starting) return;
    if (!c->located) {
      if (c->final_sent) erase_context(cid);
      return;
    }
    auto open_in = [&](auto pred) {
      return std::any_of(c->branches.begin(), c->branches.end(), pred);
    };
    const bool running = open_in([](const branch& b) {
      return b.state == branch_state::resolving || b.state == branch_state::trying ||
             b.state == branch_state::proceeding;
    });
    if (running) return;
    const bool waiting = open_in([](const branch& b) { return b.state == branch_state::waiting; });
    if (waiting && !c->stop_forking && !c->cancelled && !c->final_sent) {
      ++c->current_group;  // sequential forking: the next q-value group
      return start_group(cid);
    }
    if (!c->final_sent) {
      c->final_sent = true;
      parser::message best = c->finals.empty()
                                 ? parser::make_response(c->request, c->cancelled ? 487 : 408, {},
                                                         c->loop.substr(0, 10))
                                 : choose_best_response(c->finals);
      send_upstream(*c, std::move(best));
    }
    const bool live_clients = open_in([](const branch& b) { return b.client_live; });
    if (!live_clients) erase_context(cid);
  }

  /// Contexts die at the end of the entry point (sweep): callers up the stack may still
  /// hold a reference to one while a manager upcall ends it.
  void erase_context(std::uint64_t cid) {
    context* c = find_context(cid);
    if (!c) return;
    for (auto& b : c->branches) {
      if (b.client) by_client_.erase(b.client);
      disarm_timer_c(b);
    }
    by_server_.erase(c->server);
    c->dead = true;
    graveyard_.push_back(cid);
  }

  /// Every public entry point holds one; the outermost sweeps. (A service may answer
  /// from inside the call that asked it, so entry points nest.)
  struct entry_guard {
    impl& m;
    entry_guard(impl& x, time_point now) : m(x) {
      m.now_ = now;
      ++m.depth_;
    }
    ~entry_guard() {
      if (--m.depth_ == 0) m.sweep();
    }
    entry_guard(const entry_guard&) = delete;
    entry_guard& operator=(const entry_guard&) = delete;
  };
  int depth_ = 0;

  void sweep() {
    for (std::uint64_t cid : graveyard_) contexts_.erase(cid);
    graveyard_.clear();
  }

  // ------------------------------------------------------------------ CANCEL (§16.10)

  void on_cancel(transaction_id id, const parser::message& cancel, const endpoint& source,
                 transaction_id cancels) {
    auto it = cancels ? by_server_.find(cancels) : by_server_.end();
    if (it == by_server_.end()) return forward_stray_cancel(id, cancel, source);
    mgr_.respond(id, parser::make_response(cancel, 200), now_);
    const std::uint64_t cid = it->second;
    context& c = contexts_.at(cid);
    c.cancelled = true;
    if (!c.located) {
      // Location has not answered: there is no branch to cancel, the INVITE ends here.
      return send_final(cid, parser::make_response(c.request, 487, {}, c.loop.substr(0, 10)));
    }
    cancel_others(c, c.branches.size());
    settle(cid);
  }

  /// §16.10: "If a response context is not found, the element does not have any
  /// knowledge of the request to apply the CANCEL to. It MUST statelessly forward the
  /// CANCEL request (it may have statelessly forwarded the associated request
  /// previously)." It goes out like a stateless proxy's (stateless_branch: the same branch
  /// as its INVITE had if that went out statelessly); the response that comes back by our
  /// Via answers its server transaction. Nothing back in 64*T1: 408, which ends it.
  void forward_stray_cancel(transaction_id id, const parser::message& cancel,
                            const endpoint& source) {
    if (!cancel.top_via()) return;
    if (auto refusal = validate_request(cancel, cfg_.validation, cfg_.locals)) {
      ++stats_.rejected;
      mgr_.respond(id, std::move(*refusal), now_);
      return;
    }
    std::string branch_param = stateless_branch(cancel, cfg_.secret);
    if (stray_cancels_.emplace(branch_param, id).second) {
      stray_cancel_branch_[id] = branch_param;
      stray_cancel_deadlines_.emplace_back(now_ + mgr_.config().timers.timeout(), id);
    }
    forward_stateless(cancel, source, true, id);
  }

  /// A response that matches no client transaction: for a CANCEL we forwarded statelessly
  /// it answers that CANCEL's server transaction; otherwise it goes up by Via.
  void on_stray_response(const parser::message& response) {
    if (!stray_cancels_.empty() && response.is_response() && response.status_code() >= 200) {
      auto via = response.top_via();
      auto cseq = response.cseq();
      if (via && cseq && cseq->method_text == "CANCEL" && is_local_sent_by(*via)) {
        auto it = stray_cancels_.find(std::string(via->branch));
        if (it != stray_cancels_.end()) {
          const transaction_id server = it->second;
          stray_cancel_branch_.erase(server);
          stray_cancels_.erase(it);
          parser::message up = response;
          pop_via(up);
          ++stats_.responses_forwarded;
          mgr_.respond(server, std::move(up), now_);
          return;
        }
      }
    }
    forward_by_via(response);
  }

  void expire_stray_cancels() {
    while (!stray_cancel_deadlines_.empty() && stray_cancel_deadlines_.front().first <= now_) {
      const transaction_id id = stray_cancel_deadlines_.front().second;
      stray_cancel_deadlines_.pop_front();
      auto it = stray_cancel_branch_.find(id);
      if (it == stray_cancel_branch_.end()) continue;
      stray_cancels_.erase(it->second);
      stray_cancel_branch_.erase(it);
      if (const parser::message* req = mgr_.request(id))
        mgr_.respond(id, parser::make_response(*req, 408), now_);
    }
  }

  // ------------------------------------------------------------------ stateless pieces

  void forward_by_via(const parser::message& received) {
    auto via = received.top_via();
    if (!via || !is_local_sent_by(*via)) return;  // not ours: drop (§16.7 / §16.11)
    parser::message response = received;
    pop_via(response);
    if (auto dest = response_destination(response)) {
      ++stats_.responses_forwarded;
      mgr_.send_stateless(response, *dest, now_);
    }
  }

  /// Forward a request without a transaction: an ACK for a 2xx in stateful mode, any
  /// request in stateless mode. `target` empty = locate (stateless mode only).
  /// A refusal of a request forwarded statelessly: through `server` when it is a CANCEL's
  /// server transaction (forward_stray_cancel), else statelessly back to `source`.
  void refuse_stateless(transaction_id server, const parser::message& response,
                        const endpoint& source) {
    ++stats_.rejected;
    if (!server) return send_stateless_response(response, source);
    if (auto it = stray_cancel_branch_.find(server); it != stray_cancel_branch_.end()) {
      stray_cancels_.erase(it->second);
      stray_cancel_branch_.erase(it);
    }
    mgr_.respond(server, response, now_);
  }

  void forward_stateless(parser::message request, const endpoint& source, bool use_location,
                         transaction_id server = {}) {
    if (request.method() == parser::method::ack &&
        validate_request(request, cfg_.validation, cfg_.locals))
      return;  // an ACK is never answered: one we may not forward is dropped
    std::string branch_param = stateless_branch(request, cfg_.secret);
    const std::string loop(branch_loop_part(branch_param));
    if (is_loop(request, loop)) {
      ++stats_.loops;
      if (request.method() != parser::method::ack)
        refuse_stateless(server, parser::make_response(request, 482, {}, loop.substr(0, 10)),
                         source);
      return;
    }
    stamp_received(request, source);
    preprocess_route(request, cfg_.locals);
    if (use_location && addressed_to_us(request)) {
      // §16.1 / §11.2, as in stateful mode: a keep-alive OPTIONS to the proxy itself.
      auto ok = parser::make_response(request, 200, {}, loop.substr(0, 10));
      ok.add(header_id::allow, "INVITE, ACK, CANCEL, BYE, OPTIONS, REGISTER");
      return send_stateless_response(ok, source);
    }
    if (use_location && needs_location(request)) {
      const std::uint64_t lid = next_id_++;
      auto shared = std::make_shared<parser::message>(std::move(request));
      lookup& l = lookups_[lid];
      l.stateless = true;
      l.request = shared;
      l.branch_param = std::move(branch_param);
      l.source = source;
      l.server = server;
      svc_.locate(lid, *shared);
      return;
    }
    const std::string ruri(request.request_uri());
    lookup l;
    l.stateless = true;
    l.request = std::make_shared<parser::message>(std::move(request));
    l.branch_param = std::move(branch_param);
    l.source = source;
    l.server = server;
    stateless_targets(std::move(l), {{ruri, 1.0}});
  }

  void stateless_targets(lookup l, std::vector<target> targets) {
    if (targets.empty()) {
      if (l.request->method() != parser::method::ack)
        refuse_stateless(l.server, parser::make_response(*l.request, 404), l.source);
      return;
    }
    // §16.11: one target only, deterministically the first of the highest q.
    std::stable_sort(targets.begin(), targets.end(),
                     [](const target& a, const target& b) { return a.q > b.q; });
    resolution r;
    r.stateless = true;
    forward_options opts;
    if (wants_path(*l.request)) {
      if (const local_address* a = local_for(l.source.protocol)) opts.path = record_route_uri(*a);
    }
    const bool strict = strict_next_hop(*l.request);
    r.message = make_forward(*l.request, targets.front().uri, opts);
    r.branch_param = std::move(l.branch_param);
    r.incoming = l.source.protocol;
    r.record_route = wants_record_route(*l.request);
    const std::uint64_t rid = next_id_++;
    const std::string hop = next_hop_uri(r.message, strict);
    resolutions_[rid] = std::move(r);
    svc_.resolve(rid, hop);
  }

  void stateless_send(resolution r, std::vector<endpoint> hops) {
    if (hops.empty()) return;  // nowhere to go; the sender's retransmission may fare better
    const endpoint& hop = hops.front();
    if (r.record_route) add_record_route(r.message, record_route_for(r.incoming, hop.protocol));
    r.message.push_front(header_id::via, make_via(hop, r.branch_param));  // step 8
    ++stats_.forwarded;
    mgr_.send_stateless(r.message, hop, now_);
  }

  void on_receive_stateless(parser::message msg, const endpoint& source) {
    if (msg.is_response()) return forward_by_via(msg);
    if (msg.method() != parser::method::ack) {
      if (auto refusal = validate_request(msg, cfg_.validation, cfg_.locals)) {
        ++stats_.rejected;
        send_stateless_response(*refusal, source);
        return;
      }
    } else if (!msg.top_via()) {
      return;
    }
    forward_stateless(std::move(msg), source, true);
  }

  void on_timer(time_point now) {
    now_ = now;
    mgr_.on_timer(now);
    expire_stray_cancels();
    while (!timer_c_.empty() && timer_c_.begin()->first <= now) {
      const timer_c_key k = timer_c_.begin()->second;
      timer_c_.erase(timer_c_.begin());
      fire_timer_c(k);
    }
  }

  std::optional<time_point> next_deadline() const {
    std::optional<time_point> t = mgr_.next_deadline();
    if (!timer_c_.empty() && (!t || timer_c_.begin()->first < *t)) t = timer_c_.begin()->first;
    if (!stray_cancel_deadlines_.empty() && (!t || stray_cancel_deadlines_.front().first < *t))
      t = stray_cancel_deadlines_.front().first;
    return t;
  }
};

namespace {

/// A stateless proxy's requests and responses never pass through the manager's receive
/// path, so its amplification ledger would see no received bytes and suppress every
/// relay to an unproven UDP source. A stateless relay sends one message per message
/// received, of about the same size (one Via more): it amplifies nothing by itself, and
/// the ledger is off for it.
transaction::manager_config for_mode(const config& cfg, transaction::manager_config m) {
  if (cfg.stateless) m.amplification.factor = 0;
  return m;
}

}  // namespace

core::core(transaction::transport& transport, services& svc, config cfg,
           transaction::manager_config manager_config)
    : impl_(std::make_unique<impl>(transport, svc, cfg, for_mode(cfg, std::move(manager_config)),
                                   *this)) {}

core::~core() = default;

void core::on_receive(parser::message msg, const endpoint& source, time_point now) {
  impl::entry_guard guard(*impl_, now);
  if (impl_->cfg_.stateless) return impl_->on_receive_stateless(std::move(msg), source);
  impl_->mgr_.on_receive(std::move(msg), source, now);
}

void core::on_send_error(transaction_id id, std::error_code ec, time_point now) {
  impl::entry_guard guard(*impl_, now);
  impl_->mgr_.on_send_error(id, ec, now);
}

std::optional<time_point> core::next_deadline() const noexcept { return impl_->next_deadline(); }

void core::on_timer(time_point now) {
  impl::entry_guard guard(*impl_, now);
  impl_->on_timer(now);
}

void core::set_targets(std::uint64_t lookup, std::vector<target> targets, time_point now,
                       std::optional<fork_mode> mode) {
  impl::entry_guard guard(*impl_, now);
  impl_->set_targets(lookup, std::move(targets), mode);
}

void core::respond(std::uint64_t lookup, parser::message response, time_point now) {
  impl::entry_guard guard(*impl_, now);
  impl_->respond(lookup, std::move(response));
}

void core::set_next_hops(std::uint64_t resolution, std::vector<endpoint> hops, time_point now) {
  impl::entry_guard guard(*impl_, now);
  impl_->set_next_hops(resolution, std::move(hops));
}

void core::fail_next_hop(std::uint64_t resolution, int status, std::string_view reason,
                         time_point now) {
  if (status < 300 || status > 699)
    throw std::invalid_argument("proxy::core::fail_next_hop: not a 3xx-6xx status");
  impl::entry_guard guard(*impl_, now);
  impl_->fail_next_hop(resolution, status, reason);
}

transaction::manager& core::manager() noexcept { return impl_->mgr_; }
std::size_t core::contexts() const noexcept { return impl_->contexts_.size(); }
const stats& core::statistics() const noexcept { return impl_->stats_; }
const config& core::configuration() const noexcept { return impl_->cfg_; }

void core::on_request(transaction_id id, const parser::message& request, const endpoint& source,
                      transaction_id cancels) {
  impl_->on_request(id, request, source, cancels);
}
void core::on_response(transaction_id id, const parser::message& response) {
  impl_->on_response(id, response);
}
void core::on_ack(const parser::message& ack, const endpoint& source, transaction_id) {
  // §16.11 / RFC 6026: the ACK for a 2xx is a request of its own, forwarded statelessly
  // by its Route (it never goes through location).
  impl_->forward_stateless(ack, source, false);
}
void core::on_stray_response(const parser::message& response, const endpoint&) {
  impl_->on_stray_response(response);
}
void core::on_failure(transaction_id id, std::error_code ec) { impl_->on_failure(id, ec); }
void core::on_terminated(transaction_id id) { impl_->on_terminated(id); }

}  // namespace sipkit::proxy
