// The Fashion-MNIST demos' program: options, data, training loop, checkpoints and report, for
// any network that takes 28 x 28 images (examples/fashion_mnist.cpp, examples/fashion_cnn.cpp).
//
//   PROGRAM [--data DIR] [--epochs N] [--seed S] [--log FILE.csv] [--plot FILE.svg]
//           [--checkpoint FILE] [--resume FILE] [--stop-after N]
//           [--train-samples N] [--validation-samples N] [--test-samples N] [--threads N]
//           [--learning-rate R]
//
// The data are Debian's dataset-fashion-mnist (IDX files, gzip) under DIR. The last 5,000
// training images are held out for validation; the 10,000 test images are used once, at the end.
// --checkpoint saves a checkpoint after every epoch, --resume continues from one (the result is
// the uninterrupted run's, bit for bit), --stop-after interrupts a run on purpose. --threads sets
// the threads the matrix kernels use (default: the CPUs this process may use, `available_threads()`:
// its affinity mask and CPU quota; the results are the same bit for bit on any number).
// --learning-rate sets Adam's rate at the start of the cosine schedule (default 0.001; it decays to
// a hundredth of it): one far too large makes training diverge, which stops with the step named.
#pragma once

#include <algorithm>
#include <cerrno>
#include <charconv>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <memory>
#include <stdexcept>
#include <string>
#include <utility>

#include <metagrad/metagrad.hpp>

#include "whole_number.hpp"

namespace mg = metagrad;

namespace fashion_demo {

/// What a demo program is: its name (in messages), its title (on the plot), and its default epochs.
struct demo_info {
    const char* program;
    const char* title;
    std::size_t epochs;
};

struct options {
    std::string data = "/usr/share/datasets/fashion-mnist";
    std::size_t epochs = 15;
    std::uint64_t seed = 1;
    std::string log, plot, checkpoint, resume;
    std::size_t stop_after = 0;     // stop (as if interrupted) after this many epochs of this run
    std::size_t train_samples = 0;  // use only N training images (0: all but the validation ones)
    std::size_t validation_samples = 5000;
    std::size_t test_samples = 0;  // use only the first N test images (0: all)
    std::size_t threads = mg::available_threads();
    double learning_rate = 1e-3;
};

// A learning rate: a positive, finite decimal number ("0.001", "1e-3"), nothing after it.
inline double positive_number(const char* program, const std::string& flag, const std::string& value) {
    double x = 0;
    const char* end = value.data() + value.size();
    const auto [stop, error] = std::from_chars(value.data(), end, x);
    if (value.empty() || error != std::errc{} || stop != end || !(x > 0) || x > 1e300) {
        std::cerr << program << ": " << flag << " needs a positive number, not '" << value << "'\n";
        std::exit(2);
    }
    return x;
}

inline options parse(const demo_info& demo, int argc, char** argv) {
    const char* program = demo.program;
    options o;
    o.epochs = demo.epochs;
    for (int i = 1; i < argc; ++i) {
        const std::string flag = argv[i];
        if (i + 1 >= argc) {
            std::cerr << program << ": " << flag << " needs a value (see the top of examples/fashion_demo.hpp)\n";
            std::exit(2);
        }
        const std::string value = argv[++i];
        const auto number = [&] { return whole_number(program, flag, value); };
        if (flag == "--data") o.data = value;
        else if (flag == "--epochs") o.epochs = number();
        else if (flag == "--seed") o.seed = number();
        else if (flag == "--log") o.log = value;
        else if (flag == "--plot") o.plot = value;
        else if (flag == "--checkpoint") o.checkpoint = value;
        else if (flag == "--resume") o.resume = value;
        else if (flag == "--stop-after") o.stop_after = number();
        else if (flag == "--train-samples") o.train_samples = number();
        else if (flag == "--validation-samples") o.validation_samples = number();
        else if (flag == "--test-samples") o.test_samples = number();
        else if (flag == "--threads") o.threads = number();
        else if (flag == "--learning-rate") o.learning_rate = positive_number(program, flag, value);
        else {
            std::cerr << program << ": unknown option " << flag << " (the options are listed at the top of examples/fashion_demo.hpp)\n";
            std::exit(2);
        }
    }
    return o;
}

// The log and the plot are written after the last epoch: a path that cannot be written is
// refused before training, not after it, when the run's results would be lost. The file is
// opened for appending (an existing one is left as it is) and removed again if this made it.
inline void check_writable(const char* program, const std::string& flag, const std::string& path) {
    if (path.empty()) return;
    std::error_code ignored;
    const bool existed = std::filesystem::exists(path, ignored);
    errno = 0;
    if (!std::ofstream(path, std::ios::app)) {
        std::cerr << program << ": " << flag << ": cannot write '" << path << "'" << (errno ? ": " : "")
                  << (errno ? std::strerror(errno) : "") << '\n';
        std::exit(2);
    }
    if (!existed) std::filesystem::remove(path, ignored);
}

inline void write_curves(const demo_info& demo, const options& o, const mg::history& curves) {
    if (!o.log.empty()) curves.write_csv(o.log);
    if (!o.plot.empty()) mg::write_learning_curves_svg(curves, o.plot, demo.title);
}

/// Trains `Network` on Fashion-MNIST with the options on the command line, and reports.
template <class Network, std::size_t BatchSize>
int run(const demo_info& demo, int argc, char** argv) try {
    using network = Network;
    constexpr std::size_t batch_size = BatchSize;
    using sample = typename network::input_shape;
    const options o = parse(demo, argc, argv);
    check_writable(demo.program, "--log", o.log);
    check_writable(demo.program, "--plot", o.plot);

    // [data]
    // Images of 28 x 28 pixels as the network's input: 784 values, or 28 x 28 x 1 for a CNN. The
    // pixels stay bytes (a quarter of the memory of floats); each batch is scaled as it is loaded.
    auto train = mg::load_idx<float, sample, std::uint8_t>(o.data + "/train-images-idx3-ubyte.gz", o.data + "/train-labels-idx1-ubyte.gz", 10);
    auto test = mg::load_idx<float, sample, std::uint8_t>(o.data + "/t10k-images-idx3-ubyte.gz", o.data + "/t10k-labels-idx1-ubyte.gz", 10);
    if (o.validation_samples >= train.size()) throw std::invalid_argument("--validation-samples must leave training images");
    auto validation = train.slice(train.size() - o.validation_samples, train.size());
    train = train.slice(0, o.train_samples ? std::min(o.train_samples, train.size() - o.validation_samples)
                                           : train.size() - o.validation_samples);
    if (o.test_samples) test = test.slice(0, std::min(o.test_samples, test.size()));
    for (auto* d : {&train, &validation, &test}) mg::scale_to_unit(*d, 0.0f, 255.0f);
    // [data]
    mg::set_thread_count(static_cast<unsigned>(std::min<std::size_t>(o.threads, 1024)));
    std::printf("Fashion-MNIST: %zu training, %zu validation, %zu test images; %u thread%s\n", train.size(), validation.size(),
                test.size(), mg::thread_count(), mg::thread_count() == 1 ? "" : "s");
    std::fputs(mg::summary_table<network, float, mg::adam<network, float>, batch_size>().c_str(), stdout);

    // [model]
    // The parameters (235,146 for the MLP), Adam's two moments and the step's memory: on the
    // heap, made once.
    auto parameters = std::make_unique<typename network::template parameters<float>>();
    auto optimizer = std::make_unique<mg::adam<network, float>>(mg::adam_options<float>{.learning_rate = static_cast<float>(o.learning_rate)});
    auto memory = std::make_unique<mg::training_memory<network, float, batch_size>>();
    const std::size_t steps_per_epoch = train.size() / batch_size;
    const mg::cosine_decay schedule{.initial = o.learning_rate, .final = o.learning_rate / 100, .steps = o.epochs * steps_per_epoch};

    mg::random_generator init(o.seed);
    mg::initialize(*parameters, mg::he_uniform{}, init);
    mg::training_position position{.shuffle = mg::random_generator(o.seed + 1), .stopping = {.patience = 4}};
    // [model]

    // [resume]
    if (!o.resume.empty()) {
        mg::load_checkpoint(o.resume, *parameters, *optimizer, position);
        std::printf("resumed from %s after epoch %zu (step %zu)\n", o.resume.c_str(), position.epoch, position.step);
    }
    // [resume]

    const bool terminal = mg::stdout_is_terminal();
    std::size_t run_epochs = 0;
    try {
        // [loop]
        while (position.epoch < o.epochs) {
            char label[64];
            std::snprintf(label, sizeof label, "epoch %2zu/%zu", position.epoch + 1, o.epochs);
            mg::progress_bar bar(std::cout, label, steps_per_epoch, batch_size, terminal);
            const double rate = schedule(position.step);
            const mg::metrics fit = mg::train_epoch(*parameters, *optimizer, schedule, train, mg::softmax_cross_entropy{},
                                                    position, *memory, [&](std::size_t done, std::size_t, const mg::metrics& m) {
                                                        bar.update(done, "loss " + mg::number_or_marker(m.loss()));
                                                    });
            const double seconds = bar.seconds();
            const mg::metrics held_out = mg::evaluate(*parameters, validation, mg::softmax_cross_entropy{}, *memory);
            bar.finish("loss " + mg::number_or_marker(fit.loss()) + " acc " + mg::number_or_marker(fit.accuracy()) +
                       " | validation loss " + mg::number_or_marker(held_out.loss()) + " acc " +
                       mg::number_or_marker(held_out.accuracy()));
            position.curves.add({position.epoch, fit.loss(), fit.accuracy(), held_out.loss(), held_out.accuracy(), rate,
                                 seconds, static_cast<double>(fit.samples) / seconds});
            const bool stop = position.stopping.should_stop(held_out.loss());
            if (!o.checkpoint.empty()) mg::save_checkpoint(o.checkpoint, *parameters, *optimizer, position);
            if (stop) {
                std::printf("early stop: validation loss has not improved for %zu epochs\n", position.stopping.patience);
                break;
            }
            if (++run_epochs == o.stop_after) break;
        }
        // [loop]
    } catch (const mg::non_finite_error&) {
        // Training stopped on a NaN or an infinity: the epochs before it still go to the log and
        // the plot (the last checkpoint, if any, is from the last whole epoch).
        std::cout << '\n';
        write_curves(demo, o, position.curves);
        throw;
    }
    const mg::history& curves = position.curves;
    write_curves(demo, o, curves);

    const auto started = std::chrono::steady_clock::now();
    const mg::metrics result = mg::evaluate(*parameters, test, mg::softmax_cross_entropy{}, *memory);
    const double inference = std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
    double train_seconds = 0, train_samples = 0;
    for (const auto& r : curves.epochs) train_seconds += r.seconds, train_samples += r.samples_per_second * r.seconds;
    std::printf("test accuracy %.4f (loss %.4f) after %zu epochs\n", result.accuracy(), result.loss(), position.epoch);
    if (!curves.epochs.empty())
        std::printf("training: %.2f s per epoch, %.0f samples/s; inference: %.0f samples/s\n",
                    train_seconds / static_cast<double>(curves.epochs.size()), train_samples / train_seconds,
                    static_cast<double>(test.size()) / inference);
    return 0;
} catch (const std::exception& e) {
    std::cerr << demo.program << ": " << e.what() << '\n';
    return 1;
}

}  // namespace fashion_demo

// Built with metagrad::mpi (examples/CMakeLists.txt defines METAGRAD_EXAMPLE_MPI where MPI is
// found), the demos train data-parallel when started by mpirun.
#ifdef METAGRAD_EXAMPLE_MPI
#include "fashion_demo_distributed.hpp"
#endif

namespace fashion_demo {

/// A demo's `main`: alone, or data-parallel on every rank when launched by mpirun.
template <class Network, std::size_t BatchSize>
int main_of(const demo_info& demo, int argc, char** argv) {
#ifdef METAGRAD_EXAMPLE_MPI
    if (mg::launched_by_mpi()) return run_distributed<Network, BatchSize>(demo, argc, argv);
#else
    // Without MPI, each process started by mpirun would train alone, all writing the same files.
    if (std::getenv("OMPI_COMM_WORLD_SIZE") || std::getenv("PMI_SIZE")) {
        std::cerr << demo.program << ": started by mpirun, but built without MPI (install libopenmpi-dev and rebuild)\n";
        return 2;
    }
#endif
    return run<Network, BatchSize>(demo, argc, argv);
}

}  // namespace fashion_demo
