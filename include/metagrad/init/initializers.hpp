// metagrad initializers: Glorot/Xavier and He/Kaiming weights from a seeded generator.
#pragma once

#include <cstddef>
#include <type_traits>
#include <utility>

#include <boost/hana/at.hpp>
#include <boost/hana/length.hpp>

#include "metagrad/core/fields.hpp"
#include "metagrad/core/parameters.hpp"
#include "metagrad/init/random.hpp"
#include "metagrad/math/sqrt.hpp"

namespace metagrad {

/// How many inputs feed each output of a weight tensor, and how many outputs each input feeds.
/// A weight's first extent is its outputs (W is Out x In, as in PyTorch), the rest its inputs.
struct fans {
    std::size_t in = 0, out = 0;
};

/// Initializers draw one weight at a time: `T operator()(fans, random_generator&)`.
/// Tensors of rank 1 (biases) are set to zero by `initialize`, as PyTorch users expect from
/// these schemes; weights are drawn in the order the network lists them.
struct glorot_uniform {
    template <class T>
    constexpr T draw(fans f, random_generator& g) const {
        const T limit = static_cast<T>(math::sqrt(6.0 / static_cast<double>(f.in + f.out)));
        return g.uniform<T>(-limit, limit);
    }
};
struct glorot_normal {
    template <class T>
    constexpr T draw(fans f, random_generator& g) const {
        return static_cast<T>(math::sqrt(2.0 / static_cast<double>(f.in + f.out)) * g.normal<double>());
    }
};
/// He/Kaiming for ReLU networks: variance 2 / fan_in.
struct he_uniform {
    template <class T>
    constexpr T draw(fans f, random_generator& g) const {
        const T limit = static_cast<T>(math::sqrt(6.0 / static_cast<double>(f.in)));
        return g.uniform<T>(-limit, limit);
    }
};
struct he_normal {
    template <class T>
    constexpr T draw(fans f, random_generator& g) const {
        return static_cast<T>(math::sqrt(2.0 / static_cast<double>(f.in)) * g.normal<double>());
    }
};

namespace detail {
/// Draws every tensor of a layer's parameters, walking into nested structs (a residual block's
/// body, a chain's layers) as `for_each_member` does, except that a struct which keeps its own
/// starting values is reset to them wherever it is nested (a batch norm inside a block).
template <class P, class Draw>
constexpr void initialize_part(P& part, const Draw& draw) {
    if constexpr (requires { requires !P::initialized_by_scheme; }) {
        part = P{};
    } else if constexpr (check_described<P>()) {
        constexpr std::size_t count = boost::hana::length(P::fields);
        [&]<std::size_t... K>(std::index_sequence<K...>) {
            const auto visit = [&]<std::size_t I>(std::integral_constant<std::size_t, I>) {
                auto& member = member_of(part, boost::hana::at_c<I>(P::fields));
                if constexpr (described<std::remove_cvref_t<decltype(member)>>)
                    initialize_part(member, draw);
                else
                    draw(member);
            };
            (visit(std::integral_constant<std::size_t, K>{}), ...);
            (void)visit;  // a layer without parameters has nothing to draw
        }(std::make_index_sequence<count>{});
    }
}
}  // namespace detail

/// Sets every weight of `p` by `scheme` and every bias to zero, drawing from `g`, layer by layer.
/// A parameter struct that says `static constexpr bool initialized_by_scheme = false` (batch
/// norm's, whose scale starts at 1) keeps the values its members start with, at any depth. The
/// layers' state is left as it is. Constexpr; the same seed gives the same parameters bit for bit
/// on any platform.
template <class Net, class T, class Scheme>
constexpr void initialize(network_parameters<Net, T>& p, Scheme scheme, random_generator& g) {
    const auto draw = [&](auto& w) {
        using S = typename std::remove_cvref_t<decltype(w)>::shape_type;
        if constexpr (S::rank == 1) {
            for (auto& x : w) x = T{};
        } else {
            const fans f{S::size / S::template extent<0>, S::template extent<0>};
            for (auto& x : w) x = scheme.template draw<T>(f, g);
        }
    };
    [&]<std::size_t... I>(std::index_sequence<I...>) {
        (detail::initialize_part(p.template layer<I>(), draw), ...);
    }(std::make_index_sequence<Net::depth>{});
}

}  // namespace metagrad
