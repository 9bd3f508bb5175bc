// The CUDA emulator's internals shared by its runtime, scheduler, cuBLAS, cuFFT and NCCL parts.
#pragma once

#include <cstdarg>
#include <cstdint>
#include <deque>
#include <memory>
#include <mutex>
#include <string>
#include <utility>
#include <vector>

#include "neuralop_cuda_emulator.h"

namespace neuralop_cuda_emulator::detail {

// Prints "neuralop CUDA emulator: <message>" and aborts: what a GPU would report as an illegal
// address, a hang or undefined results (a kernel fault, a divergent barrier, a race).
[[noreturn]] void fatal(const char* fmt, ...) __attribute__((format(printf, 1, 2)));

// All emulator state is guarded by one lock; emulated device work runs under it.
std::recursive_mutex& lock();

// Records e as the calling thread's last error (cudaGetLastError) unless it is cudaSuccess.
cudaError_t error(cudaError_t e);

// ---- memory
// The arena of device memory: [base, base + capacity), readable and writable only inside a
// DeviceScope.
bool in_arena(const void* p);
std::size_t arena_capacity();
// Whether [p, p + bytes) lies inside one live device allocation (bytes may be 0: p inside one).
bool device_range(const void* p, std::size_t bytes);
// Whether [p, p + bytes) lies inside one live pinned host allocation.
bool pinned_range(const void* p, std::size_t bytes);
// Device memory for the emulator's own use (cuFFT work areas): nullptr when the arena is full.
void* device_allocate(std::size_t bytes);
void device_deallocate(void* p);
// A readable description of where p is ("device allocation 0x.. + 24 of 4096 bytes", ...).
std::string describe(const void* p);

// While one lives, device memory is readable and writable (emulated device work runs inside).
class DeviceScope {
 public:
  DeviceScope();
  ~DeviceScope();
  DeviceScope(const DeviceScope&) = delete;
  DeviceScope& operator=(const DeviceScope&) = delete;
};
bool in_device_scope();

// ---- streams and their work
// A stream's queued operations run late: when the host synchronises with them (a synchronising
// call, a copy to pageable memory, an event or stream query), in stream order, after what they
// wait for (events, the legacy default stream's implicit barriers). NEURALOP_CUDA_EMULATOR_SYNC=1
// runs each at once instead.
struct Op {
  virtual ~Op() = default;
  virtual void run() = 0;
  virtual const char* what() const = 0;
};
template <class F>
struct FnOp final : Op {
  const char* name;
  F f;
  FnOp(const char* n, F&& fn) : name(n), f(std::move(fn)) {}
  void run() override { f(); }
  const char* what() const override { return name; }
};

// nullptr for an invalid stream handle (one never created, or destroyed).
struct Stream;
Stream* stream_of(cudaStream_t s);
// Queues op on s (checked by stream_of first).
void enqueue(Stream* s, std::unique_ptr<Op> op);
template <class F>
void enqueue(Stream* s, const char* what, F&& f) {
  enqueue(s, std::make_unique<FnOp<std::decay_t<F>>>(what, std::forward<F>(f)));
}
// Runs everything queued on s so far (and what it waits for); synchronize_all: on every stream.
void synchronize(Stream* s);
void synchronize_all();

// ---- kernels
std::string kernel_name(const void* kernel);
// Runs a grid (called inside a DeviceScope).
void run_grid(const void* kernel, dim3 grid, dim3 block, KernelCall& call);
// Whether emulated device code (a kernel thread) is running now, and which, for messages.
bool in_kernel();
std::string current_thread_description();

}  // namespace neuralop_cuda_emulator::detail
