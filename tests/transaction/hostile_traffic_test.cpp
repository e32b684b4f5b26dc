// Hostile traffic (issue 17) at the transaction layer: the byte budget of live
// transactions, the per-source rate limit and the amplification budget towards unproven
// UDP sources (manager.hpp, manager_config). Manual clock and fake transport: every
// assertion is on exact messages, byte counts and times.
#include <string>
#include <vector>

#include "sipkit/log.hpp"
#include "sipkit/transaction/branch.hpp"
#include "sipkit/transaction/client_invite.hpp"
#include "sipkit/transaction/error.hpp"
#include "sipkit/transaction/manager.hpp"
#include "support/fake_transport.hpp"
#include "transaction/harness.hpp"

using namespace sipkit::test;
using sipkit::parser::message;

namespace {

const tx::endpoint local_addr{"192.0.2.1", 5060, tx::transport_protocol::udp, 0};
/// The address a spoofer puts in its requests: the victim of the reflection.
const tx::endpoint victim{"203.0.113.66", 5060, tx::transport_protocol::udp, 0};
const tx::endpoint caller{"198.51.100.7", 5060, tx::transport_protocol::udp, 0};

tx::endpoint source_n(int n) {
  std::string host = "10.1.";
  host.append(std::to_string(n / 250)).append(".").append(std::to_string(n % 250 + 1));
  return {host, 5060, tx::transport_protocol::udp, 0};
}

/// The defaults, with a fixed seed and without the warning lines on stderr.
tx::manager_config base_config() {
  tx::manager_config c;
  c.seed = 42;
  c.log = sipkit::logger(sipkit::log_level::off);
  return c;
}

std::string branch_n(int n) { return "z9hG4bKflood" + std::to_string(1000 + n); }

/// A request with a body of `body_bytes`.
message with_body(message m, std::size_t body_bytes) {
  m.set_body(std::string(body_bytes, 'x'), "application/octet-stream");
  return m;
}

/// An SDP-sized body for INVITEs and 2xx.
message with_sdp(message m, std::size_t bytes = 200) {
  m.set_body(std::string(bytes, 's'), "application/sdp");
  return m;
}

std::size_t wire(const message& m) { return m.serialize().size(); }

/// `m` with a body that brings it as close to `size` bytes on the wire as possible.
message sized(message m, std::size_t size) {
  m.set_body(std::string(1, 'f'), "text/plain");
  std::size_t body = size > wire(m) ? size - wire(m) + 1 : 1;
  for (;; --body) {
    m.set_body(std::string(body, 'f'), "text/plain");
    if (wire(m) <= size || body == 1) return m;
  }
}

/// The bytes of the Via the manager pushes onto a client request to `to`.
std::size_t via_line_bytes(const fake_transport& tp, const tx::endpoint& to) {
  return sizeof("Via: SIP/2.0/UDP ") - 1 + tp.via_sent_by(to).size() + sizeof(";branch=") - 1 +
         tx::branch_generator::branch_length + sizeof(";rport\r\n") - 1;
}

/// One send the stack tries, for budget_oracle.
struct attempt {
  long long at_ms;
  std::size_t bytes;
  bool provisional;
};
/// The sends the amplification budget lets out of `attempts` (in order) with `credit`
/// bytes, by its definition: a send goes when it fits in what is left, a provisional
/// response when twice its size does.
std::vector<attempt> budget_oracle(std::size_t credit, const std::vector<attempt>& attempts) {
  std::vector<attempt> out;
  for (const auto& a : attempts) {
    if ((a.provisional ? 2 * a.bytes : a.bytes) > credit) continue;
    credit -= a.bytes;
    out.push_back(a);
  }
  return out;
}

struct single {
  explicit single(tx::manager_config cfg = base_config())
      : tp(clock, local_addr), tu(clock), mgr(tp, tu, cfg) {
    clock.attach_manager(mgr);
  }
  void inject(message m, const tx::endpoint& from) {
    mgr.on_receive(std::move(m), from, clock.now());
  }
  /// Bytes handed to the transport for `to` (its host), as serialized.
  std::size_t bytes_to(const tx::endpoint& to) const {
    std::size_t n = 0;
    for (const auto& r : tp.sent())
      if (r.destination.host == to.host) n += r.bytes.size();
    return n;
  }
  std::vector<const fake_transport::record*> sent_to(const tx::endpoint& to) const {
    std::vector<const fake_transport::record*> out;
    for (const auto& r : tp.sent())
      if (r.destination.host == to.host) out.push_back(&r);
    return out;
  }
  manual_clock clock;
  fake_transport tp;
  recording_tu tu;
  tx::manager mgr;
};

/// What a UA does after sending a 2xx that is not ACKed (RFC 3261 §13.3.1.4): re-send
/// it at T1, 2*T1 ... capped at T2, until 64*T1. Offsets in ms from the first send.
const std::vector<long long> k_2xx_retransmissions = {500,   1500,  3500,  7500,  11500,
                                                      15500, 19500, 23500, 27500, 31500};

void schedule_2xx_retransmissions(single& s, const message& ok, const tx::endpoint& to) {
  const auto start = s.clock.now();
  for (long long at : k_2xx_retransmissions)
    s.clock.schedule(start + std::chrono::milliseconds(at),
                     [&s, ok, to] { (void)s.mgr.send_stateless(ok, to, s.clock.now()); });
}

}  // namespace

// ================================================================ byte budget

TEST_CASE("held_bytes counts the request and response a NIST holds, 0 again after Timer J") {
  single s;
  const message req = sample_request("OPTIONS");
  s.inject(req, caller);
  REQUIRE(s.mgr.held_bytes() == wire(req));
  const message ok = sample_response(req, 200);
  REQUIRE_FALSE(s.mgr.respond(s.tu.requests[0].id, ok, s.clock.now()));
  REQUIRE(s.mgr.held_bytes() == wire(req) + wire(ok));  // small, no body: not shed
  REQUIRE(s.mgr.stats().requests_shed == 0);
  s.clock.advance(31999ms);
  REQUIRE(s.mgr.held_bytes() == wire(req) + wire(ok));
  s.clock.advance(1ms);  // Timer J
  REQUIRE(s.mgr.size() == 0);
  REQUIRE(s.mgr.held_bytes() == 0);
}

TEST_CASE("held_bytes counts the INVITE and the ACK an ICT keeps for a non-2xx final") {
  single s;
  auto r = s.mgr.start_client(sample_uac_request("INVITE"), caller, s.clock.now());
  const message invite = s.tp.sent()[0].msg;  // with the manager's Via
  REQUIRE(s.mgr.held_bytes() == wire(invite));
  const message busy = sample_response(invite, 486);
  s.inject(busy, caller);
  const message ack = tx::make_ack(invite, busy);
  REQUIRE(s.tp.sent().back().msg.method_text() == "ACK");
  REQUIRE(s.mgr.held_bytes() == wire(invite) + wire(ack));
  s.clock.advance(32s);  // Timer D
  REQUIRE_FALSE(s.mgr.contains(r.id));
  REQUIRE(s.mgr.held_bytes() == 0);
}

TEST_CASE("A flood of big-body OPTIONS stays within max_held_bytes; the excess gets a 503") {
  constexpr std::size_t k_body = 31 * 1024;
  const std::size_t one = wire(with_body(sample_request("OPTIONS", branch_n(0)), k_body));
  tx::manager_config cfg = base_config();
  cfg.max_held_bytes = 10 * one;
  single s(cfg);
  for (int i = 0; i < 15; ++i) {
    s.inject(with_body(sample_request("OPTIONS", branch_n(i)), k_body), caller);
    REQUIRE(s.mgr.held_bytes() <= cfg.max_held_bytes);
  }
  REQUIRE(s.mgr.size() == 10);
  REQUIRE(s.tu.requests.size() == 10);
  REQUIRE(s.mgr.held_bytes() == 10 * one);
  // Exactly one stateless 503 with Retry-After for each request beyond the budget.
  REQUIRE(s.tp.sent().size() == 5);
  for (int i = 0; i < 5; ++i) {
    const auto& rec = s.tp.sent()[static_cast<std::size_t>(i)];
    REQUIRE(rec.msg.status_code() == 503);
    REQUIRE(rec.msg.get("Retry-After") == "5");
    REQUIRE(rec.msg.top_via()->branch == branch_n(10 + i));
    REQUIRE(rec.destination == caller);
    REQUIRE_FALSE(rec.origin.valid());
  }
  REQUIRE(s.mgr.stats().rejected_bytes == 5);
  REQUIRE(s.mgr.stats().rejected_full == 0);

  // Answered, the transactions keep only what matching needs: room for more.
  for (const auto& ev : s.tu.requests)
    REQUIRE_FALSE(s.mgr.respond(ev.id, sample_response(ev.msg, 200), s.clock.now()));
  REQUIRE(s.mgr.stats().requests_shed == 10);
  REQUIRE(s.mgr.held_bytes() < one);
  s.inject(with_body(sample_request("OPTIONS", branch_n(20)), k_body), caller);
  REQUIRE(s.tu.requests.size() == 11);

  // Timer J ends them all; nothing is held, and traffic goes on as before.
  s.clock.advance(32s);
  REQUIRE(s.mgr.size() == 1);  // the last one, still waiting for its answer
  REQUIRE(s.mgr.held_bytes() == one);
  REQUIRE_FALSE(s.mgr.respond(s.tu.requests.back().id,
                              sample_response(s.tu.requests.back().msg, 200), s.clock.now()));
  s.clock.advance(32s);
  REQUIRE(s.mgr.size() == 0);
  REQUIRE(s.mgr.held_bytes() == 0);
  for (int i = 30; i < 40; ++i)
    s.inject(with_body(sample_request("OPTIONS", branch_n(i)), k_body), caller);
  REQUIRE(s.tu.requests.size() == 21);
  REQUIRE(s.mgr.stats().rejected_bytes == 5);
}

TEST_CASE("Answered at once, big-body requests cost only the headers that matching needs") {
  constexpr std::size_t k_body = 31 * 1024;
  tx::manager_config cfg = base_config();
  cfg.max_held_bytes = 5 * k_body;  // five of them unanswered would fill it
  single s(cfg);
  std::vector<message> responses;
  s.tu.request_hook = [&](tx::transaction_id id, const message& req) {
    responses.push_back(sample_response(req, 200));
    REQUIRE_FALSE(s.mgr.respond(id, responses.back(), s.clock.now()));
  };
  for (int i = 0; i < 100; ++i) {
    s.inject(with_body(sample_request("OPTIONS", branch_n(i)), k_body), caller);
    REQUIRE(s.mgr.held_bytes() <= cfg.max_held_bytes);
  }
  REQUIRE(s.tu.requests.size() == 100);
  REQUIRE(s.mgr.stats().rejected_bytes == 0);
  REQUIRE(s.mgr.stats().requests_shed == 100);
  std::size_t expected = 0;
  for (std::size_t i = 0; i < 100; ++i) {
    const message* kept = s.mgr.request(s.tu.requests[i].id);
    REQUIRE(kept->body().empty());
    expected += wire(*kept) + wire(responses[i]);
  }
  REQUIRE(s.mgr.held_bytes() == expected);
  REQUIRE(expected < 100 * 1024);
}

TEST_CASE("A shed request keeps only its request line, top Via, From, To, Call-ID and CSeq") {
  single s;
  auto invite = with_sdp(sample_request("INVITE"));
  invite.push_front(header_id::via, "SIP/2.0/UDP 192.0.2.200:5060;branch=z9hG4bKtop");
  s.inject(invite, caller);
  const auto id = s.tu.requests[0].id;
  REQUIRE_FALSE(s.mgr.respond(id, sample_response(invite, 486), s.clock.now()));
  const message* kept = s.mgr.request(id);
  REQUIRE(kept->method_text() == "INVITE");
  REQUIRE(kept->request_uri() == invite.request_uri());
  REQUIRE(kept->body().empty());
  REQUIRE(kept->fields().size() == 5);
  REQUIRE(kept->count(header_id::via) == 1);
  REQUIRE(kept->get(header_id::via) == "SIP/2.0/UDP 192.0.2.200:5060;branch=z9hG4bKtop");
  for (auto h : {header_id::from, header_id::to, header_id::call_id, header_id::cseq})
    REQUIRE(kept->get(h) == invite.get(h));
}

TEST_CASE("A shed INVITE still matches its retransmissions and its ACK") {
  single s;
  const message invite = with_sdp(sample_request("INVITE"));
  s.inject(invite, caller);
  const auto id = s.tu.requests[0].id;
  const message busy = sample_response(invite, 486);
  REQUIRE_FALSE(s.mgr.respond(id, busy, s.clock.now()));
  REQUIRE(s.mgr.stats().requests_shed == 1);
  s.inject(invite, caller);  // a retransmission: the 486 again
  REQUIRE(s.mgr.stats().retransmissions_absorbed == 1);
  REQUIRE(s.tp.sent().size() == 2);
  REQUIRE(s.tp.sent()[1].msg.status_code() == 486);
  s.inject(tx::make_ack(invite, busy), caller);
  REQUIRE(s.mgr.state_name(id) == "Confirmed");
  REQUIRE(s.tu.requests.size() == 1);
  REQUIRE(s.tu.acks.empty());
}

TEST_CASE("A shed RFC 2543 request (no branch cookie) still matches its retransmissions") {
  single s;
  const message invite = with_sdp(sample_request("INVITE", "", "192.0.2.9:5060"));
  s.inject(invite, caller);
  const auto id = s.tu.requests[0].id;
  const message busy = sample_response(invite, 486, "legacytag");
  REQUIRE_FALSE(s.mgr.respond(id, busy, s.clock.now()));
  REQUIRE(s.mgr.stats().requests_shed == 1);
  s.inject(invite, caller);
  REQUIRE(s.tu.requests.size() == 1);
  REQUIRE(s.tp.sent().back().msg.status_code() == 486);
  s.inject(tx::make_ack(invite, busy), caller);
  REQUIRE(s.mgr.state_name(id) == "Confirmed");
  s.clock.advance(5s);  // Timer I; the RFC 2543 table is left empty
  REQUIRE(s.mgr.size() == 0);
  s.inject(invite, caller);  // now a new transaction
  REQUIRE(s.tu.requests.size() == 2);
}

TEST_CASE("A shed non-INVITE request re-sends its final response on a retransmission") {
  single s;
  const message req = with_body(sample_request("MESSAGE"), 2000);
  s.inject(req, caller);
  REQUIRE_FALSE(s.mgr.respond(s.tu.requests[0].id, sample_response(req, 202), s.clock.now()));
  REQUIRE(s.mgr.stats().requests_shed == 1);
  s.inject(req, caller);
  REQUIRE(s.tu.requests.size() == 1);
  REQUIRE(s.tp.sent().size() == 2);
  REQUIRE(s.tp.sent()[1].msg.status_code() == 202);
}

TEST_CASE("A TU that answers inside on_request can still read the whole request there") {
  single s;
  s.tu.request_hook = [&](tx::transaction_id id, const message& req) {
    REQUIRE_FALSE(s.mgr.respond(id, sample_response(req, 200), s.clock.now()));
    REQUIRE(req.body().size() == 5000);  // shed only once the callback has returned
    REQUIRE(s.mgr.request(id)->body().size() == 5000);
  };
  s.inject(with_body(sample_request("OPTIONS"), 5000), caller);
  REQUIRE(s.mgr.request(s.tu.requests[0].id)->body().empty());
  REQUIRE(s.mgr.stats().requests_shed == 1);
}

TEST_CASE("start_client and cancel beyond max_held_bytes fail with byte_budget_exceeded") {
  tx::manager_config cfg = base_config();
  cfg.max_held_bytes = 4000;
  single s(cfg);
  auto invite = s.mgr.start_client(sample_uac_request("INVITE"), caller, s.clock.now());
  REQUIRE(invite);
  auto big =
      s.mgr.start_client(with_body(sample_uac_request("MESSAGE", 2), 4000), caller, s.clock.now());
  REQUIRE(big.error == tx::error::byte_budget_exceeded);
  REQUIRE_FALSE(big.id.valid());
  REQUIRE(s.tp.sent().size() == 1);
  // Fill the budget to within 10 bytes: then a CANCEL does not fit either.
  const std::size_t via = via_line_bytes(s.tp, caller);
  REQUIRE(wire(s.tp.sent()[0].msg) == wire(sample_uac_request("INVITE")) + via);
  const std::size_t room = 4000 - s.mgr.held_bytes() - 10;
  REQUIRE(s.mgr.start_client(sized(sample_uac_request("MESSAGE", 3), room - via), caller,
                             s.clock.now()));
  REQUIRE(s.mgr.held_bytes() <= 3990);
  REQUIRE(s.mgr.held_bytes() > 3900);
  s.inject(sample_response(s.tp.sent()[0].msg, 180), caller);
  REQUIRE(s.mgr.cancel(invite.id, s.clock.now()).error == tx::error::byte_budget_exceeded);
  REQUIRE(s.mgr.stats().rejected_bytes == 2);
}

// ================================================================ rate limit

TEST_CASE("A source over its rate limit gets a 503 with Retry-After; the bucket refills") {
  tx::manager_config cfg = base_config();
  cfg.rate_limit.requests_per_second = 10;
  cfg.rate_limit.burst = 5;
  single s(cfg);
  for (int i = 0; i < 7; ++i) s.inject(sample_request("OPTIONS", branch_n(i)), caller);
  REQUIRE(s.tu.requests.size() == 5);
  REQUIRE(s.tp.sent().size() == 2);
  for (std::size_t i = 0; i < 2; ++i) {
    REQUIRE(s.tp.sent()[i].msg.status_code() == 503);
    REQUIRE(s.tp.sent()[i].msg.get("Retry-After") == "5");
    REQUIRE(s.tp.sent()[i].msg.top_via()->branch == branch_n(5 + static_cast<int>(i)));
    REQUIRE_FALSE(s.tp.sent()[i].origin.valid());
  }
  REQUIRE(s.mgr.stats().rate_limited == 2);
  s.clock.advance(99ms);  // one token per 100 ms
  s.inject(sample_request("OPTIONS", branch_n(7)), caller);
  REQUIRE(s.tu.requests.size() == 5);
  s.clock.advance(1ms);
  s.inject(sample_request("OPTIONS", branch_n(8)), caller);
  REQUIRE(s.tu.requests.size() == 6);
  s.inject(sample_request("OPTIONS", branch_n(9)), caller);
  REQUIRE(s.tu.requests.size() == 6);
  REQUIRE(s.mgr.stats().rate_limited == 4);
}

TEST_CASE("Retransmissions, ACKs and a CANCEL of a live INVITE pass an exhausted rate limit") {
  tx::manager_config cfg = base_config();
  cfg.rate_limit.requests_per_second = 1;
  cfg.rate_limit.burst = 1;
  single s(cfg);
  const message invite = sample_request("INVITE", "z9hG4bKlive");
  s.inject(invite, caller);  // takes the only token
  s.inject(invite, caller);  // a retransmission
  REQUIRE(s.mgr.stats().retransmissions_absorbed == 1);
  s.inject(tx::make_cancel(invite), caller);
  REQUIRE(s.tu.requests.size() == 2);
  REQUIRE(s.tu.requests[1].msg.method_text() == "CANCEL");
  REQUIRE(s.tu.requests[1].cancels == s.tu.requests[0].id);
  s.inject(sample_request("ACK", "z9hG4bKack2xx"), caller);
  REQUIRE(s.tu.acks.size() == 1);
  REQUIRE(s.mgr.stats().rate_limited == 0);
  REQUIRE(s.tp.sent().empty());
  // A CANCEL that matches nothing and a new request are limited.
  s.inject(tx::make_cancel(sample_request("INVITE", "z9hG4bKgone")), caller);
  s.inject(sample_request("OPTIONS", "z9hG4bKnew"), caller);
  REQUIRE(s.tu.requests.size() == 2);
  REQUIRE(s.mgr.stats().rate_limited == 2);
  REQUIRE(s.tp.sent().size() == 2);
  REQUIRE(s.tp.sent()[0].msg.status_code() == 503);
  REQUIRE(s.tp.sent()[0].msg.get(header_id::cseq) == "314159 CANCEL");
  REQUIRE(s.tp.sent()[1].msg.status_code() == 503);
}

TEST_CASE("The drop action refuses requests over the rate limit silently, and counts them") {
  tx::manager_config cfg = base_config();
  cfg.rate_limit.requests_per_second = 1;
  cfg.rate_limit.burst = 2;
  cfg.rate_limit.action = tx::rate_limit_action::drop;
  single s(cfg);
  for (int i = 0; i < 10; ++i) s.inject(sample_request("OPTIONS", branch_n(i)), caller);
  REQUIRE(s.tu.requests.size() == 2);
  REQUIRE(s.tp.sent().empty());
  REQUIRE(s.mgr.stats().rate_limited == 8);
  REQUIRE(s.mgr.size() == 2);
}

TEST_CASE("Rate limits are per source address, whatever the port and the transport") {
  tx::manager_config cfg = base_config();
  cfg.rate_limit.requests_per_second = 1;
  cfg.rate_limit.burst = 2;
  single s(cfg);
  auto other_port = caller;
  other_port.port = 5080;
  auto tcp = caller;
  tcp.protocol = tx::transport_protocol::tcp;
  tcp.connection = 7;
  s.inject(sample_request("OPTIONS", branch_n(0)), caller);
  s.inject(sample_request("OPTIONS", branch_n(1)), other_port);
  s.inject(sample_request("OPTIONS", branch_n(2), "198.51.100.7:5060", "TCP"), tcp);
  REQUIRE(s.tu.requests.size() == 2);
  REQUIRE(s.mgr.stats().rate_limited == 1);
  REQUIRE(s.tp.sent()[0].destination == tcp);                // the 503 goes back on the connection
  s.inject(sample_request("OPTIONS", branch_n(3)), victim);  // another address
  s.inject(sample_request("OPTIONS", branch_n(4)), victim);
  REQUIRE(s.tu.requests.size() == 4);
  REQUIRE(s.mgr.rate_limit_sources() == 2);
}

TEST_CASE("The rate limiter tracks at most max_sources addresses") {
  tx::manager_config cfg = base_config();
  cfg.rate_limit.max_sources = 16;
  single s(cfg);
  s.tu.record_requests = false;
  for (int i = 0; i < 1000; ++i) {
    s.inject(sample_request("OPTIONS", branch_n(i)), source_n(i));
    REQUIRE(s.mgr.rate_limit_sources() <= 16);
  }
  REQUIRE(s.mgr.size() == 1000);
  REQUIRE(s.mgr.stats().rate_limited == 0);
  REQUIRE(s.mgr.stats().sources_evicted >= 1000 - 16);
}

TEST_CASE("requests_per_second 0 turns the rate limit off") {
  tx::manager_config cfg = base_config();
  cfg.rate_limit.requests_per_second = 0;
  single s(cfg);
  for (int i = 0; i < 1000; ++i) s.inject(sample_request("OPTIONS", branch_n(i)), caller);
  REQUIRE(s.mgr.size() == 1000);
  REQUIRE(s.mgr.stats().rate_limited == 0);
  REQUIRE(s.mgr.rate_limit_sources() == 0);
}

TEST_CASE("The default rate limit admits a burst of 200, then 100 requests per second") {
  single s;
  for (int i = 0; i < 201; ++i) s.inject(sample_request("OPTIONS", branch_n(i)), caller);
  REQUIRE(s.mgr.size() == 200);
  s.clock.advance(1s);
  for (int i = 201; i < 302; ++i) s.inject(sample_request("OPTIONS", branch_n(i)), caller);
  REQUIRE(s.mgr.size() == 300);
  REQUIRE(s.mgr.stats().rate_limited == 2);
}

// ================================================================ amplification

TEST_CASE("A spoofed INVITE: responses, 2xx retransmissions and a BYE stay within 3x its bytes") {
  single s;
  const message invite = with_sdp(sample_request("INVITE", "z9hG4bKspoof", "203.0.113.66:5060"));
  const std::size_t in = wire(invite);
  const message ringing = sample_response(invite, 180);
  const message ok = with_sdp(sample_response(invite, 200));
  const message bye = sample_uac_request("BYE", 2, std::string(invite.call_id()));
  s.tu.request_hook = [&](tx::transaction_id id, const message&) {
    REQUIRE_FALSE(s.mgr.respond(id, ringing, s.clock.now()));
    REQUIRE_FALSE(s.mgr.respond(id, ok, s.clock.now()));
    schedule_2xx_retransmissions(s, ok, victim);
  };
  s.inject(invite, victim);
  // No ACK ever comes: after 64*T1 the UA gives up and sends a BYE (§13.3.1.4), which
  // its NICT retransmits until Timer F.
  s.clock.advance(32s);
  REQUIRE(s.mgr.start_client(bye, victim, s.clock.now()));
  s.clock.advance(40s);

  // Everything the stack tried to send to the victim, in order, and what fits in 3x.
  std::vector<attempt> tried = {{0, wire(ringing), true}, {0, wire(ok), false}};
  for (long long at : k_2xx_retransmissions) tried.push_back({at, wire(ok), false});
  const std::size_t bye_bytes = wire(bye) + via_line_bytes(s.tp, victim);
  for (long long at : ms_list({0, 0.5, 1.5, 3.5, 7.5, 11.5, 15.5, 19.5, 23.5, 27.5, 31.5}))
    tried.push_back({32000 + at, bye_bytes, false});
  const auto expected = budget_oracle(3 * in, tried);
  REQUIRE(expected.size() >= 2);  // the 180 and the first 2xx at least

  const auto sent = s.sent_to(victim);
  REQUIRE(sent.size() == expected.size());
  for (std::size_t i = 0; i < sent.size(); ++i) {
    REQUIRE(manual_clock::ms_of(sent[i]->at) == expected[i].at_ms);
    REQUIRE(sent[i]->bytes.size() == expected[i].bytes);
  }
  REQUIRE(sent[0]->msg.status_code() == 180);
  REQUIRE(sent[1]->msg.status_code() == 200);
  REQUIRE(s.bytes_to(victim) <= 3 * in);
  REQUIRE(s.mgr.stats().amplification_suppressed == tried.size() - sent.size());
  REQUIRE(s.tu.failures.size() == 1);  // the BYE timed out (Timer F) as if lost
  REQUIRE(s.tu.failures[0].ec == tx::error::timeout);
  REQUIRE(s.mgr.size() == 0);
}

TEST_CASE("A 404 retransmitted by Timer G to an unproven source stops at the budget") {
  single s;
  const message invite = sample_request("INVITE", "z9hG4bKreg404", "203.0.113.66:5060");
  const message not_found = sample_response(invite, 404);
  s.tu.request_hook = [&](tx::transaction_id id, const message&) {
    REQUIRE_FALSE(s.mgr.respond(id, not_found, s.clock.now()));
  };
  s.inject(invite, victim);
  s.clock.advance(40s);
  const auto g_schedule =
      ms_list({0, 0.5, 1.5, 3.5, 7.5, 11.5, 15.5, 19.5, 23.5, 27.5, 31.5});  // then Timer H
  const std::size_t copies = 3 * wire(invite) / wire(not_found);
  REQUIRE(copies >= 1);
  REQUIRE(copies < g_schedule.size());
  const auto sent = s.sent_to(victim);
  REQUIRE(sent.size() == copies);
  for (std::size_t i = 0; i < copies; ++i) {
    REQUIRE(sent[i]->msg.status_code() == 404);
    REQUIRE(manual_clock::ms_of(sent[i]->at) == g_schedule[i]);
  }
  REQUIRE(s.bytes_to(victim) <= 3 * wire(invite));
  REQUIRE(s.mgr.stats().amplification_suppressed == g_schedule.size() - copies);
  REQUIRE(s.mgr.stats().amplification_suppressed_bytes ==
          (g_schedule.size() - copies) * wire(not_found));
  REQUIRE(s.tu.failures.size() == 1);  // Timer H: the ACK never came
  REQUIRE(s.tu.failures[0].at_ms == 32000);
}

TEST_CASE("A source that ACKs our non-2xx final with our To tag becomes proven") {
  single s;
  const message invite = sample_request("INVITE", "z9hG4bKfirst");
  const message busy = sample_response(invite, 486, "ourtag1");
  s.tu.request_hook = [&](tx::transaction_id id, const message& req) {
    REQUIRE_FALSE(s.mgr.respond(id, sample_response(req, 486, "ourtag1"), s.clock.now()));
  };
  s.inject(invite, caller);
  REQUIRE_FALSE(s.mgr.is_proven(caller));
  s.inject(tx::make_ack(invite, busy), caller);
  REQUIRE(s.mgr.is_proven(caller));
  REQUIRE(s.mgr.stats().sources_proven == 1);
  // From now on nothing to it is limited: every Timer G retransmission of a next 486.
  s.tp.clear();
  s.inject(sample_request("INVITE", "z9hG4bKsecond"), caller);
  s.clock.advance(32s);
  REQUIRE(s.sent_to(caller).size() == 11);
  REQUIRE(s.mgr.stats().amplification_suppressed == 0);
}

TEST_CASE("An ACK without the To tag we chose proves nothing") {
  single s;
  s.tu.request_hook = [&](tx::transaction_id id, const message& req) {
    REQUIRE_FALSE(s.mgr.respond(id, sample_response(req, 486, "ourtag2"), s.clock.now()));
  };
  // An ACK with another tag still matches by branch (§17.2.3) but proves nothing.
  const message invite = sample_request("INVITE", "z9hG4bKwrongtag");
  s.inject(invite, caller);
  s.inject(tx::make_ack(invite, sample_response(invite, 486, "guessed")), caller);
  REQUIRE(s.mgr.state_name(s.tu.requests[0].id) == "Confirmed");
  REQUIRE_FALSE(s.mgr.is_proven(caller));
  // A request that already carried the To tag (in-dialog) told the sender the tag.
  message in_dialog = sample_request("INVITE", "z9hG4bKreinvite");
  in_dialog.set(header_id::to, "Bob <sip:bob@biloxi.example.com>;tag=ourtag2");
  s.inject(in_dialog, caller);
  s.inject(tx::make_ack(in_dialog, sample_response(in_dialog, 486, "ourtag2")), caller);
  REQUIRE(s.mgr.state_name(s.tu.requests[1].id) == "Confirmed");
  REQUIRE_FALSE(s.mgr.is_proven(caller));
  REQUIRE(s.mgr.stats().sources_proven == 0);
}

TEST_CASE("An ACK matching the INVITE transaction in Accepted with our 2xx's To tag proves") {
  single s;
  const message invite = sample_request("INVITE", "z9hG4bKaccepted");
  const message ok = with_sdp(sample_response(invite, 200, "ourtag3"), 2000);  // > 3x
  s.inject(invite, caller);
  const auto id = s.tu.requests[0].id;
  REQUIRE_FALSE(s.mgr.respond(id, ok, s.clock.now()));
  REQUIRE(s.tp.sent().empty());  // did not fit
  message ack = sample_request("ACK", "z9hG4bKaccepted");
  ack.set(header_id::to, std::string(*ok.get(header_id::to)));
  ack.set(header_id::cseq, "314159 ACK");
  s.inject(ack, caller);
  REQUIRE(s.tu.acks.size() == 1);
  REQUIRE(s.tu.acks[0].matched == id);
  REQUIRE(s.mgr.is_proven(caller));
  for (int i = 0; i < 20; ++i) REQUIRE_FALSE(s.mgr.send_stateless(ok, caller, s.clock.now()));
  REQUIRE(s.tp.sent().size() == 20);
}

TEST_CASE("A caller whose first 2xx did not fit gets it after it retransmits its INVITE") {
  manual_clock clock;
  const tx::endpoint uas{"192.0.2.1", 5060, tx::transport_protocol::udp, 0};
  fake_transport a_tp(clock, caller), b_tp(clock, uas);
  recording_tu a_tu(clock), b_tu(clock);
  tx::manager_config a_cfg = base_config(), b_cfg = base_config();
  b_cfg.seed = 43;
  tx::manager a(a_tp, a_tu, a_cfg), b(b_tp, b_tu, b_cfg);
  clock.attach_manager(a);
  clock.attach_manager(b);
  a_tp.connect(
      [&](message m, const tx::endpoint& src) { b.on_receive(std::move(m), src, clock.now()); },
      10ms);
  b_tp.connect(
      [&](message m, const tx::endpoint& src) { a.on_receive(std::move(m), src, clock.now()); },
      10ms);

  auto invite = sample_uac_request("INVITE");
  REQUIRE(a.start_client(invite, uas, clock.now()));
  const std::size_t in = wire(a_tp.sent()[0].msg);
  // The UAS answers at once with a 2xx bigger than 3x the INVITE (no provisional first)
  // and retransmits it 500 ms and 1.5 s later, as a UA does.
  message ok;
  b_tu.request_hook = [&](tx::transaction_id id, const message& req) {
    ok = sample_response(req, 200, "uastag");
    ok.set_body(std::string(3 * in, 's'), "application/sdp");
    REQUIRE(wire(ok) > 3 * in);
    REQUIRE(wire(ok) <= 6 * in);
    REQUIRE_FALSE(b.respond(id, ok, clock.now()));
    for (auto at : {500ms, 1500ms})
      clock.schedule_in(at, [&] { (void)b.send_stateless(ok, caller, clock.now()); });
  };
  clock.advance(3s);
  // 10 ms: the 2xx does not fit (3x). 500 ms: the INVITE is retransmitted (no
  // provisional arrived); at 510 ms the TU's first retransmission is tried just before
  // it arrives, and fails; at 1510 ms the credit is 6x and the 2xx goes out.
  REQUIRE(b.stats().amplification_suppressed == 2);
  REQUIRE(b_tp.sent().size() == 1);
  REQUIRE(manual_clock::ms_of(b_tp.sent()[0].at) == 1510);
  REQUIRE(a_tu.responses.size() == 1);
  REQUIRE(a_tu.responses[0].msg.status_code() == 200);
  REQUIRE(a_tu.responses[0].at_ms == 1520);
  // The UAC heard from b in answer to its own branch: b is proven at a.
  REQUIRE(a.is_proven(uas));
}

TEST_CASE("A response to one of our client transactions proves its source") {
  single s;
  auto r = s.mgr.start_client(sample_uac_request("OPTIONS"), victim, s.clock.now());
  REQUIRE(r);
  REQUIRE_FALSE(s.mgr.is_proven(victim));
  s.inject(sample_response(s.tp.sent()[0].msg, 200), victim);
  REQUIRE(s.mgr.is_proven(victim));
  REQUIRE(s.mgr.stats().sources_proven == 1);
  // A stray response proves nothing.
  s.inject(sample_response(sample_request("OPTIONS", "z9hG4bKnotours"), 200), caller);
  REQUIRE_FALSE(s.mgr.is_proven(caller));
}

TEST_CASE("mark_proven lifts the budget for every send to that source") {
  single s;
  const message invite = sample_request("INVITE", "z9hG4bKmark");
  const message ok = with_sdp(sample_response(invite, 200), 3000);
  s.inject(invite, caller);
  REQUIRE_FALSE(s.mgr.respond(s.tu.requests[0].id, ok, s.clock.now()));
  REQUIRE(s.tp.sent().empty());
  REQUIRE(s.mgr.stats().amplification_suppressed == 1);
  s.mgr.mark_proven(caller);
  REQUIRE(s.mgr.is_proven(caller));
  REQUIRE_FALSE(s.mgr.send_stateless(ok, caller));
  REQUIRE(s.tp.sent().size() == 1);
  REQUIRE(s.mgr.stats().sources_proven == 1);
}

TEST_CASE("A provisional response goes out only when a final of its size still fits after it") {
  single s;
  const message invite = sample_request("INVITE", "z9hG4bKprov");
  const std::size_t in = wire(invite);
  message progress = sample_response(invite, 183);
  progress.set_body(std::string(3 * in / 2 - wire(progress) + 10, 'p'), "application/sdp");
  REQUIRE(wire(progress) <= 3 * in);
  REQUIRE(2 * wire(progress) > 3 * in);
  const message ok = sample_response(invite, 200);
  s.inject(invite, caller);
  const auto id = s.tu.requests[0].id;
  REQUIRE_FALSE(s.mgr.respond(id, progress, s.clock.now()));
  REQUIRE(s.tp.sent().empty());
  REQUIRE_FALSE(s.mgr.respond(id, ok, s.clock.now()));
  REQUIRE(s.tp.sent().size() == 1);
  REQUIRE(s.tp.sent()[0].msg.status_code() == 200);
}

TEST_CASE("The INVITE transaction's own 100 Trying reaches an unproven source") {
  single s;
  s.inject(sample_request("INVITE", "z9hG4bKtrying"), victim);
  s.clock.advance(200ms);
  REQUIRE(s.tp.sent().size() == 1);
  REQUIRE(s.tp.sent()[0].msg.status_code() == 100);
  REQUIRE(s.mgr.stats().amplification_suppressed == 0);
}

TEST_CASE("Requests to a destination that never contacted us are not limited") {
  single s;
  s.mgr.start_client(with_sdp(sample_uac_request("INVITE"), 3000), victim, s.clock.now());
  s.clock.advance(40s);
  REQUIRE(s.sent_to(victim).size() == 7);  // 0, 0.5, 1.5, 3.5, 7.5, 15.5, 31.5 s
  REQUIRE(s.mgr.stats().amplification_suppressed == 0);
  REQUIRE(s.mgr.ledger_sources() == 0);
}

TEST_CASE("TCP sources are never limited by the amplification budget") {
  single s;
  auto tcp = victim;
  tcp.protocol = tx::transport_protocol::tcp;
  tcp.connection = 3;
  const message invite = sample_request("INVITE", "z9hG4bKtcp", "203.0.113.66:5060", "TCP");
  const message ok = with_sdp(sample_response(invite, 200), 5000);
  s.inject(invite, tcp);
  REQUIRE_FALSE(s.mgr.respond(s.tu.requests[0].id, ok, s.clock.now()));
  for (int i = 0; i < 20; ++i) REQUIRE_FALSE(s.mgr.send_stateless(ok, tcp, s.clock.now()));
  REQUIRE(s.tp.sent().size() == 21);
  REQUIRE(s.mgr.stats().amplification_suppressed == 0);
  REQUIRE(s.mgr.ledger_sources() == 0);
}

TEST_CASE("The ledger tracks at most max_sources; an evicted source starts unproven, no credit") {
  tx::manager_config cfg = base_config();
  cfg.amplification.max_sources = 8;
  single s(cfg);
  const message options = sample_request("OPTIONS", "z9hG4bKproven");
  s.inject(options, caller);
  s.mgr.mark_proven(caller);
  REQUIRE(s.mgr.is_proven(caller));
  s.tu.record_requests = false;
  for (int i = 0; i < 1000; ++i) {
    s.inject(sample_request("OPTIONS", branch_n(i)), source_n(i));
    REQUIRE(s.mgr.ledger_sources() <= 8);
  }
  REQUIRE(s.mgr.stats().sources_evicted >= 1000 - 8);
  REQUIRE_FALSE(s.mgr.is_proven(caller));
  REQUIRE_FALSE(s.mgr.send_stateless(sample_response(options, 200), caller, s.clock.now()));
  REQUIRE(s.tp.sent().empty());  // no credit left: suppressed
  REQUIRE(s.mgr.stats().amplification_suppressed == 1);
}

TEST_CASE("A ledger entry is forgotten after idle_timeout without traffic") {
  single s;
  s.inject(sample_request("OPTIONS", "z9hG4bKidle"), caller);
  s.mgr.mark_proven(caller);
  // is_proven answers as of the latest `now` the manager was given: give it one.
  s.clock.advance(31999ms);
  s.mgr.on_timer(s.clock.now());
  REQUIRE(s.mgr.is_proven(caller));
  s.clock.advance(1ms);
  s.mgr.on_timer(s.clock.now());
  REQUIRE_FALSE(s.mgr.is_proven(caller));
}

TEST_CASE("factor 0 turns the amplification budget off") {
  tx::manager_config cfg = base_config();
  cfg.amplification.factor = 0;
  single s(cfg);
  const message invite = sample_request("INVITE", "z9hG4bKoff");
  s.inject(invite, victim);
  REQUIRE_FALSE(s.mgr.respond(s.tu.requests[0].id, with_sdp(sample_response(invite, 200), 5000),
                              s.clock.now()));
  REQUIRE(s.tp.sent().size() == 1);
  REQUIRE(s.mgr.ledger_sources() == 0);
}

// ================================================================ loopback

TEST_CASE("With exempt_loopback, loopback sources are exempt from the rate limit and the amplification budget") {
  tx::manager_config cfg = base_config();
  cfg.exempt_loopback = true;
  cfg.rate_limit.requests_per_second = 1;
  cfg.rate_limit.burst = 1;
  single s(cfg);
  int n = 0;
  for (const char* host : {"127.0.0.1", "127.1.2.3", "::1", "::FFFF:127.0.0.2", "[::1]"}) {
    const tx::endpoint local{host, 5060, tx::transport_protocol::udp, 0};
    const message invite = sample_request("INVITE", branch_n(n++));
    s.inject(invite, local);
    s.inject(sample_request("OPTIONS", branch_n(n++)), local);
    REQUIRE_FALSE(
        s.mgr.send_stateless(with_sdp(sample_response(invite, 200), 5000), local, s.clock.now()));
  }
  REQUIRE(s.tu.requests.size() == 10);
  REQUIRE(s.tp.sent().size() == 5);
  REQUIRE(s.mgr.stats().rate_limited == 0);
  REQUIRE(s.mgr.stats().amplification_suppressed == 0);
  REQUIRE(s.mgr.rate_limit_sources() == 0);
  REQUIRE(s.mgr.ledger_sources() == 0);
  // Look-alikes are not loopback.
  for (const char* host : {"127.example.com", "128.0.0.1", "::2"}) {
    const tx::endpoint other{host, 5060, tx::transport_protocol::udp, 0};
    s.inject(sample_request("OPTIONS", branch_n(n++)), other);
    s.inject(sample_request("OPTIONS", branch_n(n++)), other);
  }
  REQUIRE(s.mgr.stats().rate_limited == 3);
}

TEST_CASE("By default the limits apply to loopback sources too (exempt_loopback is off)") {
  tx::manager_config cfg = base_config();
  REQUIRE_FALSE(cfg.exempt_loopback);
  cfg.rate_limit.requests_per_second = 1;
  cfg.rate_limit.burst = 1;
  single s(cfg);
  const tx::endpoint local{"127.0.0.1", 5060, tx::transport_protocol::udp, 0};
  const message invite = sample_request("INVITE", "z9hG4bKlocal");
  s.inject(invite, local);
  s.inject(sample_request("OPTIONS", "z9hG4bKlocal2"), local);
  REQUIRE(s.mgr.stats().rate_limited == 1);
  REQUIRE_FALSE(
      s.mgr.send_stateless(with_sdp(sample_response(invite, 200), 5000), local, s.clock.now()));
  REQUIRE(s.mgr.stats().amplification_suppressed == 1);
}

// ================================================================ logging

TEST_CASE("Refusals are logged at warning level, at most once a minute of each kind") {
  std::vector<std::string> lines;
  tx::manager_config cfg = base_config();
  cfg.log = sipkit::logger(sipkit::log_level::warning, [&](const sipkit::log_record& r) {
    REQUIRE(r.level == sipkit::log_level::warning);
    REQUIRE(r.component == "transaction");
    lines.emplace_back(r.text);
  });
  cfg.rate_limit.requests_per_second = 1;
  cfg.rate_limit.burst = 1;
  single s(cfg);
  for (int i = 0; i < 10; ++i) s.inject(sample_request("OPTIONS", branch_n(i)), caller);
  REQUIRE(lines.size() == 1);
  REQUIRE(lines[0] == "rate limit: requests refused so far: 1, the latest from 198.51.100.7");
  s.clock.advance(59s);
  for (int i = 10; i < 80; ++i) s.inject(sample_request("OPTIONS", branch_n(i)), caller);
  REQUIRE(lines.size() == 1);
  s.clock.advance(1s);
  s.inject(sample_request("OPTIONS", branch_n(80)), caller);
  s.inject(sample_request("OPTIONS", branch_n(81)), caller);
  REQUIRE(lines.size() == 2);
  REQUIRE(lines[1].rfind("rate limit: ", 0) == 0);
}
