// metagrad::layer: what a layer type must describe, and the parameter-less layers' parameters.
#pragma once

#include <concepts>
#include <cstddef>
#include <string_view>
#include <type_traits>

#include "metagrad/core/fields.hpp"
#include "metagrad/core/shape.hpp"
#include "metagrad/core/tensor.hpp"

namespace metagrad {

/// The parameters of a layer that has none (activations). Every parameter struct lists its
/// tensors once, as (name, member) pairs in `fields` (core/fields.hpp), which is all the
/// framework needs to update, zero, count, compare and save them.
struct no_parameters {
    static constexpr auto fields = metagrad::fields();
    friend constexpr bool operator==(const no_parameters&, const no_parameters&) = default;
};

namespace detail {
template <class L>
concept has_fixed_input = requires { typename L::input_shape; };

template <class L>
concept has_accepts = requires { L::template accepts<shape<1>>; };

/// The shape a layer is tried on when asking "is this a layer at all": its own input shape if
/// it fixes one, else a vector.
template <class L>
struct probe_shape {
    using type = shape<1>;
};
template <has_fixed_input L>
struct probe_shape<L> {
    using type = typename L::input_shape;
};
}  // namespace detail

/// `L` is a layer that can take inputs of (sample or batch) shape `S`: it names its output shape
/// and parameter type for `S`, and has a forward pass and a backward pass (vector-Jacobian
/// product) of the expected signatures:
///
///     template <class S> using output_shape = ...;                  // shape algebra
///     template <class T, class S> using parameters = ...;           // no_parameters if none
///     static tensor<T, output_shape<S>> forward(const P&, const tensor<T, S>& x);
///     static tensor<T, S> backward(const P&, const tensor<T, S>& x,
///                                  const tensor<T, output_shape<S>>& y,
///                                  const tensor<T, output_shape<S>>& dl_dy, P& dl_dp);
///
/// `backward` returns dl/dx and writes dl/dp. Parameters depend on the sample shape only, so a
/// batch (a leading extent) reuses them. See `examples/custom_layer.cpp`.
///
/// A layer may also write its results into tensors the network owns, which spares a copy of
/// every batch-sized result (`y` and `dl_dx` are never operands). It says so by naming itself:
///
///     using writes_into = my_layer;
///     static void forward_into(const P&, const tensor<T, S>& x, tensor<T, output_shape<S>>& y);
///     static void backward_into(const P&, x, y, dl_dy, P& dl_dp, tensor<T, S>& dl_dx);
///
/// A class derived from such a layer inherits a `writes_into` that names its base, so one that
/// overrides `forward` or `backward` gets its own passes used, not the inherited `_into` ones.
template <class L, class S>
concept layer_for =
    shape_type<S> &&
    requires {
        typename L::template output_shape<S>;
        typename L::template parameters<double, S>;
    } &&
    requires(const typename L::template parameters<double, S>& p, typename L::template parameters<double, S>& dp,
             const tensor<double, S>& x, const tensor<double, typename L::template output_shape<S>>& y) {
        { L::forward(p, x) } -> std::same_as<tensor<double, typename L::template output_shape<S>>>;
        { L::backward(p, x, y, y, dp) } -> std::same_as<tensor<double, S>>;
    };

/// Whether the network may call `L::forward_into` and `L::backward_into` (see above).
template <class L>
concept writes_into = requires { typename L::writes_into; } && std::is_same_v<typename L::writes_into, L>;

/// `L` is a layer type (checked on its own input shape, or on a vector if it has none).
template <class L>
concept layer = layer_for<L, typename detail::probe_shape<L>::type>;

/// Whether layer `L` takes inputs of sample shape `S`: layers restrict it with a
/// `template <class S> static constexpr bool accepts`; activations take any shape.
template <class L, class S>
inline constexpr bool layer_accepts = true;
template <detail::has_accepts L, class S>
inline constexpr bool layer_accepts<L, S> = L::template accepts<S>;

}  // namespace metagrad
