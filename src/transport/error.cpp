#include "sipkit/transport/error.hpp"

#include <string>

namespace sipkit::transport {
namespace {

class category_impl final : public std::error_category {
 public:
  const char* name() const noexcept override { return "sipkit.transport"; }
  std::string message(int ev) const override {
    switch (static_cast<error>(ev)) {
      case error::ok: return "success";
      case error::not_started: return "transport not started";
      case error::no_listener: return "no local socket for this transport and address family";
      case error::sips_requires_tls: return "a sips target requires TLS";
      case error::tls_not_configured: return "TLS is not configured";
      case error::connection_limit: return "connection limit reached";
      case error::connection_closed: return "connection closed";
      case error::write_queue_full: return "write queue full";
      case error::message_too_large: return "message too large for the transport";
      case error::no_via: return "response has no usable top Via";
      case error::unsupported_transport: return "unsupported transport";
      case error::unresolved_sent_by: return "Via sent-by is a host name; resolve it first";
      case error::bad_uri: return "not a SIP or SIPS URI";
      case error::dns_failure: return "DNS resolution found no target";
      case error::timed_out: return "connect, TLS or WebSocket handshake timed out";
      case error::idle_timeout: return "idle timeout";
      case error::keepalive_timeout: return "keep-alive pong not received";
      case error::flow_gone:
        return "the WebSocket connection to this peer is gone (RFC 7118 5.2: it cannot be "
               "reached by a new connection)";
      case error::no_sip_subprotocol: return "the WebSocket server did not select 'sip'";
      case error::handshake_refused: return "WebSocket handshake refused";
    }
    return "unknown transport error";
  }
};

}  // namespace

const std::error_category& transport_category() noexcept {
  static const category_impl category;
  return category;
}

}  // namespace sipkit::transport
