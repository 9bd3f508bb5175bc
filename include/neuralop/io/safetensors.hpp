// safetensors files (Hugging Face): an 8-byte little-endian header length N, N bytes of JSON
// describing each tensor (dtype, shape, byte range) plus optional "__metadata__" strings, then
// the data. load_safetensors validates everything the header claims; save_safetensors writes
// what the safetensors library writes.
#pragma once

#include <algorithm>
#include <cstdint>
#include <numeric>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "neuralop/io/array_data.hpp"
#include "neuralop/io/json.hpp"
#include "neuralop/io/value.hpp"

namespace neuralop::io {

// The header's "__metadata__": free-form str -> str pairs, in file order.
using SafetensorsMetadata = std::vector<std::pair<std::string, std::string>>;

struct SafetensorsContents {
  Value tensors;                 // dict name -> tensor, in the order of their data offsets
  SafetensorsMetadata metadata;  // empty when the header has none
};

namespace detail {

inline constexpr std::uint64_t safetensors_max_header = 100'000'000;  // the reference library's limit
inline constexpr std::size_t safetensors_max_rank = 64;  // as NumPy; bounds what a header can make us hold

struct SafetensorsDType {
  std::string_view code;
  DType dtype;
  int rank;  // the safetensors library's order of dtypes ("alignment"); files list higher first
};
inline constexpr SafetensorsDType safetensors_dtypes[] = {
    {"BOOL", DType::bool_, 0},    {"U8", DType::uint8, 1},    {"I8", DType::int8, 2},
    {"I16", DType::int16, 3},     {"F16", DType::float16, 4}, {"BF16", DType::bfloat16, 5},
    {"I32", DType::int32, 6},     {"F32", DType::float32, 7}, {"C64", DType::complex64, 8},
    {"F64", DType::float64, 9},   {"I64", DType::int64, 10}};

inline const SafetensorsDType* safetensors_dtype(DType d) {
  for (const auto& e : safetensors_dtypes)
    if (e.dtype == d) return &e;
  return nullptr;
}

inline DType safetensors_dtype_from_code(const std::string& code, const std::string& where) {
  for (const auto& e : safetensors_dtypes)
    if (e.code == code) return e.dtype;
  if (code == "U16" || code == "U32" || code == "U64")
    throw_error<io_error>(where, ": dtype ", code, " (unsigned ", code.substr(1),
                          "-bit integers) is not supported: no neuralop dtype holds all its values");
  if (code.starts_with("F8_") || code.starts_with("F6_") || code == "F4")
    throw_error<io_error>(where, ": dtype ", code, " (a float of fewer than 16 bits) is not supported");
  throw_error<io_error>(where, ": unknown dtype '", printable(code),
                        "' (supported: F64 F32 F16 BF16 I64 I32 I16 I8 U8 BOOL C64)");
}

struct SafetensorsEntry {
  std::string name;
  DType dtype = DType::float32;
  std::vector<std::uint64_t> shape;
  std::uint64_t begin = 0, end = 0;
};

inline std::string format_u64s(const std::vector<std::uint64_t>& v) {
  std::string s = "[";
  for (std::size_t i = 0; i < v.size(); ++i) s += (i ? ", " : "") + std::to_string(v[i]);
  return s + "]";
}

// One tensor's {"dtype": ..., "shape": [...], "data_offsets": [begin, end]}.
inline SafetensorsEntry read_safetensors_entry(JsonReader& j, std::string name, const std::string& where) {
  SafetensorsEntry e;
  e.name = std::move(name);
  const std::string what = where + ": tensor '" + e.name + "'";
  bool have_dtype = false, have_shape = false, have_offsets = false;
  j.begin_object("tensor '" + e.name + "'");
  std::string field;
  while (j.next_member(field)) {
    if (field == "dtype") {
      if (have_dtype) j.fail("tensor '", e.name, "': \"dtype\" appears twice");
      e.dtype = safetensors_dtype_from_code(j.string("\"dtype\""), what);
      have_dtype = true;
    } else if (field == "shape") {
      if (have_shape) j.fail("tensor '", e.name, "': \"shape\" appears twice");
      j.begin_array("\"shape\"");
      while (j.next_element()) {
        if (e.shape.size() == safetensors_max_rank)
          j.fail("tensor '", e.name, "': more than ", safetensors_max_rank, " axes");
        e.shape.push_back(j.uint("a size in \"shape\""));
      }
      have_shape = true;
    } else if (field == "data_offsets") {
      if (have_offsets) j.fail("tensor '", e.name, "': \"data_offsets\" appears twice");
      std::vector<std::uint64_t> off;
      j.begin_array("\"data_offsets\"");
      while (j.next_element()) {
        if (off.size() == 2) j.fail("tensor '", e.name, "': \"data_offsets\" has more than 2 numbers");
        off.push_back(j.uint("\"data_offsets\""));
      }
      if (off.size() != 2) j.fail("tensor '", e.name, "': \"data_offsets\" needs 2 numbers, has ", off.size());
      e.begin = off[0];
      e.end = off[1];
      have_offsets = true;
    } else {
      j.fail("tensor '", e.name, "': unexpected field \"", field, "\" (expected dtype, shape, data_offsets)");
    }
  }
  if (!have_dtype || !have_shape || !have_offsets)
    throw_error<io_error>(what, ": missing \"", !have_dtype ? "dtype" : !have_shape ? "shape" : "data_offsets",
                          "\" in the header");
  return e;
}

}  // namespace detail

// A safetensors file held in memory; `where` names it in errors. The tensors point into `file`.
// Besides the JSON itself, the header must be <= 100 MB, every tensor's byte range must match
// its dtype and shape, and the ranges must tile the data section exactly (no overlap, no gap,
// nothing after), as the safetensors library requires.
inline SafetensorsContents read_safetensors(const Bytes& file, const std::string& where) {
  Reader r(file.span(), where);
  const std::uint64_t n = r.u64("the 8-byte header length");
  if (n > detail::safetensors_max_header)
    throw_error<io_error>(where, ": the header length ", n,
                          " is over the 100 MB limit (corrupt or not a safetensors file)");
  const std::string_view header = r.str(static_cast<std::size_t>(n), "the JSON header");
  const std::size_t data_start = r.pos(), data_size = r.remaining();

  JsonReader j(header, where + ": JSON header", 8);
  std::vector<detail::SafetensorsEntry> entries;
  SafetensorsContents out;
  bool have_metadata = false;
  j.begin_object("the header");
  std::string key;
  while (j.next_member(key)) {
    if (key != "__metadata__") {
      entries.push_back(detail::read_safetensors_entry(j, key, where));
      continue;
    }
    if (have_metadata) j.fail("\"__metadata__\" appears twice");
    have_metadata = true;
    j.begin_object("\"__metadata__\"");
    std::string k;
    while (j.next_member(k)) {
      if (j.peek() != '"') j.fail("\"__metadata__\" values must be strings; the one for \"", k, "\" is not");
      out.metadata.emplace_back(k, j.string("a metadata value"));
    }
  }
  j.expect_end();

  std::vector<std::string> keys;
  for (const auto& e : entries) keys.push_back(e.name);
  detail::refuse_duplicates(keys, where + ": the tensor name");
  keys.clear();
  for (const auto& m : out.metadata) keys.push_back(m.first);
  detail::refuse_duplicates(keys, where + ": the metadata key");

  for (const auto& e : entries) {
    const std::string what = where + ": tensor '" + e.name + "'";
    const index_t numel = detail::checked_numel(e.shape, what);
    const std::uint64_t nbytes = static_cast<std::uint64_t>(numel) * itemsize(e.dtype);
    if (e.begin > e.end)
      throw_error<io_error>(what, ": data_offsets [", e.begin, ", ", e.end, "] end before they begin");
    if (e.end > data_size)
      throw_error<io_error>(what, ": data_offsets [", e.begin, ", ", e.end, "] reach past the data section (",
                            data_size, " bytes): truncated?");
    if (e.end - e.begin != nbytes)
      throw_error<io_error>(what, ": data_offsets [", e.begin, ", ", e.end, "] hold ", e.end - e.begin,
                            " bytes, but a ", name(e.dtype), " tensor of shape ", detail::format_u64s(e.shape),
                            " needs ", nbytes);
  }
  // The order of the data; empty tensors that share an offset keep their header order.
  std::vector<std::size_t> order(entries.size());
  std::iota(order.begin(), order.end(), std::size_t(0));
  std::stable_sort(order.begin(), order.end(), [&](std::size_t a, std::size_t b) {
    return std::pair(entries[a].begin, entries[a].end) < std::pair(entries[b].begin, entries[b].end);
  });
  std::uint64_t covered = 0;
  const detail::SafetensorsEntry* prev = nullptr;
  for (std::size_t i : order) {
    const auto& e = entries[i];
    if (e.begin < covered)
      throw_error<io_error>(where, ": tensors '", prev->name, "' [", prev->begin, ", ", prev->end, ") and '", e.name,
                            "' [", e.begin, ", ", e.end, ") overlap");
    if (e.begin > covered)
      throw_error<io_error>(where, ": ", e.begin - covered, " bytes of the data section before tensor '", e.name,
                            "' belong to no tensor");
    covered = e.end;
    if (e.end > e.begin) prev = &e;
  }
  if (covered != data_size)
    throw_error<io_error>(where, ": ", data_size - covered, " bytes after the last tensor's data belong to no tensor");

  out.tensors = Value::dict();
  for (std::size_t i : order) {
    const auto& e = entries[i];
    Bytes data = file.sub(data_start + static_cast<std::size_t>(e.begin), static_cast<std::size_t>(e.end - e.begin));
    out.tensors.append_item(Value(e.name), Value(RawTensor(e.dtype, detail::to_index_shape(e.shape), std::move(data))));
  }
  out.tensors.set_where(where);
  return out;
}

inline Value load_safetensors(const Bytes& file, const std::string& where) {
  return read_safetensors(file, where).tensors;
}
inline Value load_safetensors(const std::string& path) { return load_safetensors(read_file(path), path); }
inline SafetensorsMetadata load_safetensors_metadata(const Bytes& file, const std::string& where) {
  return read_safetensors(file, where).metadata;
}
inline SafetensorsMetadata load_safetensors_metadata(const std::string& path) {
  return load_safetensors_metadata(read_file(path), path);
}

// Writes a dict of str -> tensor (and optional metadata) atomically, as the safetensors library
// does: tensors ordered by dtype (widest first, as it ranks them) then name, compact JSON padded
// with spaces to a multiple of 8 bytes, data contiguous. complex128 has no safetensors dtype.
inline void save_safetensors(const std::string& path, const Value& tensors, const SafetensorsMetadata& metadata = {}) {
  if (!tensors.is_dict())
    throw_error<io_error>(path, ": save_safetensors expects a dict of tensors, got ", tensors.describe());
  struct Item {
    std::string name;
    const RawTensor* t;
    const detail::SafetensorsDType* d;
  };
  std::vector<Item> items;
  for (const auto& [k, v] : tensors.dict_ref().items) {
    if (k.kind() != Value::Kind::string)
      throw_error<io_error>(path, ": save_safetensors: the key ", k.repr(), " is not a str");
    std::string key = k.as<std::string>();
    const std::string what = path + ": save_safetensors: tensor '" + key + "'";
    if (key == "__metadata__") throw_error<io_error>(what, ": the name is reserved for the metadata");
    if (utf8_error_offset(key) != std::string_view::npos) throw_error<io_error>(what, ": the name is not valid UTF-8");
    if (!v.is_tensor()) throw_error<io_error>(what, ": the value is a ", v.describe(), ", not a tensor");
    const RawTensor& t = v.tensor();
    t.validate(what);
    if (t.rank() > detail::safetensors_max_rank)
      throw_error<io_error>(what, ": more than ", detail::safetensors_max_rank, " axes (the reader refuses them)");
    const auto* d = detail::safetensors_dtype(t.dtype);
    if (!d) throw_error<io_error>(what, ": ", name(t.dtype), " has no safetensors dtype");
    items.push_back({std::move(key), &t, d});
  }
  std::vector<std::string> keys;
  for (const auto& it : items) keys.push_back(it.name);
  detail::refuse_duplicates(keys, path + ": save_safetensors: the tensor name");
  keys.clear();
  for (const auto& [k, v] : metadata) {
    if (utf8_error_offset(k) != std::string_view::npos || utf8_error_offset(v) != std::string_view::npos)
      throw_error<io_error>(path, ": save_safetensors: the metadata entry '", detail::printable(k),
                            "' is not valid UTF-8");
    keys.push_back(k);
  }
  detail::refuse_duplicates(keys, path + ": save_safetensors: the metadata key");
  std::sort(items.begin(), items.end(), [](const Item& a, const Item& b) {
    return a.d->rank != b.d->rank ? a.d->rank > b.d->rank : a.name < b.name;
  });

  std::string json = "{";
  if (!metadata.empty()) {
    json += "\"__metadata__\":{";
    for (std::size_t i = 0; i < metadata.size(); ++i)
      json += (i ? "," : "") + json_quote(metadata[i].first) + ":" + json_quote(metadata[i].second);
    json += "}";
  }
  std::uint64_t offset = 0;
  for (std::size_t i = 0; i < items.size(); ++i) {
    const RawTensor& t = *items[i].t;
    json += (i || !metadata.empty() ? "," : "") + json_quote(items[i].name) + ":{\"dtype\":\"" +
            std::string(items[i].d->code) + "\",\"shape\":[";
    for (std::size_t a = 0; a < t.shape.size(); ++a) json += (a ? "," : "") + std::to_string(t.shape[a]);
    json += "],\"data_offsets\":[" + std::to_string(offset) + "," + std::to_string(offset + t.nbytes()) + "]}";
    offset += t.nbytes();
  }
  json += "}";
  json += std::string((8 - json.size() % 8) % 8, ' ');
  if (json.size() > detail::safetensors_max_header)
    throw_error<io_error>(path, ": save_safetensors: the header would be ", json.size(),
                          " bytes, over the 100 MB limit");

  AtomicFile f(path);
  ByteWriter len;
  len.u64(json.size());
  f.write(len.out);
  f.write(json);
  for (const auto& it : items) f.write(it.t->contiguous_bytes().span());
  f.commit();
}

}  // namespace neuralop::io
