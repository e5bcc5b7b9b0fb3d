// Writing your own layers: the layer concept's documentation, compiled. A layer author writes the
// maths (shapes, parameters, forward, vector-Jacobian product); metagrad does the plumbing
// (composition, shape checks, the network's backward pass, optimizers, gradient checks).
#include <cstdio>

#include "metagrad/constexpr.hpp"

namespace mg = metagrad;

// [activation]
// An element-wise activation needs only its value and derivative: softplus(x) = log(1 + e^x),
// written so that large |x| neither overflows nor loses precision.
struct softplus : mg::elementwise_activation<softplus> {
    template <class T>
    static constexpr T value(T x) {
        return x > 0 ? x + mg::math::log1p(mg::math::exp(-x)) : mg::math::log1p(mg::math::exp(x));
    }
    template <class T>
    static constexpr T derivative(T x, T) {
        return mg::math::sigmoid(x);  // d/dx log(1 + e^x)
    }
};
// [activation]

// [parameters]
// A layer with parameters: a learnable per-feature scale and shift, y = gamma * x + beta.
// Its parameter struct lists its tensors once, as (name, member) pairs: that is all optimizers,
// checks and checkpoints need.
template <class T, std::size_t N>
struct scale_shift_parameters {
    mg::vector<T, N> gamma = mg::vector<T, N>::filled(T{1});
    mg::vector<T, N> beta{};

    static constexpr auto fields = mg::fields(mg::field<"gamma">(&scale_shift_parameters::gamma),
                                              mg::field<"beta">(&scale_shift_parameters::beta));
};
// [parameters]

// [layer]
struct scale_shift {
    // Shape-preserving; the parameters have one entry per feature (the last extent).
    template <class S>
    using output_shape = S;
    template <class T, class S>
    using parameters = scale_shift_parameters<T, S::last>;

    // Samples and batches alike: as_rows sees a sample as one row, a batch as B rows.
    template <class T, class S, class P>
    static constexpr mg::tensor<T, S> forward(const P& p, const mg::tensor<T, S>& x) {
        return mg::reshape<S>(mg::as_rows(x) * mg::broadcast_rows<S::rows>(p.gamma) +
                              mg::broadcast_rows<S::rows>(p.beta));
    }

    // dl/dgamma = column sums of dl/dy * x; dl/dbeta = column sums of dl/dy; dl/dx = dl/dy * gamma.
    template <class T, class S, class P>
    static constexpr mg::tensor<T, S> backward(const P& p, const mg::tensor<T, S>& x, const mg::tensor<T, S>&,
                                               const mg::tensor<T, S>& dl_dy, P& dl_dp) {
        dl_dp.gamma = mg::column_sums(mg::as_rows(dl_dy) * mg::as_rows(x));
        dl_dp.beta = mg::column_sums(mg::as_rows(dl_dy));
        return mg::reshape<S>(mg::as_rows(dl_dy) * mg::broadcast_rows<S::rows>(p.gamma));
    }
};
// [layer]

// [check]
static_assert(mg::layer<softplus> && mg::layer<scale_shift>);
using network = mg::sequential<mg::dense<3, 4>, scale_shift, softplus, mg::dense<2>>;

constexpr network::parameters<double> example_parameters() {
    network::parameters<double> p;
    p.layer<0>().weight = mg::matrix<double, 4, 3>{{{0.5, -0.2, 0.1}, {0.3, 0.8, -0.5}, {-0.7, 0.2, 0.4}, {0.1, 0.1, 0.9}}};
    p.layer<1>().gamma = mg::vector<double, 4>{1.5, -0.5, 2.0, 0.7};
    p.layer<1>().beta = mg::vector<double, 4>{0.1, 0.2, -0.3, 0.0};
    p.layer<3>().weight = mg::matrix<double, 2, 4>{{{0.2, -0.4, 0.6, 0.1}, {-0.3, 0.5, 0.2, 0.8}}};
    return p;
}
constexpr mg::matrix<double, 2, 3> batch{{{1.0, -0.5, 2.0}, {0.3, 0.7, -1.2}}};
constexpr mg::matrix<double, 2, 2> targets{{{0.5, -0.5}, {1.0, 0.0}}};

// The custom layers' backward passes, checked against finite differences at compile time.
static_assert(mg::gradcheck(example_parameters(), batch, targets, mg::mse{}) < 1e-8);
// [check]

int main() {
    const auto out = network::forward(example_parameters(), batch);
    std::printf("outputs: [%.6f, %.6f], [%.6f, %.6f]\n", out(0, 0), out(0, 1), out(1, 0), out(1, 1));
    std::printf("gradcheck (run time): %.3g\n", mg::gradcheck(example_parameters(), batch, targets, mg::mse{}));
}
