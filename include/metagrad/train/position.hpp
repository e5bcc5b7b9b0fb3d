// metagrad::training_position: where a training run is, everything needed to resume it exactly.
#pragma once

#include <cstddef>
#include <cstdint>

#include "metagrad/init/random.hpp"
#include "metagrad/train/history.hpp"

namespace metagrad {

/// Where a run is, apart from the parameters and the optimizer: steps taken (what learning-rate
/// schedules read, and with `seed` what keys dropout's masks), epochs finished, the generator that shuffles the next epoch, the early
/// stopping state and the learning curves so far. Checkpoints save all of it, so that a resumed
/// run does exactly what the uninterrupted run would have done.
struct training_position {
    std::size_t step = 0;
    /// The seed of the layers' random numbers (dropout's masks), with `step` their key.
    std::uint64_t seed = 0;
    std::size_t epoch = 0;
    random_generator shuffle{0};
    early_stopping stopping{};
    history curves{};
};

}  // namespace metagrad
