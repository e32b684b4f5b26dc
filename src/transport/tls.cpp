// OpenSSL contexts for TLS (RFC 3261 §26.2; certificate checks per RFC 5922).
#include "transport/impl.hpp"

namespace sipkit::transport {
namespace {

constexpr auto base_options = asio::ssl::context::default_workarounds |
                              asio::ssl::context::no_sslv2 | asio::ssl::context::no_sslv3 |
                              asio::ssl::context::no_tlsv1 | asio::ssl::context::no_tlsv1_1;

boost::system::error_code load_trust(asio::ssl::context& ctx, const tls_options& t) {
  boost::system::error_code ec;
  if (!t.ca_file.empty()) ctx.load_verify_file(t.ca_file, ec);
  if (!ec && !t.ca_path.empty()) ctx.add_verify_path(t.ca_path, ec);
  if (!ec && t.ca_file.empty() && t.ca_path.empty()) ctx.set_default_verify_paths(ec);
  return ec;
}

boost::system::error_code load_identity(asio::ssl::context& ctx, const tls_options& t) {
  boost::system::error_code ec;
  ctx.use_certificate_chain_file(t.certificate_chain_file, ec);
  if (!ec) ctx.use_private_key_file(t.private_key_file, asio::ssl::context::pem, ec);
  return ec;
}

}  // namespace

std::error_code manager::impl::make_tls_contexts() {
  const tls_options& t = cfg.tls;
  boost::system::error_code ec;
  const bool have_identity = !t.certificate_chain_file.empty() && !t.private_key_file.empty();

  auto client = std::make_unique<asio::ssl::context>(asio::ssl::context::tls_client);
  client->set_options(base_options, ec);
  if (t.verify_server) {
    client->set_verify_mode(asio::ssl::verify_peer);
    if (auto e = load_trust(*client, t)) {
      log(log_level::error, "TLS: cannot load trust anchors: " + e.message());
      return e;
    }
  } else {
    client->set_verify_mode(asio::ssl::verify_none);
    log(log_level::warning, "TLS: server certificate verification is OFF");
  }
  if (have_identity) {
    // Offered when a server asks for a client certificate (mutual TLS).
    if (auto e = load_identity(*client, t)) {
      log(log_level::error, "TLS: cannot load certificate/key: " + e.message());
      return e;
    }
  }
  tls_client = std::move(client);

  if (!have_identity) return {};
  auto server = std::make_unique<asio::ssl::context>(asio::ssl::context::tls_server);
  server->set_options(base_options | asio::ssl::context::single_dh_use, ec);
  if (auto e = load_identity(*server, t)) {
    log(log_level::error, "TLS: cannot load certificate/key: " + e.message());
    return e;
  }
  if (t.require_client_certificate) {
    server->set_verify_mode(asio::ssl::verify_peer | asio::ssl::verify_fail_if_no_peer_cert);
    if (auto e = load_trust(*server, t)) {
      log(log_level::error, "TLS: cannot load trust anchors: " + e.message());
      return e;
    }
  } else {
    server->set_verify_mode(asio::ssl::verify_none);
  }
  tls_server = std::move(server);
  return {};
}

}  // namespace sipkit::transport
