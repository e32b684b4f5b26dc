// proxy::asio_adapter: the core's timers on a real steady_timer, and services that answer
// later (posted to the io_context, as an RFC 3263 lookup does). Small T1 keeps it short;
// only outcomes and order are asserted, never durations.
#include "sipkit/proxy/asio_adapter.hpp"

#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>
#include <catch2/catch.hpp>

#include "harness.hpp"

using namespace sipkit;
using namespace sipkit::test;

namespace {

struct recording_transport final : tx::transport {
  std::error_code send(const parser::message& m, const tx::endpoint& to,
                       tx::transaction_id) override {
    sent.emplace_back(m, to);
    return {};
  }
  std::string via_sent_by(const tx::endpoint&) const override { return "192.0.2.10:5060"; }
  std::vector<std::pair<parser::message, tx::endpoint>> sent;
};

/// Answers every lookup and resolution later, through the adapter.
struct posted_services final : px::services {
  boost::asio::io_context& io;
  px::asio_adapter* adapter = nullptr;
  explicit posted_services(boost::asio::io_context& i) : io(i) {}
  void locate(std::uint64_t id, const parser::message&) override {
    boost::asio::post(io, [this, id] { adapter->set_targets(id, {{"sip:bob@192.0.2.20:5062"}}); });
  }
  void resolve(std::uint64_t id, std::string_view uri) override {
    auto hops = fake_services::endpoints_of(uri);
    boost::asio::post(io, [this, id, hops] { adapter->set_next_hops(id, hops); });
  }
};

tx::manager_config fast() {
  auto c = quiet_manager();
  c.timers.t1 = std::chrono::milliseconds(1);
  c.timers.t2 = std::chrono::milliseconds(4);
  c.timers.t4 = std::chrono::milliseconds(5);
  return c;
}

std::size_t count(const recording_transport& tp, std::string_view what) {
  std::size_t n = 0;
  for (const auto& [m, to] : tp.sent) {
    const std::string key =
        m.is_request() ? std::string(m.method_text()) : std::to_string(m.status_code());
    if (key == what) ++n;
  }
  return n;
}

}  // namespace

TEST_CASE("asio_adapter forwards with late services and answers 408 when Timer B fires") {
  boost::asio::io_context io;
  recording_transport tp;
  posted_services svc(io);
  px::asio_adapter px(io.get_executor(), tp, svc, default_config(), fast());
  svc.adapter = &px;
  px.on_receive(caller_request(), caller);
  REQUIRE(count(tp, "100") == 1);  // at once; the INVITE waits for the posted answers
  REQUIRE(count(tp, "INVITE") == 0);
  io.run();  // returns when no timer is armed any more: Timer C went with its branch
  CHECK(count(tp, "INVITE") >= 2);  // sent and retransmitted until Timer B (64 ms)
  CHECK(count(tp, "408") >= 1);
  CHECK(px.get().contexts() == 0);
  CHECK(px.get().manager().size() == 0);
}

TEST_CASE("asio_adapter passes responses up and the context ends after the 200") {
  boost::asio::io_context io;
  recording_transport tp;
  posted_services svc(io);
  px::asio_adapter px(io.get_executor(), tp, svc, default_config(), fast());
  svc.adapter = &px;
  px.on_receive(caller_request(), caller);
  io.poll();  // location and resolution answered: the INVITE is out
  REQUIRE(count(tp, "INVITE") == 1);
  parser::message invite = tp.sent.back().first;
  px.on_receive(parser::make_response(invite, 180, {}, "b1"), bob_phone);
  px.on_receive(parser::make_response(invite, 200, {}, "b1"), bob_phone);
  CHECK(count(tp, "180") == 1);
  CHECK(count(tp, "200") == 1);
  CHECK(tp.sent.back().second == caller);
  io.run();
  CHECK(px.get().contexts() == 0);
  CHECK(px.get().manager().size() == 0);
}
