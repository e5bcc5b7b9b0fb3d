// A layer that declares a hook (`provides`) whose member has another signature than the hook
// expects: here `packed_forward_into` takes its arguments in the wrong order. Without the
// declaration the member would never be looked for; with it, the mismatch is the one error.
#include "metagrad/metagrad.hpp"

namespace mg = metagrad;

// A dense layer with its own packed form for the predictor: the weights kept as trained.
template <std::size_t Out>
struct packed_dense : mg::dense<Out> {
    using provides = mg::hooks<packed_dense, mg::packing_hook>;
    template <class T, class S>
    using packed_parameters = mg::dense_parameters<T, S::last, Out>;
    template <class P, class Q>
    static void pack(const P& p, Q& q) {
        q = p;
    }
#ifdef METAGRAD_COMPILE_FAIL
    template <class T, class S, class Q>
    static void packed_forward_into(const mg::tensor<T, S>& x, const Q& q, mg::tensor<T, mg::with_last<S, Out>>& y) {
#else
    template <class T, class S, class Q>
    static void packed_forward_into(const Q& q, const mg::tensor<T, S>& x, mg::tensor<T, mg::with_last<S, Out>>& y) {
#endif
        y = mg::dense<Out>::forward(q, x);
    }
};

using network = mg::sequential<mg::input<4>, packed_dense<3>, mg::relu, mg::dense<1>>;

int main() { return network::valid ? 0 : 1; }
