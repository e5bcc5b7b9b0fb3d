// metagrad::write_learning_curves_svg: loss and accuracy per epoch, drawn as an SVG file.
#pragma once

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <cstdio>
#include <fstream>
#include <stdexcept>
#include <string>
#include <vector>

#include "metagrad/train/history.hpp"

namespace metagrad {

namespace detail {
struct svg_panel {
    std::string title;
    std::vector<double> first, second;  // training, validation
    double x_origin, y_origin, width, height;
};

inline std::string xml_text(const std::string& s) {
    std::string out;
    for (const char c : s) out += c == '<' ? "&lt;" : c == '>' ? "&gt;" : c == '&' ? "&amp;" : std::string(1, c);
    return out;
}

/// A value axis whose grid lines fall on round numbers: a step of 1, 2 or 5 times a power of
/// ten, the smallest that spans the values in at most 10 steps (4 at least), from a multiple of
/// the step at or below the lowest value to one at or above the highest (so 4 to 12 intervals).
struct value_axis {
    double low, step;
    std::size_t intervals;
    int decimals;  // enough to print every grid value exactly (0.05 needs 2); -1: 3 significant digits
    double at(std::size_t k) const { return low + step * static_cast<double>(k); }
    double high() const { return at(intervals); }
};
inline value_axis round_axis(double low, double high) {
    if (!(high > low)) low -= 0.5, high += 0.5;
    const double span = high - low;
    // Values a double's range apart (1e308 and -1e308): four plain intervals.
    if (!std::isfinite(span)) return {low, high / 4 - low / 4, 4, -1};
    const double power = std::pow(10.0, std::floor(std::log10(span / 4)));  // span / power in [4, 40)
    const double step = (span <= 10 * power ? 1 : span <= 20 * power ? 2 : 5) * power;
    const double first = std::floor(low / step + 1e-9), last = std::ceil(high / step - 1e-9);
    const auto intervals = static_cast<std::size_t>(std::max(4.0, last - first));
    return {first * step, step, intervals, std::clamp(-static_cast<int>(std::floor(std::log10(power) + 1e-9)), 0, 12)};
}
inline std::string number_text(double v, int decimals) {
    char text[48];
    if (decimals < 0)
        std::snprintf(text, sizeof text, "%.3g", v);
    else
        std::snprintf(text, sizeof text, "%.*f", decimals, std::abs(v) < 1e-12 ? 0.0 : v);  // never "-0.00"
    return text;
}

/// One panel: frame, horizontal grid lines at round values, epoch ticks, two polylines.
inline void draw_panel(std::string& svg, const svg_panel& p, std::size_t epochs) {
    double low = 1e300, high = -1e300;
    for (const auto* series : {&p.first, &p.second})
        for (double v : *series)
            if (std::isfinite(v)) low = std::min(low, v), high = std::max(high, v);
    if (low > high) low = 0, high = 1;
    const value_axis axis = round_axis(low, high);
    low = axis.low, high = axis.high();
    const auto x_at = [&](std::size_t i) {
        return p.x_origin + (epochs > 1 ? p.width * static_cast<double>(i) / static_cast<double>(epochs - 1) : p.width / 2);
    };
    const auto y_at = [&](double v) { return p.y_origin + p.height * (high - v) / (high - low); };
    char text[512];
    std::snprintf(text, sizeof text,
                  "<rect x='%.1f' y='%.1f' width='%.1f' height='%.1f' fill='none' stroke='#444'/>\n"
                  "<text x='%.1f' y='%.1f' text-anchor='middle' font-size='15'>%s</text>\n",
                  p.x_origin, p.y_origin, p.width, p.height, p.x_origin + p.width / 2, p.y_origin - 10, p.title.c_str());
    svg += text;
    for (std::size_t k = 0; k <= axis.intervals; ++k) {
        const double v = axis.at(k), y = y_at(v);
        std::snprintf(text, sizeof text,
                      "<line x1='%.1f' y1='%.1f' x2='%.1f' y2='%.1f' stroke='#ddd'/>"
                      "<text x='%.1f' y='%.1f' text-anchor='end' font-size='11'>%s</text>\n",
                      p.x_origin, y, p.x_origin + p.width, y, p.x_origin - 6, y + 4, number_text(v, axis.decimals).c_str());
        svg += text;
    }
    const std::size_t tick_every = std::max<std::size_t>(1, (epochs + 9) / 10);
    for (std::size_t i = 0; i < epochs; i += tick_every) {
        std::snprintf(text, sizeof text, "<text x='%.1f' y='%.1f' text-anchor='middle' font-size='11'>%zu</text>\n", x_at(i),
                      p.y_origin + p.height + 16, i + 1);
        svg += text;
    }
    std::snprintf(text, sizeof text, "<text x='%.1f' y='%.1f' text-anchor='middle' font-size='12'>epoch</text>\n",
                  p.x_origin + p.width / 2, p.y_origin + p.height + 34);
    svg += text;
    // A value that is not finite has no place on the axis: printed, it made `points='70.0,-nan'`,
    // which viewers reject or draw as a line to the corner. The curve breaks there instead (one
    // polyline per run of finite values) and the epoch gets a marker at the top of the panel,
    // "nan", "inf" or "-inf" in the curve's colour, so the gap is explained, not hidden.
    const char* colours[2] = {"#1f77b4", "#d62728"};
    const std::vector<double>* series[2] = {&p.first, &p.second};
    for (int s = 0; s < 2; ++s) {
        const std::vector<double>& values = *series[s];
        for (std::size_t i = 0; i < values.size();) {
            if (!std::isfinite(values[i])) {
                std::snprintf(text, sizeof text,
                              "<text x='%.1f' y='%.1f' text-anchor='middle' font-size='10' fill='%s'>%s</text>\n", x_at(i),
                              p.y_origin + 12 + 11 * s, colours[s], std::isnan(values[i]) ? "nan" : values[i] > 0 ? "inf" : "-inf");
                svg += text;
                ++i;
                continue;
            }
            svg += std::string("<polyline fill='none' stroke-width='2' stroke='") + colours[s] + "' points='";
            for (; i < values.size() && std::isfinite(values[i]); ++i) {
                std::snprintf(text, sizeof text, "%.1f,%.1f ", x_at(i), y_at(values[i]));
                svg += text;
            }
            svg += "'/>\n";
        }
    }
}
}  // namespace detail

/// Draws two panels, loss and accuracy against epoch, each with the training curve (blue) and
/// the validation curve (red), to an SVG file any browser shows. Values that are not finite
/// break their curve and are marked "nan", "inf" or "-inf" at their epoch. Throws
/// std::runtime_error naming the file if it cannot be written.
inline void write_learning_curves_svg(const history& h, const std::string& path, const std::string& title = "") {
    detail::svg_panel loss{"loss", {}, {}, 70, 60, 380, 260}, accuracy{"accuracy", {}, {}, 540, 60, 380, 260};
    for (const epoch_record& r : h.epochs) {
        loss.first.push_back(r.train_loss), loss.second.push_back(r.validation_loss);
        accuracy.first.push_back(r.train_accuracy), accuracy.second.push_back(r.validation_accuracy);
    }
    std::string svg =
        "<svg xmlns='http://www.w3.org/2000/svg' width='960' height='400' font-family='sans-serif'>\n"
        "<rect width='100%' height='100%' fill='white'/>\n";
    if (!title.empty()) svg += "<text x='480' y='22' text-anchor='middle' font-size='16'>" + detail::xml_text(title) + "</text>\n";
    detail::draw_panel(svg, loss, h.epochs.size());
    detail::draw_panel(svg, accuracy, h.epochs.size());
    svg += "<line x1='380' y1='378' x2='405' y2='378' stroke='#1f77b4' stroke-width='2'/>"
           "<text x='410' y='382' font-size='12'>training</text>"
           "<line x1='500' y1='378' x2='525' y2='378' stroke='#d62728' stroke-width='2'/>"
           "<text x='530' y='382' font-size='12'>validation</text>\n</svg>\n";
    std::ofstream out(path);
    out << svg;
    out.flush();
    if (!out) throw std::runtime_error(path + ": could not write the plot");
}

}  // namespace metagrad
