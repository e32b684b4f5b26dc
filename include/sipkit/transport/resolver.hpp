// RFC 3263 "Locating SIP Servers": a SIP/SIPS URI becomes an ordered list of
// (transport, address, port) targets, through NAPTR -> SRV -> A/AAAA lookups done
// asynchronously by c-ares on the caller's io_context.
//
//   resolver dns(io, {});
//   dns.locate("sip:example.com", [&](std::error_code ec, target_list targets) {
//     if (ec) return;
//     tp.send_request(req, *targets.current(), [&](std::error_code e, auto&) {
//       if (e && targets.next()) ...   // RFC 3263 §4.3: try the next target
//     });
//   });
//
// Order (RFC 3263 §4): a numeric host is used as is (UDP for sip:, TLS for sips:, or
// ;transport=); an explicit port skips NAPTR and SRV (A/AAAA only); else NAPTR records
// (SIP+D2U, SIP+D2T, SIPS+D2T, flag "S") sorted by order then preference, each followed
// by its SRV lookup; without NAPTR, SRV for each enabled transport (_sips._tcp for
// sips:; _sip._udp, _sip._tcp, _sips._tcp for sip:); without SRV, A/AAAA of the host on
// the default port. SRV records are sorted by priority, and by RFC 2782 weighted random
// choice within one priority. All the SRV targets are resolved to addresses before the
// handler is called, so the list is complete and failover needs no further DNS.
// A sips: URI yields TLS targets only (RFC 3261 §26.2), all marked `secure`.
// WebSocket (RFC 7118): `;transport=ws` / `;transport=wss` (sips: with ws means wss) has no
// NAPTR service and no SRV name (`_sip._ws` is not defined), so the host is resolved to
// A/AAAA at once, on the explicit port or else the WebSocket default, 80 for ws and 443 for
// wss (RFC 6455 §3), not 5060/5061. A request to a WebSocket client (a browser) cannot be
// located at all: it goes over the client's flow (manager.hpp, RFC 7118 §5.2).
//
// Threading: runs on the io_context given; not internally synchronised (call it from
// that io_context's thread). c-ares sockets are watched with asio descriptors and its
// timeouts with one steady_timer; no threads are created.
// Lifetime: destroying the resolver cancels every outstanding lookup; their handlers
// are then never called. The io_context must outlive the resolver.
// Errors: a std::error_code: error::bad_uri, error::dns_failure (nothing found; the
// c-ares status is logged), or operation_aborted.
#pragma once

#include <boost/asio/io_context.hpp>
#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <system_error>
#include <vector>

#include "sipkit/parser/uri.hpp"
#include "sipkit/transport/endpoint.hpp"
#include "sipkit/transport/error.hpp"
#include "sipkit/log.hpp"

namespace sipkit::transport {

/// The outcome of locate(): targets in the order to try, with a cursor for failover.
class target_list {
 public:
  target_list() = default;
  explicit target_list(std::vector<target> targets) : targets_(std::move(targets)) {}

  /// The target to try now; nullptr when the list is exhausted or empty.
  const target* current() const noexcept {
    return pos_ < targets_.size() ? &targets_[pos_] : nullptr;
  }
  /// Move on after a failure (RFC 3263 §4.3). False when there is no further target.
  bool next() noexcept {
    if (pos_ < targets_.size()) ++pos_;
    return pos_ < targets_.size();
  }
  const std::vector<target>& all() const noexcept { return targets_; }
  bool empty() const noexcept { return targets_.empty(); }

 private:
  std::vector<target> targets_;
  std::size_t pos_ = 0;
};

struct resolver_config {
  /// DNS servers as c-ares CSV ("127.0.0.1:5353,[::1]:53"); empty: /etc/resolv.conf.
  std::string servers;
  /// Per-try timeout and tries per server (c-ares ARES_OPT_TIMEOUTMS / ARES_OPT_TRIES).
  std::chrono::milliseconds timeout{std::chrono::seconds(2)};
  int tries = 2;
  /// c-ares lookups order: "fb" = hosts file then DNS; "b" = DNS only (tests).
  std::string lookups = "fb";
  /// Transports this side can use; NAPTR/SRV entries for others are skipped.
  bool use_udp = true, use_tcp = true, use_tls = true;
  /// Address families to resolve host names to.
  bool ipv4 = true, ipv6 = true;
  /// Seed for the RFC 2782 weighted choice (fixed seeds make tests reproducible).
  std::uint32_t seed = 0x5eed;
  logger log;
};

class resolver {
 public:
  using handler = std::function<void(std::error_code, target_list)>;

  /// Throws std::system_error when c-ares cannot be initialised or `servers` is invalid
  /// (configuration errors, not network ones).
  resolver(boost::asio::io_context& io, resolver_config config);
  ~resolver();
  resolver(const resolver&) = delete;
  resolver& operator=(const resolver&) = delete;

  /// Locate the servers for `uri` (RFC 3263 §4). The handler is always called later,
  /// never from inside locate().
  void locate(std::string_view uri, handler done);
  void locate(const parser::uri_view& uri, handler done);

  struct impl;

 private:
  std::shared_ptr<impl> impl_;
};

/// RFC 2782 ordering of SRV records: ascending priority; within one priority, weighted
/// random selection (weight 0 entries first in the running sum, as the RFC says). Exposed
/// for tests. `rand` returns a uniform value in [0, bound].
struct srv_record {
  std::string target;
  std::uint16_t port = 0;
  std::uint16_t priority = 0;
  std::uint16_t weight = 0;
};
std::vector<srv_record> order_srv(std::vector<srv_record> records,
                                  const std::function<std::uint32_t(std::uint32_t)>& rand);

}  // namespace sipkit::transport
