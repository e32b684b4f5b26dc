// Heap allocation counting for the benchmark programs.
//
// alloc_counter.cpp replaces the global operator new/delete of the benchmark binary (never of
// a sipkit library), and on glibc also interposes malloc/calloc/realloc/memalign, so that the
// C reference parsers (oSIP2, Sofia-SIP), which never call operator new, are counted the same
// way as C++ code. Every allocation is counted once, whichever entry point it came through.
//
//   auto before = sipkit::bench::allocation_count();
//   ... work ...
//   auto allocs = sipkit::bench::allocation_count() - before;
//
// Thread safety: the count is per thread (a plain thread_local increment, so counting costs
// the allocating code almost nothing); read it from the thread that does the work.
#pragma once

#include <cstdint>

namespace sipkit::bench {

/// Heap allocations made by the calling thread since it started.
std::uint64_t allocation_count() noexcept;

/// Bytes the calling thread has asked for in those allocations (requested sizes, not what
/// the allocator rounds them up to; frees are not subtracted).
std::uint64_t allocated_bytes() noexcept;

/// True when C allocations (malloc & co.) are counted too, not only operator new.
bool counts_c_allocations() noexcept;

}  // namespace sipkit::bench
