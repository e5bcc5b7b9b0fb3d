// metagrad::layer: what a layer type must describe.
#pragma once

#include <concepts>
#include <cstddef>
#include <string_view>
#include <type_traits>

#include "metagrad/core/layer_io.hpp"
#include "metagrad/core/layer_traits.hpp"
#include "metagrad/core/shape.hpp"
#include "metagrad/core/tensor.hpp"

namespace metagrad {

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

/// `L` is a layer that can take samples of shape `S`: it names its output shape for `S` and has a forward and a backward pass, in one of two forms. The io form
/// (core/layer_io.hpp, core/context.hpp) is the whole contract:
///
///     template <class S> using output_shape = ...;                  // shape algebra
///     template <class T, class S> using parameters = ...;           // optional: no_parameters
///     template <class T, class S> using state = ...;                // optional: no_state
///     template <class T, class S, std::size_t B> using cache = ...; // optional: no_cache
///     static constexpr void forward(const auto& ctx, const auto& io);   // io.y from io.x
///     static constexpr void backward(const auto& ctx, const auto& io);  // io.dl_dparameters, io.dl_dx
///
/// and a layer that needs neither state, cache nor context may write the value-returning
/// shorthand instead:
///
///     static tensor<T, output_shape<S>> forward(const P&, const tensor<T, S>& x);
///     static tensor<T, S> backward(const P&, const tensor<T, S>& x,
///                                  const tensor<T, output_shape<S>>& y,
///                                  const tensor<T, output_shape<S>>& dl_dy, P& dl_dp);
///
/// where `backward` returns dl/dx and writes dl/dp. Parameters depend on the sample shape only,
/// so a batch reuses them. Optional run-time passes are declared in `provides`
/// (core/layer_traits.hpp). See `examples/custom_layer.cpp` and docs/layers.md.
template <class L, class S>
concept layer_for = shape_type<S> &&
                    requires { typename L::template output_shape<S>; } &&
                    detail::passes_exist<L, double, S>;

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
