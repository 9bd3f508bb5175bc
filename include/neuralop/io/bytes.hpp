// Shared immutable byte ranges (a whole file, mapped or read; a member of an archive) with
// bounds-checked reading, and atomic file writing (temp file + rename).
#pragma once

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "neuralop/core/error.hpp"

namespace neuralop::io {

class Bytes {
 public:
  Bytes() = default;
  // Takes ownership of v.
  static Bytes from_vector(std::vector<std::byte> v) {
    auto owner = std::make_shared<std::vector<std::byte>>(std::move(v));
    Bytes b;
    b.data_ = owner->data();
    b.size_ = owner->size();
    b.owner_ = std::move(owner);
    return b;
  }
  static Bytes copy_of(std::span<const std::byte> s) { return from_vector(std::vector<std::byte>(s.begin(), s.end())); }
  static Bytes copy_of(std::string_view s) { return copy_of(std::as_bytes(std::span(s.data(), s.size()))); }
  // Bytes kept alive by owner.
  Bytes(std::shared_ptr<const void> owner, const std::byte* data, std::size_t size)
      : owner_(std::move(owner)), data_(data), size_(size) {}

  const std::byte* data() const { return data_; }
  std::size_t size() const { return size_; }
  bool empty() const { return size_ == 0; }
  std::span<const std::byte> span() const { return {data_, size_}; }
  std::string_view view() const { return {reinterpret_cast<const char*>(data_), size_}; }
  // A sub-range sharing ownership; the caller has checked the bounds (see Reader).
  Bytes sub(std::size_t offset, std::size_t count) const { return Bytes(owner_, data_ + offset, count); }
  const std::shared_ptr<const void>& owner() const { return owner_; }

 private:
  std::shared_ptr<const void> owner_;
  const std::byte* data_ = nullptr;
  std::size_t size_ = 0;
};

// Sequential little-endian reading with bounds checks; errors name the file and what was read.
class Reader {
 public:
  Reader(std::span<const std::byte> s, std::string_view where) : s_(s), where_(where) {}
  std::size_t pos() const { return pos_; }
  std::size_t remaining() const { return s_.size() - pos_; }
  bool at_end() const { return pos_ == s_.size(); }
  void seek(std::size_t p, const char* what) {
    if (p > s_.size()) fail(what, ": offset ", p, " is past the end (", s_.size(), " bytes)");
    pos_ = p;
  }
  std::span<const std::byte> take(std::size_t n, const char* what) {
    if (n > remaining()) fail("truncated: ", what, " needs ", n, " bytes at offset ", pos_, ", ", remaining(), " left");
    auto r = s_.subspan(pos_, n);
    pos_ += n;
    return r;
  }
  template <class T>
  T get(const char* what) {
    T v;
    std::memcpy(&v, take(sizeof(T), what).data(), sizeof(T));
    return v;
  }
  std::uint8_t u8(const char* what) { return get<std::uint8_t>(what); }
  std::uint16_t u16(const char* what) { return get<std::uint16_t>(what); }
  std::uint32_t u32(const char* what) { return get<std::uint32_t>(what); }
  std::uint64_t u64(const char* what) { return get<std::uint64_t>(what); }
  std::string_view str(std::size_t n, const char* what) {
    auto b = take(n, what);
    return {reinterpret_cast<const char*>(b.data()), b.size()};
  }
  template <class... A>
  [[noreturn]] void fail(A&&... a) const {
    throw_error<io_error>(where_, ": ", std::forward<A>(a)...);
  }
  const std::string& where() const { return where_; }

 private:
  std::span<const std::byte> s_;
  std::size_t pos_ = 0;
  std::string where_;
};

namespace detail {
[[noreturn]] inline void throw_errno(const std::string& what, const std::string& path) {
  throw_error<io_error>(path, ": ", what, " failed: ", std::strerror(errno));
}
}  // namespace detail

// The whole file, memory-mapped (read-only, private) so that tensors can point into it.
inline Bytes read_file(const std::string& path) {
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) detail::throw_errno("open", path);
  struct stat st {};
  if (::fstat(fd, &st) != 0) {
    ::close(fd);
    detail::throw_errno("stat", path);
  }
  if (!S_ISREG(st.st_mode)) {
    ::close(fd);
    throw_error<io_error>(path, ": not a regular file");
  }
  const auto size = static_cast<std::size_t>(st.st_size);
  if (size == 0) {
    ::close(fd);
    return Bytes::from_vector({});
  }
  void* p = ::mmap(nullptr, size, PROT_READ, MAP_PRIVATE, fd, 0);
  ::close(fd);
  if (p == MAP_FAILED) detail::throw_errno("mmap", path);
  std::shared_ptr<const void> owner(p, [size](const void* q) { ::munmap(const_cast<void*>(q), size); });
  return Bytes(std::move(owner), static_cast<const std::byte*>(p), size);
}

// Writes through a temporary file in the same directory, fsyncs it and renames it over path, so
// a crash leaves either the old file or the new one, never a torn one.
class AtomicFile {
 public:
  explicit AtomicFile(std::string path) : path_(std::move(path)) {
    tmp_ = path_ + ".tmpXXXXXX";
    fd_ = ::mkstemp(tmp_.data());
    if (fd_ < 0) detail::throw_errno("creating a temporary file beside it", path_);
  }
  AtomicFile(const AtomicFile&) = delete;
  AtomicFile& operator=(const AtomicFile&) = delete;
  ~AtomicFile() {
    if (fd_ >= 0) {
      ::close(fd_);
      ::unlink(tmp_.c_str());
    }
  }
  void write(std::span<const std::byte> b) {
    const std::byte* p = b.data();
    std::size_t n = b.size();
    while (n > 0) {
      const ssize_t w = ::write(fd_, p, n);
      if (w < 0) {
        if (errno == EINTR) continue;
        detail::throw_errno("write", path_);
      }
      p += w;
      n -= static_cast<std::size_t>(w);
    }
    written_ += b.size();
  }
  void write(std::string_view s) { write(std::as_bytes(std::span(s.data(), s.size()))); }
  std::uint64_t written() const { return written_; }
  void commit() {
    if (::fchmod(fd_, 0644) != 0 || ::fsync(fd_) != 0) detail::throw_errno("fsync", path_);
    if (::close(fd_) != 0) {
      fd_ = -1;
      ::unlink(tmp_.c_str());
      detail::throw_errno("close", path_);
    }
    fd_ = -1;
    if (::rename(tmp_.c_str(), path_.c_str()) != 0) {
      ::unlink(tmp_.c_str());
      detail::throw_errno("rename", path_);
    }
  }

 private:
  std::string path_, tmp_;
  int fd_ = -1;
  std::uint64_t written_ = 0;
};

// A growing in-memory output with little-endian appends (headers, pickles).
struct ByteWriter {
  std::vector<std::byte> out;
  void bytes(std::span<const std::byte> b) { out.insert(out.end(), b.begin(), b.end()); }
  void bytes(std::string_view s) { bytes(std::as_bytes(std::span(s.data(), s.size()))); }
  template <class T>
  void put(T v) {
    const auto* p = reinterpret_cast<const std::byte*>(&v);
    out.insert(out.end(), p, p + sizeof(T));
  }
  void u8(std::uint8_t v) { put(v); }
  void u16(std::uint16_t v) { put(v); }
  void u32(std::uint32_t v) { put(v); }
  void u64(std::uint64_t v) { put(v); }
  std::size_t size() const { return out.size(); }
};

}  // namespace neuralop::io
