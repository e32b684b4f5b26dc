// The proxy core over a real transaction::manager, the fake transport and the manual
// clock: exact messages (Via stack, Max-Forwards, Record-Route, Request-URI, Route) and
// exact times.
#include "sipkit/proxy/core.hpp"

#include <catch2/catch.hpp>

#include "harness.hpp"

using namespace sipkit;
using namespace sipkit::test;

namespace {

std::size_t via_count(const parser::message& m) {
  return proxy::header_list(m, header_id::via).size();
}

px::config two_contacts_config(px::fork_mode mode = px::fork_mode::parallel) {
  auto cfg = default_config();
  cfg.forking = mode;
  return cfg;
}

void two_contacts(proxy_fixture& f, double q_phone = 1.0, double q_laptop = 1.0) {
  f.svc.locations["sip:bob@example.com"] = {{"sip:bob@192.0.2.20:5062", q_phone},
                                            {"sip:bob@192.0.2.21:5064", q_laptop}};
}

}  // namespace

TEST_CASE("An INVITE for a located AOR goes to its contact with our Via and Max-Forwards 69") {
  proxy_fixture f;
  f.receive(caller_request(), caller);
  REQUIRE(f.tp.sent().size() == 2);
  const auto& trying = f.tp.sent()[0];
  CHECK(trying.destination == caller);
  CHECK(trying.msg.status_code() == 100);
  const auto& inv = f.tp.sent()[1];
  CHECK(inv.destination == bob_phone);
  CHECK(inv.at == time_point{});
  CHECK(inv.msg.method_text() == "INVITE");
  CHECK(inv.msg.request_uri() == "sip:bob@192.0.2.20:5062");
  CHECK(inv.msg.get(header_id::max_forwards) == "69");
  auto vias = proxy::header_list(inv.msg, header_id::via);
  REQUIRE(vias.size() == 2);
  CHECK(vias[0].rfind("SIP/2.0/UDP 192.0.2.10:5060;branch=z9hG4bK", 0) == 0);
  CHECK(vias[1] == "SIP/2.0/UDP 192.0.2.1:5060;branch=z9hG4bKcaller1");
  CHECK_FALSE(inv.msg.get(header_id::record_route));
  CHECK(f.svc.lookups.size() == 1);
  CHECK(f.svc.resolved == std::vector<std::string>{"sip:bob@192.0.2.20:5062"});
  CHECK(f.proxy->contexts() == 1);
}

TEST_CASE("A request for a domain that is not ours goes to its Request-URI without location") {
  proxy_fixture f;
  f.receive(caller_request("MESSAGE", "sip:carol@192.0.2.40:5080"), caller);
  REQUIRE(f.tp.sent().size() == 1);  // no 100 Trying for a non-INVITE (§16.2)
  CHECK(f.tp.sent()[0].destination.host == "192.0.2.40");
  CHECK(f.tp.sent()[0].destination.port == 5080);
  CHECK(f.tp.sent()[0].msg.request_uri() == "sip:carol@192.0.2.40:5080");
  CHECK(f.svc.lookups.empty());
}

TEST_CASE("A request whose Request-URI is the proxy's own address goes through location") {
  proxy_fixture f;
  auto reg = caller_request("REGISTER", "sip:192.0.2.10:5060");
  f.receive(reg, caller);
  REQUIRE(f.svc.lookups.size() == 1);
  CHECK(f.svc.lookups[0].second == "sip:192.0.2.10:5060");
  REQUIRE(f.tp.sent().size() == 1);  // fake location has no entry: 404, not a loop
  CHECK(f.tp.sent()[0].msg.status_code() == 404);
  CHECK(f.proxy->statistics().loops == 0);
}

TEST_CASE("An AOR without contacts is answered 404") {
  proxy_fixture f;
  f.receive(caller_request("INVITE", "sip:nobody@example.com"), caller);
  REQUIRE(f.tp.sent().size() == 2);
  CHECK(f.tp.sent()[1].msg.status_code() == 404);
  CHECK(f.tp.sent()[1].destination == caller);
}

TEST_CASE("The proxy answers Max-Forwards 0 with 483 and forwards nothing") {
  proxy_fixture f;
  auto m = caller_request();
  m.set(header_id::max_forwards, "0");
  f.receive(m, caller);
  REQUIRE(f.tp.sent().size() == 1);
  CHECK(f.tp.sent()[0].msg.status_code() == 483);
  CHECK(f.proxy->statistics().rejected == 1);
}

TEST_CASE("The proxy answers 416 and 420 before forwarding") {
  proxy_fixture f;
  f.receive(caller_request("INVITE", "tel:+15551234567", "z9hG4bKtel"), caller);
  auto m = caller_request("INVITE", "sip:bob@example.com", "z9hG4bKpr");
  m.add(header_id::proxy_require, "foo");
  f.receive(m, caller);
  REQUIRE(f.tp.sent().size() == 2);
  CHECK(f.tp.sent()[0].msg.status_code() == 416);
  CHECK(f.tp.sent()[1].msg.status_code() == 420);
  CHECK(f.tp.sent()[1].msg.get(header_id::unsupported) == "foo");
}

TEST_CASE("A request that comes back unchanged is a loop (482); with a new Request-URI a spiral") {
  proxy_fixture f;
  // bob's "contact" is another proxy that sends the request straight back to us.
  f.svc.locations["sip:bob@example.com"] = {{"sip:bob@192.0.2.30:5070", 1.0}};
  f.svc.locations["sip:carol@example.com"] = {{"sip:carol@192.0.2.40:5080", 1.0}};
  f.receive(caller_request(), caller);
  REQUIRE(f.tp.sent().size() == 2);
  parser::message looped = f.tp.sent()[1].msg;
  looped.push_front(header_id::via, "SIP/2.0/UDP 192.0.2.30:5070;branch=z9hG4bKother1");
  looped.set_request_uri("sip:bob@example.com");  // the other proxy undid the retarget
  const tx::endpoint other{"192.0.2.30", 5070, tx::transport_protocol::udp, 0};
  f.receive(looped, other);
  REQUIRE(f.tp.sent().size() == 3);
  CHECK(f.tp.sent()[2].msg.status_code() == 482);
  CHECK(f.tp.sent()[2].destination == other);
  CHECK(f.proxy->statistics().loops == 1);

  parser::message spiral = f.tp.sent()[1].msg;
  spiral.push_front(header_id::via, "SIP/2.0/UDP 192.0.2.30:5070;branch=z9hG4bKother2");
  spiral.set_request_uri("sip:carol@example.com");
  f.receive(spiral, other);
  REQUIRE(f.tp.sent().size() == 5);
  CHECK(f.tp.sent()[3].msg.status_code() == 100);
  CHECK(f.tp.sent()[4].msg.request_uri() == "sip:carol@192.0.2.40:5080");
  CHECK(via_count(f.tp.sent()[4].msg) == 4);
  CHECK(f.tp.sent()[4].msg.get(header_id::max_forwards) == "68");
}

TEST_CASE("An in-dialog request with our Route goes by the next Route entry, not by location") {
  proxy_fixture f;
  auto bye = caller_request("BYE", "sip:bob@192.0.2.20:5062");
  bye.set(header_id::to, "Bob <sip:bob@example.com>;tag=b1");
  bye.add(header_id::route, "<sip:192.0.2.10;lr>, <sip:192.0.2.30:5070;lr>");
  f.receive(bye, caller);
  REQUIRE(f.tp.sent().size() == 1);
  const auto& out = f.tp.sent()[0];
  CHECK(out.destination.host == "192.0.2.30");
  CHECK(out.destination.port == 5070);
  CHECK(out.msg.request_uri() == "sip:bob@192.0.2.20:5062");
  CHECK(out.msg.get(header_id::route) == "<sip:192.0.2.30:5070;lr>");
  CHECK(f.svc.lookups.empty());
}

TEST_CASE("A request sent to us by a strict router gets its Request-URI back from Route") {
  proxy_fixture f;
  auto bye = caller_request("BYE", "sip:192.0.2.10;lr");
  bye.set(header_id::to, "Bob <sip:bob@example.com>;tag=b1");
  bye.add(header_id::route, "<sip:bob@192.0.2.20:5062>");
  f.receive(bye, caller);
  REQUIRE(f.tp.sent().size() == 1);
  CHECK(f.tp.sent()[0].destination == bob_phone);
  CHECK(f.tp.sent()[0].msg.request_uri() == "sip:bob@192.0.2.20:5062");
  CHECK_FALSE(f.tp.sent()[0].msg.get(header_id::route));
}

TEST_CASE("With record_route an INVITE carries our Record-Route with lr") {
  auto cfg = default_config();
  cfg.record_route = true;
  proxy_fixture f(cfg);
  f.receive(caller_request(), caller);
  REQUIRE(f.tp.sent().size() == 2);
  CHECK(proxy::header_list(f.tp.sent()[1].msg, header_id::record_route) ==
        std::vector<std::string>{"<sip:192.0.2.10:5060;lr>"});
}

TEST_CASE("A request crossing from UDP to TCP gets a double Record-Route, outgoing side on top") {
  auto cfg = default_config();
  cfg.record_route = true;
  cfg.locals.push_back({tx::transport_protocol::tcp, "192.0.2.10", 5060});
  proxy_fixture f(cfg);
  f.svc.locations["sip:bob@example.com"] = {{"sip:bob@192.0.2.20:5062;transport=tcp", 1.0}};
  f.receive(caller_request(), caller);
  REQUIRE(f.tp.sent().size() == 2);
  const auto& inv = f.tp.sent()[1];
  CHECK(inv.destination.protocol == tx::transport_protocol::tcp);
  CHECK(proxy::header_list(inv.msg, header_id::record_route) ==
        std::vector<std::string>{"<sip:192.0.2.10:5060;transport=tcp;lr>",
                                 "<sip:192.0.2.10:5060;lr>"});
  CHECK(proxy::header_list(inv.msg, header_id::via)[0].rfind("SIP/2.0/TCP 192.0.2.10:5060;", 0) ==
        0);
}

TEST_CASE("A REGISTER that supports path gets our Path when add_path is set") {
  auto cfg = default_config();
  cfg.add_path = true;
  cfg.record_route = true;
  proxy_fixture f(cfg);
  auto reg = caller_request("REGISTER", "sip:registrar.example.net:5090");
  reg.add(header_id::supported, "path");
  f.receive(reg, caller);
  REQUIRE(f.tp.sent().size() == 1);
  CHECK(f.tp.sent()[0].msg.get("Path") == "<sip:192.0.2.10:5060;lr>");
  CHECK_FALSE(f.tp.sent()[0].msg.get(header_id::record_route));  // REGISTER: Path, not RR
  auto plain = caller_request("REGISTER", "sip:registrar.example.net:5090", "z9hG4bKreg2");
  f.receive(plain, caller);
  REQUIRE(f.tp.sent().size() == 2);
  CHECK_FALSE(f.tp.sent()[1].msg.get("Path"));
}

TEST_CASE("100 from downstream is absorbed, 180 and 200 go up with our Via removed") {
  proxy_fixture f;
  f.receive(caller_request(), caller);
  REQUIRE(f.tp.sent().size() == 2);
  f.clock.advance(10ms);
  f.receive(f.answer(1, 100), bob_phone);
  CHECK(f.tp.sent().size() == 2);
  f.receive(f.answer(1, 180), bob_phone);
  REQUIRE(f.tp.sent().size() == 3);
  CHECK(f.tp.sent()[2].msg.status_code() == 180);
  CHECK(f.tp.sent()[2].destination == caller);
  CHECK(proxy::header_list(f.tp.sent()[2].msg, header_id::via) ==
        std::vector<std::string>{"SIP/2.0/UDP 192.0.2.1:5060;branch=z9hG4bKcaller1"});
  f.clock.advance(1s);
  f.receive(f.answer(1, 200), bob_phone);
  REQUIRE(f.tp.sent().size() == 4);
  CHECK(f.tp.sent()[3].msg.status_code() == 200);
  CHECK(f.tp.sent()[3].at == time_point{} + 1010ms);
  CHECK(via_count(f.tp.sent()[3].msg) == 1);
}

TEST_CASE("Both 2xx of a forked INVITE go up at once") {
  proxy_fixture f(two_contacts_config());
  two_contacts(f);
  f.receive(caller_request(), caller);
  auto* to_phone = f.sent_to(bob_phone, "INVITE");
  auto* to_laptop = f.sent_to(bob_laptop, "INVITE");
  REQUIRE(to_phone);
  REQUIRE(to_laptop);
  const std::size_t phone = f.index_of(to_phone), laptop = f.index_of(to_laptop);
  f.receive(f.answer(phone, 200, "phone"), bob_phone);
  f.receive(f.answer(laptop, 200, "laptop"), bob_laptop);
  auto* first = f.sent_to(caller, "200", 0);
  auto* second = f.sent_to(caller, "200", 1);
  REQUIRE(first);
  REQUIRE(second);
  CHECK(first->msg.to()->tag == "phone");
  CHECK(second->msg.to()->tag == "laptop");
  CHECK_FALSE(f.sent_to(bob_laptop, "CANCEL"));  // it had answered already
}

TEST_CASE("A 603 from one branch CANCELs the ringing one and is the answer when both end") {
  proxy_fixture f(two_contacts_config());
  two_contacts(f);
  f.receive(caller_request(), caller);
  const std::size_t phone = f.index_of(f.sent_to(bob_phone, "INVITE"));
  const std::size_t laptop = f.index_of(f.sent_to(bob_laptop, "INVITE"));
  f.receive(f.answer(phone, 180, "phone"), bob_phone);
  f.clock.advance(2s);
  f.receive(f.answer(laptop, 603, "laptop"), bob_laptop);
  auto* cancel = f.sent_to(bob_phone, "CANCEL");
  REQUIRE(cancel);
  CHECK(cancel->at == time_point{} + 2s);
  CHECK(top_branch(cancel->msg) == top_branch(f.tp.sent()[phone].msg));
  CHECK_FALSE(f.sent_to(caller, "603"));  // the phone's branch is still open
  f.receive(f.answer(f.index_of(cancel), 200, "phone"), bob_phone);
  f.receive(f.answer(phone, 487, "phone"), bob_phone);
  auto* best = f.sent_to(caller, "603");
  REQUIRE(best);
  CHECK(best->msg.to()->tag == "laptop");
  CHECK_FALSE(f.sent_to(caller, "487"));
  CHECK(f.sent_to(bob_phone, "ACK"));  // the ICT acknowledged the 487 (§17.1.1.3)
}

TEST_CASE("401 and 407 challenges of two branches reach the caller merged in one 401") {
  proxy_fixture f(two_contacts_config());
  two_contacts(f);
  f.receive(caller_request(), caller);
  const std::size_t phone = f.index_of(f.sent_to(bob_phone, "INVITE"));
  const std::size_t laptop = f.index_of(f.sent_to(bob_laptop, "INVITE"));
  auto r401 = f.answer(phone, 401, "phone");
  r401.add(header_id::www_authenticate, "Digest realm=\"phone\", nonce=\"n1\"");
  auto r407 = f.answer(laptop, 407, "laptop");
  r407.add(header_id::proxy_authenticate, "Digest realm=\"laptop\", nonce=\"n2\"");
  f.receive(r401, bob_phone);
  f.receive(r407, bob_laptop);
  auto* up = f.sent_to(caller, "401");
  REQUIRE(up);
  CHECK(up->msg.get(header_id::www_authenticate) == "Digest realm=\"phone\", nonce=\"n1\"");
  CHECK(up->msg.get(header_id::proxy_authenticate) == "Digest realm=\"laptop\", nonce=\"n2\"");
  CHECK(via_count(up->msg) == 1);
}

TEST_CASE("Timer C: a branch ringing for 181 s after its last provisional is CANCELled, 408 up") {
  proxy_fixture f;
  f.receive(caller_request(), caller);
  f.clock.advance(1s);
  f.receive(f.answer(1, 180), bob_phone);
  f.clock.advance(60s);
  f.receive(f.answer(1, 183), bob_phone);  // re-arms Timer C: 61 s + 181 s
  f.clock.advance(181s - 1ms);
  CHECK_FALSE(f.sent_to(bob_phone, "CANCEL"));
  f.clock.advance(1ms);
  auto* cancel = f.sent_to(bob_phone, "CANCEL");
  REQUIRE(cancel);
  CHECK(cancel->at == time_point{} + 242s);
  auto* timeout = f.sent_to(caller, "408");
  REQUIRE(timeout);
  CHECK(timeout->at == time_point{} + 242s);
  CHECK(f.proxy->statistics().timer_c_fired == 1);
}

TEST_CASE("Timer C is configurable and a branch without provisional counts as 408") {
  auto cfg = default_config();
  cfg.timer_c = 20s;
  proxy_fixture f(cfg);
  f.receive(caller_request(), caller);
  f.clock.advance(20s);
  CHECK_FALSE(f.sent_to(bob_phone, "CANCEL"));  // §9.1: no CANCEL before a provisional
  auto* timeout = f.sent_to(caller, "408");
  REQUIRE(timeout);
  CHECK(timeout->at == time_point{} + 20s);
  // A provisional that comes after all gets the CANCEL, and goes no further.
  f.clock.advance(1s);
  f.receive(f.answer(1, 180), bob_phone);
  auto* cancel = f.sent_to(bob_phone, "CANCEL");
  REQUIRE(cancel);
  CHECK(cancel->at == time_point{} + 21s);
  CHECK_FALSE(f.sent_to(caller, "180"));
}

TEST_CASE("Timer C is not re-armed by 100 Trying, only by 101-199") {
  auto cfg = default_config();
  cfg.timer_c = 20s;
  proxy_fixture f(cfg);
  f.receive(caller_request(), caller);
  f.clock.advance(5s);
  f.receive(f.answer(1, 100), bob_phone);
  f.clock.advance(15s);
  auto* cancel = f.sent_to(bob_phone, "CANCEL");  // a 100 is a provisional: CANCEL allowed
  REQUIRE(cancel);
  CHECK(cancel->at == time_point{} + 20s);
  REQUIRE(f.sent_to(caller, "408"));
}

TEST_CASE("Sequential forking: a 486 from the q=1.0 contact moves on to the q=0.5 contact") {
  proxy_fixture f(two_contacts_config(px::fork_mode::sequential));
  two_contacts(f, 0.5, 1.0);  // the laptop first
  f.receive(caller_request(), caller);
  REQUIRE(f.sent_to(bob_laptop, "INVITE"));
  CHECK_FALSE(f.sent_to(bob_phone, "INVITE"));
  f.clock.advance(3s);
  f.receive(f.answer(f.index_of(f.sent_to(bob_laptop, "INVITE")), 486, "laptop"), bob_laptop);
  auto* next = f.sent_to(bob_phone, "INVITE");
  REQUIRE(next);
  CHECK(next->at == time_point{} + 3s);
  CHECK(next->msg.request_uri() == "sip:bob@192.0.2.20:5062");
  CHECK_FALSE(f.sent_to(caller, "486"));
  f.receive(f.answer(f.index_of(next), 200, "phone"), bob_phone);
  auto* ok = f.sent_to(caller, "200");
  REQUIRE(ok);
  CHECK(ok->msg.to()->tag == "phone");
}

TEST_CASE("Sequential forking: Timer C on a silent first contact moves on to the next") {
  auto cfg = two_contacts_config(px::fork_mode::sequential);
  cfg.timer_c = 15s;
  proxy_fixture f(cfg);
  two_contacts(f, 1.0, 0.5);
  f.receive(caller_request(), caller);
  f.clock.advance(1s);
  f.receive(f.answer(1, 180, "phone"), bob_phone);
  f.clock.advance(15s);
  REQUIRE(f.sent_to(bob_phone, "CANCEL"));
  auto* next = f.sent_to(bob_laptop, "INVITE");
  REQUIRE(next);
  CHECK(next->at == time_point{} + 16s);
}

TEST_CASE("A completed branch leaves no Timer C behind") {
  proxy_fixture f;
  f.receive(caller_request(), caller);
  f.receive(f.answer(1, 180), bob_phone);
  f.clock.advance(1s);
  f.receive(f.answer(1, 200), bob_phone);
  REQUIRE(f.sent_to(caller, "200"));
  // Only the transactions' own timers are left (Timer L / M, 64*T1); once they are done
  // nothing is due: not the 181 s of the Timer C the 180 armed.
  REQUIRE(f.proxy->next_deadline());
  CHECK(*f.proxy->next_deadline() <= time_point{} + 1s + 32s);
  f.clock.advance(40s);
  CHECK(f.proxy->manager().size() == 0);
  CHECK(f.proxy->contexts() == 0);
  CHECK_FALSE(f.proxy->next_deadline());
}

TEST_CASE("Our stateful branches carry the loop hash and keep it on RFC 3263 failover") {
  proxy_fixture f;
  f.svc.locations["sip:bob@example.com"] = {{"sip:bob@bob.example.org", 1.0}};
  f.svc.async = true;
  f.receive(caller_request(), caller);
  REQUIRE(f.svc.lookups.size() == 1);
  f.proxy->set_targets(f.svc.lookups[0].first, {{"sip:bob@bob.example.org", 1.0}}, f.clock.now());
  REQUIRE(f.svc.resolutions.size() == 1);
  f.proxy->set_next_hops(f.svc.resolutions[0].first, {bob_phone, bob_laptop}, f.clock.now());
  auto* sent_first = f.sent_to(bob_phone, "INVITE");
  REQUIRE(sent_first);
  // A copy: the transport's record list grows (and moves) with the failover's sends.
  const parser::message first_msg = sent_first->msg;
  const std::string loop = proxy::loop_hash(caller_request(), f.proxy->configuration().secret);
  CHECK(proxy::branch_loop_part(top_branch(first_msg)) == loop);
  f.clock.advance(32s);  // Timer B: the next endpoint, a new branch with the same loop part
  auto* second = f.sent_to(bob_laptop, "INVITE");
  REQUIRE(second);
  CHECK(top_branch(second->msg) != top_branch(first_msg));
  CHECK(proxy::branch_loop_part(top_branch(second->msg)) == loop);
  // The failover branch sent back to us unchanged is a loop.
  parser::message looped = second->msg;
  looped.push_front(header_id::via, "SIP/2.0/UDP 192.0.2.21:5064;branch=z9hG4bKback1");
  looped.set_request_uri("sip:bob@example.com");
  f.receive(looped, bob_laptop);
  auto* refusal = f.sent_to(bob_laptop, "482");
  REQUIRE(refusal);
  CHECK(f.proxy->statistics().loops == 1);
}

TEST_CASE("A CANCEL from the caller is answered 200 and fanned out to every ringing branch") {
  proxy_fixture f(two_contacts_config());
  two_contacts(f);
  f.receive(caller_request(), caller);
  const std::size_t phone = f.index_of(f.sent_to(bob_phone, "INVITE"));
  const std::size_t laptop = f.index_of(f.sent_to(bob_laptop, "INVITE"));
  f.receive(f.answer(phone, 180, "phone"), bob_phone);
  f.receive(f.answer(laptop, 180, "laptop"), bob_laptop);
  f.clock.advance(5s);
  auto cancel = caller_request("CANCEL");
  cancel.set(header_id::cseq, "1 CANCEL");
  f.receive(cancel, caller);
  auto* ok = f.sent_to(caller, "200");
  REQUIRE(ok);
  CHECK(ok->msg.cseq()->method_text == "CANCEL");
  auto* c1 = f.sent_to(bob_phone, "CANCEL");
  auto* c2 = f.sent_to(bob_laptop, "CANCEL");
  REQUIRE(c1);
  REQUIRE(c2);
  CHECK(c1->at == time_point{} + 5s);
  CHECK(c2->at == time_point{} + 5s);
  f.receive(f.answer(phone, 487, "phone"), bob_phone);
  CHECK_FALSE(f.sent_to(caller, "487"));
  f.receive(f.answer(laptop, 487, "laptop"), bob_laptop);
  auto* terminated = f.sent_to(caller, "487");
  REQUIRE(terminated);
  CHECK_FALSE(f.sent_to(caller, "487", 1));
}

TEST_CASE("A CANCEL for a branch without provisional goes out when its 180 arrives") {
  proxy_fixture f;
  f.receive(caller_request(), caller);
  auto cancel = caller_request("CANCEL");
  cancel.set(header_id::cseq, "1 CANCEL");
  f.receive(cancel, caller);
  CHECK_FALSE(f.sent_to(bob_phone, "CANCEL"));
  f.clock.advance(1s);
  f.receive(f.answer(1, 180), bob_phone);
  auto* c = f.sent_to(bob_phone, "CANCEL");
  REQUIRE(c);
  CHECK(c->at == time_point{} + 1s);
}

TEST_CASE("A CANCEL without a response context is forwarded statelessly (16.10)") {
  proxy_fixture f;
  f.clock.advance(2s);
  auto cancel = caller_request("CANCEL");
  cancel.set(header_id::cseq, "1 CANCEL");
  f.receive(cancel, caller);
  REQUIRE(f.tp.sent().size() == 1);  // no 481, no 200: it goes on
  const auto& out = f.tp.sent()[0];
  CHECK(out.destination == bob_phone);
  CHECK(out.at == time_point{} + 2s);
  CHECK(out.msg.method_text() == "CANCEL");
  CHECK(out.msg.request_uri() == "sip:bob@192.0.2.20:5062");
  CHECK(top_branch(out.msg) == proxy::stateless_branch(cancel, f.proxy->configuration().secret));
  CHECK(via_count(out.msg) == 2);
  // The next hop's answer comes back by our Via and answers the caller's CANCEL.
  f.clock.advance(1s);
  f.receive(parser::make_response(out.msg, 481, {}, "b1"), bob_phone);
  REQUIRE(f.tp.sent().size() == 2);
  const auto& up = f.tp.sent()[1];
  CHECK(up.destination == caller);
  CHECK(up.at == time_point{} + 3s);
  CHECK(up.msg.status_code() == 481);
  CHECK(up.msg.cseq()->method_text == "CANCEL");
  CHECK(via_count(up.msg) == 1);
  CHECK(top_branch(up.msg) == "z9hG4bKcaller1");
  // The caller's retransmission gets the same answer from the server transaction.
  f.receive(cancel, caller);
  REQUIRE(f.tp.sent().size() == 3);
  CHECK(f.tp.sent()[2].msg.status_code() == 481);
  CHECK(f.tp.sent()[2].destination == caller);
}

TEST_CASE("A CANCEL without a response context is validated before it is forwarded") {
  proxy_fixture f;
  auto cancel = caller_request("CANCEL");
  cancel.set(header_id::cseq, "1 CANCEL");
  cancel.set(header_id::max_forwards, "0");
  f.receive(cancel, caller);
  REQUIRE(f.tp.sent().size() == 1);
  CHECK(f.tp.sent()[0].destination == caller);
  CHECK(f.tp.sent()[0].msg.status_code() == 483);
}

TEST_CASE("A CANCEL without context that cannot be forwarded is refused on its transaction") {
  proxy_fixture f;
  auto cancel = caller_request("CANCEL", "sip:nobody@example.com");
  cancel.set(header_id::cseq, "1 CANCEL");
  f.receive(cancel, caller);
  REQUIRE(f.tp.sent().size() == 1);  // location has no contact for it: 404, not forwarded
  CHECK(f.tp.sent()[0].destination == caller);
  CHECK(f.tp.sent()[0].msg.status_code() == 404);
  f.receive(cancel, caller);  // the retransmission: the server transaction answers again
  REQUIRE(f.tp.sent().size() == 2);
  CHECK(f.tp.sent()[1].msg.status_code() == 404);
  f.clock.advance(40s);
  CHECK_FALSE(f.sent_to(caller, "408"));  // no second final response after 64*T1
}

TEST_CASE("A stray CANCEL nobody answers is ended with 408 after 64*T1") {
  proxy_fixture f;
  auto cancel = caller_request("CANCEL");
  cancel.set(header_id::cseq, "1 CANCEL");
  f.receive(cancel, caller);
  REQUIRE(f.tp.sent().size() == 1);
  CHECK(f.proxy->next_deadline() == time_point{} + 32s);
  f.clock.advance(32s);
  auto* timeout = f.sent_to(caller, "408");
  REQUIRE(timeout);
  CHECK(timeout->at == time_point{} + 32s);
  CHECK(timeout->msg.cseq()->method_text == "CANCEL");
}

TEST_CASE("The ACK for a 2xx is forwarded statelessly by its Route with a stable branch") {
  proxy_fixture f;
  auto ack = caller_request("ACK", "sip:bob@192.0.2.20:5062", "z9hG4bKack1");
  ack.set(header_id::to, "Bob <sip:bob@example.com>;tag=b1");
  ack.add(header_id::route, "<sip:192.0.2.10:5060;lr>");
  f.receive(ack, caller);
  REQUIRE(f.tp.sent().size() == 1);
  const auto out = f.tp.sent()[0];  // a copy: the record vector grows below
  CHECK(out.destination == bob_phone);
  CHECK(out.msg.method_text() == "ACK");
  CHECK_FALSE(out.msg.get(header_id::route));
  CHECK(out.msg.get(header_id::max_forwards) == "69");
  CHECK(top_branch(out.msg) == proxy::stateless_branch(ack, f.proxy->configuration().secret));
  CHECK(via_count(out.msg) == 2);
  f.receive(ack, caller);  // a retransmission of the ACK
  REQUIRE(f.tp.sent().size() == 2);
  CHECK(top_branch(f.tp.sent()[1].msg) == top_branch(out.msg));
  CHECK(f.svc.lookups.empty());
}

TEST_CASE("A 2xx that matches no transaction is forwarded by Via when the top Via is ours") {
  proxy_fixture f;
  auto ok = parser::make_response(caller_request(), 200, {}, "b1");
  ok.push_front(header_id::via, "SIP/2.0/UDP 192.0.2.10:5060;branch=z9hG4bKgone");
  f.receive(ok, bob_phone);
  REQUIRE(f.tp.sent().size() == 1);
  CHECK(f.tp.sent()[0].destination == caller);
  CHECK(via_count(f.tp.sent()[0].msg) == 1);
  auto not_ours = parser::make_response(caller_request(), 200, {}, "b1");
  not_ours.push_front(header_id::via, "SIP/2.0/UDP 192.0.2.99:5060;branch=z9hG4bKgone");
  f.receive(not_ours, bob_phone);
  CHECK(f.tp.sent().size() == 1);
}

TEST_CASE("Location may answer later: the INVITE is forwarded when the targets arrive") {
  proxy_fixture f;
  f.svc.async = true;
  f.receive(caller_request(), caller);
  REQUIRE(f.tp.sent().size() == 1);  // 100 Trying
  REQUIRE(f.svc.lookups.size() == 1);
  f.clock.advance(300ms);
  f.proxy->set_targets(f.svc.lookups[0].first, {{"sip:bob@192.0.2.20:5062", 1.0}}, f.clock.now());
  REQUIRE(f.svc.resolutions.size() == 1);
  CHECK(f.svc.resolutions[0].second == "sip:bob@192.0.2.20:5062");
  f.clock.advance(200ms);
  f.proxy->set_next_hops(f.svc.resolutions[0].first, {bob_phone}, f.clock.now());
  REQUIRE(f.tp.sent().size() == 2);
  CHECK(f.tp.sent()[1].at == time_point{} + 500ms);
  CHECK(f.tp.sent()[1].destination == bob_phone);
}

TEST_CASE("Location may refuse with its own response, such as a 407 challenge") {
  proxy_fixture f;
  f.svc.async = true;
  f.receive(caller_request(), caller);
  auto challenge = parser::make_response(caller_request(), 407, {}, "px1");
  challenge.add(header_id::proxy_authenticate, "Digest realm=\"example.com\", nonce=\"abc\"");
  f.proxy->respond(f.svc.lookups[0].first, challenge, f.clock.now());
  REQUIRE(f.tp.sent().size() == 2);
  CHECK(f.tp.sent()[1].msg.status_code() == 407);
  CHECK(f.tp.sent()[1].destination == caller);
  CHECK(f.svc.resolutions.empty());
}

TEST_CASE("A CANCEL while location is pending ends the INVITE with 487 and ignores the answer") {
  proxy_fixture f;
  f.svc.async = true;
  f.receive(caller_request(), caller);
  auto cancel = caller_request("CANCEL");
  cancel.set(header_id::cseq, "1 CANCEL");
  f.receive(cancel, caller);
  CHECK(f.sent_to(caller, "487"));
  f.proxy->set_targets(f.svc.lookups[0].first, {{"sip:bob@192.0.2.20:5062", 1.0}}, f.clock.now());
  CHECK(f.svc.resolutions.empty());
}

TEST_CASE("A timed-out non-INVITE branch is answered 408 at Timer F, 64*T1") {
  proxy_fixture f;
  f.receive(caller_request("MESSAGE", "sip:bob@example.com"), caller);
  f.clock.advance(32s);
  auto* timeout = f.sent_to(caller, "408");
  REQUIRE(timeout);
  CHECK(timeout->at == time_point{} + 32s);
}

TEST_CASE("A finished call leaves no response context behind") {
  proxy_fixture f;
  f.receive(caller_request(), caller);
  f.receive(f.answer(1, 486), bob_phone);
  CHECK(f.sent_to(caller, "486"));
  f.clock.advance(64s);
  CHECK(f.proxy->contexts() == 0);
  CHECK(f.proxy->manager().size() == 0);
}

TEST_CASE("A stateless proxy answers an OPTIONS for its own URI with 200") {
  auto cfg = default_config();
  cfg.stateless = true;
  proxy_fixture f(cfg);
  f.receive(caller_request("OPTIONS", "sip:192.0.2.10:5060"), caller);
  REQUIRE(f.tp.sent().size() == 1);
  CHECK(f.tp.sent()[0].destination == caller);
  CHECK(f.tp.sent()[0].msg.status_code() == 200);
  CHECK(f.tp.sent()[0].msg.get(header_id::allow));
  CHECK(f.svc.lookups.empty());
}

TEST_CASE("Stateless: the forwarded request's branch is the same for its retransmission") {
  auto cfg = default_config();
  cfg.stateless = true;
  proxy_fixture f(cfg);
  f.receive(caller_request(), caller);
  f.clock.advance(500ms);
  f.receive(caller_request(), caller);
  REQUIRE(f.tp.sent().size() == 2);  // no 100 Trying, no transaction
  CHECK(f.proxy->manager().size() == 0);
  const std::string branch = top_branch(f.tp.sent()[0].msg);
  CHECK(branch == top_branch(f.tp.sent()[1].msg));
  CHECK(branch == proxy::stateless_branch(caller_request(), cfg.secret));
  CHECK(f.tp.sent()[0].msg.request_uri() == "sip:bob@192.0.2.20:5062");
  CHECK(f.tp.sent()[0].destination == bob_phone);
  auto cancel = caller_request("CANCEL");
  cancel.set(header_id::cseq, "1 CANCEL");
  f.receive(cancel, caller);
  REQUIRE(f.tp.sent().size() == 3);
  CHECK(top_branch(f.tp.sent()[2].msg) == branch);
}

TEST_CASE("Stateless: a response goes back by Via with our Via removed") {
  auto cfg = default_config();
  cfg.stateless = true;
  proxy_fixture f(cfg);
  f.receive(caller_request(), caller);
  f.receive(f.answer(0, 180), bob_phone);
  REQUIRE(f.tp.sent().size() == 2);
  CHECK(f.tp.sent()[1].destination == caller);
  CHECK(f.tp.sent()[1].msg.status_code() == 180);
  CHECK(proxy::header_list(f.tp.sent()[1].msg, header_id::via) ==
        std::vector<std::string>{"SIP/2.0/UDP 192.0.2.1:5060;branch=z9hG4bKcaller1"});
}

TEST_CASE("Stateless: a request that loops back to us is answered 482") {
  auto cfg = default_config();
  cfg.stateless = true;
  proxy_fixture f(cfg);
  f.svc.locations["sip:bob@example.com"] = {{"sip:bob@192.0.2.30:5070", 1.0}};
  f.receive(caller_request(), caller);
  parser::message looped = f.tp.sent()[0].msg;
  looped.push_front(header_id::via, "SIP/2.0/UDP 192.0.2.30:5070;branch=z9hG4bKother1");
  looped.set_request_uri("sip:bob@example.com");
  f.receive(looped, {"192.0.2.30", 5070, tx::transport_protocol::udp, 0});
  REQUIRE(f.tp.sent().size() == 2);
  CHECK(f.tp.sent()[1].msg.status_code() == 482);
}

TEST_CASE("An OPTIONS for the proxy's own URI is answered 200 with Allow, not forwarded") {
  proxy_fixture f;
  f.receive(caller_request("OPTIONS", "sip:192.0.2.10:5060"), caller);
  REQUIRE(f.tp.sent().size() == 1);
  CHECK(f.tp.sent()[0].msg.status_code() == 200);
  CHECK(f.tp.sent()[0].msg.get(header_id::allow) == "INVITE, ACK, CANCEL, BYE, OPTIONS, REGISTER");
  CHECK(f.proxy->contexts() == 0);
}

TEST_CASE("An ACK with Max-Forwards 0 is dropped, never answered") {
  proxy_fixture f;
  auto ack = caller_request("ACK", "sip:bob@192.0.2.20:5062", "z9hG4bKack1");
  ack.set(header_id::to, "Bob <sip:bob@example.com>;tag=b1");
  ack.set(header_id::max_forwards, "0");
  f.receive(ack, caller);
  CHECK(f.tp.sent().empty());
}

TEST_CASE("A request that hairpins through us with another Route is a spiral, not a loop") {
  proxy_fixture f;
  auto bye = caller_request("BYE", "sip:bob@192.0.2.20:5062");
  bye.set(header_id::to, "Bob <sip:bob@example.com>;tag=b1");
  bye.add(header_id::route, "<sip:192.0.2.10;lr>, <sip:192.0.2.30:5070;lr>, <sip:192.0.2.10;lr>");
  f.receive(bye, caller);
  REQUIRE(f.tp.sent().size() == 1);
  // The element at 192.0.2.30 pops its Route and sends the request back to us.
  parser::message back = f.tp.sent()[0].msg;
  back.push_front(header_id::via, "SIP/2.0/UDP 192.0.2.30:5070;branch=z9hG4bKsbc1");
  back.set(header_id::route, "<sip:192.0.2.10;lr>");
  f.receive(back, {"192.0.2.30", 5070, tx::transport_protocol::udp, 0});
  REQUIRE(f.tp.sent().size() == 2);
  CHECK(f.tp.sent()[1].msg.method_text() == "BYE");
  CHECK(f.tp.sent()[1].destination == bob_phone);
  CHECK(f.proxy->statistics().loops == 0);
}

TEST_CASE("A request arriving over TCP is answered on its connection") {
  proxy_fixture f;
  const tx::endpoint tcp_caller{"192.0.2.1", 40000, tx::transport_protocol::tcp, 17};
  auto m = caller_request();
  m.set(header_id::via, "SIP/2.0/TCP 192.0.2.1:5060;branch=z9hG4bKtcp1");
  f.receive(m, tcp_caller);
  REQUIRE(f.tp.sent().size() == 2);
  CHECK(f.tp.sent()[0].destination == tcp_caller);
  f.receive(f.answer(1, 180), bob_phone);
  REQUIRE(f.tp.sent().size() == 3);
  CHECK(f.tp.sent()[2].destination == tcp_caller);
}

TEST_CASE("A registrar in the same program answers a REGISTER through respond") {
  proxy_fixture f;
  f.svc.async = true;
  auto reg = caller_request("REGISTER", "sip:example.com");
  reg.set(header_id::to, "Bob <sip:bob@example.com>");
  f.receive(reg, caller);
  REQUIRE(f.svc.lookups.size() == 1);
  CHECK(f.svc.lookups[0].second == "sip:example.com");
  auto ok = parser::make_response(reg, 200, {}, "reg1");
  ok.add(header_id::contact, "<sip:bob@192.0.2.20:5062>;expires=3600");
  f.proxy->respond(f.svc.lookups[0].first, ok, f.clock.now());
  REQUIRE(f.tp.sent().size() == 1);
  CHECK(f.tp.sent()[0].msg.status_code() == 200);
  CHECK(f.tp.sent()[0].msg.get(header_id::contact) == "<sip:bob@192.0.2.20:5062>;expires=3600");
  f.clock.advance(1s);
  CHECK(f.proxy->contexts() == 0);
}

TEST_CASE("RFC 3263 §4.3: a silent first endpoint is left at Timer B for the next one") {
  proxy_fixture f;
  f.svc.async = true;
  f.receive(caller_request(), caller);
  f.proxy->set_targets(f.svc.lookups[0].first, {{"sip:bob@bob.example.net", 1.0}}, f.clock.now());
  REQUIRE(f.svc.resolutions.size() == 1);
  CHECK(f.svc.resolutions[0].second == "sip:bob@bob.example.net");
  f.proxy->set_next_hops(f.svc.resolutions[0].first, {bob_phone, bob_laptop}, f.clock.now());
  REQUIRE(f.sent_to(bob_phone, "INVITE"));
  f.clock.advance(32s);
  auto* second = f.sent_to(bob_laptop, "INVITE");
  REQUIRE(second);
  CHECK(second->at == time_point{} + 32s);
  CHECK(second->msg.request_uri() == "sip:bob@bob.example.net");
  CHECK_FALSE(f.sent_to(caller, "408"));
}

TEST_CASE("A transport error on the only branch reaches the caller as 500 (a 503 is ours)") {
  proxy_fixture f;
  f.tp.fail_nth_send(2, std::make_error_code(std::errc::connection_refused));  // the INVITE
  f.receive(caller_request(), caller);
  auto* up = f.sent_to(caller, "500");
  REQUIRE(up);
  CHECK(up->at == time_point{});
}

TEST_CASE("A next hop that resolves to nothing fails its branch") {
  proxy_fixture f;
  f.svc.async = true;
  f.receive(caller_request(), caller);
  f.proxy->set_targets(f.svc.lookups[0].first, {{"sip:bob@nowhere.invalid", 1.0}}, f.clock.now());
  f.proxy->set_next_hops(f.svc.resolutions[0].first, {}, f.clock.now());
  REQUIRE(f.sent_to(caller, "500"));
}

TEST_CASE("A next hop the binding fails (a flow gone) reaches the caller as 430, not 500") {
  proxy_fixture f;
  f.svc.async = true;
  f.receive(caller_request(), caller);
  f.proxy->set_targets(f.svc.lookups[0].first, {{"sip:bob@192.0.2.20;transport=ws", 1.0}},
                       f.clock.now());
  REQUIRE(f.svc.resolutions.size() == 1);
  // RFC 5626 §5.3: the outbound flow closed between the lookup and the send.
  f.proxy->fail_next_hop(f.svc.resolutions[0].first, 430, "Flow Failed", f.clock.now());
  auto* up = f.sent_to(caller, "430");
  REQUIRE(up);
  CHECK(up->msg.reason_phrase() == "Flow Failed");
  CHECK_FALSE(f.sent_to(caller, "500"));
  // Nothing went towards Bob; the resolution is spent.
  f.proxy->set_next_hops(f.svc.resolutions[0].first, {bob_phone}, f.clock.now());
  CHECK(f.tp.sent().size() == 2);  // the 100 and the 430
}

TEST_CASE("A failed next hop without outbound reaches the caller as 480, its usual phrase") {
  proxy_fixture f;
  f.svc.async = true;
  f.receive(caller_request(), caller);
  f.proxy->set_targets(f.svc.lookups[0].first, {{"sip:bob@192.0.2.20;transport=ws", 1.0}},
                       f.clock.now());
  f.proxy->fail_next_hop(f.svc.resolutions[0].first, 480, {}, f.clock.now());
  auto* up = f.sent_to(caller, "480");
  REQUIRE(up);
  CHECK(up->msg.reason_phrase() == "Temporarily Unavailable");
  CHECK_THROWS_AS(f.proxy->fail_next_hop(1, 200, {}, f.clock.now()), std::invalid_argument);
}

TEST_CASE("Stateless: Record-Route and the 2xx ACK by Route, no transaction either way") {
  auto cfg = default_config();
  cfg.stateless = true;
  cfg.record_route = true;
  proxy_fixture f(cfg);
  f.receive(caller_request(), caller);
  REQUIRE(f.tp.sent().size() == 1);
  CHECK(f.tp.sent()[0].msg.get(header_id::record_route) == "<sip:192.0.2.10:5060;lr>");
  auto ack = caller_request("ACK", "sip:bob@192.0.2.20:5062", "z9hG4bKack1");
  ack.set(header_id::to, "Bob <sip:bob@example.com>;tag=b1");
  ack.add(header_id::route, "<sip:192.0.2.10:5060;lr>");
  f.receive(ack, caller);
  REQUIRE(f.tp.sent().size() == 2);
  CHECK(f.tp.sent()[1].destination == bob_phone);
  CHECK_FALSE(f.tp.sent()[1].msg.get(header_id::record_route));
  CHECK_FALSE(f.tp.sent()[1].msg.get(header_id::route));
  CHECK(f.proxy->manager().size() == 0);
}

TEST_CASE("Stateless: the Via of a NATed sender gets received and rport for the way back") {
  auto cfg = default_config();
  cfg.stateless = true;
  proxy_fixture f(cfg);
  auto m = caller_request();
  m.set(header_id::via, "SIP/2.0/UDP 10.0.0.5:5060;branch=z9hG4bKnat1;rport");
  const tx::endpoint nat{"198.51.100.7", 40000, tx::transport_protocol::udp, 0};
  f.receive(m, nat);
  REQUIRE(f.tp.sent().size() == 1);
  CHECK(proxy::header_list(f.tp.sent()[0].msg, header_id::via)[1] ==
        "SIP/2.0/UDP 10.0.0.5:5060;branch=z9hG4bKnat1;rport=40000;received=198.51.100.7");
  f.receive(f.answer(0, 200), bob_phone);
  REQUIRE(f.tp.sent().size() == 2);
  CHECK(f.tp.sent()[1].destination == nat);
}
