// A Python pickle reader (protocols 0-5, the opcodes torch.save and NumPy emit) that executes
// nothing: globals become names, calls of them Opaque values, unless a hook interprets them
// (torch's tensor rebuilders, OrderedDict). Cycles and nesting beyond a limit are refused.
#pragma once

#include <charconv>
#include <cmath>
#include <functional>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

#include "neuralop/io/value.hpp"

namespace neuralop::io {

struct UnpickleHooks {
  // BINPERSID / PERSID: the persistent id (torch: a ('storage', type, key, location, numel) tuple).
  std::function<Value(const Value& pid)> persistent_load;
  // A call of a global: return the result for the globals the format defines, nullopt to keep it opaque.
  std::function<std::optional<Value>(const std::string& global, const Value& args)> call;
};

inline constexpr std::size_t pickle_max_depth = 256;

namespace detail {

class Unpickler {
 public:
  Unpickler(std::span<const std::byte> data, std::string where, UnpickleHooks hooks)
      : r_(data, where), where_(std::move(where)), hooks_(std::move(hooks)) {}
  ~Unpickler() { release(nullptr); }

  Value load() {
    for (;;) {
      const std::size_t at = r_.pos();
      const auto op = static_cast<unsigned char>(r_.u8("pickle opcode"));
      if (op == '.') break;
      step(op, at);
    }
    if (stack_.size() != 1 || stack_.back().mark) fail("pickle ended with ", stack_.size(), " items on its stack");
    Value root = std::move(stack_.back().v);
    stack_.clear();
    memo_.clear();
    check_tree(root);
    release(&root);
    root.set_where(where_);
    return root;
  }

 private:
  struct Item {
    Value v;
    bool mark = false;
  };
  Reader r_;
  std::string where_;
  UnpickleHooks hooks_;
  std::vector<Item> stack_;
  std::vector<std::size_t> marks_;
  std::unordered_map<std::uint64_t, Value> memo_;
  std::vector<Value> made_;  // every container made, to break cycles and deep chains on the way out

  template <class... A>
  [[noreturn]] void fail(A&&... a) const {
    throw_error<io_error>(where_, ": pickle: ", std::forward<A>(a)...);
  }
  Value pop(const char* op) {
    if (stack_.empty() || stack_.back().mark) fail(op, " on an empty stack");
    Value v = std::move(stack_.back().v);
    stack_.pop_back();
    return v;
  }
  Value& top(const char* op) {
    if (stack_.empty() || stack_.back().mark) fail(op, " on an empty stack");
    return stack_.back().v;
  }
  void push(Value v) { stack_.push_back({std::move(v), false}); }
  Value made(Value v) {
    made_.push_back(v);
    return v;
  }
  // The items above the topmost mark, and the mark removed.
  std::vector<Value> pop_mark(const char* op) {
    if (marks_.empty()) fail(op, " without a MARK");
    const std::size_t m = marks_.back();
    marks_.pop_back();
    if (m >= stack_.size() || !stack_[m].mark) fail(op, ": the MARK was consumed");
    std::vector<Value> out;
    out.reserve(stack_.size() - m - 1);
    for (std::size_t i = m + 1; i < stack_.size(); ++i) {
      if (stack_[i].mark) fail(op, ": nested MARK");
      out.push_back(std::move(stack_[i].v));
    }
    stack_.resize(m);
    return out;
  }
  std::string line(const char* what) {
    std::string s;
    for (;;) {
      const char c = static_cast<char>(r_.u8(what));
      if (c == '\n') break;
      s += c;
      if (s.size() > 4096) fail(what, " is longer than 4096 bytes");
    }
    if (!s.empty() && s.back() == '\r') s.pop_back();
    return s;
  }
  std::int64_t parse_int(std::string s, const char* what) {
    if (!s.empty() && s.back() == 'L') s.pop_back();
    if (s == "00") return 0;  // protocol 0 False/True are "I00"/"I01"
    if (s == "01") return 1;
    std::int64_t v = 0;
    const char* b = s.data() + (!s.empty() && s[0] == '+');
    auto [p, ec] = std::from_chars(b, s.data() + s.size(), v);
    if (ec != std::errc() || p != s.data() + s.size()) fail(what, ": bad integer '", s, "'");
    return v;
  }
  static std::string quoted(std::string s) {
    if (s.size() >= 2 && (s.front() == '\'' || s.front() == '"') && s.back() == s.front()) return s.substr(1, s.size() - 2);
    return s;
  }
  Value global_ref(std::string module, std::string name) {
    Opaque o;
    o.name = module + "." + name;
    return Value(std::move(o));
  }
  void set_item(Value& d, Value k, Value v, const char* op) {
    if (d.is_dict()) {
      d.append_item(std::move(k), std::move(v));
    } else if (d.is_opaque()) {  // e.g. a dict subclass: keep the items as state
      Value p = made(Value::tuple({std::move(k), std::move(v)}));
      mutable_opaque(d).state.push_back(std::move(p));
    } else {
      fail(op, " on ", d.describe());
    }
  }
  Opaque& mutable_opaque(Value& v) { return const_cast<Opaque&>(v.opaque()); }
  Value call(Value callable, Value args, const char* op) {
    if (!callable.is_opaque() || callable.opaque().called) fail(op, ": calling ", callable.describe(), ", not a global");
    if (!args.is_tuple()) fail(op, ": call arguments are ", args.describe(), ", not a tuple");
    const std::string& name = callable.opaque().name;
    if (hooks_.call)
      if (auto v = hooks_.call(name, args)) return *v;
    if (name == "collections.OrderedDict" || name == "builtins.dict" || name == "__builtin__.dict") {
      Value d = made(name == "collections.OrderedDict" ? Value::ordered_dict() : Value::dict());
      if (args.size() > 0) {
        const Value pairs = args.at(std::size_t(0));
        for (const Value& p : pairs.items_ref("dict items"))
          if (p.size() == 2) d.append_item(p.at(std::size_t(0)), p.at(std::size_t(1)));
      }
      return d;
    }
    if (name == "builtins.set" || name == "__builtin__.set" || name == "builtins.frozenset") {
      Value l = made(Value::list());
      if (args.size() > 0)
        for (const Value& x : args.at(std::size_t(0)).items_ref("set items")) l.push_back(x);
      return l;
    }
    Opaque o;
    o.name = name;
    o.called = true;
    o.args = args.items_ref();
    return made(Value(std::move(o)));
  }

  void step(unsigned op, std::size_t at) {
    switch (op) {
      case 0x80: {  // PROTO
        const unsigned p = r_.u8("PROTO");
        if (p > 5) fail("unsupported pickle protocol ", p);
        return;
      }
      case 0x95: r_.u64("FRAME"); return;  // FRAME: a length hint
      case '(': marks_.push_back(stack_.size()); stack_.push_back({Value(), true}); return;
      case '0': if (!stack_.empty() && stack_.back().mark) { marks_.pop_back(); stack_.pop_back(); } else pop("POP"); return;
      case '1': pop_mark("POP_MARK"); return;
      case '2': push(top("DUP")); return;
      case 'N': push(Value()); return;
      case 0x88: push(Value(true)); return;
      case 0x89: push(Value(false)); return;
      case 'J': push(Value(r_.get<std::int32_t>("BININT"))); return;
      case 'K': push(Value(r_.u8("BININT1"))); return;
      case 'M': push(Value(r_.u16("BININT2"))); return;
      case 0x8a: case 0x8b: {  // LONG1, LONG4: little-endian two's complement
        const std::uint32_t n = op == 0x8a ? r_.u8("LONG1") : r_.u32("LONG4");
        auto b = r_.take(n, "LONG");
        if (n > 8) fail("integer of ", n, " bytes does not fit 64 bits");
        std::uint64_t u = 0;
        for (std::size_t i = 0; i < n; ++i) u |= std::uint64_t(std::to_integer<unsigned>(b[i])) << (8 * i);
        if (n > 0 && n < 8 && (std::to_integer<unsigned>(b[n - 1]) & 0x80u)) u |= ~std::uint64_t(0) << (8 * n);
        push(Value(static_cast<std::int64_t>(u)));
        return;
      }
      case 'I': {
        const std::string s = line("INT");
        if (s == "00" || s == "01") push(Value(s == "01"));
        else push(Value(parse_int(s, "INT")));
        return;
      }
      case 'L': push(Value(parse_int(line("LONG"), "LONG"))); return;
      case 'G': {
        const std::uint64_t be = r_.u64("BINFLOAT");
        push(Value(std::bit_cast<double>(__builtin_bswap64(be))));
        return;
      }
      case 'F': {
        const std::string s = line("FLOAT");
        double d = 0;
        auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), d);
        if (ec != std::errc() || p != s.data() + s.size()) fail("FLOAT: bad number '", s, "'");
        push(Value(d));
        return;
      }
      case 'X': push(Value(std::string(r_.str(r_.u32("BINUNICODE"), "BINUNICODE")))); return;
      case 0x8c: push(Value(std::string(r_.str(r_.u8("SHORT_BINUNICODE"), "SHORT_BINUNICODE")))); return;
      case 0x8d: push(Value(std::string(r_.str(checked_len(r_.u64("BINUNICODE8")), "BINUNICODE8")))); return;
      case 'T': push(Value(std::string(r_.str(r_.u32("BINSTRING"), "BINSTRING")))); return;
      case 'U': push(Value(std::string(r_.str(r_.u8("SHORT_BINSTRING"), "SHORT_BINSTRING")))); return;
      case 'V': push(Value(line("UNICODE"))); return;
      case 'S': push(Value(quoted(line("STRING")))); return;
      case 'B': push(Value::bytes(Bytes::copy_of(r_.take(r_.u32("BINBYTES"), "BINBYTES")))); return;
      case 'C': push(Value::bytes(Bytes::copy_of(r_.take(r_.u8("SHORT_BINBYTES"), "SHORT_BINBYTES")))); return;
      case 0x8e: case 0x96:
        push(Value::bytes(Bytes::copy_of(r_.take(checked_len(r_.u64("BINBYTES8")), "BINBYTES8"))));
        return;
      case '}': push(made(Value::dict())); return;
      case ']': push(made(Value::list())); return;
      case ')': push(made(Value::tuple())); return;
      case 0x8f: push(made(Value::list())); return;  // EMPTY_SET
      case 'd': {
        auto items = pop_mark("DICT");
        if (items.size() % 2) fail("DICT with an odd number of items");
        Value d = made(Value::dict());
        for (std::size_t i = 0; i < items.size(); i += 2) d.append_item(std::move(items[i]), std::move(items[i + 1]));
        push(std::move(d));
        return;
      }
      case 'l': push(made(Value::list(pop_mark("LIST")))); return;
      case 't': push(made(Value::tuple(pop_mark("TUPLE")))); return;
      case 0x91: push(made(Value::list(pop_mark("FROZENSET")))); return;
      case 0x85: case 0x86: case 0x87: {  // TUPLE1..3
        const std::size_t n = op - 0x84;
        std::vector<Value> items(n);
        for (std::size_t i = n; i-- > 0;) items[i] = pop("TUPLE");
        push(made(Value::tuple(std::move(items))));
        return;
      }
      case 'a': {
        Value v = pop("APPEND");
        append(top("APPEND"), std::move(v), "APPEND");
        return;
      }
      case 'e': case 0x90: {  // APPENDS, ADDITEMS
        auto items = pop_mark("APPENDS");
        Value& l = top("APPENDS");
        for (auto& v : items) append(l, std::move(v), "APPENDS");
        return;
      }
      case 's': {
        Value v = pop("SETITEM"), k = pop("SETITEM");
        set_item(top("SETITEM"), std::move(k), std::move(v), "SETITEM");
        return;
      }
      case 'u': {
        auto items = pop_mark("SETITEMS");
        if (items.size() % 2) fail("SETITEMS with an odd number of items");
        Value& d = top("SETITEMS");
        for (std::size_t i = 0; i < items.size(); i += 2) set_item(d, std::move(items[i]), std::move(items[i + 1]), "SETITEMS");
        return;
      }
      case 'p': memo_[static_cast<std::uint64_t>(parse_int(line("PUT"), "PUT"))] = top("PUT"); return;
      case 'q': memo_[r_.u8("BINPUT")] = top("BINPUT"); return;
      case 'r': memo_[r_.u32("LONG_BINPUT")] = top("LONG_BINPUT"); return;
      case 0x94: memo_[memo_.size()] = top("MEMOIZE"); return;
      case 'g': push(memo_get(static_cast<std::uint64_t>(parse_int(line("GET"), "GET")))); return;
      case 'h': push(memo_get(r_.u8("BINGET"))); return;
      case 'j': push(memo_get(r_.u32("LONG_BINGET"))); return;
      case 'c': {
        std::string module = line("GLOBAL module"), name = line("GLOBAL name");
        push(global_ref(std::move(module), std::move(name)));
        return;
      }
      case 0x93: {  // STACK_GLOBAL
        Value name = pop("STACK_GLOBAL"), module = pop("STACK_GLOBAL");
        push(global_ref(module.as<std::string>(), name.as<std::string>()));
        return;
      }
      case 'R': {
        Value args = pop("REDUCE"), f = pop("REDUCE");
        push(call(std::move(f), std::move(args), "REDUCE"));
        return;
      }
      case 0x81: {  // NEWOBJ: cls.__new__(cls, *args)
        Value args = pop("NEWOBJ"), cls = pop("NEWOBJ");
        push(call(std::move(cls), std::move(args), "NEWOBJ"));
        return;
      }
      case 0x92: {  // NEWOBJ_EX
        pop("NEWOBJ_EX");  // kwargs
        Value args = pop("NEWOBJ_EX"), cls = pop("NEWOBJ_EX");
        push(call(std::move(cls), std::move(args), "NEWOBJ_EX"));
        return;
      }
      case 'o': {  // OBJ: MARK cls args...
        auto items = pop_mark("OBJ");
        if (items.empty()) fail("OBJ without a class");
        Value cls = std::move(items[0]);
        items.erase(items.begin());
        push(call(std::move(cls), made(Value::tuple(std::move(items))), "OBJ"));
        return;
      }
      case 'i': {  // INST module name: MARK args...
        std::string module = line("INST module"), name = line("INST name");
        auto items = pop_mark("INST");
        push(call(global_ref(std::move(module), std::move(name)), made(Value::tuple(std::move(items))), "INST"));
        return;
      }
      case 'b': {  // BUILD: obj.__setstate__(state)
        Value state = pop("BUILD");
        Value& obj = top("BUILD");
        // OrderedDict state (torch's per-module `_metadata` versions) and the like: kept on opaque
        // objects, ignored on containers and tensors as torch's own loader does.
        if (obj.is_opaque()) mutable_opaque(obj).state.push_back(std::move(state));
        return;
      }
      case 'Q': {
        Value pid = pop("BINPERSID");
        if (!hooks_.persistent_load) fail("persistent id ", pid.repr(), " outside a PyTorch archive");
        push(hooks_.persistent_load(pid));
        return;
      }
      case 'P': {
        Value pid(line("PERSID"));
        if (!hooks_.persistent_load) fail("persistent id outside a PyTorch archive");
        push(hooks_.persistent_load(pid));
        return;
      }
      default:
        fail("unsupported opcode 0x", to_hex(op), " at byte ", at);
    }
  }
  static std::string to_hex(unsigned v) {
    const char* d = "0123456789abcdef";
    return {d[(v >> 4) & 15], d[v & 15]};
  }
  std::size_t checked_len(std::uint64_t n) {
    if (n > r_.remaining()) fail("a length of ", n, " bytes claims more than the ", r_.remaining(), " left");
    return static_cast<std::size_t>(n);
  }
  Value memo_get(std::uint64_t k) {
    auto it = memo_.find(k);
    if (it == memo_.end()) fail("memo key ", k, " read before it was written");
    return it->second;
  }
  void append(Value& l, Value v, const char* op) {
    if (l.is_list()) l.push_back(std::move(v));
    else if (l.is_opaque()) mutable_opaque(l).state.push_back(std::move(v));
    else fail(op, " on ", l.describe());
  }

  // Children of a value (containers and opaque objects), for the tree checks.
  static void children(const Value& v, std::vector<const Value*>& out) {
    out.clear();
    if (v.is_list() || v.is_tuple()) {
      for (const auto& c : v.items_ref()) out.push_back(&c);
    } else if (v.is_dict()) {
      for (const auto& [k, c] : v.dict_ref().items) {
        out.push_back(&k);
        out.push_back(&c);
      }
    } else if (v.is_opaque()) {
      for (const auto& c : v.opaque().args) out.push_back(&c);
      for (const auto& c : v.opaque().state) out.push_back(&c);
    }
  }
  static const void* identity(const Value& v) {
    if (v.is_list() || v.is_tuple()) return &v.items_ref();
    if (v.is_dict()) return &v.dict_ref();
    if (v.is_opaque()) return &v.opaque();
    return nullptr;
  }
  // Refuses reference cycles and nesting deeper than pickle_max_depth (iteratively: a hostile
  // file must not overflow the C++ stack), in time linear in the number of distinct nodes.
  void check_tree(const Value& root) {
    std::unordered_map<const void*, std::size_t> height;  // finished nodes
    std::unordered_map<const void*, bool> open;
    struct Frame {
      const Value* v;
      std::vector<const Value*> kids;
      std::size_t next = 0, h = 0;
    };
    std::vector<Frame> st;
    auto enter = [&](const Value* v) {
      const void* id = identity(*v);
      if (!id) return std::optional<std::size_t>(0);
      if (auto it = height.find(id); it != height.end()) return std::optional<std::size_t>(it->second);
      if (open.count(id)) fail("the object graph has a reference cycle");
      open[id] = true;
      if (st.size() >= pickle_max_depth) fail("nesting deeper than ", pickle_max_depth, " levels");
      Frame f{v, {}, 0, 0};
      children(*v, f.kids);
      st.push_back(std::move(f));
      return std::optional<std::size_t>();
    };
    enter(&root);
    while (!st.empty()) {
      Frame& f = st.back();
      if (f.next < f.kids.size()) {
        const Value* c = f.kids[f.next++];
        if (auto h = enter(c)) st.back().h = std::max(st.back().h, *h + 1);
        continue;
      }
      const void* id = identity(*f.v);
      const std::size_t h = f.h;
      height[id] = h;
      open.erase(id);
      st.pop_back();
      if (!st.empty()) st.back().h = std::max(st.back().h, h + 1);
    }
  }
  // Empties every container made that the result does not hold (or all of them on failure), one
  // at a time, so that cycles are broken and no destructor recurses deeply.
  void release(const Value* keep) {
    std::unordered_map<const void*, bool> kept;
    if (keep) {
      std::vector<const Value*> todo{keep}, kids;
      while (!todo.empty()) {
        const Value* v = todo.back();
        todo.pop_back();
        const void* id = identity(*v);
        if (!id || kept.count(id)) continue;
        kept[id] = true;
        children(*v, kids);
        todo.insert(todo.end(), kids.begin(), kids.end());
      }
    }
    stack_.clear();
    memo_.clear();
    for (Value& v : made_)
      if (!kept.count(identity(v))) clear_children(v);
    made_.clear();
  }
  static void clear_children(Value& v) {
    if (v.is_list() || v.is_tuple()) const_cast<Value::List&>(v.items_ref()).clear();
    else if (v.is_dict()) const_cast<Value::Dict&>(v.dict_ref()).items.clear();
    else if (v.is_opaque()) {
      auto& o = const_cast<Opaque&>(v.opaque());
      o.args.clear();
      o.state.clear();
    }
  }
};

}  // namespace detail

// Reads one pickle. `where` names the source in errors; hooks interpret persistent ids and calls.
inline Value unpickle(std::span<const std::byte> data, std::string where, UnpickleHooks hooks = {}) {
  return detail::Unpickler(data, std::move(where), std::move(hooks)).load();
}

}  // namespace neuralop::io
