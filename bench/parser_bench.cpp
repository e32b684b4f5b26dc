// parser_bench: SIP message parsing throughput and allocations, sipkit against the C reference
// parsers (oSIP2, Sofia-SIP) on the same corpus, in the same run.
//
//   cmake -S . -B build -G Ninja -DCMAKE_BUILD_TYPE=Release -DSIPKIT_BUILD_BENCH=ON
//   cmake --build build --target parser_bench && build/bench/parser_bench
//
// The corpus is bench/corpus/*.sip (one message per file, CRLF line endings, exact
// Content-Length); set SIPKIT_BENCH_CORPUS=<dir> to use another one. Each "corpus/<impl>"
// benchmark parses every message and reads the fields a transaction layer needs (top Via
// branch, From tag, To tag, Call-ID, CSeq number and method). A message that an
// implementation fails to parse aborts that benchmark (SkipWithError): no number is reported
// for work that was not done.
//
// Counters: items_per_second = messages/s, bytes_per_second = input bytes/s (console prints
// it in binary units, Mi/s), allocs_per_msg = heap allocations per message (see
// alloc_counter.hpp; counts operator new and, on glibc, malloc & co.). With the console
// output, a summary table with MB/s (10^6) and the ratio to Sofia-SIP is printed at the end.
#include <benchmark/benchmark.h>

#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <map>
#include <memory>
#include <sstream>
#include <string>
#include <string_view>
#include <vector>

#include "alloc_counter.hpp"
#include "sipkit/parser/message_view.hpp"
#include "sipkit/parser/stream_framer.hpp"

#if SIPKIT_BENCH_HAVE_OSIP
#include <osipparser2/osip_parser.h>
#endif
#if SIPKIT_BENCH_HAVE_SOFIA
#include <sofia-sip/msg.h>
#include <sofia-sip/sip.h>
#include <sofia-sip/sip_header.h>
#endif

#ifndef SIPKIT_BENCH_CORPUS_DIR
#error "SIPKIT_BENCH_CORPUS_DIR must name the corpus directory (set by bench/CMakeLists.txt)"
#endif

namespace {

namespace sp = sipkit::parser;

// ------------------------------------------------------------------------------- corpus

struct corpus_message {
  std::string name;
  std::string bytes;
};

std::vector<corpus_message> g_corpus;
std::size_t g_corpus_bytes = 0;
const corpus_message* g_invite = nullptr;

[[noreturn]] void die(const std::string& what) {
  std::fprintf(stderr, "parser_bench: %s\n", what.c_str());
  std::exit(2);
}

// Catches a corpus file damaged by an editor or by git's line-ending conversion: every line
// ends in CRLF and Content-Length matches the body exactly. Checked without sipkit's parser,
// so a parser bug cannot hide a corpus bug.
void check_message_shape(const corpus_message& m) {
  const std::string& b = m.bytes;
  for (std::size_t i = 0; i < b.size(); ++i) {
    if (b[i] == '\n' && (i == 0 || b[i - 1] != '\r'))
      die(m.name + ": bare LF at offset " + std::to_string(i) + " (line endings must be CRLF)");
  }
  const std::size_t head_end = b.find("\r\n\r\n");
  if (head_end == std::string::npos) die(m.name + ": no blank line after the headers");
  const std::size_t body_size = b.size() - (head_end + 4);
  std::istringstream head(b.substr(0, head_end + 2));
  std::string line;
  long long declared = -1;
  while (std::getline(head, line)) {
    const std::string prefix = "content-length:";
    std::string lower = line.substr(0, prefix.size());
    std::transform(lower.begin(), lower.end(), lower.begin(),
                   [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
    if (lower == prefix) declared = std::atoll(line.c_str() + prefix.size());
  }
  if (declared < 0) die(m.name + ": no Content-Length header");
  if (static_cast<std::size_t>(declared) != body_size)
    die(m.name + ": Content-Length " + std::to_string(declared) + " but the body has " +
        std::to_string(body_size) + " bytes");
}

void load_corpus() {
  const char* env = std::getenv("SIPKIT_BENCH_CORPUS");
  const std::filesystem::path dir = env != nullptr ? env : SIPKIT_BENCH_CORPUS_DIR;
  std::error_code ec;
  std::vector<std::filesystem::path> files;
  for (const auto& e : std::filesystem::directory_iterator(dir, ec)) {
    if (e.is_regular_file() && e.path().extension() == ".sip") files.push_back(e.path());
  }
  if (ec) die("cannot read corpus directory " + dir.string() + ": " + ec.message());
  if (files.empty()) die("no *.sip files in " + dir.string());
  std::sort(files.begin(), files.end());
  for (const auto& f : files) {
    std::ifstream in(f, std::ios::binary);
    std::ostringstream ss;
    ss << in.rdbuf();
    corpus_message m{f.filename().string(), ss.str()};
    check_message_shape(m);
    g_corpus_bytes += m.bytes.size();
    g_corpus.push_back(std::move(m));
  }
  for (const auto& m : g_corpus) {
    if (m.bytes.rfind("INVITE ", 0) == 0) {
      g_invite = &m;
      break;
    }
  }
  if (g_invite == nullptr) die("the corpus has no INVITE request");
}

// ------------------------------------------------------------------ the fields we read

// What a transaction layer needs to match a message (RFC 3261 §17.1.3, §17.2.3) and a
// dialog to route it. Every implementation fills the same struct from its own model.
struct transaction_fields {
  const char* branch = nullptr;
  const char* from_tag = nullptr;
  const char* to_tag = nullptr;  // legitimately absent in out-of-dialog requests
  const char* call_id = nullptr;
  std::size_t branch_len = 0, from_tag_len = 0, to_tag_len = 0, call_id_len = 0;
  std::uint32_t cseq = 0;
  const char* cseq_method = nullptr;
  int cseq_method_id = 0;
};

bool complete(const transaction_fields& f) {
  return f.branch != nullptr && f.from_tag != nullptr && f.call_id != nullptr && f.cseq != 0 &&
         (f.cseq_method != nullptr || f.cseq_method_id != 0);
}

// Shared loop: `parse(message, fields)` returns false when the implementation rejected the
// message. Allocations are counted around the timed loop only.
template <class Parse>
void run_over(benchmark::State& state, const std::vector<const corpus_message*>& msgs,
              Parse&& parse) {
  std::size_t bytes_per_pass = 0;
  for (const auto* m : msgs) bytes_per_pass += m->bytes.size();
  std::size_t failures = 0;
  const corpus_message* first_failure = nullptr;
  const std::uint64_t allocs_before = sipkit::bench::allocation_count();
  for (auto _ : state) {
    for (const auto* m : msgs) {
      transaction_fields f;
      if (!parse(std::string_view(m->bytes), f) || !complete(f)) {
        ++failures;
        if (first_failure == nullptr) first_failure = m;
      }
      benchmark::DoNotOptimize(f);
    }
  }
  const std::uint64_t allocs = sipkit::bench::allocation_count() - allocs_before;
  if (failures != 0) {
    const std::string why = std::to_string(failures) + " parse failure(s), first on " +
                            first_failure->name + "; figures would be meaningless";
    state.SkipWithError(why.c_str());
    return;
  }
  const auto n = static_cast<std::int64_t>(state.iterations()) *
                 static_cast<std::int64_t>(msgs.size());
  state.SetItemsProcessed(n);
  state.SetBytesProcessed(static_cast<std::int64_t>(state.iterations()) *
                          static_cast<std::int64_t>(bytes_per_pass));
  state.counters["allocs_per_msg"] =
      benchmark::Counter(n == 0 ? 0.0 : static_cast<double>(allocs) / static_cast<double>(n));
}

std::vector<const corpus_message*> whole_corpus() {
  std::vector<const corpus_message*> v;
  for (const auto& m : g_corpus) v.push_back(&m);
  return v;
}

// ------------------------------------------------------------------------------- sipkit

void set(const char*& p, std::size_t& n, std::string_view v) {
  p = v.data();
  n = v.size();
}

bool sipkit_fields(const sp::message_view& m, transaction_fields& f) {
  const auto* via = m.top_via();
  const auto* from = m.from();
  const auto* to = m.to();
  const auto* cseq = m.cseq();
  if (via == nullptr || from == nullptr || to == nullptr || cseq == nullptr) return false;
  if (via->branch.empty() || from->tag.empty() || m.call_id().empty()) return false;
  set(f.branch, f.branch_len, via->branch);
  set(f.from_tag, f.from_tag_len, from->tag);
  if (!to->tag.empty()) set(f.to_tag, f.to_tag_len, to->tag);
  set(f.call_id, f.call_id_len, m.call_id());
  f.cseq = cseq->number;
  f.cseq_method = cseq->method_text.data();
  f.cseq_method_id = static_cast<int>(cseq->method);
  return true;
}

void BM_corpus_sipkit(benchmark::State& state) {
  // Reused across parses as documented: the view is large and parsing into it allocates
  // nothing. Made before the timed loop, so its own allocation is not counted.
  auto view = std::make_unique<sp::message_view>();
  run_over(state, whole_corpus(), [&](std::string_view bytes, transaction_fields& f) {
    if (sp::parse_message(bytes, *view)) return false;
    return sipkit_fields(*view, f);
  });
}

// parse_message alone (no field reads) on the INVITE: the raw cost of one pass.
void BM_invite_parse_only_sipkit(benchmark::State& state) {
  auto view = std::make_unique<sp::message_view>();
  const std::string_view bytes = g_invite->bytes;
  std::size_t failures = 0;
  const std::uint64_t allocs_before = sipkit::bench::allocation_count();
  for (auto _ : state) {
    sp::parse_error err = sp::parse_message(bytes, *view);
    failures += err ? 1 : 0;
    benchmark::DoNotOptimize(err);
    benchmark::DoNotOptimize(view.get());
    benchmark::ClobberMemory();
  }
  const std::uint64_t allocs = sipkit::bench::allocation_count() - allocs_before;
  if (failures != 0) {
    state.SkipWithError("sipkit rejected the INVITE");
    return;
  }
  const auto n = static_cast<std::int64_t>(state.iterations());
  state.SetItemsProcessed(n);
  state.SetBytesProcessed(n * static_cast<std::int64_t>(bytes.size()));
  state.counters["allocs_per_msg"] =
      benchmark::Counter(n == 0 ? 0.0 : static_cast<double>(allocs) / static_cast<double>(n));
}

// The TCP path: the corpus concatenated (with a CRLFCRLF keep-alive between two passes)
// fed to one long-lived stream_framer in chunks of range(0) bytes (0 = the whole stream in
// one feed). range(1) = 1 also parses each framed message (framing::stream) and reads the
// transaction fields.
void BM_stream_sipkit(benchmark::State& state) {
  std::string stream;
  for (const auto& m : g_corpus) stream += m.bytes;
  stream += "\r\n\r\n";  // RFC 5626 keep-alive ping
  const std::size_t chunk = state.range(0) == 0 ? stream.size()
                                                : static_cast<std::size_t>(state.range(0));
  const bool parse = state.range(1) != 0;
  sp::stream_framer framer;
  auto view = std::make_unique<sp::message_view>();
  std::size_t framed = 0, failures = 0;
  // One untimed pass so the framer's buffer has reached its steady-state capacity.
  auto pass = [&] {
    for (std::size_t off = 0; off < stream.size(); off += chunk) {
      framer.feed(std::string_view(stream).substr(off, chunk));
      for (;;) {
        auto r = framer.next();
        if (r.error.code == sp::errc::need_more) break;
        if (r.error) {
          ++failures;
          return;
        }
        ++framed;
        if (parse) {
          transaction_fields f;
          if (sp::parse_message(r.message, *view, {}, sp::framing::stream) ||
              !sipkit_fields(*view, f))
            ++failures;
          benchmark::DoNotOptimize(f);
        } else {
          benchmark::DoNotOptimize(r.message);
        }
      }
    }
  };
  pass();
  framed = 0;
  const std::uint64_t allocs_before = sipkit::bench::allocation_count();
  for (auto _ : state) pass();
  const std::uint64_t allocs = sipkit::bench::allocation_count() - allocs_before;
  const auto expected = static_cast<std::size_t>(state.iterations()) * g_corpus.size();
  if (failures != 0 || framed != expected) {
    const std::string why = "stream framing failed: " + std::to_string(framed) + " of " +
                            std::to_string(expected) + " messages, " +
                            std::to_string(failures) + " error(s)";
    state.SkipWithError(why.c_str());
    return;
  }
  const auto n = static_cast<std::int64_t>(framed);
  state.SetItemsProcessed(n);
  state.SetBytesProcessed(static_cast<std::int64_t>(state.iterations()) *
                          static_cast<std::int64_t>(stream.size()));
  state.counters["allocs_per_msg"] =
      benchmark::Counter(n == 0 ? 0.0 : static_cast<double>(allocs) / static_cast<double>(n));
}

// -------------------------------------------------------------------------------- oSIP2

#if SIPKIT_BENCH_HAVE_OSIP
bool osip_parse(std::string_view bytes, transaction_fields& f) {
  osip_message_t* sip = nullptr;
  if (osip_message_init(&sip) != 0) return false;
  bool ok = osip_message_parse(sip, bytes.data(), bytes.size()) == 0;
  osip_via_t* via = nullptr;
  if (ok) ok = osip_message_get_via(sip, 0, &via) >= 0 && via != nullptr;
  if (ok) ok = sip->from != nullptr && sip->to != nullptr && sip->call_id != nullptr &&
               sip->cseq != nullptr;
  if (ok) {
    osip_generic_param_t* branch = nullptr;
    osip_generic_param_t* from_tag = nullptr;
    osip_generic_param_t* to_tag = nullptr;
    // What osip_via_param_get_byname / osip_from_get_tag / osip_to_get_tag expand to,
    // spelled out: their macros pass a string literal as char*.
    osip_generic_param_get_byname(&via->via_params, const_cast<char*>("branch"), &branch);
    osip_generic_param_get_byname(&sip->from->gen_params, const_cast<char*>("tag"), &from_tag);
    osip_generic_param_get_byname(&sip->to->gen_params, const_cast<char*>("tag"), &to_tag);
    if (branch != nullptr && branch->gvalue != nullptr) {
      f.branch = branch->gvalue;
      f.branch_len = std::strlen(branch->gvalue);
    }
    if (from_tag != nullptr && from_tag->gvalue != nullptr) {
      f.from_tag = from_tag->gvalue;
      f.from_tag_len = std::strlen(from_tag->gvalue);
    }
    if (to_tag != nullptr && to_tag->gvalue != nullptr) {
      f.to_tag = to_tag->gvalue;
      f.to_tag_len = std::strlen(to_tag->gvalue);
    }
    // oSIP splits Call-ID at '@' into number and host.
    f.call_id = osip_call_id_get_number(sip->call_id);
    f.call_id_len = f.call_id != nullptr ? std::strlen(f.call_id) : 0;
    const char* host = osip_call_id_get_host(sip->call_id);
    benchmark::DoNotOptimize(host);
    // oSIP keeps the CSeq number as text; convert it as the others already did.
    const char* num = osip_cseq_get_number(sip->cseq);
    f.cseq = num != nullptr ? static_cast<std::uint32_t>(std::strtoul(num, nullptr, 10)) : 0;
    f.cseq_method = osip_cseq_get_method(sip->cseq);
    benchmark::DoNotOptimize(f);  // read before the message is freed
  }
  osip_message_free(sip);
  return ok;
}

void BM_corpus_osip2(benchmark::State& state) { run_over(state, whole_corpus(), osip_parse); }

void BM_invite_osip2(benchmark::State& state) { run_over(state, {g_invite}, osip_parse); }
#endif

// ---------------------------------------------------------------------------- Sofia-SIP

#if SIPKIT_BENCH_HAVE_SOFIA
bool sofia_parse(std::string_view bytes, transaction_fields& f) {
  msg_t* msg = msg_make(sip_default_mclass(), 0, bytes.data(), static_cast<ssize_t>(bytes.size()));
  if (msg == nullptr) return false;
  sip_t* sip = sip_object(msg);
  // MSG_FLG_ERROR: msg_extract failed; sip_error: a header Sofia could not parse (it keeps
  // going and files it there). Both count as failures so that every figure is for a
  // complete parse.
  bool ok = sip != nullptr && (sip->sip_flags & MSG_FLG_ERROR) == 0 && sip->sip_error == nullptr &&
            sip->sip_via != nullptr && sip->sip_from != nullptr && sip->sip_to != nullptr &&
            sip->sip_call_id != nullptr && sip->sip_cseq != nullptr;
  if (ok) {
    f.branch = sip->sip_via->v_branch;
    f.branch_len = f.branch != nullptr ? std::strlen(f.branch) : 0;
    f.from_tag = sip->sip_from->a_tag;
    f.from_tag_len = f.from_tag != nullptr ? std::strlen(f.from_tag) : 0;
    f.to_tag = sip->sip_to->a_tag;
    f.to_tag_len = f.to_tag != nullptr ? std::strlen(f.to_tag) : 0;
    f.call_id = sip->sip_call_id->i_id;
    f.call_id_len = f.call_id != nullptr ? std::strlen(f.call_id) : 0;
    f.cseq = sip->sip_cseq->cs_seq;
    f.cseq_method = sip->sip_cseq->cs_method_name;
    f.cseq_method_id = static_cast<int>(sip->sip_cseq->cs_method);
    benchmark::DoNotOptimize(f);  // read before the message is destroyed
  }
  msg_destroy(msg);
  return ok;
}

void BM_corpus_sofia(benchmark::State& state) { run_over(state, whole_corpus(), sofia_parse); }

void BM_invite_sofia(benchmark::State& state) { run_over(state, {g_invite}, sofia_parse); }
#endif

void BM_invite_sipkit(benchmark::State& state) {
  auto view = std::make_unique<sp::message_view>();
  run_over(state, {g_invite}, [&](std::string_view bytes, transaction_fields& f) {
    if (sp::parse_message(bytes, *view)) return false;
    return sipkit_fields(*view, f);
  });
}

void register_benchmarks() {
  benchmark::RegisterBenchmark("corpus/sipkit", BM_corpus_sipkit);
#if SIPKIT_BENCH_HAVE_OSIP
  benchmark::RegisterBenchmark("corpus/osip2", BM_corpus_osip2);
#endif
#if SIPKIT_BENCH_HAVE_SOFIA
  benchmark::RegisterBenchmark("corpus/sofia-sip", BM_corpus_sofia);
#endif
  benchmark::RegisterBenchmark("invite/sipkit", BM_invite_sipkit);
#if SIPKIT_BENCH_HAVE_OSIP
  benchmark::RegisterBenchmark("invite/osip2", BM_invite_osip2);
#endif
#if SIPKIT_BENCH_HAVE_SOFIA
  benchmark::RegisterBenchmark("invite/sofia-sip", BM_invite_sofia);
#endif
  benchmark::RegisterBenchmark("invite/sipkit_parse_only", BM_invite_parse_only_sipkit);
  benchmark::RegisterBenchmark("stream/sipkit_framer", BM_stream_sipkit)
      ->ArgNames({"chunk", "parse"})
      ->Args({0, 0})
      ->Args({1460, 0})
      ->Args({1460, 1});
}

// ------------------------------------------------------------------- summary reporter

// The console output plus, at the end, tables of the corpus/, invite/ and stream/ results with
// MB/s (10^6 bytes) and the ratio to Sofia-SIP measured in the same run (medians when
// --benchmark_repetitions is given).
class summary_reporter : public benchmark::ConsoleReporter {
 public:
  void ReportRuns(const std::vector<Run>& runs) override {
    ConsoleReporter::ReportRuns(runs);
    for (const auto& r : runs) {
      if (r.error_occurred) continue;
      // With --benchmark_repetitions, keep the median (robust on a busy machine);
      // otherwise the single run.
      if (r.run_type == Run::RT_Aggregate && r.aggregate_name != "median") continue;
      std::string name = r.run_name.str();
      if (r.run_type == Run::RT_Iteration && rows_.count(name) && rows_[name].from_median)
        continue;
      row& out = rows_[name];
      out.from_median = r.run_type == Run::RT_Aggregate;
      out.msgs = value(r, "items_per_second");
      out.bytes = value(r, "bytes_per_second");
      out.allocs = value(r, "allocs_per_msg");
      if (std::find(order_.begin(), order_.end(), name) == order_.end()) order_.push_back(name);
    }
  }

  void print_summary() const {
    for (const char* group : {"corpus/", "invite/", "stream/"}) {
      const row* sofia = nullptr;
      auto it = rows_.find(std::string(group) + "sofia-sip");
      if (it != rows_.end()) sofia = &it->second;
      bool header = false;
      for (const auto& name : order_) {
        if (name.rfind(group, 0) != 0) continue;
        if (!header) {
          std::printf("\n%-40s %12s %10s %11s %9s\n", name.substr(0, name.find('/')).c_str(),
                      "msg/s", "MB/s", "allocs/msg", "vs Sofia");
          header = true;
        }
        const row& r = rows_.at(name);
        char ratio[32] = "n/a";
        if (sofia != nullptr && sofia->msgs > 0)
          std::snprintf(ratio, sizeof ratio, "%.2fx", r.msgs / sofia->msgs);
        std::printf("%-40s %12.0f %10.1f %11.2f %9s\n", name.c_str(), r.msgs, r.bytes / 1e6,
                    r.allocs, ratio);
      }
    }
    std::printf("\nallocs/msg counts %s.\n",
                sipkit::bench::counts_c_allocations()
                    ? "operator new and malloc/calloc/realloc/memalign"
                    : "operator new only (C libraries' malloc is NOT counted)");
  }

 private:
  struct row {
    double msgs = 0, bytes = 0, allocs = 0;
    bool from_median = false;
  };
  static double value(const Run& r, const char* key) {
    auto it = r.counters.find(key);
    return it == r.counters.end() ? 0.0 : static_cast<double>(it->second);
  }
  std::map<std::string, row> rows_;
  std::vector<std::string> order_;
};

}  // namespace

int main(int argc, char** argv) {
  load_corpus();
  // Every corpus message must be valid for sipkit in both framings before we time anything.
  {
    auto view = std::make_unique<sp::message_view>();
    for (const auto& m : g_corpus) {
      for (auto mode : {sp::framing::datagram, sp::framing::stream}) {
        if (auto err = sp::parse_message(m.bytes, *view, {}, mode))
          die(m.name + ": sipkit rejects it: " + err.message());
      }
    }
  }
#if SIPKIT_BENCH_HAVE_OSIP
  if (parser_init() != 0) die("oSIP2 parser_init() failed");
#endif

  bool console = true;
  for (int i = 1; i < argc; ++i) {
    const std::string_view a = argv[i];
    if (a.rfind("--benchmark_format=", 0) == 0 && a != "--benchmark_format=console")
      console = false;
  }
  benchmark::Initialize(&argc, argv);
  if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 1;
  register_benchmarks();
  benchmark::AddCustomContext("corpus", std::to_string(g_corpus.size()) + " messages, " +
                                            std::to_string(g_corpus_bytes) + " bytes");
  benchmark::AddCustomContext(
      "references", std::string(SIPKIT_BENCH_HAVE_OSIP ? "oSIP2 " : "") +
                        (SIPKIT_BENCH_HAVE_SOFIA ? "Sofia-SIP" : "") +
                        (SIPKIT_BENCH_HAVE_OSIP || SIPKIT_BENCH_HAVE_SOFIA ? "" : "none"));
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
