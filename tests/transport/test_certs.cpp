#include "transport/test_certs.hpp"

#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <stdexcept>

namespace sipkit::transport::test {
namespace {

struct issued {
  X509* cert = nullptr;
  EVP_PKEY* key = nullptr;
};

void check(bool ok, const char* what) {
  if (!ok) throw std::runtime_error(std::string("test PKI: ") + what);
}

void add_ext(X509* cert, X509* issuer, int nid, const char* value) {
  X509V3_CTX ctx;
  X509V3_set_ctx_nodb(&ctx);
  X509V3_set_ctx(&ctx, issuer, cert, nullptr, nullptr, 0);
  X509_EXTENSION* ext = X509V3_EXT_conf_nid(nullptr, &ctx, nid, value);
  check(ext != nullptr, "extension");
  X509_add_ext(cert, ext, -1);
  X509_EXTENSION_free(ext);
}

// `issuer` null: self-signed CA. Validity in seconds relative to now.
issued make_cert(const char* cn, const issued* issuer, bool ca, const char* san, long not_before,
                 long not_after, long serial) {
  issued out;
  out.key = EVP_EC_gen("P-256");
  check(out.key != nullptr, "key");
  out.cert = X509_new();
  X509_set_version(out.cert, 2);
  ASN1_INTEGER_set(X509_get_serialNumber(out.cert), serial);
  X509_gmtime_adj(X509_getm_notBefore(out.cert), not_before);
  X509_gmtime_adj(X509_getm_notAfter(out.cert), not_after);
  X509_set_pubkey(out.cert, out.key);
  X509_NAME* name = X509_get_subject_name(out.cert);
  X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC, reinterpret_cast<const unsigned char*>(cn),
                             -1, -1, 0);
  X509* issuer_cert = issuer ? issuer->cert : out.cert;
  X509_set_issuer_name(out.cert, X509_get_subject_name(issuer_cert));
  if (ca) {
    add_ext(out.cert, issuer_cert, NID_basic_constraints, "critical,CA:TRUE");
    add_ext(out.cert, issuer_cert, NID_key_usage, "critical,keyCertSign,cRLSign");
    add_ext(out.cert, issuer_cert, NID_subject_key_identifier, "hash");
  } else {
    add_ext(out.cert, issuer_cert, NID_basic_constraints, "critical,CA:FALSE");
    add_ext(out.cert, issuer_cert, NID_key_usage, "critical,digitalSignature");
    add_ext(out.cert, issuer_cert, NID_ext_key_usage, "serverAuth,clientAuth");
    if (san) add_ext(out.cert, issuer_cert, NID_subject_alt_name, san);
  }
  check(X509_sign(out.cert, issuer ? issuer->key : out.key, EVP_sha256()) > 0, "sign");
  return out;
}

void write(const issued& i, const std::string& cert_path, const std::string& key_path) {
  FILE* f = std::fopen(cert_path.c_str(), "w");
  check(f && PEM_write_X509(f, i.cert) == 1, "write cert");
  std::fclose(f);
  if (key_path.empty()) return;
  f = std::fopen(key_path.c_str(), "w");
  check(f && PEM_write_PrivateKey(f, i.key, nullptr, nullptr, 0, nullptr, nullptr) == 1, "write key");
  std::fclose(f);
}

test_pki generate() {
  test_pki p;
  std::string tmpl = (std::filesystem::temp_directory_path() / "sipkit-pki-XXXXXX").string();
  check(::mkdtemp(tmpl.data()) != nullptr, "mkdtemp");
  p.dir = tmpl;
  const long day = 24 * 3600;
  const char* san = "DNS:localhost,IP:127.0.0.1,IP:::1";
  issued ca = make_cert("sipkit test CA", nullptr, true, nullptr, -day, 30 * day, 1);
  issued rogue_ca = make_cert("sipkit rogue CA", nullptr, true, nullptr, -day, 30 * day, 2);
  issued server = make_cert("localhost", &ca, false, san, -day, 30 * day, 3);
  issued expired = make_cert("localhost", &ca, false, san, -10 * day, -day, 4);
  issued rogue = make_cert("localhost", &rogue_ca, false, san, -day, 30 * day, 5);
  issued client = make_cert("alice.example.com", &ca, false, "DNS:alice.example.com", -day, 30 * day, 6);
  auto path = [&](const char* n) { return p.dir + "/" + n; };
  p.ca_cert = path("ca.pem");
  write(ca, p.ca_cert, "");
  p.server_cert = path("server.pem");
  p.server_key = path("server.key");
  write(server, p.server_cert, p.server_key);
  p.expired_cert = path("expired.pem");
  p.expired_key = path("expired.key");
  write(expired, p.expired_cert, p.expired_key);
  p.rogue_cert = path("rogue.pem");
  p.rogue_key = path("rogue.key");
  write(rogue, p.rogue_cert, p.rogue_key);
  p.client_cert = path("client.pem");
  p.client_key = path("client.key");
  write(client, p.client_cert, p.client_key);
  for (issued* i : {&ca, &rogue_ca, &server, &expired, &rogue, &client}) {
    X509_free(i->cert);
    EVP_PKEY_free(i->key);
  }
  return p;
}

}  // namespace

const test_pki& pki() {
  static const test_pki p = [] {
    auto generated = generate();
    // Removed at exit: the directory only holds throw-away test keys.
    static const std::string dir = generated.dir;
    std::atexit([] {
      std::error_code ec;
      std::filesystem::remove_all(dir, ec);
    });
    return generated;
  }();
  return p;
}

}  // namespace sipkit::transport::test
