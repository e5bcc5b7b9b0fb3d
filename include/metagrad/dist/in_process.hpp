// metagrad::in_process_group: ranks as threads of one process, a communicator without MPI.
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <cstring>
#include <exception>
#include <functional>
#include <memory>
#include <mutex>
#include <span>
#include <string>
#include <thread>
#include <vector>

#include "metagrad/dist/communicator.hpp"
#include "metagrad/eval/parallel.hpp"

namespace metagrad {

namespace detail {
/// What the ranks of one in-process group share: a mailbox per ordered pair of ranks.
struct in_process_mailboxes {
    struct letter {
        std::span<const std::byte> bytes{};
        bool posted = false;
        bool read = false;
    };
    explicit in_process_mailboxes(std::size_t ranks_, std::chrono::milliseconds time_out_)
        : ranks(ranks_), time_out(time_out_), letters(ranks_ * ranks_) {}
    std::size_t ranks;
    std::chrono::milliseconds time_out;
    std::mutex mutex;
    std::condition_variable changed;
    std::vector<letter> letters;  // [from * ranks + to]
};
}  // namespace detail

/// One rank of a group of threads that train together, a model of `communicator` for tests and
/// for trying data-parallel code without MPI: `exchange` hands its bytes to the peer thread
/// through shared memory and waits for the peer's. A peer that does not answer within the
/// group's time-out makes `exchange` throw `distributed_error`. Made by `run_in_process`.
class in_process_group {
public:
    in_process_group(std::shared_ptr<detail::in_process_mailboxes> boxes, std::size_t rank) : boxes_(std::move(boxes)), rank_(rank) {}

    std::size_t rank() const { return rank_; }
    std::size_t size() const { return boxes_->ranks; }

    void exchange(std::size_t peer, std::span<const std::byte> out, std::span<std::byte> in) {
        auto& boxes = *boxes_;
        if (peer >= boxes.ranks || peer == rank_)
            throw distributed_error("metagrad::in_process_group: rank " + std::to_string(rank_) + " cannot exchange with rank " + std::to_string(peer));
        auto& sent = boxes.letters[rank_ * boxes.ranks + peer];
        auto& received = boxes.letters[peer * boxes.ranks + rank_];
        std::unique_lock lock(boxes.mutex);
        const auto deadline = std::chrono::steady_clock::now() + boxes.time_out;
        const auto wait_for = [&](auto ready, const char* what) {
            if (!boxes.changed.wait_until(lock, deadline, ready)) {
                sent = {};  // the caller's buffer is about to go
                throw distributed_error("metagrad: rank " + std::to_string(rank_) + " waited " + std::to_string(boxes.time_out.count()) +
                                        " ms for rank " + std::to_string(peer) + " " + what + "; it stopped or died");
            }
        };
        sent = {out, true, false};
        boxes.changed.notify_all();
        wait_for([&] { return received.posted && !received.read; }, "to send its part");
        if (received.bytes.size() != in.size())
            throw distributed_error("metagrad: rank " + std::to_string(peer) + " sent " + std::to_string(received.bytes.size()) + " bytes; rank " +
                                    std::to_string(rank_) + " expected " + std::to_string(in.size()));
        if (!in.empty()) std::memcpy(in.data(), received.bytes.data(), in.size());
        received.read = true;
        boxes.changed.notify_all();
        // `out` belongs to the caller again only once the peer has copied it.
        wait_for([&] { return sent.read; }, "to take this rank's part");
        sent = {};
    }

private:
    std::shared_ptr<detail::in_process_mailboxes> boxes_;
    std::size_t rank_;
};

/// Runs `work(group)` on `ranks` threads, one per rank, and waits for all; rethrows the first
/// exception a rank threw (by rank order). `time_out` bounds each exchange's wait. The ranks
/// share the process's kernel threads, which serve one caller at a time: the kernels must run
/// on one thread (the default; `set_thread_count(1)`).
template <class Work>
void run_in_process(std::size_t ranks, Work work, std::chrono::milliseconds time_out = std::chrono::seconds(30)) {
    if (eval::parallel_width() > 1)
        throw distributed_error("metagrad::run_in_process: the kernels use " + std::to_string(eval::parallel_width()) +
                                " threads, which serve one rank at a time; call set_thread_count(1) first");
    auto boxes = std::make_shared<detail::in_process_mailboxes>(ranks, time_out);
    std::vector<std::exception_ptr> failures(ranks);
    std::vector<std::thread> threads;
    threads.reserve(ranks);
    for (std::size_t r = 0; r < ranks; ++r)
        threads.emplace_back([&, r] {
            try {
                in_process_group group(boxes, r);
                work(group);
            } catch (...) {
                failures[r] = std::current_exception();
            }
        });
    for (auto& t : threads) t.join();
    for (const auto& failure : failures)
        if (failure) std::rethrow_exception(failure);
}

}  // namespace metagrad
