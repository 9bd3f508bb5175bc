// Pictures a user looks at after training: fields side by side (input, truth, prediction,
// error) in viridis with a colour bar each, and loss curves; rendered into an Image (save_png).
#pragma once

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <limits>
#include <string>
#include <vector>

#include "neuralop/core/error.hpp"
#include "neuralop/io/colormap.hpp"
#include "neuralop/io/image.hpp"

namespace neuralop::io {

// One 2-D field, row-major, row 0 drawn at the top (as matplotlib's imshow). The colour range
// is [vmin, vmax], or the field's own range where they are NaN.
struct FieldPanel {
  std::string title{};
  std::vector<double> values{};
  int rows = 0, cols = 0;
  double vmin = std::numeric_limits<double>::quiet_NaN();
  double vmax = std::numeric_limits<double>::quiet_NaN();
};

template <class T>
FieldPanel field_panel(std::string title, const T* data, int rows, int cols) {
  FieldPanel p{std::move(title), std::vector<double>(static_cast<std::size_t>(rows) * static_cast<std::size_t>(cols)), rows, cols};
  for (std::size_t i = 0; i < p.values.size(); ++i) p.values[i] = static_cast<double>(data[i]);
  return p;
}

struct FieldFigureOptions {
  std::string title{};
  int panel_pixels = 160;  // each field is drawn this many pixels a side (nearest-neighbour)
};

struct Curve {
  std::string label{};
  std::vector<double> x{}, y{};
};

struct CurveOptions {
  std::string title{}, xlabel{}, ylabel{};
  bool log_y = true;
  int width = 720, height = 440;
};

namespace detail {

inline std::string short_number(double v) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.3g", v);
  return buf;
}

// The field's own finite range, or the panel's where given.
inline std::pair<double, double> panel_range(const FieldPanel& p) {
  double lo = std::numeric_limits<double>::infinity(), hi = -lo;
  for (double v : p.values)
    if (std::isfinite(v)) lo = std::min(lo, v), hi = std::max(hi, v);
  if (!std::isfinite(lo)) lo = 0, hi = 1;
  if (std::isfinite(p.vmin)) lo = p.vmin;
  if (std::isfinite(p.vmax)) hi = p.vmax;
  if (!(hi > lo)) hi = lo + 1;  // a constant field: one colour, a readable bar
  return {lo, hi};
}

// "Nice" tick values (1, 2, 5 x 10^k) covering [lo, hi] with about n ticks.
inline std::vector<double> nice_ticks(double lo, double hi, int n = 5) {
  const double span = hi - lo;
  if (!(span > 0) || !std::isfinite(span)) return {lo};
  const double raw = span / n, mag = std::pow(10.0, std::floor(std::log10(raw)));
  const double step = raw / mag < 1.5 ? mag : raw / mag < 3.5 ? 2 * mag : raw / mag < 7.5 ? 5 * mag : 10 * mag;
  std::vector<double> t;
  for (double v = std::ceil(lo / step) * step; v <= hi + 1e-9 * step; v += step) t.push_back(std::abs(v) < 1e-12 * step ? 0.0 : v);
  return t;
}

}  // namespace detail

// A grid of panels: rows of figures (e.g. one test sample per row), each panel titled, with a
// colour bar labelled with its range.
inline Image render_fields(const std::vector<std::vector<FieldPanel>>& grid, const FieldFigureOptions& o = {}) {
  if (grid.empty()) throw_error<value_error>("render_fields: no panels");
  if (o.panel_pixels < 8 || o.panel_pixels > 2048)
    throw_error<value_error>("render_fields: panel_pixels ", o.panel_pixels, " must be in [8, 2048]");
  std::size_t n_cols = 0;
  for (const auto& row : grid) {
    n_cols = std::max(n_cols, row.size());
    for (const auto& p : row)
      if (p.rows <= 0 || p.cols <= 0 || p.values.size() != static_cast<std::size_t>(p.rows) * static_cast<std::size_t>(p.cols))
        throw_error<value_error>("render_fields: panel '", p.title, "' has ", p.values.size(), " values for a ", p.rows, " x ",
                                 p.cols, " field");
  }
  const int s = o.panel_pixels, bar_w = 12, label_w = 48, gap = 14, title_h = 16;
  const int cell_w = s + 6 + bar_w + 4 + label_w + gap, cell_h = title_h + s + gap;
  const int top = o.title.empty() ? gap : 2 * title_h + gap;
  Image img(gap + static_cast<int>(n_cols) * cell_w, top + static_cast<int>(grid.size()) * cell_h);
  if (!o.title.empty()) img.text(gap, gap / 2, o.title, black, 2);
  for (std::size_t r = 0; r < grid.size(); ++r)
    for (std::size_t c = 0; c < grid[r].size(); ++c) {
      const FieldPanel& p = grid[r][c];
      const int x0 = gap + static_cast<int>(c) * cell_w, y0 = top + static_cast<int>(r) * cell_h;
      img.text(x0, y0 + 2, p.title, black);
      const auto [lo, hi] = detail::panel_range(p);
      // Non-square fields keep their aspect ratio inside the s x s box.
      const int longest = std::max(p.rows, p.cols);
      const int pw = std::max(1, s * p.cols / longest), ph = std::max(1, s * p.rows / longest);
      for (int y = 0; y < ph; ++y)
        for (int x = 0; x < pw; ++x) {
          const std::size_t i = static_cast<std::size_t>(y * p.rows / ph) * static_cast<std::size_t>(p.cols) +
                                static_cast<std::size_t>(x * p.cols / pw);
          const auto rgb = viridis((p.values[i] - lo) / (hi - lo));
          img.set(x0 + x, y0 + title_h + y, {rgb[0], rgb[1], rgb[2]});
        }
      const int bx = x0 + s + 6, by = y0 + title_h;
      for (int y = 0; y < s; ++y) {
        const auto rgb = viridis(1.0 - static_cast<double>(y) / (s - 1));
        img.fill_rect(bx, by + y, bar_w, 1, {rgb[0], rgb[1], rgb[2]});
      }
      img.rect_outline(bx, by, bar_w, s, grey);
      img.text(bx + bar_w + 4, by, detail::short_number(hi), black);
      img.text(bx + bar_w + 4, by + s / 2 - 4, detail::short_number(0.5 * (lo + hi)), black);
      img.text(bx + bar_w + 4, by + s - 8, detail::short_number(lo), black);
    }
  return img;
}

// Curves on shared axes (a log y axis by default: losses), with a legend. Points that cannot
// be drawn (NaN, or <= 0 on a log axis) break the line.
inline Image render_curves(const std::vector<Curve>& curves, const CurveOptions& o = {}) {
  if (curves.empty()) throw_error<value_error>("render_curves: no curves");
  if (o.width < 200 || o.height < 150) throw_error<value_error>("render_curves: size ", o.width, " x ", o.height, " is below 200 x 150");
  for (const auto& c : curves)
    if (c.x.size() != c.y.size())
      throw_error<value_error>("render_curves: curve '", c.label, "' has ", c.x.size(), " x values and ", c.y.size(), " y values");
  auto ty = [&](double v) { return o.log_y ? (v > 0 ? std::log10(v) : std::numeric_limits<double>::quiet_NaN()) : v; };
  double x_lo = std::numeric_limits<double>::infinity(), x_hi = -x_lo, y_lo = x_lo, y_hi = -x_lo;
  for (const auto& c : curves)
    for (std::size_t i = 0; i < c.x.size(); ++i) {
      const double y = ty(c.y[i]);
      if (!std::isfinite(c.x[i]) || !std::isfinite(y)) continue;
      x_lo = std::min(x_lo, c.x[i]), x_hi = std::max(x_hi, c.x[i]), y_lo = std::min(y_lo, y), y_hi = std::max(y_hi, y);
    }
  if (!std::isfinite(x_lo)) x_lo = 0, x_hi = 1, y_lo = 0, y_hi = 1;
  if (!(x_hi > x_lo)) x_hi = x_lo + 1;
  if (!(y_hi > y_lo)) y_lo -= 0.5, y_hi += 0.5;
  const double pad = 0.05 * (y_hi - y_lo);
  y_lo -= pad, y_hi += pad;

  Image img(o.width, o.height);
  const int left = 70, right = 20, top = o.title.empty() ? 24 : 52, bottom = 50;
  const int pw = o.width - left - right, ph = o.height - top - bottom;
  auto px = [&](double x) { return left + (x - x_lo) / (x_hi - x_lo) * pw; };
  auto py = [&](double y) { return top + ph - (y - y_lo) / (y_hi - y_lo) * ph; };
  if (!o.title.empty()) img.text(left, 12, o.title, black, 2);

  // Grid and tick labels: decades (and 2x, 5x within a short range) on a log axis.
  std::vector<std::pair<double, std::string>> yt;
  if (o.log_y) {
    const bool short_range = y_hi - y_lo < 1.5;
    for (int k = static_cast<int>(std::floor(y_lo)); k <= static_cast<int>(std::ceil(y_hi)); ++k)
      for (double m : short_range ? std::vector<double>{1, 2, 5} : std::vector<double>{1}) {
        const double v = std::log10(m) + k;
        if (v >= y_lo && v <= y_hi) yt.emplace_back(v, detail::short_number(m * std::pow(10.0, k)));
      }
  } else {
    for (double v : detail::nice_ticks(y_lo, y_hi)) yt.emplace_back(v, detail::short_number(v));
  }
  for (const auto& [v, label] : yt) {
    const double y = py(v);
    img.line(left, y, left + pw, y, light_grey);
    img.text(left - 6 - Image::text_width(label), static_cast<int>(y) - 4, label, black);
  }
  for (double v : detail::nice_ticks(x_lo, x_hi, 6)) {
    const double x = px(v);
    img.line(x, top, x, top + ph, light_grey);
    const std::string label = detail::short_number(v);
    img.text(static_cast<int>(x) - Image::text_width(label) / 2, top + ph + 6, label, black);
  }
  img.rect_outline(left, top, pw + 1, ph + 1, black);
  if (!o.xlabel.empty()) img.text(left + pw / 2 - Image::text_width(o.xlabel) / 2, top + ph + 24, o.xlabel, black);
  if (!o.ylabel.empty()) img.text(4, top - 14 < 0 ? 0 : top - 14, o.ylabel, black);

  for (std::size_t k = 0; k < curves.size(); ++k) {
    const Curve& c = curves[k];
    bool have_prev = false;
    double x_prev = 0, y_prev = 0;
    for (std::size_t i = 0; i < c.x.size(); ++i) {
      const double y = ty(c.y[i]);
      if (!std::isfinite(c.x[i]) || !std::isfinite(y)) {
        have_prev = false;
        continue;
      }
      const double x1 = px(c.x[i]), y1 = py(y);
      if (have_prev) img.line(x_prev, y_prev, x1, y1, tab10(k), 2);
      else img.fill_rect(static_cast<int>(x1) - 1, static_cast<int>(y1) - 1, 3, 3, tab10(k));
      x_prev = x1, y_prev = y1, have_prev = true;
    }
  }
  // Legend, top right inside the axes.
  int lw = 0;
  for (const auto& c : curves) lw = std::max(lw, Image::text_width(c.label));
  const int lx = left + pw - lw - 40, ly = top + 8;
  img.fill_rect(lx - 6, ly - 4, lw + 44, static_cast<int>(curves.size()) * 14 + 6, white);
  img.rect_outline(lx - 6, ly - 4, lw + 44, static_cast<int>(curves.size()) * 14 + 6, grey);
  for (std::size_t k = 0; k < curves.size(); ++k) {
    const int y = ly + static_cast<int>(k) * 14;
    img.line(lx, y + 4, lx + 24, y + 4, tab10(k), 2);
    img.text(lx + 30, y, curves[k].label, black);
  }
  return img;
}

}  // namespace neuralop::io
