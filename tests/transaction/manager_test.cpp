// Transaction manager: Via insertion, matching (RFC 3261 §17.1.3, §17.2.3, §9.2, RFC 2543
// fallback), upcalls for stray messages, bounds, failover (RFC 3263 §4.3), cleanup.
#include "sipkit/transaction/manager.hpp"

#include <cctype>
#include <fstream>
#include <sstream>

#include "sipkit/parser/message_view.hpp"
#include "sipkit/transaction/branch.hpp"
#include "sipkit/transaction/client_invite.hpp"
#include "sipkit/transaction/error.hpp"
#include "support/fake_transport.hpp"
#include "transaction/harness.hpp"

using namespace sipkit::test;
using sipkit::parser::message;

namespace {

const tx::endpoint alice_addr{"192.0.2.1", 5060, tx::transport_protocol::udp, 0};
const tx::endpoint bob_addr{"198.51.100.7", 5060, tx::transport_protocol::udp, 0};

/// One manager on a fake transport; the test injects what arrives.
struct single {
  explicit single(tx::manager_config cfg = {})
      : tp(clock, alice_addr), tu(clock), mgr(tp, tu, seeded(cfg)) {
    clock.attach_manager(mgr);
  }
  static tx::manager_config seeded(tx::manager_config cfg) {
    if (!cfg.seed) cfg.seed = 42;
    return cfg;
  }
  void inject(message m, const tx::endpoint& from = bob_addr) {
    mgr.on_receive(std::move(m), from, clock.now());
  }
  manual_clock clock;
  fake_transport tp;
  recording_tu tu;
  tx::manager mgr;
};

/// Two managers (UAC at alice, UAS at bob) joined by a fake network.
struct pair_net {
  explicit pair_net(tx::transport_protocol proto = tx::transport_protocol::udp)
      : a_tp(clock, alice_addr),
        b_tp(clock, bob_addr),
        a_tu(clock),
        b_tu(clock),
        a(a_tp, a_tu, cfg(1)),
        b(b_tp, b_tu, cfg(2)) {
    clock.attach_manager(a);
    clock.attach_manager(b);
    a_tp.connect([this](message m,
                        const tx::endpoint& src) { b.on_receive(std::move(m), src, clock.now()); },
                 10ms);
    b_tp.connect([this](message m,
                        const tx::endpoint& src) { a.on_receive(std::move(m), src, clock.now()); },
                 10ms);
    bob = bob_addr;
    bob.protocol = proto;
  }
  static tx::manager_config cfg(std::uint64_t seed) {
    tx::manager_config c;
    c.seed = seed;
    return c;
  }
  manual_clock clock;
  fake_transport a_tp, b_tp;
  recording_tu a_tu, b_tu;
  tx::manager a, b;
  tx::endpoint bob;
};

std::string read_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

}  // namespace

// ---------------------------------------------------------------- client side

TEST_CASE("start_client pushes a top Via with transport, sent-by, a fresh branch and rport") {
  single s;
  auto r = s.mgr.start_client(sample_uac_request("OPTIONS"), {bob_addr}, s.clock.now());
  REQUIRE(r);
  REQUIRE(s.tp.sent().size() == 1);
  const auto& sent = s.tp.sent()[0];
  REQUIRE(sent.destination == bob_addr);
  REQUIRE(sent.origin == r.id);
  auto via = sent.msg.top_via();
  REQUIRE(via);
  REQUIRE(via->transport == "UDP");
  REQUIRE(via->host == "192.0.2.1");
  REQUIRE(via->port == 5060);
  REQUIRE(via->branch.size() == tx::branch_generator::branch_length);
  REQUIRE(via->branch.substr(0, 7) == "z9hG4bK");
  REQUIRE(via->has_rport);
  REQUIRE(s.mgr.kind(r.id) == tx::transaction_kind::client_non_invite);
}

TEST_CASE("start_client on TCP writes TCP in the Via and sends once") {
  single s;
  auto target = bob_addr;
  target.protocol = tx::transport_protocol::tcp;
  auto r = s.mgr.start_client(sample_uac_request("INVITE"), {target}, s.clock.now());
  REQUIRE(r);
  REQUIRE(s.tp.sent()[0].msg.top_via()->transport == "TCP");
  s.clock.advance(31s);
  REQUIRE(s.tp.sent().size() == 1);
  REQUIRE(s.mgr.kind(r.id) == tx::transaction_kind::client_invite);
}

TEST_CASE("start_client refuses an ACK, a request without CSeq and an empty target list") {
  single s;
  REQUIRE(s.mgr.start_client(sample_uac_request("ACK"), {bob_addr}, s.clock.now()).error ==
          tx::error::invalid_message);
  auto no_cseq = sample_uac_request("OPTIONS");
  no_cseq.remove(header_id::cseq);
  REQUIRE(s.mgr.start_client(std::move(no_cseq), {bob_addr}, s.clock.now()).error ==
          tx::error::invalid_message);
  REQUIRE(
      s.mgr.start_client(sample_uac_request("OPTIONS"), std::vector<tx::endpoint>{}, s.clock.now())
          .error == tx::error::no_target);
  REQUIRE(s.mgr.size() == 0);
}

TEST_CASE("A response is matched to its client transaction by top Via branch and CSeq method") {
  single s;
  auto r = s.mgr.start_client(sample_uac_request("OPTIONS"), {bob_addr}, s.clock.now());
  const message& req = s.tp.sent()[0].msg;
  s.inject(sample_response(req, 200));
  REQUIRE(s.tu.responses.size() == 1);
  REQUIRE(s.tu.responses[0].id == r.id);
  REQUIRE(s.tu.strays.empty());
}

TEST_CASE("A response with the right branch but another CSeq method matches nothing") {
  single s;
  s.mgr.start_client(sample_uac_request("OPTIONS"), {bob_addr}, s.clock.now());
  auto rsp = sample_response(s.tp.sent()[0].msg, 200);
  rsp.set(header_id::cseq, "1 INFO");
  s.inject(std::move(rsp));
  REQUIRE(s.tu.responses.empty());
  REQUIRE(s.tu.strays.size() == 1);
}

TEST_CASE("A stray 2xx (no client transaction) is passed up to the TU") {
  single s;
  s.inject(sample_response(sample_request("INVITE", "z9hG4bKgone"), 200));
  REQUIRE(s.tu.strays.size() == 1);
  REQUIRE(s.tu.strays[0].status_code() == 200);
  REQUIRE(s.mgr.stats().stray_responses == 1);
}

TEST_CASE("cancel sends a CANCEL with the INVITE's branch that the server matches to the INVITE") {
  pair_net n;
  auto inv = n.a.start_client(sample_uac_request("INVITE"), {n.bob}, n.clock.now());
  n.clock.advance(20ms);
  REQUIRE(n.b_tu.requests.size() == 1);
  const auto invite_server_id = n.b_tu.requests[0].id;
  auto c = n.a.cancel(inv.id, n.clock.now());
  REQUIRE(c);
  const message& cancel = n.a_tp.sent().back().msg;
  REQUIRE(cancel.method_text() == "CANCEL");
  REQUIRE(cancel.top_via()->branch == n.a.request(inv.id)->top_via()->branch);
  n.clock.advance(20ms);
  REQUIRE(n.b_tu.requests.size() == 2);
  REQUIRE(n.b_tu.requests[1].msg.method_text() == "CANCEL");
  REQUIRE(n.b_tu.requests[1].cancels == invite_server_id);
  REQUIRE(n.b_tu.requests[1].id != invite_server_id);
  REQUIRE(n.b.kind(n.b_tu.requests[1].id) == tx::transaction_kind::server_non_invite);
}

TEST_CASE("A CANCEL matching no INVITE reaches the TU with an invalid cancels id") {
  single s;
  s.inject(sample_request("CANCEL", "z9hG4bKnothere"));
  REQUIRE(s.tu.requests.size() == 1);
  REQUIRE_FALSE(s.tu.requests[0].cancels.valid());
}

// ---------------------------------------------------------------- server side

TEST_CASE("A request creates one server transaction and its retransmissions are absorbed") {
  single s;
  s.inject(sample_request("INVITE"));
  s.inject(sample_request("INVITE"));
  REQUIRE(s.tu.requests.size() == 1);
  REQUIRE(s.mgr.size() == 1);
  REQUIRE(s.mgr.stats().retransmissions_absorbed == 1);
  REQUIRE(s.mgr.kind(s.tu.requests[0].id) == tx::transaction_kind::server_invite);
}

TEST_CASE("Requests with the same branch but another sent-by are different transactions") {
  single s;
  s.inject(sample_request("OPTIONS", "z9hG4bKsame", "192.0.2.1:5060"));
  s.inject(sample_request("OPTIONS", "z9hG4bKsame", "192.0.2.2:5060"));
  s.inject(sample_request("OPTIONS", "z9hG4bKsame", "192.0.2.1:5070"));
  REQUIRE(s.tu.requests.size() == 3);
}

TEST_CASE("Sent-by hosts are compared case-insensitively") {
  single s;
  s.inject(sample_request("OPTIONS", "z9hG4bKcase", "PC33.Atlanta.com:5060"));
  s.inject(sample_request("OPTIONS", "z9hG4bKcase", "pc33.atlanta.COM:5060"));
  REQUIRE(s.tu.requests.size() == 1);
}

TEST_CASE("respond sends on the server transaction to the request's source") {
  single s;
  s.inject(sample_request("OPTIONS"));
  const auto id = s.tu.requests[0].id;
  REQUIRE_FALSE(s.mgr.respond(id, sample_response(s.tu.requests[0].msg, 200), s.clock.now()));
  REQUIRE(s.tp.sent().size() == 1);
  REQUIRE(s.tp.sent()[0].destination == bob_addr);
  REQUIRE(s.tp.sent()[0].msg.status_code() == 200);
  s.inject(sample_request("OPTIONS"));  // retransmission: the 200 again
  REQUIRE(s.tp.sent().size() == 2);
}

TEST_CASE("respond reports unknown ids and client transactions") {
  single s;
  REQUIRE(s.mgr.respond({7, 0}, sample_response(sample_request("OPTIONS"), 200), s.clock.now()) ==
          tx::error::no_such_transaction);
  auto r = s.mgr.start_client(sample_uac_request("OPTIONS"), {bob_addr}, s.clock.now());
  REQUIRE(s.mgr.respond(r.id, sample_response(sample_request("OPTIONS"), 200), s.clock.now()) ==
          tx::error::invalid_state);
}

TEST_CASE("The ACK for a non-2xx final is matched to the INVITE server transaction and absorbed") {
  single s;
  auto invite = sample_request("INVITE");
  s.inject(invite);
  const auto id = s.tu.requests[0].id;
  auto rsp = sample_response(invite, 486);
  s.mgr.respond(id, rsp, s.clock.now());
  s.inject(tx::make_ack(invite, rsp));
  REQUIRE(s.tu.acks.empty());
  REQUIRE(s.mgr.state_name(id) == "Confirmed");
}

TEST_CASE("An ACK for a 2xx with its own branch is passed up to the TU as stray") {
  single s;
  auto ack = sample_request("ACK", "z9hG4bKnewbranch");
  s.inject(ack);
  REQUIRE(s.tu.acks.size() == 1);
  REQUIRE_FALSE(s.tu.acks[0].matched.valid());
  REQUIRE(s.mgr.size() == 0);
  REQUIRE(s.mgr.stats().stray_acks == 1);
}

TEST_CASE("An ACK matching an INVITE server transaction in Accepted goes to the TU with its id") {
  single s;
  auto invite = sample_request("INVITE");
  s.inject(invite);
  const auto id = s.tu.requests[0].id;
  s.mgr.respond(id, sample_response(invite, 200), s.clock.now());
  auto ack = sample_request("ACK");
  ack.set(header_id::cseq, "314159 ACK");
  s.inject(ack);
  REQUIRE(s.tu.acks.size() == 1);
  REQUIRE(s.tu.acks[0].matched == id);
  REQUIRE(s.mgr.state_name(id) == "Accepted");
}

TEST_CASE("RFC 2543 requests without the cookie match by Request-URI, tags, Call-ID, CSeq, Via") {
  single s;
  auto legacy = sample_request("INVITE", "", "192.0.2.9:5060");
  s.inject(legacy);
  s.inject(legacy);  // a retransmission
  REQUIRE(s.tu.requests.size() == 1);
  auto other_cseq = sample_request("INVITE", "", "192.0.2.9:5060", "UDP", 314160);
  s.inject(other_cseq);
  auto other_via = sample_request("INVITE", "", "192.0.2.10:5060");
  s.inject(other_via);
  auto other_uri = legacy;
  other_uri.set_request_uri("sip:carol@biloxi.example.com");
  s.inject(other_uri);
  REQUIRE(s.tu.requests.size() == 4);
}

TEST_CASE("An RFC 2543 ACK matches by CSeq number and the To tag of the response sent") {
  single s;
  auto invite = sample_request("INVITE", "", "192.0.2.9:5060");
  s.inject(invite);
  const auto id = s.tu.requests[0].id;
  auto rsp = sample_response(invite, 404, "totag404");
  s.mgr.respond(id, rsp, s.clock.now());
  auto wrong = tx::make_ack(invite, sample_response(invite, 404, "othertag"));
  s.inject(wrong);
  REQUIRE(s.mgr.state_name(id) == "Completed");
  REQUIRE(s.tu.acks.size() == 1);  // unmatched: passed up
  s.inject(tx::make_ack(invite, rsp));
  REQUIRE(s.mgr.state_name(id) == "Confirmed");
}

TEST_CASE("RFC 4475 badbranch: a branch that is only the cookie falls back to RFC 2543 matching") {
  single s;
  const std::string wire = read_file(std::string(SIPKIT_RFC4475_DIR) + "/badbranch.dat");
  sipkit::parser::message_view view;
  REQUIRE_FALSE(sipkit::parser::parse_message(wire, view));
  s.inject(message::from_view(view));
  s.inject(message::from_view(view));
  REQUIRE(s.tu.requests.size() == 1);
  auto other = message::from_view(view);
  other.set(header_id::call_id, "another.call.id");  // same bare branch, another request
  s.inject(std::move(other));
  REQUIRE(s.tu.requests.size() == 2);
}

TEST_CASE("A request without Via or CSeq is dropped and counted") {
  single s;
  auto m = sample_request("OPTIONS");
  m.remove(header_id::via);
  s.inject(std::move(m));
  auto n = sample_request("OPTIONS");
  n.remove(header_id::cseq);
  s.inject(std::move(n));
  REQUIRE(s.tu.requests.empty());
  REQUIRE(s.mgr.stats().dropped_invalid == 2);
}

// ---------------------------------------------------------------- bounds and cleanup

TEST_CASE("A full manager answers a new request with 503 and Retry-After, statelessly") {
  tx::manager_config cfg;
  cfg.max_transactions = 2;
  single s(cfg);
  s.inject(sample_request("OPTIONS", "z9hG4bK1"));
  s.inject(sample_request("OPTIONS", "z9hG4bK2"));
  s.inject(sample_request("OPTIONS", "z9hG4bK3"));
  REQUIRE(s.tu.requests.size() == 2);
  REQUIRE(s.mgr.size() == 2);
  REQUIRE(s.tp.sent().size() == 1);
  const auto& rsp = s.tp.sent()[0];
  REQUIRE(rsp.msg.status_code() == 503);
  REQUIRE(rsp.msg.top_via()->branch == "z9hG4bK3");
  REQUIRE(rsp.msg.get("Retry-After") == "5");
  REQUIRE_FALSE(rsp.origin.valid());
  REQUIRE(s.mgr.stats().rejected_full == 1);
  s.inject(sample_request("OPTIONS", "z9hG4bK1"));  // retransmissions still match
  REQUIRE(s.mgr.stats().retransmissions_absorbed == 1);
}

TEST_CASE("A full manager refuses a new client transaction with too_many_transactions") {
  tx::manager_config cfg;
  cfg.max_transactions = 1;
  single s(cfg);
  REQUIRE(s.mgr.start_client(sample_uac_request("OPTIONS"), {bob_addr}, s.clock.now()));
  auto r = s.mgr.start_client(sample_uac_request("OPTIONS", 2), {bob_addr}, s.clock.now());
  REQUIRE(r.error == tx::error::too_many_transactions);
  REQUIRE_FALSE(r.id.valid());
}

TEST_CASE("Terminated transactions leave the manager and their ids die") {
  pair_net n;
  n.b_tu.request_hook = [&](tx::transaction_id id, const message& req) {
    n.b.respond(id, sample_response(req, 200), n.clock.now());
  };
  auto r = n.a.start_client(sample_uac_request("OPTIONS"), {n.bob}, n.clock.now());
  n.clock.advance(20ms);
  REQUIRE(n.a_tu.responses.size() == 1);
  REQUIRE(n.a.size() == 1);  // Completed, Timer K
  n.clock.advance(5s);
  REQUIRE(n.a.size() == 0);
  REQUIRE_FALSE(n.a.contains(r.id));
  REQUIRE(n.a_tu.terminated_at.at(r.id) == 5020);
  REQUIRE(n.b.size() == 1);  // Timer J 32 s after the 200 at 10 ms
  n.clock.advance(27s);
  REQUIRE(n.b.size() == 0);
  REQUIRE(n.b_tu.terminated_at.at(n.b_tu.requests[0].id) == 32010);
  REQUIRE(n.a.armed_timers() == 0);
  REQUIRE(n.b.armed_timers() == 0);
}

TEST_CASE("Over TCP a NICT/NIST exchange ends on both sides as soon as the final is through") {
  pair_net n(tx::transport_protocol::tcp);
  n.b_tu.request_hook = [&](tx::transaction_id id, const message& req) {
    n.b.respond(id, sample_response(req, 200), n.clock.now());
  };
  n.a.start_client(sample_uac_request("OPTIONS"), {n.bob}, n.clock.now());
  n.clock.advance(10ms);
  REQUIRE(n.b.size() == 0);
  n.clock.advance(10ms);
  REQUIRE(n.a.size() == 0);
  REQUIRE(n.a_tp.sent().size() == 1);
  REQUIRE(n.b_tp.sent().size() == 1);
}

// ---------------------------------------------------------------- failover

TEST_CASE("On Timer F the client retries the next target with a new branch (RFC 3263 4.3)") {
  single s;
  auto second = bob_addr;
  second.host = "198.51.100.8";
  auto r = s.mgr.start_client(sample_uac_request("OPTIONS"), {bob_addr, second}, s.clock.now());
  s.clock.advance(32s);
  REQUIRE(s.tu.failures.empty());
  const auto& retry = s.tp.sent().back();
  REQUIRE(retry.destination == second);
  REQUIRE(retry.at == s.clock.now());
  REQUIRE(retry.origin == r.id);
  REQUIRE(retry.msg.top_via()->branch != s.tp.sent()[0].msg.top_via()->branch);
  REQUIRE(retry.msg.count(header_id::via) == 1);
  REQUIRE(s.mgr.stats().failovers == 1);
  // A response to the old branch no longer matches.
  s.inject(sample_response(s.tp.sent()[0].msg, 200));
  REQUIRE(s.tu.responses.empty());
  s.clock.advance(32s);
  REQUIRE(s.tu.failures.size() == 1);
  REQUIRE(s.tu.failures[0].at_ms == 64000);
  REQUIRE(s.tu.failures[0].ec == tx::error::timeout);
  REQUIRE(s.mgr.size() == 0);
}

TEST_CASE("A branch suffix is kept across failover and responses match the whole branch") {
  single s;
  auto second = bob_addr;
  second.host = "198.51.100.8";
  auto r = s.mgr.start_client(sample_uac_request("OPTIONS"), {bob_addr, second}, s.clock.now(),
                              ".0123456789abcdef");
  REQUIRE(r);
  const std::string first(s.tp.sent()[0].msg.top_via()->branch);
  REQUIRE(first.size() == tx::branch_generator::branch_length + 17);
  REQUIRE(first.starts_with("z9hG4bK"));
  REQUIRE(first.ends_with(".0123456789abcdef"));
  s.clock.advance(32s);  // Timer F: the next target, a new random part, the same suffix
  const auto& retry = s.tp.sent().back();
  REQUIRE(retry.destination == second);
  const std::string again(retry.msg.top_via()->branch);
  REQUIRE(again != first);
  REQUIRE(again.ends_with(".0123456789abcdef"));
  s.inject(sample_response(retry.msg, 200));
  REQUIRE(s.tu.responses.size() == 1);
  REQUIRE(s.tu.responses[0].id == r.id);
}

TEST_CASE("start_client refuses a branch suffix that is not a token") {
  single s;
  auto r = s.mgr.start_client(sample_uac_request("OPTIONS"), bob_addr, s.clock.now(), ";x=1");
  REQUIRE(r.error == tx::error::invalid_message);
  REQUIRE(s.tp.sent().empty());
  REQUIRE(s.mgr.size() == 0);
}

TEST_CASE("A synchronous transport error fails over to the next target at once") {
  single s;
  auto second = bob_addr;
  second.port = 5080;
  s.tp.fail_nth_send(1, std::make_error_code(std::errc::connection_refused));
  auto r = s.mgr.start_client(sample_uac_request("INVITE"), {bob_addr, second}, s.clock.now());
  REQUIRE(r);
  REQUIRE(s.tp.sent().size() == 1);  // the failed send is not recorded
  REQUIRE(s.tp.sent()[0].destination == second);
  REQUIRE(s.tu.failures.empty());
  REQUIRE(s.mgr.contains(r.id));
}

TEST_CASE("A transport error on the last target is reported and ends the transaction") {
  single s;
  s.tp.fail_nth_send(1, std::make_error_code(std::errc::connection_refused));
  auto r = s.mgr.start_client(sample_uac_request("OPTIONS"), {bob_addr}, s.clock.now());
  REQUIRE(s.tu.failures.size() == 1);
  REQUIRE(s.tu.failures[0].ec == std::errc::connection_refused);
  REQUIRE_FALSE(s.mgr.contains(r.id));
  REQUIRE(s.mgr.size() == 0);
}

TEST_CASE("start_client returns the synchronous transport error of the last target") {
  single s;
  s.tp.fail_nth_send(1, std::make_error_code(std::errc::connection_refused));
  auto r = s.mgr.start_client(sample_uac_request("OPTIONS"), {bob_addr}, s.clock.now());
  REQUIRE_FALSE(r);
  REQUIRE(r.error == std::errc::connection_refused);
  REQUIRE_FALSE(s.mgr.contains(r.id));
}

TEST_CASE("start_client reports no error when a failover target took the request") {
  single s;
  auto second = bob_addr;
  second.port = 5080;
  s.tp.fail_nth_send(1, std::make_error_code(std::errc::connection_refused));
  auto r = s.mgr.start_client(sample_uac_request("OPTIONS"), {bob_addr, second}, s.clock.now());
  REQUIRE(r);
  REQUIRE_FALSE(r.error);
}

TEST_CASE("respond returns the transport error of a response that could not be sent") {
  single s;
  std::error_code from_respond;
  s.tu.request_hook = [&](tx::transaction_id id, const message& req) {
    s.tp.fail_nth_send(1, std::make_error_code(std::errc::message_size));
    from_respond = s.mgr.respond(id, sample_response(req, 200), s.clock.now());
  };
  s.inject(sample_request("OPTIONS", "z9hG4bKbig1", "192.0.2.1:5060", "UDP"));
  REQUIRE(from_respond == std::errc::message_size);
  REQUIRE(s.tu.failures.size() == 1);  // the upcall still comes, as before
  REQUIRE(s.mgr.size() == 0);
}

TEST_CASE("Failover asks the target callback for each next target") {
  single s;
  int asked = 0;
  auto next = [&]() -> std::optional<tx::endpoint> {
    if (asked == 3) return std::nullopt;
    auto e = bob_addr;
    e.port = static_cast<std::uint16_t>(5060 + asked++);
    return e;
  };
  s.mgr.start_client(sample_uac_request("OPTIONS"), next, s.clock.now());
  s.clock.advance(200s);
  REQUIRE(asked == 3);
  REQUIRE(s.tu.failures.size() == 1);
  REQUIRE(s.tu.failures[0].at_ms == 96000);
}

TEST_CASE("An asynchronous send error reported by the transport fails the transaction") {
  single s;
  auto r = s.mgr.start_client(sample_uac_request("OPTIONS"), {bob_addr}, s.clock.now());
  s.mgr.on_send_error(r.id, std::make_error_code(std::errc::host_unreachable), s.clock.now());
  REQUIRE(s.tu.failures.size() == 1);
  REQUIRE(s.mgr.size() == 0);
  s.mgr.on_send_error(r.id, std::make_error_code(std::errc::host_unreachable), s.clock.now());
  REQUIRE(s.tu.failures.size() == 1);  // a dead id is ignored
}

TEST_CASE("No failover once a provisional response arrived") {
  single s;
  auto second = bob_addr;
  second.port = 5080;
  s.mgr.start_client(sample_uac_request("OPTIONS"), {bob_addr, second}, s.clock.now());
  s.inject(sample_response(s.tp.sent()[0].msg, 100));
  s.clock.advance(32s);
  REQUIRE(s.tu.failures.size() == 1);
  for (const auto& rec : s.tp.sent()) REQUIRE(rec.destination == bob_addr);
}

// ---------------------------------------------------------------- re-entrancy

TEST_CASE("The TU may answer from inside on_request, also on TCP where the NIST ends at once") {
  single s;
  s.tu.request_hook = [&](tx::transaction_id id, const message& req) {
    REQUIRE_FALSE(s.mgr.respond(id, sample_response(req, 200), s.clock.now()));
  };
  auto tcp = bob_addr;
  tcp.protocol = tx::transport_protocol::tcp;
  s.inject(sample_request("OPTIONS", "z9hG4bKtcp1", "192.0.2.1:5060", "TCP"), tcp);
  REQUIRE(s.tp.sent().size() == 1);
  REQUIRE(s.mgr.size() == 0);
  REQUIRE(s.tu.terminated.size() == 1);
}

// ---------------------------------------------------------------- errors and branches

TEST_CASE("Transaction errors are std::error_codes of the sipkit.transaction category") {
  std::error_code ec = tx::error::timeout;
  REQUIRE(ec.category().name() == std::string("sipkit.transaction"));
  REQUIRE(ec.message() == "transaction timed out");
  REQUIRE(ec == tx::error::timeout);
  REQUIRE(ec != tx::error::transport_failure);
}

TEST_CASE("Branches carry the cookie and 22 base64url characters and do not repeat") {
  tx::branch_generator gen;
  std::unordered_map<std::string, int> seen;
  for (int i = 0; i < 10000; ++i) {
    auto b = gen.next();
    REQUIRE(b.size() == 29);
    REQUIRE(b.compare(0, 7, "z9hG4bK") == 0);
    for (char c : b.substr(7))
      REQUIRE((std::isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '_'));
    REQUIRE(++seen[b] == 1);
  }
}

TEST_CASE("A seeded branch generator is reproducible and the seed changes the sequence") {
  tx::branch_generator a(7), b(7), c(8);
  const auto first = a.next();
  REQUIRE(first == b.next());
  REQUIRE(first != c.next());
}
