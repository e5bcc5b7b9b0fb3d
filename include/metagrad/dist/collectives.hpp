// metagrad::sum_all and metagrad::gather_all: sums and gathers over a communicator, in a fixed order.
#pragma once

#include <array>
#include <bit>
#include <cstddef>
#include <span>
#include <string>

#include "metagrad/dist/communicator.hpp"

namespace metagrad {

namespace detail {
/// The collectives pair rank r with r ^ 2^k at round k, which needs a power of two of ranks.
template <communicator C>
std::size_t rounds_of(const C& comm) {
    const std::size_t ranks = comm.size();
    if (ranks == 0 || !std::has_single_bit(ranks))
        throw distributed_error("metagrad: data-parallel training needs a power of two of ranks (1, 2, 4, ...), not " + std::to_string(ranks));
    return static_cast<std::size_t>(std::countr_zero(ranks));
}

template <class T>
std::span<const std::byte> bytes_of(std::span<const T> s) {
    return std::as_bytes(s);
}
template <class T>
std::span<std::byte> writable_bytes_of(std::span<T> s) {
    return std::as_writable_bytes(s);
}
}  // namespace detail

/// The element-wise sum of `values` over every rank, left in `values` on every rank; `scratch`
/// holds at least half of `values` (rounded up), so that the call allocates nothing.
///
/// The order of the additions is fixed: at round k rank r adds the partial sum of rank r ^ 2^k,
/// so every element is the sum of the ranks' values over a perfect binary tree, pairs of
/// neighbours first: ((v0 + v1) + (v2 + v3)) on four ranks. Float addition is commutative, so
/// either side of a pair computes the same bits; a rank that sums its own values over the same
/// tree first (data_parallel.hpp) gets the sum that a run with more ranks gets. The rounds
/// halve the vector each rank is responsible for, then gather the halves back (recursive
/// halving and doubling): each rank sends and receives 2 (P - 1) / P of the vector in
/// 2 log2 P messages. A communicator with `exchange_add(peer, out, sum)` (send `out`, add what
/// the peer sends into `sum`) does the halving rounds' additions itself.
///
/// With `scale`, each rank multiplies the part it summed before gathering: every rank gets the
/// sum times `scale` (a mean, with 1 / count) at no extra pass.
template <communicator C, class T>
void sum_all(C& comm, std::span<T> values, std::span<T> scratch, T scale = T{1}) {
    const std::size_t rounds = detail::rounds_of(comm);
    if (scratch.size() < (values.size() + 1) / 2)
        throw distributed_error("metagrad::sum_all: the scratch space holds " + std::to_string(scratch.size()) + " values; it needs " +
                                std::to_string((values.size() + 1) / 2));
    const std::size_t rank = comm.rank();
    // The part of the vector this rank is responsible for before each round: [begin, end).
    std::array<std::size_t, 65> begin{}, end{};
    begin[0] = 0, end[0] = values.size();
    for (std::size_t k = 0; k < rounds; ++k) {
        const std::size_t peer = rank ^ (std::size_t{1} << k);
        const std::size_t middle = begin[k] + (end[k] - begin[k]) / 2;
        const bool lower = (rank & (std::size_t{1} << k)) == 0;
        // Keep one half, send the other: the lower rank of a pair keeps the lower half.
        const std::size_t keep_begin = lower ? begin[k] : middle, keep_end = lower ? middle : end[k];
        const std::size_t give_begin = lower ? middle : begin[k], give_end = lower ? end[k] : middle;
        const std::span<const T> give = values.subspan(give_begin, give_end - give_begin);
        const std::span<T> keep = values.subspan(keep_begin, keep_end - keep_begin);
        if constexpr (requires { comm.exchange_add(peer, give, keep); }) {
            // The communicator adds the peer's values where they arrive (shared memory: one pass).
            comm.exchange_add(peer, give, keep);
        } else {
            const std::span<T> received = scratch.first(keep.size());
            comm.exchange(peer, detail::bytes_of(give), detail::writable_bytes_of(received));
            for (std::size_t i = 0; i < keep.size(); ++i) keep[i] += received[i];
        }
        begin[k + 1] = keep_begin, end[k + 1] = keep_end;
    }
    if (scale != T{1})
        for (std::size_t i = begin[rounds]; i < end[rounds]; ++i) values[i] *= scale;
    // Gather the sums back, in the reverse order: each round doubles what a rank holds.
    for (std::size_t k = rounds; k-- > 0;) {
        const std::size_t peer = rank ^ (std::size_t{1} << k);
        const std::size_t mine_begin = begin[k + 1], mine_end = end[k + 1];
        // The peer's half is the rest of the part both held before round k.
        const std::size_t theirs_begin = mine_begin == begin[k] ? mine_end : begin[k];
        const std::size_t theirs_end = mine_begin == begin[k] ? end[k] : mine_begin;
        comm.exchange(peer, detail::bytes_of(std::span<const T>(values.subspan(mine_begin, mine_end - mine_begin))),
                      detail::writable_bytes_of(values.subspan(theirs_begin, theirs_end - theirs_begin)));
    }
}

/// Every rank's record in rank order: `records` holds `comm.size()` records of `record_size`
/// bytes, this rank's already in its place (`rank() * record_size`); after the call all are
/// filled in, on every rank (recursive doubling: log2 P messages).
template <communicator C>
void gather_all(C& comm, std::span<std::byte> records, std::size_t record_size) {
    const std::size_t rounds = detail::rounds_of(comm);
    const std::size_t rank = comm.rank();
    if (records.size() != comm.size() * record_size)
        throw distributed_error("metagrad::gather_all: " + std::to_string(records.size()) + " bytes for " + std::to_string(comm.size()) +
                                " records of " + std::to_string(record_size));
    for (std::size_t k = 0; k < rounds; ++k) {
        // Before round k this rank holds the records of the 2^k ranks that share its higher bits.
        const std::size_t group = std::size_t{1} << k;
        const std::size_t mine = rank & ~(group - 1), theirs = mine ^ group;
        comm.exchange(rank ^ group, std::span<const std::byte>(records.subspan(mine * record_size, group * record_size)),
                      records.subspan(theirs * record_size, group * record_size));
    }
}

}  // namespace metagrad
