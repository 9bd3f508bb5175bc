// The CUDA emulator's runtime: device memory in a protected arena, pinned host memory, streams,
// events and their late-running work, the runtime API's error handling, and the SIGSEGV report
// of host accesses to device memory.
#include <cxxabi.h>
#include <dlfcn.h>
#include <execinfo.h>
#include <pthread.h>
#include <signal.h>
#include <sys/mman.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <map>
#include <set>

#include "internal.hpp"

namespace neuralop_cuda_emulator::detail {

void fatal(const char* fmt, ...) {
  char msg[4096];
  va_list ap;
  va_start(ap, fmt);
  std::vsnprintf(msg, sizeof msg, fmt, ap);
  va_end(ap);
  std::fprintf(stderr, "\nneuralop CUDA emulator: %s\n", msg);
  std::fflush(stderr);
  std::abort();
}

std::recursive_mutex& lock() {
  static auto* m = new std::recursive_mutex();
  return *m;
}

namespace {
thread_local cudaError_t last_error = cudaSuccess;

bool env_flag(const char* name) {
  const char* v = std::getenv(name);
  return v && *v && std::string(v) != "0";
}

// ------------------------------------------------------------------ the device memory arena
// The arena is PROT_NONE. While emulated device work runs (a DeviceScope on its thread), a fault
// in a live allocation makes that allocation's pages read/write and is retried; the scope's end
// makes them PROT_NONE again. So device work pays for the allocations it touches, host code (and
// every other thread) faults on all of them, and device work that strays outside its
// allocations (into the unallocated page after each, or anywhere not allocated) is caught.
constexpr std::size_t page = 4096;

struct Arena {
  char* base = nullptr;
  std::size_t capacity = 0;
  std::size_t top = 0;  // bytes of the arena ever handed out (a high-water mark)
  std::size_t in_use = 0;
  std::map<char*, std::size_t> live;  // allocation -> size (whole pages; a guard page follows)
  std::map<char*, std::size_t> free;  // free ranges below top, coalesced
  // The allocations made accessible in the current DeviceScope.
  static constexpr std::size_t max_open = 1 << 16;
  std::pair<char*, std::size_t> open[max_open];
  std::size_t n_open = 0;
  pthread_t owner{};  // the thread running device work
};
Arena& arena() {
  static Arena* a = [] {
    auto* ar = new Arena();
    std::size_t gib = 16;
    if (const char* v = std::getenv("NEURALOP_CUDA_EMULATOR_MEMORY_GIB")) gib = std::max<std::size_t>(1, std::strtoull(v, nullptr, 10));
    ar->capacity = gib << 30;
    void* p = mmap(nullptr, ar->capacity, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
    if (p == MAP_FAILED) fatal("cannot reserve %zu GiB of address space for emulated device memory", gib);
    ar->base = static_cast<char*>(p);
    return ar;
  }();
  return *a;
}

volatile int scope_depth = 0;  // under lock()

const std::pair<char* const, std::size_t>* find_live(const void* p) {
  Arena& a = arena();
  auto* c = static_cast<char*>(const_cast<void*>(p));
  auto it = a.live.upper_bound(c);
  if (it == a.live.begin()) return nullptr;
  --it;
  if (c >= it->first && c < it->first + it->second) return &*it;
  return nullptr;
}

// Pinned host allocations (cudaHostAlloc): ordinary host memory, recorded to tell it apart.
std::map<char*, std::size_t>& pinned() {
  static auto* m = new std::map<char*, std::size_t>();
  return *m;
}

void poison(void* p, std::size_t bytes) {  // inside a DeviceScope: NaN in every floating type
  std::memset(p, 0xFF, bytes);
}

// ------------------------------------------------------------------ SIGSEGV
struct sigaction previous_segv {};
bool handler_installed = false;
volatile sig_atomic_t in_handler = 0;
char alt_stack[1 << 16];

void write_err(const char* s) { (void)!write(2, s, std::strlen(s)); }

void segv_handler(int sig, siginfo_t* info, void* ctx) {
  if (in_handler || info->si_code <= 0) {  // raised again by a chained handler: die
    signal(sig, SIG_DFL);
    raise(sig);
    return;
  }
  const void* addr = info->si_addr;
  Arena& a = arena();
  const bool arena_addr = a.base && addr >= a.base && addr < a.base + a.capacity;
  const bool device_thread = scope_depth > 0 && pthread_equal(pthread_self(), a.owner);
  if (arena_addr && device_thread) {  // device work touches an allocation: open it, retry
    if (const auto* e = find_live(addr); e && a.n_open < Arena::max_open &&
                                         mprotect(e->first, e->second, PROT_READ | PROT_WRITE) == 0) {
      a.open[a.n_open++] = *e;
      return;
    }
  }
  in_handler = 1;
  char msg[512];
  if (arena_addr && !device_thread) {
    std::snprintf(msg, sizeof msg,
                  "\nneuralop CUDA emulator: host access to emulated device memory at %p (device memory is not host-readable: "
                  "copy it with cudaMemcpy first). Host stack:\n",
                  addr);
  } else if (in_kernel()) {
    std::snprintf(msg, sizeof msg, "\nneuralop CUDA emulator: emulated device code faulted at %p (%s; %s). Stack:\n", addr,
                  arena_addr ? "device memory not allocated" : "not device memory", current_thread_description().c_str());
  } else if (arena_addr) {
    std::snprintf(msg, sizeof msg,
                  "\nneuralop CUDA emulator: emulated device work (a copy, memset, cuBLAS or cuFFT call) accessed unallocated "
                  "device memory at %p. Stack:\n",
                  addr);
  } else {
    std::snprintf(msg, sizeof msg, "\nneuralop CUDA emulator: segmentation fault at %p (not device memory). Stack:\n", addr);
  }
  write_err(msg);
  void* frames[64];
  const int n = backtrace(frames, 64);
  backtrace_symbols_fd(frames, n, 2);
  // Hand over to the handler that was there before ours (doctest's names the test case).
  if (previous_segv.sa_flags & SA_SIGINFO) {
    if (previous_segv.sa_sigaction) previous_segv.sa_sigaction(sig, info, ctx);
  } else if (previous_segv.sa_handler != SIG_DFL && previous_segv.sa_handler != SIG_IGN && previous_segv.sa_handler) {
    previous_segv.sa_handler(sig);
  }
  signal(sig, SIG_DFL);  // returning re-runs the access, which now kills the process
}

// Ours must be the first handler to see a fault: test frameworks install theirs later (doctest,
// per test case), so this runs again whenever device memory becomes unreadable.
void ensure_segv_handler() {
  std::lock_guard g(lock());
  struct sigaction cur {};
  sigaction(SIGSEGV, nullptr, &cur);
  if (handler_installed && (cur.sa_flags & SA_SIGINFO) && cur.sa_sigaction == segv_handler) return;
  static bool alt = false;
  if (!alt) {
    stack_t ss{};
    ss.ss_sp = alt_stack;
    ss.ss_size = sizeof alt_stack;
    sigaltstack(&ss, nullptr);
    alt = true;
  }
  previous_segv = cur;
  struct sigaction sa {};
  sa.sa_sigaction = segv_handler;
  sa.sa_flags = SA_SIGINFO | SA_ONSTACK;
  sigemptyset(&sa.sa_mask);
  sigaction(SIGSEGV, &sa, nullptr);
  handler_installed = true;
}

}  // namespace

cudaError_t error(cudaError_t e) {
  if (e != cudaSuccess) last_error = e;
  return e;
}

bool in_arena(const void* p) {
  Arena& a = arena();
  return p >= a.base && p < a.base + a.capacity;
}
std::size_t arena_capacity() { return arena().capacity; }

bool device_range(const void* p, std::size_t bytes) {
  std::lock_guard g(lock());
  const auto* e = find_live(p);
  if (!e) return false;
  return static_cast<const char*>(p) + bytes <= e->first + e->second;
}

bool pinned_range(const void* p, std::size_t bytes) {
  std::lock_guard g(lock());
  auto& m = pinned();
  auto* c = static_cast<char*>(const_cast<void*>(p));
  auto it = m.upper_bound(c);
  if (it == m.begin()) return false;
  --it;
  return c >= it->first && c + bytes <= it->first + it->second;
}

std::string describe(const void* p) {
  char buf[200];
  if (!p) return "a null pointer";
  if (in_arena(p)) {
    if (const auto* e = find_live(p)) {
      std::snprintf(buf, sizeof buf, "device allocation %p + %td of %zu bytes", static_cast<void*>(e->first),
                    static_cast<const char*>(p) - e->first, e->second);
      return buf;
    }
    std::snprintf(buf, sizeof buf, "unallocated device memory %p", p);
    return buf;
  }
  auto& m = pinned();
  auto* c = static_cast<char*>(const_cast<void*>(p));
  auto it = m.upper_bound(c);
  if (it != m.begin() && c < std::prev(it)->first + std::prev(it)->second) {
    std::snprintf(buf, sizeof buf, "pinned host buffer %p + %td of %zu bytes", static_cast<void*>(std::prev(it)->first),
                  c - std::prev(it)->first, std::prev(it)->second);
    return buf;
  }
  std::snprintf(buf, sizeof buf, "pageable host memory %p", p);
  return buf;
}

void* device_allocate(std::size_t bytes) {
  std::lock_guard g(lock());
  Arena& a = arena();
  const std::size_t size = std::max<std::size_t>(page, (bytes + page - 1) / page * page);
  const std::size_t footprint = size + page;  // and a guard page, never opened
  char* p = nullptr;
  for (auto it = a.free.begin(); it != a.free.end(); ++it) {  // first fit
    if (it->second >= footprint) {
      p = it->first;
      const std::size_t rest = it->second - footprint;
      a.free.erase(it);
      if (rest) a.free.emplace(p + footprint, rest);
      break;
    }
  }
  if (!p) {
    if (a.top + footprint > a.capacity) return nullptr;
    p = a.base + a.top;
    a.top += footprint;
  }
  a.live.emplace(p, size);
  a.in_use += size;
  {
    DeviceScope scope;  // garbage, as a fresh cudaMalloc block holds: NaN bytes
    poison(p, size);
  }
  return p;
}

void device_deallocate(void* ptr) {
  std::lock_guard g(lock());
  Arena& a = arena();
  auto* p = static_cast<char*>(ptr);
  auto it = a.live.find(p);
  if (it == a.live.end()) fatal("device_deallocate of %p, not a live allocation", ptr);
  std::size_t size = it->second;
  {
    DeviceScope scope;  // stale reads of freed memory see NaN
    poison(p, size);
  }
  a.live.erase(it);
  a.in_use -= size;
  size += page;
  // Coalesce with the free neighbours.
  auto next = a.free.find(p + size);
  if (next != a.free.end()) {
    size += next->second;
    a.free.erase(next);
  }
  auto prev = a.free.lower_bound(p);
  if (prev != a.free.begin()) {
    --prev;
    if (prev->first + prev->second == p) {
      p = prev->first;
      size += prev->second;
      a.free.erase(prev);
    }
  }
  if (p + size == a.base + a.top) {  // the top range returns to the unused part
    a.top = std::size_t(p - a.base);
    if (size >= (1u << 20)) madvise(p, size / page * page, MADV_DONTNEED);
  } else {
    a.free.emplace(p, size);
  }
}

DeviceScope::DeviceScope() {
  lock().lock();
  if (scope_depth == 0) {
    arena().owner = pthread_self();
    ensure_segv_handler();  // ours opens the allocations device work touches
  }
  scope_depth = scope_depth + 1;
}
DeviceScope::~DeviceScope() {
  scope_depth = scope_depth - 1;
  if (scope_depth == 0) {
    Arena& a = arena();
    for (std::size_t i = 0; i < a.n_open; ++i)
      if (mprotect(a.open[i].first, a.open[i].second, PROT_NONE) != 0) fatal("mprotect of the device arena failed");
    a.n_open = 0;
    ensure_segv_handler();
  }
  lock().unlock();
}
bool in_device_scope() { return scope_depth > 0; }

// ------------------------------------------------------------------ streams, events, ordering
struct Stream {
  bool blocking = true;  // synchronises with the legacy default stream
  bool destroyed = false;
  std::uint64_t last = 0, done = 0;  // sequence numbers of the last queued and last finished op
  struct Entry {
    std::uint64_t seq;
    std::vector<std::pair<Stream*, std::uint64_t>> waits;
    std::unique_ptr<Op> op;
  };
  std::deque<Entry> queue;
  std::vector<std::pair<Stream*, std::uint64_t>> pending_waits;  // for the next op (cudaStreamWaitEvent)
};

namespace {
Stream& legacy_stream() {
  static auto* s = new Stream();
  return *s;
}
Stream& per_thread_stream() {
  static auto* s = new Stream();
  return *s;
}
std::set<Stream*>& streams() {  // created ones (never freed: queued work may name them)
  static auto* s = new std::set<Stream*>();
  return *s;
}
std::size_t queued_total = 0;
bool immediate() {
  static const bool v = env_flag("NEURALOP_CUDA_EMULATOR_SYNC");
  return v;
}
constexpr std::size_t max_queued = 4096;  // a device's queue is finite: the host then waits

void run_until(Stream* s, std::uint64_t seq) {
  while (s->done < seq) {
    Stream::Entry e = std::move(s->queue.front());
    s->queue.pop_front();
    --queued_total;
    for (auto& [other, q] : e.waits) run_until(other, q);
    e.op->run();
    s->done = e.seq;
  }
}
}  // namespace

Stream* stream_of(cudaStream_t h) {
  ensure_segv_handler();  // (cheap: one sigaction query) before host code may touch device memory
  if (h == nullptr || h == cudaStreamLegacy) return &legacy_stream();
  if (h == cudaStreamPerThread) return &per_thread_stream();
  auto* s = reinterpret_cast<Stream*>(h);
  std::lock_guard g(lock());
  if (!streams().count(s) || s->destroyed) return nullptr;
  return s;
}

void enqueue(Stream* s, std::unique_ptr<Op> op) {
  std::lock_guard g(lock());
  Stream::Entry e{++s->last, std::move(s->pending_waits), std::move(op)};
  s->pending_waits.clear();
  // The legacy default stream waits for all blocking streams' earlier work, and they for its.
  Stream& legacy = legacy_stream();
  if (s == &legacy) {
    for (Stream* o : streams())
      if (o->blocking && o->last > o->done) e.waits.emplace_back(o, o->last);
    if (per_thread_stream().last > per_thread_stream().done) e.waits.emplace_back(&per_thread_stream(), per_thread_stream().last);
  } else if (s->blocking && legacy.last > legacy.done) {
    e.waits.emplace_back(&legacy, legacy.last);
  }
  s->queue.push_back(std::move(e));
  ++queued_total;
  if (immediate()) {
    synchronize(s);
  } else if (queued_total > max_queued) {
    synchronize_all();
  }
}

void synchronize(Stream* s) {
  std::lock_guard g(lock());
  if (s->done == s->last) return;
  DeviceScope scope;
  run_until(s, s->last);
}

void synchronize_all() {
  std::lock_guard g(lock());
  if (queued_total == 0) return;
  DeviceScope scope;
  run_until(&legacy_stream(), legacy_stream().last);
  run_until(&per_thread_stream(), per_thread_stream().last);
  for (Stream* s : streams()) run_until(s, s->last);
}

std::string kernel_name(const void* kernel) {
  static auto* names = new std::map<const void*, std::string>();
  std::lock_guard g(lock());
  if (auto it = names->find(kernel); it != names->end()) return it->second;
  std::string name;
  Dl_info info{};
  if (dladdr(kernel, &info) && info.dli_sname) {
    int status = 0;
    char* d = abi::__cxa_demangle(info.dli_sname, nullptr, nullptr, &status);
    name = status == 0 && d ? d : info.dli_sname;
    std::free(d);
    if (name.size() > 400) name = name.substr(0, 400) + "...";
  } else {
    char buf[64];
    std::snprintf(buf, sizeof buf, "kernel at %p (link with -rdynamic for its name)", kernel);
    name = buf;
  }
  names->emplace(kernel, name);
  return name;
}

}  // namespace neuralop_cuda_emulator::detail

// ==================================================================== the runtime API
namespace emu = neuralop_cuda_emulator::detail;
using emu::error;

namespace {

struct Event {
  bool timing = true;
  bool recorded = false;
  emu::Stream* stream = nullptr;
  std::uint64_t seq = 0;
  std::chrono::steady_clock::time_point when{};
};
std::set<Event*>& events() {
  static auto* s = new std::set<Event*>();
  return *s;
}
Event* event_of(cudaEvent_t e) {
  auto* ev = reinterpret_cast<Event*>(e);
  return events().count(ev) ? ev : nullptr;
}

int current_device = 0;

enum class Space { null, device, bad_device, pinned, host };
Space space_of(const void* p, std::size_t bytes) {
  if (!p) return Space::null;
  if (emu::in_arena(p)) return emu::device_range(p, bytes) ? Space::device : Space::bad_device;
  return emu::pinned_range(p, bytes) ? Space::pinned : Space::host;
}
bool is_host(Space s) { return s == Space::pinned || s == Space::host; }

// Checks a copy's pointers against its kind (cudaMemcpyDefault: inferred) and queues it on s.
// Synchronous with the host where CUDA is: copies to pageable memory, and `sync` ones.
cudaError_t memcpy_impl(void* dst, const void* src, std::size_t count, cudaMemcpyKind kind, cudaStream_t stream, bool sync) {
  std::lock_guard g(emu::lock());
  if (kind < cudaMemcpyHostToHost || kind > cudaMemcpyDefault) return error(cudaErrorInvalidMemcpyDirection);
  emu::Stream* s = emu::stream_of(stream);
  if (!s) return error(cudaErrorInvalidResourceHandle);
  if (count == 0) return cudaSuccess;
  const Space ds = space_of(dst, count), ss = space_of(src, count);
  if (ds == Space::null || ss == Space::null || ds == Space::bad_device || ss == Space::bad_device) return error(cudaErrorInvalidValue);
  const bool dst_dev = ds == Space::device, src_dev = ss == Space::device;
  switch (kind) {
    case cudaMemcpyHostToHost:
      if (dst_dev || src_dev) return error(cudaErrorInvalidValue);
      break;
    case cudaMemcpyHostToDevice:
      if (!dst_dev || src_dev) return error(cudaErrorInvalidValue);
      break;
    case cudaMemcpyDeviceToHost:
      if (dst_dev || !src_dev) return error(cudaErrorInvalidValue);
      break;
    case cudaMemcpyDeviceToDevice:
      if (!dst_dev || !src_dev) return error(cudaErrorInvalidValue);
      break;
    default: break;
  }
  if (is_host(ss) && ss == Space::host && !sync) {
    // From pageable memory: staged at once (the source may be reused on return), copied later.
    auto staged = std::make_shared<std::vector<char>>(static_cast<const char*>(src), static_cast<const char*>(src) + count);
    emu::enqueue(s, "cudaMemcpyAsync from pageable memory", [dst, staged] { std::memcpy(dst, staged->data(), staged->size()); });
  } else {
    emu::enqueue(s, "cudaMemcpyAsync", [dst, src, count] { std::memmove(dst, src, count); });
  }
  if (sync || ds == Space::host) emu::synchronize(s);  // to pageable memory: returns when done
  return cudaSuccess;
}

cudaError_t memset_impl(void* ptr, int value, std::size_t count, cudaStream_t stream, bool sync) {
  std::lock_guard g(emu::lock());
  emu::Stream* s = emu::stream_of(stream);
  if (!s) return error(cudaErrorInvalidResourceHandle);
  if (count == 0) return cudaSuccess;
  if (space_of(ptr, count) != Space::device) return error(cudaErrorInvalidValue);
  emu::enqueue(s, "cudaMemsetAsync", [ptr, value, count] { std::memset(ptr, value, count); });
  if (sync) emu::synchronize(s);
  return cudaSuccess;
}

}  // namespace

cudaError_t cudaGetDeviceCount(int* count) {
  if (!count) return error(cudaErrorInvalidValue);
  *count = 1;
  return cudaSuccess;
}
cudaError_t cudaGetDevice(int* device) {
  if (!device) return error(cudaErrorInvalidValue);
  *device = current_device;
  return cudaSuccess;
}
cudaError_t cudaSetDevice(int device) {
  if (device != 0) return error(cudaErrorInvalidDevice);
  current_device = device;
  return cudaSuccess;
}
cudaError_t cudaGetDeviceProperties(cudaDeviceProp* p, int device) {
  if (!p) return error(cudaErrorInvalidValue);
  if (device != 0) return error(cudaErrorInvalidDevice);
  *p = cudaDeviceProp{};
  std::snprintf(p->name, sizeof p->name, "neuralop CUDA emulator (CPU, not a GPU)");
  p->totalGlobalMem = emu::arena_capacity();
  p->sharedMemPerBlock = 48 << 10;
  p->regsPerBlock = 65536;
  p->warpSize = 32;
  p->memPitch = std::size_t(1) << 31;
  p->maxThreadsPerBlock = 1024;
  p->maxThreadsDim[0] = 1024;
  p->maxThreadsDim[1] = 1024;
  p->maxThreadsDim[2] = 64;
  p->maxGridSize[0] = 0x7fffffff;
  p->maxGridSize[1] = 65535;
  p->maxGridSize[2] = 65535;
  p->totalConstMem = 65536;
  p->major = 9;
  p->minor = 0;
  // Few multiprocessors: launches that size their grids by the SM count run grid-stride loops
  // over many items per thread, and the reductions take their chunked paths.
  p->multiProcessorCount = 4;
  p->maxThreadsPerMultiProcessor = 2048;
  p->sharedMemPerMultiprocessor = 228 << 10;
  p->l2CacheSize = 1 << 20;
  p->memoryBusWidth = 64;
  p->unifiedAddressing = 1;
  p->concurrentKernels = 1;
  p->asyncEngineCount = 1;
  return cudaSuccess;
}
cudaError_t cudaDeviceSynchronize() {
  emu::synchronize_all();
  return cudaSuccess;
}
cudaError_t cudaDeviceReset() {
  emu::synchronize_all();
  return cudaSuccess;
}
cudaError_t cudaGetLastError() {
  const cudaError_t e = emu::last_error;
  emu::last_error = cudaSuccess;
  return e;
}
cudaError_t cudaPeekAtLastError() { return emu::last_error; }

const char* cudaGetErrorName(cudaError_t e) {
  switch (e) {
#define NAME(x) \
  case x: return #x;
    NAME(cudaSuccess)
    NAME(cudaErrorInvalidValue)
    NAME(cudaErrorMemoryAllocation)
    NAME(cudaErrorInitializationError)
    NAME(cudaErrorCudartUnloading)
    NAME(cudaErrorInvalidConfiguration)
    NAME(cudaErrorInvalidPitchValue)
    NAME(cudaErrorInvalidHostPointer)
    NAME(cudaErrorInvalidDevicePointer)
    NAME(cudaErrorInvalidMemcpyDirection)
    NAME(cudaErrorInvalidDeviceFunction)
    NAME(cudaErrorNoDevice)
    NAME(cudaErrorInvalidDevice)
    NAME(cudaErrorInvalidResourceHandle)
    NAME(cudaErrorNotReady)
    NAME(cudaErrorIllegalAddress)
    NAME(cudaErrorLaunchOutOfResources)
    NAME(cudaErrorHostMemoryAlreadyRegistered)
    NAME(cudaErrorLaunchFailure)
    NAME(cudaErrorUnknown)
#undef NAME
  }
  return "cudaErrorUnknown";
}
const char* cudaGetErrorString(cudaError_t e) {
  switch (e) {
    case cudaSuccess: return "no error";
    case cudaErrorInvalidValue: return "invalid argument";
    case cudaErrorMemoryAllocation: return "out of memory";
    case cudaErrorInitializationError: return "initialization error";
    case cudaErrorInvalidConfiguration: return "invalid configuration argument";
    case cudaErrorInvalidDevicePointer: return "invalid device pointer";
    case cudaErrorInvalidMemcpyDirection: return "invalid copy direction for memcpy";
    case cudaErrorNoDevice: return "no CUDA-capable device is detected";
    case cudaErrorInvalidDevice: return "invalid device ordinal";
    case cudaErrorInvalidResourceHandle: return "invalid resource handle";
    case cudaErrorNotReady: return "device not ready";
    case cudaErrorIllegalAddress: return "an illegal memory access was encountered";
    case cudaErrorLaunchFailure: return "unspecified launch failure";
    default: return "unknown error";
  }
}
cudaError_t cudaDriverGetVersion(int* v) {
  if (!v) return error(cudaErrorInvalidValue);
  *v = 13000;
  return cudaSuccess;
}
cudaError_t cudaRuntimeGetVersion(int* v) {
  if (!v) return error(cudaErrorInvalidValue);
  *v = 13000;
  return cudaSuccess;
}

cudaError_t cudaMalloc(void** ptr, std::size_t size) {
  if (!ptr) return error(cudaErrorInvalidValue);
  if (size == 0) {
    *ptr = nullptr;
    return cudaSuccess;
  }
  void* p = emu::device_allocate(size);
  if (!p) {
    *ptr = nullptr;
    return error(cudaErrorMemoryAllocation);
  }
  *ptr = p;
  return cudaSuccess;
}
cudaError_t cudaFree(void* ptr) {
  if (!ptr) return cudaSuccess;
  std::lock_guard g(emu::lock());
  if (!emu::arena().live.count(static_cast<char*>(ptr))) return error(cudaErrorInvalidValue);  // not the start of an allocation
  emu::synchronize_all();  // cudaFree waits for the device
  emu::device_deallocate(ptr);
  return cudaSuccess;
}
cudaError_t cudaHostAlloc(void** ptr, std::size_t size, unsigned int flags) {
  if (!ptr || flags > 0x0f) return error(cudaErrorInvalidValue);
  if (size == 0) {
    *ptr = nullptr;
    return cudaSuccess;
  }
  void* p = std::aligned_alloc(4096, (size + 4095) / 4096 * 4096);
  if (!p) return error(cudaErrorMemoryAllocation);
  std::lock_guard g(emu::lock());
  emu::pinned().emplace(static_cast<char*>(p), size);
  *ptr = p;
  return cudaSuccess;
}
cudaError_t cudaMallocHost(void** ptr, std::size_t size) { return cudaHostAlloc(ptr, size, cudaHostAllocDefault); }
cudaError_t cudaFreeHost(void* ptr) {
  if (!ptr) return cudaSuccess;
  std::lock_guard g(emu::lock());
  auto it = emu::pinned().find(static_cast<char*>(ptr));
  if (it == emu::pinned().end()) return error(cudaErrorInvalidValue);
  emu::synchronize_all();  // as cudaFreeHost: queued copies from or to the buffer finish first
  std::memset(ptr, 0xFF, it->second);  // stale host reads see NaN
  emu::pinned().erase(it);
  std::free(ptr);
  return cudaSuccess;
}
cudaError_t cudaMemGetInfo(std::size_t* free, std::size_t* total) {
  if (!free || !total) return error(cudaErrorInvalidValue);
  std::lock_guard g(emu::lock());
  *total = emu::arena_capacity();
  *free = emu::arena_capacity() - emu::arena().in_use;
  return cudaSuccess;
}

cudaError_t cudaMemcpy(void* dst, const void* src, std::size_t count, cudaMemcpyKind kind) {
  return memcpy_impl(dst, src, count, kind, nullptr, true);
}
cudaError_t cudaMemcpyAsync(void* dst, const void* src, std::size_t count, cudaMemcpyKind kind, cudaStream_t stream) {
  return memcpy_impl(dst, src, count, kind, stream, false);
}
cudaError_t cudaMemset(void* ptr, int value, std::size_t count) { return memset_impl(ptr, value, count, nullptr, true); }
cudaError_t cudaMemsetAsync(void* ptr, int value, std::size_t count, cudaStream_t stream) {
  return memset_impl(ptr, value, count, stream, false);
}

cudaError_t cudaStreamCreate(cudaStream_t* stream) { return cudaStreamCreateWithFlags(stream, cudaStreamDefault); }
cudaError_t cudaStreamCreateWithFlags(cudaStream_t* stream, unsigned int flags) {
  if (!stream || flags > cudaStreamNonBlocking) return error(cudaErrorInvalidValue);
  std::lock_guard g(emu::lock());
  auto* s = new emu::Stream();
  s->blocking = !(flags & cudaStreamNonBlocking);
  emu::streams().insert(s);
  *stream = reinterpret_cast<cudaStream_t>(s);
  return cudaSuccess;
}
cudaError_t cudaStreamDestroy(cudaStream_t stream) {
  std::lock_guard g(emu::lock());
  emu::Stream* s = emu::stream_of(stream);
  if (!s || s == &emu::legacy_stream() || s == &emu::per_thread_stream()) return error(cudaErrorInvalidResourceHandle);
  s->destroyed = true;  // its queued work still runs
  return cudaSuccess;
}
cudaError_t cudaStreamSynchronize(cudaStream_t stream) {
  emu::Stream* s = emu::stream_of(stream);
  if (!s) return error(cudaErrorInvalidResourceHandle);
  emu::synchronize(s);
  return cudaSuccess;
}
cudaError_t cudaStreamQuery(cudaStream_t stream) {
  std::lock_guard g(emu::lock());
  emu::Stream* s = emu::stream_of(stream);
  if (!s) return error(cudaErrorInvalidResourceHandle);
  if (s->done == s->last) return cudaSuccess;
  emu::synchronize(s);  // not ready now; done by the next query (a polling loop ends)
  return cudaErrorNotReady;
}
cudaError_t cudaStreamWaitEvent(cudaStream_t stream, cudaEvent_t event, unsigned int flags) {
  std::lock_guard g(emu::lock());
  emu::Stream* s = emu::stream_of(stream);
  Event* e = event_of(event);
  if (!s || !e) return error(cudaErrorInvalidResourceHandle);
  if (flags != 0) return error(cudaErrorInvalidValue);
  if (!e->recorded) return cudaSuccess;  // waits for nothing
  s->pending_waits.emplace_back(e->stream, e->seq);
  emu::enqueue(s, "cudaStreamWaitEvent", [] {});
  return cudaSuccess;
}

cudaError_t cudaEventCreate(cudaEvent_t* event) { return cudaEventCreateWithFlags(event, cudaEventDefault); }
cudaError_t cudaEventCreateWithFlags(cudaEvent_t* event, unsigned int flags) {
  if (!event || flags > 0x0f) return error(cudaErrorInvalidValue);
  std::lock_guard g(emu::lock());
  auto* e = new Event();
  e->timing = !(flags & cudaEventDisableTiming);
  events().insert(e);
  *event = reinterpret_cast<cudaEvent_t>(e);
  return cudaSuccess;
}
cudaError_t cudaEventDestroy(cudaEvent_t event) {
  std::lock_guard g(emu::lock());
  Event* e = event_of(event);
  if (!e) return error(cudaErrorInvalidResourceHandle);
  events().erase(e);  // leaked: a queued record may still write it
  return cudaSuccess;
}
cudaError_t cudaEventRecord(cudaEvent_t event, cudaStream_t stream) {
  std::lock_guard g(emu::lock());
  Event* e = event_of(event);
  emu::Stream* s = emu::stream_of(stream);
  if (!e || !s) return error(cudaErrorInvalidResourceHandle);
  emu::enqueue(s, "cudaEventRecord", [e] { e->when = std::chrono::steady_clock::now(); });
  e->recorded = true;
  e->stream = s;
  e->seq = s->last;
  return cudaSuccess;
}
cudaError_t cudaEventSynchronize(cudaEvent_t event) {
  std::lock_guard g(emu::lock());
  Event* e = event_of(event);
  if (!e) return error(cudaErrorInvalidResourceHandle);
  if (e->recorded) emu::synchronize(e->stream);
  return cudaSuccess;
}
cudaError_t cudaEventQuery(cudaEvent_t event) {
  std::lock_guard g(emu::lock());
  Event* e = event_of(event);
  if (!e) return error(cudaErrorInvalidResourceHandle);
  if (!e->recorded || e->stream->done >= e->seq) return cudaSuccess;
  emu::synchronize(e->stream);
  return cudaErrorNotReady;
}
cudaError_t cudaEventElapsedTime(float* ms, cudaEvent_t start, cudaEvent_t end) {
  std::lock_guard g(emu::lock());
  Event *a = event_of(start), *b = event_of(end);
  if (!ms || !a || !b) return error(a && b ? cudaErrorInvalidValue : cudaErrorInvalidResourceHandle);
  if (!a->timing || !b->timing) return error(cudaErrorInvalidResourceHandle);
  if (!a->recorded || !b->recorded || a->stream->done < a->seq || b->stream->done < b->seq) return error(cudaErrorNotReady);
  *ms = std::chrono::duration<float, std::milli>(b->when - a->when).count();
  return cudaSuccess;
}

// ==================================================================== launches
namespace {

// Readable, non-executable host mappings (from /proc/self/maps): where a kernel argument that
// holds a host address points. Re-read when a candidate address is in none of them.
struct HostMaps {
  std::vector<std::pair<std::uintptr_t, std::uintptr_t>> regions;
  std::uintptr_t lowest = ~std::uintptr_t(0);
  void read() {
    regions.clear();
    lowest = ~std::uintptr_t(0);
    if (FILE* f = std::fopen("/proc/self/maps", "r")) {
      char line[512];
      while (std::fgets(line, sizeof line, f)) {
        unsigned long lo = 0, hi = 0;
        char perms[8] = {};
        if (std::sscanf(line, "%lx-%lx %7s", &lo, &hi, perms) != 3) continue;
        if (perms[0] != 'r' || perms[2] == 'x') continue;
        regions.emplace_back(lo, hi);
        lowest = std::min<std::uintptr_t>(lowest, lo);
      }
      std::fclose(f);
    }
  }
  bool contains(std::uintptr_t w) const {
    auto it = std::upper_bound(regions.begin(), regions.end(), std::make_pair(w, ~std::uintptr_t(0)));
    return it != regions.begin() && w < std::prev(it)->second;
  }
};

// The 8-byte words of a launch's arguments that hold host addresses (neither device nor pinned
// memory): a kernel that dereferences one faults on a GPU.
void scan_argument(const void* kernel, int arg, const void* args, std::size_t bytes) {
  static const char* mode = [] {
    const char* m = std::getenv("NEURALOP_CUDA_EMULATOR_HOST_POINTERS");
    return m ? m : "fatal";
  }();
  if (std::strcmp(mode, "off") == 0) return;
  static HostMaps maps;
  bool fresh = false;
  const auto* words = static_cast<const unsigned char*>(args);
  for (std::size_t off = 0; off + 8 <= bytes; off += 8) {
    std::uintptr_t w;
    std::memcpy(&w, words + off, 8);
    if (w < 0x10000 || w >= (std::uintptr_t(1) << 47)) continue;
    const void* p = reinterpret_cast<const void*>(w);
    if (emu::in_arena(p) || emu::pinned_range(p, 0)) continue;
    if (!maps.contains(w)) {
      if (w < maps.lowest && !maps.regions.empty()) continue;
      if (fresh) continue;
      maps.read();
      fresh = true;
      if (!maps.contains(w)) continue;
    }
    if (std::strcmp(mode, "warn") == 0) {
      std::fprintf(stderr, "neuralop CUDA emulator: warning: argument %d of kernel %s holds a host address at byte %zu of %zu: %s\n",
                   arg, emu::kernel_name(kernel).c_str(), off, bytes, emu::describe(p).c_str());
      continue;
    }
    emu::fatal("argument %d of kernel %s holds a host address at byte %zu of %zu: %s (a kernel that dereferences it faults on a "
               "GPU; NEURALOP_CUDA_EMULATOR_HOST_POINTERS=warn or off if it is never dereferenced)",
               arg, emu::kernel_name(kernel).c_str(), off, bytes, emu::describe(p).c_str());
  }
}

}  // namespace

namespace neuralop_cuda_emulator {

bool is_device_pointer(const void* p) { return detail::in_arena(p); }

void submit_launch(const void* kernel, dim3 grid, dim3 block, std::size_t smem, cudaStream_t stream, std::unique_ptr<KernelCall> call,
                   const void* const* pointers, int n_pointers, const void* const* args, const std::size_t* arg_bytes, int n_args) {
  std::lock_guard g(detail::lock());
  const unsigned long long threads = 1ull * block.x * block.y * block.z;
  if (block.x == 0 || block.y == 0 || block.z == 0 || block.x > 1024 || block.y > 1024 || block.z > 64 || threads > 1024 ||
      grid.x == 0 || grid.y == 0 || grid.z == 0 || grid.x > 0x7fffffffu || grid.y > 65535 || grid.z > 65535) {
    error(cudaErrorInvalidConfiguration);
    return;
  }
  if (smem > (48u << 10)) {
    error(cudaErrorInvalidValue);
    return;
  }
  detail::Stream* s = detail::stream_of(stream);
  if (!s) {
    error(cudaErrorInvalidResourceHandle);
    return;
  }
  // A pointer argument the device cannot read would fault there (an illegal address).
  for (int i = 0; i < n_pointers; ++i) {
    const void* p = pointers[i];
    if (detail::in_arena(p) ? !detail::device_range(p, 0) : !detail::pinned_range(p, 0))
      detail::fatal("kernel %s was launched with a pointer argument the device cannot access: %s", detail::kernel_name(kernel).c_str(),
                    detail::describe(p).c_str());
  }
  for (int i = 0; i < n_args; ++i)
    if (args[i]) scan_argument(kernel, i, args[i], arg_bytes[i]);
  std::shared_ptr<KernelCall> c(std::move(call));
  detail::enqueue(s, "kernel", [kernel, grid, block, c] { detail::run_grid(kernel, grid, block, *c); });
}

}  // namespace neuralop_cuda_emulator
