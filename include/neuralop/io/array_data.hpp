// Checks and fix-ups shared by the flat array readers (.npy/.npz, safetensors): the element
// count a header claims, byte-swapping big-endian elements, and file text shown in messages.
#pragma once

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "neuralop/core/config.hpp"
#include "neuralop/io/bytes.hpp"
#include "neuralop/io/dtype.hpp"

namespace neuralop::io::detail {

// Sizes beyond 2^52 elements are corrupt headers, not arrays (and keep byte counts in 64 bits).
inline constexpr std::uint64_t max_array_elements = std::uint64_t(1) << 52;

// The element count of a claimed shape. Also bounds the product of the nonzero sizes, so that
// the partial products of contiguous strides cannot overflow even when a size is 0.
inline index_t checked_numel(const std::vector<std::uint64_t>& shape, const std::string& where) {
  std::uint64_t nonzero = 1;
  bool empty = false;
  for (std::size_t i = 0; i < shape.size(); ++i) {
    const std::uint64_t s = shape[i];
    if (s > max_array_elements) throw_error<io_error>(where, ": size ", s, " at axis ", i, " is too large");
    if (s == 0) {
      empty = true;
      continue;
    }
    if (nonzero > max_array_elements / s)
      throw_error<io_error>(where, ": the shape's sizes multiply to more than 2^52 elements (corrupt header?)");
    nonzero *= s;
  }
  return empty ? 0 : static_cast<index_t>(nonzero);
}

inline std::vector<index_t> to_index_shape(const std::vector<std::uint64_t>& shape) {
  return std::vector<index_t>(shape.begin(), shape.end());  // each checked <= 2^52 by checked_numel
}

// Text from a file for messages: at most 120 bytes, non-printable ones as \xHH.
inline std::string printable(std::string_view s) {
  std::string out;
  for (std::size_t i = 0; i < s.size() && i < 120; ++i) {
    const auto c = static_cast<unsigned char>(s[i]);
    if (c >= 0x20 && c < 0x7f) {
      out += static_cast<char>(c);
    } else {
      constexpr char hex[] = "0123456789abcdef";
      out += "\\x";
      out += hex[c >> 4];
      out += hex[c & 15];
    }
  }
  return s.size() > 120 ? out + "..." : out;
}

// Fails on the first key that appears twice: "<what> 'x' appears twice". Sorts keys.
inline void refuse_duplicates(std::vector<std::string>& keys, const std::string& what) {
  std::sort(keys.begin(), keys.end());
  if (auto it = std::adjacent_find(keys.begin(), keys.end()); it != keys.end())
    throw_error<io_error>(what, " '", printable(*it), "' appears twice");
}

// A copy of little- or big-endian element bytes with each element (each real component of a
// complex one) reversed: big-endian files become host (little-endian) order.
inline Bytes byte_swapped(std::span<const std::byte> data, DType d) {
  const std::size_t unit = is_complex_dtype(d) ? itemsize(d) / 2 : itemsize(d);
  std::vector<std::byte> out(data.begin(), data.end());
  if (unit > 1)
    for (std::size_t i = 0; i + unit <= out.size(); i += unit) std::reverse(out.begin() + i, out.begin() + i + unit);
  return Bytes::from_vector(std::move(out));
}

}  // namespace neuralop::io::detail
