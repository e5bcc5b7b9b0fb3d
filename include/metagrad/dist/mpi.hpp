// metagrad::mpi_communicator and mpi_session: the MPI model of `communicator`, the only header
// that includes MPI (link metagrad::mpi).
#pragma once

#include <algorithm>
#include <chrono>
#include <climits>
#include <cstddef>
#include <cstdio>
#include <cstdlib>
#include <exception>
#include <span>
#include <string>
#include <thread>

#include <mpi.h>

#include "metagrad/dist/communicator.hpp"

namespace metagrad {

/// Whether this process was started by an MPI launcher (`mpirun`, `srun`): what a program asks
/// before starting MPI, so that it runs alone as well when started on its own.
inline bool launched_by_mpi() {
    for (const char* variable : {"OMPI_COMM_WORLD_SIZE", "PMI_SIZE", "PMIX_RANK", "MPI_LOCALNRANKS"})
        if (std::getenv(variable)) return true;
    return false;
}

/// MPI started for the life of the object (`MPI_Init_thread`, `MPI_Finalize`): only the thread
/// that made it calls MPI (the kernels' threads never do).
class mpi_session {
public:
    mpi_session(int& argc, char**& argv) {
        int provided = 0;
        MPI_Init_thread(&argc, &argv, MPI_THREAD_FUNNELED, &provided);
        // Errors come back as codes that the communicator turns into exceptions with a message.
        MPI_Comm_set_errhandler(MPI_COMM_WORLD, MPI_ERRORS_RETURN);
    }
    mpi_session(const mpi_session&) = delete;
    mpi_session& operator=(const mpi_session&) = delete;
    ~mpi_session() { MPI_Finalize(); }

    /// Ends every rank of the job: what a rank does when it cannot go on (a time-out, a
    /// mismatch, a bad file), so that none is left waiting for it.
    [[noreturn]] static void abort(int code = 1) {
        MPI_Abort(MPI_COMM_WORLD, code);
        std::_Exit(code);
    }
};

/// The ranks of an MPI communicator (`MPI_COMM_WORLD` by default) as a `communicator`.
/// `exchange` posts a non-blocking send and receive and waits for both, for at most `time_out`:
/// a peer that died or stopped answering makes it throw `distributed_error` naming both ranks
/// (the caller then ends the job: `mpi_session::abort`). The wait spins briefly, then yields and
/// sleeps, so that a rank waiting on a slower one gives its core back on a busy machine.
class mpi_communicator {
public:
    explicit mpi_communicator(MPI_Comm comm = MPI_COMM_WORLD, std::chrono::milliseconds time_out = std::chrono::seconds(120))
        : comm_(comm), time_out_(time_out) {
        int rank = 0, size = 0;
        check(MPI_Comm_rank(comm_, &rank), "MPI_Comm_rank");
        check(MPI_Comm_size(comm_, &size), "MPI_Comm_size");
        rank_ = static_cast<std::size_t>(rank), size_ = static_cast<std::size_t>(size);
    }

    std::size_t rank() const { return rank_; }
    std::size_t size() const { return size_; }
    std::chrono::milliseconds time_out() const { return time_out_; }

    void exchange(std::size_t peer, std::span<const std::byte> out, std::span<std::byte> in) {
        // One message per direction, in pieces MPI's int counts can hold.
        constexpr std::size_t piece = std::size_t{1} << 30;
        const std::size_t pieces = std::max((out.size() + piece - 1) / piece, (in.size() + piece - 1) / piece);
        for (std::size_t k = 0; k < std::max<std::size_t>(pieces, 1); ++k) {
            const auto part = [&](auto s) { return k * piece >= s.size() ? s.subspan(s.size()) : s.subspan(k * piece, std::min(piece, s.size() - k * piece)); };
            exchange_piece(peer, part(out), part(in));
        }
    }

private:
    void check(int code, const char* call) const {
        if (code == MPI_SUCCESS) return;
        char text[MPI_MAX_ERROR_STRING] = {};
        int length = 0;
        MPI_Error_string(code, text, &length);
        throw distributed_error("metagrad: rank " + std::to_string(rank_) + ": " + call + " failed: " + std::string(text, static_cast<std::size_t>(length)));
    }

    void exchange_piece(std::size_t peer, std::span<const std::byte> out, std::span<std::byte> in) {
        constexpr int tag = 0x6d67;  // "mg"
        MPI_Request requests[2];
        const int other = static_cast<int>(peer);
        check(MPI_Irecv(in.data(), static_cast<int>(in.size()), MPI_BYTE, other, tag, comm_, &requests[0]), "MPI_Irecv");
        check(MPI_Isend(out.data(), static_cast<int>(out.size()), MPI_BYTE, other, tag, comm_, &requests[1]), "MPI_Isend");
        const auto started = std::chrono::steady_clock::now();
        for (std::size_t polls = 0;; ++polls) {
            int done = 0;
            MPI_Status statuses[2];
            check(MPI_Testall(2, requests, &done, statuses), "MPI_Testall");
            if (done) {
                int received = 0;
                MPI_Get_count(&statuses[0], MPI_BYTE, &received);
                if (static_cast<std::size_t>(received) != in.size())
                    throw distributed_error("metagrad: rank " + std::to_string(peer) + " sent " + std::to_string(received) + " bytes; rank " +
                                            std::to_string(rank_) + " expected " + std::to_string(in.size()) + " (do the ranks run the same program?)");
                return;
            }
            // A step's exchange normally completes within microseconds of the peer's arrival:
            // spin first; a peer that is still computing gets this core back.
            if (polls < 2000) continue;
            const auto waited = std::chrono::steady_clock::now() - started;
            if (waited > time_out_)
                throw distributed_error("metagrad: rank " + std::to_string(rank_) + " waited " +
                                        std::to_string(std::chrono::duration_cast<std::chrono::milliseconds>(waited).count()) + " ms for rank " +
                                        std::to_string(peer) + " to exchange " + std::to_string(in.size()) +
                                        " bytes; it stopped or died (mpi_communicator's time-out is " + std::to_string(time_out_.count()) + " ms)");
            if (waited < std::chrono::milliseconds(2))
                std::this_thread::yield();
            else
                std::this_thread::sleep_for(std::chrono::microseconds(50));
        }
    }

    MPI_Comm comm_;
    std::chrono::milliseconds time_out_;
    std::size_t rank_ = 0, size_ = 1;
};

static_assert(communicator<mpi_communicator>);

}  // namespace metagrad
