// The proxy core (RFC 3261 §16): transaction-stateful forwarding with parallel and
// sequential forking, or stateless forwarding (§16.11), sans-I/O.
//
//   my_transport tp;                      // transaction::transport (network_transport ...)
//   my_services svc;                      // proxy::services: location and RFC 3263
//   proxy::core px(tp, svc, {.locals = {{udp, "192.0.2.10", 5060}}, .domains = {"example.com"}});
//   px.on_receive(std::move(msg), source, now);        // every message from the transport
//   if (auto t = px.next_deadline()) arm_timer(*t);     // then px.on_timer(now)
//   // svc.locate(lookup, request) answers, now or later, with
//   px.set_targets(lookup, {{"sip:bob@192.0.2.20:5062", 1.0}}, now);
//   // svc.resolve(resolution, uri) answers, now or later, with
//   px.set_next_hops(resolution, {{"192.0.2.20", 5062, udp}}, now);
//
// The core owns a transaction::manager and is its transaction_user: the core decides, the
// manager and the transport carry. The binding drives the core only (on_receive,
// on_send_error, on_timer, next_deadline); the core passes messages and time on to the
// manager, whose upcalls then carry the `now` of the entry point that caused them.
//
// Request path, stateful (§16.3-§16.6), in this order:
//   validate_request (400, 416, 483 / 200 OPTIONS, 420) -> loop detection (482) ->
//   preprocess_route (strict-router fix-up, our Route entries popped) -> an OPTIONS for
//   our own URI is answered 200 -> target set:
//   the Request-URI alone for in-dialog requests (To tag), requests still carrying Route
//   and requests for domains not in config.domains nor for our own address (host and
//   port of one of config.locals); otherwise services::locate, whose
//   targets are ordered by q (highest first) -> per target: make_forward (Request-URI,
//   Max-Forwards, Path on REGISTER), services::resolve of the next hop, Record-Route
//   (two entries when the outgoing transport differs from the incoming one), and
//   manager::start_client (which adds our Via and fails over across the resolved
//   endpoints, RFC 3263 §4.3). INVITEs get 100 Trying at once and Timer C per branch.
// Response path (§16.7): our Via popped; 100 absorbed; other 1xx forwarded; every 2xx
//   forwarded at once (an INVITE's other branches are CANCELled); 3xx-6xx kept until the
//   context has no branch left (and, sequentially, no group left), then the best one
//   (request_rules.hpp: 6xx wins and CANCELs the others, 401/407 challenges merged) is
//   sent. A timeout counts as 408, a transport error as 503 (sent as 500).
// Timer C (§16.8, config.timer_c, default 181 s > 3 min): armed per INVITE branch, re-armed
//   by each 101-199 (§16.7 step 2); when it fires, a branch that had a provisional is
//   CANCELled (one that had none is, if one comes later), and either way the branch
//   counts as answered 408 (the next sequential group starts). A branch's Timer C entry
//   is removed when it is re-armed or the branch completes: one entry per live branch.
// CANCEL (§16.10): answered 200, and CANCELs fanned out to every branch with a
//   provisional (others are CANCELled when their first provisional arrives; groups not yet
//   started never are). A CANCEL that matches no context is forwarded statelessly
//   (§16.10), with stateless_branch (so it follows an INVITE we forwarded statelessly);
//   the response that comes back by our Via answers it (our own refusals too: 483,
//   482, 404 ...), and 408 does after 64*T1 when nothing came back.
// ACK for a 2xx, and responses that match no client transaction (2xx retransmissions,
//   RFC 6026): forwarded statelessly, the ACK by its Route/Request-URI, the response by
//   its Via.
// Stateless mode (config.stateless, §16.11): no transactions; one target (the first
//   by q); our Via carries stateless_branch (deterministic: retransmissions, CANCEL and
//   non-2xx ACK get the same branch) and responses go back by Via. Nothing passes
//   through the manager's receive path, so its amplification budget is turned off
//   (manager_config::amplification.factor = 0): it would see no received bytes and
//   suppress every relay; a stateless relay sends one message per message received.
//
// Loop detection (§16.3 step 4): every branch we send carries its loop hash after a '.':
// stateless_branch, and the manager's random branch to which start_client appends
// "." + loop_hash (kept on RFC 3263 failover). A request carrying a Via with one of our
// sent-bys whose branch's loop hash equals the request's own is a loop (482); a different
// one a spiral. No table: a loop is detected as long as the Via is there.
//
// Asynchronous services: locate and resolve get an id and may answer from inside the
// call or any time later through set_targets/respond and set_next_hops (with the `now`
// of that later call). An answer for an id the core forgot (the request was CANCELled,
// the context is gone) is ignored.
//
// Errors: refusals are SIP responses; start_client failures become the branch's 503.
// Thread safety: none; one core is driven by one thread (or strand), like the manager.
// Lifetime: `transport` and `services` must outlive the core.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <system_error>
#include <vector>

#include "sipkit/parser/message.hpp"
#include "sipkit/proxy/request_rules.hpp"
#include "sipkit/transaction/manager.hpp"
#include "sipkit/transaction/timer.hpp"
#include "sipkit/transaction/transport.hpp"

namespace sipkit::proxy {

using time_point = transaction::time_point;
using duration = transaction::duration;
using transaction::endpoint;
using transaction::transaction_id;

/// One target of a target set (§16.5): a URI, ordered by q (RFC 3261 §20.10, 0..1).
struct target {
  std::string uri;
  double q = 1.0;
};

/// How a target set is tried (§16.6 step 11 and the end of §16.7).
enum class fork_mode : std::uint8_t {
  parallel,    ///< every target at once
  sequential,  ///< one q-value group at a time, the next on failure or Timer C
};

/// What the binding provides: where requests go. Both calls may answer at once (from
/// inside the call) or later; see the file comment.
class services {
 public:
  virtual ~services() = default;
  /// §16.5: the target set of `request` (a request for one of config.domains outside any
  /// dialog). Answer with core::set_targets(lookup, ...), or answer the request yourself
  /// with core::respond(lookup, response): a challenge, a 404, or, for a registrar in the
  /// same program, the 200 to a REGISTER.
  virtual void locate(std::uint64_t lookup, const parser::message& request) = 0;
  /// RFC 3263: the endpoints of the next hop `uri` (a Route entry or Request-URI), in the
  /// order to try them. Answer with core::set_next_hops(resolution, ...); none = 503.
  virtual void resolve(std::uint64_t resolution, std::string_view uri) = 0;
};

struct config {
  /// Where we listen: what "our URI" means (Route, Record-Route, loop detection), and the
  /// Record-Route / Path URIs we insert (the first address of the outgoing protocol).
  std::vector<local_address> locals;
  /// Domains whose requests go through services::locate; others go to their
  /// Request-URI (§16.5). Matched case-insensitively against the Request-URI host.
  std::vector<std::string> domains;
  /// §16.11: forward without transactions.
  bool stateless = false;
  /// §16.6 step 4: Record-Route dialog-creating requests (not REGISTER).
  bool record_route = false;
  /// RFC 3327: push Path on REGISTERs whose Supported lists "path".
  bool add_path = false;
  /// How a target set with several targets is tried.
  fork_mode forking = fork_mode::parallel;
  /// §16.6 step 11: more than 3 minutes.
  duration timer_c = std::chrono::seconds(181);
  /// Send 100 Trying as soon as an INVITE is accepted for forwarding (§16.2 allows it;
  /// it stops the caller's retransmissions before the IST's 200 ms timer would).
  bool send_trying = true;
  validation_config validation;
  /// Key of the stateless branch and loop hashes; set the same value on every instance
  /// of a stateless proxy farm so that any of them gives a retransmission its branch.
  std::uint64_t secret = 0x9e3779b97f4a7c15ull;
};

/// Counters; monotonically increasing.
struct stats {
  std::uint64_t forwarded = 0;  ///< requests sent on a branch or statelessly
  std::uint64_t rejected = 0;   ///< requests answered by the core or through respond()
  std::uint64_t loops = 0;      ///< 482s
  std::uint64_t responses_forwarded = 0;
  std::uint64_t cancels_sent = 0;
  std::uint64_t timer_c_fired = 0;
};

class core final : public transaction::transaction_user {
 public:
  core(transaction::transport& transport, services& svc, config cfg = {},
       transaction::manager_config manager_config = {});
  ~core() override;
  core(const core&) = delete;
  core& operator=(const core&) = delete;

  // ---------------------------------------------------------------- input
  void on_receive(parser::message msg, const endpoint& source, time_point now);
  void on_send_error(transaction_id id, std::error_code ec, time_point now);
  std::optional<time_point> next_deadline() const noexcept;
  void on_timer(time_point now);

  // ---------------------------------------------------------------- services' answers
  /// The target set for `lookup`; empty = 404 (Not Found). `mode` overrides config.forking.
  void set_targets(std::uint64_t lookup, std::vector<target> targets, time_point now,
                   std::optional<fork_mode> mode = std::nullopt);
  /// Answer the request of `lookup` with `response` (a 401/407 challenge, 404, 302, a
  /// registrar's 200 ...), made with parser::make_response from the request locate was
  /// given. Nothing is forwarded.
  void respond(std::uint64_t lookup, parser::message response, time_point now);
  /// The endpoints of the next hop for `resolution` (empty: the branch fails with 503).
  void set_next_hops(std::uint64_t resolution, std::vector<endpoint> hops, time_point now);
  /// The next hop for `resolution` cannot be reached and the binding knows why: the branch
  /// fails with `status` (300-699; std::invalid_argument otherwise) and `reason` (empty:
  /// the usual phrase), which then takes part in choosing the best response (§16.7), where
  /// a 503 of a failed send would reach the caller as 500. E.g. RFC 5626 §5.3's 430 Flow
  /// Failed for an outbound registration's flow that is gone, 480 for another flow.
  void fail_next_hop(std::uint64_t resolution, int status, std::string_view reason, time_point now);

  // ---------------------------------------------------------------- inspection
  transaction::manager& manager() noexcept;
  /// Live response contexts (stateful requests being forwarded).
  std::size_t contexts() const noexcept;
  const stats& statistics() const noexcept;
  const config& configuration() const noexcept;

 private:
  // transaction::transaction_user
  void on_request(transaction_id id, const parser::message& request, const endpoint& source,
                  transaction_id cancels) override;
  void on_response(transaction_id id, const parser::message& response) override;
  void on_ack(const parser::message& ack, const endpoint& source, transaction_id matched) override;
  void on_stray_response(const parser::message& response, const endpoint& source) override;
  void on_failure(transaction_id id, std::error_code ec) override;
  void on_terminated(transaction_id id) override;

  struct impl;
  std::unique_ptr<impl> impl_;
};

}  // namespace sipkit::proxy
