// Plain Python pickles (pickle.dump, not torch.save) holding NumPy arrays: load_pickle reads
// the file without running any code and turns the NumPy array and scalar reconstructions
// (_reconstruct + BUILD, _frombuffer, scalar; protocols 0-5) into tensors.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "neuralop/io/npy.hpp"
#include "neuralop/io/pickle.hpp"

namespace neuralop::io {

namespace detail {

inline bool global_is(const std::string& name, std::string_view suffix) {
  // numpy.core.* (NumPy 1) and numpy._core.* (NumPy 2)
  return name == "numpy.core." + std::string(suffix) || name == "numpy._core." + std::string(suffix);
}

// Bytes of `v`: a bytes value, or the protocol 0-2 form _codecs.encode(str, 'latin1').
inline Bytes numpy_data_bytes(const Value& v, const std::string& where) {
  if (v.kind() == Value::Kind::bytes) return v.bytes_ref();
  if (v.is_opaque() && v.opaque().name == "_codecs.encode" && v.opaque().called && v.opaque().args.size() == 2 &&
      v.opaque().args[0].kind() == Value::Kind::string) {
    const std::string s = v.opaque().args[0].as<std::string>();  // UTF-8 of code points < 256
    std::vector<std::byte> out;
    out.reserve(s.size());
    for (std::size_t i = 0; i < s.size(); ++i) {
      const auto c = static_cast<unsigned char>(s[i]);
      if (c < 0x80) {
        out.push_back(std::byte{c});
      } else if ((c & 0xE0) == 0xC0 && i + 1 < s.size() && c <= 0xC3) {
        out.push_back(std::byte(static_cast<unsigned char>(((c & 0x1F) << 6) | (static_cast<unsigned char>(s[i + 1]) & 0x3F))));
        ++i;
      } else {
        throw_error<io_error>(where, ": NumPy array data as a latin-1 string holds a character above U+00FF");
      }
    }
    return Bytes::from_vector(std::move(out));
  }
  if (v.is_list())
    throw_error<io_error>(where, ": a NumPy object array (its items are Python objects); only numeric arrays are read");
  throw_error<io_error>(where, ": NumPy array data as ", v.describe(), ", expected bytes");
}

// numpy.dtype(code, False, True) with BUILD state (3, byteorder, ...) -> descr "<f8".
inline NpyHeader numpy_dtype(const Value& v, const std::string& where) {
  if (!v.is_opaque() || v.opaque().name != "numpy.dtype" || !v.opaque().called || v.opaque().args.empty())
    throw_error<io_error>(where, ": expected a numpy.dtype, found ", v.describe());
  const auto& o = v.opaque();
  std::string descr = o.args[0].as<std::string>();
  if (!o.state.empty() && (o.state[0].is_tuple()) && o.state[0].size() >= 2 &&
      o.state[0].at(std::size_t(1)).kind() == Value::Kind::string)
    descr = o.state[0].at(std::size_t(1)).as<std::string>() + descr;
  NpyHeader h;
  parse_npy_descr(descr, h, where);
  return h;
}

inline RawTensor numpy_tensor(const NpyHeader& h, std::vector<index_t> shape, bool fortran, Bytes data, const std::string& where) {
  index_t n = 1;
  for (index_t s : shape) {
    if (s < 0) throw_error<io_error>(where, ": negative size in NumPy shape ", format_shape(shape));
    n *= s;
  }
  const std::size_t nbytes = static_cast<std::size_t>(n) * itemsize(h.dtype);
  if (data.size() != nbytes)
    throw_error<io_error>(where, ": a ", name(h.dtype), " NumPy array of shape ", format_shape(shape), " needs ", nbytes,
                          " bytes, the pickle holds ", data.size());
  if (h.big_endian) data = byte_swapped(data.span(), h.dtype);
  RawTensor t(h.dtype, std::move(shape), std::move(data));
  if (fortran) {
    index_t acc = 1;
    for (std::size_t i = 0; i < t.shape.size(); ++i) {
      t.strides[i] = acc;
      acc *= std::max<index_t>(t.shape[i], 1);
    }
  }
  t.validate(where);
  return t;
}

inline std::vector<index_t> index_tuple(const Value& v) {
  std::vector<index_t> out;
  for (const Value& x : v.items_ref("NumPy shape")) out.push_back(x.as<index_t>());
  return out;
}

// The tensor a NumPy reconstruction stands for, or nullopt if v is not one.
inline std::optional<RawTensor> numpy_object(const Value& v, const std::string& where) {
  if (!v.is_opaque() || !v.opaque().called) return std::nullopt;
  const Opaque& o = v.opaque();
  if (global_is(o.name, "multiarray._reconstruct")) {
    // BUILD state: (version, shape, dtype, is_fortran, data)
    if (o.state.size() != 1 || !o.state[0].is_tuple() || o.state[0].size() != 5)
      throw_error<io_error>(where, ": a NumPy array without the expected (version, shape, dtype, fortran, data) state");
    const auto& s = o.state[0].items_ref();
    return numpy_tensor(numpy_dtype(s[2], where), index_tuple(s[1]), s[3].as<bool>(), numpy_data_bytes(s[4], where), where);
  }
  if (global_is(o.name, "numeric._frombuffer")) {  // protocol 5: (buffer, dtype, shape, order)
    if (o.args.size() != 4) throw_error<io_error>(where, ": _frombuffer with ", o.args.size(), " arguments");
    return numpy_tensor(numpy_dtype(o.args[1], where), index_tuple(o.args[2]), o.args[3].as<std::string>() == "F",
                        numpy_data_bytes(o.args[0], where), where);
  }
  if (global_is(o.name, "multiarray.scalar")) {  // (dtype, bytes): a 0-d value
    if (o.args.size() != 2) throw_error<io_error>(where, ": a NumPy scalar with ", o.args.size(), " arguments");
    return numpy_tensor(numpy_dtype(o.args[0], where), {}, false, numpy_data_bytes(o.args[1], where), where);
  }
  return std::nullopt;
}

inline Value decode_numpy(const Value& v, std::size_t depth) {
  if (depth > pickle_max_depth) v.fail("nesting deeper than ", pickle_max_depth, " levels");
  if (auto t = numpy_object(v, v.where())) return Value(std::move(*t)).set_where(v.where());
  if (v.is_dict()) {
    Value d = v.is_ordered_dict() ? Value::ordered_dict() : Value::dict();
    for (const auto& [k, x] : v.items()) d.append_item(k, decode_numpy(x, depth + 1));
    return d.set_where(v.where());
  }
  if (v.is_list() || v.is_tuple()) {
    Value::List items;
    for (const auto& x : v.elements()) items.push_back(decode_numpy(x, depth + 1));
    return (v.is_list() ? Value::list(std::move(items)) : Value::tuple(std::move(items))).set_where(v.where());
  }
  return v;
}

}  // namespace detail

// A plain pickle file (pickle.dump) as a Value tree with NumPy arrays and scalars as tensors
// (0-d for scalars). Other Python objects stay opaque placeholders; nothing is executed.
inline Value load_pickle(const std::string& path) {
  const Bytes b = read_file(path);
  return detail::decode_numpy(unpickle(b.span(), path), 0).set_where(path);
}

}  // namespace neuralop::io
