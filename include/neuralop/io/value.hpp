// Value: the small tree that file readers return (None, bool, int, float, str, bytes, list,
// tuple, dict, tensor, and opaque placeholders for Python objects), with typed access whose
// errors name the file and the path inside it: "darcy.pt['x']: expected a float32 tensor...".
#pragma once

#include <cstdint>
#include <memory>
#include <sstream>
#include <string>
#include <string_view>
#include <type_traits>
#include <utility>
#include <variant>
#include <vector>

#include "neuralop/io/raw_tensor.hpp"

namespace neuralop::io {

class Value;

// A Python global the reader does not interpret (a function, a class, an object built by calling
// one): kept by name, with the call's arguments and BUILD state, never executed.
struct Opaque {
  std::string name;          // "module.qualname", e.g. "torch._C._nn.gelu"
  bool called = false;       // REDUCE / NEWOBJ applied it to arguments
  std::vector<Value> args;   // the call's arguments (if called)
  std::vector<Value> state;  // BUILD states applied to the result
};

namespace detail {
template <class T>
struct is_tensor : std::false_type {};
template <TensorScalar T, std::size_t R, class B>
struct is_tensor<Tensor<T, R, B>> : std::true_type {};
}  // namespace detail

class Value {
 public:
  enum class Kind { none, boolean, integer, real, string, bytes, list, tuple, dict, tensor, opaque };
  using List = std::vector<Value>;
  struct Tuple {
    List items;
  };
  struct Dict {
    std::vector<std::pair<Value, Value>> items;
    bool ordered = false;  // collections.OrderedDict (state_dicts)
  };

  Value() = default;  // None
  Value(std::nullptr_t) {}
  Value(bool b) : v_(b) {}
  template <class I>
    requires(std::is_integral_v<I> && !std::is_same_v<I, bool>)
  Value(I i) : v_(static_cast<std::int64_t>(i)) {}
  Value(double d) : v_(d) {}
  Value(float f) : v_(double(f)) {}
  Value(std::string s) : v_(std::move(s)) {}
  Value(std::string_view s) : v_(std::string(s)) {}
  Value(const char* s) : v_(std::string(s)) {}
  Value(RawTensor t) : v_(std::move(t)) {}
  template <TensorScalar T, std::size_t R, class B>
  Value(const Tensor<T, R, B>& t) : v_(RawTensor::from_tensor(t)) {}
  Value(Opaque o) : v_(std::make_shared<Opaque>(std::move(o))) {}

  static Value bytes(Bytes b) {
    Value v;
    v.v_ = std::move(b);
    return v;
  }
  static Value list(List items = {}) {
    Value v;
    v.v_ = std::make_shared<List>(std::move(items));
    return v;
  }
  static Value tuple(List items = {}) {
    Value v;
    v.v_ = std::make_shared<Tuple>(Tuple{std::move(items)});
    return v;
  }
  static Value dict() {
    Value v;
    v.v_ = std::make_shared<Dict>();
    return v;
  }
  static Value ordered_dict() {
    Value v = dict();
    v.get<Dict>("ordered_dict").ordered = true;
    return v;
  }

  Kind kind() const { return static_cast<Kind>(v_.index()); }
  static constexpr const char* kind_name(Kind k) {
    constexpr const char* names[] = {"None", "bool", "int", "float", "str", "bytes", "list", "tuple", "dict", "tensor", "opaque object"};
    return names[static_cast<int>(k)];
  }
  // What this is, for messages: "dict", "float32 tensor [2, 3]", "opaque object torch._C._nn.gelu".
  std::string describe() const {
    if (auto* t = std::get_if<RawTensor>(&v_)) return t->describe();
    if (auto* o = std::get_if<std::shared_ptr<Opaque>>(&v_)) return "opaque object " + (*o)->name;
    return kind_name(kind());
  }
  bool is_none() const { return kind() == Kind::none; }
  bool is_dict() const { return kind() == Kind::dict; }
  bool is_list() const { return kind() == Kind::list; }
  bool is_tuple() const { return kind() == Kind::tuple; }
  bool is_tensor() const { return kind() == Kind::tensor; }
  bool is_opaque() const { return kind() == Kind::opaque; }
  bool is_ordered_dict() const { return is_dict() && std::get<std::shared_ptr<Dict>>(v_)->ordered; }

  // Where this value sits: "file.pt", "file.pt['layers'][0]". Set by the readers and by at().
  const std::string& where() const { return where_; }
  Value& set_where(std::string w) {
    where_ = std::move(w);
    return *this;
  }

  // ---- containers
  std::size_t size() const {
    switch (kind()) {
      case Kind::list: return std::get<std::shared_ptr<List>>(v_)->size();
      case Kind::tuple: return std::get<std::shared_ptr<Tuple>>(v_)->items.size();
      case Kind::dict: return std::get<std::shared_ptr<Dict>>(v_)->items.size();
      case Kind::string: return std::get<std::string>(v_).size();
      default: fail("size(): expected a list, tuple, dict or str, found ", describe());
    }
  }
  bool contains(std::string_view key) const { return find(key) != nullptr; }
  // dict[key] for a str key; the error lists the keys there are.
  Value at(std::string_view key) const {
    const Value* v = find(key);
    if (!v) {
      std::string keys;
      for (const auto& [k, _] : get<Dict>("at(\"" + std::string(key) + "\")").items)
        keys += (keys.empty() ? "" : ", ") + k.repr();
      fail("no key '", key, "' (keys: ", keys.empty() ? "none" : keys, ")");
    }
    return Value(*v).set_where(where_ + "['" + std::string(key) + "']");
  }
  // list[i] or tuple[i].
  Value at(std::size_t i) const {
    const List& l = items_ref("at(" + std::to_string(i) + ")");
    if (i >= l.size()) fail("index ", i, " is out of range (", describe(), " of ", l.size(), " items)");
    return Value(l[i]).set_where(where_ + "[" + std::to_string(i) + "]");
  }
  // dict[key] for any key (int keys, tuples...).
  const Value* find(const Value& key) const {
    const auto& items = get<Dict>("find").items;
    for (auto it = items.rbegin(); it != items.rend(); ++it)
      if (it->first.equals(key)) return &it->second;
    return nullptr;
  }
  const Value* find(std::string_view key) const {
    if (!is_dict()) fail("key '", key, "': expected a dict, found ", describe());
    const auto& items = std::get<std::shared_ptr<Dict>>(v_)->items;
    for (auto it = items.rbegin(); it != items.rend(); ++it)
      if (auto* s = std::get_if<std::string>(&it->first.v_); s && *s == key) return &it->second;
    return nullptr;
  }
  // The str keys of a dict, in order (other keys are skipped).
  std::vector<std::string> keys() const {
    std::vector<std::string> out;
    for (const auto& [k, _] : get<Dict>("keys()").items)
      if (auto* s = std::get_if<std::string>(&k.v_)) out.push_back(*s);
    return out;
  }
  // The dict's (key, value) pairs or the list's or tuple's items, with where() set.
  std::vector<std::pair<Value, Value>> items() const {
    std::vector<std::pair<Value, Value>> out;
    for (const auto& [k, v] : get<Dict>("items()").items)
      out.emplace_back(k, Value(v).set_where(where_ + "[" + k.repr() + "]"));
    return out;
  }
  List elements() const {
    List out = items_ref("elements()");
    for (std::size_t i = 0; i < out.size(); ++i) out[i].set_where(where_ + "[" + std::to_string(i) + "]");
    return out;
  }
  // Building trees (to save them): d.set("x", tensor); l.push_back(3).
  Value& set(Value key, Value value) {
    auto& d = get<Dict>("set");
    for (auto& [k, v] : d.items)
      if (k.equals(key)) {
        v = std::move(value);
        return *this;
      }
    d.items.emplace_back(std::move(key), std::move(value));
    return *this;
  }
  // Appends without looking for the key (readers: linear time on hostile input; find() takes
  // the last of repeated keys, as Python's dict would hold it).
  Value& append_item(Value key, Value value) {
    get<Dict>("append_item").items.emplace_back(std::move(key), std::move(value));
    return *this;
  }
  Value& push_back(Value value) {
    if (auto* l = std::get_if<std::shared_ptr<List>>(&v_)) (*l)->push_back(std::move(value));
    else if (auto* t = std::get_if<std::shared_ptr<Tuple>>(&v_)) (*t)->items.push_back(std::move(value));
    else fail("push_back: expected a list or tuple, found ", describe());
    return *this;
  }

  // ---- typed access. as<X>() takes the value as it is (a tensor's dtype must be T's exactly);
  // to<X>() converts where that is exact in meaning (int -> float, any real dtype -> T).
  template <class X>
  X as() const {
    return access<X>(false);
  }
  template <class X>
  X to() const {
    return access<X>(true);
  }
  const RawTensor& tensor() const& {
    if (auto* t = std::get_if<RawTensor>(&v_)) return *t;
    fail("expected a tensor, found ", describe());
  }
  // On a temporary (load_pt(f).at("x").tensor()): a copy, not a reference into a dead Value.
  RawTensor tensor() && { return static_cast<const Value&>(*this).tensor(); }
  const Opaque& opaque() const {
    if (auto* o = std::get_if<std::shared_ptr<Opaque>>(&v_)) return **o;
    fail("expected an opaque object, found ", describe());
  }
  const Dict& dict_ref() const { return get<Dict>("dict_ref()"); }
  // The payload of a bytes value (pickled BINBYTES, NumPy array data).
  const Bytes& bytes_ref() const {
    if (auto* b = std::get_if<Bytes>(&v_)) return *b;
    fail("expected bytes, found ", describe());
  }
  const List& items_ref(const std::string& what = "items") const {
    if (auto* l = std::get_if<std::shared_ptr<List>>(&v_)) return **l;
    if (auto* t = std::get_if<std::shared_ptr<Tuple>>(&v_)) return (*t)->items;
    fail(what, ": expected a list or tuple, found ", describe());
  }

  // Structural equality (tensors compare by dtype, shape and values; opaque objects by name).
  bool equals(const Value& o) const {
    if (kind() != o.kind()) return false;
    switch (kind()) {
      case Kind::none: return true;
      case Kind::boolean: return std::get<bool>(v_) == std::get<bool>(o.v_);
      case Kind::integer: return std::get<std::int64_t>(v_) == std::get<std::int64_t>(o.v_);
      case Kind::real: return std::get<double>(v_) == std::get<double>(o.v_);
      case Kind::string: return std::get<std::string>(v_) == std::get<std::string>(o.v_);
      case Kind::bytes: {
        auto a = std::get<Bytes>(v_).view(), b = std::get<Bytes>(o.v_).view();
        return a == b;
      }
      case Kind::list: case Kind::tuple: {
        const List &a = items_ref(), &b = o.items_ref();
        if (a.size() != b.size()) return false;
        for (std::size_t i = 0; i < a.size(); ++i)
          if (!a[i].equals(b[i])) return false;
        return true;
      }
      case Kind::dict: {
        const auto &a = dict_ref().items, &b = o.dict_ref().items;
        if (a.size() != b.size()) return false;
        for (std::size_t i = 0; i < a.size(); ++i)
          if (!a[i].first.equals(b[i].first) || !a[i].second.equals(b[i].second)) return false;
        return true;
      }
      case Kind::tensor: {
        const RawTensor &a = tensor(), &b = o.tensor();
        return a.dtype == b.dtype && a.shape == b.shape && a.contiguous_bytes().view() == b.contiguous_bytes().view();
      }
      case Kind::opaque: return opaque().name == o.opaque().name;
    }
    return false;
  }

  // Python-like text: {'x': bool tensor [1000, 16, 16], 'n': 3}.
  std::string repr() const {
    std::ostringstream os;
    switch (kind()) {
      case Kind::none: return "None";
      case Kind::boolean: return std::get<bool>(v_) ? "True" : "False";
      case Kind::integer: return std::to_string(std::get<std::int64_t>(v_));
      case Kind::real: os.precision(17); os << std::get<double>(v_); return os.str();
      case Kind::string: return "'" + std::get<std::string>(v_) + "'";
      case Kind::bytes: return "bytes[" + std::to_string(std::get<Bytes>(v_).size()) + "]";
      case Kind::list: case Kind::tuple: {
        const bool l = is_list();
        os << (l ? '[' : '(');
        const auto& items = items_ref();
        for (std::size_t i = 0; i < items.size(); ++i) os << (i ? ", " : "") << items[i].repr();
        if (!l && items.size() == 1) os << ',';
        os << (l ? ']' : ')');
        return os.str();
      }
      case Kind::dict: {
        os << '{';
        bool first = true;
        for (const auto& [k, v] : dict_ref().items) {
          os << (first ? "" : ", ") << k.repr() << ": " << v.repr();
          first = false;
        }
        os << '}';
        return os.str();
      }
      case Kind::tensor: return tensor().describe();
      case Kind::opaque: return "<" + opaque().name + (opaque().called ? "(...)" : "") + ">";
    }
    return "?";
  }

  template <class... A>
  [[noreturn]] void fail(A&&... a) const {
    throw_error<io_error>(where_.empty() ? std::string("value") : where_, ": ", std::forward<A>(a)...);
  }

 private:
  using Payload = std::variant<std::monostate, bool, std::int64_t, double, std::string, Bytes, std::shared_ptr<List>,
                               std::shared_ptr<Tuple>, std::shared_ptr<Dict>, RawTensor, std::shared_ptr<Opaque>>;
  Payload v_;
  std::string where_;

  template <class C>
  C& get(const std::string& what) const {
    if (auto* p = std::get_if<std::shared_ptr<C>>(&v_)) return **p;
    fail(what, ": expected a ", std::is_same_v<C, Dict> ? "dict" : "list", ", found ", describe());
  }

  template <class X>
  X access(bool convert) const {
    if constexpr (std::is_same_v<X, bool>) {
      if (auto* b = std::get_if<bool>(&v_)) return *b;
      fail("expected a bool, found ", describe());
    } else if constexpr (std::is_integral_v<X>) {
      std::int64_t i;
      if (auto* p = std::get_if<std::int64_t>(&v_)) i = *p;
      else if (auto* b = std::get_if<bool>(&v_); b && convert) i = *b;
      else fail("expected an int, found ", describe());
      if (!std::in_range<X>(i)) fail("the int ", i, " does not fit the requested integer type");
      return static_cast<X>(i);
    } else if constexpr (std::is_floating_point_v<X>) {
      if (auto* d = std::get_if<double>(&v_)) return static_cast<X>(*d);
      if (auto* p = std::get_if<std::int64_t>(&v_); p && convert) return static_cast<X>(*p);
      fail("expected a float, found ", describe(), convert ? "" : " (to<>() converts an int)");
    } else if constexpr (std::is_same_v<X, std::string>) {
      if (auto* s = std::get_if<std::string>(&v_)) return *s;
      fail("expected a str, found ", describe());
    } else if constexpr (std::is_same_v<X, RawTensor>) {
      return tensor();
    } else if constexpr (detail::is_tensor<X>::value) {
      using T = typename X::value_type;
      constexpr std::size_t R = X::rank;
      return tensor().template to_tensor<T, R>(convert, where_.empty() ? std::string("tensor") : where_)
          .template to<typename X::backend_type>();
    } else {
      static_assert(sizeof(X) == 0, "Value::as/to: unsupported type");
    }
  }
};

}  // namespace neuralop::io
