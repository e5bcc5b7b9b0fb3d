// Streams of GRUs of 16 and 64 units, one voice and 16 voices, one input and a dense output per
// step: nanoseconds per sample and voice, the best of 5 blocks of 4,800 steps
// (docs/benchmarks.md, "Voices stepped at once").
//
//   build/bench/benchmarks/stream_voices
#include <chrono>
#include <cstddef>
#include <cstdio>
#include <memory>
#include <vector>

#include "metagrad/metagrad.hpp"

namespace mg = metagrad;

namespace {
template <std::size_t H, std::size_t Voices>
void time_voices() {
    using net = mg::sequential<mg::input<64, 1>, mg::gru<H>, mg::per_step<mg::dense<1>>>;
    auto p = std::make_unique<typename net::template parameters<float>>();
    mg::random_generator g(3);
    mg::initialize(*p, mg::glorot_normal{}, g);
    auto s = std::make_unique<mg::stream<net, float, Voices>>(*p);
    constexpr std::size_t steps = 4800;
    std::vector<float> in(steps * Voices), out(steps * Voices);
    for (std::size_t i = 0; i < in.size(); ++i) in[i] = 0.3f * static_cast<float>((i * 7919) % 1000) / 1000.0f;
    double best = 1e30;
    for (int block = 0; block < 5; ++block) {
        const auto start = std::chrono::steady_clock::now();
        s->process(in.data(), out.data(), steps);
        const double ns = std::chrono::duration<double, std::nano>(std::chrono::steady_clock::now() - start).count() /
                          static_cast<double>(steps * Voices);
        if (ns < best) best = ns;
    }
    // The last output printed, so that the work cannot be dropped.
    std::printf("GRU %zu, %zu voices: %.1f ns per sample and voice (last output %.4f)\n", H, Voices, best,
                static_cast<double>(out.back()));
}
}  // namespace

int main() {
    time_voices<16, 1>();
    time_voices<16, 16>();
    time_voices<64, 1>();
    time_voices<64, 16>();
}
