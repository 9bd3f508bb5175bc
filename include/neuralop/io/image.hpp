// An RGB raster with the little drawing pictures need (rectangles, lines, text) and save_png.
// PNG encoding is libstb's stb_image_write and text is stb_easy_font (Debian's libstb-dev; link
// with `stb`, pkg-config name `stb`); the file is written atomically (temp file + rename).
#pragma once

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "neuralop/core/error.hpp"
#include "neuralop/io/bytes.hpp"

#if __has_include(<stb/stb_image_write.h>)
#include <stb/stb_image_write.h>
#else
#include <stb_image_write.h>
#endif
// stb_easy_font is a C header of static functions: we use two of them, and it is not -Wextra clean.
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wunused-function"
#pragma GCC diagnostic ignored "-Wsign-compare"
#pragma GCC diagnostic ignored "-Wmissing-field-initializers"
#if __has_include(<stb/stb_easy_font.h>)
#include <stb/stb_easy_font.h>
#else
#include <stb_easy_font.h>
#endif
#pragma GCC diagnostic pop

namespace neuralop::io {

struct Color {
  std::uint8_t r = 0, g = 0, b = 0;
  bool operator==(const Color&) const = default;
};
inline constexpr Color white{255, 255, 255};
inline constexpr Color black{0, 0, 0};
inline constexpr Color grey{128, 128, 128};
inline constexpr Color light_grey{225, 225, 225};

// matplotlib's "tab10" cycle, for curves.
inline Color tab10(std::size_t i) {
  static constexpr Color c[10] = {{31, 119, 180}, {255, 127, 14}, {44, 160, 44},   {214, 39, 40},  {148, 103, 189},
                                  {140, 86, 75},  {227, 119, 194}, {127, 127, 127}, {188, 189, 34}, {23, 190, 207}};
  return c[i % 10];
}

class Image {
 public:
  Image(int width, int height, Color background = white) : w_(width), h_(height) {
    if (width <= 0 || height <= 0 || width > 32768 || height > 32768)
      throw_error<value_error>("Image: size ", width, " x ", height, " must be between 1 and 32768 pixels a side");
    rgb_.resize(static_cast<std::size_t>(width) * static_cast<std::size_t>(height) * 3);
    fill_rect(0, 0, width, height, background);
  }
  int width() const { return w_; }
  int height() const { return h_; }
  std::span<const std::uint8_t> rgb() const { return rgb_; }

  // Drawing clips to the image: a shape partly outside is drawn partly.
  void set(int x, int y, Color c) {
    if (x < 0 || y < 0 || x >= w_ || y >= h_) return;
    std::uint8_t* p = &rgb_[(static_cast<std::size_t>(y) * static_cast<std::size_t>(w_) + static_cast<std::size_t>(x)) * 3];
    p[0] = c.r;
    p[1] = c.g;
    p[2] = c.b;
  }
  Color at(int x, int y) const {
    if (x < 0 || y < 0 || x >= w_ || y >= h_)
      throw_error<value_error>("Image::at: pixel (", x, ", ", y, ") is outside the ", w_, " x ", h_, " image");
    const std::uint8_t* p = &rgb_[(static_cast<std::size_t>(y) * static_cast<std::size_t>(w_) + static_cast<std::size_t>(x)) * 3];
    return {p[0], p[1], p[2]};
  }
  void fill_rect(int x0, int y0, int w, int h, Color c) {
    const int xa = std::max(x0, 0), ya = std::max(y0, 0), xb = std::min(x0 + w, w_), yb = std::min(y0 + h, h_);
    for (int y = ya; y < yb; ++y)
      for (int x = xa; x < xb; ++x) set(x, y, c);
  }
  void rect_outline(int x0, int y0, int w, int h, Color c) {
    fill_rect(x0, y0, w, 1, c);
    fill_rect(x0, y0 + h - 1, w, 1, c);
    fill_rect(x0, y0, 1, h, c);
    fill_rect(x0 + w - 1, y0, 1, h, c);
  }
  // A segment `thickness` pixels wide (square pen), stepped at half-pixel spacing.
  void line(double x0, double y0, double x1, double y1, Color c, int thickness = 1) {
    if (!std::isfinite(x0) || !std::isfinite(y0) || !std::isfinite(x1) || !std::isfinite(y1)) return;
    const double len = std::max(std::abs(x1 - x0), std::abs(y1 - y0));
    const int steps = static_cast<int>(std::min(2.0 * len, 1e5)) + 1;
    const int r0 = -(thickness - 1) / 2, r1 = thickness / 2;
    for (int s = 0; s <= steps; ++s) {
      const double t = static_cast<double>(s) / steps;
      const int x = static_cast<int>(std::lround(x0 + t * (x1 - x0))), y = static_cast<int>(std::lround(y0 + t * (y1 - y0)));
      for (int dy = r0; dy <= r1; ++dy)
        for (int dx = r0; dx <= r1; ++dx) set(x + dx, y + dy, c);
    }
  }

  // Text in stb_easy_font's 7-pixel-high glyphs, scaled by an integer factor; (x, y) is the top
  // left corner. Characters outside printable ASCII show as "?".
  void text(int x, int y, std::string_view s, Color c, int scale = 1) {
    if (s.empty()) return;
    std::string buf = printable(s);
    std::vector<char> quads(buf.size() * 300 + 1024);  // stb asks ~270 bytes a character at most
    const int n = stb_easy_font_print(0.f, 0.f, buf.data(), nullptr, quads.data(), static_cast<int>(quads.size()));
    // Each quad: 4 vertices of (x, y, z float; 4 colour bytes), axis-aligned.
    for (int q = 0; q < n; ++q) {
      const char* v = quads.data() + static_cast<std::size_t>(q) * 64;
      float ax, ay, bx, by;
      std::memcpy(&ax, v, 4);
      std::memcpy(&ay, v + 4, 4);
      std::memcpy(&bx, v + 32, 4);
      std::memcpy(&by, v + 36, 4);
      const int qx = static_cast<int>(std::lround(std::min(ax, bx))), qy = static_cast<int>(std::lround(std::min(ay, by)));
      const int qw = static_cast<int>(std::lround(std::abs(bx - ax))), qh = static_cast<int>(std::lround(std::abs(by - ay)));
      fill_rect(x + qx * scale, y + qy * scale, qw * scale, qh * scale, c);
    }
  }
  static int text_width(std::string_view s, int scale = 1) {
    std::string buf = printable(s);
    return buf.empty() ? 0 : stb_easy_font_width(buf.data()) * scale;
  }
  static int text_height(int scale = 1) { return 8 * scale; }

  // Copies `src` with its top left corner at (x, y), clipped.
  void blit(const Image& src, int x, int y) {
    for (int j = 0; j < src.height(); ++j)
      for (int i = 0; i < src.width(); ++i) set(x + i, y + j, src.at(i, j));
  }

 private:
  // stb_easy_font indexes its glyph table by (c - 32): anything else would read out of bounds.
  static std::string printable(std::string_view s) {
    std::string out(s);
    for (char& ch : out)
      if (ch != '\n' && (static_cast<unsigned char>(ch) < 32 || static_cast<unsigned char>(ch) > 126)) ch = '?';
    return out;
  }

  int w_, h_;
  std::vector<std::uint8_t> rgb_;
};

// Writes `image` as an 8-bit RGB PNG at `path`, atomically: a crash or a failed write leaves
// the old file (or none), never a torn one. An unwritable place is an io_error naming the path.
inline void save_png(const std::string& path, const Image& image) {
  std::vector<std::byte> encoded;
  auto sink = [](void* ctx, void* data, int size) {
    auto* out = static_cast<std::vector<std::byte>*>(ctx);
    const auto* p = static_cast<const std::byte*>(data);
    out->insert(out->end(), p, p + size);
  };
  const int ok = stbi_write_png_to_func(sink, &encoded, image.width(), image.height(), 3, image.rgb().data(), image.width() * 3);
  if (ok == 0 || encoded.empty()) throw_error<io_error>(path, ": PNG encoding of a ", image.width(), " x ", image.height(), " image failed");
  AtomicFile f(path);
  f.write(encoded);
  f.commit();
}

}  // namespace neuralop::io
