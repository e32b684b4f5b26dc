// See alloc_counter.hpp. Linked into benchmark executables only.
#include "alloc_counter.hpp"

#include <cstddef>
#include <cstdlib>
#include <new>

namespace {
// constinit + trivial type: static TLS in the executable, no lazy initialisation that
// could itself allocate.
constinit thread_local std::uint64_t t_allocations = 0;
constinit thread_local std::uint64_t t_allocated_bytes = 0;  // bytes asked for, not usable size
}  // namespace

#if defined(SIPKIT_BENCH_COUNT_MALLOC) && defined(__GLIBC__)
// glibc's allocator under its internal names; the public malloc/free below forward to them.
// Replacing malloc in the executable is supported by glibc ("Replacing malloc" in its
// manual); we keep glibc's heap, so pointers are interchangeable with the library's own.
extern "C" {
void* __libc_malloc(std::size_t);
void* __libc_calloc(std::size_t, std::size_t);
void* __libc_realloc(void*, std::size_t);
void* __libc_memalign(std::size_t, std::size_t);
void __libc_free(void*);

void* malloc(std::size_t n) noexcept {
  ++t_allocations;
  t_allocated_bytes += n;
  return __libc_malloc(n);
}
void* calloc(std::size_t count, std::size_t n) noexcept {
  ++t_allocations;
  t_allocated_bytes += count * n;
  return __libc_calloc(count, n);
}
// A realloc may move the block: count it as one allocation (free(p) is not counted).
void* realloc(void* p, std::size_t n) noexcept {
  ++t_allocations;
  t_allocated_bytes += n;
  return __libc_realloc(p, n);
}
void free(void* p) noexcept { __libc_free(p); }
void* memalign(std::size_t align, std::size_t n) noexcept {
  ++t_allocations;
  t_allocated_bytes += n;
  return __libc_memalign(align, n);
}
void* aligned_alloc(std::size_t align, std::size_t n) noexcept {
  ++t_allocations;
  t_allocated_bytes += n;
  return __libc_memalign(align, n);
}
int posix_memalign(void** out, std::size_t align, std::size_t n) noexcept {
  if (align < sizeof(void*) || (align & (align - 1)) != 0) return 22;  // EINVAL
  ++t_allocations;
  t_allocated_bytes += n;
  void* p = __libc_memalign(align, n);
  if (p == nullptr) return 12;  // ENOMEM
  *out = p;
  return 0;
}
}  // extern "C"

namespace {
constexpr bool k_counts_c = true;
// operator new below must not count twice: go straight to glibc.
void* raw_alloc(std::size_t n) { return __libc_malloc(n); }
void* raw_aligned(std::size_t align, std::size_t n) { return __libc_memalign(align, n); }
void raw_free(void* p) { __libc_free(p); }
}  // namespace
#else
namespace {
constexpr bool k_counts_c = false;
void* raw_alloc(std::size_t n) { return std::malloc(n); }
void* raw_aligned(std::size_t align, std::size_t n) {
  void* p = nullptr;
  return posix_memalign(&p, align < sizeof(void*) ? sizeof(void*) : align, n) == 0 ? p : nullptr;
}
void raw_free(void* p) { std::free(p); }
}  // namespace
#endif

namespace {
void* counted_new(std::size_t n) {
  ++t_allocations;
  t_allocated_bytes += n;
  if (void* p = raw_alloc(n == 0 ? 1 : n)) return p;
  throw std::bad_alloc();
}
void* counted_new(std::size_t n, std::align_val_t al) {
  ++t_allocations;
  t_allocated_bytes += n;
  if (void* p = raw_aligned(static_cast<std::size_t>(al), n == 0 ? 1 : n)) return p;
  throw std::bad_alloc();
}
}  // namespace

namespace sipkit::bench {
std::uint64_t allocation_count() noexcept { return t_allocations; }
std::uint64_t allocated_bytes() noexcept { return t_allocated_bytes; }
bool counts_c_allocations() noexcept { return k_counts_c; }
}  // namespace sipkit::bench

// The replaceable global allocation functions ([new.delete]).
void* operator new(std::size_t n) { return counted_new(n); }
void* operator new[](std::size_t n) { return counted_new(n); }
void* operator new(std::size_t n, std::align_val_t al) { return counted_new(n, al); }
void* operator new[](std::size_t n, std::align_val_t al) { return counted_new(n, al); }
void* operator new(std::size_t n, const std::nothrow_t&) noexcept {
  ++t_allocations;
  t_allocated_bytes += n;
  return raw_alloc(n == 0 ? 1 : n);
}
void* operator new[](std::size_t n, const std::nothrow_t&) noexcept {
  ++t_allocations;
  t_allocated_bytes += n;
  return raw_alloc(n == 0 ? 1 : n);
}
void* operator new(std::size_t n, std::align_val_t al, const std::nothrow_t&) noexcept {
  ++t_allocations;
  t_allocated_bytes += n;
  return raw_aligned(static_cast<std::size_t>(al), n == 0 ? 1 : n);
}
void* operator new[](std::size_t n, std::align_val_t al, const std::nothrow_t&) noexcept {
  ++t_allocations;
  t_allocated_bytes += n;
  return raw_aligned(static_cast<std::size_t>(al), n == 0 ? 1 : n);
}

void operator delete(void* p) noexcept { raw_free(p); }
void operator delete[](void* p) noexcept { raw_free(p); }
void operator delete(void* p, std::size_t) noexcept { raw_free(p); }
void operator delete[](void* p, std::size_t) noexcept { raw_free(p); }
void operator delete(void* p, std::align_val_t) noexcept { raw_free(p); }
void operator delete[](void* p, std::align_val_t) noexcept { raw_free(p); }
void operator delete(void* p, std::size_t, std::align_val_t) noexcept { raw_free(p); }
void operator delete[](void* p, std::size_t, std::align_val_t) noexcept { raw_free(p); }
void operator delete(void* p, const std::nothrow_t&) noexcept { raw_free(p); }
void operator delete[](void* p, const std::nothrow_t&) noexcept { raw_free(p); }
void operator delete(void* p, std::align_val_t, const std::nothrow_t&) noexcept { raw_free(p); }
void operator delete[](void* p, std::align_val_t, const std::nothrow_t&) noexcept { raw_free(p); }
