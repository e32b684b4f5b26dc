// Every "respond N" row of the RFC 4475 table (tests/data/rfc4475/README.md), replayed
// against a running user_agent over loopback UDP, plus zeromf (answered, not 483).
//
// Why a Via is prepended: the torture messages name hosts such as host5.example.net in
// their Via, where the response would go (RFC 3261 §18.2.2); a new top Via naming the
// test's socket brings it back. The rest of each message is sent byte for byte.
#include <boost/asio/ip/udp.hpp>
#include <catch2/catch.hpp>
#include <fstream>
#include <sstream>
#include <string>

#include "sipkit/parser/message_view.hpp"
#include "ua/ua_test_support.hpp"

using namespace sipkit;
using namespace sipkit::test;
namespace asio = boost::asio;

namespace {

std::string read_file(const std::string& name) {
  std::ifstream in(std::string(SIPKIT_RFC4475_DIR) + "/" + name, std::ios::binary);
  REQUIRE(in);
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

struct replay_fixture {
  explicit replay_fixture(ua::ua_config cfg = loopback_config("uas")) : agent(io, cfg), socket(io) {
    REQUIRE_FALSE(agent.start());
    agent.on_incoming_call([](ua::call c) {
      c.ring();
      c.answer();
    });
    socket.open(asio::ip::udp::v4());
    socket.bind({asio::ip::make_address("127.0.0.1"), 0});
    const auto local = agent.local_address(transport::protocol::udp);
    agent_endpoint = {asio::ip::make_address("127.0.0.1"),
                      static_cast<unsigned short>(std::stoi(local.substr(local.rfind(':') + 1)))};
  }

  /// Sends the torture message and returns the status line of the first final response.
  std::string final_status_line(const std::string& file) {
    std::string msg = read_file(file);
    const auto line_end = msg.find("\r\n") + 2;
    msg.insert(line_end,
               "Via: SIP/2.0/UDP 127.0.0.1:" + std::to_string(socket.local_endpoint().port()) +
                   ";branch=z9hG4bKrfc4475replay\r\n");
    socket.send_to(asio::buffer(msg), agent_endpoint);
    std::string status;
    std::array<char, 65536> buf{};
    std::function<void()> receive = [&] {
      socket.async_receive(asio::buffer(buf), [&](boost::system::error_code ec, std::size_t n) {
        if (ec) return;
        std::string_view got(buf.data(), n);
        std::string_view line = got.substr(0, got.find("\r\n"));
        if (line.starts_with("SIP/2.0 1")) return receive();  // provisional
        status = std::string(line);
      });
    };
    receive();
    run_until(io, [&] { return !status.empty(); });
    socket.cancel();
    return status;
  }

  asio::io_context io;
  ua::user_agent agent;
  asio::ip::udp::socket socket;
  asio::ip::udp::endpoint agent_endpoint;
};

}  // namespace

TEST_CASE("RFC 4475 badvers: an unknown SIP version is answered 505") {
  replay_fixture f;
  CHECK(f.final_status_line("badvers.dat").starts_with("SIP/2.0 505 "));
}

TEST_CASE("RFC 4475 mismatch01: a CSeq method other than the Request-Line's is answered 400") {
  replay_fixture f;
  CHECK(f.final_status_line("mismatch01.dat").starts_with("SIP/2.0 400 "));
}

TEST_CASE("RFC 4475 mismatch02: an unknown method with a mismatched CSeq is answered 400") {
  replay_fixture f;
  CHECK(f.final_status_line("mismatch02.dat").starts_with("SIP/2.0 400 "));
}

TEST_CASE("RFC 4475 insuf: a request missing required headers is answered 400") {
  replay_fixture f;
  CHECK(f.final_status_line("insuf.dat").starts_with("SIP/2.0 400 "));
}

TEST_CASE("RFC 4475 unkscm: an unknown Request-URI scheme is answered 416") {
  replay_fixture f;
  CHECK(f.final_status_line("unkscm.dat").starts_with("SIP/2.0 416 "));
}

TEST_CASE("RFC 4475 novelsc: a Request-URI scheme the UAS does not serve is answered 416") {
  replay_fixture f;
  CHECK(f.final_status_line("novelsc.dat").starts_with("SIP/2.0 416 "));
}

TEST_CASE("RFC 4475 bext01: an unsupported Require is answered 420") {
  replay_fixture f;
  CHECK(f.final_status_line("bext01.dat").starts_with("SIP/2.0 420 "));
}

TEST_CASE("RFC 4475 invut: an INVITE with a body type the UAS does not take is answered 415") {
  replay_fixture f;
  CHECK(f.final_status_line("invut.dat").starts_with("SIP/2.0 415 "));
}

TEST_CASE("RFC 4475 multi01: several values in single-value headers are answered 400") {
  replay_fixture f;
  CHECK(f.final_status_line("multi01.dat").starts_with("SIP/2.0 400 "));
}

TEST_CASE("RFC 4475 mcl01: several Content-Length headers are answered 400") {
  replay_fixture f;
  CHECK(f.final_status_line("mcl01.dat").starts_with("SIP/2.0 400 "));
}

TEST_CASE("RFC 4475 sdp01: an INVITE whose Accept excludes SDP is answered 406") {
  replay_fixture f;
  CHECK(f.final_status_line("sdp01.dat").starts_with("SIP/2.0 406 "));
}

TEST_CASE("RFC 4475 zeromf: Max-Forwards 0 aimed at this UAS is processed, not answered 483") {
  replay_fixture f;
  CHECK(f.final_status_line("zeromf.dat").starts_with("SIP/2.0 200 "));
}

TEST_CASE("Max-Forwards 0 for another domain than the agent's is answered 483") {
  auto cfg = loopback_config("uas");
  cfg.domain = "biloxi.example.org";  // zeromf is for example.com
  replay_fixture f(cfg);
  CHECK(f.final_status_line("zeromf.dat").starts_with("SIP/2.0 483 "));
}
