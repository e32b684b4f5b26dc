// A CANCEL with the TU's own headers (RFC 3326 §2: a Reason may go in a CANCEL): what
// make_cancel adds after the fields RFC 3261 §9.1 fixes, and manager::cancel's edit.
#include <string>
#include <utility>
#include <vector>

#include "sipkit/transaction/client_invite.hpp"
#include "sipkit/transaction/manager.hpp"
#include "support/fake_transport.hpp"
#include "transaction/harness.hpp"

using namespace sipkit::test;
using sipkit::parser::message;

namespace {

const tx::endpoint alice_addr{"192.0.2.1", 5060, tx::transport_protocol::udp, 0};
const tx::endpoint bob_addr{"198.51.100.7", 5060, tx::transport_protocol::udp, 0};

const std::vector<std::pair<std::string, std::string>> reason = {
    {"Reason", "SIP;cause=200;text=\"Call completed elsewhere\""}, {"X-Billing", "7"}};

/// One manager on a fake transport that records what it sends.
struct uac {
  uac() : tp(clock, alice_addr), tu(clock), mgr(tp, tu, config()) { clock.attach_manager(mgr); }
  static tx::manager_config config() {
    tx::manager_config c;
    c.seed = 7;
    return c;
  }
  manual_clock clock;
  fake_transport tp;
  recording_tu tu;
  tx::manager mgr;
};

}  // namespace

TEST_CASE("make_cancel adds the extra header lines in order after the fields 9.1 fixes") {
  auto cancel = tx::make_cancel(sample_request("INVITE"), reason);
  REQUIRE(cancel.serialize() ==
          "CANCEL sip:bob@biloxi.example.com SIP/2.0\r\n"
          "Via: SIP/2.0/UDP 192.0.2.1:5060;branch=z9hG4bK74bf9\r\n"
          "Max-Forwards: 70\r\n"
          "Route: <sip:proxy.example.com;lr>\r\n"
          "From: Alice <sip:alice@atlanta.example.com>;tag=9fxced76sl\r\n"
          "To: Bob <sip:bob@biloxi.example.com>\r\n"
          "Call-ID: 3848276298220188511@atlanta.example.com\r\n"
          "CSeq: 314159 CANCEL\r\n"
          "Reason: SIP;cause=200;text=\"Call completed elsewhere\"\r\n"
          "X-Billing: 7\r\n"
          "Content-Length: 0\r\n"
          "\r\n");
}

TEST_CASE("manager::cancel runs the edit once on the CANCEL before it is sent") {
  uac u;
  auto inv = u.mgr.start_client(sample_uac_request("INVITE"), bob_addr, u.clock.now());
  REQUIRE(inv);
  int calls = 0;
  auto c = u.mgr.cancel(inv.id, u.clock.now(), [&](message& m) {
    ++calls;
    CHECK(m.method_text() == "CANCEL");
    for (const auto& [name, value] : reason) m.add(name, value);
  });
  REQUIRE(c);
  CHECK(calls == 1);
  const message& sent = u.tp.sent().back().msg;
  REQUIRE(sent.method_text() == "CANCEL");
  CHECK(sent.top_via()->branch == u.mgr.request(inv.id)->top_via()->branch);
  CHECK(sent.get("Reason").value_or("") == "SIP;cause=200;text=\"Call completed elsewhere\"");
  CHECK(sent.get("X-Billing").value_or("") == "7");
  // The CANCEL's own transaction keeps what was sent: a retransmission is the same bytes.
  const std::string first = sent.serialize();
  u.clock.advance(std::chrono::milliseconds(500));  // Timer E
  REQUIRE(u.tp.sent().back().msg.method_text() == "CANCEL");
  CHECK(u.tp.sent().back().msg.serialize() == first);
}

TEST_CASE("manager::cancel without an edit sends the plain 9.1 CANCEL") {
  uac u;
  auto inv = u.mgr.start_client(sample_uac_request("INVITE"), bob_addr, u.clock.now());
  REQUIRE(inv);
  REQUIRE(u.mgr.cancel(inv.id, u.clock.now()));
  const message& sent = u.tp.sent().back().msg;
  REQUIRE(sent.method_text() == "CANCEL");
  CHECK_FALSE(sent.get("Reason"));
  CHECK(sent.serialize() == tx::make_cancel(*u.mgr.request(inv.id)).serialize());
}
