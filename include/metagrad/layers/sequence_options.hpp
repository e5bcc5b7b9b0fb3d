// metagrad sequence options: `last_step` and `stateful`, the options that layers over time
// (recurrent.hpp, causal_conv1d.hpp) share.
#pragma once

namespace metagrad {

/// Option of a recurrent layer: give the last time step's hidden state (shape `<Hidden>`)
/// instead of every step's (`<T, Hidden>`, PyTorch's default).
struct last_step {};
/// Option of a layer over time (Keras's `stateful`): each call starts from the state the previous
/// call of the same workspace (or stream) ended with, sequence by sequence, instead of from zeros:
/// a recurrent layer's hidden state, a causal convolution's past inputs. Truncated
/// back-propagation through time over consecutive chunks, and streaming. The gradient stops at the
/// chunk's start. `reset_carried_state(workspace)` (train/workspace.hpp) and `stream::reset` start
/// again from zeros.
struct stateful {};

}  // namespace metagrad
