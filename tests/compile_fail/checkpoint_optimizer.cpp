// Misuse: a checkpoint of an optimizer of the user's own that does not say its name and state.
#include <string_view>

#include "metagrad/io/checkpoint.hpp"
#include "metagrad/layers/dense.hpp"

namespace mg = metagrad;
using net = mg::sequential<mg::dense<2, 1>>;

struct halving_sgd {
#ifndef METAGRAD_COMPILE_FAIL
    static constexpr std::string_view name = "halving_sgd";
    template <class F>
    constexpr void for_each_state(F&&) const {}
#endif
    float learning_rate = 0.1f;
    constexpr void step(net::parameters<float>& p, const net::parameters<float>& g) {
        mg::for_each_tensor([&](auto& w, const auto& dw) { w = w - learning_rate * dw; }, p, g);
        learning_rate /= 2;
    }
};
#ifdef METAGRAD_COMPILE_FAIL
static_assert(!mg::checkpointable_optimizer<halving_sgd>);  // the predicate asks without failing
#else
static_assert(mg::checkpointable_optimizer<halving_sgd>);
#endif

int main() {
    const net::parameters<float> p{};
    mg::save_checkpoint("never-written.safetensors", p, halving_sgd{}, mg::training_position{});
}
