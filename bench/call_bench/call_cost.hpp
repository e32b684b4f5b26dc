// What uas_call_cost and uac_call_cost share: their command line, the agent's configuration
// and the measured loop (warm-up, then the counted calls, printed per call).
#pragma once

#include <time.h>

#include <cstdio>
#include <cstdlib>
#include <string_view>

#include "alloc_counter.hpp"
#include "sipkit/parser/message_view.hpp"
#include "sipkit/ua/user_agent.hpp"

namespace sipkit::bench {

struct call_cost_options {
  unsigned calls = 20000, warmup = 2000;
};

/// `--calls N --warmup N`; false (usage printed) for anything else.
inline bool parse_call_cost_args(int argc, char** argv, const char* program, call_cost_options& o) {
  for (int i = 1; i < argc; i += 2) {
    const std::string_view a = argv[i];
    if (i + 1 < argc && a == "--calls")
      o.calls = static_cast<unsigned>(std::strtoul(argv[i + 1], nullptr, 10));
    else if (i + 1 < argc && a == "--warmup")
      o.warmup = static_cast<unsigned>(std::strtoul(argv[i + 1], nullptr, 10));
    else {
      std::fprintf(stderr, "usage: %s [--calls N] [--warmup N]\n", program);
      return false;
    }
  }
  return true;
}

/// An agent on 127.0.0.1 (UDP, any port) that logs errors only, with the per-source rate
/// limit off (one peer places every call) and one audio stream at `rtp_port`.
inline ua::ua_config call_cost_config(const char* user, std::uint16_t rtp_port) {
  ua::ua_config cfg;
  cfg.user = user;
  cfg.transport.listen = {{transport::protocol::udp, "127.0.0.1", 0}};
  cfg.transport.log = logger(log_level::error);
  cfg.log = logger(log_level::error);
  cfg.transactions.rate_limit.requests_per_second = 0;
  cfg.media.streams = {
      {"audio",
       rtp_port,
       "RTP/AVP",
       {{"PCMU", 8000}, {"PCMA", 8000}, {"telephone-event", 8000, 1, 101, "0-16"}}}};
  return cfg;
}

inline double thread_cpu_seconds() {
  timespec ts{};
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
  return static_cast<double>(ts.tv_sec) + static_cast<double>(ts.tv_nsec) * 1e-9;
}

/// `one_call(n)` for the warm-up calls, then counted for o.calls more; prints allocations,
/// bytes, grammar runs and thread CPU per counted call. Returns the exit status: 1 as soon
/// as a call fails.
template <class OneCall>
int measure_calls(const char* program, const call_cost_options& o, OneCall&& one_call) {
  unsigned n = 0;
  for (; n < o.warmup; ++n)
    if (!one_call(n)) {
      std::fprintf(stderr, "%s: warm-up call %u failed\n", program, n);
      return 1;
    }
  const auto allocs0 = allocation_count();
  const auto bytes0 = allocated_bytes();
  const auto runs0 = parser::grammar_runs();
  const double cpu0 = thread_cpu_seconds();
  for (unsigned i = 0; i < o.calls; ++i, ++n)
    if (!one_call(n)) {
      std::fprintf(stderr, "%s: call %u failed\n", program, n);
      return 1;
    }
  const double cpu = thread_cpu_seconds() - cpu0;
  const double per = o.calls == 0 ? 0.0 : 1.0 / o.calls;
  std::printf("calls %u (after %u warm-up)\n", o.calls, o.warmup);
  std::printf("allocations per call %.1f\n",
              static_cast<double>(allocation_count() - allocs0) * per);
  std::printf("bytes allocated per call %.0f\n",
              static_cast<double>(allocated_bytes() - bytes0) * per);
  std::printf("grammar runs per call %.1f\n",
              static_cast<double>(parser::grammar_runs() - runs0) * per);
  std::printf("cpu us per call %.1f\n", cpu * 1e6 * per);
  return 0;
}

}  // namespace sipkit::bench
