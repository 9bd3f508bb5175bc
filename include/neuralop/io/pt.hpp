// PyTorch files: load_pt reads what torch.save writes (zip format: <root>/data.pkl + data/<key>
// storages), safely (no code runs; unknown globals become Opaque values); save_pt writes files
// that torch.load(path, weights_only=True) reads.
#pragma once

#include <map>
#include <string>
#include <tuple>

#include "neuralop/io/pickle.hpp"
#include "neuralop/io/zip.hpp"

namespace neuralop::io {

struct PtLoadOptions {
  // Refuse any Python global the reader does not interpret (instead of an Opaque placeholder).
  bool strict = false;
  // Check the CRC-32 of every storage (torch does not); off saves a pass over the data.
  bool verify_crc = true;
};

namespace detail {

inline std::optional<DType> torch_storage_dtype(std::string_view global) {
  static constexpr std::pair<std::string_view, DType> table[] = {
      {"torch.FloatStorage", DType::float32},       {"torch.DoubleStorage", DType::float64},
      {"torch.HalfStorage", DType::float16},        {"torch.BFloat16Storage", DType::bfloat16},
      {"torch.CharStorage", DType::int8},           {"torch.ShortStorage", DType::int16},
      {"torch.IntStorage", DType::int32},           {"torch.LongStorage", DType::int64},
      {"torch.ByteStorage", DType::uint8},          {"torch.BoolStorage", DType::bool_},
      {"torch.ComplexFloatStorage", DType::complex64}, {"torch.ComplexDoubleStorage", DType::complex128}};
  for (auto [n, d] : table)
    if (n == global) return d;
  return std::nullopt;
}
inline std::string_view torch_storage_name(DType d) {
  switch (d) {
    case DType::float32: return "FloatStorage";
    case DType::float64: return "DoubleStorage";
    case DType::float16: return "HalfStorage";
    case DType::bfloat16: return "BFloat16Storage";
    case DType::int8: return "CharStorage";
    case DType::int16: return "ShortStorage";
    case DType::int32: return "IntStorage";
    case DType::int64: return "LongStorage";
    case DType::uint8: return "ByteStorage";
    case DType::bool_: return "BoolStorage";
    case DType::complex64: return "ComplexFloatStorage";
    case DType::complex128: return "ComplexDoubleStorage";
  }
  return "?";
}

inline std::vector<index_t> int_tuple(const Value& v, const char* what) {
  std::vector<index_t> out;
  for (const Value& x : v.items_ref(what)) out.push_back(x.as<index_t>());
  return out;
}

// Fails on the first Opaque value in the tree (strict mode).
inline void refuse_opaque(const Value& root) {
  std::vector<Value> todo{root};
  while (!todo.empty()) {
    Value v = std::move(todo.back());
    todo.pop_back();
    if (v.is_opaque())
      v.fail("strict mode: the file holds the Python object ", v.opaque().name,
             ", which the reader does not interpret");
    // Children pushed in reverse: the first offending object in file order is the one named.
    if (v.is_dict()) {
      auto items = v.items();
      for (auto it = items.rbegin(); it != items.rend(); ++it) todo.push_back(it->second);
    } else if (v.is_list() || v.is_tuple()) {
      auto items = v.elements();
      for (auto it = items.rbegin(); it != items.rend(); ++it) todo.push_back(*it);
    }
  }
}

}  // namespace detail

// Reads a torch.save file held in memory; `where` names it in errors.
inline Value load_pt(const Bytes& file, const std::string& where, const PtLoadOptions& opt = {}) {
  const std::string_view head = file.view().substr(0, 4);
  if (head != std::string_view("PK\x03\x04", 4)) {
    // The legacy format opens with a pickled magic number, 0x1950a86a20f9469cfc6c.
    if (file.view().starts_with(std::string_view("\x80\x02\x8a\x0a\x6c\xfc\x9c\x46\xf9\x20\x6a\xa8\x50\x19", 14)))
      throw_error<io_error>(where, ": this is the legacy (pre-1.6, non-zip) torch.save format, which is not supported;"
                                   " re-save it in PyTorch with torch.save(torch.load(f), f2)");
    throw_error<io_error>(where, ": not a PyTorch zip archive (no zip signature)");
  }
  ZipReader zip(file, where);
  std::string root;
  for (const auto& e : zip.entries()) {
    const std::size_t slash = e.name.find('/');
    if (slash != std::string::npos && e.name.substr(slash + 1) == "data.pkl") {
      root = e.name.substr(0, slash + 1);
      break;
    }
  }
  const ZipEntry* pkl = root.empty() ? nullptr : zip.find(root + "data.pkl");
  if (!pkl) throw_error<io_error>(where, ": no <archive>/data.pkl member: not a torch.save file");
  if (const ZipEntry* bo = zip.find(root + "byteorder")) {
    const Bytes b = zip.read(*bo);
    if (b.view() != "little")
      throw_error<io_error>(where, ": byte order '", b.view(), "' is not supported (only little-endian)");
  }
  const Bytes pickle = zip.read(*pkl);

  std::map<std::string, Bytes> storages;  // key -> bytes, so tensors that share a storage share it here
  UnpickleHooks hooks;
  hooks.persistent_load = [&](const Value& pid) -> Value {
    // ('storage', <torch.XStorage global>, key, location, numel)
    if (!pid.is_tuple() || pid.size() != 5 || pid.at(std::size_t(0)).kind() != Value::Kind::string ||
        pid.at(std::size_t(0)).as<std::string>() != "storage")
      throw_error<io_error>(where, ": unsupported persistent id ", pid.repr());
    const Value type = pid.at(std::size_t(1));
    const std::string key = pid.at(std::size_t(2)).as<std::string>();
    const auto dtype = type.is_opaque() ? detail::torch_storage_dtype(type.opaque().name) : std::nullopt;
    if (!dtype) throw_error<io_error>(where, ": storage '", key, "' has the unsupported type ", type.repr());
    const index_t numel = pid.at(std::size_t(4)).as<index_t>();
    auto it = storages.find(key);
    if (it == storages.end()) {
      const ZipEntry* e = zip.find(root + "data/" + key);
      if (!e) throw_error<io_error>(where, ": storage '", key, "' has no member ", root, "data/", key);
      it = storages.emplace(key, zip.read(*e, opt.verify_crc)).first;
    }
    const std::size_t item = itemsize(*dtype);
    if (numel < 0 || static_cast<std::uint64_t>(numel) > it->second.size() / item)
      throw_error<io_error>(where, ": storage '", key, "' claims ", numel, " ", name(*dtype), " elements but holds ",
                            it->second.size(), " bytes");
    RawTensor s(*dtype, {numel}, it->second.sub(0, static_cast<std::size_t>(numel) * item));
    return Value(std::move(s));
  };
  std::function<std::optional<Value>(const std::string&, const Value&)> call =
      [&](const std::string& g, const Value& args) -> std::optional<Value> {
    if (g == "torch._utils._rebuild_tensor_v2" || g == "torch._utils._rebuild_tensor") {
      if (args.size() < 4) throw_error<io_error>(where, ": ", g, ": expected at least 4 arguments, got ", args.size());
      const Value storage = args.at(std::size_t(0));
      if (!storage.is_tensor()) throw_error<io_error>(where, ": ", g, ": the storage argument is ", storage.describe());
      RawTensor t;
      t.dtype = storage.tensor().dtype;
      t.storage = storage.tensor().storage;
      t.offset = args.at(std::size_t(1)).as<index_t>();
      t.shape = detail::int_tuple(args.at(std::size_t(2)), "tensor size");
      t.strides = detail::int_tuple(args.at(std::size_t(3)), "tensor stride");
      t.validate(where + ": tensor");
      return Value(std::move(t));
    }
    if (g == "torch._utils._rebuild_parameter" || g == "torch._utils._rebuild_parameter_with_state") {
      if (args.size() < 1 || !args.at(std::size_t(0)).is_tensor())
        throw_error<io_error>(where, ": ", g, ": expected a tensor argument");
      return args.at(std::size_t(0));
    }
    if (g == "torch._tensor._rebuild_from_type_v2") {  // (func, type, args, state): func(*args)
      if (args.size() < 3 || !args.at(std::size_t(0)).is_opaque()) return std::nullopt;
      return call(args.at(std::size_t(0)).opaque().name, args.at(std::size_t(2)));
    }
    return std::nullopt;
  };
  hooks.call = call;
  Value v = unpickle(pickle.span(), where, std::move(hooks));
  if (opt.strict) detail::refuse_opaque(v);
  return v;
}

inline Value load_pt(const std::string& path, const PtLoadOptions& opt = {}) {
  return load_pt(read_file(path), path, opt);
}

// ---------------------------------------------------------------- writing

namespace detail {

class PtWriter {
 public:
  explicit PtWriter(std::string where) : where_(std::move(where)) {}

  void value(const Value& v) {
    switch (v.kind()) {
      case Value::Kind::none: op('N'); return;
      case Value::Kind::boolean: op(v.as<bool>() ? 0x88 : 0x89); return;
      case Value::Kind::integer: integer(v.as<std::int64_t>()); return;
      case Value::Kind::real: {
        op('G');
        w_.u64(__builtin_bswap64(std::bit_cast<std::uint64_t>(v.as<double>())));
        return;
      }
      case Value::Kind::string: string(v.as<std::string>()); return;
      case Value::Kind::bytes: v.fail("save_pt: bytes values are not supported (torch's weights_only loader refuses them)");
      case Value::Kind::list: {
        op(']');
        if (v.size() == 0) return;
        op('(');
        for (const Value& x : v.items_ref()) value(x);
        op('e');
        return;
      }
      case Value::Kind::tuple: {
        const auto& items = v.items_ref();
        if (items.empty()) return op(')');
        if (items.size() > 3) op('(');
        for (const Value& x : items) value(x);
        op(items.size() > 3 ? 't' : static_cast<unsigned>(0x84 + items.size()));
        return;
      }
      case Value::Kind::dict: {
        if (v.is_ordered_dict()) {
          global("collections", "OrderedDict");
          op(')');
          op('R');
        } else {
          op('}');
        }
        if (v.size() == 0) return;
        op('(');
        for (const auto& [k, x] : v.dict_ref().items) {
          value(k);
          value(x);
        }
        op('u');
        return;
      }
      case Value::Kind::tensor: tensor(v.tensor()); return;
      case Value::Kind::opaque:
        v.fail("save_pt: cannot save the opaque Python object ", v.opaque().name);
    }
  }
  const std::vector<std::byte>& pickle() const { return w_.out; }
  // (key, bytes) of the storages in the order they were first referenced.
  const std::vector<std::pair<std::string, Bytes>>& storages() const { return storages_; }

 private:
  std::string where_;
  ByteWriter w_;
  std::map<std::tuple<const void*, std::size_t, DType>, std::string> keys_;
  std::vector<std::pair<std::string, Bytes>> storages_;

  void op(unsigned c) { w_.u8(static_cast<std::uint8_t>(c)); }
  void global(std::string_view module, std::string_view name) {
    op('c');
    w_.bytes(module);
    op('\n');
    w_.bytes(name);
    op('\n');
  }
  void string(const std::string& s) {
    op('X');
    w_.u32(static_cast<std::uint32_t>(s.size()));
    w_.bytes(s);
  }
  void integer(std::int64_t i) {
    if (i >= 0 && i < 256) {
      op('K');
      w_.u8(static_cast<std::uint8_t>(i));
    } else if (i >= 0 && i < 65536) {
      op('M');
      w_.u16(static_cast<std::uint16_t>(i));
    } else if (i >= INT32_MIN && i <= INT32_MAX) {
      op('J');
      w_.put(static_cast<std::int32_t>(i));
    } else {  // LONG1: the shortest little-endian two's complement
      std::uint8_t n = 8;
      while (n > 1) {
        const std::int64_t lim = std::int64_t(1) << (8 * (n - 1) - 1);
        if (i >= -lim && i < lim) --n;
        else break;
      }
      op(0x8a);
      w_.u8(n);
      const auto u = static_cast<std::uint64_t>(i);
      for (std::uint8_t b = 0; b < n; ++b) w_.u8(static_cast<std::uint8_t>(u >> (8 * b)));
    }
  }
  void tensor(const RawTensor& t) {
    t.validate(where_ + ": save_pt tensor");
    // One storage per distinct (bytes, dtype): views and shared tensors stay shared, as in torch.
    const auto id = std::make_tuple(static_cast<const void*>(t.storage.data()), t.storage.size(), t.dtype);
    auto it = keys_.find(id);
    if (it == keys_.end()) {
      it = keys_.emplace(id, std::to_string(storages_.size())).first;
      storages_.emplace_back(it->second, t.storage);
    }
    global("torch._utils", "_rebuild_tensor_v2");
    op('(');
    op('(');
    string("storage");
    global("torch", torch_storage_name(t.dtype));
    string(it->second);
    string("cpu");
    integer(static_cast<std::int64_t>(t.storage.size() / itemsize(t.dtype)));
    op('t');
    op('Q');
    integer(t.offset);
    ints(t.shape);
    ints(t.strides);
    op(0x89);  // requires_grad False
    global("collections", "OrderedDict");
    op(')');
    op('R');
    op('t');
    op('R');
  }
  void ints(const std::vector<index_t>& v) {
    if (v.empty()) return op(')');
    op('(');
    for (auto x : v) integer(x);
    op('t');
  }
};

}  // namespace detail

// Writes v (None, bool, int, float, str, list, tuple, dict, OrderedDict, tensors) as torch.save
// does, atomically. Tensors that share storage in v share it in the file.
inline void save_pt(const std::string& path, const Value& v) {
  detail::PtWriter pw(path);
  ByteWriter pk;
  pk.u8(0x80);
  pk.u8(2);
  pw.value(v);
  pk.bytes(pw.pickle());
  pk.u8('.');
  ZipWriter zip(path);
  zip.add("archive/data.pkl", pk.out);
  zip.add("archive/byteorder", std::string_view("little"));
  for (const auto& [key, bytes] : pw.storages()) zip.add("archive/data/" + key, bytes.span());
  zip.add("archive/version", std::string_view("3\n"));
  zip.finish();
}

}  // namespace neuralop::io
