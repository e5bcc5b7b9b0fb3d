// metagrad::communicator: what data-parallel training needs from a group of processes.
#pragma once

#include <concepts>
#include <cstddef>
#include <span>
#include <stdexcept>
#include <string>
#include <utility>

namespace metagrad {

/// A group of `size()` ranks that trains one model, this process being rank `rank()` (0-based).
/// One primitive suffices: `exchange(peer, out, in)` sends `out` to rank `peer` and receives
/// `in.size()` bytes from it, both at once (MPI's Sendrecv). Everything else (the gradient sum,
/// gathering fingerprints, broadcasting) is built on it in dist/collectives.hpp, in a fixed
/// order, so the sums are the same bit for bit whatever the model. A failed exchange (a peer
/// that died or stopped answering) throws `distributed_error`; it must not hang.
///
/// Models: `mpi_communicator` (dist/mpi.hpp, the only header that includes MPI) and
/// `in_process_group` (dist/in_process.hpp: ranks as threads of one process, for tests).
template <class C>
concept communicator = requires(C& c, const C& const_c, std::size_t peer, std::span<const std::byte> out, std::span<std::byte> in) {
    { const_c.rank() } -> std::convertible_to<std::size_t>;
    { const_c.size() } -> std::convertible_to<std::size_t>;
    c.exchange(peer, out, in);
};

/// Thrown when ranks cannot train together: a peer that does not answer within the time-out,
/// ranks that disagree on the network, the optimizer or the data, a rank count the data-parallel
/// plan cannot use. `what()` names the ranks and what differs.
class distributed_error : public std::runtime_error {
public:
    explicit distributed_error(const std::string& message) : std::runtime_error(message) {}
};

}  // namespace metagrad
