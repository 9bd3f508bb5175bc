// Test support for neuralop::io (no doctest here: the fuzz targets use it too): where the data
// are, temporary files, and describe(), which prints a Value tree in the line format of
// tests/io/golden/*.txt (tools/reference/make_io_golden.py writes the same lines with PyTorch).
#pragma once

#include <unistd.h>

#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <sstream>
#include <string>
#include <vector>

#include "neuralop/io/io.hpp"

namespace iotest {

using neuralop::io::Value;

// NeuralOperator's sample files: $NEURALOP_DATA_DIR, else the build's data_dir option.
inline std::string data_dir() {
  if (const char* e = std::getenv("NEURALOP_DATA_DIR")) return e;
#ifdef NEURALOP_DATA_DIR
  const std::string d = NEURALOP_DATA_DIR;
  if (std::filesystem::is_directory(d)) return d;
  throw std::runtime_error("NeuralOperator's sample data not found in " + d +
                           ": set NEURALOP_DATA_DIR or configure with -Ddata_dir=...");
#else
  throw std::runtime_error("NEURALOP_DATA_DIR is not set");
#endif
}

// Whether NeuralOperator's sample files can be read: $NEURALOP_DATA_DIR is set (then a wrong
// place fails the tests that read it, naming the path), or the build's data_dir holds them. Test
// cases that read them are declared `TEST_CASE("..." * doctest::skip(!iotest::have_sample_data()))`:
// a clone without ../shared/reference/neuralop-data beside it skips them (doctest counts them as
// skipped, and Meson's configure step says why) instead of failing.
inline bool have_sample_data() {
  if (std::getenv("NEURALOP_DATA_DIR")) return true;
#ifdef NEURALOP_DATA_DIR
  std::error_code ec;
  return std::filesystem::is_regular_file(std::filesystem::path(NEURALOP_DATA_DIR) / "darcy_train_16.pt", ec);
#else
  return false;
#endif
}

// A fresh path in a per-process temporary directory.
inline std::string temp_path(const std::string& name) {
  static const std::filesystem::path dir = [] {
    auto d = std::filesystem::temp_directory_path() / ("neuralop_io_test_" + std::to_string(::getpid()));
    std::filesystem::create_directories(d);
    return d;
  }();
  return (dir / name).string();
}

inline std::string read_text(const std::string& path) {
  std::ifstream f(path, std::ios::binary);
  if (!f) throw std::runtime_error("cannot read " + path);
  std::ostringstream s;
  s << f.rdbuf();
  return s.str();
}

// Visits every node, materialising tensors of up to 2^20 elements (what a user would do next).
inline void walk(const Value& root) {
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

namespace detail {

inline std::string num(double v) {
  if (std::isnan(v)) return "nan";
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.17g", v);
  return buf;
}
inline std::string ints(const std::vector<neuralop::index_t>& v) {
  if (v.empty()) return "-";
  std::string s;
  for (std::size_t i = 0; i < v.size(); ++i) s += (i ? "," : "") + std::to_string(v[i]);
  return s;
}
// Keys and strings with whitespace, ',' or '\' escaped as \xHH, as the Python side does.
inline std::string escape(const std::string& s) {
  std::string o;
  for (unsigned char c : s) {
    if (c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == ',' || c == '\\') {
      char buf[8];
      std::snprintf(buf, sizeof buf, "\\x%02X", c);
      o += buf;
    } else {
      o += static_cast<char>(c);
    }
  }
  return o;
}
// Python's str() of a dict key.
inline std::string key_str(const Value& k) {
  switch (k.kind()) {
    case Value::Kind::string: return k.as<std::string>();
    case Value::Kind::integer: return std::to_string(k.as<std::int64_t>());
    case Value::Kind::boolean: return k.as<bool>() ? "True" : "False";
    case Value::Kind::none: return "None";
    case Value::Kind::real: return num(k.as<double>());
    default: return k.repr();
  }
}

class Describer {
 public:
  explicit Describer(std::string file) : file_(std::move(file)) {}
  void node(const Value& v, const std::string& path) {
    const std::string base = path == "." ? "" : path;
    switch (v.kind()) {
      case Value::Kind::dict: {
        std::string keys;
        for (const auto& [k, _] : v.dict_ref().items) keys += (keys.empty() ? "" : ",") + escape(key_str(k));
        line(path, std::string(v.is_ordered_dict() ? "odict " : "dict ") + std::to_string(v.size()) + " " +
                       (keys.empty() ? "-" : keys));
        for (const auto& [k, c] : v.dict_ref().items) node(c, base + "." + key_str(k));
        return;
      }
      case Value::Kind::list: case Value::Kind::tuple: {
        line(path, std::string(v.is_list() ? "list " : "tuple ") + std::to_string(v.size()));
        const auto& items = v.items_ref();
        for (std::size_t i = 0; i < items.size(); ++i) node(items[i], base + "[" + std::to_string(i) + "]");
        return;
      }
      case Value::Kind::tensor: tensor(v.tensor(), path); return;
      case Value::Kind::integer: line(path, "int " + std::to_string(v.as<std::int64_t>())); return;
      case Value::Kind::real: line(path, "float " + num(v.as<double>())); return;
      case Value::Kind::string: {
        const auto s = v.as<std::string>();
        line(path, "str " + (s.empty() ? std::string("\"\"") : escape(s)));
        return;
      }
      case Value::Kind::boolean: line(path, std::string("bool ") + (v.as<bool>() ? "true" : "false")); return;
      case Value::Kind::none: line(path, "none"); return;
      case Value::Kind::opaque:
        if (!v.opaque().called) line(path, "global " + v.opaque().name);
        return;  // objects built by calls are not described (the Python side cannot either)
      case Value::Kind::bytes: line(path, "bytes " + std::to_string(v.size())); return;
    }
  }
  std::string str() const { return out_.str(); }

 private:
  std::string file_;
  std::ostringstream out_;
  std::map<std::pair<const std::byte*, std::size_t>, int> groups_;  // a storage: its bytes

  void line(const std::string& path, const std::string& rest) { out_ << file_ << ' ' << path << ' ' << rest << '\n'; }
  void tensor(const neuralop::io::RawTensor& t, const std::string& path) {
    const auto key = std::make_pair(t.storage.data(), t.storage.size());
    auto it = groups_.find(key);
    if (it == groups_.end()) it = groups_.emplace(key, int(groups_.size())).first;
    double sum = 0, abs_sum = 0, weighted = 0;
    std::size_t i = 0;
    auto add = [&](double v) {
      sum += v;
      abs_sum += std::fabs(v);
      weighted += v * double((i % 1009) + 1) / 1009.0;
      ++i;
    };
    t.for_each([&](const auto& e) {
      using S = std::remove_cvref_t<decltype(e)>;
      if constexpr (neuralop::is_complex_v<S>) {
        add(double(e.real()));
        add(double(e.imag()));
      } else if constexpr (std::is_same_v<S, neuralop::io::half> || std::is_same_v<S, neuralop::io::bfloat16>) {
        add(double(neuralop::io::to_float(e)));
      } else {
        add(static_cast<double>(e));
      }
    });
    line(path, "tensor " + std::string(name(t.dtype)) + " " + ints(t.shape) + " " + ints(t.strides) + " " +
                   std::to_string(t.offset) + " " + std::to_string(it->second) + " " + std::to_string(t.numel()) +
                   " " + num(sum) + " " + num(abs_sum) + " " + num(weighted));
  }
};

}  // namespace detail

// The tree as lines "<file> <path> <kind> ..." (see tests/io/golden/data_files.txt's header),
// the root at `path` (".__metadata__" for safetensors' metadata, "." otherwise).
inline std::string describe(const Value& root, const std::string& file, const std::string& path = ".") {
  detail::Describer d(file);
  d.node(root, path);
  return d.str();
}

// The lines of a golden file that belong to `file`, without comments and without the lines of
// Python attributes restored by BUILD (paths with '@'), which the reader does not keep.
// With `under`, only the lines at or below that path ("" for all); `except` drops those.
inline std::string golden_lines(const std::string& golden_path, const std::string& file, const std::string& under = "",
                                const std::string& except = "") {
  std::istringstream in(read_text(golden_path));
  std::string l, out;
  while (std::getline(in, l)) {
    if (l.empty() || l[0] == '#') continue;
    const auto sp = l.find(' ');
    if (l.substr(0, sp) != file) continue;
    const auto sp2 = l.find(' ', sp + 1);
    const std::string path = l.substr(sp + 1, sp2 - sp - 1);
    if (path.find('@') != std::string::npos) continue;
    if (!under.empty() && !path.starts_with(under)) continue;
    if (!except.empty() && path.starts_with(except)) continue;
    out += l + "\n";
  }
  return out;
}

// A fixed tree covering every dtype, views, sharing and every container, for the writer's golden.
inline Value writer_golden_tree() {
  namespace io = neuralop::io;
  using neuralop::index_t;
  auto raw = [](auto values, std::vector<index_t> shape) {
    using U = typename decltype(values)::value_type;
    return io::RawTensor::from_vector<U>(std::move(shape), std::span<const U>(values));
  };
  Value root = Value::ordered_dict();
  std::vector<float> base(12);
  for (int i = 0; i < 12; ++i) base[std::size_t(i)] = 0.5f * float(i) - 2.25f;
  const io::RawTensor f32 = raw(base, {3, 4});
  root.set("f32", f32);
  io::RawTensor tr = f32;  // a transposed view at offset 1 of the same storage
  tr.shape = {3, 3};
  tr.strides = {1, 4};
  tr.offset = 1;
  root.set("f32_view", tr);
  root.set("f32_again", f32);
  root.set("f64", raw(std::vector<double>{1e-300, -2.5, 3.141592653589793, 1e300}, {2, 2}));
  root.set("f16", raw(std::vector<io::half>{io::to_half(1.5f), io::to_half(-0.333f), io::to_half(65504.f)}, {3}));
  root.set("bf16", raw(std::vector<io::bfloat16>{io::to_bfloat16(1.5f), io::to_bfloat16(-3e38f)}, {2}));
  root.set("i8", raw(std::vector<std::int8_t>{-128, 0, 127}, {3}));
  root.set("i16", raw(std::vector<std::int16_t>{-32768, 7, 32767}, {3}));
  root.set("i32", raw(std::vector<std::int32_t>{-2147483647 - 1, 42, 2147483647}, {1, 3}));
  root.set("i64", raw(std::vector<std::int64_t>{(std::int64_t(1) << 40) + 3, -5}, {2}));
  root.set("u8", raw(std::vector<std::uint8_t>{0, 200, 255}, {3}));
  {
    io::RawTensor t = raw(std::vector<std::uint8_t>{1, 0, 1, 1}, {2, 2});
    t.dtype = io::DType::bool_;  // the same bytes, as bool
    root.set("bool", t);
  }
  root.set("c64", raw(std::vector<std::complex<float>>{{1.f, -2.f}, {0.25f, 4.f}}, {2}));
  root.set("c128", raw(std::vector<std::complex<double>>{{-1e-3, 1e10}}, {1}));
  root.set("scalar0d", raw(std::vector<double>{3.25}, {}));
  root.set("empty", raw(std::vector<float>{}, {0, 3}));
  Value nested = Value::dict();
  nested.set("int", 7).set("neg", -12).set("big", std::int64_t(3000000000)).set("huge", -(std::int64_t(1) << 40));
  nested.set("float", 0.1).set("tiny", -1e-300).set("str", "µm").set("yes", true).set("no", false).set("nothing", Value());
  nested.set(3, "int key");
  nested.set("list", Value::list({1, 2.5, "three"}));
  for (int n = 0; n <= 4; ++n) {
    Value t = Value::tuple();
    for (int i = 0; i < n; ++i) t.push_back(i);
    nested.set("tuple" + std::to_string(n), t);
  }
  root.set("nested", nested);
  return root;
}

}  // namespace iotest
