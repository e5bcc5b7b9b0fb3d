// metagrad::elementwise_activation: the plumbing shared by every element-wise activation layer.
#pragma once

#include "metagrad/core/elementwise.hpp"
#include "metagrad/core/layer.hpp"
#include "metagrad/core/layer_io.hpp"
#include "metagrad/core/tensor.hpp"
#include "metagrad/eval/vector_math.hpp"

namespace metagrad {

/// Turns a scalar function into a shape-polymorphic, parameter-less layer. `F` supplies the
/// maths only:
///
///     static constexpr T value(T x);              // y = f(x)
///     static constexpr T derivative(T x, T y);    // f'(x), given y = f(x) when that is cheaper
///     template <class T> static eval::simd<T> vector_value(eval::simd<T>);  // optional, run time
///
/// (a `vector_value` templated on the vector type as well, `template <class T, class V =
/// eval::simd<T>>`, also takes a narrower vector: a stream's 8 values under AVX-512.)
/// and the layer is `struct my_act : elementwise_activation<my_act> { ... }`.
template <class F>
struct elementwise_activation {
    template <class S>
    using output_shape = S;

    template <class T, class S>
    using parameters = no_parameters;


    // At run time, a function with a vector form (`F::vector_value` on `eval::simd<T>`) runs a
    // vector of elements at a time; constant evaluation, and other functions, use `F::value`.
    template <class T, class S>
    static constexpr void forward_into(const no_parameters&, const tensor<T, S>& x, tensor<T, S>& y) {
        // Named with <T>: clang converts between vector types of one size implicitly.
        if constexpr (requires(eval::simd<T> v) { F::template vector_value<T>(v); }) {
            if (!std::is_constant_evaluated()) {
                eval::map_lanes<S::size>(y.data.data(), x.data.data(), [](eval::simd<T> v) { return F::template vector_value<T>(v); });
                return;
            }
        }
        y = map([](T v) { return F::value(v); }, x);
    }
    // The passes the network calls: nothing to do backward when dl/dx is not wanted.
    template <class Ctx, pass_io IO>
    static constexpr void forward(const Ctx&, const IO& io) {
        forward_into(io.parameters, io.x, io.y);
    }
    template <class Ctx, pass_io IO>
    static constexpr void backward(const Ctx&, const IO& io) {
        if constexpr (IO::wants_input_gradient) backward_into(io.parameters, io.x, io.y, io.dl_dy, io.dl_dparameters, io.dl_dx);
    }

    template <class T, class S>
    static constexpr tensor<T, S> forward(const no_parameters& p, const tensor<T, S>& x) {
        tensor<T, S> y;
        forward_into(p, x, y);
        return y;
    }

    // dl/dx = f'(x) * dl/dy, element by element (the Jacobian is diagonal).
    template <class T, class S>
    static constexpr void backward_into(const no_parameters&, const tensor<T, S>& x, const tensor<T, S>& y,
                                        const tensor<T, S>& dl_dy, no_parameters&, tensor<T, S>& dl_dx) {
        dl_dx = map([](T xi, T yi) { return F::derivative(xi, yi); }, x, y) * dl_dy;
    }
    template <class T, class S>
    static constexpr tensor<T, S> backward(const no_parameters& p, const tensor<T, S>& x, const tensor<T, S>& y,
                                           const tensor<T, S>& dl_dy, no_parameters& dp) {
        tensor<T, S> dl_dx;
        backward_into(p, x, y, dl_dy, dp, dl_dx);
        return dl_dx;
    }
};

}  // namespace metagrad
