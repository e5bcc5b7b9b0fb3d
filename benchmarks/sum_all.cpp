// The time of one sum over 2 ranks of the flat vectors data-parallel training exchanges (the MLP's
// 235,148 floats, the CNN's 824,748), by metagrad's sum_all through shared memory, by sum_all
// through MPI messages, and by MPI_Allreduce, in one run. Built and run by
// benchmarks/distributed.sh: mpirun -np 2 sum_all.
#include <chrono>
#include <cstdio>
#include <span>
#include <vector>

#include "metagrad/dist/collectives.hpp"
#include "metagrad/dist/mpi.hpp"

namespace mg = metagrad;

namespace {
template <class F>
double microseconds_per_call(F f, int calls) {
    for (int i = 0; i < 20; ++i) f();
    MPI_Barrier(MPI_COMM_WORLD);
    const auto started = std::chrono::steady_clock::now();
    for (int i = 0; i < calls; ++i) f();
    return std::chrono::duration<double, std::micro>(std::chrono::steady_clock::now() - started).count() / calls;
}
}  // namespace

int main(int argc, char** argv) {
    mg::mpi_session session(argc, argv);
    mg::mpi_communicator shared, messages(MPI_COMM_WORLD, {.shared_memory = false});
    if (shared.rank() == 0) std::printf("| floats | sum_all, shared memory (us) | sum_all, MPI messages (us) | MPI_Allreduce (us) |\n|---|---|---|---|\n");
    for (const std::size_t n : {std::size_t{235148}, std::size_t{824748}}) {
        std::vector<float> v(n, 1.0f), scratch((n + 1) / 2);
        const int calls = 300;
        const double a = microseconds_per_call([&] { mg::sum_all(shared, std::span<float>(v), std::span<float>(scratch), 0.5f); }, calls);
        const double b = microseconds_per_call([&] { mg::sum_all(messages, std::span<float>(v), std::span<float>(scratch), 0.5f); }, calls);
        const double c = microseconds_per_call(
            [&] { MPI_Allreduce(MPI_IN_PLACE, v.data(), static_cast<int>(n), MPI_FLOAT, MPI_SUM, MPI_COMM_WORLD); }, calls);
        if (shared.rank() == 0) std::printf("| %zu | %.0f | %.0f | %.0f |\n", n, a, b, c);
    }
}
