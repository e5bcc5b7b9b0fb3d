// metagrad element-wise expressions: unary and binary maps, scalar broadcast, arithmetic operators.
#pragma once

#include <cstddef>
#include <type_traits>
#include <utility>

#include "metagrad/core/expression.hpp"
#include "metagrad/math/exp.hpp"
#include "metagrad/math/log.hpp"
#include "metagrad/math/sqrt.hpp"
#include "metagrad/math/tanh.hpp"

namespace metagrad {

namespace detail {

/// `f(e[i])` for every element.
template <class F, class E>
struct unary_node {
    using value_type = std::remove_cvref_t<std::invoke_result_t<const F&, value_type_of<E>>>;
    using shape_type = shape_of<E>;
    static constexpr bool is_metagrad_expression = true;
    static constexpr bool elementwise = is_elementwise<E>;

    F f;
    stored<E> operand;

    constexpr value_type operator[](std::size_t i) const { return f(operand[i]); }
    constexpr value_type at(std::size_t r, std::size_t c) const
        requires has_at<E>
    {
        return f(operand.at(r, c));
    }
};

/// `f(a[i], b[i])` for every element; the shapes agree (checked where the node is made).
template <class F, class A, class B>
struct binary_node {
    using value_type = std::remove_cvref_t<std::invoke_result_t<const F&, value_type_of<A>, value_type_of<B>>>;
    using shape_type = shape_of<A>;
    static constexpr bool is_metagrad_expression = true;
    static constexpr bool elementwise = is_elementwise<A> && is_elementwise<B>;

    F f;
    stored<A> left;
    stored<B> right;

    constexpr value_type operator[](std::size_t i) const { return f(left[i], right[i]); }
    constexpr value_type at(std::size_t r, std::size_t c) const
        requires(has_at<A> && has_at<B>)
    {
        return f(left.at(r, c), right.at(r, c));
    }
};

/// A scalar seen as a tensor of shape `S` (every element the same): scalar broadcast.
template <class T, class S>
struct scalar_node {
    using value_type = T;
    using shape_type = S;
    static constexpr bool is_metagrad_expression = true;
    static constexpr bool elementwise = true;

    T value;

    constexpr T operator[](std::size_t) const { return value; }
    constexpr T at(std::size_t, std::size_t) const
        requires(S::rank == 2)
    {
        return value;
    }
};

template <class A, class B>
constexpr void check_operand_shapes() {
    // Element-wise operands must have the same shape; both are named below.
    static_assert(shapes_agree<left_operand<shape_of<A>>, right_operand<shape_of<B>>>,
                  "metagrad: element-wise operands must have the same shape");
}

template <class U, class E>
concept scalar_for = std::is_arithmetic_v<std::remove_cvref_t<U>> && expression<E>;

struct plus_fn {
    template <class T>
    constexpr T operator()(T a, T b) const { return a + b; }
};
struct minus_fn {
    template <class T>
    constexpr T operator()(T a, T b) const { return a - b; }
};
struct multiplies_fn {
    template <class T>
    constexpr T operator()(T a, T b) const { return a * b; }
};
struct divides_fn {
    template <class T>
    constexpr T operator()(T a, T b) const { return a / b; }
};
struct negate_fn {
    template <class T>
    constexpr T operator()(T a) const { return -a; }
};
}  // namespace detail

/// `f(e[i])` for every element, lazily. `f` must be constexpr-callable for constant evaluation.
template <class F, expression E>
constexpr auto map(F f, E&& e) {
    return detail::unary_node<F, E&&>{std::move(f), std::forward<E>(e)};
}

/// `f(a[i], b[i])` for every element, lazily; `a` and `b` must have the same shape.
template <class F, expression A, expression B>
constexpr auto map(F f, A&& a, B&& b) {
    detail::check_operand_shapes<A, B>();
    return detail::binary_node<F, A&&, B&&>{std::move(f), std::forward<A>(a), std::forward<B>(b)};
}

/// A constant of shape `S`, for mixing scalars into expressions.
template <shape_type S, class T>
constexpr auto broadcast_scalar(T value) {
    return detail::scalar_node<T, S>{value};
}

namespace detail {
/// An operator's operands: two expressions, or an expression and an arithmetic scalar.
template <class A, class B>
concept operands = (expression<A> && expression<B>) || scalar_for<A, B> || scalar_for<B, A>;

/// Lifts a scalar operand to a constant of the other operand's shape and element type.
template <class X, class Other>
constexpr decltype(auto) lift(X&& x) {
    if constexpr (expression<X>)
        return std::forward<X>(x);
    else
        return broadcast_scalar<shape_of<Other>>(static_cast<value_type_of<Other>>(x));
}

template <class F, class A, class B>
constexpr auto combine(F f, A&& a, B&& b) {
    return map(f, lift<A, B>(std::forward<A>(a)), lift<B, A>(std::forward<B>(b)));
}
}  // namespace detail

template <class A, class B>
    requires detail::operands<A, B>
constexpr auto operator+(A&& a, B&& b) {
    return detail::combine(detail::plus_fn{}, std::forward<A>(a), std::forward<B>(b));
}
template <class A, class B>
    requires detail::operands<A, B>
constexpr auto operator-(A&& a, B&& b) {
    return detail::combine(detail::minus_fn{}, std::forward<A>(a), std::forward<B>(b));
}
template <class A, class B>
    requires detail::operands<A, B>
constexpr auto operator*(A&& a, B&& b) {
    return detail::combine(detail::multiplies_fn{}, std::forward<A>(a), std::forward<B>(b));
}
template <class A, class B>
    requires detail::operands<A, B>
constexpr auto operator/(A&& a, B&& b) {
    return detail::combine(detail::divides_fn{}, std::forward<A>(a), std::forward<B>(b));
}

template <expression E>
constexpr auto operator-(E&& e) {
    return map(detail::negate_fn{}, std::forward<E>(e));
}

/// Element-wise elementary functions, constant-evaluable (see `math/`).
template <expression E>
constexpr auto exp(E&& e) {
    return map([](auto x) { return math::exp(x); }, std::forward<E>(e));
}
template <expression E>
constexpr auto log(E&& e) {
    return map([](auto x) { return math::log(x); }, std::forward<E>(e));
}
template <expression E>
constexpr auto tanh(E&& e) {
    return map([](auto x) { return math::tanh(x); }, std::forward<E>(e));
}
template <expression E>
constexpr auto sqrt(E&& e) {
    return map([](auto x) { return math::sqrt(x); }, std::forward<E>(e));
}
template <expression E>
constexpr auto abs(E&& e) {
    return map([](auto x) { return x < 0 ? -x : x; }, std::forward<E>(e));
}
/// `max(e[i], floor)` for every element.
template <expression E>
constexpr auto maximum(E&& e, value_type_of<E> floor) {
    return map([floor](auto x) { return x < floor ? floor : x; }, std::forward<E>(e));
}

}  // namespace metagrad
