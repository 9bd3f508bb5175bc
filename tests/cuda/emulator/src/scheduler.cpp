// The CUDA emulator's grid runner: blocks one after another; a block's threads run on one fiber,
// one after another, until one of them reaches a barrier (__syncthreads, a warp shuffle,
// __syncwarp). From then on each remaining thread gets a fiber of its own and a scheduler
// interleaves them: a block barrier releases when every thread of the block has reached it, a
// warp-level operation when every lane its mask names has reached it (shuffles then exchange
// their values). A barrier that cannot complete (some threads returned, or wait elsewhere) is a
// divergent barrier: a hang or undefined behaviour on a GPU, an error naming the kernel here.
#include <sys/mman.h>

#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

// x86-64: a context switch of our own (a few instructions); elsewhere, or with
// NEURALOP_EMU_UCONTEXT, ucontext's swapcontext (correct, slower: it saves the signal mask).
#if defined(__x86_64__) && !defined(NEURALOP_EMU_UCONTEXT)
#define NEURALOP_EMU_ASM_SWITCH 1
#else
#include <ucontext.h>
#endif

#include "internal.hpp"

namespace neuralop_cuda_emulator::detail {
namespace {

// ------------------------------------------------------------------ fibers
constexpr std::size_t stack_bytes = 256 << 10;
constexpr std::size_t guard_bytes = 4096;

struct Fiber {
  char* mem = nullptr;  // guard page, then the stack
#if defined(NEURALOP_EMU_ASM_SWITCH)
  void* sp = nullptr;
#else
  ucontext_t ctx{};
#endif
  int tid = 0;              // the thread it runs
  bool sequential = false;  // runs threads tid, tid + 1, ... of the block in turn until one waits
  bool fresh = false;       // (ucontext) not started yet
};

void fiber_main(Fiber* f);

#if defined(NEURALOP_EMU_ASM_SWITCH)
// switch(save, to): saves the callee-saved registers and the floating-point control words on the
// current stack, stores its pointer in *save, and continues on the stack `to`.
extern "C" void neuralop_emu_switch(void** save, void* to);
extern "C" void neuralop_emu_fiber_start();
asm(R"(
  .pushsection .text
  .globl neuralop_emu_switch
  .type neuralop_emu_switch, @function
neuralop_emu_switch:
  pushq %rbp
  pushq %rbx
  pushq %r12
  pushq %r13
  pushq %r14
  pushq %r15
  subq $16, %rsp
  stmxcsr 8(%rsp)
  fnstcw (%rsp)
  movq %rsp, (%rdi)
  movq %rsi, %rsp
  fldcw (%rsp)
  ldmxcsr 8(%rsp)
  addq $16, %rsp
  popq %r15
  popq %r14
  popq %r13
  popq %r12
  popq %rbx
  popq %rbp
  ret
  .size neuralop_emu_switch, .-neuralop_emu_switch

  .globl neuralop_emu_fiber_start
  .type neuralop_emu_fiber_start, @function
neuralop_emu_fiber_start:
  movq %r12, %rdi
  callq *%r13
  ud2
  .size neuralop_emu_fiber_start, .-neuralop_emu_fiber_start
  .popsection
)");
void* scheduler_sp = nullptr;
#else
ucontext_t scheduler_ctx;
void* starting_fiber = nullptr;  // makecontext passes ints: the new fiber's pointer goes here
void fiber_start() { fiber_main(static_cast<Fiber*>(starting_fiber)); }
#endif

Fiber* new_fiber() {
  auto* f = new Fiber();
  void* m = mmap(nullptr, stack_bytes + guard_bytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
  if (m == MAP_FAILED) fatal("cannot map a fiber stack");
  f->mem = static_cast<char*>(m);
  mprotect(f->mem, guard_bytes, PROT_NONE);
#if defined(NEURALOP_EMU_ASM_SWITCH)
  // The frame neuralop_emu_switch pops: control words, r15, r14, r13 (entry), r12 (argument),
  // rbx, rbp, return address (the trampoline); the trampoline starts on a 16-byte aligned stack.
  auto* top = reinterpret_cast<std::uint64_t*>(f->mem + guard_bytes + stack_bytes);
  std::uint64_t* sp = top - 9;
  unsigned mxcsr = 0;
  unsigned short fpucw = 0;
  asm volatile("stmxcsr %0" : "=m"(mxcsr));
  asm volatile("fnstcw %0" : "=m"(fpucw));
  sp[0] = fpucw;
  sp[1] = mxcsr;
  sp[2] = 0;                                                  // r15
  sp[3] = 0;                                                  // r14
  sp[4] = reinterpret_cast<std::uint64_t>(&fiber_main);       // r13
  sp[5] = reinterpret_cast<std::uint64_t>(f);                 // r12
  sp[6] = 0;                                                  // rbx
  sp[7] = 0;                                                  // rbp
  sp[8] = reinterpret_cast<std::uint64_t>(&neuralop_emu_fiber_start);
  f->sp = sp;
#else
  getcontext(&f->ctx);
  f->ctx.uc_stack.ss_sp = f->mem + guard_bytes;
  f->ctx.uc_stack.ss_size = stack_bytes;
  f->ctx.uc_link = nullptr;
  makecontext(&f->ctx, &fiber_start, 0);
  f->fresh = true;
#endif
  return f;
}

// ------------------------------------------------------------------ the block being run
enum class State { ready, block_barrier, warp_barrier, done };
enum class WarpOp { shuffle, syncwarp };

struct Thread {
  State state = State::ready;
  Fiber* fiber = nullptr;
  WarpOp op = WarpOp::shuffle;
  Shfl kind = Shfl::idx;
  unsigned mask = 0;
  unsigned long long value = 0, result = 0;
  int arg = 0, width = 32;
};

// NEURALOP_CUDA_EMULATOR_ORDER=reverse: blocks, and threads within a block, in the other order
// (another valid schedule: results that depend on it reveal a race).
bool reverse_order() {
  static const bool r = [] {
    const char* v = std::getenv("NEURALOP_CUDA_EMULATOR_ORDER");
    return v && std::string(v) == "reverse";
  }();
  return r;
}

struct Run {
  bool active = false;
  const void* kernel = nullptr;
  KernelCall* call = nullptr;
  dim3 grid, block;
  int n = 0;                       // threads per block
  std::vector<Thread> threads;
  Fiber* current = nullptr;        // the fiber running now
  std::vector<Fiber*> all, idle;   // the pool
} R;

void set_thread(int tid) {
  threadIdx.x = unsigned(tid) % R.block.x;
  threadIdx.y = (unsigned(tid) / R.block.x) % R.block.y;
  threadIdx.z = unsigned(tid) / (R.block.x * R.block.y);
}

Fiber* take() {
  if (R.idle.empty()) {
    R.all.push_back(new_fiber());
    return R.all.back();
  }
  Fiber* f = R.idle.back();
  R.idle.pop_back();
  return f;
}

void resume(Fiber* f) {
  R.current = f;
  set_thread(f->tid);
#if defined(NEURALOP_EMU_ASM_SWITCH)
  neuralop_emu_switch(&scheduler_sp, f->sp);
#else
  if (f->fresh) {
    f->fresh = false;
    starting_fiber = f;
  }
  swapcontext(&scheduler_ctx, &f->ctx);
#endif
  R.current = nullptr;
}

void yield() {
  Fiber* f = R.current;
#if defined(NEURALOP_EMU_ASM_SWITCH)
  neuralop_emu_switch(&f->sp, scheduler_sp);
#else
  swapcontext(&f->ctx, &scheduler_ctx);
#endif
}

void fiber_main(Fiber* f) {
  for (;;) {
    if (f->sequential) {
      for (;;) {
        const int tid = f->tid;
        set_thread(tid);
        R.call->run_thread();
        if (!f->sequential) break;  // it waited at a barrier: the scheduler runs the rest
        R.threads[std::size_t(tid)].state = State::done;
        const int next = reverse_order() ? tid - 1 : tid + 1;
        if (next < 0 || next >= R.n) break;
        f->tid = next;
      }
    } else {
      R.call->run_thread();
    }
    R.threads[std::size_t(f->tid)].state = State::done;
    yield();
  }
}

std::string dims(dim3 d) { return "(" + std::to_string(d.x) + ", " + std::to_string(d.y) + ", " + std::to_string(d.z) + ")"; }
std::string where() {
  return "kernel " + kernel_name(R.kernel) + ", grid " + dims(R.grid) + ", block " + dims(R.block) + ", in block " +
         dims(dim3(blockIdx.x, blockIdx.y, blockIdx.z));
}

Thread& arrive(const char* what) {
  if (!R.active || !R.current) fatal("%s called outside emulated device code", what);
  return R.threads[std::size_t(R.current->tid)];
}

// ------------------------------------------------------------------ barriers
const char* state_name(State s) {
  switch (s) {
    case State::ready: return "running";
    case State::block_barrier: return "waiting at __syncthreads";
    case State::warp_barrier: return "waiting at a warp-level operation";
    default: return "returned";
  }
}

void complete_warp_op(int warp, const std::vector<int>& lanes) {
  const Thread& first = R.threads[std::size_t(lanes[0])];
  for (int t : lanes) {
    const Thread& th = R.threads[std::size_t(t)];
    if (th.mask != first.mask || th.op != first.op || (th.op == WarpOp::shuffle && (th.kind != first.kind || th.width != first.width)))
      fatal("%s: the lanes of warp %d wait at different warp-level operations (masks 0x%08x and 0x%08x): divergent warp code",
            where().c_str(), warp, first.mask, th.mask);
  }
  const unsigned mask = first.mask;
  for (int t : lanes)
    if (!(mask >> (t % 32) & 1u))
      fatal("%s: thread %d takes part in a warp-level operation whose mask 0x%08x does not name its lane", where().c_str(), t, mask);
  for (int b = 0; b < 32; ++b) {
    if (!(mask >> b & 1u)) continue;
    const int t = warp * 32 + b;
    if (t >= R.n)
      fatal("%s: a warp-level operation's mask 0x%08x names lane %d of warp %d, which does not exist (blocks of %d threads)",
            where().c_str(), mask, b, warp, R.n);
    if (R.threads[std::size_t(t)].state != State::warp_barrier)
      fatal("%s: lane %d of warp %d is named in the mask 0x%08x of a warp-level operation but is %s: divergent warp code (a hang or "
            "undefined values on a GPU)",
            where().c_str(), b, warp, mask, state_name(R.threads[std::size_t(t)].state));
  }
  if (first.op == WarpOp::shuffle) {
    const int w = first.width;
    if (w < 1 || w > 32 || (w & (w - 1)) != 0) fatal("%s: a warp shuffle of width %d (a power of two up to 32)", where().c_str(), w);
    for (int t : lanes) {
      Thread& th = R.threads[std::size_t(t)];
      const int l = t % 32, seg = l & ~(w - 1);
      int src = l;
      switch (th.kind) {
        case Shfl::idx: src = seg + (((th.arg % w) + w) % w); break;
        case Shfl::up: src = (l - seg) - th.arg >= 0 ? l - th.arg : l; break;
        case Shfl::down: src = (l - seg) + th.arg < w ? l + th.arg : l; break;
        case Shfl::bfly: src = (l ^ th.arg) < seg + w ? (l ^ th.arg) : l; break;
      }
      if (src < 0 || src > 31 || !(mask >> src & 1u))
        fatal("%s: lane %d shuffles from lane %d, which is not in the mask 0x%08x (an undefined value)", where().c_str(), l, src, mask);
      th.result = R.threads[std::size_t(warp * 32 + src)].value;
    }
  }
  for (int t : lanes) R.threads[std::size_t(t)].state = State::ready;
}

// After a pass in which every thread ran until it waited or returned: release what can be.
// Returns false when every thread has returned.
bool release() {
  int done = 0, at_block = 0;
  for (const Thread& t : R.threads) {
    done += t.state == State::done;
    at_block += t.state == State::block_barrier;
  }
  if (done == R.n) return false;
  bool progress = false;
  const int warps = (R.n + 31) / 32;
  std::vector<int> lanes;
  for (int w = 0; w < warps; ++w) {
    lanes.clear();
    for (int t = w * 32; t < std::min(R.n, w * 32 + 32); ++t)
      if (R.threads[std::size_t(t)].state == State::warp_barrier) lanes.push_back(t);
    if (lanes.empty()) continue;
    complete_warp_op(w, lanes);
    progress = true;
  }
  if (progress) return true;
  if (at_block + done == R.n) {
    if (done > 0) {
      int first_done = 0;
      while (R.threads[std::size_t(first_done)].state != State::done) ++first_done;
      fatal("%s: __syncthreads reached by %d of the block's %d threads; the others (thread %d first) had returned: a barrier in "
            "divergent code (a hang or undefined behaviour on a GPU)",
            where().c_str(), at_block, R.n, first_done);
    }
    for (Thread& t : R.threads) t.state = State::ready;
    return true;
  }
  fatal("%s: no thread of the block can continue", where().c_str());
}

void run_block() {
  R.threads.assign(std::size_t(R.n), Thread{});
  const bool rev = reverse_order();
  Fiber* runner = take();
  runner->sequential = true;
  runner->tid = rev ? R.n - 1 : 0;
  R.threads[std::size_t(runner->tid)].fiber = runner;
  resume(runner);
  if (R.threads[std::size_t(runner->tid)].state == State::done) {  // the whole block ran without a barrier
    runner->sequential = false;
    R.idle.push_back(runner);
    return;
  }
  // The runner waits at a barrier as thread runner->tid; the threads run before it have returned.
  runner->sequential = false;
  R.threads[std::size_t(runner->tid)].fiber = runner;
  for (int t = rev ? 0 : runner->tid + 1; t < (rev ? runner->tid : R.n); ++t) {
    Fiber* f = take();
    f->tid = t;
    R.threads[std::size_t(t)].fiber = f;
  }
  do {
    for (int i = 0; i < R.n; ++i) {
      const int t = rev ? R.n - 1 - i : i;
      Thread& th = R.threads[std::size_t(t)];
      if (th.state != State::ready) continue;
      resume(th.fiber);
      if (th.state == State::done) {
        R.idle.push_back(th.fiber);
        th.fiber = nullptr;
      }
    }
  } while (release());
}

}  // namespace

void run_grid(const void* kernel, dim3 grid, dim3 block, KernelCall& call) {
  if (R.active) fatal("a kernel launch inside emulated device code");
  R.active = true;
  R.kernel = kernel;
  R.call = &call;
  R.grid = grid;
  R.block = block;
  R.n = int(block.x * block.y * block.z);
  gridDim = grid;
  blockDim = block;
  const unsigned long long blocks = 1ull * grid.x * grid.y * grid.z;
  for (unsigned long long i = 0; i < blocks; ++i) {
    const unsigned long long b = reverse_order() ? blocks - 1 - i : i;
    blockIdx = uint3{unsigned(b % grid.x), unsigned(b / grid.x % grid.y), unsigned(b / (1ull * grid.x * grid.y))};
    run_block();
  }
  R.active = false;
  R.call = nullptr;
}

bool in_kernel() { return R.active && R.current; }

std::string current_thread_description() {
  if (!R.active) return "not in a kernel";
  return where() + ", thread " + dims(dim3(threadIdx.x, threadIdx.y, threadIdx.z));
}

}  // namespace neuralop_cuda_emulator::detail

namespace neuralop_cuda_emulator {

void syncthreads() {
  detail::Thread& t = detail::arrive("__syncthreads");
  t.state = detail::State::block_barrier;
  detail::yield();
}

void syncwarp(unsigned mask) {
  detail::Thread& t = detail::arrive("__syncwarp");
  t.state = detail::State::warp_barrier;
  t.op = detail::WarpOp::syncwarp;
  t.mask = mask;
  detail::yield();
}

unsigned long long shuffle_bits(Shfl kind, unsigned mask, unsigned long long bits, int arg, int width) {
  detail::Thread& t = detail::arrive("__shfl_*_sync");
  t.state = detail::State::warp_barrier;
  t.op = detail::WarpOp::shuffle;
  t.kind = kind;
  t.mask = mask;
  t.value = bits;
  t.arg = arg;
  t.width = width;
  detail::yield();
  return detail::R.threads[std::size_t(detail::R.current->tid)].result;
}

}  // namespace neuralop_cuda_emulator
