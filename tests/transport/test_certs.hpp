// Test PKI generated at test time with the OpenSSL API: two CAs, server certificates
// (good, expired, signed by an unknown CA) and a client certificate, written as PEM
// files into a fresh temporary directory.
#pragma once

#include <string>

namespace sipkit::transport::test {

struct test_pki {
  std::string dir;
  std::string ca_cert;            ///< the trusted CA
  std::string server_cert, server_key;    ///< CN/SAN localhost, 127.0.0.1, ::1; by the CA
  std::string expired_cert, expired_key;  ///< same names, notAfter in the past
  std::string rogue_cert, rogue_key;      ///< same names, signed by an untrusted CA
  std::string client_cert, client_key;    ///< CN alice.example.com, by the CA
};

/// Generated once per test process (key generation is slow-ish); thread-unsafe.
const test_pki& pki();

}  // namespace sipkit::transport::test
