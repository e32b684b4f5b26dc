// redis_server: spawn, wait for "Ready to accept connections" on its stdout, PING, kill.
#include "redis_server.hpp"

#include <arpa/inet.h>
#include <hiredis/hiredis.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <stdexcept>
#include <string>
#include <vector>

extern char** environ;

namespace sipkit_test {

namespace {

std::uint16_t free_port() {
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof a;
  if (fd < 0 || ::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0 ||
      ::getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len) != 0)
    throw std::runtime_error("redis_server: no free port");
  ::close(fd);
  return ntohs(a.sin_port);
}

bool answers_ping(std::uint16_t port) {
  timeval tv{2, 0};
  redisContext* c = redisConnectWithTimeout("127.0.0.1", port, tv);
  bool ok = false;
  if (c && !c->err) {
    redisSetTimeout(c, tv);
    auto* r = static_cast<redisReply*>(redisCommand(c, "PING"));
    ok = r && r->type == REDIS_REPLY_STATUS && std::string(r->str, r->len) == "PONG";
    if (r) freeReplyObject(r);
  }
  if (c) redisFree(c);
  return ok;
}

}  // namespace

redis_server::redis_server(std::uint16_t port) {
  // A free port can be taken by someone else before redis binds it: try a few.
  for (int attempt = 0; attempt < 3; ++attempt)
    if (start(port ? port : free_port())) return;
  throw std::runtime_error("redis_server: redis-server did not start (see its output above)");
}

redis_server::~redis_server() { kill(); }

void redis_server::kill() {
  if (pid_ <= 0) return;
  ::kill(pid_, SIGKILL);
  int st = 0;
  ::waitpid(pid_, &st, 0);
  pid_ = -1;
}

bool redis_server::start(std::uint16_t port) {
  int out[2];
  if (::pipe(out) != 0) throw std::runtime_error("redis_server: pipe");
  const std::string p = std::to_string(port);
  std::vector<std::string> args{"redis-server", "--port",      p,       "--bind",
                                "127.0.0.1",    "--save",      "",      "--appendonly",
                                "no",           "--daemonize", "no",    "--enable-debug-command",
                                "local",        "--loglevel",  "notice"};
  std::vector<char*> argv;
  for (auto& a : args) argv.push_back(a.data());
  argv.push_back(nullptr);
  posix_spawn_file_actions_t fa;
  posix_spawn_file_actions_init(&fa);
  posix_spawn_file_actions_adddup2(&fa, out[1], 1);
  posix_spawn_file_actions_adddup2(&fa, out[1], 2);
  posix_spawn_file_actions_addclose(&fa, out[0]);
  pid_t pid = -1;
  const int rc = posix_spawnp(&pid, "redis-server", &fa, nullptr, argv.data(), environ);
  posix_spawn_file_actions_destroy(&fa);
  ::close(out[1]);
  if (rc != 0) {
    ::close(out[0]);
    throw std::runtime_error(std::string("redis_server: cannot run redis-server (") +
                             std::strerror(rc) +
                             "): install redis-server (.ci/install-deps); this test does not skip");
  }
  pid_ = pid;
  port_ = port;
  // Its log says when it listens; a bounded wait on the pipe, no polling loop with sleeps.
  std::string log;
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  bool ready = false;
  while (!ready) {
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
        deadline - std::chrono::steady_clock::now());
    pollfd pfd{out[0], POLLIN, 0};
    if (left.count() <= 0 || ::poll(&pfd, 1, static_cast<int>(left.count())) <= 0) break;
    char buf[4096];
    const auto n = ::read(out[0], buf, sizeof buf);
    if (n <= 0) break;  // exited (e.g. port in use)
    log.append(buf, static_cast<std::size_t>(n));
    ready = log.find("Ready to accept connections") != std::string::npos;
  }
  ::close(out[0]);  // redis ignores SIGPIPE: its later log lines are dropped
  if (ready && answers_ping(port)) return true;
  std::fprintf(stderr, "redis-server on port %u did not become ready:\n%s\n", port, log.c_str());
  kill();
  return false;
}

}  // namespace sipkit_test
