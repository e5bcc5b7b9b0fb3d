// metagrad::tensor: a dense array whose element type and shape are part of its type.
#pragma once

#include <array>
#include <concepts>
#include <cstddef>

#include "metagrad/core/expression.hpp"
#include "metagrad/core/shape.hpp"

namespace metagrad {

namespace detail {
/// Tensors of a cache line or more start on a cache-line boundary, so that the run-time kernels'
/// vector loads do not straddle two lines (a row whose length is a multiple of the vector width
/// then stays aligned too). Smaller ones keep their natural alignment and size. The value does
/// not depend on the target, so code built for different instruction sets agrees on layouts.
template <class T, std::size_t N>
inline constexpr std::size_t storage_alignment = N * sizeof(T) >= 64 ? 64 : alignof(T);

/// How a tensor is written from an expression is eval/'s business, not core/'s: a tensor's
/// construction and assignment from an expression call `evaluate_into(destination, tensor,
/// expression)`, which eval/assign.hpp defines in this namespace and argument-dependent lookup
/// finds (through these tags) where the assignment is instantiated. The umbrella headers
/// (`metagrad.hpp`, `constexpr.hpp`) include it.
struct fresh_destination {};     // the tensor is being made: nothing to read it through
struct existing_destination {};  // the expression may read the tensor it is assigned to
}  // namespace detail

/// A tensor of `T` with shape `S`, stored inline (row-major, no heap), usable in constant
/// expressions. Construct it from its elements (`vector<double, 3>{1, 2, 3}`), from rows
/// (`matrix<double, 2, 2>{{{1, 2}, {3, 4}}}`), or from any expression of the same shape.
template <class T, shape_type S>
struct tensor {
    static_assert(std::is_floating_point_v<T>, "metagrad::tensor: the element type must be float or double");

    using value_type = T;
    using shape_type = S;
    using storage_type = std::array<T, S::size>;
    static constexpr bool is_metagrad_expression = true;
    static constexpr bool elementwise = true;
    static constexpr std::size_t size = S::size;

    alignas(detail::storage_alignment<T, S::size>) storage_type data{};

    constexpr tensor() = default;

    /// All elements, row-major; their count is checked at compile time.
    template <class... U>
        requires(sizeof...(U) == S::size && sizeof...(U) > 1 && (std::convertible_to<U, T> && ...))
    constexpr tensor(U... values) : data{static_cast<T>(values)...} {}

    /// A one-element tensor from its value (kept explicit so a scalar never becomes a tensor
    /// by accident).
    template <std::convertible_to<T> U>
        requires(S::size == 1)
    constexpr explicit tensor(U value) : data{static_cast<T>(value)} {}

    /// A matrix from its rows: `{{{1, 2, 3}, {4, 5, 6}}}`.
    constexpr tensor(const T (&rows)[S::rows][S::last])
        requires(S::rank == 2)
    {
        for (std::size_t r = 0; r < S::rows; ++r)
            for (std::size_t c = 0; c < S::last; ++c) data[r * S::last + c] = rows[r][c];
    }

    constexpr explicit tensor(const storage_type& values) : data(values) {}

    /// Evaluates an expression of the same shape, in one loop. Explicit when it converts the
    /// element type (float from double, say).
    template <expression E>
        requires(!std::same_as<std::remove_cvref_t<E>, tensor>)
    constexpr explicit(!std::is_same_v<value_type_of<E>, T>) tensor(const E& e) {
        // The expression assigned here has a different shape from the tensor it initializes.
        static_assert(shapes_agree<destination<S>, source<shape_of<E>>>,
                      "metagrad::tensor: an expression must have the shape of the tensor it is assigned to");
        if constexpr (same_shape<S, shape_of<E>>) evaluate_into(detail::fresh_destination{}, *this, e);
    }

    template <expression E>
        requires(!std::same_as<std::remove_cvref_t<E>, tensor>)
    constexpr tensor& operator=(const E& e) {
        // The expression assigned here has a different shape from the tensor it is assigned to.
        static_assert(shapes_agree<destination<S>, source<shape_of<E>>>,
                      "metagrad::tensor: an expression must have the shape of the tensor it is assigned to");
        if constexpr (same_shape<S, shape_of<E>>) evaluate_into(detail::existing_destination{}, *this, e);
        return *this;
    }

    /// Every element set to `value`.
    static constexpr tensor filled(T value) {
        tensor t;
        for (auto& x : t.data) x = value;
        return t;
    }

    constexpr T& operator[](std::size_t i) { return data[i]; }
    constexpr const T& operator[](std::size_t i) const { return data[i]; }

    /// Element at (row, column) of a rank-2 tensor.
    constexpr const T& at(std::size_t r, std::size_t c) const
        requires(S::rank == 2)
    {
        return data[r * S::last + c];
    }

    /// Element by multi-index, outermost first: `w(0, 2)`.
    template <std::integral... I>
        requires(sizeof...(I) == S::rank)
    constexpr T& operator()(I... index) {
        return data[flat_index(index...)];
    }
    template <std::integral... I>
        requires(sizeof...(I) == S::rank)
    constexpr const T& operator()(I... index) const {
        return data[flat_index(index...)];
    }

    constexpr auto begin() { return data.begin(); }
    constexpr auto end() { return data.end(); }
    constexpr auto begin() const { return data.begin(); }
    constexpr auto end() const { return data.end(); }

    friend constexpr bool operator==(const tensor&, const tensor&) = default;

    // Memory layout seen by the run-time kernels: row-major over the last extent.
    static constexpr std::size_t view_row_stride = S::last, view_column_stride = 1, view_size = S::size;
    constexpr const T* view_data() const { return data.data(); }

private:
    template <class... I>
    static constexpr std::size_t flat_index(I... index) {
        std::size_t flat = 0, axis = 0;
        ((flat = flat * S::extents[axis++] + static_cast<std::size_t>(index)), ...);
        return flat;
    }
};

template <class T, std::size_t N>
using vector = tensor<T, shape<N>>;
template <class T, std::size_t Rows, std::size_t Columns>
using matrix = tensor<T, shape<Rows, Columns>>;

/// Evaluates an expression into a tensor of its shape (the same as constructing one).
template <expression E>
constexpr tensor<value_type_of<E>, shape_of<E>> evaluate(const E& e) {
    return tensor<value_type_of<E>, shape_of<E>>(e);
}

}  // namespace metagrad
