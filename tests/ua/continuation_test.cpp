// The continuations of the agent's in-dialog requests reach the module that sent them: the
// final response to our REFER goes to the transferor, the responses to our NOTIFYs to the
// transferee (RFC 3515, RFC 6665 §4.2.2). Bob is a raw peer, so the test can answer and
// send exactly what it needs.
#include <catch2/catch.hpp>
#include <chrono>
#include <optional>
#include <string>
#include <vector>

#include "ua/raw_peer.hpp"

using namespace sipkit;
using namespace sipkit::test;
using namespace std::chrono_literals;
using parser::header_id;
using parser::method;
using ua::call;
using ua::call_state;

namespace {

struct refer_fixture {
  refer_fixture() : agent(io, loopback_config("alice")), peer(io) { REQUIRE_FALSE(agent.start()); }
  /// Alice calls Bob (the peer), who answers; keeps Alice's INVITE (her tag, Contact).
  void establish() {
    c = agent.make_call(peer.uri("bob"));
    c.on_event([this](const ua::call_event& e) {
      if (e.what == ua::call_event::kind::refer_progress) progress.push_back(e.status);
    });
    std::optional<std::error_code> connected;
    c.async_wait_connected([&](std::error_code ec) { connected = ec; });
    auto inv = peer.next_request(method::invite);
    REQUIRE(inv);
    invite = std::move(*inv);
    peer.send(response_text(invite, 200, "b1", contact(), sdp_offer("0", "PCMU/8000")),
              invite.from);
    REQUIRE(run_until(io, [&] { return connected.has_value(); }));
    REQUIRE_FALSE(*connected);
    REQUIRE(peer.next_request(method::ack));
  }
  std::string contact() const { return "Contact: <" + peer.uri("bob-ua") + ">\r\n"; }
  /// A request from Bob in the call's dialog.
  void send_in_dialog(const std::string& m, int cseq, const std::string& extra,
                      const std::string& body = {}, const std::string& content_type = {}) {
    request_text r;
    r.method = m;
    r.uri = invite.contact_uri();
    r.sent_by = peer.host_port();
    r.branch = peer.new_branch();
    r.from = "<" + peer.uri("bob") + ">;tag=b1";
    r.to = invite.header(header_id::from);
    r.call_id = invite.header(header_id::call_id);
    r.cseq = std::to_string(cseq) + " " + m;
    r.extra = contact() + extra;
    r.body = body;
    r.content_type = content_type;
    peer.send(r.text(), invite.from);
  }

  boost::asio::io_context io;
  ua::user_agent agent;
  raw_peer peer;
  call c;
  peer_message invite;
  std::vector<int> progress;
};

}  // namespace

TEST_CASE("continuations: a failure answer to the transferee's NOTIFY ends its subscription",
          "[continuation]") {
  refer_fixture f;
  call transfer;
  f.agent.on_refer([&](call, std::string_view target) {
    transfer = f.agent.make_call(target);
    return transfer;
  });
  f.establish();
  f.send_in_dialog("REFER", 1, "Refer-To: <" + f.peer.uri("carol") + ">\r\n");
  REQUIRE(f.peer.next_response(202, method::refer));
  auto trying = f.peer.next_request(method::notify);
  REQUIRE(trying);
  CHECK(std::string(trying->msg.body()) == "SIP/2.0 100 Trying\r\n");
  // RFC 6665 §4.2.2: a failure response to a NOTIFY ends the subscription.
  f.peer.send(response_text(*trying, 500), trying->from);

  // The transfer's new call rings: no NOTIFY reports it any more.
  auto carol = f.peer.next(
      [&](const peer_message& p) { return p.is_request(method::invite) && p.to_tag().empty(); });
  REQUIRE(carol);
  f.peer.send(response_text(*carol, 180, "c1", f.contact()), carol->from);
  REQUIRE(run_until(f.io, [&] { return transfer && transfer.state() == call_state::early; }));
  CHECK_FALSE(f.peer.next_request(method::notify, 300ms));
  CHECK(f.c.state() == call_state::established);  // the call itself goes on
}

TEST_CASE("continuations: a rejected REFER leaves no subscription: its NOTIFY gets 481",
          "[continuation]") {
  refer_fixture f;
  f.establish();
  std::optional<int> status;
  f.c.async_refer(f.peer.uri("carol"), [&](std::error_code, int s) { status = s; });
  auto refer = f.peer.next_request(method::refer);
  REQUIRE(refer);
  f.peer.send(response_text(*refer, 603), refer->from);
  REQUIRE(run_until(f.io, [&] { return status.has_value(); }));
  CHECK(*status == 603);

  f.send_in_dialog("NOTIFY", 2, "Event: refer\r\nSubscription-State: active;expires=60\r\n",
                   "SIP/2.0 180 Ringing\r\n", "message/sipfrag;version=2.0");
  auto answer = f.peer.next([](const peer_message& p) {
    auto cs = p.msg.cseq();
    return p.msg.is_response() && cs && cs->method == method::notify;
  });
  REQUIRE(answer);
  CHECK(answer->msg.status_code() == 481);
  CHECK(f.progress.empty());
  CHECK(f.c.state() == call_state::established);
}
