// Batch norm trained on one vector: one value per feature has no variance to normalize by
// (PyTorch's "Expected more than 1 value per channel when training", here at compile time).
// In inference, on the running statistics, one sample is fine.
#include "metagrad/metagrad.hpp"

namespace mg = metagrad;

using network = mg::sequential<mg::input<4>, mg::dense<3>, mg::batch_norm<>, mg::dense<2>>;

int main() {
    const network::parameters<double> p;
#ifdef METAGRAD_COMPILE_FAIL
    const auto trace = network::forward_trace(p, mg::vector<double, 4>{});  // training mode
#else
    const auto trace = network::forward_trace<mg::inference_mode>(p, mg::vector<double, 4>{});
#endif
    return trace.output()[0] == 0 ? 0 : 1;
}
