// RawTensor: an array as a file holds it (any file dtype, any rank, strided view into a shared
// byte storage), and its checked conversion to and from neuralop::Tensor.
#pragma once

#include <algorithm>
#include <cstring>
#include <span>
#include <string>
#include <vector>

#include "neuralop/core/shape.hpp"
#include "neuralop/io/bytes.hpp"
#include "neuralop/io/dtype.hpp"
#include "neuralop/tensor/tensor.hpp"

namespace neuralop::io {

class RawTensor {
 public:
  DType dtype = DType::float32;
  std::vector<index_t> shape;    // row-major order of axes, as in PyTorch
  std::vector<index_t> strides;  // in elements
  index_t offset = 0;            // in elements, into storage
  Bytes storage;                 // shared by tensors that share a storage in the file

  RawTensor() = default;
  // A contiguous tensor over the given bytes (numel * itemsize of them).
  RawTensor(DType d, std::vector<index_t> shp, Bytes data)
      : dtype(d), shape(std::move(shp)), strides(contiguous(shape)), storage(std::move(data)) {}

  std::size_t rank() const { return shape.size(); }
  index_t numel() const {
    index_t n = 1;
    for (auto s : shape) n *= s;
    return n;
  }
  std::size_t nbytes() const { return static_cast<std::size_t>(numel()) * itemsize(dtype); }
  static std::vector<index_t> contiguous(const std::vector<index_t>& shape) {
    std::vector<index_t> st(shape.size());
    index_t acc = 1;
    for (std::size_t i = shape.size(); i-- > 0;) {
      st[i] = acc;
      acc *= std::max<index_t>(shape[i], 1);  // an empty axis gets the strides torch and NumPy give it
    }
    return st;
  }
  bool is_contiguous() const {
    if (numel() <= 1) return true;
    index_t acc = 1;
    for (std::size_t i = shape.size(); i-- > 0;) {
      if (shape[i] != 1 && strides[i] != acc) return false;
      acc *= shape[i];
    }
    return true;
  }
  // "float32 [1000, 16, 16]"
  std::string describe() const { return std::string(name(dtype)) + " tensor " + format_shape(shape); }

  // Checks what a file claimed: sizes, strides and offset stay inside the storage (no overflow),
  // so that every later read is in bounds. `where` names the file and the entry.
  void validate(const std::string& where) const {
    if (strides.size() != shape.size())
      throw_error<io_error>(where, ": ", shape.size(), " sizes but ", strides.size(), " strides");
    if (offset < 0) throw_error<io_error>(where, ": negative storage offset ", offset);
    const auto cap = static_cast<index_t>(storage.size() / itemsize(dtype));
    index_t last = offset, n = 1;
    constexpr index_t limit = index_t(1) << 52;
    for (std::size_t i = 0; i < shape.size(); ++i) {
      if (shape[i] < 0 || shape[i] > limit) throw_error<io_error>(where, ": bad size ", shape[i], " at axis ", i);
      if (strides[i] < 0 || strides[i] > limit) throw_error<io_error>(where, ": bad stride ", strides[i], " at axis ", i);
      n = shape[i] == 0 ? 0 : (n > limit / shape[i] ? limit + 1 : n * shape[i]);
      if (n > limit) throw_error<io_error>(where, ": shape ", format_shape(shape), " is too large");
    }
    if (n == 0) return;
    for (std::size_t i = 0; i < shape.size(); ++i) {
      if (strides[i] != 0 && shape[i] - 1 > (limit - last) / strides[i])
        throw_error<io_error>(where, ": strides ", format_shape(strides), " overflow");
      last += (shape[i] - 1) * strides[i];
    }
    if (last >= cap)
      throw_error<io_error>(where, ": ", describe(), " with offset ", offset, " and strides ", format_shape(strides),
                            " reaches element ", last, " of a storage of ", cap, " ", name(dtype), " elements");
  }

  // Visits every element in row-major order: f(const S& element), S the file's element type.
  template <class F>
  void for_each(F&& f) const {
    visit_dtype(dtype, [&]<class S>() { for_each_as<S>(f); });
  }
  // The same with S known to be the C++ type of dtype.
  template <class S, class F>
  void for_each_as(F&& f) const {
    const std::byte* base = storage.data() + static_cast<std::size_t>(offset) * sizeof(S);
    const std::size_t r = shape.size();
    const index_t n = numel();
    if (n == 0) return;
    const auto load = [base](index_t i) {
      if constexpr (std::is_same_v<S, bool>) {  // a file's bool byte may be any value: nonzero is true
        return std::to_integer<unsigned>(base[i]) != 0;
      } else {
        S v;
        std::memcpy(&v, base + static_cast<std::size_t>(i) * sizeof(S), sizeof(S));
        return v;
      }
    };
    if (is_contiguous()) {
      for (index_t i = 0; i < n; ++i) f(load(i));
      return;
    }
    // Odometer over all axes but the last; the last axis is the inner loop.
    std::vector<index_t> idx(r, 0);
    const index_t inner = shape[r - 1], inner_stride = strides[r - 1];
    index_t pos = 0;
    for (index_t o = 0, outer = n / inner; o < outer; ++o) {
      for (index_t i = 0; i < inner; ++i) f(load(pos + i * inner_stride));
      for (std::size_t ax = r - 1; ax-- > 0;) {
        pos += strides[ax];
        if (++idx[ax] < shape[ax]) break;
        pos -= strides[ax] * shape[ax];
        idx[ax] = 0;
      }
    }
  }

  // The elements in row-major order converted to U (bool 0/1; complex to real is refused).
  template <FileScalar U>
  void copy_to(U* dst, const std::string& where = "tensor") const {
    if (is_complex_dtype(dtype) && !is_complex_v<U>)
      throw_error<io_error>(where, ": cannot convert a ", name(dtype), " tensor to ", name(dtype_of<U>),
                            " (that would drop the imaginary part)");
    if (dtype == dtype_of<U> && !std::is_same_v<U, bool> && is_contiguous()) {
      std::memcpy(dst, storage.data() + static_cast<std::size_t>(offset) * sizeof(U), nbytes());
      return;
    }
    visit_dtype(dtype, [&]<class S>() {
      if constexpr (is_complex_v<S> && !is_complex_v<U>) {
        return;  // refused above
      } else {
        U* p = dst;
        for_each_as<S>([&](const S& v) { *p++ = convert_element<U>(v); });
      }
    });
  }
  template <FileScalar U>
  std::vector<U> to_vector(const std::string& where = "tensor") const {
    std::vector<U> v(static_cast<std::size_t>(numel()));
    if (!v.empty()) copy_to(v.data(), where);
    return v;
  }

  // A neuralop tensor of rank R; with convert == false the dtype must be T's exactly.
  template <TensorScalar T, std::size_t R>
  Tensor<T, R> to_tensor(bool convert, const std::string& where = "tensor") const {
    if (rank() != R)
      throw_error<io_error>(where, ": expected a tensor of rank ", R, ", found a ", describe(), " (rank ", rank(), ")");
    if (!convert && dtype != dtype_of<T>)
      throw_error<io_error>(where, ": expected a ", name(dtype_of<T>), " tensor, found a ", describe(),
                            "; convert with to<>() instead of as<>()");
    Shape<R> s{};
    for (std::size_t i = 0; i < R; ++i) {
      if (shape[i] <= 0)
        throw_error<io_error>(where, ": a ", describe(), " has an empty axis ", i, "; tensors need positive sizes");
      s[i] = shape[i];
    }
    auto t = Tensor<T, R>::empty(s);
    copy_to(t.data(), where);
    return t;
  }

  // A contiguous copy of t (host bytes; the tensor may live on any backend).
  template <TensorScalar T, std::size_t R, class B>
  static RawTensor from_tensor(const Tensor<T, R, B>& t) {
    auto v = t.to_vector();
    std::vector<std::byte> bytes(v.size() * sizeof(T));
    if (!v.empty()) std::memcpy(bytes.data(), v.data(), bytes.size());
    return RawTensor(dtype_of<T>, std::vector<index_t>(t.shape().begin(), t.shape().end()),
                     Bytes::from_vector(std::move(bytes)));
  }
  template <FileScalar U>
  static RawTensor from_vector(std::vector<index_t> shape, std::span<const U> values) {
    RawTensor r;
    r.dtype = dtype_of<U>;
    r.shape = std::move(shape);
    r.strides = contiguous(r.shape);
    if (static_cast<std::size_t>(r.numel()) != values.size())
      throw_error<shape_error>("RawTensor::from_vector: ", values.size(), " values for shape ", format_shape(r.shape));
    std::vector<std::byte> bytes(values.size() * sizeof(U));
    if (!values.empty()) std::memcpy(bytes.data(), values.data(), bytes.size());
    r.storage = Bytes::from_vector(std::move(bytes));
    return r;
  }
  // The element bytes in row-major order (a copy unless already contiguous).
  Bytes contiguous_bytes() const {
    if (is_contiguous()) return storage.sub(static_cast<std::size_t>(offset) * itemsize(dtype), nbytes());
    std::vector<std::byte> out(nbytes());
    visit_dtype(dtype, [&]<class S>() {
      auto* p = out.data();
      for_each_as<S>([&](const S& v) {
        std::memcpy(p, &v, sizeof(S));
        p += sizeof(S);
      });
    });
    return Bytes::from_vector(std::move(out));
  }
};

}  // namespace neuralop::io
