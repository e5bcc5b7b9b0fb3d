// A nonlinear audio effect with memory, learned by a GRU and then streamed sample by sample, as a
// guitar-amplifier model runs in a plug-in. The effect is made here: a one-pole low-pass filter
// (its memory) into a tanh drive (its saturation), on signals generated here at 48 kHz (sums of
// sines whose loudness swells and fades, with bursts of noise). The GRU is trained by truncated
// back-propagation through time: 16 signals of one second each are cut into chunks of 200
// samples, and the GRU carries its state from one chunk to the next (`stateful`). Then it runs
// on a held-out signal one sample at a time (`stream`), and prints the error-to-signal ratio
//
//     ESR = sum (y - y^)^2 / sum y^2
//
// and the real-time factor at 48 kHz for one stream and for 16 streams at once. Exits 1 if the
// ESR is not below 0.01.
//
//   sequence [--epochs N] [--seed S] [--timed-seconds N]   (seconds of audio streamed for the timing, 10)
#include <algorithm>
#include <chrono>
#include <cstdint>
#include <exception>
#include <stdexcept>
#include <cmath>
#include <cstddef>
#include <cstdio>
#include <iostream>
#include <memory>
#include <string>
#include <vector>

#include <metagrad/metagrad.hpp>

#include "whole_number.hpp"

namespace mg = metagrad;

constexpr double sample_rate = 48000;
constexpr std::size_t chunk = 200;     // time steps per training step
constexpr std::size_t signals = 16;    // sequences side by side in a batch
constexpr std::size_t seconds_of_training_signal = 1;

// [network]
// One input (the dry signal), a GRU of 16 units carrying its state from chunk to chunk, and a
// dense layer at every step giving the wet signal.
using network = mg::sequential<mg::input<chunk, 1>, mg::gru<16, mg::stateful>, mg::per_step<mg::dense<1>>>;
// [network]

// The effect: a one-pole low-pass at 1.5 kHz (memory of a few samples) into tanh(2.5 x).
std::vector<float> apply_effect(const std::vector<float>& x) {
    const double c = 1 - std::exp(-2 * 3.141592653589793 * 1500 / sample_rate);
    std::vector<float> y(x.size());
    double low = 0;
    for (std::size_t n = 0; n < x.size(); ++n) {
        low += c * (x[n] - low);
        y[n] = static_cast<float>(std::tanh(2.5 * low));
    }
    return y;
}

// A test signal: three sines (60 Hz to 3 kHz) whose loudness swells and fades, and short bursts
// of noise, peaking near 1.
std::vector<float> make_signal(std::size_t samples, mg::random_generator& g) {
    std::vector<float> x(samples);
    double frequency[3], phase[3], amplitude[3];
    for (int k = 0; k < 3; ++k) {
        frequency[k] = 60 * std::pow(50.0, g.uniform<double>(0, 1));
        phase[k] = g.uniform<double>(0, 6.283185307179586);
        amplitude[k] = g.uniform<double>(0.1, 0.4);
    }
    const double swell = g.uniform<double>(0.5, 4);  // loudness cycles per second
    double burst = 0;
    for (std::size_t n = 0; n < samples; ++n) {
        const double t = static_cast<double>(n) / sample_rate;
        double v = 0;
        for (int k = 0; k < 3; ++k) v += amplitude[k] * std::sin(2 * 3.141592653589793 * frequency[k] * t + phase[k]);
        v *= 0.6 + 0.5 * std::sin(2 * 3.141592653589793 * swell * t);
        if (g.uniform<double>(0, 1) < 2e-4) burst = g.uniform<double>(0.2, 0.6);  // a burst starts
        burst *= 0.999;
        v += burst * g.uniform<double>(-1, 1);
        x[n] = static_cast<float>(v);
    }
    return x;
}

int main(int argc, char** argv) {
    std::size_t epochs = 30;
    std::uint64_t seed = 1;
    std::size_t timed_seconds = 10;
    try {
        for (int i = 1; i < argc; ++i) {
            const std::string option = argv[i];
            if (i + 1 >= argc) throw std::invalid_argument(option + " needs a value");
            if (option == "--epochs")
                epochs = whole_number("sequence", option, argv[++i]);
            else if (option == "--seed")
                seed = whole_number("sequence", option, argv[++i]);
            else if (option == "--timed-seconds")
                timed_seconds = whole_number("sequence", option, argv[++i]);
            else
                throw std::invalid_argument("unknown option " + option + " (options: --epochs N --seed S --timed-seconds N)");
        }
        if (epochs == 0) throw std::invalid_argument("--epochs must be at least 1");
    } catch (const std::exception& e) {
        std::cerr << "sequence: " << e.what() << "\n";
        return 2;
    }

    mg::random_generator g(seed);
    network::parameters<float> p;
    mg::initialize(p, mg::glorot_uniform{}, g);
    mg::adam<network, float> optimizer(mg::adam_options<float>{.learning_rate = 0.005f});
    auto ws = std::make_unique<mg::workspace<network, float, mg::shape<signals, chunk, 1>>>();
    auto x = std::make_unique<mg::tensor<float, mg::shape<signals, chunk, 1>>>();
    auto y = std::make_unique<mg::tensor<float, mg::shape<signals, chunk, 1>>>();
    const std::size_t length = seconds_of_training_signal * static_cast<std::size_t>(sample_rate);
    const std::size_t chunks = length / chunk;

    std::printf("GRU-16 learning a low-pass filter into tanh drive at 48 kHz: %zu signals of %zu s per epoch, "
                "chunks of %zu samples with the state carried between them\n",
                signals, seconds_of_training_signal, chunk);
    const auto start = std::chrono::steady_clock::now();
    for (std::size_t epoch = 0; epoch < epochs; ++epoch) {
        // New signals every epoch, so the network never sees the held-out one's seed.
        std::vector<std::vector<float>> dry, wet;
        for (std::size_t s = 0; s < signals; ++s) {
            dry.push_back(make_signal(length, g));
            wet.push_back(apply_effect(dry.back()));
        }
        if (epoch + 1 == epochs * 2 / 3) optimizer.options.learning_rate /= 5;
        mg::reset_carried_state(*ws);
        double loss = 0;
        for (std::size_t c = 0; c < chunks; ++c) {
            for (std::size_t s = 0; s < signals; ++s)
                for (std::size_t t = 0; t < chunk; ++t) {
                    (*x)[s * chunk + t] = dry[s][c * chunk + t];
                    (*y)[s * chunk + t] = wet[s][c * chunk + t];
                }
            loss += mg::train_step(p, *x, *y, mg::mse{}, optimizer, *ws);
        }
        std::printf("epoch %2zu  training MSE %.2e\n", epoch + 1, loss / static_cast<double>(chunks));
    }
    const double training_seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    std::printf("trained in %.1f s\n", training_seconds);

    // The held-out signal, two seconds from another generator, one sample at a time.
    mg::random_generator held_out(seed + 1000);
    const std::vector<float> dry = make_signal(2 * static_cast<std::size_t>(sample_rate), held_out);
    const std::vector<float> wet = apply_effect(dry);
    // [stream]
    // The trained network, one sample at a time: the GRU carries its state from call to call.
    auto one = std::make_unique<mg::stream<network, float>>(p);  // allocates once, here
    double error = 0, energy = 0;
    for (std::size_t n = 0; n < dry.size(); ++n) {
        const float out = one->step(mg::stream<network, float>::input_type{dry[n]})[0];
        error += (out - wet[n]) * static_cast<double>(out - wet[n]);
        energy += wet[n] * static_cast<double>(wet[n]);
    }
    // [stream]
    const double esr = error / energy;
    std::printf("held-out error-to-signal ratio: %.2e (%s 0.01)\n", esr, esr < 0.01 ? "below" : "NOT below");

    // Real-time factors: seconds of audio per second of computing, outputs all summed so that no
    // step can be left out.
    const auto time_stream = [&](auto& s, std::size_t voices) {
        constexpr std::size_t block = 480;  // 10 ms
        std::vector<float> in(block * voices), out(block * voices);
        for (std::size_t i = 0; i < in.size(); ++i) in[i] = dry[i % dry.size()];
        double checksum = 0;
        const std::size_t blocks = std::max<std::size_t>(1, timed_seconds * 100);
        const auto begin = std::chrono::steady_clock::now();
        for (std::size_t b = 0; b < blocks; ++b) {
            s.process(in.data(), out.data(), block);
            checksum += out[b % out.size()];
        }
        const double elapsed = std::chrono::duration<double>(std::chrono::steady_clock::now() - begin).count();
        const double audio = static_cast<double>(blocks * block) / sample_rate;
        std::printf("%2zu stream%s: %7.0fx real time (%.1f ns per sample and voice; checksum %.3f)\n", voices, voices == 1 ? " " : "s",
                    audio / elapsed, elapsed / static_cast<double>(blocks * block * voices) * 1e9, checksum);
    };
    one->reset();
    time_stream(*one, 1);
    auto many = std::make_unique<mg::stream<network, float, 16>>(p);
    time_stream(*many, 16);
    return esr < 0.01 ? 0 : 1;
}
