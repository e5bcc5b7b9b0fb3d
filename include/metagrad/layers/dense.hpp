// metagrad::dense: the fully connected layer y = W x + b.
#pragma once

#include <array>
#include <cstddef>
#include <string_view>

#include "metagrad/core/broadcast.hpp"
#include "metagrad/core/elementwise.hpp"
#include "metagrad/core/fields.hpp"
#include "metagrad/core/layer_io.hpp"
#include "metagrad/core/layer_traits.hpp"
#include "metagrad/core/matmul.hpp"
#include "metagrad/core/reduce.hpp"
#include "metagrad/core/reshape.hpp"
#include "metagrad/core/shape.hpp"
#include "metagrad/core/tensor.hpp"
#include "metagrad/core/transpose.hpp"
#include "metagrad/eval/assign.hpp"
#include "metagrad/eval/simd.hpp"
#include "metagrad/layers/scale_and_shift.hpp"

namespace metagrad {

/// A dense layer's parameters: `weight` (Out x In, row i holds the weights into output i, as in
/// the homework's W^k and PyTorch's Linear) and `bias` (Out).
template <class T, std::size_t In, std::size_t Out>
struct dense_parameters {
    matrix<T, Out, In> weight{};
    vector<T, Out> bias{};

    static constexpr auto fields =
        metagrad::fields(field<"weight">(&dense_parameters::weight), field<"bias">(&dense_parameters::bias));
    friend constexpr bool operator==(const dense_parameters&, const dense_parameters&) = default;
};

/// A dense layer's parameters as `predictor` packs them for inference: the weights input-major
/// (In x Out, the transpose of `dense_parameters::weight`) when a row of outputs fills vectors,
/// so that a sample's product is the broadcast form, with no sums across lanes; as trained when
/// there are fewer outputs than a vector's lanes (the dot form serves those). Chosen at compile
/// time from the shapes and the target's vector width.
template <class T, std::size_t In, std::size_t Out>
struct dense_packed {
    static constexpr bool input_major = Out >= eval::lanes<T>;
    matrix<T, input_major ? In : Out, input_major ? Out : In> weight{};
    vector<T, Out> bias{};
};

namespace detail {
/// The maths of a dense layer with `Out` outputs, on any number of rows: a sample is one row,
/// a batch B rows (`as_rows`), so one definition serves both.
template <std::size_t Out>
struct dense_maths {
    static constexpr std::string_view name = "dense";

    template <class S>
    using output_shape = with_last<S, Out>;

    template <class T, class S>
    using parameters = dense_parameters<T, S::last, Out>;

    /// Floating-point operations of the forward pass on one sample of shape `S`: a multiply and
    /// an add per weight, and the bias.
    template <class S>
    static constexpr std::size_t flops = (2 * S::last + 1) * Out * (S::size / S::last);

    // Y = X W^T + 1 b^T   (X: rows x In, W: Out x In, Y: rows x Out), written straight into y
    // (which is not x): eval/ runs the product as a matrix kernel that adds the bias as it stores.
    template <class T, class S, class P>
    static constexpr void forward_into(const P& p, const tensor<T, S>& x, tensor<T, output_shape<S>>& y) {
        eval::assign_to_fresh(y.data, matmul(as_rows(x), transpose(p.weight)) + broadcast_rows<S::rows>(p.bias));
    }
    // The forward pass and the activation `F` after it, into z and h = F(z): at run time the
    // kernel applies F as it stores each sum (the same values as F's own pass over z).
    template <class F, class T, class S, class P>
    static constexpr void forward_activated_into(const P& p, const tensor<T, S>& x, tensor<T, output_shape<S>>& z,
                                                 tensor<T, output_shape<S>>& h) {
        if (!std::is_constant_evaluated()) {
            eval::product_into(z, matmul(as_rows(x), transpose(p.weight)),
                               eval::add_column_bias_and_activate<T, F>{p.bias.data.data(), z.data.data(), h.data.data()});
            return;
        }
        forward_into(p, x, z);
        h = map([](T v) { return F::value(v); }, z);
    }

    /// In an exported ONNX graph (io/onnx_graph.hpp): Gemm(x, weight, bias) with transB, the
    /// weight as trained (Out x In); on rows of a larger sample, MatMul by its transpose and Add.
    template <class S, class G>
    static void to_onnx(G& g) {
        if constexpr (S::rank == 1) {
            g.output(g.node("Gemm", {g.input(), g.parameter("weight"), g.parameter("bias")}, {G::integer("transB", 1)}));
        } else {
            const auto product = g.node("MatMul", {g.input(onnx_layout::channels_last), g.parameter("weight", {1, 0})});
            g.output(g.node("Add", {product, g.parameter("bias")}), onnx_layout::channels_last);
        }
    }

    // The passes the network calls: y from x; dl/dW and dl/db, and dl/dX when it is wanted.
    template <class Ctx, pass_io IO>
    static constexpr void forward(const Ctx&, const IO& io) {
        forward_into(io.parameters, io.x, io.y);
    }
    template <class Ctx, pass_io IO>
    static constexpr void backward(const Ctx&, const IO& io) {
        backward_parameters(io.parameters, io.x, io.y, io.dl_dy, io.dl_dparameters);
        if constexpr (IO::wants_input_gradient) eval::assign_to_fresh(io.dl_dx.data, matmul(as_rows(io.dl_dy), io.parameters.weight));
    }

    // The same as values (the shorthand form), for calling a dense layer by hand.
    template <class T, class S, class P>
    static constexpr tensor<T, output_shape<S>> forward(const P& p, const tensor<T, S>& x) {
        tensor<T, output_shape<S>> y;
        forward_into(p, x, y);
        return y;
    }

    // dl/dW = (dl/dY)^T X (summed over rows);  dl/db = column sums of dl/dY.
    template <class T, class S, class P>
    static constexpr void backward_parameters(const P&, const tensor<T, S>& x, const tensor<T, output_shape<S>>&,
                                              const tensor<T, output_shape<S>>& dl_dy, P& dl_dp) {
        dl_dp.weight = matmul(transpose(as_rows(dl_dy)), as_rows(x));
        dl_dp.bias = column_sums(as_rows(dl_dy));
    }

    // dl/dX = dl/dY W, with the parameter gradients as above; dl_dx is none of the others.
    template <class T, class S, class P>
    static constexpr void backward_into(const P& p, const tensor<T, S>& x, const tensor<T, output_shape<S>>& y,
                                        const tensor<T, output_shape<S>>& dl_dy, P& dl_dp, tensor<T, S>& dl_dx) {
        backward_parameters(p, x, y, dl_dy, dl_dp);
        eval::assign_to_fresh(dl_dx.data, matmul(as_rows(dl_dy), p.weight));
    }
    // dl/dX = dl/dY W, and the gradient through the activation F before this layer,
    // dl/dZ = F'(z, x) * dl/dX, where x = F(z) is this layer's input: at run time from one
    // kernel, which writes dl/dZ as it stores each sum (the values of F's own backward pass).
    template <class F, class T, class S, class P>
    static constexpr void input_gradient_through(const P& p, const tensor<T, output_shape<S>>& dl_dy, tensor<T, S>& dl_dx,
                                                 const tensor<T, S>& z, const tensor<T, S>& x, tensor<T, S>& dl_dz) {
        if (!std::is_constant_evaluated()) {
            eval::product_into(dl_dx, matmul(as_rows(dl_dy), p.weight),
                               eval::store_and_pass_back<T, F>{dl_dx.data.data(), z.data.data(), x.data.data(), dl_dz.data.data()});
            return;
        }
        eval::assign_to_fresh(dl_dx.data, matmul(as_rows(dl_dy), p.weight));
        dl_dz = map([](T zi, T xi) { return F::derivative(zi, xi); }, z, x) * dl_dx;
    }

    /// A scale and shift per output after the layer (batch norm in inference), folded into its
    /// weight rows and bias (the inference form).
    template <class P, class V, class Folded>
    static constexpr void absorb_scale_and_shift(const P& p, const V& scale, const V& shift, Folded& folded) {
        absorb_into_rows(p, scale, shift, folded);
    }

    template <class T, class S>
    using packed_parameters = dense_packed<T, S::last, Out>;

    template <class T, class P, std::size_t In>
    static void pack(const P& p, dense_packed<T, In, Out>& packed) {
        if constexpr (dense_packed<T, In, Out>::input_major)
            packed.weight = transpose(p.weight);
        else
            packed.weight = p.weight;
        packed.bias = p.bias;
    }

    // Inference from packed parameters: a sample through the broadcast kernel, a batch through
    // the row-panel form (X times input-major weights), or the trained layout's forward pass.
    template <class T, class S, std::size_t In>
    static void packed_forward_into(const dense_packed<T, In, Out>& packed, const tensor<T, S>& x,
                                    tensor<T, output_shape<S>>& y) {
        if constexpr (!dense_packed<T, In, Out>::input_major)
            forward_into(packed, x, y);
        else if constexpr (S::rank == 1)
            eval::lone_row_kernel<In, Out>(y.data.data(), x.data.data(), packed.weight.data.data(),
                                           eval::add_column_bias<T>{packed.bias.data.data()});
        else
            eval::assign_to_fresh(y.data, matmul(as_rows(x), packed.weight) + broadcast_rows<S::rows>(packed.bias));
    }

    // The backward pass fused with plain SGD's step (p <- p - learning_rate * dl/dp): dl/dX from
    // the weights before the step (when `InputGradient`), then the step, which the weight
    // gradient's kernel takes as it finishes each sum, so that gradient is never stored.
    template <bool InputGradient, class T, class S, class P>
    static constexpr void backward_sgd_into(P& p, const tensor<T, S>& x, const tensor<T, output_shape<S>>&,
                                            const tensor<T, output_shape<S>>& dl_dy, T learning_rate, tensor<T, S>& dl_dx) {
        if constexpr (InputGradient) eval::assign_to_fresh(dl_dx.data, matmul(as_rows(dl_dy), p.weight));
        eval::subtract_scaled_product(p.weight, learning_rate, matmul(transpose(as_rows(dl_dy)), as_rows(x)));
        // The bias gradient first, through eval/ (a row of vectors at a time), then its step.
        vector<T, Out> bias_gradient;
        bias_gradient = column_sums(as_rows(dl_dy));
        p.bias = p.bias - learning_rate * bias_gradient;
    }

    template <class T, class S, class P>
    static constexpr tensor<T, S> backward(const P& p, const tensor<T, S>& x, const tensor<T, output_shape<S>>& y,
                                           const tensor<T, output_shape<S>>& dl_dy, P& dl_dp) {
        tensor<T, S> dl_dx;
        backward_into(p, x, y, dl_dy, dl_dp, dl_dx);
        return dl_dx;
    }
};
}  // namespace detail

/// A fully connected layer. `dense<In, Out>` states its input size (and so can start a
/// `sequential`, and checks its predecessor); `dense<Out>` takes its input size from the
/// previous layer. Takes vectors (or batches of vectors).
template <std::size_t... Sizes>
struct dense {
    static_assert(sizeof...(Sizes) == 1 || sizeof...(Sizes) == 2,
                  "metagrad::dense: write dense<In, Out> or dense<Out>");
};

/// Diagnostic vocabulary: a dense layer's sizes (`dense_outputs` for `dense<Out>`, whose input
/// size comes from the previous layer).
template <std::size_t In, std::size_t Out>
struct dense_sizes {};
template <class Sizes>
inline constexpr bool sizes_are_positive = false;
template <std::size_t In, std::size_t Out>
    requires(In > 0 && Out > 0)
inline constexpr bool sizes_are_positive<dense_sizes<In, Out>> = true;
template <std::size_t Out>
struct dense_outputs {};
template <std::size_t Out>
    requires(Out > 0)
inline constexpr bool sizes_are_positive<dense_outputs<Out>> = true;

namespace detail {
// The check lives in its own class: a failed assertion there leaves the layer type usable, so a
// network of it reports this one error and not a cascade (clang would otherwise drop the layer).
template <class Sizes>
struct check_dense_sizes {
    // A dense layer needs at least one input and one output.
    static_assert(sizes_are_positive<Sizes>, "metagrad::dense: sizes must be positive");
    static constexpr bool value = true;
};
}  // namespace detail

template <std::size_t In, std::size_t Out>
struct dense<In, Out> : detail::dense_maths<(Out > 0 ? Out : 1)> {
    static_assert(detail::check_dense_sizes<dense_sizes<In, Out>>::value);
    using provides =
        hooks<dense, activation_after_hook, gradient_through_activation_hook, sgd_step_hook, packing_hook, absorbs_scale_and_shift_hook,
              onnx_hook>;
    using absorbed_scale_and_shift = dense;
    using input_shape = shape<(In > 0 ? In : 1)>;
};

template <std::size_t Out>
struct dense<Out> : detail::dense_maths<(Out > 0 ? Out : 1)> {
    static_assert(detail::check_dense_sizes<dense_outputs<Out>>::value);
    using provides =
        hooks<dense, activation_after_hook, gradient_through_activation_hook, sgd_step_hook, packing_hook, absorbs_scale_and_shift_hook,
              onnx_hook>;
    using absorbed_scale_and_shift = dense;
    /// A dense layer maps vectors; flatten other shapes first.
    template <class S>
    static constexpr bool accepts = S::rank == 1;
};

}  // namespace metagrad
