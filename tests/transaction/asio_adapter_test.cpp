// The Asio adapter drives the manager's timers with a real steady_timer on an io_context.
// Small T1 keeps it short; only outcomes and order are asserted, never durations.
#include "sipkit/transaction/asio_adapter.hpp"

#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>

#include "sipkit/transaction/error.hpp"
#include "transaction/harness.hpp"

using namespace sipkit::test;
using sipkit::parser::message;

namespace {

struct counting_transport final : tx::transport {
  std::error_code send(const message& m, const tx::endpoint&, tx::transaction_id) override {
    sent.push_back(m);
    return {};
  }
  std::string via_sent_by(const tx::endpoint&) const override { return "192.0.2.1:5060"; }
  std::vector<message> sent;
};

struct simple_tu final : tx::transaction_user {
  void on_request(tx::transaction_id, const message&, const tx::endpoint&,
                  tx::transaction_id) override {}
  void on_response(tx::transaction_id, const message& r) override {
    codes.push_back(r.status_code());
  }
  void on_ack(const message&, const tx::endpoint&, tx::transaction_id) override {}
  void on_stray_response(const message&, const tx::endpoint&) override {}
  void on_failure(tx::transaction_id, std::error_code ec) override { failures.push_back(ec); }
  void on_terminated(tx::transaction_id) override { ++terminated; }
  std::vector<int> codes;
  std::vector<std::error_code> failures;
  int terminated = 0;
};

tx::manager_config fast() {
  tx::manager_config c;
  c.timers.t1 = std::chrono::milliseconds(1);
  c.timers.t2 = std::chrono::milliseconds(4);
  c.timers.t4 = std::chrono::milliseconds(5);
  return c;
}

}  // namespace

TEST_CASE("asio_adapter runs Timer E and Timer F on a steady_timer until the NICT times out") {
  boost::asio::io_context io;
  counting_transport tp;
  simple_tu tu;
  tx::asio_adapter stack(io.get_executor(), tp, tu, fast());
  auto r = stack.start_client(sample_uac_request("OPTIONS"),
                              {{"198.51.100.7", 5060, tx::transport_protocol::udp, 0}});
  REQUIRE(r);
  io.run();  // returns when no timer is armed any more
  REQUIRE(tu.failures.size() == 1);
  REQUIRE(tu.failures[0] == tx::error::timeout);
  REQUIRE(tu.terminated == 1);
  REQUIRE(tp.sent.size() >= 2);  // retransmitted at least once before Timer F (64 ms)
  REQUIRE(stack.get().size() == 0);
}

TEST_CASE("asio_adapter passes received responses to the manager and re-arms for Timer K") {
  boost::asio::io_context io;
  counting_transport tp;
  simple_tu tu;
  tx::asio_adapter stack(io.get_executor(), tp, tu, fast());
  stack.start_client(sample_uac_request("OPTIONS"),
                     {{"198.51.100.7", 5060, tx::transport_protocol::udp, 0}});
  boost::asio::post(io, [&] {
    stack.on_receive(sample_response(tp.sent.front(), 200),
                     {"198.51.100.7", 5060, tx::transport_protocol::udp, 0});
  });
  io.run();
  REQUIRE(tu.codes == std::vector<int>{200});
  REQUIRE(tu.failures.empty());
  REQUIRE(tu.terminated == 1);
}

TEST_CASE("Destroying the asio_adapter with an armed timer leaves nothing to run") {
  boost::asio::io_context io;
  counting_transport tp;
  simple_tu tu;
  {
    tx::asio_adapter stack(io.get_executor(), tp, tu);
    stack.start_client(sample_uac_request("OPTIONS"),
                       {{"198.51.100.7", 5060, tx::transport_protocol::udp, 0}});
  }
  io.run();  // the cancelled wait completes and is ignored
  REQUIRE(tu.failures.empty());
}

TEST_CASE("asio_adapter::send_stateless goes through the amplification budget with the time") {
  boost::asio::io_context io;
  counting_transport tp;
  simple_tu tu;
  tx::manager_config cfg = fast();
  cfg.log = sipkit::logger(sipkit::log_level::off);
  tx::asio_adapter stack(io.get_executor(), tp, tu, cfg);
  const tx::endpoint peer{"198.51.100.7", 5060, tx::transport_protocol::udp, 0};
  const message invite = sample_request("INVITE");
  stack.on_receive(invite, peer);
  auto big = sample_response(invite, 200);
  big.set_body(std::string(4 * invite.serialize().size(), 's'), "application/sdp");
  REQUIRE_FALSE(stack.send_stateless(big, peer));  // "lost": no error, nothing sent
  REQUIRE(tp.sent.empty());
  REQUIRE(stack.get().stats().amplification_suppressed == 1);
  REQUIRE_FALSE(stack.send_stateless(sample_response(invite, 180), peer));
  REQUIRE(tp.sent.size() == 1);
}
