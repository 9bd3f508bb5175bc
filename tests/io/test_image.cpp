// io::Image, save_png, render_fields, render_curves: the PNG decodes (libstb's stb_image) to
// exactly the pixels drawn, colours follow viridis, bad sizes and unwritable paths are errors.
#include <filesystem>
#include <fstream>

#if __has_include(<stb/stb_image.h>)
#include <stb/stb_image.h>
#else
#include <stb_image.h>
#endif

#include "../helpers.hpp"
#include "io_test_util.hpp"
#include "neuralop/io/plots.hpp"

using namespace neuralop;
using io::Color;
using io::Image;

namespace {

// Decoded RGB pixels of a PNG file (stb_image; the library under test only encodes).
std::vector<std::uint8_t> decode_png(const std::string& path, int& w, int& h) {
  int n = 0;
  unsigned char* p = stbi_load(path.c_str(), &w, &h, &n, 3);
  REQUIRE_MESSAGE(p != nullptr, "stbi_load failed on " << path);
  std::vector<std::uint8_t> out(p, p + static_cast<std::size_t>(w) * static_cast<std::size_t>(h) * 3);
  stbi_image_free(p);
  return out;
}

}  // namespace

TEST_SUITE("io") {

TEST_CASE("save_png writes a PNG that decodes to exactly the drawn pixels") {
  Image img(37, 23, io::white);
  img.fill_rect(3, 4, 10, 5, {200, 10, 20});
  img.line(0, 22, 36, 0, io::black, 1);
  img.text(2, 12, "L2 0.05", {0, 0, 255});
  const std::string path = iotest::temp_path("drawn.png");
  io::save_png(path, img);
  int w = 0, h = 0;
  const auto px = decode_png(path, w, h);
  REQUIRE(w == 37);
  REQUIRE(h == 23);
  CHECK(std::equal(px.begin(), px.end(), img.rgb().begin(), img.rgb().end()));
  CHECK(img.at(5, 6) == Color{200, 10, 20});
  // The text left blue pixels; the line black ones at both of its ends.
  int blue = 0;
  for (int y = 0; y < h; ++y)
    for (int x = 0; x < w; ++x) blue += img.at(x, y) == Color{0, 0, 255};
  CHECK(blue > 10);
  CHECK(img.at(0, 22) == io::black);
  CHECK(img.at(36, 0) == io::black);
  // No temporary file is left beside it.
  int n_files = 0;
  for (const auto& e : std::filesystem::directory_iterator(std::filesystem::path(path).parent_path()))
    n_files += e.path().filename().string().starts_with("drawn.png");
  CHECK(n_files == 1);
}

TEST_CASE("viridis: matplotlib's end points and midpoint, clamped, NaN stands out") {
  CHECK(io::viridis(0.0) == std::array<std::uint8_t, 3>{68, 1, 84});
  CHECK(io::viridis(1.0) == std::array<std::uint8_t, 3>{253, 231, 37});
  CHECK(io::viridis(128.0 / 255.0) == std::array<std::uint8_t, 3>{33, 145, 140});
  CHECK(io::viridis(-3.0) == io::viridis(0.0));
  CHECK(io::viridis(7.0) == io::viridis(1.0));
  CHECK(io::viridis(std::nan("")) == std::array<std::uint8_t, 3>{255, 0, 255});
}

TEST_CASE("render_fields: a field's minimum and maximum get viridis' ends, shared ranges are honoured") {
  // A 2 x 2 field 0, 1, 2, 3 drawn at 8 pixels a cell: the top left cell is the minimum.
  const std::vector<float> f = {0, 1, 2, 3};
  auto p = io::field_panel("f", f.data(), 2, 2);
  const Image img = io::render_fields({{p}}, {.panel_pixels = 16});
  const auto lo = io::viridis(0.0), hi = io::viridis(1.0);
  // The panel starts at (gap, gap + title): find the minimum's colour and the maximum's.
  bool saw_lo = false, saw_hi = false;
  for (int y = 0; y < img.height(); ++y)
    for (int x = 0; x < img.width(); ++x) {
      const Color c = img.at(x, y);
      saw_lo |= c == Color{lo[0], lo[1], lo[2]};
      saw_hi |= c == Color{hi[0], hi[1], hi[2]};
    }
  CHECK(saw_lo);
  CHECK(saw_hi);
  // With a range twice as wide, the field's maximum is mid-scale: viridis(1) appears only in
  // the colour bar, so the panel's own pixels change.
  p.vmax = 6;
  const Image wide = io::render_fields({{p}}, {.panel_pixels = 16});
  CHECK_FALSE(std::equal(img.rgb().begin(), img.rgb().end(), wide.rgb().begin(), wide.rgb().end()));
}

TEST_CASE("render_curves draws every curve's colour and skips what a log axis cannot show") {
  io::Curve a{"train", {1, 2, 3, 4}, {1.0, 0.5, 0.25, 0.125}};
  io::Curve b{"test", {1, 2, 3, 4}, {0.8, -1.0, std::nan(""), 0.2}};
  const Image img = io::render_curves({a, b}, {.title = "loss", .xlabel = "epoch"});
  auto count = [&](Color c) {
    int n = 0;
    for (int y = 0; y < img.height(); ++y)
      for (int x = 0; x < img.width(); ++x) n += img.at(x, y) == c;
    return n;
  };
  CHECK(count(io::tab10(0)) > 100);
  CHECK(count(io::tab10(1)) > 10);
}

TEST_CASE("bad pictures and unwritable paths are errors that say what was wrong") {
  CHECK_THROWS_WITH_AS(Image(0, 10), doctest::Contains("0 x 10"), value_error);
  CHECK_THROWS_AS(io::render_fields({}), value_error);
  io::FieldPanel bad{"u", {1, 2, 3}, 2, 2};
  CHECK_THROWS_WITH_AS(io::render_fields({{bad}}), doctest::Contains("'u' has 3 values for a 2 x 2 field"), value_error);
  CHECK_THROWS_WITH_AS(io::render_curves({io::Curve{"c", {1, 2}, {1}}}), doctest::Contains("'c' has 2 x values and 1 y values"),
                       value_error);
  CHECK_THROWS_WITH_AS(io::save_png("/nonexistent-dir/x.png", Image(4, 4)), doctest::Contains("/nonexistent-dir/x.png"), io_error);
  CHECK_THROWS_WITH_AS(Image(4, 4).at(4, 0), doctest::Contains("outside"), value_error);
}

}  // TEST_SUITE
