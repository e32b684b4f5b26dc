// Test helpers for the proxy core: a fake location/RFC 3263 service, and a proxy under
// test on the fake transport and the manual clock, with the UAC and UASes played by hand.
#pragma once

#include <catch2/catch.hpp>
#include <chrono>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "sipkit/parser/message.hpp"
#include "sipkit/parser/uri.hpp"
#include "sipkit/proxy/core.hpp"
#include "support/fake_transport.hpp"
#include "support/manual_clock.hpp"

namespace sipkit::test {

using namespace std::chrono_literals;
namespace px = sipkit::proxy;
namespace tx = sipkit::transaction;
using time_point = sipkit::proxy::time_point;
using parser::header_id;

/// Location: a table from Request-URI to targets. RFC 3263: numeric URIs only (host, port,
/// ;transport=). Answers at once unless `async` is set; then the ids wait in `lookups` /
/// `resolutions` for the test to answer.
class fake_services final : public px::services {
 public:
  px::core* core = nullptr;
  manual_clock* clock = nullptr;
  std::map<std::string, std::vector<px::target>> locations;
  bool async = false;
  std::vector<std::pair<std::uint64_t, std::string>> lookups;      // id, Request-URI
  std::vector<std::pair<std::uint64_t, std::string>> resolutions;  // id, URI
  std::vector<std::string> resolved;                               // every URI asked

  void locate(std::uint64_t id, const parser::message& request) override {
    lookups.emplace_back(id, std::string(request.request_uri()));
    if (async) return;
    auto it = locations.find(std::string(request.request_uri()));
    core->set_targets(id, it == locations.end() ? std::vector<px::target>{} : it->second,
                      clock->now());
  }
  void resolve(std::uint64_t id, std::string_view uri) override {
    resolved.emplace_back(uri);
    if (async) {
      resolutions.emplace_back(id, std::string(uri));
      return;
    }
    core->set_next_hops(id, endpoints_of(uri), clock->now());
  }

  static std::vector<tx::endpoint> endpoints_of(std::string_view uri) {
    parser::uri_view u;
    if (parser::parse_uri(uri, u)) return {};
    tx::endpoint ep;
    ep.protocol =
        sipkit::parse_transport_protocol(u.transport_param).value_or(tx::transport_protocol::udp);
    std::string_view host = u.host;
    if (host.size() > 2 && host.front() == '[') host = host.substr(1, host.size() - 2);
    ep.host = std::string(host);
    ep.port = u.port ? u.port : sipkit::default_port(ep.protocol);
    return {ep};
  }
};

inline px::config default_config() {
  px::config cfg;
  cfg.locals = {{tx::transport_protocol::udp, "192.0.2.10", 5060}};
  cfg.domains = {"example.com"};
  return cfg;
}

inline tx::manager_config quiet_manager() {
  tx::manager_config m;
  m.seed = 7;
  m.amplification.factor = 0;
  m.rate_limit.requests_per_second = 0;
  m.log = logger{log_level::off};
  return m;
}

/// The caller's INVITE as it reaches the proxy.
inline parser::message caller_request(std::string_view method = "INVITE",
                                      std::string_view ruri = "sip:bob@example.com",
                                      std::string_view branch = "z9hG4bKcaller1") {
  auto m = parser::message::request(method, ruri);
  m.add(header_id::via, "SIP/2.0/UDP 192.0.2.1:5060;branch=" + std::string(branch));
  m.add(header_id::max_forwards, "70");
  m.add(header_id::from, "Alice <sip:alice@example.com>;tag=a1");
  m.add(header_id::to, "Bob <sip:bob@example.com>");
  m.add(header_id::call_id, "call-1@192.0.2.1");
  m.add(header_id::cseq, "1 " + std::string(method));
  m.add(header_id::contact, "<sip:alice@192.0.2.1:5060>");
  return m;
}

inline const tx::endpoint caller{"192.0.2.1", 5060, tx::transport_protocol::udp, 0};
inline const tx::endpoint bob_phone{"192.0.2.20", 5062, tx::transport_protocol::udp, 0};
inline const tx::endpoint bob_laptop{"192.0.2.21", 5064, tx::transport_protocol::udp, 0};

struct proxy_fixture {
  manual_clock clock;
  fake_transport tp{clock, {"192.0.2.10", 5060}};
  fake_services svc;
  std::unique_ptr<px::core> proxy;

  explicit proxy_fixture(px::config cfg = default_config()) {
    proxy = std::make_unique<px::core>(tp, svc, std::move(cfg), quiet_manager());
    svc.core = proxy.get();
    svc.clock = &clock;
    clock.attach_manager(*proxy);
    svc.locations["sip:bob@example.com"] = {{"sip:bob@192.0.2.20:5062", 1.0}};
  }
  ~proxy_fixture() { clock.advance(10min); }

  void receive(parser::message m, const tx::endpoint& from) {
    proxy->on_receive(std::move(m), from, clock.now());
  }
  /// A UAS's response to the request the proxy sent in tp.sent()[i].
  parser::message answer(std::size_t i, int code, std::string_view to_tag = "b1") {
    return parser::make_response(tp.sent().at(i).msg, code, {}, code > 100 ? to_tag : "");
  }
  /// Index of the n-th (0-based) message sent to `dest` (method or status filter).
  const fake_transport::record* sent_to(const tx::endpoint& dest, std::string_view what,
                                        std::size_t n = 0) const {
    for (const auto& r : tp.sent()) {
      if (r.destination.host != dest.host || r.destination.port != dest.port) continue;
      const std::string key = r.msg.is_request() ? std::string(r.msg.method_text())
                                                 : std::to_string(r.msg.status_code());
      if (key == what && n-- == 0) return &r;
    }
    return nullptr;
  }
  std::size_t index_of(const fake_transport::record* r) const {
    return static_cast<std::size_t>(r - tp.sent().data());
  }
};

inline std::string top_branch(const parser::message& m) {
  auto v = m.top_via();
  return v ? std::string(v->branch) : std::string{};
}

}  // namespace sipkit::test
