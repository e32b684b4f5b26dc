// Transaction layer benchmarks.
//
// BM_nict_nist_pairs/<transport>: one non-INVITE exchange per iteration between two
// managers joined by an in-memory transport that hands messages over as objects (a copy:
// the sender keeps its own for retransmission; nothing is serialized or parsed). The UAS
// answers 200 from inside on_request. Over UDP the transactions then linger in
// Completed (Timer K 5 s, Timer J 32 s): virtual time advances 1 ms per exchange and the
// managers' due timers run, so the measurement includes the steady state of ~37,000 live
// transactions and their timer heap. Over TCP every transaction ends at once.
// Reported: pairs/s (items_per_second), heap allocations per pair.
//
// BM_bytes_per_server_transaction: heap bytes per live NIST (Trying state) excluding the
// request's own heap storage. Method: a global operator new/delete that tracks
// malloc_usable_size() of every live block (so the allocator's own per-block header, 8
// bytes on glibc, is not counted). Measure the live bytes with N received requests held in
// a vector (their heap buffers and header tables), then hand them all to a manager and
// drop the vector. The difference, divided by N, is what the transaction layer itself
// costs per transaction: its slot (which holds the request and response message objects
// inline, sizeof(parser::message) each, plus the peer endpoint and timer bookkeeping),
// its hash-table node and bucket share, and the slot chunk. Reported as a counter.
#include <benchmark/benchmark.h>
#include <malloc.h>

#include <atomic>
#include <chrono>
#include <cstdlib>
#include <deque>
#include <new>
#include <string>
#include <vector>

#include "sipkit/parser/message.hpp"
#include "sipkit/transaction/manager.hpp"

// ------------------------------------------------------------ counting allocator

namespace {
std::size_t g_live_bytes = 0;
std::size_t g_allocations = 0;

// Out of line so that the compiler does not pair a visible malloc with a visible free
// across the replaced operators (GCC's -Wmismatched-new-delete).
[[gnu::noinline]] void* counted_alloc(std::size_t n) {
  void* p = std::malloc(n ? n : 1);
  if (!p) throw std::bad_alloc();
  g_live_bytes += malloc_usable_size(p);
  ++g_allocations;
  return p;
}
[[gnu::noinline]] void counted_free(void* p) noexcept {
  if (!p) return;
  g_live_bytes -= malloc_usable_size(p);
  std::free(p);
}
}  // namespace

void* operator new(std::size_t n) { return counted_alloc(n); }
void* operator new[](std::size_t n) { return counted_alloc(n); }
void operator delete(void* p) noexcept { counted_free(p); }
void operator delete[](void* p) noexcept { counted_free(p); }
void operator delete(void* p, std::size_t) noexcept { counted_free(p); }
void operator delete[](void* p, std::size_t) noexcept { counted_free(p); }

namespace {

namespace tx = sipkit::transaction;
using sipkit::parser::header_id;
using sipkit::parser::message;

message uac_request() {
  auto m = message::request("OPTIONS", "sip:bob@biloxi.example.com");
  m.add(header_id::max_forwards, "70");
  m.add(header_id::from, "Alice <sip:alice@atlanta.example.com>;tag=1928301774");
  m.add(header_id::to, "Bob <sip:bob@biloxi.example.com>");
  m.add(header_id::call_id, "a84b4c76e66710@pc33.atlanta.example.com");
  m.add(header_id::cseq, "63104 OPTIONS");
  m.add(header_id::contact, "<sip:alice@pc33.atlanta.example.com>");
  m.add(header_id::content_length, "0");
  return m;
}

/// Queues messages between two managers as objects.
struct memory_network {
  struct packet {
    message msg;
    int to;  // 0 = a, 1 = b
    tx::endpoint source;
  };
  std::deque<packet> queue;
};

struct memory_transport final : tx::transport {
  memory_transport(memory_network& n, int peer_index, tx::endpoint self)
      : net(n), peer(peer_index), local(std::move(self)) {}
  std::error_code send(const message& m, const tx::endpoint& dest, tx::transaction_id) override {
    tx::endpoint src = local;
    src.protocol = dest.protocol;
    net.queue.push_back({m, peer, std::move(src)});
    return {};
  }
  std::string via_sent_by(const tx::endpoint&) const override { return "192.0.2.1:5060"; }
  memory_network& net;
  int peer;
  tx::endpoint local;
};

struct answering_tu final : tx::transaction_user {
  tx::manager* mgr = nullptr;
  tx::time_point* now = nullptr;
  std::size_t finals = 0;
  void on_request(tx::transaction_id id, const message& req, const tx::endpoint&,
                  tx::transaction_id) override {
    mgr->respond(id, sipkit::parser::make_response(req, 200, {}, "8321234356"), *now);
  }
  void on_response(tx::transaction_id, const message& rsp) override {
    if (rsp.status_code() >= 200) ++finals;
  }
  void on_ack(const message&, const tx::endpoint&, tx::transaction_id) override {}
  void on_stray_response(const message&, const tx::endpoint&) override {}
  void on_failure(tx::transaction_id, std::error_code) override {}
};

void BM_nict_nist_pairs(benchmark::State& state) {
  const auto proto = state.range(0) ? tx::transport_protocol::tcp : tx::transport_protocol::udp;
  memory_network net;
  memory_transport a_tp(net, 1, {"192.0.2.1", 5060, proto, 0});
  memory_transport b_tp(net, 0, {"198.51.100.7", 5060, proto, 0});
  answering_tu a_tu, b_tu;
  tx::manager_config cfg;
  cfg.seed = 1;
  tx::manager a(a_tp, a_tu, cfg), b(b_tp, b_tu, cfg);
  tx::time_point now{};
  a_tu.mgr = &a;
  a_tu.now = &now;
  b_tu.mgr = &b;
  b_tu.now = &now;
  const tx::endpoint target{"198.51.100.7", 5060, proto, 0};
  const message templ = uac_request();
  tx::manager* managers[2] = {&a, &b};

  const std::size_t alloc_before = g_allocations;
  for (auto _ : state) {
    auto r = a.start_client(templ, {target}, now);
    benchmark::DoNotOptimize(r);
    while (!net.queue.empty()) {
      auto p = std::move(net.queue.front());
      net.queue.pop_front();
      managers[p.to]->on_receive(std::move(p.msg), p.source, now);
    }
    now += std::chrono::milliseconds(1);
    a.on_timer(now);
    b.on_timer(now);
  }
  const auto pairs = static_cast<double>(state.iterations());
  state.SetItemsProcessed(state.iterations());
  state.counters["allocs_per_pair"] = static_cast<double>(g_allocations - alloc_before) / pairs;
  state.counters["live_txn_end"] = static_cast<double>(a.size() + b.size());
  if (a_tu.finals != static_cast<std::size_t>(state.iterations()))
    state.SkipWithError("a final response was lost");
}
BENCHMARK(BM_nict_nist_pairs)->Arg(0)->Arg(1)->ArgNames({"tcp"});

void BM_bytes_per_server_transaction(benchmark::State& state) {
  const auto n = static_cast<std::size_t>(state.range(0));
  struct null_transport final : tx::transport {
    std::error_code send(const message&, const tx::endpoint&, tx::transaction_id) override {
      return {};
    }
    std::string via_sent_by(const tx::endpoint&) const override { return "192.0.2.1:5060"; }
  } tp;
  struct null_tu final : tx::transaction_user {
    void on_request(tx::transaction_id, const message&, const tx::endpoint&,
                    tx::transaction_id) override {}
    void on_response(tx::transaction_id, const message&) override {}
    void on_ack(const message&, const tx::endpoint&, tx::transaction_id) override {}
    void on_stray_response(const message&, const tx::endpoint&) override {}
    void on_failure(tx::transaction_id, std::error_code) override {}
  } tu;
  const tx::endpoint peer{"192.0.2.1", 5060, tx::transport_protocol::udp, 0};
  double per_txn = 0;
  for (auto _ : state) {
    state.PauseTiming();
    const std::size_t baseline = g_live_bytes;
    std::vector<message> received;
    received.reserve(n);
    for (std::size_t i = 0; i < n; ++i) {
      message m = uac_request();
      m.push_front(header_id::via,
                   "SIP/2.0/UDP 192.0.2.1:5060;branch=z9hG4bKmem" + std::to_string(i) + ";rport");
      received.push_back(std::move(m));
    }
    state.ResumeTiming();
    const std::size_t with_messages = g_live_bytes;
    const std::size_t vector_array = received.capacity() * sizeof(message);
    {
      tx::manager_config cfg;
      cfg.seed = 3;
      cfg.max_transactions = n;
      tx::manager mgr(tp, tu, cfg);
      for (auto& m : received) mgr.on_receive(std::move(m), peer, tx::time_point{});
      std::vector<message>().swap(received);  // the moved-from shells and the array go
      const std::size_t with_manager = g_live_bytes;
      // What the messages' own heap storage was: live bytes with them, minus the array.
      const double message_heap =
          static_cast<double>(with_messages - baseline) - static_cast<double>(vector_array);
      per_txn =
          (static_cast<double>(with_manager - baseline) - message_heap) / static_cast<double>(n);
      state.PauseTiming();
    }
    state.ResumeTiming();
  }
  state.counters["bytes_per_txn"] = per_txn;
  state.counters["sizeof_message"] = static_cast<double>(sizeof(message));
}
BENCHMARK(BM_bytes_per_server_transaction)
    ->Arg(100000)
    ->Iterations(1)
    ->Unit(benchmark::kMillisecond);

}  // namespace

BENCHMARK_MAIN();
