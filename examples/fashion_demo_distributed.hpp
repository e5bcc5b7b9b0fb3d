// The Fashion-MNIST demos under MPI (`mpirun -np 2 fashion_mnist`): data-parallel training with
// metagrad::mpi. The options are the demos' (examples/fashion_demo.hpp), with one more:
//
//   --blocks N   blocks of BatchSize samples per global step (default: the number of ranks).
//                Runs with the same --blocks give the same weights on any number of ranks
//                that divides it (a power of two): 1, 2 and 4 ranks with --blocks 4.
//
// Each rank keeps only its shards of the training set and a slice of the validation and test
// sets; rank 0 prints and writes the log, the plot and the checkpoints. A rank that fails (a
// time-out, ranks that disagree, a missing file) prints why and ends the job.
#pragma once

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <iostream>
#include <string>
#include <utility>
#include <fstream>
#include <memory>
#include <optional>
#include <vector>

#include <metagrad/dist/data_parallel.hpp>
#include <metagrad/dist/mpi.hpp>

// Included by fashion_demo.hpp, after its options and helpers, where the build has MPI.

namespace fashion_demo {

/// Takes `--blocks N` out of the command line (the other options are the demos').
inline std::size_t take_blocks(const char* program, int& argc, char** argv, std::size_t ranks) {
    std::size_t blocks = ranks;
    int kept = 1;
    for (int i = 1; i < argc; ++i) {
        if (std::string(argv[i]) == "--blocks" && i + 1 < argc) blocks = whole_number(program, "--blocks", argv[++i]);
        else argv[kept++] = argv[i];
    }
    argc = kept;
    return blocks;
}

/// Ranks [first, last) of `n` items cut as evenly as possible: rank r's part of an evaluation set.
inline std::pair<std::size_t, std::size_t> part_of(std::size_t n, std::size_t rank, std::size_t ranks) {
    return {n * rank / ranks, n * (rank + 1) / ranks};
}

template <class Network, std::size_t BatchSize>
int run_distributed(const demo_info& demo, int argc, char** argv) {
    mg::mpi_session session(argc, argv);
    std::size_t rank = 0;
    try {
        using network = Network;
        constexpr std::size_t block = BatchSize;
        using sample = typename network::input_shape;
        mg::mpi_communicator comm;
        rank = comm.rank();
        const std::size_t ranks = comm.size();
        const std::size_t blocks = take_blocks(demo.program, argc, argv, ranks);
        options o = parse(demo, argc, argv);
        // The ranks on this machine share its cores: each takes its share for the kernels.
        const char* local = std::getenv("OMPI_COMM_WORLD_LOCAL_SIZE");
        const std::size_t local_ranks = local ? std::max<std::size_t>(1, std::strtoul(local, nullptr, 10)) : 1;
        if (o.threads == mg::available_threads()) o.threads = std::max<std::size_t>(1, o.threads / local_ranks);
        if (rank == 0) {
            check_writable(demo.program, "--log", o.log);
            check_writable(demo.program, "--plot", o.plot);
        }

        // [distributed-data]
        // Every rank keeps only its shards of the training set and its slices of the validation
        // and test sets, as bytes (the files are read through: gzip has no entry in the middle).
        const std::string images = o.data + "/train-images-idx3-ubyte.gz", labels = o.data + "/train-labels-idx1-ubyte.gz";
        const std::string test_images = o.data + "/t10k-images-idx3-ubyte.gz", test_labels = o.data + "/t10k-labels-idx1-ubyte.gz";
        const std::size_t all = mg::idx_extents(images)[0], all_test = mg::idx_extents(test_images)[0];
        if (o.validation_samples >= all) throw std::invalid_argument("--validation-samples must leave training images");
        const std::size_t train_size = o.train_samples ? std::min(o.train_samples, all - o.validation_samples) : all - o.validation_samples;
        const mg::data_parallel_plan<block> plan{.blocks = blocks, .samples = train_size};
        const auto [first, last] = plan.samples_of(rank, ranks);
        const auto [vfirst, vlast] = part_of(o.validation_samples, rank, ranks);
        const std::size_t test_size = o.test_samples ? std::min(o.test_samples, all_test) : all_test;
        const auto [tfirst, tlast] = part_of(test_size, rank, ranks);
        auto train = mg::load_idx<float, sample, std::uint8_t>(images, labels, 10, {first, last});
        auto validation = mg::load_idx<float, sample, std::uint8_t>(images, labels, 10, {all - o.validation_samples + vfirst, all - o.validation_samples + vlast});
        auto test = mg::load_idx<float, sample, std::uint8_t>(test_images, test_labels, 10, {tfirst, tlast});
        for (auto* d : {&train, &validation, &test}) mg::scale_to_unit(*d, 0.0f, 255.0f);
        // [distributed-data]
        mg::set_thread_count(static_cast<unsigned>(std::min<std::size_t>(o.threads, 1024)));
        if (rank == 0) {
            std::printf("Fashion-MNIST on %zu ranks: %s; %zu training images (%zu on each rank), %zu validation, %zu test; %u thread%s per rank\n",
                        ranks, plan.words().c_str(), plan.steps_per_epoch() * plan.global_batch(), train.size(), o.validation_samples, test_size,
                        mg::thread_count(), mg::thread_count() == 1 ? "" : "s");
            std::fputs(mg::summary_table<network, float, mg::adam<network, float>, block>().c_str(), stdout);
        }

        auto parameters = std::make_unique<typename network::template parameters<float>>();
        auto optimizer = std::make_unique<mg::adam<network, float>>(mg::adam_options<float>{.learning_rate = static_cast<float>(o.learning_rate)});
        auto memory = std::make_unique<mg::data_parallel_memory<network, float, block>>();
        const mg::cosine_decay schedule{.initial = o.learning_rate, .final = o.learning_rate / 100, .steps = o.epochs * plan.steps_per_epoch()};
        mg::random_generator init(o.seed);
        mg::initialize(*parameters, mg::he_uniform{}, init);
        mg::training_position position{.shuffle = mg::random_generator(o.seed + 1), .stopping = {.patience = 4}};
        if (!o.resume.empty()) {
            mg::load_checkpoint(o.resume, *parameters, *optimizer, position);
            if (rank == 0) std::printf("resumed from %s after epoch %zu (step %zu)\n", o.resume.c_str(), position.epoch, position.step);
        }

        std::ofstream quiet;  // the other ranks' progress goes nowhere
        std::ostream& out = rank == 0 ? std::cout : quiet;
        const bool terminal = rank == 0 && mg::stdout_is_terminal();
        const std::string data_words = "Fashion-MNIST from " + o.data;
        std::size_t run_epochs = 0;
        // [distributed-loop]
        while (position.epoch < o.epochs) {
            char label[64];
            std::snprintf(label, sizeof label, "epoch %2zu/%zu", position.epoch + 1, o.epochs);
            mg::progress_bar bar(out, label, plan.steps_per_epoch(), plan.global_batch(), terminal);
            const double rate = schedule(position.step);
            const mg::metrics fit = mg::train_epoch(comm, plan, *parameters, *optimizer, schedule, train, mg::softmax_cross_entropy{}, position,
                                                    *memory, [&](std::size_t done, std::size_t, const mg::metrics& m) {
                                                        bar.update(done, "loss " + mg::number_or_marker(m.loss()));
                                                    }, data_words);
            const double seconds = bar.seconds();
            const mg::metrics held_out = mg::evaluate(comm, *parameters, validation, mg::softmax_cross_entropy{}, memory->block);
            bar.finish("loss " + mg::number_or_marker(fit.loss()) + " acc " + mg::number_or_marker(fit.accuracy()) + " | validation loss " +
                       mg::number_or_marker(held_out.loss()) + " acc " + mg::number_or_marker(held_out.accuracy()));
            position.curves.add({position.epoch, fit.loss(), fit.accuracy(), held_out.loss(), held_out.accuracy(), rate, seconds,
                                 static_cast<double>(fit.samples) / seconds});
            // Every rank has the same metrics (summed in the same order), so all stop together.
            const bool stop = position.stopping.should_stop(held_out.loss());
            if (!o.checkpoint.empty() && rank == 0) mg::save_checkpoint(o.checkpoint, *parameters, *optimizer, position);
            if (stop) {
                if (rank == 0) std::printf("early stop: validation loss has not improved for %zu epochs\n", position.stopping.patience);
                break;
            }
            if (++run_epochs == o.stop_after) break;
        }
        // [distributed-loop]
        if (rank == 0) write_curves(demo, o, position.curves);
        const mg::metrics result = mg::evaluate(comm, *parameters, test, mg::softmax_cross_entropy{}, memory->block);
        double train_seconds = 0, train_samples = 0;
        for (const auto& r : position.curves.epochs) train_seconds += r.seconds, train_samples += r.samples_per_second * r.seconds;
        if (rank == 0) {
            std::printf("test accuracy %.4f (loss %.4f) after %zu epochs\n", result.accuracy(), result.loss(), position.epoch);
            if (!position.curves.epochs.empty())
                std::printf("training: %.2f s per epoch, %.0f samples/s on %zu ranks\n", train_seconds / static_cast<double>(position.curves.epochs.size()),
                            train_samples / train_seconds, ranks);
        }
        return 0;
    } catch (const std::exception& e) {
        std::fprintf(stderr, "%s (rank %zu): %s\n", demo.program, rank, e.what());
        std::fflush(stderr);
        mg::mpi_session::abort(1);
    }
}

}  // namespace fashion_demo
