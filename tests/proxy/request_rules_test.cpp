// The §16 step rules on their own (request_rules.hpp): each step its own test.
#include "sipkit/proxy/request_rules.hpp"

#include <catch2/catch.hpp>
#include <vector>

#include "harness.hpp"

using namespace sipkit;
using namespace sipkit::test;
using proxy::local_address;

namespace {

const std::vector<local_address> locals{{tx::transport_protocol::udp, "192.0.2.10", 5060},
                                        {tx::transport_protocol::tcp, "192.0.2.10", 5060}};

std::optional<parser::message> validate(const parser::message& m,
                                        proxy::validation_config cfg = {}) {
  return proxy::validate_request(m, cfg, locals);
}

}  // namespace

TEST_CASE("§16.3 step 3: Max-Forwards 0 is answered 483 with a To tag") {
  auto m = caller_request();
  m.set(header_id::max_forwards, "0");
  auto r = validate(m);
  REQUIRE(r);
  CHECK(r->status_code() == 483);
  CHECK(r->reason_phrase() == "Too Many Hops");
  CHECK_FALSE(r->to()->tag.empty());
  CHECK(r->get(header_id::via) == m.get(header_id::via));
  CHECK(r->get(header_id::call_id) == m.get(header_id::call_id));
}

TEST_CASE("§16.3 step 3: an OPTIONS to us with Max-Forwards 0 is answered 200 with Allow") {
  auto m = caller_request("OPTIONS", "sip:192.0.2.10");
  m.set(header_id::max_forwards, "0");
  auto r = validate(m);
  REQUIRE(r);
  CHECK(r->status_code() == 200);
  CHECK(r->get(header_id::allow) == "INVITE, ACK, CANCEL, BYE, OPTIONS, REGISTER");
  auto elsewhere = caller_request("OPTIONS", "sip:carol@example.net");
  elsewhere.set(header_id::max_forwards, "0");
  CHECK(validate(elsewhere)->status_code() == 483);
}

TEST_CASE("§16.3 step 3: Max-Forwards 1 passes validation") {
  auto m = caller_request();
  m.set(header_id::max_forwards, "1");
  CHECK_FALSE(validate(m));
}

TEST_CASE("§16.3 step 2: a Request-URI scheme the proxy does not know is answered 416") {
  auto m = caller_request("INVITE", "tel:+15551234567");
  auto r = validate(m);
  REQUIRE(r);
  CHECK(r->status_code() == 416);
  proxy::validation_config cfg;
  cfg.extra_schemes = {"tel"};
  CHECK_FALSE(validate(m, cfg));
}

TEST_CASE("§16.3 step 5: unknown Proxy-Require option tags are answered 420 with Unsupported") {
  auto m = caller_request();
  m.add(header_id::proxy_require, "foo, sec-agree");
  m.add(header_id::proxy_require, "bar");
  proxy::validation_config cfg;
  cfg.supported_extensions = {"sec-agree"};
  auto r = validate(m, cfg);
  REQUIRE(r);
  CHECK(r->status_code() == 420);
  CHECK(r->get(header_id::unsupported) == "foo, bar");
}

TEST_CASE("§16.3 step 1: a request whose CSeq method differs from its method is answered 400") {
  auto m = caller_request();
  m.set(header_id::cseq, "1 BYE");
  CHECK(validate(m)->status_code() == 400);
}

TEST_CASE("§16.4: our own loose Route entry is popped and the next one stays") {
  auto m = caller_request("BYE", "sip:bob@192.0.2.20:5062");
  m.add(header_id::route, "<sip:192.0.2.10;lr>, <sip:192.0.2.30:5070;lr>");
  auto out = proxy::preprocess_route(m, locals);
  CHECK(out.popped == 1);
  CHECK_FALSE(out.strict_fixup);
  CHECK(m.get(header_id::route) == "<sip:192.0.2.30:5070;lr>");
  CHECK(m.request_uri() == "sip:bob@192.0.2.20:5062");
}

TEST_CASE("§16.4: both entries of a double Record-Route are popped") {
  auto m = caller_request("BYE", "sip:bob@192.0.2.20:5062");
  m.add(header_id::route, "<sip:192.0.2.10:5060;transport=tcp;lr>");
  m.add(header_id::route, "<sip:192.0.2.10:5060;lr>");
  auto out = proxy::preprocess_route(m, locals);
  CHECK(out.popped == 2);
  CHECK_FALSE(m.get(header_id::route));
}

TEST_CASE("§16.4: a Route entry for another port of our host is not ours") {
  auto m = caller_request("BYE", "sip:bob@192.0.2.20:5062");
  m.add(header_id::route, "<sip:192.0.2.10:5080;lr>");
  CHECK(proxy::preprocess_route(m, locals).popped == 0);
  CHECK(m.get(header_id::route) == "<sip:192.0.2.10:5080;lr>");
}

TEST_CASE(
    "§16.4: a Request-URI naming us (a strict router before us) is replaced by the last Route") {
  auto m = caller_request("BYE", "sip:192.0.2.10;lr");
  m.add(header_id::route, "<sip:192.0.2.30:5070;lr>, <sip:bob@192.0.2.20:5062>");
  auto out = proxy::preprocess_route(m, locals);
  CHECK(out.strict_fixup);
  CHECK(m.request_uri() == "sip:bob@192.0.2.20:5062");
  CHECK(m.get(header_id::route) == "<sip:192.0.2.30:5070;lr>");
}

TEST_CASE("§16.6 steps 2-3: the copy gets the target as Request-URI and Max-Forwards minus one") {
  auto m = caller_request();
  auto f = proxy::make_forward(m, "sip:bob@192.0.2.20:5062", {});
  CHECK(f.request_uri() == "sip:bob@192.0.2.20:5062");
  CHECK(f.get(header_id::max_forwards) == "69");
  CHECK(m.request_uri() == "sip:bob@example.com");  // the original is untouched
  m.remove(header_id::max_forwards);
  CHECK(proxy::make_forward(m, "sip:bob@192.0.2.20:5062", {}).get(header_id::max_forwards) == "70");
}

TEST_CASE("§16.6 step 4: Record-Route entries are pushed on top, the first one topmost") {
  auto m = caller_request();
  m.add(header_id::record_route, "<sip:upstream.example.org;lr>");
  proxy::forward_options opts;
  opts.record_route = {"sip:192.0.2.10:5060;transport=tcp;lr", "sip:192.0.2.10:5060;lr"};
  auto f = proxy::make_forward(m, "sip:bob@192.0.2.20:5062", opts);
  CHECK(proxy::header_list(f, header_id::record_route) ==
        std::vector<std::string>{"<sip:192.0.2.10:5060;transport=tcp;lr>",
                                 "<sip:192.0.2.10:5060;lr>", "<sip:upstream.example.org;lr>"});
}

TEST_CASE("Record-Route URIs carry the transport except for UDP, and lr") {
  CHECK(proxy::record_route_uri({tx::transport_protocol::udp, "192.0.2.10", 5060}) ==
        "sip:192.0.2.10:5060;lr");
  CHECK(proxy::record_route_uri({tx::transport_protocol::tls, "proxy.example.com", 0}) ==
        "sip:proxy.example.com;transport=tls;lr");
}

TEST_CASE("RFC 3327: Path is pushed on top of the Path entries already there") {
  auto m = caller_request("REGISTER", "sip:example.com");
  m.add("Path", "<sip:edge.example.org;lr>");
  proxy::forward_options opts;
  opts.path = "sip:192.0.2.10:5060;lr";
  auto f = proxy::make_forward(m, "sip:registrar.example.com", opts);
  CHECK(f.get("Path") == "<sip:192.0.2.10:5060;lr>, <sip:edge.example.org;lr>");
}

TEST_CASE("§16.6 step 6: a strict next hop takes the Request-URI's place, which ends the Route") {
  auto m = caller_request("BYE", "sip:bob@192.0.2.20:5062");
  m.add(header_id::route, "<sip:strict.example.org>, <sip:192.0.2.30;lr>");
  CHECK(proxy::strict_next_hop(m));
  auto f = proxy::make_forward(m, "sip:bob@192.0.2.20:5062", {});
  CHECK(f.request_uri() == "sip:strict.example.org");
  CHECK(f.get(header_id::route) == "<sip:192.0.2.30;lr>, <sip:bob@192.0.2.20:5062>");
  CHECK(proxy::next_hop_uri(f, true) == "sip:strict.example.org");
}

TEST_CASE("§16.6 step 7: the next hop is the first loose Route entry, else the Request-URI") {
  auto m = caller_request("BYE", "sip:bob@192.0.2.20:5062");
  CHECK(proxy::next_hop_uri(m, false) == "sip:bob@192.0.2.20:5062");
  m.add(header_id::route, "\"edge\" <sip:192.0.2.30:5070;lr>;x=1");
  CHECK_FALSE(proxy::strict_next_hop(m));
  CHECK(proxy::next_hop_uri(m, false) == "sip:192.0.2.30:5070;lr");
}

TEST_CASE("§16.6 step 8: the loop hash changes with the Request-URI (a spiral), not with Via") {
  auto a = caller_request();
  auto b = caller_request();
  b.push_front(header_id::via, "SIP/2.0/UDP 192.0.2.30;branch=z9hG4bKother");
  CHECK(proxy::loop_hash(a) == proxy::loop_hash(b));
  auto spiral = caller_request("INVITE", "sip:carol@example.com");
  CHECK(proxy::loop_hash(a) != proxy::loop_hash(spiral));
  CHECK(proxy::loop_hash(a).size() == 16);
}

TEST_CASE("§16.11: the stateless branch is the same for a retransmission, the CANCEL and the ACK") {
  auto invite = caller_request();
  const std::string branch = proxy::stateless_branch(invite, 42);
  CHECK(branch.substr(0, 7) == "z9hG4bK");
  CHECK(branch.size() == 7 + 16 + 1 + 16);
  CHECK(proxy::stateless_branch(caller_request(), 42) == branch);
  auto cancel = caller_request("CANCEL");
  cancel.set(header_id::cseq, "1 CANCEL");
  CHECK(proxy::stateless_branch(cancel, 42) == branch);
  CHECK(proxy::branch_loop_part(branch) == proxy::loop_hash(invite, 42));
  // Another transaction, or another secret, gets another branch.
  CHECK(proxy::stateless_branch(caller_request("INVITE", "sip:bob@example.com", "z9hG4bKx"), 42) !=
        branch);
  CHECK(proxy::stateless_branch(invite, 43) != branch);
}

TEST_CASE("§16.7 step 3: the top via-parm is removed, whether on its own line or in a list") {
  auto r = parser::message::response(200);
  r.add(header_id::via, "SIP/2.0/UDP 192.0.2.10;branch=z9hG4bKp, SIP/2.0/UDP 192.0.2.1");
  r.add(header_id::via, "SIP/2.0/UDP 192.0.2.0");
  proxy::pop_via(r);
  CHECK(proxy::header_list(r, header_id::via) ==
        std::vector<std::string>{"SIP/2.0/UDP 192.0.2.1", "SIP/2.0/UDP 192.0.2.0"});
  proxy::pop_via(r);
  CHECK(r.get(header_id::via) == "SIP/2.0/UDP 192.0.2.0");
}

TEST_CASE("§18.2.2: a response goes to received and rport of its top Via") {
  auto r = parser::message::response(200);
  r.add(header_id::via, "SIP/2.0/TCP client.example.com;received=198.51.100.7;rport=40000");
  auto d = proxy::response_destination(r);
  REQUIRE(d);
  CHECK(d->host == "198.51.100.7");
  CHECK(d->port == 40000);
  CHECK(d->protocol == tx::transport_protocol::tcp);
  r.set(header_id::via, "SIP/2.0/TLS [2001:db8::1]");
  d = proxy::response_destination(r);
  CHECK(d->host == "2001:db8::1");
  CHECK(d->port == 5061);
}

TEST_CASE("§18.2.1: received and the rport value are stamped on the top Via when needed") {
  auto m = caller_request();
  m.set(header_id::via, "SIP/2.0/UDP pc33.example.com;branch=z9hG4bK1;rport");
  proxy::stamp_received(m, {"198.51.100.7", 40000, tx::transport_protocol::udp, 0});
  CHECK(m.get(header_id::via) ==
        "SIP/2.0/UDP pc33.example.com;branch=z9hG4bK1;rport=40000;received=198.51.100.7");
  auto same = caller_request();
  proxy::stamp_received(same, caller);
  CHECK(same.get(header_id::via) == "SIP/2.0/UDP 192.0.2.1:5060;branch=z9hG4bKcaller1");
}

namespace {
parser::message final_response(int code) {
  auto r = parser::make_response(caller_request(), code, {}, "t" + std::to_string(code));
  return r;
}
}  // namespace

TEST_CASE("§16.7 step 6: a 6xx is the best response over any other class") {
  std::vector<parser::message> finals{final_response(486), final_response(603),
                                      final_response(302)};
  CHECK(proxy::choose_best_response(finals).status_code() == 603);
}

TEST_CASE("§16.7 step 6: otherwise the lowest class wins, 4xx preferring 401/407/415/420/484") {
  std::vector<parser::message> a{final_response(503), final_response(486), final_response(404)};
  CHECK(proxy::choose_best_response(a).status_code() == 404);
  std::vector<parser::message> b{final_response(404), final_response(484)};
  CHECK(proxy::choose_best_response(b).status_code() == 484);
  std::vector<parser::message> c{final_response(486), final_response(302)};
  CHECK(proxy::choose_best_response(c).status_code() == 302);
}

TEST_CASE("§16.7 step 6: a 503 chosen as best is sent as 500") {
  std::vector<parser::message> finals{final_response(503)};
  auto best = proxy::choose_best_response(finals);
  CHECK(best.status_code() == 500);
  CHECK(best.reason_phrase() == "Server Internal Error");
}

TEST_CASE("§16.7 step 7: the challenges of every 401 and 407 are merged into the best one") {
  auto a = final_response(401);
  a.add(header_id::www_authenticate, "Digest realm=\"a.example.com\", nonce=\"1\"");
  auto b = final_response(407);
  b.add(header_id::proxy_authenticate, "Digest realm=\"b.example.com\", nonce=\"2\"");
  auto c = final_response(401);
  c.add(header_id::www_authenticate, "Digest realm=\"c.example.com\", nonce=\"3\"");
  std::vector<parser::message> finals{final_response(486), a, b, c};
  auto best = proxy::choose_best_response(finals);
  CHECK(best.status_code() == 401);
  std::vector<std::string> www, prx;
  for (const auto& f : best.fields()) {
    if (f.id == header_id::www_authenticate) www.emplace_back(best.value_of(f));
    if (f.id == header_id::proxy_authenticate) prx.emplace_back(best.value_of(f));
  }
  CHECK(www == std::vector<std::string>{"Digest realm=\"a.example.com\", nonce=\"1\"",
                                        "Digest realm=\"c.example.com\", nonce=\"3\""});
  CHECK(prx == std::vector<std::string>{"Digest realm=\"b.example.com\", nonce=\"2\""});
}

TEST_CASE("header_list: commas inside quoted strings and < > do not split; entries trimmed") {
  auto m = caller_request();
  m.remove(header_id::route);
  m.add(header_id::route, "\"Edge, West\" <sip:a.example.com;lr> ,<sip:b.example.com?x=1,2;lr>");
  m.add(header_id::route, "  <sip:c.example.com;lr>,, \"q\\\"uote, d\" <sip:d.example.com>  ");
  CHECK(proxy::header_list(m, header_id::route) ==
        std::vector<std::string>{"\"Edge, West\" <sip:a.example.com;lr>",
                                 "<sip:b.example.com?x=1,2;lr>", "<sip:c.example.com;lr>",
                                 "\"q\\\"uote, d\" <sip:d.example.com>"});
}

TEST_CASE("add_path: a Path entry goes on top of the Path list, kept whole") {
  auto m = caller_request();
  m.add("Path", "\"P, 1\" <sip:p1.example.com;lr>, <sip:p2.example.com;lr>");
  proxy::add_path(m, "sip:192.0.2.10:5060;lr");
  CHECK(m.get("Path") ==
        "<sip:192.0.2.10:5060;lr>, \"P, 1\" <sip:p1.example.com;lr>, <sip:p2.example.com;lr>");
  int paths = 0;
  for (const auto& f : m.fields()) paths += parser::iequals(m.name_of(f), "Path") ? 1 : 0;
  CHECK(paths == 1);
}
