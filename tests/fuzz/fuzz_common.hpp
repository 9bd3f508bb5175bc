// Shared body of the libFuzzer targets: a reader either returns a tree, every part of which can
// be walked and (within a size bound) materialised, or throws neuralop::error. Anything else
// (a crash, a sanitizer report, another exception type, a leak, a hang) is a bug.
#pragma once

#include <neuralop/io/io.hpp>

#include <cstddef>
#include <cstdint>
#include <vector>

namespace fuzz {

inline void walk(const neuralop::io::Value& root) {
  using neuralop::io::Value;
  std::vector<Value> todo{root};
  std::size_t visited = 0;
  while (!todo.empty() && ++visited < 100000) {
    Value v = std::move(todo.back());
    todo.pop_back();
    (void)v.describe();
    if (v.is_dict()) {
      for (auto& [k, c] : v.items()) todo.push_back(c);
    } else if (v.is_list() || v.is_tuple()) {
      for (auto& c : v.elements()) todo.push_back(c);
    } else if (v.is_tensor()) {
      const auto& t = v.tensor();
      if (t.numel() <= (1 << 20)) {
        (void)t.contiguous_bytes();
        if (!neuralop::io::is_complex_dtype(t.dtype)) (void)t.to_vector<double>();
      }
    }
  }
}

template <class Load>
int run(const std::uint8_t* data, std::size_t size, Load load) {
  const auto bytes = neuralop::io::Bytes::copy_of(
      std::span<const std::byte>(reinterpret_cast<const std::byte*>(data), size));
  try {
    walk(load(bytes));
  } catch (const neuralop::error&) {
  }
  return 0;
}

}  // namespace fuzz
