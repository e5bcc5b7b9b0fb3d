// metagrad::eval::assign: how an expression is written into a tensor. The one place that
// decides how expressions run: scalar loops in constant evaluation (and for any expression
// without a kernel), run-time kernels where the expression's type has one.
#pragma once

#include <cstddef>
#include <cstdint>
#include <type_traits>

#include "metagrad/core/broadcast.hpp"
#include "metagrad/core/elementwise.hpp"
#include "metagrad/core/expression.hpp"
#include "metagrad/core/reduce.hpp"
#include "metagrad/core/tensor.hpp"
#include "metagrad/eval/matmul_kernel.hpp"

namespace metagrad::eval {

namespace detail {
/// Column sums of at least this many elements are split between threads: a batch of 64 rows of
/// 256 is (the rows were written by the threads, each its own columns).
inline constexpr std::size_t parallel_column_sums = std::size_t{1} << 14;

/// A matrix product whose operands both lie in memory: the run-time kernel can read them.
template <class E>
concept kernel_product = requires { requires std::remove_cvref_t<E>::is_matrix_product; } &&
                         metagrad::detail::in_memory<decltype(std::declval<const E&>().left)> &&
                         metagrad::detail::in_memory<decltype(std::declval<const E&>().right)>;

/// A product plus a vector in memory added to every row (`matmul(x, w) + broadcast_rows(b)`, a
/// dense layer's forward pass): the kernel adds the vector in its epilogue, so the sum is written
/// once and not read back.
template <class E>
inline constexpr bool is_biased_product = false;
template <class P, class B>
inline constexpr bool is_biased_product<metagrad::detail::binary_node<metagrad::detail::plus_fn, P, B>> =
    kernel_product<P> && requires {
        requires metagrad::detail::in_memory<decltype(std::declval<const std::remove_cvref_t<B>&>().operand)>;
        requires std::is_same_v<std::remove_cvref_t<B>, metagrad::detail::broadcast_rows_node<shape_of<P>::template extent<0>,
                                                                                              typename std::remove_cvref_t<B>::operand_type>>;
    };
template <class E>
concept biased_product = is_biased_product<std::remove_cvref_t<E>>;

/// The column sums of a matrix in memory whose rows are contiguous (a dense layer's bias
/// gradient, `column_sums(dl/dY)`): at run time summed a row of vectors at a time, in the same
/// order as the node's own sums (row 0 first), so the values are the same.
template <class E>
inline constexpr bool is_column_sums_of_rows = false;
template <class M>
    requires metagrad::detail::in_memory<M>
inline constexpr bool is_column_sums_of_rows<metagrad::detail::axis_sums_node<0, M>> =
    std::remove_cvref_t<M>::view_column_stride == 1;

/// f(begin, end) over [0, N): one range, or at run time, for a large element-wise assignment (an
/// optimizer's step over a weight matrix), ranges balanced between the kernel threads.
template <std::size_t N, std::size_t Elements, class F>
constexpr void over_ranges(F f) {
    split_between_threads<N, 1, Elements>(f);
}

template <class E>
inline auto strided_view(const E& e) {
    using V = std::remove_cvref_t<E>;
    return strided<value_type_of<E>, V::view_row_stride, V::view_column_stride>{e.view_data()};
}

/// The reference product (sums in the order of core/matmul.hpp, so values are the same) read
/// straight from memory: in constant evaluation every call costs, and this makes a product of
/// operands in memory several times cheaper to evaluate than going through the nodes.
template <class Data, class E>
constexpr void reference_product(Data& out, const E& e) {
    using P = std::remove_cvref_t<E>;
    using L = std::remove_cvref_t<decltype(e.left)>;
    using R = std::remove_cvref_t<decltype(e.right)>;
    const auto* a = e.left.view_data();
    const auto* b = e.right.view_data();
    for (std::size_t r = 0; r < P::rows; ++r)
        for (std::size_t c = 0; c < P::columns; ++c) {
            value_type_of<E> sum{};
            for (std::size_t k = 0; k < P::inner; ++k)
                sum += a[r * L::view_row_stride + k * L::view_column_stride] * b[k * R::view_row_stride + c * R::view_column_stride];
            out[r * P::columns + c] = sum;
        }
}

template <class E, class Epilogue = store_sum<value_type_of<E>>>
inline void run_product(value_type_of<E>* out, const E& e, Epilogue epilogue = {}) {
    using P = std::remove_cvref_t<E>;
    matmul_kernel<P::rows, P::inner, P::columns>(out, strided_view(e.left), strided_view(e.right), epilogue);
}

/// The largest temporary `assign` puts on the stack (bytes); larger ones go to the heap.
inline constexpr std::size_t largest_stack_temporary = std::size_t{256} << 10;

/// Whether `out[0, n)` shares memory with operand `e`, comparing addresses as integers (`<` on
/// pointers into unrelated objects is unspecified; <functional>'s std::less would cost every
/// translation unit a quarter second to parse).
template <class T, class E>
inline bool overlaps(const T* out, std::size_t n, const E& e) {
    const auto address = [](const T* p) { return reinterpret_cast<std::uintptr_t>(p); };
    const T* p = e.view_data();
    return address(out) < address(p + std::remove_cvref_t<E>::view_size) && address(p) < address(out + n);
}
}  // namespace detail

/// Writes every element of `e` into `out` (which must not be an operand of a non-element-wise
/// `e`; `assign` makes a temporary when it might be). One fused loop: no temporaries for
/// element-wise trees, constant-evaluable.
template <class Data, expression E>
constexpr void assign_to_fresh(Data& out, const E& e) {
    using S = shape_of<E>;
    if constexpr (detail::biased_product<E>) {
        if (std::is_constant_evaluated()) {
            // The sum, then the bias: the same roundings as assigning the two in turn.
            detail::reference_product(out, e.left);
            constexpr std::size_t rows = S::template extent<0>, columns = S::template extent<1>;
            for (std::size_t r = 0; r < rows; ++r)
                for (std::size_t c = 0; c < columns; ++c) out[r * columns + c] += e.right.operand[c];
        } else {
            detail::run_product(out.data(), e.left, add_column_bias<value_type_of<E>>{e.right.operand.view_data()});
        }
        return;
    }
    if constexpr (detail::kernel_product<E>) {
        if (std::is_constant_evaluated())
            detail::reference_product(out, e);
        else
            detail::run_product(out.data(), e);
        return;
    }
    if constexpr (detail::is_column_sums_of_rows<E>) {
        if (!std::is_constant_evaluated()) {
            using M = std::remove_cvref_t<decltype(e.operand)>;
            constexpr std::size_t rows = shape_of<M>::template extent<0>, columns = shape_of<M>::template extent<1>;
            const auto* a = e.operand.view_data();
            const auto sum_columns = [&](std::size_t begin, std::size_t end) {
                for (std::size_t c = begin; c < end; ++c) out[c] = value_type_of<E>{};  // 0 + x, as the node adds (-0 becomes +0)
                for (std::size_t r = 0; r < rows; ++r)
                    for (std::size_t c = begin; c < end; ++c) out[c] += a[r * M::view_row_stride + c];
            };
            // A large one split by columns: each thread sums the columns it wrote in the kernel
            // before (a dense layer's dl/dY), which stay in its core's cache.
            if constexpr (rows * columns >= detail::parallel_column_sums)
                balanced_ranges(columns, lanes<value_type_of<E>>, sum_columns);
            else
                sum_columns(0, columns);
            return;
        }
    }
    if constexpr (S::rank == 2 && metagrad::detail::has_at<E>) {
        // Structural nodes answer (row, column) directly: no division per element.
        constexpr std::size_t rows = S::template extent<0>, columns = S::template extent<1>;
        detail::over_ranges<rows, S::size>([&](std::size_t begin, std::size_t end) {
            for (std::size_t r = begin; r < end; ++r)
                for (std::size_t c = 0; c < columns; ++c) out[r * columns + c] = e.at(r, c);
        });
    } else {
        detail::over_ranges<S::size, S::size>([&](std::size_t begin, std::size_t end) {
            for (std::size_t i = begin; i < end; ++i) out[i] = e[i];
        });
    }
}

/// `out = e`, safe when `e` reads `out`: element-wise expressions are written in place,
/// others (a matrix product, a transpose) are evaluated into a temporary first, unless at run
/// time the operands (a product's, or a transpose's) are seen not to overlap `out` (large layers
/// would otherwise put a weight-sized temporary on the stack).
template <class Tensor, expression E>
constexpr void assign(Tensor& out, const E& e) {
    if constexpr (metagrad::detail::is_elementwise<E>) {
        assign_to_fresh(out.data, e);
    } else {
        if constexpr (detail::kernel_product<E>) {
            if (!std::is_constant_evaluated() && !detail::overlaps(out.data.data(), out.size, e.left) &&
                !detail::overlaps(out.data.data(), out.size, e.right)) {
                detail::run_product(out.data.data(), e);
                return;
            }
        }
        if constexpr (detail::biased_product<E>) {
            if (!std::is_constant_evaluated() && !detail::overlaps(out.data.data(), out.size, e.left.left) &&
                !detail::overlaps(out.data.data(), out.size, e.left.right) &&
                !detail::overlaps(out.data.data(), out.size, e.right.operand)) {
                assign_to_fresh(out.data, e);
                return;
            }
        }
        if constexpr (metagrad::detail::in_memory<E>) {
            // A transpose or reshape of another tensor: a convolution's kernels are megabytes.
            if (!std::is_constant_evaluated() && !detail::overlaps(out.data.data(), out.size, e)) {
                assign_to_fresh(out.data, e);
                return;
            }
        }
        using storage = typename Tensor::storage_type;
        if constexpr (sizeof(storage) > detail::largest_stack_temporary) {
            // On an 8 MB stack a weight-sized temporary does not fit: the heap, only on this path.
            auto* tmp = new storage{};
            assign_to_fresh(*tmp, e);
            out.data = *tmp;
            delete tmp;
        } else {
            storage tmp{};
            assign_to_fresh(tmp, e);
            out.data = tmp;
        }
    }
}

/// `out` = the matrix product `e`, each sum passed through `epilogue` as the kernel stores it
/// (matmul_kernel.hpp). Run time only; `out` must not overlap the operands.
template <class Tensor, class E, class Epilogue>
    requires detail::kernel_product<E>
inline void product_into(Tensor& out, const E& e, Epilogue epilogue) {
    detail::run_product(out.data.data(), e, epilogue);
}

/// `w = w - scale * e` for a matrix product `e` that does not read `w`: plain SGD's step on a
/// weight from the product that is its gradient. At run time the kernel takes the step as it
/// finishes each sum, so the gradient is never stored; constant evaluation, and products without
/// a kernel, assign the expression.
template <class Tensor, expression E>
constexpr void subtract_scaled_product(Tensor& w, value_type_of<E> scale, const E& e) {
    if constexpr (detail::kernel_product<E>) {
        if (!std::is_constant_evaluated() && !detail::overlaps(w.data.data(), w.size, e.left) &&
            !detail::overlaps(w.data.data(), w.size, e.right)) {
            detail::run_product(w.data.data(), e, subtract_scaled<value_type_of<E>>{scale});
            return;
        }
    }
    assign(w, w - scale * e);
}

}  // namespace metagrad::eval

namespace metagrad::detail {
/// A tensor's construction and assignment from an expression (core/tensor.hpp), evaluated here.
template <class T, class S, class E>
constexpr void evaluate_into(fresh_destination, tensor<T, S>& out, const E& e) {
    eval::assign_to_fresh(out.data, e);
}
template <class T, class S, class E>
constexpr void evaluate_into(existing_destination, tensor<T, S>& out, const E& e) {
    eval::assign(out, e);
}
}  // namespace metagrad::detail
