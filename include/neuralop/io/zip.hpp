// ZIP archives as PyTorch (.pt) and NumPy (.npz) use them: reading (stored and deflated members,
// ZIP64, data descriptors) from a byte range with every header field checked before use, and
// writing (stored with 64-byte aligned data as torch does, or deflated) to an atomic file.
#pragma once

#include <zlib.h>

#include <algorithm>
#include <cstdint>
#include <limits>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "neuralop/io/bytes.hpp"

namespace neuralop::io {

namespace detail {
// CRC-32 (zlib's) of any length: zlib counts in uInt, so feed at most 1 GiB per call.
inline std::uint32_t crc32_of(std::span<const std::byte> b) {
  uLong c = ::crc32(0L, Z_NULL, 0);
  for (std::size_t done = 0; done < b.size();) {
    const std::size_t n = std::min<std::size_t>(b.size() - done, std::size_t(1) << 30);
    c = ::crc32(c, reinterpret_cast<const Bytef*>(b.data() + done), static_cast<uInt>(n));
    done += n;
  }
  return static_cast<std::uint32_t>(c);
}
}  // namespace detail

struct ZipEntry {
  std::string name;
  std::uint16_t method = 0;  // 0 stored, 8 deflated
  std::uint16_t flags = 0;
  std::uint32_t crc32 = 0;
  std::uint64_t compressed_size = 0, size = 0, local_offset = 0;
};

class ZipReader {
 public:
  // `where` names the archive in errors (the file's path).
  ZipReader(Bytes data, std::string where) : data_(std::move(data)), where_(std::move(where)) { read_directory(); }

  const std::vector<ZipEntry>& entries() const { return entries_; }
  const std::string& where() const { return where_; }
  const ZipEntry* find(std::string_view name) const {
    for (const auto& e : entries_)
      if (e.name == name) return &e;
    return nullptr;
  }
  // The member's bytes: a view into the archive when stored, a new buffer when deflated.
  // verify_crc checks the CRC-32 of stored members too (deflated ones are always checked).
  Bytes read(const ZipEntry& e, bool verify_crc = true) const {
    Reader r(data_.span(), where_);
    const std::string what = "member '" + e.name + "'";
    r.seek(e.local_offset, "local header");
    if (r.u32("local header") != 0x04034b50u) fail(what, ": bad local header signature at offset ", e.local_offset);
    r.seek(e.local_offset + 26, "local header");
    const std::uint16_t name_len = r.u16("local header"), extra_len = r.u16("local header");
    const std::uint64_t start = e.local_offset + 30 + name_len + extra_len;
    if (start > data_.size() || e.compressed_size > data_.size() - start)
      fail(what, ": its data (", e.compressed_size, " bytes at offset ", start, ") runs past the end of the file (",
           data_.size(), " bytes): truncated?");
    const Bytes raw = data_.sub(static_cast<std::size_t>(start), static_cast<std::size_t>(e.compressed_size));
    if (e.method == 0) {
      if (e.compressed_size != e.size) fail(what, ": stored, but its sizes differ (", e.compressed_size, " vs ", e.size, ")");
      if (verify_crc) check_crc(e, raw.span());
      return raw;
    }
    if (e.method != 8) fail(what, ": unsupported compression method ", e.method, " (only stored and deflate)");
    // Deflate expands at most 1032:1, so a larger claimed size is corrupt, not an allocation to make.
    if (e.size > e.compressed_size * 1032 + 1024)
      fail(what, ": claims ", e.size, " bytes from ", e.compressed_size, " compressed bytes, more than deflate can produce");
    std::vector<std::byte> out(static_cast<std::size_t>(e.size));
    z_stream z{};
    if (inflateInit2(&z, -MAX_WBITS) != Z_OK) fail(what, ": zlib inflateInit2 failed");
    std::size_t in_done = 0, out_done = 0;
    int rc = Z_OK;
    while (rc == Z_OK) {
      // zlib counts in uInt: feed at most 1 GiB per call.
      const std::size_t in_chunk = std::min<std::size_t>(raw.size() - in_done, std::size_t(1) << 30);
      const std::size_t out_chunk = std::min<std::size_t>(out.size() - out_done, std::size_t(1) << 30);
      z.next_in = reinterpret_cast<Bytef*>(const_cast<std::byte*>(raw.data() + in_done));
      z.avail_in = static_cast<uInt>(in_chunk);
      z.next_out = reinterpret_cast<Bytef*>(out.data() + out_done);
      z.avail_out = static_cast<uInt>(out_chunk);
      rc = inflate(&z, Z_NO_FLUSH);
      in_done += in_chunk - z.avail_in;
      out_done += out_chunk - z.avail_out;
      if (rc == Z_BUF_ERROR && (in_done == raw.size() || out_done == out.size())) break;
      if (rc == Z_OK && z.avail_in == in_chunk && z.avail_out == out_chunk) break;  // no progress
    }
    inflateEnd(&z);
    if (rc != Z_STREAM_END)
      fail(what, ": corrupt deflate data (zlib: ", z.msg ? z.msg : std::to_string(rc).c_str(), ")");
    if (out_done != out.size()) fail(what, ": inflates to ", out_done, " bytes, the directory says ", e.size);
    Bytes b = Bytes::from_vector(std::move(out));
    check_crc(e, b.span());
    return b;
  }

 private:
  Bytes data_;
  std::string where_;
  std::vector<ZipEntry> entries_;

  template <class... A>
  [[noreturn]] void fail(A&&... a) const {
    throw_error<io_error>(where_, ": ", std::forward<A>(a)...);
  }
  void check_crc(const ZipEntry& e, std::span<const std::byte> b) const {
    if (detail::crc32_of(b) != e.crc32)
      fail("member '", e.name, "': CRC-32 mismatch (corrupt data)");
  }

  void read_directory() {
    const std::size_t n = data_.size();
    if (n < 22) fail("not a zip archive (", n, " bytes, too short for an end-of-directory record)");
    // The end-of-central-directory record: at the end, before a comment of at most 65535 bytes.
    std::optional<std::size_t> eocd;
    const std::size_t lowest = n >= 22 + 65535 ? n - 22 - 65535 : 0;
    for (std::size_t p = n - 22 + 1; p-- > lowest;) {
      const auto* b = data_.data() + p;
      if (b[0] == std::byte{0x50} && b[1] == std::byte{0x4b} && b[2] == std::byte{0x05} && b[3] == std::byte{0x06}) {
        eocd = p;
        break;
      }
    }
    if (!eocd) fail("not a zip archive (no end-of-central-directory record)");
    Reader r(data_.span(), where_);
    r.seek(*eocd + 4, "end of directory");
    const std::uint16_t disk = r.u16("end of directory"), cd_disk = r.u16("end of directory");
    std::uint64_t count_disk = r.u16("end of directory"), count = r.u16("end of directory");
    std::uint64_t cd_size = r.u32("end of directory"), cd_offset = r.u32("end of directory");
    if (disk != 0 || cd_disk != 0) fail("multi-volume zip archives are not supported");
    if (count == 0xffff || count_disk == 0xffff || cd_size == 0xffffffffu || cd_offset == 0xffffffffu) {
      // ZIP64: the locator sits right before the classic record and points at the ZIP64 record.
      if (*eocd < 20) fail("ZIP64 fields without a ZIP64 locator");
      r.seek(*eocd - 20, "ZIP64 locator");
      if (r.u32("ZIP64 locator") != 0x07064b50u) fail("ZIP64 fields without a ZIP64 locator");
      r.u32("ZIP64 locator");
      const std::uint64_t rec = r.u64("ZIP64 locator");
      r.seek(rec, "ZIP64 end of directory");
      if (r.u32("ZIP64 end of directory") != 0x06064b50u) fail("bad ZIP64 end-of-directory signature");
      r.seek(rec + 24, "ZIP64 end of directory");
      count_disk = r.u64("ZIP64 end of directory");
      count = r.u64("ZIP64 end of directory");
      cd_size = r.u64("ZIP64 end of directory");
      cd_offset = r.u64("ZIP64 end of directory");
    }
    if (cd_offset > n || cd_size > n - cd_offset) fail("the central directory (", cd_size, " bytes at ", cd_offset, ") lies outside the file: truncated?");
    if (count > cd_size / 46) fail("the directory claims ", count, " entries in ", cd_size, " bytes");
    entries_.reserve(static_cast<std::size_t>(count));
    r.seek(cd_offset, "central directory");
    for (std::uint64_t i = 0; i < count; ++i) {
      if (r.u32("central directory") != 0x02014b50u) fail("bad central directory entry ", i);
      ZipEntry e;
      r.u16("central directory");
      r.u16("central directory");
      e.flags = r.u16("central directory");
      e.method = r.u16("central directory");
      r.u32("central directory");  // time, date
      e.crc32 = r.u32("central directory");
      e.compressed_size = r.u32("central directory");
      e.size = r.u32("central directory");
      const std::uint16_t name_len = r.u16("central directory"), extra_len = r.u16("central directory"),
                          comment_len = r.u16("central directory");
      r.take(8, "central directory");  // disk, internal and external attributes
      e.local_offset = r.u32("central directory");
      e.name = std::string(r.str(name_len, "entry name"));
      Reader extra(r.take(extra_len, "entry extra field"), where_);
      while (extra.remaining() >= 4) {
        const std::uint16_t id = extra.u16("extra field"), len = extra.u16("extra field");
        Reader f(extra.take(len, "extra field"), where_);
        if (id != 0x0001) continue;
        // ZIP64 extended information: the saturated fields, in this order.
        if (e.size == 0xffffffffu) e.size = f.u64("ZIP64 extra field");
        if (e.compressed_size == 0xffffffffu) e.compressed_size = f.u64("ZIP64 extra field");
        if (e.local_offset == 0xffffffffu) e.local_offset = f.u64("ZIP64 extra field");
      }
      r.take(comment_len, "entry comment");
      if (e.flags & 1u) fail("member '", e.name, "' is encrypted");
      if (e.local_offset > cd_offset) fail("member '", e.name, "' has its header past the central directory");
      entries_.push_back(std::move(e));
    }
  }
};

struct ZipWriteOptions {
  bool deflate = false;        // compress members (npz savez_compressed); torch never does
  std::size_t alignment = 64;  // stored data start at multiples of this (torch: 64), 0 for none
};

// Streams members into an AtomicFile; finish() writes the directory and commits the file.
class ZipWriter {
 public:
  explicit ZipWriter(std::string path, ZipWriteOptions opt = {}) : file_(path), opt_(opt) {}

  void add(std::string_view name, std::span<const std::byte> data) {
    ZipEntry e;
    e.name = std::string(name);
    e.size = data.size();
    e.crc32 = detail::crc32_of(data);
    std::vector<std::byte> packed;
    std::span<const std::byte> body = data;
    if (opt_.deflate) {
      packed = deflate(data, name);
      body = packed;
      e.method = 8;
    }
    e.compressed_size = body.size();
    e.local_offset = file_.written();
    e.flags = 0x0800;  // UTF-8 names
    const bool z64 = e.size >= 0xffffffffu || e.compressed_size >= 0xffffffffu;
    ByteWriter h;
    h.u32(0x04034b50u);
    h.u16(z64 ? 45 : 20);
    h.u16(e.flags);
    h.u16(e.method);
    h.u16(0);
    h.u16(0x21);  // 1980-01-01, as reproducible zips do
    h.u32(e.crc32);
    h.u32(z64 ? 0xffffffffu : static_cast<std::uint32_t>(e.compressed_size));
    h.u32(z64 ? 0xffffffffu : static_cast<std::uint32_t>(e.size));
    h.u16(static_cast<std::uint16_t>(e.name.size()));
    const std::size_t fixed = 30 + e.name.size() + (z64 ? 20 : 0);
    std::size_t pad = 0;
    if (opt_.alignment && !opt_.deflate) {
      const std::size_t at = static_cast<std::size_t>(e.local_offset) + fixed + 4;  // + FB field header
      pad = (opt_.alignment - at % opt_.alignment) % opt_.alignment;
    }
    const bool fb = opt_.alignment && !opt_.deflate;
    h.u16(static_cast<std::uint16_t>((z64 ? 20 : 0) + (fb ? 4 + pad : 0)));
    h.bytes(e.name);
    if (z64) {
      h.u16(0x0001);
      h.u16(16);
      h.u64(e.size);
      h.u64(e.compressed_size);
    }
    if (fb) {  // torch's padding field "FB", filled with 'Z'
      h.u16(0x4246);
      h.u16(static_cast<std::uint16_t>(pad));
      h.bytes(std::string(pad, 'Z'));
    }
    file_.write(h.out);
    file_.write(body);
    entries_.push_back(std::move(e));
  }
  void add(std::string_view name, std::string_view text) { add(name, std::as_bytes(std::span(text.data(), text.size()))); }

  void finish() {
    const std::uint64_t cd_offset = file_.written();
    ByteWriter c;
    for (const auto& e : entries_) {
      const bool big_size = e.size >= 0xffffffffu || e.compressed_size >= 0xffffffffu;
      const bool big_off = e.local_offset >= 0xffffffffu;
      c.u32(0x02014b50u);
      c.u16(big_size || big_off ? 45 : 20);
      c.u16(big_size || big_off ? 45 : 20);
      c.u16(e.flags);
      c.u16(e.method);
      c.u16(0);
      c.u16(0x21);
      c.u32(e.crc32);
      c.u32(big_size ? 0xffffffffu : static_cast<std::uint32_t>(e.compressed_size));
      c.u32(big_size ? 0xffffffffu : static_cast<std::uint32_t>(e.size));
      c.u16(static_cast<std::uint16_t>(e.name.size()));
      c.u16(static_cast<std::uint16_t>(big_size || big_off ? 4 + (big_size ? 16 : 0) + (big_off ? 8 : 0) : 0));
      c.u16(0);
      c.u16(0);
      c.u16(0);
      c.u32(0);
      c.u32(big_off ? 0xffffffffu : static_cast<std::uint32_t>(e.local_offset));
      c.bytes(e.name);
      if (big_size || big_off) {
        c.u16(0x0001);
        c.u16(static_cast<std::uint16_t>((big_size ? 16 : 0) + (big_off ? 8 : 0)));
        if (big_size) {
          c.u64(e.size);
          c.u64(e.compressed_size);
        }
        if (big_off) c.u64(e.local_offset);
      }
    }
    const std::uint64_t cd_size = c.size(), count = entries_.size();
    const bool z64 = count >= 0xffff || cd_offset >= 0xffffffffu || cd_size >= 0xffffffffu;
    if (z64) {
      const std::uint64_t rec = cd_offset + cd_size;
      c.u32(0x06064b50u);
      c.u64(44);
      c.u16(45);
      c.u16(45);
      c.u32(0);
      c.u32(0);
      c.u64(count);
      c.u64(count);
      c.u64(cd_size);
      c.u64(cd_offset);
      c.u32(0x07064b50u);
      c.u32(0);
      c.u64(rec);
      c.u32(1);
    }
    c.u32(0x06054b50u);
    c.u16(0);
    c.u16(0);
    c.u16(z64 ? 0xffff : static_cast<std::uint16_t>(count));
    c.u16(z64 ? 0xffff : static_cast<std::uint16_t>(count));
    c.u32(z64 ? 0xffffffffu : static_cast<std::uint32_t>(cd_size));
    c.u32(z64 ? 0xffffffffu : static_cast<std::uint32_t>(cd_offset));
    c.u16(0);
    file_.write(c.out);
    file_.commit();
  }

 private:
  AtomicFile file_;
  ZipWriteOptions opt_;
  std::vector<ZipEntry> entries_;

  static std::vector<std::byte> deflate(std::span<const std::byte> in, std::string_view name) {
    z_stream z{};
    if (deflateInit2(&z, Z_DEFAULT_COMPRESSION, Z_DEFLATED, -MAX_WBITS, 8, Z_DEFAULT_STRATEGY) != Z_OK)
      throw_error<io_error>("zip: zlib deflateInit2 failed for '", name, "'");
    std::vector<std::byte> out(deflateBound(&z, static_cast<uLong>(std::min<std::size_t>(in.size(), 1u << 30))) + 64);
    std::size_t in_done = 0, out_done = 0;
    int rc = Z_OK;
    while (rc != Z_STREAM_END) {
      if (out.size() - out_done < 1024) out.resize(out.size() * 2);
      const std::size_t in_chunk = std::min<std::size_t>(in.size() - in_done, std::size_t(1) << 30);
      const std::size_t out_chunk = std::min<std::size_t>(out.size() - out_done, std::size_t(1) << 30);
      z.next_in = reinterpret_cast<Bytef*>(const_cast<std::byte*>(in.data() + in_done));
      z.avail_in = static_cast<uInt>(in_chunk);
      z.next_out = reinterpret_cast<Bytef*>(out.data() + out_done);
      z.avail_out = static_cast<uInt>(out_chunk);
      rc = ::deflate(&z, in_done + in_chunk == in.size() ? Z_FINISH : Z_NO_FLUSH);
      in_done += in_chunk - z.avail_in;
      out_done += out_chunk - z.avail_out;
      if (rc != Z_OK && rc != Z_STREAM_END && rc != Z_BUF_ERROR) {
        deflateEnd(&z);
        throw_error<io_error>("zip: zlib deflate failed for '", name, "' (", rc, ")");
      }
    }
    deflateEnd(&z);
    out.resize(out_done);
    return out;
  }
};

}  // namespace neuralop::io
