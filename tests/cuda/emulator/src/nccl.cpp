// The CUDA emulator's NCCL: a communicator is an MPI communicator over all ranks of
// MPI_COMM_WORLD (ordered by NCCL rank); a collective runs when it is issued (or at
// ncclGroupEnd), after the work its stream waits for, through host staging buffers and MPI, and
// the stream's later work runs after it. (A GPU runs it later, in stream order, while the host
// goes on; running it at once keeps the ranks' emulated device work from waiting on each other's
// host progress.) Checked: the unique id is the same on every rank, buffers lie in device
// memory, types and operations are NCCL's; not emulated: half and 8-bit float types, ncclAvg of
// integers (floor of the mean), communicators over part of the MPI ranks.
#define OMPI_SKIP_MPICXX 1  // the C API only (Open MPI's C++ bindings do not build warning-free)
#define MPICH_SKIP_MPICXX 1
#include <mpi.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <functional>
#include <set>
#include <vector>

#include "internal.hpp"
#include "nccl.h"

namespace emu = neuralop_cuda_emulator::detail;

struct ncclComm {
  MPI_Comm comm = MPI_COMM_NULL;
  int rank = 0, size = 1;
};

namespace {

std::set<ncclComm*>& comms() {
  static auto* s = new std::set<ncclComm*>();
  return *s;
}
bool valid(ncclComm_t c) { return c && comms().count(c); }

int group_depth = 0;
std::vector<std::function<void()>>& group_ops() {
  static auto* v = new std::vector<std::function<void()>>();
  return *v;
}

bool mpi_type(ncclDataType_t t, MPI_Datatype& m, std::size_t& bytes) {
  switch (t) {
    case ncclInt8: m = MPI_INT8_T; bytes = 1; return true;
    case ncclUint8: m = MPI_UINT8_T; bytes = 1; return true;
    case ncclInt32: m = MPI_INT32_T; bytes = 4; return true;
    case ncclUint32: m = MPI_UINT32_T; bytes = 4; return true;
    case ncclInt64: m = MPI_INT64_T; bytes = 8; return true;
    case ncclUint64: m = MPI_UINT64_T; bytes = 8; return true;
    case ncclFloat32: m = MPI_FLOAT; bytes = 4; return true;
    case ncclFloat64: m = MPI_DOUBLE; bytes = 8; return true;
    default: return false;  // half, bfloat16, fp8: not emulated
  }
}

template <class T>
void divide(void* p, std::size_t n, int by) {
  auto* v = static_cast<T*>(p);
  for (std::size_t i = 0; i < n; ++i) v[i] = static_cast<T>(v[i] / static_cast<T>(by));
}
void average(ncclDataType_t t, void* p, std::size_t n, int by) {
  switch (t) {
    case ncclInt8: divide<std::int8_t>(p, n, by); break;
    case ncclUint8: divide<std::uint8_t>(p, n, by); break;
    case ncclInt32: divide<std::int32_t>(p, n, by); break;
    case ncclUint32: divide<std::uint32_t>(p, n, by); break;
    case ncclInt64: divide<std::int64_t>(p, n, by); break;
    case ncclUint64: divide<std::uint64_t>(p, n, by); break;
    case ncclFloat32: divide<float>(p, n, by); break;
    case ncclFloat64: divide<double>(p, n, by); break;
    default: break;
  }
}

void check_buffer(const char* fn, const char* what, const void* p, std::size_t bytes) {
  if (!emu::device_range(p, bytes))
    emu::fatal("%s: %s (%zu bytes from %s) is not inside one device allocation (an illegal address on a GPU)", fn, what, bytes,
               emu::describe(p).c_str());
}

// Runs op now (in a group: at ncclGroupEnd) after the work queued on `stream` so far.
ncclResult_t issue(emu::Stream* s, std::function<void()> op) {
  auto run = [s, op = std::move(op)] {
    emu::synchronize(s);
    emu::DeviceScope scope;
    op();
  };
  if (group_depth > 0) group_ops().push_back(std::move(run));
  else run();
  return ncclSuccess;
}

}  // namespace

ncclResult_t ncclGetVersion(int* version) {
  if (!version) return ncclInvalidArgument;
  *version = NCCL_VERSION_CODE;
  return ncclSuccess;
}

ncclResult_t ncclGetUniqueId(ncclUniqueId* id) {
  if (!id) return ncclInvalidArgument;
  *id = ncclUniqueId{};
  const long long t = std::chrono::steady_clock::now().time_since_epoch().count();
  std::snprintf(id->internal, sizeof id->internal, "neuralop-cuda-emulator %d %lld", int(getpid()), t);
  return ncclSuccess;
}

ncclResult_t ncclCommInitRank(ncclComm_t* comm, int nranks, ncclUniqueId id, int rank) {
  std::lock_guard g(emu::lock());
  if (!comm) return ncclInvalidArgument;
  int init = 0;
  MPI_Initialized(&init);
  if (!init) {
    std::fprintf(stderr, "neuralop CUDA emulator: ncclCommInitRank: the emulated NCCL runs over MPI, which is not initialised\n");
    return ncclInvalidUsage;
  }
  int world = 0;
  MPI_Comm_size(MPI_COMM_WORLD, &world);
  if (nranks != world) {
    std::fprintf(stderr, "neuralop CUDA emulator: ncclCommInitRank: %d ranks; the emulated NCCL makes communicators over all %d MPI ranks\n",
                 nranks, world);
    return ncclInvalidUsage;
  }
  if (rank < 0 || rank >= nranks) return ncclInvalidArgument;
  ncclComm c;
  MPI_Comm_split(MPI_COMM_WORLD, 0, rank, &c.comm);
  MPI_Comm_rank(c.comm, &c.rank);
  MPI_Comm_size(c.comm, &c.size);
  // Every rank must have been given the same id (the root's, passed around by the program).
  std::vector<char> ids(std::size_t(c.size) * NCCL_UNIQUE_ID_BYTES);
  MPI_Allgather(id.internal, NCCL_UNIQUE_ID_BYTES, MPI_CHAR, ids.data(), NCCL_UNIQUE_ID_BYTES, MPI_CHAR, c.comm);
  for (int r = 1; r < c.size; ++r)
    if (std::memcmp(ids.data(), ids.data() + std::size_t(r) * NCCL_UNIQUE_ID_BYTES, NCCL_UNIQUE_ID_BYTES) != 0) {
      std::fprintf(stderr, "neuralop CUDA emulator: ncclCommInitRank: rank %d was given another unique id than rank 0\n", r);
      MPI_Comm_free(&c.comm);
      return ncclInvalidUsage;
    }
  *comm = new ncclComm(c);
  comms().insert(*comm);
  return ncclSuccess;
}

ncclResult_t ncclCommDestroy(ncclComm_t comm) {
  std::lock_guard g(emu::lock());
  if (!valid(comm)) return ncclInvalidArgument;
  int finalized = 0;
  MPI_Finalized(&finalized);
  if (!finalized) MPI_Comm_free(&comm->comm);
  comms().erase(comm);
  delete comm;
  return ncclSuccess;
}
ncclResult_t ncclCommAbort(ncclComm_t comm) { return ncclCommDestroy(comm); }
ncclResult_t ncclCommCount(const ncclComm_t comm, int* count) {
  if (!valid(comm) || !count) return ncclInvalidArgument;
  *count = comm->size;
  return ncclSuccess;
}
ncclResult_t ncclCommUserRank(const ncclComm_t comm, int* rank) {
  if (!valid(comm) || !rank) return ncclInvalidArgument;
  *rank = comm->rank;
  return ncclSuccess;
}
ncclResult_t ncclCommCuDevice(const ncclComm_t comm, int* device) {
  if (!valid(comm) || !device) return ncclInvalidArgument;
  return cudaGetDevice(device) == cudaSuccess ? ncclSuccess : ncclUnhandledCudaError;
}

ncclResult_t ncclAllReduce(const void* sendbuff, void* recvbuff, std::size_t count, ncclDataType_t datatype, ncclRedOp_t op,
                           ncclComm_t comm, cudaStream_t stream) {
  std::lock_guard g(emu::lock());
  MPI_Datatype mt;
  std::size_t elem = 0;
  if (!valid(comm) || !mpi_type(datatype, mt, elem) || op < ncclSum || op > ncclAvg) return ncclInvalidArgument;
  emu::Stream* s = emu::stream_of(stream);
  if (!s) return ncclInvalidArgument;
  if (count == 0) return ncclSuccess;
  const std::size_t bytes = count * elem;
  check_buffer("ncclAllReduce", "sendbuff", sendbuff, bytes);
  check_buffer("ncclAllReduce", "recvbuff", recvbuff, bytes);
  return issue(s, [=] {
    std::vector<unsigned char> buf(bytes);
    std::memcpy(buf.data(), sendbuff, bytes);
    const MPI_Op mop = op == ncclProd ? MPI_PROD : op == ncclMax ? MPI_MAX : op == ncclMin ? MPI_MIN : MPI_SUM;
    MPI_Allreduce(MPI_IN_PLACE, buf.data(), int(count), mt, mop, comm->comm);
    if (op == ncclAvg) average(datatype, buf.data(), count, comm->size);
    std::memcpy(recvbuff, buf.data(), bytes);
  });
}

ncclResult_t ncclBroadcast(const void* sendbuff, void* recvbuff, std::size_t count, ncclDataType_t datatype, int root,
                           ncclComm_t comm, cudaStream_t stream) {
  std::lock_guard g(emu::lock());
  MPI_Datatype mt;
  std::size_t elem = 0;
  if (!valid(comm) || !mpi_type(datatype, mt, elem) || root < 0 || root >= comm->size) return ncclInvalidArgument;
  emu::Stream* s = emu::stream_of(stream);
  if (!s) return ncclInvalidArgument;
  if (count == 0) return ncclSuccess;
  const std::size_t bytes = count * elem;
  if (comm->rank == root) check_buffer("ncclBroadcast", "sendbuff", sendbuff, bytes);
  check_buffer("ncclBroadcast", "recvbuff", recvbuff, bytes);
  const bool is_root = comm->rank == root;
  return issue(s, [=] {
    std::vector<unsigned char> buf(bytes);
    if (is_root) std::memcpy(buf.data(), sendbuff, bytes);
    MPI_Bcast(buf.data(), int(bytes), MPI_BYTE, root, comm->comm);
    std::memcpy(recvbuff, buf.data(), bytes);
  });
}

ncclResult_t ncclGroupStart() {
  std::lock_guard g(emu::lock());
  ++group_depth;
  return ncclSuccess;
}
ncclResult_t ncclGroupEnd() {
  std::lock_guard g(emu::lock());
  if (group_depth == 0) return ncclInvalidUsage;
  if (--group_depth > 0) return ncclSuccess;
  std::vector<std::function<void()>> ops;
  ops.swap(group_ops());
  for (auto& op : ops) op();
  return ncclSuccess;
}

const char* ncclGetErrorString(ncclResult_t r) {
  switch (r) {
    case ncclSuccess: return "no error";
    case ncclUnhandledCudaError: return "unhandled cuda error (run with NCCL_DEBUG=INFO for details)";
    case ncclSystemError: return "unhandled system error (run with NCCL_DEBUG=INFO for details)";
    case ncclInternalError: return "internal error - please report this issue to the NCCL developers";
    case ncclInvalidArgument: return "invalid argument (run with NCCL_DEBUG=WARN for details)";
    case ncclInvalidUsage: return "invalid usage (run with NCCL_DEBUG=WARN for details)";
    case ncclRemoteError: return "remote process exited or there was a network error";
    case ncclInProgress: return "NCCL operation in progress";
    default: return "unknown result code";
  }
}
