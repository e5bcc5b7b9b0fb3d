// The data-parallel scenarios that need real processes, run under mpirun by tests/dist/mpi_run.cmake:
//
//   mpi_ranks train EPOCHS [--save FILE] [--resume FILE] [--messages]
//                                                          prints the weights' hash (rank 0);
//                                                          --messages: MPI messages only
//   mpi_ranks mismatch                                     rank 1 uses another learning rate
//   mpi_ranks die                                          rank 1 is killed (SIGKILL) at step 2
//   mpi_ranks stall                                        rank 1 stops answering at step 2
//
// A rank that cannot go on prints "rank R: MESSAGE" and ends the job (mpi_session::abort).
#include <chrono>
#include <csignal>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <string>
#include <thread>

#include "metagrad/dist/data_parallel.hpp"
#include "metagrad/dist/mpi.hpp"
#include "metagrad/metagrad.hpp"
#include "synthetic.hpp"

namespace mg = metagrad;

using dist_test::block;
using dist_test::image_network;
using dist_test::synthetic_images;

int main(int argc, char** argv) {
    mg::mpi_session session(argc, argv);
    std::size_t rank = 0;
    try {
        const std::string mode = argc > 1 ? argv[1] : "";
        std::size_t epochs = 2;
        std::string save, resume;
        bool messages = false;
        for (int i = 2; i < argc; ++i) {
            const std::string arg = argv[i];
            if (arg == "--save" && i + 1 < argc) save = argv[++i];
            else if (arg == "--resume" && i + 1 < argc) resume = argv[++i];
            else if (arg == "--messages") messages = true;
            else epochs = std::stoul(arg);
        }
        mg::mpi_communicator comm(MPI_COMM_WORLD, {.time_out = mode == "stall" ? std::chrono::seconds(3) : std::chrono::seconds(60),
                                                   .shared_memory = !messages,
                                                   .out_box_bytes = 1000});  // small: the exchanges go in several pieces
        rank = comm.rank();

        const mg::data_parallel_plan<block> plan{.blocks = 4, .samples = 4 * 3 * block + 5};
        const auto [first, last] = plan.samples_of(comm.rank(), comm.size());
        const auto shards = synthetic_images(plan.samples).slice(first, last);
        auto p = std::make_unique<mg::network_parameters<image_network, float>>();
        mg::random_generator init(3);
        mg::initialize(*p, mg::he_uniform{}, init);
        mg::adam<image_network, float> adam(mg::adam_options<float>{.learning_rate = mode == "mismatch" && rank == 1 ? 0.02f : 0.01f});
        mg::training_position position{.seed = 11, .shuffle = mg::random_generator(12)};
        if (!resume.empty()) mg::load_checkpoint(resume, *p, adam, position);
        auto memory = std::make_unique<mg::data_parallel_memory<image_network, float, block>>();

        while (position.epoch < epochs) {
            mg::train_epoch(comm, plan, *p, adam, mg::constant_rate{0.01}, shards, mg::softmax_cross_entropy{}, position, *memory,
                            [&](std::size_t done, std::size_t, const mg::metrics&) {
                                if (rank == 1 && done == 2 && mode == "die") std::raise(SIGKILL);
                                if (rank == 1 && done == 2 && mode == "stall") std::this_thread::sleep_for(std::chrono::hours(1));
                            },
                            "synthetic");
            // One rank writes (the others hold the same values), atomically (io/replace_file.hpp).
            if (!save.empty() && rank == 0) mg::save_checkpoint(save, *p, adam, position);
        }
        const auto f = mg::fingerprint_of(*p, adam, position, "", "");
        if (rank == 0) std::printf("ranks %zu weights %016llx position %s\n", comm.size(), static_cast<unsigned long long>(f.items[1].hash), f.items[5].text.data());
        return 0;
    } catch (const std::exception& e) {
        std::fprintf(stderr, "rank %zu: %s\n", rank, e.what());
        std::fflush(stderr);
        mg::mpi_session::abort(1);
    }
}
