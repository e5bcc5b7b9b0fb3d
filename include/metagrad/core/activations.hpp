// metagrad::activations and metagrad::gradients: what a forward pass keeps and what a backward
// pass returns, with the batch extent of the input.
#pragma once

#include <cstddef>
#include <tuple>

#include <boost/hana/at.hpp>
#include <boost/hana/tuple.hpp>

#include "metagrad/core/network_shapes.hpp"
#include "metagrad/core/tensor.hpp"

namespace metagrad {

/// Every activation of one forward pass: `get<0>()` is the input, `get<I>()` the output of layer
/// `I - 1` (the input of layer `I`), `output()` the network's output. A backward pass returns
/// the gradient of the loss with respect to each of them in the same type.
template <class T, class... Shapes>
struct activations {
    boost::hana::tuple<tensor<T, Shapes>...> values{};

    template <std::size_t I>
    constexpr auto& get() {
        return boost::hana::at_c<I>(values);
    }
    template <std::size_t I>
    constexpr const auto& get() const {
        return boost::hana::at_c<I>(values);
    }
    constexpr auto& input() { return get<0>(); }
    constexpr const auto& input() const { return get<0>(); }
    constexpr auto& output() { return get<sizeof...(Shapes) - 1>(); }
    constexpr const auto& output() const { return get<sizeof...(Shapes) - 1>(); }
};

/// Whether a backward pass computes dl/d(input) (gradient checks, adversarial inputs) or skips
/// it (training, where only parameter gradients are needed).
enum class input_gradient { compute, skip };

/// The result of a backward pass: dl/dp for every parameter (same type as the parameters) and
/// dl/da for every activation `a` of the forward pass.
template <class Parameters, class Activations>
struct gradients {
    Parameters parameters{};
    Activations activations{};
};

namespace detail {
template <class T, class X, class In, class Shapes>
struct activations_of;
template <class T, class X, class In, class... S>
struct activations_of<T, X, In, std::tuple<S...>> {
    using type = activations<T, typename with_batch_of<X, In, S>::type...>;
};
}  // namespace detail

}  // namespace metagrad
