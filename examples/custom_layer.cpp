// Writing your own layers: the layer concept's documentation, compiled. A layer author writes the
// maths (shapes, parameters, state, forward, vector-Jacobian product); metagrad does the plumbing
// (composition, shape checks, the network's backward pass, optimizers, checkpoints, gradient
// checks). Three kinds: an activation, a layer with parameters in the short form, and a layer with
// state and a training mode in the full form.
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

// [state]
// A layer with state and a mode: mean-only batch normalization (Salimans and Kingma, 2016). In
// training it subtracts each feature's mean over the batch and updates a running average of those
// means, its state (saved in checkpoints, never touched by optimizers); in inference it subtracts
// the running average. It is written in the contract's full form, forward(ctx, io) and
// backward(ctx, io): `ctx` says the mode, `io` holds the tensors, the state and the gradients.
template <class T, std::size_t N>
struct running_mean_state {
    mg::vector<T, N> running_mean{};

    static constexpr auto fields = mg::fields(mg::field<"running_mean">(&running_mean_state::running_mean));
};

struct mean_only_norm {
    template <class S>
    using output_shape = S;
    template <class T, class S>
    using state = running_mean_state<T, S::last>;

    template <class Ctx, mg::pass_io IO>
    static constexpr void forward(const Ctx&, const IO& io) {
        using T = typename IO::value_type;
        constexpr std::size_t features = IO::sample_shape::last, rows = IO::input_shape::size / features;
        mg::vector<T, features> mean = io.state.running_mean;
        if constexpr (Ctx::training) {
            mean = mg::column_sums(mg::as_rows(io.x)) / static_cast<T>(rows);
            io.state.running_mean = T(0.9) * io.state.running_mean + T(0.1) * mean;  // only in training
        }
        io.y = mg::reshape<typename IO::input_shape>(mg::as_rows(io.x) - mg::broadcast_rows<rows>(mean));
    }

    // In training every output depends on the whole batch through its mean: dl/dx = dl/dy minus
    // its mean over the batch. In inference the mean is a constant: dl/dx = dl/dy.
    template <class Ctx, mg::pass_io IO>
    static constexpr void backward(const Ctx&, const IO& io) {
        using T = typename IO::value_type;
        constexpr std::size_t features = IO::sample_shape::last, rows = IO::input_shape::size / features;
        if constexpr (IO::wants_input_gradient) {
            if constexpr (Ctx::training)
                io.dl_dx = mg::reshape<typename IO::input_shape>(
                    mg::as_rows(io.dl_dy) - mg::broadcast_rows<rows>(mg::column_sums(mg::as_rows(io.dl_dy)) / static_cast<T>(rows)));
            else
                io.dl_dx = io.dl_dy;
        }
    }
};
// [state]

// [check]
static_assert(mg::layer<softplus> && mg::layer<scale_shift> && mg::layer<mean_only_norm>);
using network = mg::sequential<mg::dense<3, 4>, mean_only_norm, scale_shift, softplus, mg::dense<2>>;

constexpr network::parameters<double> example_parameters() {
    network::parameters<double> p;
    p.layer<0>().weight = mg::matrix<double, 4, 3>{{{0.5, -0.2, 0.1}, {0.3, 0.8, -0.5}, {-0.7, 0.2, 0.4}, {0.1, 0.1, 0.9}}};
    p.layer<2>().gamma = mg::vector<double, 4>{1.5, -0.5, 2.0, 0.7};
    p.layer<2>().beta = mg::vector<double, 4>{0.1, 0.2, -0.3, 0.0};
    p.layer<4>().weight = mg::matrix<double, 2, 4>{{{0.2, -0.4, 0.6, 0.1}, {-0.3, 0.5, 0.2, 0.8}}};
    return p;
}
constexpr mg::matrix<double, 2, 3> batch{{{1.0, -0.5, 2.0}, {0.3, 0.7, -1.2}}};
constexpr mg::matrix<double, 2, 2> targets{{{0.5, -0.5}, {1.0, 0.0}}};

// The custom layers' backward passes, checked against finite differences at compile time (in
// training mode: the mean is the batch's).
static_assert(mg::gradcheck(example_parameters(), batch, targets, mg::mse{}) < 1e-8);

// A training step updates the running mean; the pass alone does not.
constexpr auto after_one_step() {
    auto p = example_parameters();
    mg::sgd<double> sgd{0.1};
    mg::train_step(p, batch, targets, mg::mse{}, sgd);
    return p;
}
static_assert(example_parameters().state<1>().running_mean[0] == 0.0);
static_assert(after_one_step().state<1>().running_mean[0] != 0.0);
// [check]

int main() {
    const auto out = network::forward(example_parameters(), batch);
    std::printf("outputs: [%.6f, %.6f], [%.6f, %.6f]\n", out(0, 0), out(0, 1), out(1, 0), out(1, 1));
    std::printf("gradcheck (run time): %.3g\n", mg::gradcheck(example_parameters(), batch, targets, mg::mse{}));
}
