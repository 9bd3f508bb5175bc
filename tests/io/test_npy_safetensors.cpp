// io::load_npy/save_npy, load_npz/save_npz, load_safetensors/save_safetensors and the JSON
// reader: NumPy- and safetensors-written golden files, byte-identical writing, round trips of
// every dtype and layout, and corrupt or truncated input (io_error naming the file, no crash).
#include <complex>
#include <cstring>
#include <filesystem>
#include <sstream>

#include "../helpers.hpp"
#include "io_test_util.hpp"
#include "neuralop/io/io.hpp"

using namespace neuralop;
using io::Bytes;
using io::DType;
using io::RawTensor;
using io::Value;

namespace {

std::string golden_file(const std::string& name) { return std::string(NEURALOP_SOURCE_DIR) + "/tests/io/golden/" + name; }
const std::string expected_txt = golden_file("expected.txt");

// The names of the golden files of one extension listed in expected.txt.
std::vector<std::string> golden_files(std::string_view ext) {
  std::vector<std::string> out;
  std::istringstream in(iotest::read_text(expected_txt));
  for (std::string l; std::getline(in, l);) {
    const std::string f = l.substr(0, l.find(' '));
    if (!l.starts_with("#") && f.ends_with(ext) && (out.empty() || out.back() != f)) out.push_back(f);
  }
  return out;
}

Bytes bytes_of(std::string_view s) { return Bytes::copy_of(s); }

// A .npy file from a header dict literal and raw data (version 1.0 unless told).
std::string make_npy(std::string_view dict, std::string_view data, int major = 1) {
  std::string h(dict);
  h += '\n';
  std::string out("\x93NUMPY", 6);
  out += static_cast<char>(major);
  out += '\0';
  const auto n = static_cast<std::uint32_t>(h.size());
  out += static_cast<char>(n & 0xff);
  out += static_cast<char>((n >> 8) & 0xff);
  if (major > 1) {
    out += static_cast<char>((n >> 16) & 0xff);
    out += static_cast<char>(n >> 24);
  }
  return out + h + std::string(data);
}

// A safetensors file from a header text and data.
std::string make_st(std::string_view json, std::string_view data) {
  std::string out(8, '\0');
  std::uint64_t n = json.size();
  std::memcpy(out.data(), &n, 8);
  return out + std::string(json) + std::string(data);
}

template <class U>
RawTensor raw(std::vector<U> values, std::vector<index_t> shape) {
  return RawTensor::from_vector<U>(std::move(shape), std::span<const U>(values));
}
// std::vector<bool> has no data(): bool tensors are built from bytes.
RawTensor bools(std::vector<std::uint8_t> values, std::vector<index_t> shape) {
  RawTensor t = raw<std::uint8_t>(std::move(values), std::move(shape));
  t.dtype = DType::bool_;
  return t;
}

// One small tensor of each dtype, with extreme values.
std::vector<std::pair<std::string, RawTensor>> every_dtype() {
  std::vector<std::pair<std::string, RawTensor>> v;
  v.emplace_back("f32", raw<float>({1.5f, -0.f, 3.4e38f, -1e-45f, 7.f, 0.1f}, {2, 3}));
  v.emplace_back("f64", raw<double>({1e-300, -2.5, 3.141592653589793, 1e300}, {2, 2}));
  v.emplace_back("f16", raw<io::half>({io::to_half(1.5f), io::to_half(-0.333f), io::to_half(65504.f)}, {3}));
  v.emplace_back("bf16", raw<io::bfloat16>({io::to_bfloat16(1.5f), io::to_bfloat16(-3e38f)}, {2}));
  v.emplace_back("i8", raw<std::int8_t>({-128, 0, 127}, {3, 1}));
  v.emplace_back("i16", raw<std::int16_t>({-32768, 7, 32767}, {3}));
  v.emplace_back("i32", raw<std::int32_t>({-2147483647 - 1, 42, 2147483647}, {1, 3}));
  v.emplace_back("i64", raw<std::int64_t>({(std::int64_t(1) << 40) + 3, -5}, {2}));
  v.emplace_back("u8", raw<std::uint8_t>({0, 200, 255}, {3}));
  v.emplace_back("bool", bools({1, 0, 1, 1}, {2, 2}));
  v.emplace_back("c64", raw<std::complex<float>>({{1.f, -2.f}, {0.25f, 4.f}}, {2}));
  v.emplace_back("c128", raw<std::complex<double>>({{-1e-3, 1e10}}, {1}));
  return v;
}

// A column-major (Fortran-ordered) view: shape [3, 4] over 12 values, strides [1, 3].
RawTensor fortran_view() {
  RawTensor t = raw<double>({0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11}, {12});
  t.shape = {3, 4};
  t.strides = {1, 3};
  return t;
}

// f(bytes) must throw io_error whose message contains `where` (and `what`, when given).
template <class F>
void check_refused(F&& f, const std::string& where, const std::string& what = "") {
  const std::string msg = test::error_message<io_error>(std::forward<F>(f));
  INFO("message: " << msg);
  CHECK(msg.find(where) != std::string::npos);
  if (!what.empty()) CHECK(msg.find(what) != std::string::npos);
}

}  // namespace

// ------------------------------------------------------------------ golden files

TEST_CASE("NumPy-written .npy golden files load and match expected.txt") {
  const auto files = golden_files(".npy");
  REQUIRE(files.size() >= 15);
  for (const auto& f : files) {
    CAPTURE(f);
    if (f == "numpy_uint16.npy") {  // no neuralop dtype holds uint16: refused
      check_refused([&] { (void)io::load_npy(golden_file(f)); }, f, "unsigned 16-bit");
      continue;
    }
    CHECK(iotest::describe(io::load_npy(golden_file(f)), f) == iotest::golden_lines(expected_txt, f));
  }
}

TEST_CASE("NumPy-written .npz golden files (stored and deflated) load and match expected.txt") {
  for (const std::string f : {"numpy_arrays.npz", "numpy_arrays_compressed.npz"}) {
    CAPTURE(f);
    const Value v = io::load_npz(golden_file(f));
    CHECK(iotest::describe(v, f) == iotest::golden_lines(expected_txt, f));
    CHECK(v.at("fortran").tensor().strides == std::vector<index_t>{1, 3});
  }
}

TEST_CASE("the safetensors-written golden file loads and matches expected.txt, metadata included") {
  const std::string f = "safetensors_basic.safetensors";
  const auto contents = io::read_safetensors(io::read_file(golden_file(f)), f);
  CHECK(iotest::describe(contents.tensors, f) == iotest::golden_lines(expected_txt, f, "", ".__metadata__"));
  Value meta = Value::dict();
  for (const auto& [k, v] : contents.metadata) meta.set(k, v);
  CHECK(iotest::describe(meta, f, ".__metadata__") == iotest::golden_lines(expected_txt, f, ".__metadata__"));
  CHECK(io::load_safetensors_metadata(golden_file(f)) == io::SafetensorsMetadata{{"format", "pt"}});
  // Typed access to the loaded tensors.
  const auto w = io::load_safetensors(golden_file(f)).at("weight_f64").as<Tensor<double, 2>>();
  CHECK(w.shape() == Shape<2>{2, 3});
}

// ------------------------------------------------------------------ writing

TEST_CASE("save_npy writes the bytes np.save writes") {
  for (const std::string f : {"numpy_float32.npy", "numpy_float64.npy", "numpy_float16.npy", "numpy_int8.npy",
                              "numpy_int16.npy", "numpy_int32.npy", "numpy_int64.npy", "numpy_uint8.npy",
                              "numpy_bool.npy", "numpy_complex64.npy", "numpy_complex128.npy", "numpy_0d.npy",
                              "numpy_1d.npy"}) {
    CAPTURE(f);
    const auto out = iotest::temp_path("copy_" + f);
    io::save_npy(out, io::load_npy(golden_file(f)).tensor());
    CHECK(iotest::read_text(out) == iotest::read_text(golden_file(f)));
  }
  // Fortran-ordered and big-endian files are written back in C order, little-endian.
  for (const std::string f : {"numpy_fortran.npy", "numpy_fortran3d.npy", "numpy_bigendian.npy"}) {
    CAPTURE(f);
    const auto out = iotest::temp_path("copy_" + f);
    const Value in = io::load_npy(golden_file(f));
    io::save_npy(out, in.tensor());
    const Value back = io::load_npy(out);
    CHECK(back.equals(in));
    CHECK(back.tensor().is_contiguous());
    CHECK(iotest::read_text(out).find("'fortran_order': False") != std::string::npos);
  }
}

TEST_CASE("save_safetensors writes the bytes the safetensors library writes") {
  const std::string f = "safetensors_basic.safetensors";
  const auto contents = io::read_safetensors(io::read_file(golden_file(f)), f);
  // Saved from a dict in another order: the writer sorts as the library does.
  Value shuffled = Value::dict();
  const auto items = contents.tensors.items();
  for (std::size_t i = items.size(); i-- > 0;) shuffled.set(items[i].first, items[i].second);
  const auto out = iotest::temp_path(f);
  io::save_safetensors(out, shuffled, contents.metadata);
  CHECK(iotest::read_text(out) == iotest::read_text(golden_file(f)));
}

TEST_CASE("round trips: every dtype through .npy, .npz (stored, deflated) and safetensors") {
  Value all = Value::dict();
  for (const auto& item : every_dtype()) {
    const std::string& key = item.first;  // (clang 14 cannot capture structured bindings)
    const RawTensor& t = item.second;
    CAPTURE(key);
    all.set(key, t);
    if (t.dtype == DType::bfloat16) continue;  // no NumPy dtype, refused below
    const auto path = iotest::temp_path("rt_" + key + ".npy");
    io::save_npy(path, t);
    CHECK(io::load_npy(path).equals(Value(t)));
  }
  Value npz = Value::dict();
  for (const auto& [k, v] : all.items())
    if (v.tensor().dtype != DType::bfloat16) npz.set(k, v);
  for (const bool compressed : {false, true}) {
    CAPTURE(compressed);
    const auto path = iotest::temp_path(compressed ? "rt_c.npz" : "rt.npz");
    io::save_npz(path, npz, compressed);
    const Value back = io::load_npz(path);
    CHECK(back.keys() == npz.keys());
    CHECK(back.equals(npz));
    io::ZipReader zip(io::read_file(path), path);
    for (const auto& e : zip.entries()) CHECK(e.method == (compressed ? 8 : 0));
  }
  Value st = Value::dict();
  for (const auto& [k, v] : all.items())
    if (v.tensor().dtype != DType::complex128) st.set(k, v);
  const auto path = iotest::temp_path("rt.safetensors");
  const io::SafetensorsMetadata meta = {{"format", "pt"}, {"note", "quote \" backslash \\ newline \n µm"}};
  io::save_safetensors(path, st, meta);
  const auto back = io::read_safetensors(io::read_file(path), path);
  CHECK(back.metadata == meta);
  for (const auto& [k, v] : st.items()) CHECK(back.tensors.at(k.as<std::string>()).equals(v));
  CHECK(back.tensors.size() == st.size());
  // The library's order: widest dtype first, then by name.
  CHECK(back.tensors.keys() ==
        std::vector<std::string>{"i64", "f64", "c64", "f32", "i32", "bf16", "f16", "i16", "i8", "u8", "bool"});
}

TEST_CASE("round trips: 0-d, empty, Fortran-ordered and strided tensors; Tensor overloads") {
  Value d = Value::dict();
  d.set("scalar", raw<double>({-1.25}, {}));
  d.set("empty", raw<float>({}, {0, 3}));
  d.set("empty_mid", raw<std::int32_t>({}, {3, 0, 2}));
  d.set("fortran", fortran_view());
  RawTensor strided = raw<float>({0, 1, 2, 3, 4, 5, 6, 7, 8, 9}, {10});
  strided.shape = {3};
  strided.strides = {3};
  strided.offset = 1;
  d.set("strided", strided);
  for (const auto& [k, v] : d.items()) {
    const std::string key = k.as<std::string>();
    CAPTURE(key);
    const auto path = iotest::temp_path("layout_" + key + ".npy");
    io::save_npy(path, v.tensor());
    const Value back = io::load_npy(path);
    CHECK(back.equals(v));
    CHECK(back.tensor().shape == v.tensor().shape);
  }
  CHECK(io::load_npy(iotest::temp_path("layout_fortran.npy")).tensor().to_vector<double>() ==
        std::vector<double>{0, 3, 6, 9, 1, 4, 7, 10, 2, 5, 8, 11});
  const auto npz = iotest::temp_path("layout.npz");
  io::save_npz(npz, d);
  CHECK(io::load_npz(npz).equals(d));
  const auto st = iotest::temp_path("layout.safetensors");
  io::save_safetensors(st, d);
  const Value st_back = io::load_safetensors(st);
  for (const auto& [k, v] : d.items()) CHECK(st_back.at(k.as<std::string>()).equals(v));

  auto t = Tensor<float, 2>::from_data({2, 3}, {1, 2, 3, 4, 5, 6});
  const auto path = iotest::temp_path("tensor.npy");
  io::save_npy(path, t);
  CHECK(io::load_npy(path).as<Tensor<float, 2>>().to_vector() == t.to_vector());
  Value tensors = Value::dict();
  tensors.set("t", t);
  io::save_safetensors(iotest::temp_path("tensor.safetensors"), tensors);
  CHECK(io::load_safetensors(iotest::temp_path("tensor.safetensors")).at("t").as<Tensor<float, 2>>().to_vector() ==
        t.to_vector());
}

TEST_CASE("loading: Fortran order is zero-copy, big-endian is swapped, format versions 2.0 and 3.0") {
  const Bytes file = io::read_file(golden_file("numpy_fortran3d.npy"));
  const RawTensor& t = io::load_npy(file, "f.npy").tensor();
  CHECK(t.strides == std::vector<index_t>{1, 2, 6});
  CHECK(t.storage.data() == file.data() + 128);  // the data in the file, not a copy
  const RawTensor& be = io::load_npy(golden_file("numpy_bigendian.npy")).tensor();
  CHECK(be.to_vector<float>() == io::load_npy(golden_file("numpy_float32.npy")).tensor().to_vector<float>());
  // Big-endian complex: each component swapped separately.
  const std::string c = make_npy("{'descr': '>c8', 'fortran_order': False, 'shape': (1,), }",
                                 std::string("\x3f\xc0\x00\x00\xc0\x00\x00\x00", 8));
  CHECK(io::load_npy(bytes_of(c), "c.npy").tensor().to_vector<std::complex<float>>() ==
        std::vector<std::complex<float>>{{1.5f, -2.f}});
  const std::string data("\x01\x00\x02\x00", 4);
  for (int major : {2, 3}) {
    const std::string file = make_npy("{'descr': '<i2', 'fortran_order': False, 'shape': (2,)}", data, major);
    const auto v = io::load_npy(bytes_of(file), "v.npy");
    CHECK(v.tensor().to_vector<std::int16_t>() == std::vector<std::int16_t>{1, 2});
  }
  // Liberal where NumPy is: double quotes, key order, Python 2 longs, spacing; bool bytes != 0/1.
  const auto v = io::load_npy(bytes_of(make_npy("{\"shape\":(2L,1L),\"descr\":\"|b1\",\"fortran_order\":True}",
                                                std::string("\x00\x07", 2))),
                              "b.npy");
  CHECK(v.tensor().to_vector<std::uint8_t>() == std::vector<std::uint8_t>{0, 1});
}

TEST_CASE("saving refuses what the format cannot hold, atomically") {
  const auto bf16 = raw<io::bfloat16>({io::to_bfloat16(1.f)}, {1});
  const auto path = iotest::temp_path("refused.npy");
  check_refused([&] { io::save_npy(path, bf16); }, path, "bfloat16 has no NumPy dtype");
  CHECK(!std::filesystem::exists(path));
  Value d = Value::dict();
  d.set("ok", raw<float>({1.f}, {1}));
  d.set("bad", bf16);
  const auto npz = iotest::temp_path("refused.npz");
  check_refused([&] { io::save_npz(npz, d); }, npz, "bfloat16");
  CHECK(!std::filesystem::exists(npz));
  for (const auto& e : std::filesystem::directory_iterator(std::filesystem::path(npz).parent_path()))
    CHECK(e.path().filename().string().find(".tmp") == std::string::npos);  // no temporary left behind
  Value c = Value::dict();
  c.set("z", raw<std::complex<double>>({{1, 2}}, {1}));
  const auto st = iotest::temp_path("refused.safetensors");
  check_refused([&] { io::save_safetensors(st, c); }, st, "complex128 has no safetensors dtype");
  Value bad_name = Value::dict();
  bad_name.set("__metadata__", raw<float>({1.f}, {1}));
  check_refused([&] { io::save_safetensors(st, bad_name); }, st, "reserved");
  Value not_tensor = Value::dict();
  not_tensor.set("x", 3);
  check_refused([&] { io::save_safetensors(st, not_tensor); }, st, "not a tensor");
  check_refused([&] { io::save_npz(npz, not_tensor); }, npz, "not a tensor");
  check_refused([&] { io::save_npz(npz, Value::list()); }, npz, "expects a dict");
  check_refused([&] { io::save_safetensors(st, d, {{"k", "a"}, {"k", "b"}}); }, st, "'k' appears twice");
  CHECK(!std::filesystem::exists(st));
}

// ------------------------------------------------------------------ bad input

TEST_CASE("load_npy: every truncation and each corrupt header field is an io_error naming the file") {
  const std::string good = iotest::read_text(golden_file("numpy_float32.npy"));
  for (std::size_t n = 0; n < good.size(); ++n) {
    CAPTURE(n);
    check_refused([&] { (void)io::load_npy(bytes_of(good.substr(0, n)), "cut.npy"); }, "cut.npy");
  }
  check_refused([&] { (void)io::load_npy(bytes_of(good + "x"), "long.npy"); }, "long.npy", "1 bytes after the data");
  const std::string f4(24, '\0');
  const auto header = [](std::string_view descr, std::string_view shape, std::string_view order = "False") {
    return "{'descr': '" + std::string(descr) + "', 'fortran_order': " + std::string(order) + ", 'shape': " +
           std::string(shape) + ", }";
  };
  const std::vector<std::tuple<std::string, std::string, std::string>> cases = {
      {make_npy(header("<f4", "(2, 3)"), f4, 4), "b.npy", "unsupported .npy format version 4.0"},
      {make_npy(header("<f4", "(2, 3)"), f4).replace(0, 1, "x"), "b.npy", "not a .npy file"},
      {make_npy(header("<f4", "(99999999999, 99999999999)"), f4), "b.npy", "more than 2^52"},
      {make_npy(header("<f4", "(99999999999999999999999,)"), f4), "b.npy", "too large"},
      {make_npy(header("<f4", "(100000, 100000)"), f4), "b.npy", "truncated"},
      {make_npy(header("<f4", "(-2, 3)"), f4), "b.npy", "negative size"},
      {make_npy(header("<f4", "(6)"), f4), "b.npy", "without a comma"},
      {make_npy(header("<f4", "[2, 3]"), f4), "b.npy", "expected '('"},
      {make_npy(header("<U5", "(2, 3)"), f4), "b.npy", "unsupported dtype '<U5'"},
      {make_npy(header("|O", "(2, 3)"), f4), "b.npy", "object arrays"},
      {make_npy(header("<u4", "(2, 3)"), f4), "b.npy", "unsigned 32-bit"},
      {make_npy(header("<u8", "(2, 3)"), f4), "b.npy", "unsigned 64-bit"},
      {make_npy("{'descr': [('a', '<f4')], 'fortran_order': False, 'shape': (6,), }", f4), "b.npy", "structured"},
      {make_npy(header("<f4", "(2, 3)", "1"), f4), "b.npy", "True or False"},
      {make_npy("{'descr': '<f4', 'shape': (2, 3), }", f4), "b.npy", "missing the key 'fortran_order'"},
      {make_npy("{'descr': '<f4', 'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), }", f4), "b.npy",
       "appears twice"},
      {make_npy("{'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), 'x': 1}", f4), "b.npy", "unexpected key"},
      {make_npy(header("<f4", "(2, 3)") + " junk", f4), "b.npy", "after the closing"},
      {make_npy("{'descr': '<f4', 'fortran_order': False, 'shape': (2, 3)", f4), "b.npy", "expected ',' or '}'"},
      {make_npy("{'descr': '<f4\\x', 'fortran_order': False, 'shape': (2, 3)}", f4), "b.npy", "escapes"},
      {make_npy(header("<f4", "(" + std::string(200, '1') + ",)"), f4), "b.npy", "too large"},
  };
  for (const auto& c : cases) {
    const std::string& what = std::get<2>(c);
    CAPTURE(what);
    check_refused([&] { (void)io::load_npy(bytes_of(std::get<0>(c)), std::get<1>(c)); }, std::get<1>(c), what);
  }
  // A header length past the end of the file.
  std::string huge = good;
  huge[8] = '\xff';
  huge[9] = '\xff';
  check_refused([&] { (void)io::load_npy(bytes_of(huge), "h.npy"); }, "h.npy", "truncated");
  check_refused([&] { (void)io::load_npy(iotest::temp_path("does_not_exist.npy")); }, "does_not_exist.npy");
}

TEST_CASE("load_npz: every truncation, foreign members, duplicates and corrupt members are io_errors") {
  Value d = Value::dict();
  d.set("a", raw<float>({1.f, 2.f}, {2}));
  d.set("b", raw<std::int64_t>({3}, {}));
  for (const bool compressed : {false, true}) {
    const auto path = iotest::temp_path("small.npz");
    io::save_npz(path, d, compressed);
    const std::string good = iotest::read_text(path);
    for (std::size_t n = 0; n < good.size(); ++n) {
      CAPTURE(n);
      check_refused([&] { (void)io::load_npz(bytes_of(good.substr(0, n)), "cut.npz"); }, "cut.npz");
    }
  }
  const auto foreign = iotest::temp_path("foreign.npz");
  {
    io::ZipWriter z(foreign);
    z.add("readme.txt", std::string_view("hello"));
    z.finish();
  }
  check_refused([&] { (void)io::load_npz(foreign); }, "foreign.npz", "'readme.txt' is not a .npy array");
  const auto dup = iotest::temp_path("dup.npz");
  {
    io::ZipWriter z(dup);
    const std::string npy = iotest::read_text(golden_file("numpy_0d.npy"));
    z.add("x.npy", npy);
    z.add("x.npy", npy);
    z.finish();
  }
  check_refused([&] { (void)io::load_npz(dup); }, "dup.npz", "'x' appears twice");
  const auto bad = iotest::temp_path("bad_member.npz");
  {
    io::ZipWriter z(bad);
    z.add("x.npy", std::string_view("\x93NUMPY\x01\x00\x02\x00{}", 12));
    z.finish();
  }
  check_refused([&] { (void)io::load_npz(bad); }, "bad_member.npz: member 'x.npy'", "missing the key");
}

TEST_CASE("load_safetensors: every truncation and each corrupt header field is an io_error naming the file") {
  const std::string good = iotest::read_text(golden_file("safetensors_basic.safetensors"));
  for (std::size_t n = 0; n < good.size(); ++n) {
    CAPTURE(n);
    check_refused([&] { (void)io::load_safetensors(bytes_of(good.substr(0, n)), "cut.safetensors"); },
                  "cut.safetensors");
  }
  check_refused([&] { (void)io::load_safetensors(bytes_of(good + "x"), "long.st"); }, "long.st", "belong to no tensor");
  std::string huge = good;
  huge[7] = '\x01';
  check_refused([&] { (void)io::load_safetensors(bytes_of(huge), "h.st"); }, "h.st", "over the 100 MB limit");
  huge = good;
  huge[3] = '\x01';  // 16 MB: under the limit, past the end of the file
  check_refused([&] { (void)io::load_safetensors(bytes_of(huge), "h.st"); }, "h.st", "truncated");

  const std::string d24(24, '\0');
  const auto entry = [](std::string_view name, std::string_view dtype, std::string_view shape, std::string_view off) {
    return "\"" + std::string(name) + "\":{\"dtype\":\"" + std::string(dtype) + "\",\"shape\":" + std::string(shape) +
           ",\"data_offsets\":" + std::string(off) + "}";
  };
  const std::string a = entry("a", "F32", "[2,3]", "[0,24]");
  const std::vector<std::pair<std::string, std::string>> cases = {
      {make_st("{" + entry("a", "F32", "[2,3]", "[0,28]") + "}", d24), "past the data section"},
      {make_st("{" + entry("a", "F32", "[2,3]", "[4,2]") + "}", d24), "end before they begin"},
      {make_st("{" + entry("a", "F32", "[2,2]", "[0,24]") + "}", d24), "needs 16"},
      {make_st("{" + entry("a", "F32", "[2,3]", "[0,24]") + "," + entry("b", "F32", "[2]", "[16,24]") + "}", d24),
       "overlap"},
      {make_st("{" + entry("a", "F32", "[2]", "[8,16]") + "}", d24), "belong to no tensor"},
      {make_st("{" + entry("a", "F32", "[4294967296,4294967296,4294967296]", "[0,24]") + "}", d24), "more than 2^52"},
      {make_st("{" + entry("a", "F32", "[18446744073709551616]", "[0,24]") + "}", d24), "does not fit 64 bits"},
      {make_st("{" + entry("a", "F32", "[-1]", "[0,24]") + "}", d24), "negative"},
      {make_st("{" + entry("a", "F32", "[2.5]", "[0,24]") + "}", d24), "fraction or exponent"},
      {make_st("{" + entry("a", "X9", "[2,3]", "[0,24]") + "}", d24), "unknown dtype 'X9'"},
      {make_st("{" + entry("a", "U16", "[12]", "[0,24]") + "}", d24), "unsigned 16-bit"},
      {make_st("{" + entry("a", "F8_E4M3", "[24]", "[0,24]") + "}", d24), "fewer than 16 bits"},
      {make_st("{" + a + "," + a + "}", d24), "the tensor name 'a' appears twice"},
      {make_st("{" + entry("a", "F32", "[2,3]", "[0,24,24]") + "}", d24), "more than 2 numbers"},
      {make_st("{\"a\":{\"dtype\":\"F32\",\"shape\":[2,3]}}", d24), "missing \"data_offsets\""},
      {make_st("{\"a\":{\"dtype\":\"F32\",\"shape\":[2,3],\"data_offsets\":[0,24],\"x\":1}}", d24),
       "unexpected field"},
      {make_st("{\"a\":{\"dtype\":\"F32\",\"dtype\":\"F32\",\"shape\":[2,3],\"data_offsets\":[0,24]}}", d24),
       "appears twice"},
      {make_st("{\"__metadata__\":{\"k\":1}," + a + "}", d24), "must be strings"},
      {make_st("{\"__metadata__\":{\"k\":\"v\",\"k\":\"w\"}," + a + "}", d24), "metadata key 'k' appears twice"},
      {make_st("{\"__metadata__\":{},\"__metadata__\":{}," + a + "}", d24), "\"__metadata__\" appears twice"},
      {make_st("{" + a + ",}", d24), "trailing comma"},
      {make_st("{" + a, d24), "expected ',' or '}'"},
      {make_st("{" + a + "} x", d24), "after the end"},
      {make_st("[" + a + "]", d24), "expected an object"},
      {make_st("{\"a\":true}", ""), "expected an object"},
      {make_st("{\"a\xff\":{}}", ""), "not valid UTF-8"},
      {make_st("{\"a\\ud800\":{}}", ""), "high surrogate without a low surrogate"},
      {make_st("{\"a\\udc00\":{}}", ""), "lone low surrogate"},
      {make_st("{\"a\\q\":{}}", ""), "unknown escape"},
      {make_st("{\"a\n\":{}}", ""), "control character"},
      {make_st("{\"a", ""), "unterminated string"},
      {make_st("", ""), "expected an object"},
      {make_st("{\"a\":{\"dtype\":\"F32\",\"shape\":[[[[[[[[1]]]]]]]]}}", ""), "expected an integer"},
  };
  for (const auto& c : cases) {
    CAPTURE(c.second);
    check_refused([&] { (void)io::load_safetensors(bytes_of(c.first), "bad.safetensors"); }, "bad.safetensors",
                  c.second);
  }
  // Empty tensors may share an offset with each other and with the next tensor.
  const auto v = io::load_safetensors(
      bytes_of(make_st("{" + entry("e", "F32", "[0]", "[0,0]") + "," + entry("d", "I8", "[0,2]", "[0,0]") + "," +
                       entry("c", "U8", "[2]", "[0,2]") + "}",
                       "\x05\x06")),
      "ok.st");
  CHECK(v.keys() == std::vector<std::string>{"e", "d", "c"});
  CHECK(v.at("c").tensor().to_vector<std::uint8_t>() == std::vector<std::uint8_t>{5, 6});
}

TEST_CASE("JSON reader: escapes, surrogate pairs, integers, depth limit, duplicate keys") {
  const Value v = io::parse_json(
      R"( {"a": [1, -2, 9223372036854775807], "s": "\"\\\/\b\f\n\r\t\u00e9\ud83d\ude00", "o": {}} )", "t.json");
  CHECK(v.at("a").at(std::size_t(2)).as<std::int64_t>() == 9223372036854775807);
  CHECK(v.at("a").at(std::size_t(1)).as<std::int64_t>() == -2);
  CHECK(v.at("s").as<std::string>() == "\"\\/\b\f\n\r\t\xc3\xa9\xf0\x9f\x98\x80");
  CHECK(v.at("o").size() == 0);
  CHECK(io::json_quote("a\"b\\c\n\x01µ") == "\"a\\\"b\\\\c\\n\\u0001µ\"");
  CHECK(io::parse_json(io::json_quote("x\x1f\"y"), "q").as<std::string>() == "x\x1f\"y");
  check_refused([] { (void)io::parse_json(std::string(100, '[') + std::string(100, ']'), "deep.json"); }, "deep.json",
                "nesting deeper than 64");
  CHECK(io::parse_json(std::string(64, '[') + std::string(64, ']'), "ok").is_list());
  check_refused([] { (void)io::parse_json("{\"k\":1,\"k\":2}", "dup.json"); }, "dup.json", "duplicate key");
  for (const std::string bad : {"true", "null", "1.5", "1e3", "01", "-", "\"\\u12\"", "9223372036854775808", "[1 2]",
                                "{\"a\" 1}", "{1:2}", "\"\\ud83d\\u0041\""}) {
    CAPTURE(bad);
    check_refused([&] { (void)io::parse_json(bad, "bad.json"); }, "bad.json");
  }
  CHECK(io::utf8_error_offset("ok µ €") == std::string_view::npos);
  CHECK(io::utf8_error_offset("\xc0\x80") == 0);          // overlong
  CHECK(io::utf8_error_offset("a\xed\xa0\x80") == 1);     // a surrogate
  CHECK(io::utf8_error_offset("ab\xf4\x90\x80\x80") == 2);  // above U+10FFFF
  CHECK(io::utf8_error_offset("\xe2\x82") == 0);          // truncated
}
