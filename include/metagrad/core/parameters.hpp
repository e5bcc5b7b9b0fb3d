// metagrad::network_parameters: every layer's parameters of a network, as one value.
#pragma once

#include <array>
#include <cstddef>
#include <string_view>
#include <type_traits>
#include <utility>

#include <boost/hana/at.hpp>
#include <boost/hana/for_each.hpp>
#include <boost/hana/length.hpp>
#include <boost/hana/tuple.hpp>

#include "metagrad/core/fields.hpp"

namespace metagrad {

/// Diagnostic vocabulary: the parameter struct a check is about.
template <class P>
struct parameter_struct {};
/// True when the struct lists its tensors in `fields`.
template <class X>
inline constexpr bool lists_its_fields = false;
template <class P>
inline constexpr bool lists_its_fields<parameter_struct<P>> = described<P>;

namespace detail {
/// A parameter struct written for the earlier contract (`members()` and `names` side by side)
/// is told how to move on, where the network first counts its parameters, instead of failing
/// deep inside a visit.
template <class P>
constexpr bool check_described() {
    // This parameter struct has no `fields`: list its tensors as (name, member) pairs,
    // `static constexpr auto fields = metagrad::fields(metagrad::field<"weight">(&P::weight), ...);`
    // (core/fields.hpp; `members()` and `names` are no longer read).
    static_assert(lists_its_fields<parameter_struct<P>>, "metagrad: a parameter struct must list its tensors in `fields`");
    return described<P>;
}

/// Calls `f(a.m, b.m, ...)` for the k-th member `m` of each struct's `fields`, for every k, and
/// walks into a member that is itself a described struct (a sub-network's parameters): `f` sees
/// tensors only. The structs may differ in element type (parameters in float and in double) but
/// list their members in the same order.
template <class F, class P, class... Ps>
constexpr void for_each_member(F&& f, P& first, Ps&... rest) {
    using first_type = std::remove_const_t<P>;
    if constexpr (check_described<first_type>()) {
        constexpr std::size_t count = boost::hana::length(first_type::fields);
        [&]<std::size_t... K>(std::index_sequence<K...>) {
            const auto visit = [&]<std::size_t I>(std::integral_constant<std::size_t, I>) {
                auto& member = member_of(first, boost::hana::at_c<I>(first_type::fields));
                if constexpr (described<std::remove_cvref_t<decltype(member)>>)
                    for_each_member(f, member, member_of(rest, boost::hana::at_c<I>(std::remove_const_t<Ps>::fields))...);
                else
                    f(member, member_of(rest, boost::hana::at_c<I>(std::remove_const_t<Ps>::fields))...);
            };
            (visit(std::integral_constant<std::size_t, K>{}), ...);
            (void)visit;  // a layer without parameters visits nothing
        }(std::make_index_sequence<count>{});
    }
}

/// A tensor's place in a model, as checkpoints name it: "1.weight", "1.body.0.weight". Built in a
/// fixed buffer as a visit descends (no allocation, constexpr).
class tensor_path {
public:
    constexpr std::string_view view() const { return {text_, size_}; }
    /// This path with ".name" (or "name" at the root) added.
    constexpr tensor_path then(std::string_view name) const {
        tensor_path out = *this;
        if (out.size_ > 0) out.push(".");
        out.push(name);
        return out;
    }

private:
    static constexpr std::size_t capacity = 256;
    constexpr void push(std::string_view part) {
        for (const char c : part)
            if (size_ < capacity) text_[size_++] = c;
    }
    char text_[capacity]{};
    std::size_t size_ = 0;
};

/// `for_each_member` with each tensor's path: `f(path, ta, tb, ...)`, the path under `prefix`.
template <class F, class P, class... Ps>
constexpr void for_each_named_member(F&& f, const tensor_path& prefix, P& first, Ps&... rest) {
    using first_type = std::remove_const_t<P>;
    if constexpr (check_described<first_type>()) {
        constexpr std::size_t count = boost::hana::length(first_type::fields);
        [&]<std::size_t... K>(std::index_sequence<K...>) {
            const auto visit = [&]<std::size_t I>(std::integral_constant<std::size_t, I>) {
                const auto& field = boost::hana::at_c<I>(first_type::fields);
                const tensor_path path = prefix.then(std::remove_cvref_t<decltype(field)>::name);
                auto& member = member_of(first, field);
                if constexpr (described<std::remove_cvref_t<decltype(member)>>)
                    for_each_named_member(f, path, member, member_of(rest, boost::hana::at_c<I>(std::remove_const_t<Ps>::fields))...);
                else
                    f(path.view(), member, member_of(rest, boost::hana::at_c<I>(std::remove_const_t<Ps>::fields))...);
            };
            (visit(std::integral_constant<std::size_t, K>{}), ...);
            (void)visit;
        }(std::make_index_sequence<count>{});
    }
}

/// The number of scalars in one layer's parameter struct (nested structs included), from its
/// type alone (no value is built, so large layers cost nothing to count).
template <class P>
constexpr std::size_t scalar_count() {
    std::size_t count = 0;
    if constexpr (check_described<P>()) {
        boost::hana::for_each(P::fields, [&](auto field) {
            using member = std::remove_cvref_t<decltype(member_of(std::declval<P&>(), field))>;
            if constexpr (described<member>)
                count += scalar_count<member>();
            else
                count += member::size;
        });
    }
    return count;
}

template <class Tuple>
struct total_scalars;
template <class... P>
struct total_scalars<boost::hana::tuple<P...>> {
    static constexpr std::size_t value = (scalar_count<P>() + ... + 0);
};
}  // namespace detail

/// The parameters of network `Net` in element type `T`: a tuple of each layer's parameter struct
/// (`no_parameters` for activations), in layer order, and apart from them a tuple of each layer's
/// state (`no_state` for most: batch norm's running statistics), the untrained values a model
/// carries (PyTorch's buffers). Optimizers, gradients and gradient checks see the parameters
/// only (`for_each_tensor`); checkpoints, casts and comparisons see both. Gradients have this
/// same type (their state part is unused). Stored inline: no heap; a constant-evaluable value.
template <class Net, class T>
struct network_parameters {
    using network_type = Net;
    using value_type = T;
    using tuple_type = typename Net::template parameter_tuple<T>;
    using state_tuple_type = typename Net::template state_tuple<T>;

    tuple_type layers{};
    state_tuple_type states{};

    /// Layer `I`'s parameters (0-based, as in the network's template argument list).
    template <std::size_t I>
    constexpr auto& layer() {
        return boost::hana::at_c<I>(layers);
    }
    template <std::size_t I>
    constexpr const auto& layer() const {
        return boost::hana::at_c<I>(layers);
    }
    /// Layer `I`'s state.
    template <std::size_t I>
    constexpr auto& state() {
        return boost::hana::at_c<I>(states);
    }
    template <std::size_t I>
    constexpr const auto& state() const {
        return boost::hana::at_c<I>(states);
    }

    /// The number of scalar parameters (state not counted).
    static constexpr std::size_t count = Net::parameter_count;

    /// The same parameters and state in element type `U` (e.g. double for a precise gradient check).
    template <class U>
    constexpr network_parameters<Net, U> cast() const {
        network_parameters<Net, U> out;
        const auto convert = [](auto& to, const auto& from) {
            for (std::size_t i = 0; i < from.size; ++i) to[i] = static_cast<U>(from[i]);
        };
        for_each_tensor(convert, out, *this);
        for_each_state_tensor(convert, out, *this);
        return out;
    }

    friend constexpr bool operator==(const network_parameters& a, const network_parameters& b) {
        bool equal = true;
        const auto compare = [&](const auto& x, const auto& y) { equal = equal && x == y; };
        for_each_tensor(compare, a, b);
        for_each_state_tensor(compare, a, b);
        return equal;
    }
};

namespace detail {
template <class P>
inline constexpr bool is_network_parameters = false;
template <class Net, class T>
inline constexpr bool is_network_parameters<network_parameters<Net, T>> = true;

/// Which part of a model a visit walks: `layer<I>()` (the trained parameters) or `state<I>()`.
struct parameter_part {
    template <std::size_t I, class P>
    static constexpr auto& of(P& p) {
        return p.template layer<I>();
    }
};
struct state_part {
    template <std::size_t I, class P>
    static constexpr auto& of(P& p) {
        return p.template state<I>();
    }
};

template <class Part, class F, class P, class... Rest>
constexpr void for_each_tensor_in(F& f, P& a, Rest&... rest) {
    using Net = typename std::remove_cvref_t<P>::network_type;
    // One layer at a time: expanding `rest` inside the fold over layers trips g++ 12.
    const auto visit_layer = [&]<std::size_t I>(std::integral_constant<std::size_t, I>) {
        for_each_member(f, Part::template of<I>(a), Part::template of<I>(rest)...);
    };
    [&]<std::size_t... I>(std::index_sequence<I...>) {
        (visit_layer(std::integral_constant<std::size_t, I>{}), ...);
    }(std::make_index_sequence<Net::depth>{});
}

template <class Part, class F, class P, class... Rest>
constexpr void for_each_named_tensor_in(F& f, P& a, Rest&... rest) {
    using Net = typename std::remove_cvref_t<P>::network_type;
    const auto visit_layer = [&]<std::size_t I>(std::integral_constant<std::size_t, I>) {
        for_each_named_member(f, tensor_path{}.then(index_name<I>.view()), Part::template of<I>(a), Part::template of<I>(rest)...);
    };
    [&]<std::size_t... I>(std::index_sequence<I...>) {
        (visit_layer(std::integral_constant<std::size_t, I>{}), ...);
    }(std::make_index_sequence<Net::depth>{});
}
}  // namespace detail

/// Calls `f(ta, tb, ...)` for each parameter tensor of `a`, with the tensors at the same place
/// in `b`, ... (same network; element types may differ): the loop under every optimizer and check.
template <class F, class P, class... Rest>
    requires detail::is_network_parameters<std::remove_cvref_t<P>>
constexpr void for_each_tensor(F&& f, P&& a, Rest&&... rest) {
    detail::for_each_tensor_in<detail::parameter_part>(f, a, rest...);
}

/// The same over each layer's state tensors (batch norm's running statistics).
template <class F, class P, class... Rest>
    requires detail::is_network_parameters<std::remove_cvref_t<P>>
constexpr void for_each_state_tensor(F&& f, P&& a, Rest&&... rest) {
    detail::for_each_tensor_in<detail::state_part>(f, a, rest...);
}

/// Calls `f(path, ta, tb, ...)` like `for_each_tensor`, with each tensor's place as a path: the
/// layer's 0-based position and the members' names from the `fields` on the way ("1.weight";
/// "1.body.0.weight" inside a residual block): PyTorch's `state_dict` names.
template <class F, class P, class... Rest>
    requires detail::is_network_parameters<std::remove_cvref_t<P>>
constexpr void for_each_named_tensor(F&& f, P&& a, Rest&&... rest) {
    detail::for_each_named_tensor_in<detail::parameter_part>(f, a, rest...);
}

/// The same over each layer's state tensors ("1.running_mean", as PyTorch names a buffer).
template <class F, class P, class... Rest>
    requires detail::is_network_parameters<std::remove_cvref_t<P>>
constexpr void for_each_named_state_tensor(F&& f, P&& a, Rest&&... rest) {
    detail::for_each_named_tensor_in<detail::state_part>(f, a, rest...);
}

}  // namespace metagrad
