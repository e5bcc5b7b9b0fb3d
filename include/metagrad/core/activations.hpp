// metagrad::activations and metagrad::gradients: what a forward pass keeps and what a backward
// pass returns, with the batch extent of the input.
#pragma once

#include <cstddef>
#include <tuple>

#include <boost/hana/at.hpp>
#include <boost/hana/tuple.hpp>

#include "metagrad/core/context.hpp"
#include "metagrad/core/network_shapes.hpp"
#include "metagrad/core/shape.hpp"
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

/// What a forward pass leaves for its backward pass: every activation (`Tensors`, an
/// `activations`), each layer's cache, the layers' state after the pass (in training, where
/// layers update it; a step commits it to the parameters once it has succeeded), and the key of
/// the pass's random numbers. A workspace holds one, allocated once.
template <class Tensors, class Caches, class States>
struct network_trace : Tensors {
    using tensors_type = Tensors;
    Caches caches{};
    States states{};
    random_key key{};

    template <std::size_t I>
    constexpr auto& cache() {
        return boost::hana::at_c<I>(caches);
    }
    template <std::size_t I>
    constexpr const auto& cache() const {
        return boost::hana::at_c<I>(caches);
    }
    template <std::size_t I>
    constexpr auto& state() {
        return boost::hana::at_c<I>(states);
    }
    template <std::size_t I>
    constexpr const auto& state() const {
        return boost::hana::at_c<I>(states);
    }
};

/// Whether a backward pass computes dl/d(input) (gradient checks, adversarial inputs) or skips
/// it (training, where only parameter gradients are needed).
enum class input_gradient { compute, skip };

/// The result of a backward pass: dl/dp for every parameter (same type as the parameters) and
/// dl/da for every activation `a` of the forward pass; and the layers' scratch (a chain's
/// gradients between its layers).
template <class Parameters, class Activations, class Scratch = boost::hana::tuple<>>
struct gradients {
    Parameters parameters{};
    Activations activations{};
    Scratch scratch{};
};

namespace detail {
template <class T, class X, class In, class Shapes>
struct activations_of;
template <class T, class X, class In, class... S>
struct activations_of<T, X, In, std::tuple<S...>> {
    using type = activations<T, with_batch_of_shape<X, In, S>...>;
};
}  // namespace detail

}  // namespace metagrad
