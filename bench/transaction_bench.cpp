// Transaction layer benchmarks.
//
// BM_nict_nist_pairs/<transport>: one non-INVITE exchange per iteration between two
// managers joined by an in-memory transport that hands messages over as objects (a copy:
// the sender keeps its own for retransmission; nothing is serialized or parsed). The UAC
// copies a template request for each exchange (as a TU building a request would); the
// UAS answers 200 from inside on_request with make_response. Over UDP the transactions
// then linger in Completed (Timer K 5 s, Timer J 32 s): virtual time advances 1 ms per
// exchange and the managers' due timers run (Timer E and F armed and stopped, K and J
// fired). An untimed warm-up of 64*T1 of virtual time comes first, so that the whole
// measurement runs in the steady state of ~37,000 live transactions and their timers.
// Over TCP every transaction ends at once.
// Reported: pairs/s (items_per_second), heap allocations per pair.
//
// BM_lingering_bytes/<kind>: heap bytes per transaction lingering after its exchange (NIST
// Completed, IST Accepted/Completed/Confirmed, NICT Completed, ICT Completed/Accepted), with
// the messages it keeps, and what the manager's held_bytes() counts for it.
//
// BM_retransmission_lookup/<live>: with <live> server transactions held, the time to
// match one request retransmission to its transaction (hash, probe, key compare, absorb).
// The same figure at 1,000 and at 1,000,000 live transactions shows that lookups do not
// slow down with the table size beyond cache effects.
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
#include <cstdio>
#include <cstdlib>
#include <map>
#include <new>
#include <string>
#include <vector>

#include "sipkit/parser/message.hpp"
#include "sipkit/parser/message_view.hpp"
#include "sipkit/transaction/client_invite.hpp"
#include "sipkit/transaction/manager.hpp"

// ------------------------------------------------------------ counting allocator

namespace {
// Live-byte tracking (malloc_usable_size on every allocation and free) costs more than
// the transaction code it would measure, so only BM_bytes_per_server_transaction turns it
// on. A block allocated before and freed while it is on would skew the figure; the
// measured window only frees what it allocated itself (the messages, the manager).
bool g_track_bytes = false;
std::size_t g_live_bytes = 0;
std::size_t g_allocations = 0;

// Out of line so that the compiler does not pair a visible malloc with a visible free
// across the replaced operators (GCC's -Wmismatched-new-delete).
[[gnu::noinline]] void* counted_alloc(std::size_t n) {
  void* p = std::malloc(n ? n : 1);
  if (!p) throw std::bad_alloc();
  if (g_track_bytes) g_live_bytes += malloc_usable_size(p);
  ++g_allocations;
  return p;
}
[[gnu::noinline]] void counted_free(void* p) noexcept {
  if (!p) return;
  if (g_track_bytes) g_live_bytes -= malloc_usable_size(p);
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

/// Queues messages between two managers as objects. A vector drained to empty between
/// exchanges: after the first round it allocates nothing of its own.
struct memory_network {
  struct packet {
    message msg;
    int to;  // 0 = a, 1 = b
    tx::endpoint source;
  };
  std::vector<packet> queue;
  std::size_t head = 0;

  bool empty() const noexcept { return head == queue.size(); }
  packet& front() noexcept { return queue[head]; }
  void pop_front() noexcept {
    if (++head == queue.size()) {
      queue.clear();
      head = 0;
    }
  }
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
  // 1,000 requests per second of virtual time from one address, ten times the default
  // per-source rate limit: off, so that every pair is a full exchange. The byte budget
  // and the amplification budget stay on (the UAS's 200s go to an unproven UDP source).
  cfg.rate_limit.requests_per_second = 0;
  tx::manager a(a_tp, a_tu, cfg), b(b_tp, b_tu, cfg);
  tx::time_point now{};
  a_tu.mgr = &a;
  a_tu.now = &now;
  b_tu.mgr = &b;
  b_tu.now = &now;
  const tx::endpoint target{"198.51.100.7", 5060, proto, 0};
  const message templ = uac_request();
  tx::manager* managers[2] = {&a, &b};

  auto one_pair = [&] {
    auto r = a.start_client(templ, target, now);
    benchmark::DoNotOptimize(r);
    while (!net.empty()) {
      auto& p = net.front();
      // on_receive may send (and grow the queue): take the packet out first.
      message msg = std::move(p.msg);
      const tx::endpoint source = p.source;
      const int to = p.to;
      net.pop_front();
      managers[to]->on_receive(std::move(msg), source, now);
    }
    now += std::chrono::milliseconds(1);
    a.on_timer(now);
    b.on_timer(now);
  };
  // Untimed warm-up over UDP until Timer J (64*T1) has fired once: the timed loop then
  // runs entirely in the steady state, each new pair matched by two old transactions
  // ending, instead of partly while the population is still growing.
  const auto warm_up = cfg.timers.timeout() / std::chrono::milliseconds(1) + 1;
  std::size_t finals_before = 0;
  if (proto == tx::transport_protocol::udp) {
    for (long i = 0; i < warm_up; ++i) one_pair();
    finals_before = a_tu.finals;
  }

  const std::size_t alloc_before = g_allocations;
  for (auto _ : state) one_pair();
  const auto pairs = static_cast<double>(state.iterations());
  state.SetItemsProcessed(state.iterations());
  state.counters["allocs_per_pair"] = static_cast<double>(g_allocations - alloc_before) / pairs;
  state.counters["live_txn_end"] = static_cast<double>(a.size() + b.size());
  if (a_tu.finals - finals_before != static_cast<std::size_t>(state.iterations()))
    state.SkipWithError("a final response was lost");
}
// Registered in main(): SIPKIT_BENCH_PAIRS=<n> fixes the iteration count, so that a run
// under valgrind --tool=callgrind gives instructions and cache misses per pair.

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
  g_track_bytes = true;
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
      cfg.rate_limit.requests_per_second = 0;  // n requests from one address at once
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
  g_track_bytes = false;
  state.counters["bytes_per_txn"] = per_txn;
  state.counters["sizeof_message"] = static_cast<double>(sizeof(message));
}
BENCHMARK(BM_bytes_per_server_transaction)
    ->Arg(100000)
    ->Iterations(1)
    ->Unit(benchmark::kMillisecond);

// ------------------------------------------------------------ lingering transactions

/// The states a transaction lingers in after its exchange, for Timer J, K, L, M or I.
enum class lingering : int {
  nist_completed,  ///< a BYE answered 200 (Timer J, 32 s)
  ist_accepted,    ///< an INVITE with SDP answered 200 with SDP, ACK received (Timer L, 32 s)
  ist_completed,   ///< an INVITE answered 486, no ACK yet (Timer H, 32 s)
  ist_confirmed,   ///< an INVITE answered 486 and ACKed (Timer I, 5 s)
  nict_completed,  ///< our BYE answered 200 (Timer K, 5 s)
  ict_completed,   ///< our INVITE answered 486, ACK sent (Timer D, 32 s)
  ict_accepted,    ///< our INVITE answered 200 with SDP (Timer M, 32 s)
};
constexpr const char* k_lingering_names[] = {
    "NIST Completed (BYE, 200)",         "IST Accepted (INVITE+SDP, 200+SDP, ACKed)",
    "IST Completed (INVITE+SDP, 486)",   "IST Confirmed (INVITE+SDP, 486, ACKed)",
    "NICT Completed (BYE, 200)",         "ICT Completed (INVITE+SDP, 486, ACK held)",
    "ICT Accepted (INVITE+SDP, 200+SDP)"};

constexpr std::string_view k_lingering_states[] = {
    "Completed", "Accepted", "Completed", "Confirmed", "Completed", "Completed", "Accepted"};

constexpr std::string_view k_sdp =
    "v=0\r\no=user1 53655765 2353687637 IN IP4 192.0.2.1\r\ns=-\r\nc=IN IP4 192.0.2.1\r\n"
    "t=0 0\r\nm=audio 6000 RTP/AVP 0 8 101\r\na=rtpmap:0 PCMU/8000\r\na=rtpmap:8 PCMA/8000\r\n"
    "a=rtpmap:101 telephone-event/8000\r\na=sendrecv\r\n";

/// A request of a call as a UA sends it (sipp's uac scenario is of this shape), without Via.
message call_request(std::string_view method, std::size_t call, bool in_dialog) {
  auto m = message::request(
      method, in_dialog ? "sip:bob@198.51.100.7:5060;transport=udp" : "sip:bob@biloxi.example.com");
  m.add(header_id::max_forwards, "70");
  m.add(header_id::from, "Alice <sip:alice@atlanta.example.com>;tag=" + std::to_string(call));
  m.add(header_id::to, in_dialog ? std::string("Bob <sip:bob@biloxi.example.com>;tag=b8321234356")
                                 : std::string("Bob <sip:bob@biloxi.example.com>"));
  m.add(header_id::call_id, std::to_string(call) + "-a84b4c76e66710@pc33.atlanta.example.com");
  m.add(header_id::cseq, std::string(in_dialog ? "2 " : "1 ").append(method));
  m.add(header_id::contact, "<sip:alice@192.0.2.1:5060;transport=udp>");
  if (method == "INVITE") {
    m.add(header_id::subject, "Performance Test");
    m.set_body(k_sdp, "application/sdp");
  }
  return m;
}

/// `m` as the transport hands it over: serialized and parsed (message::from_view).
message as_received(const message& m) {
  const std::string wire = m.serialize();
  sipkit::parser::message_view view;
  if (parse_message(wire, view)) std::abort();
  return message::from_view(view);
}

/// The UAS's answer: To tag, Contact, and SDP on a 200 to an INVITE.
message call_response(const message& req, int code) {
  auto rsp = sipkit::parser::make_response(req, code, {}, "b8321234356");
  if (code == 200 && req.method() == sipkit::parser::method::invite) {
    rsp.add(header_id::contact, "<sip:bob@198.51.100.7:5060;transport=udp>");
    rsp.set_body(k_sdp, "application/sdp");
  }
  return rsp;
}

/// BM_lingering_bytes/<kind>: heap bytes per transaction lingering in the state `kind`
/// names (k_lingering_names), messages included: live bytes (malloc_usable_size) with
/// N such transactions in one manager, minus live bytes before the manager was made,
/// over N. Counts the slot chunks, the matching tables, and every message the
/// transactions keep. What arrives is parsed from bytes, as from a transport (exact
/// buffers); what the TU and the manager build (responses, our requests, ACKs) is built. The peer
/// is played by hand (no second manager), the rate limit and the amplification budget are off
/// (their tables are not per transaction).
void BM_lingering_bytes(benchmark::State& state) {
  const auto kind = static_cast<lingering>(state.range(0));
  const auto n = static_cast<std::size_t>(state.range(1));
  struct capture_transport final : tx::transport {
    message last;
    std::error_code send(const message& m, const tx::endpoint&, tx::transaction_id) override {
      last = m;
      return {};
    }
    std::string via_sent_by(const tx::endpoint&) const override { return "192.0.2.1:5060"; }
  } tp;
  struct lingering_tu final : tx::transaction_user {
    tx::manager* mgr = nullptr;
    int code = 200;
    tx::transaction_id last_id;
    void on_request(tx::transaction_id id, const message& req, const tx::endpoint&,
                    tx::transaction_id) override {
      last_id = id;
      mgr->respond(id, call_response(req, code), tx::time_point{});
    }
    void on_response(tx::transaction_id, const message&) override {}
    void on_ack(const message&, const tx::endpoint&, tx::transaction_id) override {}
    void on_stray_response(const message&, const tx::endpoint&) override {}
    void on_failure(tx::transaction_id, std::error_code) override {}
  } tu;
  const tx::endpoint peer{"198.51.100.7", 5060, tx::transport_protocol::udp, 0};
  const bool invite = kind != lingering::nist_completed && kind != lingering::nict_completed;
  const bool server = kind <= lingering::ist_confirmed;
  tu.code = (kind == lingering::ist_completed || kind == lingering::ist_confirmed ||
             kind == lingering::ict_completed)
                ? 486
                : 200;
  const std::string_view method = invite ? "INVITE" : "BYE";
  double per_txn = 0, held_per_txn = 0;
  g_track_bytes = true;
  for (auto _ : state) {
    const std::size_t baseline = g_live_bytes;
    {
      tx::manager_config cfg;
      cfg.seed = 3;
      cfg.max_transactions = n;
      cfg.max_held_bytes = 0;
      cfg.rate_limit.requests_per_second = 0;
      cfg.amplification.factor = 0;
      tx::manager mgr(tp, tu, cfg);
      tu.mgr = &mgr;
      tx::transaction_id last_id;
      for (std::size_t i = 0; i < n; ++i) {
        if (server) {
          message req = call_request(method, i, !invite);
          req.push_front(header_id::via, "SIP/2.0/UDP 198.51.100.7:5060;branch=z9hG4bKlinger" +
                                             std::to_string(i) + ";rport");
          req = as_received(req);
          message copy = req;
          mgr.on_receive(std::move(req), peer, tx::time_point{});
          if (kind == lingering::ist_confirmed || kind == lingering::ist_accepted) {
            message ack = tx::make_ack(copy, tp.last);
            if (kind == lingering::ist_accepted) {
              // The 2xx ACK is its own transaction at the UAC (§13.2.2.4): new branch.
              ack.set(header_id::via, "SIP/2.0/UDP 198.51.100.7:5060;branch=z9hG4bKack" +
                                          std::to_string(i) + ";rport");
            }
            mgr.on_receive(std::move(ack), peer, tx::time_point{});
          }
        } else {
          auto r = mgr.start_client(call_request(method, i, !invite), peer, tx::time_point{});
          last_id = r.id;
          mgr.on_receive(as_received(call_response(tp.last, tu.code)), peer, tx::time_point{});
        }
      }
      tp.last = message{};
      const std::size_t with_manager = g_live_bytes;
      if (mgr.size() != n) state.SkipWithError("a transaction ended early");
      if (server) last_id = tu.last_id;
      if (mgr.state_name(last_id) != k_lingering_states[state.range(0)])
        state.SkipWithError("not in the state measured");
      per_txn = static_cast<double>(with_manager - baseline) / static_cast<double>(n);
      held_per_txn = static_cast<double>(mgr.held_bytes()) / static_cast<double>(n);
    }
  }
  g_track_bytes = false;
  state.SetLabel(k_lingering_names[state.range(0)]);
  state.counters["bytes_per_txn"] = per_txn;
  state.counters["held_bytes_per_txn"] = held_per_txn;
}
BENCHMARK(BM_lingering_bytes)
    ->ArgsProduct({{0, 1, 2, 3, 4, 5, 6}, {100000}})
    ->ArgNames({"kind", "n"})
    ->Iterations(1)
    ->Unit(benchmark::kMillisecond);

void BM_retransmission_lookup(benchmark::State& state) {
  const auto live = static_cast<std::uint32_t>(state.range(0));
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
  tx::manager_config cfg;
  cfg.seed = 4;
  cfg.max_transactions = live;
  // A million requests from one address at once: no rate limit, no byte budget.
  cfg.rate_limit.requests_per_second = 0;
  cfg.max_held_bytes = 0;
  tx::manager mgr(tp, tu, cfg);
  // TCP: the NISTs stay in Trying (no response yet) and arm no timer.
  const tx::endpoint peer{"192.0.2.1", 5060, tx::transport_protocol::tcp, 1};
  const message base = uac_request();
  auto request_n = [&](std::uint32_t n) {
    message m = base;
    m.push_front(header_id::via,
                 "SIP/2.0/TCP 192.0.2.1:5060;branch=z9hG4bKlookup" + std::to_string(n));
    return m;
  };
  for (std::uint32_t n = 0; n < live; ++n) mgr.on_receive(request_n(n), peer, tx::time_point{});
  // Retransmissions of transactions spread over the whole table, built beforehand so
  // that only the manager's work is timed (the copy handed over is a message move).
  constexpr std::uint32_t k_probes = 4096;
  std::vector<message> probes;
  probes.reserve(k_probes);
  const std::uint32_t stride = live > k_probes ? live / k_probes : 1;
  for (std::uint32_t k = 0; k < k_probes; ++k) probes.push_back(request_n((k * stride) % live));
  std::vector<message> batch;
  std::size_t next = 0;
  const auto absorbed_before = mgr.stats().retransmissions_absorbed;
  for (auto _ : state) {
    if (next == batch.size()) {
      state.PauseTiming();
      batch = probes;
      next = 0;
      state.ResumeTiming();
    }
    mgr.on_receive(std::move(batch[next++]), peer, tx::time_point{});
  }
  state.SetItemsProcessed(state.iterations());
  if (mgr.stats().retransmissions_absorbed - absorbed_before !=
      static_cast<std::uint64_t>(state.iterations()))
    state.SkipWithError("a retransmission did not match");
  if (mgr.size() != live) state.SkipWithError("a retransmission created a transaction");
}
// Fixed iterations: building 1,000,000 transactions takes seconds, once per run is enough.
BENCHMARK(BM_retransmission_lookup)
    ->Arg(1000)
    ->Arg(1000000)
    ->ArgNames({"live"})
    ->Iterations(1 << 19);

// ------------------------------------------------------------------- summary

/// The console output, then one line per figure for the README.
class summary_reporter : public benchmark::ConsoleReporter {
 public:
  void ReportRuns(const std::vector<Run>& runs) override {
    ConsoleReporter::ReportRuns(runs);
    for (const auto& r : runs) {
      if (r.error_occurred) continue;
      if (r.run_type == Run::RT_Aggregate && r.aggregate_name != "median") continue;
      // "/iterations:N" (fixed counts) is dropped so that the summary finds the row.
      std::string run = r.run_name.str();
      if (auto at = run.find("/iterations:"); at != std::string::npos) run.erase(at);
      auto& row = rows_[run];
      for (const auto& [key, counter] : r.counters) row[key] = counter.value;
      row["ns_per_iteration"] = r.GetAdjustedRealTime();
    }
  }

  void print_summary() const {
    std::printf("\nSummary (one core, %s, %s build):\n", SIPKIT_BENCH_COMPILER,
                SIPKIT_BENCH_BUILD_TYPE);
    auto pairs = [&](const char* name, const char* what) {
      const auto* row = find(name);
      if (row == nullptr) return;
      std::printf("  NICT+NIST pairs/s, %s: %.0f (%.1f heap allocations per pair)\n", what,
                  get(*row, "items_per_second"), get(*row, "allocs_per_pair"));
    };
    pairs("BM_nict_nist_pairs/tcp:0",
          "UDP, messages as objects, retransmission and linger timers running");
    pairs("BM_nict_nist_pairs/tcp:1", "TCP, messages as objects");
    if (const auto* row = find("BM_bytes_per_server_transaction/100000"))
      std::printf("  Heap bytes per live server transaction (message buffers excluded): %.0f\n",
                  get(*row, "bytes_per_txn"));
    for (int k = 0; k < 7; ++k)
      if (const auto* row = find("BM_lingering_bytes/kind:" + std::to_string(k) + "/n:100000"))
        std::printf("  Heap bytes per lingering %s: %.0f (held_bytes counts %.0f)\n",
                    k_lingering_names[k], get(*row, "bytes_per_txn"),
                    get(*row, "held_bytes_per_txn"));
    const auto* small = find("BM_retransmission_lookup/live:1000");
    const auto* large = find("BM_retransmission_lookup/live:1000000");
    if (small != nullptr && large != nullptr)
      std::printf(
          "  Retransmission matched to its transaction: %.0f ns with 1,000 live, %.0f ns with "
          "1,000,000 live\n",
          1e9 / get(*small, "items_per_second"), 1e9 / get(*large, "items_per_second"));
  }

 private:
  using row_type = std::map<std::string, double>;
  const row_type* find(const std::string& name) const {
    auto it = rows_.find(name);
    return it == rows_.end() ? nullptr : &it->second;
  }
  static double get(const row_type& row, const char* key) {
    auto it = row.find(key);
    return it == row.end() ? 0.0 : it->second;
  }
  std::map<std::string, row_type> rows_;
};

}  // namespace

int main(int argc, char** argv) {
  bool console = true;
  for (int i = 1; i < argc; ++i) {
    const std::string_view a = argv[i];
    if (a.rfind("--benchmark_format=", 0) == 0 && a != "--benchmark_format=console")
      console = false;
  }
  benchmark::Initialize(&argc, argv);
  if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 1;
  auto* pairs = benchmark::RegisterBenchmark("BM_nict_nist_pairs", BM_nict_nist_pairs)
                    ->Arg(0)
                    ->Arg(1)
                    ->ArgNames({"tcp"});
  if (const char* n = std::getenv("SIPKIT_BENCH_PAIRS")) pairs->Iterations(std::atoll(n));
  if (console) {
    summary_reporter reporter;
    benchmark::RunSpecifiedBenchmarks(&reporter);
    reporter.print_summary();
  } else {
    benchmark::RunSpecifiedBenchmarks();
  }
  benchmark::Shutdown();
  return 0;
}
