// OpenSSL contexts for TLS (RFC 3261 §26.2; certificate checks per RFC 5922).
//
// Built only when TLS is used: at start() when a TLS/WSS listener is configured, else at
// the first TLS/WSS connection this side opens. Loading trust anchors (the system store
// parses every certificate of the bundle) costs start-up time and memory an agent with no
// TLS listener or target should not pay.
#include "transport/impl.hpp"

namespace sipkit::transport {
namespace {

constexpr auto base_options = asio::ssl::context::default_workarounds |
                              asio::ssl::context::no_sslv2 | asio::ssl::context::no_sslv3 |
                              asio::ssl::context::no_tlsv1 | asio::ssl::context::no_tlsv1_1;

boost::system::error_code load_identity(asio::ssl::context& ctx, const tls_options& t) {
  boost::system::error_code ec;
  ctx.use_certificate_chain_file(t.certificate_chain_file, ec);
  if (!ec) ctx.use_private_key_file(t.private_key_file, asio::ssl::context::pem, ec);
  return ec;
}

}  // namespace

std::error_code manager::impl::load_trust(asio::ssl::context& ctx) {
  const tls_options& t = cfg.tls;
  ++trust_store_loads;
  boost::system::error_code ec;
  if (!t.ca_file.empty()) ctx.load_verify_file(t.ca_file, ec);
  if (!ec && !t.ca_path.empty()) ctx.add_verify_path(t.ca_path, ec);
  if (!ec && t.ca_file.empty() && t.ca_path.empty()) ctx.set_default_verify_paths(ec);
  if (ec) log(log_level::error, "TLS: cannot load trust anchors: " + ec.message());
  return ec;
}

std::error_code manager::impl::make_tls_client() {
  if (tls_client) return {};
  // A configuration that failed once fails the same way again: no reload (and no new
  // error line) per connection attempt.
  if (tls_client_error) return tls_client_error;
  const tls_options& t = cfg.tls;
  boost::system::error_code ec;
  auto client = std::make_unique<asio::ssl::context>(asio::ssl::context::tls_client);
  client->set_options(base_options, ec);
  if (t.verify_server) {
    client->set_verify_mode(asio::ssl::verify_peer);
    if (auto e = load_trust(*client)) return tls_client_error = e;
  } else {
    client->set_verify_mode(asio::ssl::verify_none);
    log(log_level::warning, "TLS: server certificate verification is OFF");
  }
  if (!t.certificate_chain_file.empty() && !t.private_key_file.empty()) {
    // Offered when a server asks for a client certificate (mutual TLS).
    if (auto e = load_identity(*client, t)) {
      log(log_level::error, "TLS: cannot load certificate/key: " + e.message());
      return tls_client_error = e;
    }
  }
  tls_client = std::move(client);
  return {};
}

std::error_code manager::impl::make_tls_contexts() {
  // An agent listening on TLS also connects over TLS (responses to a closed connection,
  // requests to its peers): both contexts now, so that every file error shows at start().
  if (auto ec = make_tls_client()) return ec;
  const tls_options& t = cfg.tls;
  if (tls_server || t.certificate_chain_file.empty() || t.private_key_file.empty()) return {};
  boost::system::error_code ec;
  auto server = std::make_unique<asio::ssl::context>(asio::ssl::context::tls_server);
  server->set_options(base_options | asio::ssl::context::single_dh_use, ec);
  if (auto e = load_identity(*server, t)) {
    log(log_level::error, "TLS: cannot load certificate/key: " + e.message());
    return e;
  }
  if (t.require_client_certificate) {
    server->set_verify_mode(asio::ssl::verify_peer | asio::ssl::verify_fail_if_no_peer_cert);
    if (auto e = load_trust(*server)) return e;
  } else {
    server->set_verify_mode(asio::ssl::verify_none);
  }
  tls_server = std::move(server);
  return {};
}

}  // namespace sipkit::transport
