// RFC 3263 locate against a real DNS server: dnsmasq started by the test on a loopback
// port with NAPTR, SRV and A/AAAA records, queried through c-ares on the io_context.
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <boost/asio/ip/tcp.hpp>
#include <cstdlib>
#include <filesystem>
#include <random>

#include "sipkit/transport/resolver.hpp"
#include "transport/support.hpp"

using namespace sipkit::transport;
using namespace sipkit::transport::test;
namespace parser = sipkit::parser;

namespace {

constexpr const char* dnsmasq_path = "/usr/sbin/dnsmasq";

std::uint16_t free_port(bool tcp_too) {
  asio::io_context io;
  asio::ip::udp::socket u(io, {asio::ip::make_address("127.0.0.1"), 0});
  const auto port = u.local_endpoint().port();
  if (tcp_too) {
    // dnsmasq also answers on TCP at the same port; make sure that is free as well.
    asio::ip::tcp::acceptor t(io);
    t.open(asio::ip::tcp::v4());
    boost::system::error_code ec;
    t.bind({asio::ip::make_address("127.0.0.1"), port}, ec);
    if (ec) return free_port(true);
  }
  return port;
}

/// A dnsmasq serving only the given records, killed at scope exit.
class dnsmasq {
 public:
  explicit dnsmasq(const std::vector<std::string>& records) {
    INFO("dnsmasq must be installed at " << dnsmasq_path << " (Debian package dnsmasq-base)");
    REQUIRE(::access(dnsmasq_path, X_OK) == 0);
    port = free_port(true);
    std::vector<std::string> args = {dnsmasq_path,
                                     "--no-daemon",
                                     "--port=" + std::to_string(port),
                                     "--listen-address=127.0.0.1",
                                     "--bind-interfaces",
                                     "--no-resolv",
                                     "--no-hosts",
                                     "--no-poll",
                                     "--local=/sipkit.test/",
                                     "--pid-file=",
                                     "--log-facility=-",
                                     "--quiet-dhcp"};
    args.insert(args.end(), records.begin(), records.end());
    pid_ = ::fork();
    REQUIRE(pid_ >= 0);
    if (pid_ == 0) {
      std::vector<char*> argv;
      for (auto& a : args) argv.push_back(a.data());
      argv.push_back(nullptr);
      // Quiet: dnsmasq logs its startup to stderr in --no-daemon mode.
      std::FILE* devnull = std::fopen("/dev/null", "w");
      if (devnull) ::dup2(::fileno(devnull), 2);
      ::execv(dnsmasq_path, argv.data());
      ::_exit(127);
    }
    wait_ready();
  }
  ~dnsmasq() {
    ::kill(pid_, SIGTERM);
    int status = 0;
    ::waitpid(pid_, &status, 0);
  }
  std::string servers() const { return "127.0.0.1:" + std::to_string(port); }
  std::uint16_t port = 0;

 private:
  void wait_ready() {
    // Ready when its TCP port accepts (it binds UDP first, then TCP).
    asio::io_context io;
    const auto deadline = std::chrono::steady_clock::now() + 5s;
    while (std::chrono::steady_clock::now() < deadline) {
      asio::ip::tcp::socket s(io);
      boost::system::error_code ec;
      s.connect({asio::ip::make_address("127.0.0.1"), port}, ec);
      if (!ec) return;
      int status = 0;
      if (::waitpid(pid_, &status, WNOHANG) == pid_) FAIL("dnsmasq exited at start-up");
      ::usleep(5000);
    }
    FAIL("dnsmasq did not start within 5 s");
  }
  pid_t pid_ = -1;
};

resolver_config dns_config(const dnsmasq& d, const log_capture& logs) {
  resolver_config c;
  c.servers = d.servers();
  c.lookups = "b";
  c.timeout = 500ms;
  c.tries = 1;
  c.log = logs.make();
  return c;
}

struct located {
  std::error_code ec;
  target_list targets;
  bool done = false;
};

located locate(asio::io_context& io, resolver& r, const std::string& uri) {
  located out;
  r.locate(uri, [&](std::error_code ec, target_list t) {
    out.ec = ec;
    out.targets = std::move(t);
    out.done = true;
  });
  REQUIRE(run_until(io, [&] { return out.done; }, 5000ms));
  return out;
}

std::vector<std::string> names(const target_list& t) {
  std::vector<std::string> out;
  for (const auto& x : t.all()) out.push_back(x.to_string());
  return out;
}

const std::vector<std::string> example_zone = {
    // NAPTR (RFC 3263 §4.1): TCP preferred over UDP, TLS last; a non-"S" record ignored.
    "--naptr-record=example.sipkit.test,20,10,S,SIP+D2U,,_sip._udp.example.sipkit.test",
    "--naptr-record=example.sipkit.test,10,10,S,SIP+D2T,,_sip._tcp.example.sipkit.test",
    "--naptr-record=example.sipkit.test,30,10,S,SIPS+D2T,,_sips._tcp.example.sipkit.test",
    "--naptr-record=example.sipkit.test,5,10,A,SIP+D2T,,a.sipkit.test",
    // SRV (RFC 2782): priority 10 before 20.
    "--srv-host=_sip._tcp.example.sipkit.test,b.sipkit.test,5082,20,0",
    "--srv-host=_sip._tcp.example.sipkit.test,a.sipkit.test,5081,10,0",
    "--srv-host=_sip._udp.example.sipkit.test,a.sipkit.test,5070,10,0",
    "--srv-host=_sips._tcp.example.sipkit.test,b.sipkit.test,5071,10,0",
    "--host-record=a.sipkit.test,127.0.0.1",
    "--host-record=b.sipkit.test,127.0.0.2",
    "--host-record=example.sipkit.test,127.0.0.4",
    // No NAPTR: SRV per transport.
    "--srv-host=_sip._udp.nonaptr.sipkit.test,a.sipkit.test,5090,10,0",
    "--srv-host=_sip._tcp.nonaptr.sipkit.test,b.sipkit.test,5091,10,0",
    // No NAPTR and no SRV: A/AAAA.
    "--host-record=plain.sipkit.test,127.0.0.5,::1",
    // Not a defined service (RFC 7118 has no SRV): never asked for.
    "--srv-host=_sip._ws.example.sipkit.test,a.sipkit.test,5555,10,0",
};

}  // namespace

TEST_CASE("RFC 3263: NAPTR order, then SRV priority, then addresses") {
  dnsmasq dns(example_zone);
  asio::io_context io;
  log_capture logs;
  resolver r(io, dns_config(dns, logs));
  auto res = locate(io, r, "sip:alice@example.sipkit.test");
  INFO(res.ec.message());
  REQUIRE(!res.ec);
  CHECK(names(res.targets) == std::vector<std::string>{
                                  "TCP 127.0.0.1:5081 (example.sipkit.test)",
                                  "TCP 127.0.0.2:5082 (example.sipkit.test)",
                                  "UDP 127.0.0.1:5070 (example.sipkit.test)",
                                  "TLS 127.0.0.2:5071 (example.sipkit.test)",
                              });
  CHECK(!res.targets.current()->secure);
}

TEST_CASE("RFC 3263: sips URI yields TLS targets only") {
  dnsmasq dns(example_zone);
  asio::io_context io;
  log_capture logs;
  resolver r(io, dns_config(dns, logs));
  auto res = locate(io, r, "sips:alice@example.sipkit.test");
  REQUIRE(!res.ec);
  CHECK(names(res.targets) == std::vector<std::string>{"TLS 127.0.0.2:5071 (example.sipkit.test)"});
  CHECK(res.targets.current()->secure);
}

TEST_CASE("RFC 3263: without NAPTR, SRV for each transport") {
  dnsmasq dns(example_zone);
  asio::io_context io;
  log_capture logs;
  resolver r(io, dns_config(dns, logs));
  auto res = locate(io, r, "sip:nonaptr.sipkit.test");
  REQUIRE(!res.ec);
  CHECK(names(res.targets) == std::vector<std::string>{"UDP 127.0.0.1:5090 (nonaptr.sipkit.test)",
                                                       "TCP 127.0.0.2:5091 (nonaptr.sipkit.test)"});
}

TEST_CASE("RFC 3263: without NAPTR and SRV, A and AAAA on the default port") {
  dnsmasq dns(example_zone);
  asio::io_context io;
  log_capture logs;
  resolver r(io, dns_config(dns, logs));
  auto res = locate(io, r, "sip:plain.sipkit.test");
  REQUIRE(!res.ec);
  auto n = names(res.targets);
  std::sort(n.begin(), n.end());
  CHECK(n == std::vector<std::string>{"UDP 127.0.0.5:5060 (plain.sipkit.test)",
                                      "UDP [::1]:5060 (plain.sipkit.test)"});
}

TEST_CASE("RFC 3263: explicit port skips NAPTR and SRV") {
  dnsmasq dns(example_zone);
  asio::io_context io;
  log_capture logs;
  resolver r(io, dns_config(dns, logs));
  auto res = locate(io, r, "sip:example.sipkit.test:5999");
  REQUIRE(!res.ec);
  CHECK(names(res.targets) == std::vector<std::string>{"UDP 127.0.0.4:5999 (example.sipkit.test)"});
}

TEST_CASE("RFC 3263: transport parameter skips NAPTR and selects the SRV service") {
  dnsmasq dns(example_zone);
  asio::io_context io;
  log_capture logs;
  resolver r(io, dns_config(dns, logs));
  auto res = locate(io, r, "sip:example.sipkit.test;transport=udp");
  REQUIRE(!res.ec);
  CHECK(names(res.targets) == std::vector<std::string>{"UDP 127.0.0.1:5070 (example.sipkit.test)"});
}

TEST_CASE("RFC 3263: numeric hosts need no DNS") {
  asio::io_context io;
  log_capture logs;
  resolver_config c;
  c.servers = "127.0.0.1:9";  // nothing there: a DNS query would time out
  c.lookups = "b";
  c.log = logs.make();
  resolver r(io, c);
  CHECK(names(locate(io, r, "sip:127.0.0.1:5099;transport=tcp").targets) ==
        std::vector<std::string>{"TCP 127.0.0.1:5099 (127.0.0.1)"});
  CHECK(names(locate(io, r, "sips:[::1]").targets) == std::vector<std::string>{"TLS [::1]:5061 (::1)"});
  CHECK(names(locate(io, r, "sip:192.0.2.1").targets) ==
        std::vector<std::string>{"UDP 192.0.2.1:5060 (192.0.2.1)"});
  CHECK(locate(io, r, "tel:+1234").ec == make_error_code(error::bad_uri));
  CHECK(locate(io, r, "not a uri").ec == make_error_code(error::bad_uri));
}

TEST_CASE("RFC 7118: ws and wss targets have no SRV; ports default to 80 and 443") {
  dnsmasq dns(example_zone);
  asio::io_context io;
  log_capture logs;
  resolver r(io, dns_config(dns, logs));
  auto ws = locate(io, r, "sip:example.sipkit.test;transport=ws");
  REQUIRE(!ws.ec);
  CHECK(names(ws.targets) == std::vector<std::string>{"WS 127.0.0.4:80 (example.sipkit.test)"});
  auto wss = locate(io, r, "sips:example.sipkit.test;transport=ws");
  REQUIRE(!wss.ec);
  CHECK(names(wss.targets) == std::vector<std::string>{"WSS 127.0.0.4:443 (example.sipkit.test)"});
  CHECK(wss.targets.current()->secure);
  auto port = locate(io, r, "sip:example.sipkit.test:8088;transport=WS");
  REQUIRE(!port.ec);
  CHECK(names(port.targets) == std::vector<std::string>{"WS 127.0.0.4:8088 (example.sipkit.test)"});
}

TEST_CASE("RFC 7118: numeric ws and wss hosts need no DNS") {
  asio::io_context io;
  log_capture logs;
  resolver_config c;
  c.servers = "127.0.0.1:9";  // nothing there: a DNS query would time out
  c.lookups = "b";
  c.log = logs.make();
  resolver r(io, c);
  CHECK(names(locate(io, r, "sip:127.0.0.1;transport=ws").targets) ==
        std::vector<std::string>{"WS 127.0.0.1:80 (127.0.0.1)"});
  CHECK(names(locate(io, r, "sip:127.0.0.1:10080;transport=ws").targets) ==
        std::vector<std::string>{"WS 127.0.0.1:10080 (127.0.0.1)"});
  CHECK(names(locate(io, r, "sip:[::1];transport=wss").targets) ==
        std::vector<std::string>{"WSS [::1]:443 (::1)"});
  CHECK(names(locate(io, r, "sips:127.0.0.1;transport=ws").targets) ==
        std::vector<std::string>{"WSS 127.0.0.1:443 (127.0.0.1)"});
  CHECK(locate(io, r, "sip:127.0.0.1;transport=sctp").ec ==
        make_error_code(error::unsupported_transport));
}

TEST_CASE("RFC 3263: unknown domain is a DNS failure") {
  dnsmasq dns(example_zone);
  asio::io_context io;
  log_capture logs;
  resolver r(io, dns_config(dns, logs));
  auto res = locate(io, r, "sip:nothing.sipkit.test");
  CHECK(res.ec == make_error_code(error::dns_failure));
  CHECK(res.targets.empty());
  CHECK(logs.contains("no target for nothing.sipkit.test"));
}

TEST_CASE("RFC 3263: failover to the next target after a connection failure") {
  asio::io_context io;
  log_capture logs;
  manager server(io, config_for({{protocol::tcp, "127.0.0.1", 0}}, logs));
  inbox at_server;
  at_server.attach(server);
  REQUIRE(!server.start());
  const std::uint16_t alive = bound(server, protocol::tcp).port;
  const std::uint16_t dead = free_port(true);
  dnsmasq dns({"--srv-host=_sip._tcp.fail.sipkit.test,a.sipkit.test," + std::to_string(dead) + ",10,0",
               "--srv-host=_sip._tcp.fail.sipkit.test,a.sipkit.test," + std::to_string(alive) + ",20,0",
               "--host-record=a.sipkit.test,127.0.0.1"});
  resolver r(io, dns_config(dns, logs));
  manager client(io, config_for({}, logs));
  REQUIRE(!client.start());

  auto res = locate(io, r, "sip:bob@fail.sipkit.test;transport=tcp");
  REQUIRE(!res.ec);
  REQUIRE(res.targets.all().size() == 2);
  REQUIRE(res.targets.current()->remote.port == dead);
  const auto req = owned(options_request("TCP", "client.invalid"));
  std::vector<std::error_code> outcomes;
  std::function<void()> attempt = [&] {
    REQUIRE(!client.send_request(req, *res.targets.current(), [&](std::error_code ec, const send_info&) {
      outcomes.push_back(ec);
      if (ec && res.targets.next()) attempt();
    }));
  };
  attempt();
  REQUIRE(run_until(io, [&] { return at_server.items.size() == 1 && outcomes.size() == 2; }));
  CHECK(outcomes[0] == std::errc::connection_refused);
  CHECK(!outcomes[1]);
  CHECK(at_server.items[0].msg.top_via()->branch == "z9hG4bK-1");
}

TEST_CASE("RFC 2782: SRV order is by priority, then weighted random within a priority") {
  std::vector<srv_record> in = {
      {"c", 1, 20, 0}, {"a", 1, 10, 60}, {"b", 1, 10, 40}, {"z", 1, 10, 0}};
  // rand returns the bound: always the last record of the running sum.
  auto last = order_srv(in, [](std::uint32_t bound) { return bound; });
  std::vector<std::string> order;
  for (auto& r : last) order.push_back(r.target);
  CHECK(order == std::vector<std::string>{"b", "a", "z", "c"});
  // rand returns 0: the weight-0 record first, then the first with a weight.
  auto first = order_srv(in, [](std::uint32_t) { return 0u; });
  order.clear();
  for (auto& r : first) order.push_back(r.target);
  CHECK(order == std::vector<std::string>{"z", "a", "b", "c"});
}

TEST_CASE("RFC 2782: weights shape the distribution of the first choice") {
  std::vector<srv_record> in = {{"heavy", 1, 10, 90}, {"light", 1, 10, 10}};
  std::minstd_rand rng(1);
  int heavy = 0;
  for (int i = 0; i < 1000; ++i) {
    auto out = order_srv(in, [&](std::uint32_t b) { return std::uniform_int_distribution<std::uint32_t>(0, b)(rng); });
    heavy += out[0].target == "heavy";
  }
  CHECK(heavy > 850);
  CHECK(heavy < 950);
}
