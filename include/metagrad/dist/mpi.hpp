// metagrad::mpi_communicator and mpi_session: the MPI model of `communicator`, the only header
// that includes MPI (link metagrad::mpi).
#pragma once

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <climits>
#include <cstddef>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <exception>
#include <span>
#include <string>
#include <thread>
#include <type_traits>
#include <vector>

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
///
/// Ranks on the same machine exchange through a window of shared memory (MPI-3
/// `MPI_Win_allocate_shared`): the sender copies its bytes into its own out-box, the receiver
/// copies them out, and two words say when. A step's exchange is one copy each way at memory
/// speed, where MPI's shared-memory transport cuts it into small fragments (on the 2-core test
/// machine: 940 KB both ways in about 40 us against 120-150 us). Ranks on other machines
/// exchange MPI messages (`MPI_Isend`, `MPI_Irecv`).
///
/// Every wait is bounded by `time_out`: a peer that died or stopped answering makes `exchange`
/// throw `distributed_error` naming both ranks (the caller then ends the job:
/// `mpi_session::abort`). A wait spins briefly, then yields and sleeps, so that a rank waiting
/// for a slower one gives its core back on a busy machine.
/// How an `mpi_communicator` waits and moves bytes.
struct mpi_options {
    /// The longest wait for a peer before `exchange` gives up.
    std::chrono::milliseconds time_out = std::chrono::seconds(120);
    /// Exchange through shared memory with the ranks on this machine (else MPI messages only).
    bool shared_memory = true;
    /// Bytes of shared memory per rank on this machine, twice: an exchange passes through one
    /// half while the peer may still be reading the other; a larger one goes in pieces.
    std::size_t out_box_bytes = std::size_t{4} << 20;
    /// How long a wait spins before it sleeps in short naps (none where this machine has more
    /// ranks than hardware threads).
    std::chrono::microseconds spin = std::chrono::microseconds(200);
};

class mpi_communicator {
public:
    explicit mpi_communicator(MPI_Comm comm = MPI_COMM_WORLD, mpi_options options = {})
        : comm_(comm), time_out_(options.time_out), spin_(options.spin), box_bytes_((std::max<std::size_t>(options.out_box_bytes, 64) + 63) / 64 * 64) {  // whole cache lines: each box starts aligned
        int rank = 0, size = 0;
        check(MPI_Comm_rank(comm_, &rank), "MPI_Comm_rank");
        check(MPI_Comm_size(comm_, &size), "MPI_Comm_size");
        rank_ = static_cast<std::size_t>(rank), size_ = static_cast<std::size_t>(size);
        if (options.shared_memory) open_shared_boxes();
    }
    mpi_communicator(const mpi_communicator&) = delete;
    mpi_communicator& operator=(const mpi_communicator&) = delete;
    ~mpi_communicator() {
        // Freeing the window waits for every rank on this machine: not while unwinding from a
        // failure (a peer that stopped would hang it; the job is about to end anyway).
        if (window_ != MPI_WIN_NULL && std::uncaught_exceptions() == 0) {
            MPI_Win_unlock_all(window_);
            MPI_Win_free(&window_);
        }
        if (node_ != MPI_COMM_NULL && std::uncaught_exceptions() == 0) MPI_Comm_free(&node_);
    }

    std::size_t rank() const { return rank_; }
    std::size_t size() const { return size_; }
    std::chrono::milliseconds time_out() const { return time_out_; }

    void exchange(std::size_t peer, std::span<const std::byte> out, std::span<std::byte> in) {
        if (peer >= size_ || peer == rank_)
            throw distributed_error("metagrad: rank " + std::to_string(rank_) + " cannot exchange with rank " + std::to_string(peer));
        const bool shared = !boxes_.empty() && node_rank_of_[peer] >= 0;  // on this machine
        // Pieces that fit an out-box (shared memory) or an MPI int count (messages).
        const std::size_t piece = shared ? box_bytes_ : std::size_t{1} << 30;
        const std::size_t pieces = std::max<std::size_t>({(out.size() + piece - 1) / piece, (in.size() + piece - 1) / piece, 1});
        const auto part = [&](auto s, std::size_t k) {
            return k * piece >= s.size() ? s.subspan(s.size()) : s.subspan(k * piece, std::min(piece, s.size() - k * piece));
        };
        for (std::size_t k = 0; k < pieces; ++k) {
            if (shared)
                exchange_shared(peer, part(out, k), part(in, k));
            else
                exchange_messages(peer, part(out, k), part(in, k));
        }
    }

    /// `exchange`, with the peer's values added into `sum` instead of copied: through shared
    /// memory straight from the peer's out-box, one pass (what `sum_all`'s halving rounds use).
    template <class T>
        requires std::is_arithmetic_v<T>
    void exchange_add(std::size_t peer, std::span<const T> out, std::span<T> sum) {
        const bool shared = peer < size_ && peer != rank_ && !boxes_.empty() && node_rank_of_[peer] >= 0;
        if (!shared || std::max(out.size_bytes(), sum.size_bytes()) > box_bytes_) {
            received_.resize(sum.size_bytes());
            exchange(peer, std::as_bytes(out), std::span<std::byte>(received_));
            for (std::size_t i = 0; i < sum.size(); ++i) {
                T v;
                std::memcpy(&v, received_.data() + i * sizeof(T), sizeof(T));
                sum[i] += v;
            }
            return;
        }
        exchange_shared(peer, std::as_bytes(out), sum.size_bytes(), [&](const std::byte* theirs) {
            const T* values = reinterpret_cast<const T*>(theirs);  // the out-box's bytes start aligned
            for (std::size_t i = 0; i < sum.size(); ++i) sum[i] += values[i];
        });
    }

private:
    // An out-box: what is in it (a word naming the receiver and the exchange's number, written
    // last), how many bytes, and the word the receiver writes back once it has copied them.
    struct box_header {
        std::uint64_t posted;
        std::uint64_t bytes;
        std::uint64_t taken;
        std::uint64_t padding[5];  // the bytes start on their own cache line
    };

    void check(int code, const char* call) const {
        if (code == MPI_SUCCESS) return;
        char text[MPI_MAX_ERROR_STRING] = {};
        int length = 0;
        MPI_Error_string(code, text, &length);
        throw distributed_error("metagrad: rank " + std::to_string(rank_) + ": " + call + " failed: " + std::string(text, static_cast<std::size_t>(length)));
    }

    void open_shared_boxes() {
        check(MPI_Comm_split_type(comm_, MPI_COMM_TYPE_SHARED, static_cast<int>(rank_), MPI_INFO_NULL, &node_), "MPI_Comm_split_type");
        int node_size = 0;
        check(MPI_Comm_size(node_, &node_size), "MPI_Comm_size");
        // Each rank of `comm_` as a rank of this machine's communicator, or -1 elsewhere.
        MPI_Group all_group, node_group;
        check(MPI_Comm_group(comm_, &all_group), "MPI_Comm_group");
        check(MPI_Comm_group(node_, &node_group), "MPI_Comm_group");
        std::vector<int> world(size_), node(size_);
        for (std::size_t r = 0; r < size_; ++r) world[r] = static_cast<int>(r);
        check(MPI_Group_translate_ranks(all_group, static_cast<int>(size_), world.data(), node_group, node.data()), "MPI_Group_translate_ranks");
        MPI_Group_free(&all_group), MPI_Group_free(&node_group);
        node_rank_of_.assign(size_, -1);
        for (std::size_t r = 0; r < size_; ++r) node_rank_of_[r] = node[r] == MPI_UNDEFINED ? -1 : node[r];
        if (node_size < 2) return;
        // More ranks on this machine than it runs at once: a spinning rank would hold the core
        // that the peer it waits for needs, so waits nap at once.
        if (static_cast<unsigned>(node_size) > std::thread::hardware_concurrency()) spin_ = std::chrono::microseconds(0);
        std::byte* mine = nullptr;
        check(MPI_Win_allocate_shared(static_cast<MPI_Aint>(2 * slot_bytes()), 1, MPI_INFO_NULL, node_, &mine, &window_),
              "MPI_Win_allocate_shared");
        check(MPI_Win_lock_all(MPI_MODE_NOCHECK, window_), "MPI_Win_lock_all");
        boxes_.resize(static_cast<std::size_t>(node_size));
        for (int r = 0; r < node_size; ++r) {
            MPI_Aint bytes = 0;
            int unit = 0;
            check(MPI_Win_shared_query(window_, r, &bytes, &unit, &boxes_[static_cast<std::size_t>(r)]), "MPI_Win_shared_query");
        }
        *reinterpret_cast<box_header*>(mine) = box_header{};
        *reinterpret_cast<box_header*>(mine + slot_bytes()) = box_header{};
        exchanges_with_.assign(size_, 0);
        check(MPI_Barrier(node_), "MPI_Barrier");  // every out-box is empty before the first exchange
    }

    template <class Ready>
    void wait_until(Ready ready, std::size_t peer, std::size_t bytes) const {
        const auto started = std::chrono::steady_clock::now();
        for (std::size_t polls = 0; !ready(); ++polls) {
            // A peer normally answers within microseconds: spin for a while (reading the clock
            // now and then), then sleep in short naps, so that a rank sharing its core with the
            // peer it waits for (more ranks than cores) or with other work lets them run.
            if ((polls & 63) != 63) continue;
            const auto waited = std::chrono::steady_clock::now() - started;
            if (waited < spin_) continue;
            if (waited > time_out_)
                throw distributed_error("metagrad: rank " + std::to_string(rank_) + " waited " +
                                        std::to_string(std::chrono::duration_cast<std::chrono::milliseconds>(waited).count()) + " ms for rank " +
                                        std::to_string(peer) + " to exchange " + std::to_string(bytes) +
                                        " bytes; it stopped or died (mpi_communicator's time-out is " + std::to_string(time_out_.count()) + " ms)");
            std::this_thread::sleep_for(std::chrono::microseconds(20));
        }
    }

    void exchange_shared(std::size_t peer, std::span<const std::byte> out, std::span<std::byte> in) {
        exchange_shared(peer, out, in.size(), [&](const std::byte* theirs) {
            if (!in.empty()) std::memcpy(in.data(), theirs, in.size());
        });
    }

    std::size_t slot_bytes() const { return sizeof(box_header) + box_bytes_; }

    /// Posts `out` in one of the two slots of this rank's out-box (once the peer has taken the
    /// letter last posted there), waits for the peer's `expected` bytes, and hands them to `take`
    /// (which copies or adds them). Two slots: a rank does not wait for the peer to take its
    /// letter, only, two exchanges later, for the slot to be free.
    template <class Take>
    void exchange_shared(std::size_t peer, std::span<const std::byte> out, std::size_t expected, Take take) {
        std::byte* my_box = boxes_[static_cast<std::size_t>(node_rank_of_[rank_])];
        std::byte* their_box = boxes_[static_cast<std::size_t>(node_rank_of_[peer])];
        const auto header = [&](std::byte* box, std::size_t slot) -> box_header& { return *reinterpret_cast<box_header*>(box + slot * slot_bytes()); };
        const auto word = [](std::uint64_t& w) { return std::atomic_ref<std::uint64_t>(w); };
        // The n-th exchange between two ranks is named alike on both sides: (n, receiver).
        const std::uint64_t n = ++exchanges_with_[peer];
        const std::uint64_t to_peer = (n << 20) | peer, to_me = (n << 20) | rank_;
        const std::size_t slot = posts_++ % 2;
        box_header& mine = header(my_box, slot);
        wait_until([&] { return word(mine.taken).load(std::memory_order_acquire) == word(mine.posted).load(std::memory_order_relaxed); }, peer,
                   out.size());
        if (!out.empty()) std::memcpy(my_box + slot * slot_bytes() + sizeof(box_header), out.data(), out.size());
        mine.bytes = out.size();
        word(mine.posted).store(to_peer, std::memory_order_release);
        std::size_t their_slot = 0;
        wait_until(
            [&] {
                for (their_slot = 0; their_slot < 2; ++their_slot)
                    if (word(header(their_box, their_slot).posted).load(std::memory_order_acquire) == to_me) return true;
                return false;
            },
            peer, expected);
        box_header& theirs = header(their_box, their_slot);
        if (theirs.bytes != expected)
            throw distributed_error("metagrad: rank " + std::to_string(peer) + " sent " + std::to_string(theirs.bytes) + " bytes; rank " +
                                    std::to_string(rank_) + " expected " + std::to_string(expected) + " (do the ranks run the same program?)");
        take(static_cast<const std::byte*>(their_box + their_slot * slot_bytes() + sizeof(box_header)));
        word(theirs.taken).store(to_me, std::memory_order_release);
    }

    void exchange_messages(std::size_t peer, std::span<const std::byte> out, std::span<std::byte> in) {
        constexpr int tag = 0x6d67;  // "mg"
        MPI_Request requests[2];
        const int other = static_cast<int>(peer);
        check(MPI_Irecv(in.data(), static_cast<int>(in.size()), MPI_BYTE, other, tag, comm_, &requests[0]), "MPI_Irecv");
        check(MPI_Isend(out.data(), static_cast<int>(out.size()), MPI_BYTE, other, tag, comm_, &requests[1]), "MPI_Isend");
        MPI_Status statuses[2];
        wait_until(
            [&] {
                int done = 0;
                check(MPI_Testall(2, requests, &done, statuses), "MPI_Testall");
                return done != 0;
            },
            peer, in.size());
        int received = 0;
        MPI_Get_count(&statuses[0], MPI_BYTE, &received);
        if (static_cast<std::size_t>(received) != in.size())
            throw distributed_error("metagrad: rank " + std::to_string(peer) + " sent " + std::to_string(received) + " bytes; rank " +
                                    std::to_string(rank_) + " expected " + std::to_string(in.size()) + " (do the ranks run the same program?)");
    }

    MPI_Comm comm_;
    std::chrono::milliseconds time_out_;
    std::chrono::microseconds spin_;
    std::size_t box_bytes_;
    std::size_t rank_ = 0, size_ = 1;
    MPI_Comm node_ = MPI_COMM_NULL;
    MPI_Win window_ = MPI_WIN_NULL;
    std::vector<int> node_rank_of_;
    std::vector<std::byte*> boxes_;
    std::vector<std::uint64_t> exchanges_with_;
    std::uint64_t posts_ = 0;  // letters posted: which slot is next
    std::vector<std::byte> received_;  // exchange_add's bytes through MPI messages
};

static_assert(communicator<mpi_communicator>);

}  // namespace metagrad
