// examples/registrar/redis_location_store and redis_client (issue 14): the registrar's rules
// with the bindings in Redis, shared by several "registrars", expired by Redis itself, a
// Redis restart, and a Redis that stalls while the io_context keeps running (acceptance 3).
// Every test case starts its own redis-server on a free port (redis_server.hpp); none skips.
#include "registrar/redis_location_store.hpp"

#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <catch2/catch.hpp>
#include <cstdio>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "redis_server.hpp"
#include "sipkit/parser/uri.hpp"

namespace asio = boost::asio;
using namespace std::chrono_literals;
using registrar::contact_update;
using registrar::redis_bindings;
using registrar::redis_location_store;
using status = registrar::location_service::status;
namespace redis = registrar::redis;

namespace {

const std::string alice = "sip:alice@example.com";

redis::client_config config_for(std::uint16_t port) {
  redis::client_config c;
  c.port = port;
  c.log = sipkit::logger(sipkit::log_level::error);
  return c;
}

// Runs `io` until `done()` or `limit` passed (then false): every wait in these tests is bounded.
template <class Pred>
bool run_until(asio::io_context& io, Pred done, std::chrono::milliseconds limit = 5000ms) {
  auto expired = std::make_shared<bool>(false);
  asio::steady_timer deadline(io, limit);
  deadline.async_wait([expired](const boost::system::error_code& ec) { *expired = !ec; });
  io.restart();
  while (!done() && !*expired) io.run_one();
  deadline.cancel();
  io.poll();  // lets the cancelled deadline's handler run while its state is alive
  return done();
}

struct update_result {
  std::error_code ec;
  status st = status::ok;
  redis_bindings b;
};

std::vector<std::string> uris(const redis_bindings& b) {
  std::vector<std::string> out;
  for (const auto& x : b.bindings) out.push_back(x.uri);
  return out;
}

// One Redis, one client and one store: a registrar.
struct registrar_node {
  asio::io_context& io;
  redis::client client;
  redis_location_store store;

  registrar_node(asio::io_context& ctx, std::uint16_t port, registrar::location_limits limits = {})
      : io(ctx), client(ctx, config_for(port)), store(client, {.limits = limits}) {
    client.start();
    REQUIRE(run_until(io, [&] { return client.connected(); }));
  }

  update_result update(const std::string& aor, const std::string& call_id, std::uint32_t cseq,
                       std::vector<contact_update> contacts, bool remove_all = false) {
    std::optional<update_result> r;
    store.async_update(aor, call_id, cseq, remove_all, contacts,
                       [&](std::error_code ec, status st, redis_bindings b) {
                         r = update_result{ec, st, std::move(b)};
                       });
    REQUIRE(run_until(io, [&] { return r.has_value(); }));
    return *r;
  }
  status update_status(const std::string& aor, const std::string& call_id, std::uint32_t cseq,
                       std::vector<contact_update> contacts, bool remove_all = false) {
    auto r = update(aor, call_id, cseq, std::move(contacts), remove_all);
    REQUIRE_FALSE(r.ec);
    return r.st;
  }

  redis_bindings lookup(const std::string& aor) {
    std::optional<redis_bindings> r;
    std::error_code error;
    store.async_lookup(aor, [&](std::error_code ec, redis_bindings b) {
      error = ec;
      r = std::move(b);
    });
    REQUIRE(run_until(io, [&] { return r.has_value(); }));
    REQUIRE_FALSE(error);
    return *r;
  }

  redis::reply command(std::vector<std::string> args) {
    std::optional<redis::reply> r;
    std::error_code error;
    client.command(std::move(args), [&](std::error_code ec, redis::reply x) {
      error = ec;
      r = std::move(x);
    });
    REQUIRE(run_until(io, [&] { return r.has_value(); }));
    REQUIRE_FALSE(error);
    return *r;
  }
};

std::vector<contact_update> one(std::string uri, long expires = 3600) {
  return {{std::move(uri), expires}};
}

}  // namespace

TEST_CASE("redis store: a REGISTER adds a binding that lookup returns, expiring in Redis",
          "[registrar][redis]") {
  sipkit_test::redis_server server;
  asio::io_context io;
  registrar_node node(io, server.port());
  auto r = node.update(alice, "c1", 1, one("sip:alice@192.0.2.1:5060"));
  REQUIRE_FALSE(r.ec);
  CHECK(r.st == status::ok);
  CHECK(uris(r.b) == std::vector<std::string>{"sip:alice@192.0.2.1:5060"});

  auto b = node.lookup(alice);
  REQUIRE(b.bindings.size() == 1);
  CHECK(b.bindings[0].uri == "sip:alice@192.0.2.1:5060");
  CHECK(b.bindings[0].call_id == "c1");
  CHECK(b.bindings[0].cseq == 1);
  CHECK(b.bindings[0].expires_at - b.bindings[0].refreshed_at == 3600s);
  CHECK(b.expires_in(b.bindings[0]) >= 3590s);
  CHECK(b.expires_in(b.bindings[0]) <= 3600s);
  // Redis itself will drop the AOR at its latest expiry.
  auto pttl = node.command({"PTTL", node.store.key_of(alice)});
  CHECK(pttl.integer > 3590000);
  CHECK(pttl.integer <= 3600000);
  CHECK(node.lookup("sip:bob@example.com").bindings.empty());
}

TEST_CASE("redis store: a refresh of an equal URI replaces the binding, a different one adds",
          "[registrar][redis]") {
  sipkit_test::redis_server server;
  asio::io_context io;
  registrar_node node(io, server.port());
  REQUIRE(node.update_status(alice, "c1", 1, one("sip:alice@Host.example;ob", 60)) == status::ok);
  // §19.1.4: host case-insensitive, a parameter in only one URI ignored: the same binding.
  auto r = node.update(alice, "c1", 2, one("sip:alice@host.example", 120));
  REQUIRE(r.st == status::ok);
  REQUIRE(r.b.bindings.size() == 1);
  CHECK(r.b.bindings[0].uri == "sip:alice@host.example");
  CHECK(r.b.bindings[0].cseq == 2);
  CHECK(r.b.bindings[0].expires_at - r.b.bindings[0].refreshed_at == 120s);
  // A transport parameter in one only, or another port: different bindings.
  CHECK(node.update_status(alice, "c1", 3, one("sip:alice@host.example;transport=tcp")) ==
        status::ok);
  CHECK(node.update_status(alice, "c1", 4, one("sip:alice@host.example:5070")) == status::ok);
  CHECK(uris(node.lookup(alice)) == std::vector<std::string>{"sip:alice@host.example",
                                                             "sip:alice@host.example;transport=tcp",
                                                             "sip:alice@host.example:5070"});
}

TEST_CASE("redis store: expires 0 removes one binding, Contact * removes all and the key",
          "[registrar][redis]") {
  sipkit_test::redis_server server;
  asio::io_context io;
  registrar_node node(io, server.port());
  REQUIRE(node.update_status(alice, "c1", 1, {{"sip:a@192.0.2.1", 60}, {"sip:b@192.0.2.1", 60}}) ==
          status::ok);
  CHECK(node.update_status(alice, "c1", 2, one("sip:a@192.0.2.1", 0)) == status::ok);
  CHECK(uris(node.lookup(alice)) == std::vector<std::string>{"sip:b@192.0.2.1"});
  CHECK(node.update_status(alice, "c2", 1, {}, true) == status::ok);
  CHECK(node.lookup(alice).bindings.empty());
  CHECK(node.command({"EXISTS", node.store.key_of(alice)}).integer == 0);
  CHECK(node.command({"ZCARD", node.store.index_key()}).integer == 0);
}

TEST_CASE("redis store: same Call-ID with a CSeq not higher is refused and changes nothing",
          "[registrar][redis]") {
  sipkit_test::redis_server server;
  asio::io_context io;
  registrar_node node(io, server.port());
  REQUIRE(node.update_status(alice, "c1", 5, one("sip:a@192.0.2.1", 60)) == status::ok);
  CHECK(node.update_status(alice, "c1", 5, one("sip:a@192.0.2.1", 0)) == status::cseq_out_of_order);
  CHECK(node.update_status(alice, "c1", 4, one("sip:a@192.0.2.1", 0)) == status::cseq_out_of_order);
  CHECK(uris(node.lookup(alice)) == std::vector<std::string>{"sip:a@192.0.2.1"});
  // Another Call-ID (the UA rebooted) may use any CSeq.
  CHECK(node.update_status(alice, "c2", 1, one("sip:a@192.0.2.1", 0)) == status::ok);
  CHECK(node.lookup(alice).bindings.empty());
}

TEST_CASE("redis store: beyond max_contacts a REGISTER is refused as a whole",
          "[registrar][redis]") {
  sipkit_test::redis_server server;
  asio::io_context io;
  registrar_node node(io, server.port(), {.max_contacts = 2});
  REQUIRE(node.update_status(alice, "c", 1, one("sip:a@192.0.2.1")) == status::ok);
  // Two new contacts and a removal in one request: too many, and the removal is not applied.
  CHECK(node.update_status(alice, "c", 2,
                           {{"sip:a@192.0.2.1", 0},
                            {"sip:b@192.0.2.1", 60},
                            {"sip:c@192.0.2.1", 60},
                            {"sip:d@192.0.2.1", 60}}) == status::too_many_contacts);
  CHECK(uris(node.lookup(alice)) == std::vector<std::string>{"sip:a@192.0.2.1"});
  CHECK(node.update_status(alice, "c", 3, one("sip:b@192.0.2.1")) == status::ok);
  CHECK(node.update_status(alice, "c", 4, one("sip:c@192.0.2.1")) == status::too_many_contacts);
}

TEST_CASE("redis store: with replace_oldest the least recently refreshed binding makes room",
          "[registrar][redis]") {
  sipkit_test::redis_server server;
  asio::io_context io;
  registrar_node node(io, server.port(), {.max_contacts = 2, .replace_oldest = true});
  REQUIRE(node.update_status(alice, "c", 1, one("sip:a@192.0.2.1")) == status::ok);
  REQUIRE(node.update_status(alice, "c", 2, one("sip:b@192.0.2.1")) == status::ok);
  // Refreshed times come from the Redis clock in ms: let it move on before the refresh of a.
  const auto b_at = node.lookup(alice).bindings[1].refreshed_at;
  for (int i = 0; i < 10000 && node.lookup(alice).server_now <= b_at; ++i) {
  }
  REQUIRE(node.update_status(alice, "c", 3, one("sip:a@192.0.2.1")) == status::ok);
  CHECK(node.update_status(alice, "c", 4, one("sip:c@192.0.2.1")) == status::ok);
  CHECK(uris(node.lookup(alice)) == std::vector<std::string>{"sip:a@192.0.2.1", "sip:c@192.0.2.1"});
  CHECK(node.command({"ZCARD", node.store.index_key()}).integer == 2);
  CHECK(node.update_status(
            alice, "c", 5,
            {{"sip:x@192.0.2.1", 60}, {"sip:y@192.0.2.1", 60}, {"sip:z@192.0.2.1", 60}}) ==
        status::too_many_contacts);
}

TEST_CASE("redis store: a Contact URI longer than max_uri_length is refused, nothing stored",
          "[registrar][redis]") {
  sipkit_test::redis_server server;
  asio::io_context io;
  registrar_node node(io, server.port(), {.max_uri_length = 64});
  const std::string long_uri = "sip:" + std::string(80, 'a') + "@192.0.2.1";
  CHECK(node.update_status(alice, "c", 1, {{"sip:ok@192.0.2.1", 60}, {long_uri, 60}}) ==
        status::uri_too_long);
  CHECK(node.lookup(alice).bindings.empty());
  CHECK(node.command({"EXISTS", node.store.key_of(alice)}).integer == 0);
}

TEST_CASE("redis store: beyond max_bindings in total a new binding is refused (full)",
          "[registrar][redis]") {
  sipkit_test::redis_server server;
  asio::io_context io;
  registrar_node node(io, server.port(), {.max_bindings = 2});
  REQUIRE(node.update_status("sip:a@example.com", "c", 1, one("sip:a@192.0.2.1", 60)) ==
          status::ok);
  REQUIRE(node.update_status("sip:b@example.com", "c", 1, one("sip:b@192.0.2.1", 120)) ==
          status::ok);
  auto r = node.update("sip:c@example.com", "c", 1, one("sip:c@192.0.2.1"));
  CHECK(r.st == status::full);
  REQUIRE(r.b.next_expiry);
  CHECK(*r.b.next_expiry - r.b.server_now <= 60s);
  CHECK(*r.b.next_expiry - r.b.server_now > 50s);
  // Refreshing an existing binding is not a new one.
  CHECK(node.update_status("sip:a@example.com", "c", 2, one("sip:a@192.0.2.1", 60)) == status::ok);
}

TEST_CASE("redis store: two registrars share the bindings, and the check-and-update is atomic",
          "[registrar][redis]") {
  sipkit_test::redis_server server;
  asio::io_context io;
  registrar_node east(io, server.port(), {.max_contacts = 16});
  registrar_node west(io, server.port(), {.max_contacts = 16});
  REQUIRE(east.update_status(alice, "c1", 1, one("sip:alice@192.0.2.1")) == status::ok);
  CHECK(uris(west.lookup(alice)) == std::vector<std::string>{"sip:alice@192.0.2.1"});
  // 40 REGISTERs of distinct contacts at once, from both: exactly 16 fit, whatever the order.
  int ok = 0, refused = 0, done = 0;
  std::vector<contact_update> c(1);
  for (int i = 0; i < 40; ++i) {
    std::string uri = "sip:d";  // in steps: g++ 12 warns wrongly on "x" + std::string
    uri += std::to_string(i);
    uri += "@192.0.2.2";
    c[0] = {uri, 60};
    auto& node = i % 2 ? west : east;
    node.store.async_update(alice, std::to_string(i + 2) + "@c", 1, false, c,
                            [&](std::error_code ec, status st, redis_bindings) {
                              CHECK_FALSE(ec);
                              ++(st == status::ok ? ok : refused);
                              ++done;
                            });
  }
  REQUIRE(run_until(io, [&] { return done == 40; }));
  CHECK(ok == 15);  // alice@192.0.2.1 holds the first place
  CHECK(refused == 25);
  CHECK(east.lookup(alice).bindings.size() == 16);
  CHECK(west.command({"ZCARD", west.store.index_key()}).integer == 16);
}

TEST_CASE("redis store: bindings expire by Redis with no registrar alive", "[registrar][redis]") {
  sipkit_test::redis_server server;
  asio::io_context io;
  {
    registrar_node node(io, server.port());
    REQUIRE(node.update_status(alice, "c", 1,
                               {{"sip:short@192.0.2.1", 1}, {"sip:long@192.0.2.1", 2}}) ==
            status::ok);
  }  // the registrar is gone: only Redis can expire what it wrote
  registrar_node observer(io, server.port());
  const auto key = observer.store.key_of(alice);
  // Bounded waits, polled every 50 ms by a timer: the short one filtered first, then the key.
  auto wait_for = [&](auto pred) {
    for (int i = 0; i < 100; ++i) {  // at most 100 x 50 ms
      if (pred()) return true;
      bool fired = false;
      asio::steady_timer t(io, 50ms);
      t.async_wait([&](const boost::system::error_code&) { fired = true; });
      run_until(io, [&] { return fired; });
    }
    return false;
  };
  CHECK(wait_for([&] {
    return uris(observer.lookup(alice)) == std::vector<std::string>{"sip:long@192.0.2.1"};
  }));
  CHECK(wait_for([&] { return observer.command({"EXISTS", key}).integer == 0; }));
  CHECK(observer.command({"EXISTS", observer.store.index_key()}).integer == 0);
  CHECK(observer.lookup(alice).bindings.empty());
}

TEST_CASE("redis client: after a Redis restart it reconnects, and without persistence all is lost",
          "[registrar][redis]") {
  auto server = std::make_unique<sipkit_test::redis_server>();
  const auto port = server->port();
  asio::io_context io;
  registrar_node node(io, port);
  std::vector<bool> events;
  node.client.on_connection([&](bool up) { events.push_back(up); });
  REQUIRE(node.update_status(alice, "c", 1, one("sip:a@192.0.2.1")) == status::ok);

  server->kill();
  REQUIRE(run_until(io, [&] { return !node.client.connected(); }));
  // Meanwhile a REGISTER fails at once (a registrar answers 503), nothing is queued.
  auto r = node.update(alice, "c", 2, one("sip:a@192.0.2.1"));
  CHECK(r.ec == redis::errc::not_connected);

  server = std::make_unique<sipkit_test::redis_server>(port);  // --save '' --appendonly no
  REQUIRE(run_until(
      io, [&] { return node.client.connected(); }, 10000ms));
  CHECK(node.client.connects() == 2);
  // Nothing was persisted: every binding is gone; UAs restore them at their next refresh.
  CHECK(node.lookup(alice).bindings.empty());
  // The new server has no script cache: EVALSHA's NOSCRIPT falls back to EVAL.
  CHECK(node.update_status(alice, "c", 3, one("sip:a@192.0.2.1")) == status::ok);
  CHECK(uris(node.lookup(alice)) == std::vector<std::string>{"sip:a@192.0.2.1"});
  REQUIRE(run_until(io, [&] { return events.size() >= 2; }));
  CHECK(events == std::vector<bool>{false, true});
}

TEST_CASE("redis client: beyond max_in_flight commands fail at once and are counted",
          "[registrar][redis]") {
  sipkit_test::redis_server server;
  asio::io_context io;
  auto cfg = config_for(server.port());
  cfg.max_in_flight = 4;
  redis::client client(io, cfg);
  client.start();
  REQUIRE(run_until(io, [&] { return client.connected(); }));
  int pong = 0, refused = 0;
  for (int i = 0; i < 10; ++i)
    client.command({"PING"}, [&](std::error_code ec, redis::reply r) {
      if (ec == redis::errc::too_many_in_flight) ++refused;
      if (!ec && r.str == "PONG") ++pong;
    });
  CHECK(client.in_flight() == 4);
  REQUIRE(run_until(io, [&] { return pong + refused == 10; }));
  CHECK(pong == 4);
  CHECK(refused == 6);
  CHECK(client.rejected() == 6);
  CHECK(client.in_flight() == 0);
}

TEST_CASE("redis client: a stalled Redis (DEBUG SLEEP 2) does not block the io_context",
          "[registrar][redis][acceptance]") {
  sipkit_test::redis_server server;
  asio::io_context io;
  registrar_node node(io, server.port());
  redis::client other(io, config_for(server.port()));  // the second connection
  other.start();
  REQUIRE(run_until(io, [&] { return other.connected(); }));
  const auto before = node.lookup(alice).server_now;

  // A 10 ms ticker stands for the SIP traffic this thread must keep serving.
  int ticks = 0, ticks_at_sleep_reply = -1, ticks_at_update = -1, ticks_at_sent = -1;
  bool stop = false;
  std::chrono::system_clock::time_point applied_at;
  asio::steady_timer ticker(io);
  std::function<void()> tick = [&] {
    ticker.expires_after(10ms);
    ticker.async_wait([&](const boost::system::error_code& ec) {
      if (ec || stop) return;
      ++ticks;
      // 50 ms after DEBUG SLEEP went out, the server is asleep: the REGISTER waits for it.
      if (ticks == 5) {
        ticks_at_sent = ticks;
        node.store.async_update(alice, "c", 1, false, one("sip:a@192.0.2.1"),
                                [&](std::error_code ec2, status st, redis_bindings b) {
                                  CHECK_FALSE(ec2);
                                  CHECK(st == status::ok);
                                  CHECK(b.bindings.size() == 1);
                                  // Applied by the server after its 2 s sleep.
                                  applied_at = b.server_now;
                                  ticks_at_update = ticks;
                                });
      }
      tick();
    });
  };
  bool slept = false;
  other.command({"DEBUG", "SLEEP", "2"}, [&](std::error_code ec, redis::reply r) {
    CHECK_FALSE(ec);
    CHECK(r.str == "OK");
    slept = true;
    ticks_at_sleep_reply = ticks;
  });
  tick();
  REQUIRE(run_until(
      io, [&] { return slept && ticks_at_update >= 0; }, 10000ms));
  stop = true;
  ticker.cancel();
  io.poll();
  UNSCOPED_INFO("ticks during the 2 s stall: " << ticks_at_sleep_reply);
  // 200 would be every tick on time; a blocked thread would give about one.
  CHECK(ticks_at_sleep_reply >= 100);
  CHECK(ticks_at_update >= ticks_at_sleep_reply);
  CHECK(ticks_at_sent == 5);
  CHECK(applied_at - before >= 2000ms);
  std::printf("DEBUG SLEEP 2: %d ticks of 10 ms during the stall, REGISTER answered at tick %d\n",
              ticks_at_sleep_reply, ticks_at_update);
}

TEST_CASE("redis client: no reply within command_timeout drops the connection, fails what is in "
          "flight with timed_out, and reconnects",
          "[registrar][redis]") {
  sipkit_test::redis_server server;
  asio::io_context io;
  redis::client sleeper(io, config_for(server.port()));  // puts the server to sleep
  auto cfg = config_for(server.port());
  cfg.command_timeout = 200ms;
  cfg.backoff_initial = 50ms;
  redis::client client(io, cfg);
  sleeper.start();
  client.start();
  REQUIRE(run_until(io, [&] { return sleeper.connected() && client.connected(); }));
  std::vector<bool> events;
  client.on_connection([&](bool up) { events.push_back(up); });

  bool slept = false;
  sleeper.command({"DEBUG", "SLEEP", "1"}, [&](std::error_code ec, redis::reply) {
    CHECK_FALSE(ec);
    slept = true;
  });
  // Sent after the sleeper's command on another connection: the server answers neither
  // for a second, so both PINGs of `client` time out together.
  std::vector<std::error_code> results;
  asio::steady_timer later(io, 50ms);
  later.async_wait([&](const boost::system::error_code&) {
    for (int i = 0; i < 2; ++i)
      client.command({"PING"}, [&](std::error_code ec, redis::reply) { results.push_back(ec); });
  });
  REQUIRE(run_until(io, [&] { return results.size() == 2; }));
  CHECK(results[0] == redis::errc::timed_out);
  CHECK(results[1] == redis::errc::timed_out);
  CHECK(client.timed_out() == 2);
  CHECK(client.in_flight() == 0);
  CHECK(std::string(make_error_code(redis::errc::timed_out).message()).find("in time") !=
        std::string::npos);

  // Once the server is awake the client is connected again and commands work.
  REQUIRE(run_until(io, [&] { return slept; }));
  REQUIRE(run_until(io, [&] { return client.connected() && events.size() >= 2; }));
  CHECK(events.front() == false);
  CHECK(events.back() == true);
  std::string pong;
  client.command({"PING"}, [&](std::error_code ec, redis::reply r) {
    CHECK_FALSE(ec);
    pong = r.str;
  });
  REQUIRE(run_until(io, [&] { return !pong.empty(); }));
  CHECK(pong == "PONG");
  CHECK(client.connects() >= 2);
}

TEST_CASE("redis store: match_key agrees with uri_equal (RFC 3261 §19.1.4)", "[registrar]") {
  const std::vector<std::pair<std::string, std::string>> pairs{
      {"sip:alice@Example.COM", "sip:alice@example.com"},
      {"sip:alice@example.com", "sip:Alice@example.com"},
      {"sip:alice@example.com", "sip:alice@example.com:5060"},
      {"sip:al%69ce@example.com", "sip:alice@example.com"},
      {"sip:alice@example.com;ob", "sip:alice@example.com"},
      {"sip:alice@example.com;foo=1", "sip:alice@example.com;FOO=1"},
      {"sip:alice@example.com;foo=1", "sip:alice@example.com;foo=2"},
      {"sip:alice@example.com;transport=TCP", "sip:alice@example.com;transport=tcp"},
      {"sip:alice@example.com;transport=tcp", "sip:alice@example.com"},
      {"sip:alice@example.com;maddr=192.0.2.1", "sip:alice@example.com"},
      {"sip:alice@example.com?Subject=hi&Priority=urgent",
       "sip:alice@example.com?priority=urgent&subject=hi"},
      {"sip:alice@example.com?subject=hi", "sip:alice@example.com?subject=Hi"},
      {"sip:alice@example.com?subject=hi", "sip:alice@example.com"},
      {"sips:alice@example.com", "sip:alice@example.com"},
      {"sip:alice:secret@example.com", "sip:alice@example.com"},
  };
  for (const auto& [a, b] : pairs) {
    sipkit::parser::uri_view ua, ub;
    REQUIRE_FALSE(sipkit::parser::parse_uri(a, ua));
    REQUIRE_FALSE(sipkit::parser::parse_uri(b, ub));
    const auto ka = registrar::match_key(a), kb = registrar::match_key(b);
    bool same = ka.strict == kb.strict;  // what the Lua script decides
    for (const auto& [n, v] : ka.loose)
      for (const auto& [m, w] : kb.loose)
        if (n == m && v != w) same = false;
    INFO(a << " vs " << b);
    CHECK(same == sipkit::parser::uri_equal(ua, ub));
  }
}

TEST_CASE("redis store: lookup lists by q, then registration order, as location_service",
          "[registrar][redis]") {
  sipkit_test::redis_server server;
  asio::io_context io;
  registrar_node node(io, server.port());
  REQUIRE(node.update_status(alice, "c", 1,
                             {{"sip:low@192.0.2.1", 60, 500},
                              {"sip:plain@192.0.2.1", 60, std::nullopt},
                              {"sip:high@192.0.2.1", 60, 900}}) == status::ok);
  // A refresh keeps the binding's place; its q is the new one.
  REQUIRE(node.update_status(alice, "c", 2, {{"sip:plain@192.0.2.1", 120, 900}}) == status::ok);
  const auto b = node.lookup(alice);
  CHECK(uris(b) ==
        std::vector<std::string>{"sip:plain@192.0.2.1", "sip:high@192.0.2.1", "sip:low@192.0.2.1"});
  REQUIRE(b.bindings[2].q);
  CHECK(*b.bindings[2].q == 500);
  // On this machine's clock: what is left of each expiry is kept.
  const auto now = registrar::clock_type::now();
  const auto local = b.local(now);
  REQUIRE(local.size() == 3);
  CHECK(local[0].uri == "sip:plain@192.0.2.1");
  CHECK(local[0].expires_at - now == b.bindings[0].expires_at - b.server_now);
  CHECK(local[0].expires_at - now > 110s);
  CHECK(local[1].expires_at - now <= 60s);
}
