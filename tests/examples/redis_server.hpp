// redis_server — a throwaway redis-server for one test: spawned on a free loopback port with
// persistence off (--save '' --appendonly no) and DEBUG allowed from localhost, ready once it
// answered PING, killed (SIGKILL) by the destructor or kill().
// A missing redis-server binary is an error (std::runtime_error), never a skipped test.
// Not thread-safe; blocking (it is the test's set-up, not code under test).
#pragma once

#include <sys/types.h>

#include <cstdint>

namespace sipkit_test {

class redis_server {
 public:
  /// Starts on `port`, or on a free port when 0. Throws std::runtime_error when the server
  /// cannot be started or does not answer PING within 10 s.
  explicit redis_server(std::uint16_t port = 0);
  ~redis_server();
  redis_server(const redis_server&) = delete;
  redis_server& operator=(const redis_server&) = delete;

  std::uint16_t port() const noexcept { return port_; }
  /// SIGKILL now (idempotent): whatever it held is gone.
  void kill();

 private:
  bool start(std::uint16_t port);
  pid_t pid_ = -1;
  std::uint16_t port_ = 0;
};

}  // namespace sipkit_test
