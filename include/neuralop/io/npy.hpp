// NumPy files: load_npy/save_npy for one array (.npy, format versions 1.0-3.0) and
// load_npz/save_npz for a dict of arrays (a zip of NAME.npy members, stored or deflated).
// Reading checks every header field before use; writing produces what np.save writes.
#pragma once

#include <algorithm>
#include <cstdint>
#include <cstring>
#include <string>
#include <string_view>
#include <vector>

#include "neuralop/io/array_data.hpp"
#include "neuralop/io/value.hpp"
#include "neuralop/io/zip.hpp"

namespace neuralop::io {

namespace detail {

inline constexpr std::string_view npy_magic{"\x93NUMPY", 6};
inline constexpr std::size_t npy_max_rank = 64;  // NumPy's own limit (NPY_MAXDIMS)

struct NpyHeader {
  DType dtype = DType::float32;
  bool big_endian = false;
  bool fortran_order = false;
  std::vector<std::uint64_t> shape;
};

// A NumPy type string ('<f4', '>i8', '|b1'...) as a dtype and byte order.
inline void parse_npy_descr(std::string_view descr, NpyHeader& h, const std::string& where) {
  std::string_view t = descr;
  char order = '|';
  if (!t.empty() && (t[0] == '<' || t[0] == '>' || t[0] == '|' || t[0] == '=')) {
    order = t[0];
    t.remove_prefix(1);
  }
  static constexpr std::pair<std::string_view, DType> table[] = {
      {"f4", DType::float32}, {"f8", DType::float64}, {"f2", DType::float16},   {"i1", DType::int8},
      {"i2", DType::int16},   {"i4", DType::int32},   {"i8", DType::int64},     {"u1", DType::uint8},
      {"b1", DType::bool_},   {"?", DType::bool_},    {"c8", DType::complex64}, {"c16", DType::complex128}};
  for (auto [code, d] : table)
    if (code == t) {
      h.dtype = d;
      h.big_endian = order == '>' && itemsize(d) > 1;  // '=' and '|' mean native: little-endian
      return;
    }
  if (t == "u2" || t == "u4" || t == "u8")
    throw_error<io_error>(where, ": arrays of unsigned ", t == "u2" ? 16 : t == "u4" ? 32 : 64,
                          "-bit integers (descr '", descr,
                          "') are not supported: no neuralop dtype holds all their values; convert the array in "
                          "NumPy first (e.g. arr.astype(np.int64))");
  if (t == "O")
    throw_error<io_error>(where, ": object arrays (descr '", descr,
                          "') are not supported: they hold pickled Python objects, not numbers");
  throw_error<io_error>(where, ": unsupported dtype '", descr,
                        "' (supported: f2 f4 f8 i1 i2 i4 i8 u1 b1 c8 c16, little- or big-endian)");
}

// The strict grammar of the header np.save writes, a Python dict literal:
//   {'descr': '<f4', 'fortran_order': False, 'shape': (3, 4), }
// Keys in any order, each exactly once; quotes ' or "; Python 2 long suffixes (3L) accepted.
class NpyHeaderParser {
 public:
  NpyHeaderParser(std::string_view text, const std::string& where) : s_(text), where_(where) {}

  NpyHeader parse() {
    NpyHeader h;
    bool have_descr = false, have_order = false, have_shape = false;
    expect('{');
    while (true) {
      if (peek() == '}') break;
      const std::string key(quoted("a key"));
      expect(':');
      if (key == "descr") {
        if (have_descr) fail("the key 'descr' appears twice");
        if (peek() == '[')
          fail("structured arrays (a list of fields as 'descr') are not supported, only plain numeric dtypes");
        parse_npy_descr(quoted("'descr'"), h, where_);
        have_descr = true;
      } else if (key == "fortran_order") {
        if (have_order) fail("the key 'fortran_order' appears twice");
        h.fortran_order = boolean();
        have_order = true;
      } else if (key == "shape") {
        if (have_shape) fail("the key 'shape' appears twice");
        h.shape = tuple();
        have_shape = true;
      } else {
        fail("unexpected key '", printable(key), "' (a .npy header has 'descr', 'fortran_order' and 'shape')");
      }
      if (peek() == ',') {
        ++p_;
        continue;
      }
      if (peek() != '}') fail("expected ',' or '}'");
    }
    ++p_;
    skip_ws();
    if (p_ != s_.size()) fail("unexpected text after the closing '}'");
    if (!have_descr || !have_order || !have_shape)
      fail("missing the key '", !have_descr ? "descr" : !have_order ? "fortran_order" : "shape", "'");
    return h;
  }

 private:
  std::string_view s_;
  const std::string& where_;
  std::size_t p_ = 0;

  template <class... A>
  [[noreturn]] void fail(A&&... a) const {
    throw_error<io_error>(where_, ": bad .npy header at character ", p_, ": ", std::forward<A>(a)..., " (header: ",
                          printable(s_), ")");
  }
  void skip_ws() {
    while (p_ < s_.size() && (s_[p_] == ' ' || s_[p_] == '\t' || s_[p_] == '\n' || s_[p_] == '\r')) ++p_;
  }
  char peek() {
    skip_ws();
    return p_ < s_.size() ? s_[p_] : '\0';
  }
  void expect(char c) {
    if (peek() != c) fail("expected '", c, "'");
    ++p_;
  }
  std::string_view quoted(const char* what) {
    const char q = peek();
    if (q != '\'' && q != '"') fail("expected a quoted string for ", what);
    const std::size_t start = ++p_;
    while (p_ < s_.size() && s_[p_] != q) {
      if (s_[p_] == '\\') fail("escapes in strings are not supported");
      ++p_;
    }
    if (p_ >= s_.size()) fail("unterminated string");
    return s_.substr(start, p_++ - start);
  }
  bool boolean() {
    peek();
    for (const bool b : {true, false}) {
      const std::string_view word = b ? "True" : "False";
      if (s_.substr(p_, word.size()) == word) {
        p_ += word.size();
        return b;
      }
    }
    fail("expected True or False for 'fortran_order'");
  }
  // ( ), (5,), (2, 3), (2, 3,): a tuple of non-negative integers.
  std::vector<std::uint64_t> tuple() {
    expect('(');
    std::vector<std::uint64_t> out;
    while (true) {
      const char c = peek();
      if (c == ')') break;
      if (c < '0' || c > '9') fail(c == '-' ? "negative size in 'shape'" : "expected an integer in 'shape'");
      if (out.size() == npy_max_rank) fail("more than ", npy_max_rank, " axes in 'shape'");
      const std::size_t start = p_;
      std::uint64_t v = 0;
      while (p_ < s_.size() && s_[p_] >= '0' && s_[p_] <= '9') {
        if (v > max_array_elements) fail("size too large in 'shape'");
        v = v * 10 + static_cast<unsigned>(s_[p_++] - '0');
      }
      if (s_[start] == '0' && p_ - start > 1) fail("leading zero in a size");
      if (p_ < s_.size() && (s_[p_] == 'L' || s_[p_] == 'l')) ++p_;  // Python 2 long
      out.push_back(v);
      const char d = peek();
      if (d == ',') {
        ++p_;
        continue;
      }
      if (d != ')') fail("expected ',' or ')' in 'shape'");
      if (out.size() == 1) fail("'shape' is (n) without a comma, which Python reads as an int, not a tuple");
    }
    ++p_;
    return out;
  }
};

// "<f4" etc.: what np.save writes for each dtype (bfloat16 has no NumPy dtype).
inline std::string_view npy_descr(DType d, const std::string& where) {
  switch (d) {
    case DType::float32: return "<f4";
    case DType::float64: return "<f8";
    case DType::float16: return "<f2";
    case DType::int8: return "|i1";
    case DType::int16: return "<i2";
    case DType::int32: return "<i4";
    case DType::int64: return "<i8";
    case DType::uint8: return "|u1";
    case DType::bool_: return "|b1";
    case DType::complex64: return "<c8";
    case DType::complex128: return "<c16";
    case DType::bfloat16: break;
  }
  throw_error<io_error>(where, ": bfloat16 has no NumPy dtype; convert the tensor to float32 (or save it as .pt "
                               "or .safetensors) first");
}

// Magic, version 1.0, header length and header exactly as np.save (NumPy 2) writes them: keys
// sorted, spare spaces for growing the first axis in place, and padding with spaces to a
// multiple of 64 bytes (NumPy pads 1 to 64), so that the data are aligned.
inline std::string npy_header(const RawTensor& t, const std::string& where) {
  if (t.rank() > npy_max_rank)
    throw_error<io_error>(where, ": a ", t.describe(), " has more than ", npy_max_rank, " axes, NumPy's limit");
  std::string dict = "{'descr': '" + std::string(npy_descr(t.dtype, where)) + "', 'fortran_order': False, 'shape': (";
  for (std::size_t i = 0; i < t.shape.size(); ++i) dict += (i ? ", " : "") + std::to_string(t.shape[i]);
  dict += t.shape.size() == 1 ? ",), }" : "), }";
  if (!t.shape.empty()) dict += std::string(21 - std::min<std::size_t>(21, std::to_string(t.shape[0]).size()), ' ');
  const std::size_t hlen = dict.size() + 1, pad = 64 - (10 + hlen) % 64;  // 10: magic, version, length
  ByteWriter w;
  w.bytes(npy_magic);
  w.u8(1);
  w.u8(0);
  w.u16(static_cast<std::uint16_t>(hlen + pad));  // <= 64 axes of <= 16 digits: far below 65535
  return std::string(reinterpret_cast<const char*>(w.out.data()), w.out.size()) + dict + std::string(pad, ' ') + "\n";
}

inline std::vector<std::byte> npy_bytes(const RawTensor& t, const std::string& where) {
  t.validate(where);
  const std::string header = npy_header(t, where);
  const Bytes data = t.contiguous_bytes();
  std::vector<std::byte> out(header.size() + data.size());
  std::memcpy(out.data(), header.data(), header.size());
  if (!data.empty()) std::memcpy(out.data() + header.size(), data.data(), data.size());
  return out;
}

}  // namespace detail

// One .npy file held in memory, as a tensor Value; `where` names it in errors. The tensor points
// into `file` (Fortran-ordered data keep their layout, expressed by column-major strides);
// big-endian data are byte-swapped into a new buffer.
inline Value load_npy(const Bytes& file, const std::string& where) {
  Reader r(file.span(), where);
  if (file.size() < 6 || r.str(6, "magic") != detail::npy_magic)
    throw_error<io_error>(where, ": not a .npy file (no \\x93NUMPY magic)");
  const std::uint8_t major = r.u8("version"), minor = r.u8("version");
  if (major < 1 || major > 3 || minor != 0)
    throw_error<io_error>(where, ": unsupported .npy format version ", int(major), ".", int(minor),
                          " (supported: 1.0, 2.0, 3.0)");
  const std::uint32_t hlen = major == 1 ? r.u16("header length") : r.u32("header length");
  const std::string_view text = r.str(hlen, "header");
  const detail::NpyHeader h = detail::NpyHeaderParser(text, where).parse();
  const index_t numel = detail::checked_numel(h.shape, where);
  const std::size_t nbytes = static_cast<std::size_t>(numel) * itemsize(h.dtype);
  if (nbytes > r.remaining())
    throw_error<io_error>(where, ": truncated: a ", name(h.dtype), " array of shape ",
                          format_shape(detail::to_index_shape(h.shape)), " needs ", nbytes, " bytes of data at offset ",
                          r.pos(), ", only ", r.remaining(), " remain");
  if (nbytes < r.remaining())
    throw_error<io_error>(where, ": ", r.remaining() - nbytes, " bytes after the data of a ", name(h.dtype),
                          " array of shape ", format_shape(detail::to_index_shape(h.shape)),
                          " (corrupt header or file?)");
  Bytes data = file.sub(r.pos(), nbytes);
  if (h.big_endian) data = detail::byte_swapped(data.span(), h.dtype);
  RawTensor t(h.dtype, detail::to_index_shape(h.shape), std::move(data));
  if (h.fortran_order) {  // column-major: the first axis varies fastest
    index_t acc = 1;
    for (std::size_t i = 0; i < t.shape.size(); ++i) {
      t.strides[i] = acc;
      acc *= t.shape[i];
    }
  }
  t.validate(where);
  return Value(std::move(t)).set_where(where);
}

inline Value load_npy(const std::string& path) { return load_npy(read_file(path), path); }

// Writes t as np.save does (format 1.0, C order, little-endian), atomically.
inline void save_npy(const std::string& path, const RawTensor& t) {
  const auto bytes = detail::npy_bytes(t, path);
  AtomicFile f(path);
  f.write(bytes);
  f.commit();
}
template <TensorScalar T, std::size_t R, class B>
void save_npy(const std::string& path, const Tensor<T, R, B>& t) {
  save_npy(path, RawTensor::from_tensor(t));
}

// An .npz archive held in memory: a dict from member name (without ".npy") to tensor, in
// archive order. Stored and deflated members; any member that is not NAME.npy is refused.
inline Value load_npz(const Bytes& file, const std::string& where) {
  ZipReader zip(file, where);
  Value d = Value::dict();
  std::vector<std::string> keys;
  for (const ZipEntry& e : zip.entries()) {
    if (e.name.size() < 4 || !e.name.ends_with(".npy"))
      throw_error<io_error>(where, ": member '", detail::printable(e.name), "' is not a .npy array (name.npy)");
    keys.push_back(e.name.substr(0, e.name.size() - 4));
    const Bytes member = zip.read(e);
    Value t = load_npy(member, where + ": member '" + e.name + "'");
    d.append_item(Value(keys.back()), std::move(t));
  }
  detail::refuse_duplicates(keys, where + ": the array name");
  d.set_where(where);
  return d;
}

inline Value load_npz(const std::string& path) { return load_npz(read_file(path), path); }

// Writes a dict of str -> tensor as np.savez (compressed: np.savez_compressed) does, atomically.
// Stored members start at multiples of 64 bytes, so their data are aligned when mapped.
inline void save_npz(const std::string& path, const Value& arrays, bool compressed = false) {
  if (!arrays.is_dict()) throw_error<io_error>(path, ": save_npz expects a dict of tensors, got ", arrays.describe());
  std::vector<std::string> keys;
  for (const auto& [k, v] : arrays.dict_ref().items) {
    if (k.kind() != Value::Kind::string)
      throw_error<io_error>(path, ": save_npz: the key ", k.repr(), " is not a str");
    keys.push_back(k.as<std::string>());
    if (!v.is_tensor())
      throw_error<io_error>(path, ": save_npz: the value for '", keys.back(), "' is a ", v.describe(),
                            ", not a tensor");
  }
  auto sorted = keys;
  detail::refuse_duplicates(sorted, path + ": save_npz: the key");
  ZipWriter zip(path, ZipWriteOptions{.deflate = compressed, .alignment = 64});
  std::size_t i = 0;
  for (const auto& [k, v] : arrays.dict_ref().items) {
    const std::string& key = keys[i++];
    zip.add(key + ".npy", detail::npy_bytes(v.tensor(), path + ": array '" + key + "'"));
  }
  zip.finish();
}

}  // namespace neuralop::io
