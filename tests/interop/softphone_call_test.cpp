// A softphone with its own media engine calls a peer we did not write: make_call with an
// application SDP (ICE candidates, an SRTP key) and extra headers, to sipp playing
// softphone_uas.xml, which checks every line of the received offer with <ereg
// check_it="true"> (a mismatch fails its call and sipp exits non-zero). Our side checks
// sipp's answer arrived as remote_sdp(), hangs up and waits for sipp's verdict.
//
// sipp runs as a child process (posix_spawnp, found on PATH: a missing sipp fails the
// test, it is not skipped); every wait is bounded by run_until's deadline and the child
// is killed by its pid if the test gives up.
#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>

#include <boost/asio/ip/udp.hpp>
#include <catch2/catch.hpp>
#include <optional>
#include <string>
#include <vector>

#include "ua/ua_test_support.hpp"

extern char** environ;

using namespace sipkit;
using namespace sipkit::test;

namespace {

const std::string softphone_offer =
    "v=0\r\n"
    "o=soft 1234 1 IN IP4 127.0.0.1\r\n"
    "s=softphone\r\n"
    "c=IN IP4 127.0.0.1\r\n"
    "t=0 0\r\n"
    "m=audio 50000 RTP/SAVP 0\r\n"
    "a=rtpmap:0 PCMU/8000\r\n"
    "a=candidate:1 1 UDP 2130706431 127.0.0.1 50000 typ host\r\n"
    "a=candidate:2 1 UDP 1694498815 192.0.2.10 61000 typ srflx raddr 127.0.0.1 rport 50000\r\n"
    "a=crypto:1 AES_CM_128_HMAC_SHA1_80 inline:WVNfX19zZW1jdGwgKCkgewkyMjA7fQp9CnVubGVz\r\n"
    "a=sendrecv\r\n";

/// A free UDP port on 127.0.0.1 (bound and released: sipp binds it next).
unsigned short free_udp_port(boost::asio::io_context& io) {
  boost::asio::ip::udp::socket s(
      io, boost::asio::ip::udp::endpoint(boost::asio::ip::make_address("127.0.0.1"), 0));
  return s.local_endpoint().port();
}

/// sipp as a child process; killed by pid unless it exited.
struct child {
  pid_t pid = -1;
  std::optional<int> status;
  ~child() {
    if (pid > 0 && !status) {
      ::kill(pid, SIGKILL);
      ::waitpid(pid, nullptr, 0);
    }
  }
  bool exited() {
    if (status) return true;
    int st = 0;
    if (::waitpid(pid, &st, WNOHANG) == pid) status = WIFEXITED(st) ? WEXITSTATUS(st) : 128;
    return status.has_value();
  }
};

}  // namespace

TEST_CASE("softphone: sipp receives exactly the application's SDP lines and headers") {
  boost::asio::io_context io;
  const auto port = free_udp_port(io), media = free_udp_port(io), control = free_udp_port(io);
  const std::string work = SOFTPHONE_WORK_DIR;
  std::vector<std::string> args = {"sipp",
                                   "-sf",
                                   SOFTPHONE_SCENARIO,
                                   "-i",
                                   "127.0.0.1",
                                   "-p",
                                   std::to_string(port),
                                   "-mi",
                                   "127.0.0.1",
                                   "-mp",
                                   std::to_string(media),
                                   "-cp",
                                   std::to_string(control),
                                   "-m",
                                   "1",
                                   "-nostdin",
                                   "-trace_err",
                                   "-error_file",
                                   work + "/softphone_sipp_errors.log",
                                   "-trace_msg",
                                   "-message_file",
                                   work + "/softphone_sipp_messages.log"};
  std::vector<char*> argv;
  for (auto& a : args) argv.push_back(a.data());
  argv.push_back(nullptr);
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  const std::string log = work + "/softphone_sipp.log";
  posix_spawn_file_actions_addopen(&actions, 1, log.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
  posix_spawn_file_actions_adddup2(&actions, 1, 2);
  child sipp;
  const int spawned = posix_spawnp(&sipp.pid, "sipp", &actions, nullptr, argv.data(), environ);
  posix_spawn_file_actions_destroy(&actions);
  REQUIRE(spawned == 0);

  ua::user_agent alice(io, loopback_config("alice"));
  REQUIRE_FALSE(alice.start());
  ua::call_options o;
  o.sdp = softphone_offer;
  o.subject = "support call";
  o.headers = {{"X-Softphone", "softphone-7"}};
  const std::string target = "sip:callee@127.0.0.1:" + std::to_string(port);
  std::optional<std::error_code> connected;
  ua::call c;
  // sipp needs a moment to bind: the first INVITE may meet a closed port (ICMP), so the
  // call is placed again until one connects, within the deadline.
  REQUIRE(run_until(
      io,
      [&] {
        if (sipp.exited()) return true;
        if (!c || (c.state() == ua::call_state::terminated && !connected)) {
          connected.reset();
          c = alice.make_call(target, o);
          c.async_wait_connected([&](std::error_code ec) { connected = ec; });
        }
        if (connected && *connected) c = {};  // failed: try again
        return connected && !*connected;
      },
      20000ms));
  INFO("sipp log: " << log);
  REQUIRE_FALSE(sipp.exited());
  CHECK(c.local_sdp() == softphone_offer);
  CHECK(c.remote_sdp().find("a=crypto:1 AES_CM_128_HMAC_SHA1_80 "
                            "inline:PS1uQCVeeCFCanVmcjkpPywjNWhcYD0mXXtxaVBR\r\n") !=
        std::string::npos);
  std::optional<std::error_code> hung_up;
  c.async_hangup([&](std::error_code ec) { hung_up = ec; });
  REQUIRE(run_until(
      io, [&] { return hung_up.has_value() && sipp.exited(); }, 20000ms));
  CHECK_FALSE(*hung_up);
  CHECK(*sipp.status == 0);  // every ereg check_it matched
}

namespace {

/// sipp playing `scenario` on 127.0.0.1:`port` for one call, its logs under `name` in
/// the work directory; 0 or posix_spawnp's error.
int spawn_sipp(child& sipp, const std::string& scenario, const std::string& name,
               unsigned short port, unsigned short media, unsigned short control) {
  const std::string work = SOFTPHONE_WORK_DIR;
  std::vector<std::string> args = {"sipp", "-sf", scenario, "-i", "127.0.0.1", "-p",
                                   std::to_string(port), "-mi", "127.0.0.1", "-mp",
                                   std::to_string(media), "-cp", std::to_string(control), "-m",
                                   "1", "-nostdin", "-trace_err", "-error_file",
                                   work + "/" + name + "_errors.log", "-trace_msg",
                                   "-message_file", work + "/" + name + "_messages.log"};
  std::vector<char*> argv;
  for (auto& a : args) argv.push_back(a.data());
  argv.push_back(nullptr);
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  const std::string log = work + "/" + name + ".log";
  posix_spawn_file_actions_addopen(&actions, 1, log.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
  posix_spawn_file_actions_adddup2(&actions, 1, 2);
  const int spawned = posix_spawnp(&sipp.pid, "sipp", &actions, nullptr, argv.data(), environ);
  posix_spawn_file_actions_destroy(&actions);
  return spawned;
}

}  // namespace

TEST_CASE("delayed offer: sipp's reliable 183 offers, our PRACK answers (RFC 3262 §5)") {
  boost::asio::io_context io;
  const auto port = free_udp_port(io), media = free_udp_port(io), control = free_udp_port(io);
  child sipp;
  REQUIRE(spawn_sipp(sipp, DELAYED_OFFER_SCENARIO, "delayed_offer_sipp", port, media,
                     control) == 0);
  INFO("sipp logs: " << SOFTPHONE_WORK_DIR << "/delayed_offer_sipp*.log");

  ua::user_agent alice(io, loopback_config("alice"));
  REQUIRE_FALSE(alice.start());
  ua::call_options o;
  o.delayed_offer = true;  // no SDP in the INVITE: sipp's 183 offers
  const std::string target = "sip:callee@127.0.0.1:" + std::to_string(port);
  std::optional<std::error_code> connected;
  ua::call c;
  // As above: the first INVITE may meet sipp's port before it binds.
  REQUIRE(run_until(
      io,
      [&] {
        if (sipp.exited()) return true;
        if (!c || (c.state() == ua::call_state::terminated && !connected)) {
          connected.reset();
          c = alice.make_call(target, o);
          c.async_wait_connected([&](std::error_code ec) { connected = ec; });
        }
        if (connected && *connected) c = {};  // failed: try again
        return connected && !*connected;
      },
      20000ms));
  REQUIRE_FALSE(sipp.exited());
  CHECK(c.remote_sdp().find("m=audio " + std::to_string(media) + " RTP/AVP 0\r\n") !=
        std::string::npos);
  CHECK(c.local_sdp().find(" RTP/AVP 0\r\n") != std::string::npos);
  std::optional<std::error_code> hung_up;
  c.async_hangup([&](std::error_code ec) { hung_up = ec; });
  REQUIRE(run_until(
      io, [&] { return hung_up.has_value() && sipp.exited(); }, 20000ms));
  CHECK_FALSE(*hung_up);
  CHECK(*sipp.status == 0);  // RAck, the PRACK's answer and the ACK without body matched
}
