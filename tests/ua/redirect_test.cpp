// The UAC following 3xx responses (RFC 3261 §8.1.3.4): the agent calls scripted raw peers
// over loopback; each peer answers by hand (302, 300 with q-values, 4xx) and the test
// checks the INVITE each target receives field by field, the call's redirected events and
// how the call ends (loops, the depth bound, every target failing).
#include <boost/asio/ip/tcp.hpp>
#include <catch2/catch.hpp>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "ua/raw_peer.hpp"
#include "ua/ua_test_support.hpp"

using namespace sipkit;
using namespace sipkit::test;
using parser::header_id;
using parser::method;
using ua::call;
using ua::call_event;
using ua::call_state;
using ua::errc;

namespace {

struct redirect_fixture {
  explicit redirect_fixture(int max_redirects = 5) : agent(io, config(max_redirects)) {
    REQUIRE_FALSE(agent.start());
  }
  static ua::ua_config config(int max_redirects) {
    auto cfg = loopback_config("alice");
    cfg.max_redirects = max_redirects;
    return cfg;
  }
  raw_peer& add_peer() {
    peers.push_back(std::make_unique<raw_peer>(io));
    return *peers.back();
  }
  /// make_call to `p`; returns the INVITE it received.
  peer_message dial(raw_peer& p, std::string_view user = "bob") {
    c = agent.make_call(p.uri(user));
    c.on_event([this](const call_event& e) {
      if (e.what == call_event::kind::redirected)
        redirects.push_back({std::string(e.target), e.status});
    });
    c.async_wait_connected([this](std::error_code ec) { connected = ec; });
    auto inv = p.next_request(method::invite);
    REQUIRE(inv);
    return std::move(*inv);
  }
  void reply(raw_peer& p, const peer_message& req, int code, std::string_view tag,
             std::string_view extra = {}, std::string_view body = {}) {
    p.send(response_text(req, code, tag, extra, body), req.from);
  }
  /// The ACK the transaction layer sends for a non-2xx final response (§17.1.1.3).
  void expect_ack(raw_peer& p) {
    auto ack = p.next_request(method::ack);
    REQUIRE(ack);
  }

  struct redirect_seen {
    std::string target;
    int status;
    bool operator==(const redirect_seen&) const = default;
  };

  boost::asio::io_context io;
  ua::user_agent agent;
  std::vector<std::unique_ptr<raw_peer>> peers;
  call c;
  std::optional<std::error_code> connected;
  std::vector<redirect_seen> redirects;
  const std::string answer = sdp_offer("0", "PCMU/8000");
};

}  // namespace

TEST_CASE("Redirect: a 302 sends the same INVITE to the Contact as a new transaction") {
  redirect_fixture f;
  auto& a = f.add_peer();
  auto& b = f.add_peer();
  auto first = f.dial(a);
  f.reply(a, first, 100, {});
  f.reply(a, first, 302, "redir-1",
          "Contact: <" + b.uri("carol") + ";transport=udp?Subject=spam>;expires=60\r\n");
  f.expect_ack(a);
  auto second = b.next_request(method::invite);
  REQUIRE(second);
  // §8.1.3.4: Request-URI from the Contact (URI headers dropped, §19.1.5), a new branch and
  // CSeq, the same Call-ID, From (tag), To (no tag), headers and body.
  CHECK(second->request_uri() == b.uri("carol") + ";transport=udp");
  CHECK(second->header("Subject").empty());
  CHECK(second->branch() != first.branch());
  CHECK(second->cseq() == "2 INVITE");
  CHECK(second->header(header_id::call_id) == first.header(header_id::call_id));
  CHECK(second->header(header_id::from) == first.header(header_id::from));
  CHECK(second->header(header_id::to) == first.header(header_id::to));
  CHECK(second->to_tag().empty());
  CHECK(second->msg.body() == first.msg.body());
  CHECK(second->header(header_id::content_type) == first.header(header_id::content_type));
  CHECK(second->header(header_id::max_forwards) == "70");
  CHECK(second->header(header_id::contact) == first.header(header_id::contact));
  CHECK(f.redirects ==
        std::vector<redirect_fixture::redirect_seen>{{b.uri("carol") + ";transport=udp", 302}});

  const std::string contact = "Contact: <" + b.uri("carol-ua") + ">\r\n";
  f.reply(b, *second, 180, "carol-1", contact);
  f.reply(b, *second, 200, "carol-1", contact, f.answer);
  auto ack = b.next_request(method::ack);
  REQUIRE(ack);
  CHECK(ack->cseq() == "2 ACK");
  CHECK(ack->request_uri() == b.uri("carol-ua"));
  REQUIRE(run_until(f.io, [&] { return f.connected.has_value(); }));
  CHECK_FALSE(*f.connected);
  CHECK(f.c.state() == call_state::established);
  CHECK(f.c.final_status() == 200);

  std::optional<std::error_code> hung_up;
  f.c.async_hangup([&](std::error_code ec) { hung_up = ec; });
  auto bye = b.next_request(method::bye);
  REQUIRE(bye);
  CHECK(bye->cseq() == "3 BYE");
  f.reply(b, *bye, 200, {});
  REQUIRE(run_until(f.io, [&] { return hung_up.has_value(); }));
  CHECK(f.agent.call_count() == 0);
  CHECK(a.count([](const peer_message& m) { return m.is_request(method::invite); }) == 0);
}

TEST_CASE("Redirect: a 300 with two Contacts tries q=1.0 before q=0.5, the next after a 486") {
  redirect_fixture f;
  auto& a = f.add_peer();
  auto& low = f.add_peer();
  auto& high = f.add_peer();
  auto first = f.dial(a);
  f.reply(a, first, 300, "redir-1",
          "Contact: <" + low.uri("low") + ">;q=0.5, <" + high.uri("high") + ">;q=1.0\r\n");
  f.expect_ack(a);
  auto to_high = high.next_request(method::invite);
  REQUIRE(to_high);
  CHECK(to_high->request_uri() == high.uri("high"));
  CHECK(to_high->cseq() == "2 INVITE");
  CHECK(low.inbox().empty());
  f.reply(high, *to_high, 486, "high-1");  // §8.1.3.4: a failed target moves on to the next
  f.expect_ack(high);
  auto to_low = low.next_request(method::invite);
  REQUIRE(to_low);
  CHECK(to_low->request_uri() == low.uri("low"));
  CHECK(to_low->cseq() == "3 INVITE");
  CHECK(to_low->header(header_id::call_id) == first.header(header_id::call_id));
  CHECK(to_low->from_tag() == first.from_tag());
  CHECK(f.redirects == std::vector<redirect_fixture::redirect_seen>{{high.uri("high"), 300},
                                                                    {low.uri("low"), 486}});
  f.reply(low, *to_low, 200, "low-1", "Contact: <" + low.uri("low") + ">\r\n", f.answer);
  REQUIRE(run_until(f.io, [&] { return f.connected.has_value(); }));
  CHECK_FALSE(*f.connected);
  CHECK(f.c.state() == call_state::established);
}

TEST_CASE("Redirect: a loop A -> B -> A stops at the target already tried, with the 302") {
  redirect_fixture f;
  auto& a = f.add_peer();
  auto& b = f.add_peer();
  auto first = f.dial(a);
  f.reply(a, first, 302, "a-1", "Contact: <" + b.uri("bob") + ">\r\n");
  auto at_b = b.next_request(method::invite);
  REQUIRE(at_b);
  // A's URI written differently (host case, an added parameter that §19.1.4 ignores when
  // only one side has it) is still A.
  f.reply(b, *at_b, 302, "b-1",
          "Contact: <sip:bob@127.0.0.1:" + std::to_string(a.port()) + ";foo=bar>\r\n");
  REQUIRE(run_until(f.io, [&] { return f.connected.has_value(); }));
  CHECK(*f.connected == make_error_code(errc::rejected));
  CHECK(f.c.state() == call_state::terminated);
  CHECK(f.c.final_status() == 302);
  CHECK(f.redirects == std::vector<redirect_fixture::redirect_seen>{{b.uri("bob"), 302}});
  f.expect_ack(b);
  // No second INVITE reached A (its ACK for the first 302 is all it gets).
  f.expect_ack(a);
  CHECK_FALSE(a.next_request(method::invite, 200ms));
}

TEST_CASE("Redirect: the depth bound (max_redirects) makes the next 3xx final") {
  redirect_fixture f(2);
  auto& p0 = f.add_peer();
  auto& p1 = f.add_peer();
  auto& p2 = f.add_peer();
  auto& p3 = f.add_peer();
  auto inv = f.dial(p0);
  f.reply(p0, inv, 302, "t0", "Contact: <" + p1.uri("bob") + ">\r\n");
  auto at1 = p1.next_request(method::invite);
  REQUIRE(at1);
  f.reply(p1, *at1, 302, "t1", "Contact: <" + p2.uri("bob") + ">\r\n");
  auto at2 = p2.next_request(method::invite);
  REQUIRE(at2);
  CHECK(at2->cseq() == "3 INVITE");
  f.reply(p2, *at2, 301, "t2", "Contact: <" + p3.uri("bob") + ">\r\n");
  REQUIRE(run_until(f.io, [&] { return f.connected.has_value(); }));
  CHECK(*f.connected == make_error_code(errc::rejected));
  CHECK(f.c.final_status() == 301);
  CHECK(f.redirects.size() == 2);
  f.expect_ack(p2);
  CHECK_FALSE(p3.next_request(method::invite, 200ms));
}

TEST_CASE("Redirect: when every target fails the call ends with the last final status") {
  redirect_fixture f;
  auto& a = f.add_peer();
  auto& b = f.add_peer();
  auto& c = f.add_peer();
  auto first = f.dial(a);
  f.reply(a, first, 300, "a-1",
          "Contact: <" + b.uri("b") + ">\r\nContact: <" + c.uri("c") + ">;q=0.9\r\n");
  auto at_b = b.next_request(method::invite);
  REQUIRE(at_b);  // no q: 1.0, first
  f.reply(b, *at_b, 404, "b-1");
  auto at_c = c.next_request(method::invite);
  REQUIRE(at_c);
  f.reply(c, *at_c, 603, "c-1");
  REQUIRE(run_until(f.io, [&] { return f.connected.has_value(); }));
  CHECK(*f.connected == make_error_code(errc::rejected));
  CHECK(f.c.final_status() == 603);
  CHECK(f.redirects ==
        std::vector<redirect_fixture::redirect_seen>{{b.uri("b"), 300}, {c.uri("c"), 404}});
  CHECK(f.agent.call_count() == 0);
}

TEST_CASE("Redirect: with max_redirects 0 a 302 ends the call as before") {
  redirect_fixture f(0);
  auto& a = f.add_peer();
  auto& b = f.add_peer();
  auto first = f.dial(a);
  f.reply(a, first, 302, "a-1", "Contact: <" + b.uri("bob") + ">\r\n");
  REQUIRE(run_until(f.io, [&] { return f.connected.has_value(); }));
  CHECK(*f.connected == make_error_code(errc::rejected));
  CHECK(f.c.final_status() == 302);
  CHECK(f.redirects.empty());
  CHECK_FALSE(b.next_request(method::invite, 200ms));
}

TEST_CASE("Redirect: 305 Use Proxy and 380 Alternative Service are final") {
  for (int code : {305, 380}) {
    redirect_fixture f;
    auto& a = f.add_peer();
    auto& b = f.add_peer();
    auto first = f.dial(a);
    f.reply(a, first, code, "a-1", "Contact: <" + b.uri("bob") + ">\r\n");
    REQUIRE(run_until(f.io, [&] { return f.connected.has_value(); }));
    CHECK(f.c.final_status() == code);
    CHECK_FALSE(b.next_request(method::invite, 200ms));
  }
}

TEST_CASE("Redirect: a target that fails with a transport error moves on to the next Contact") {
  boost::asio::io_context io;
  auto cfg = loopback_config("alice");
  cfg.transport.listen.push_back({transport::protocol::tcp, "127.0.0.1", 0});
  ua::user_agent agent(io, cfg);
  REQUIRE_FALSE(agent.start());
  raw_peer a(io);
  raw_peer b(io);
  // A TCP port with nothing listening: the connection is refused (RFC 3261 §8.1.3.1: a
  // transport error, 503), which is a failed target.
  std::uint16_t closed = 0;
  {
    boost::asio::ip::tcp::acceptor probe(io, {boost::asio::ip::make_address("127.0.0.1"), 0});
    closed = probe.local_endpoint().port();
  }
  const std::string dead = "sip:dead@127.0.0.1:" + std::to_string(closed) + ";transport=tcp";
  call c = agent.make_call(a.uri("bob"));
  std::vector<std::pair<std::string, int>> redirects;
  c.on_event([&](const call_event& e) {
    if (e.what == call_event::kind::redirected) redirects.emplace_back(e.target, e.status);
  });
  std::optional<std::error_code> connected;
  c.async_wait_connected([&](std::error_code ec) { connected = ec; });
  auto inv = a.next_request(method::invite);
  REQUIRE(inv);
  a.send(response_text(*inv, 302, "a-1",
                       "Contact: <" + dead + ">;q=1.0, <" + b.uri("bob") + ">;q=0.5\r\n"),
         inv->from);
  auto at_b = b.next_request(method::invite);
  REQUIRE(at_b);
  CHECK(at_b->cseq() == "3 INVITE");  // CSeq 2 went to the dead target
  CHECK(redirects == std::vector<std::pair<std::string, int>>{{dead, 302}, {b.uri("bob"), 503}});
  b.send(response_text(*at_b, 200, "b-1", "Contact: <" + b.uri("bob") + ">\r\n",
                       sdp_offer("0", "PCMU/8000")),
         at_b->from);
  REQUIRE(run_until(io, [&] { return connected.has_value(); }));
  CHECK_FALSE(*connected);
  CHECK(c.state() == call_state::established);
}
