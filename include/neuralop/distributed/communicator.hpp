// Communicator: a typed view of an MPI communicator (not owned): rank, size, barrier, broadcast
// and allreduce of scalars and buffers.
#pragma once

#include "neuralop/distributed/mpi.hpp"

#include <algorithm>
#include <climits>
#include <complex>
#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <type_traits>

#include "neuralop/core/error.hpp"

namespace neuralop::distributed {

enum class ReduceOp { sum, min, max };

namespace detail {

inline void check_mpi(int rc, const char* what) {
  if (rc == MPI_SUCCESS) return;
  char msg[MPI_MAX_ERROR_STRING];
  int len = 0;
  MPI_Error_string(rc, msg, &len);
  throw_error<value_error>(what, " failed: ", std::string(msg, static_cast<std::size_t>(len)));
}

template <class T>
MPI_Datatype mpi_type() {
  if constexpr (std::is_same_v<T, float>) return MPI_FLOAT;
  else if constexpr (std::is_same_v<T, double>) return MPI_DOUBLE;
  else if constexpr (std::is_same_v<T, std::complex<float>>) return MPI_C_FLOAT_COMPLEX;
  else if constexpr (std::is_same_v<T, std::complex<double>>) return MPI_C_DOUBLE_COMPLEX;
  else if constexpr (std::is_same_v<T, std::int32_t>) return MPI_INT32_T;
  else if constexpr (std::is_same_v<T, std::int64_t>) return MPI_INT64_T;
  else if constexpr (std::is_same_v<T, std::uint8_t>) return MPI_UINT8_T;
  else if constexpr (std::is_same_v<T, std::uint64_t>) return MPI_UINT64_T;
  else if constexpr (std::is_same_v<T, std::byte>) return MPI_BYTE;
  else static_assert(sizeof(T) == 0, "neuralop::distributed: no MPI datatype for this type");
}

inline MPI_Op mpi_op(ReduceOp op) {
  switch (op) {
    case ReduceOp::min: return MPI_MIN;
    case ReduceOp::max: return MPI_MAX;
    default: return MPI_SUM;
  }
}

// MPI counts are int: buffers are moved in chunks of at most 2^30 elements.
inline constexpr std::size_t max_chunk = std::size_t{1} << 30;

}  // namespace detail

class Communicator {
 public:
  Communicator() : comm_(MPI_COMM_WORLD) {}
  // A communicator the caller owns and keeps alive (a solver's sub-communicator, say).
  explicit Communicator(MPI_Comm comm) : comm_(comm) {}

  MPI_Comm native() const { return comm_; }
  int rank() const {
    int r = 0;
    detail::check_mpi(MPI_Comm_rank(comm_, &r), "MPI_Comm_rank");
    return r;
  }
  int size() const {
    int s = 0;
    detail::check_mpi(MPI_Comm_size(comm_, &s), "MPI_Comm_size");
    return s;
  }
  bool is_root() const { return rank() == 0; }
  void barrier() const { detail::check_mpi(MPI_Barrier(comm_), "MPI_Barrier"); }

  // data on every rank = data on `root`.
  template <class T>
  void broadcast(std::span<T> data, int root = 0) const {
    for (std::size_t i = 0; i < data.size(); i += detail::max_chunk) {
      const auto n = static_cast<int>(std::min(detail::max_chunk, data.size() - i));
      detail::check_mpi(MPI_Bcast(data.data() + i, n, detail::mpi_type<T>(), root, comm_), "MPI_Bcast");
    }
  }
  template <class T>
    requires std::is_trivially_copyable_v<T>
  T broadcast(T value, int root = 0) const {
    broadcast(std::span<std::byte>(reinterpret_cast<std::byte*>(&value), sizeof(T)), root);
    return value;
  }

  // data[i] = op over the ranks of data[i], on every rank (in place).
  template <class T>
  void allreduce(std::span<T> data, ReduceOp op = ReduceOp::sum) const {
    for (std::size_t i = 0; i < data.size(); i += detail::max_chunk) {
      const auto n = static_cast<int>(std::min(detail::max_chunk, data.size() - i));
      detail::check_mpi(MPI_Allreduce(MPI_IN_PLACE, data.data() + i, n, detail::mpi_type<T>(), detail::mpi_op(op), comm_),
                        "MPI_Allreduce");
    }
  }
  template <class T>
  T allreduce(T value, ReduceOp op = ReduceOp::sum) const {
    allreduce(std::span<T>(&value, 1), op);
    return value;
  }

 private:
  MPI_Comm comm_;
};

}  // namespace neuralop::distributed
