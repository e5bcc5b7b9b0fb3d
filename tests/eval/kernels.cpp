// Tests of include/metagrad/eval/matmul_kernel.hpp through eval/assign.hpp: the run-time matrix
// kernels against the reference sum of core/matmul.hpp, for every operand layout the layers use
// and for shapes that exercise every tile and remainder; and assignment to an operand.
#include <algorithm>
#include <cmath>
#include <cstddef>
#include <memory>
#include <vector>

#include <boost/mpl/list.hpp>
#include <boost/test/unit_test.hpp>

#include "support.hpp"
#include "metagrad/metagrad.hpp"

namespace mg = metagrad;
using namespace test_support;

namespace {
/// The reference product, element by element in double (the kernel sums in another order).
template <class A, class B>
double reference(const A& a, const B& b, std::size_t r, std::size_t c) {
    double sum = 0;
    for (std::size_t k = 0; k < mg::shape_of<A>::template extent<1>; ++k)
        sum += static_cast<double>(a.at(r, k)) * static_cast<double>(b.at(k, c));
    return sum;
}

template <class Out, class A, class B>
void check_product(const Out& out, const A& a, const B& b) {
    using S = typename Out::shape_type;
    constexpr std::size_t inner = mg::shape_of<A>::template extent<1>;
    using T = typename Out::value_type;
    const double tolerance = (sizeof(T) == 4 ? 1e-5 : 1e-13) * static_cast<double>(inner);
    double worst = 0;
    for (std::size_t r = 0; r < S::template extent<0>; ++r)
        for (std::size_t c = 0; c < S::template extent<1>; ++c)
            worst = std::max(worst, std::abs(static_cast<double>(out.at(r, c)) - reference(a, b, r, c)));
    BOOST_TEST(worst <= tolerance);
}

// Every layout: A B, A^T B (weight gradient), A B^T (dense forward), A^T B^T (scalar fallback).
template <class T, std::size_t R, std::size_t K, std::size_t C>
void check_layouts() {
    const auto a = random_tensor<T, mg::shape<R, K>>();
    const auto at = random_tensor<T, mg::shape<K, R>>();
    const auto b = random_tensor<T, mg::shape<K, C>>();
    const auto bt = random_tensor<T, mg::shape<C, K>>();
    const mg::matrix<T, R, C> nn = mg::matmul(a, b);
    check_product(nn, a, b);
    const mg::matrix<T, R, C> tn = mg::matmul(mg::transpose(at), b);
    check_product(tn, mg::transpose(at), b);
    const mg::matrix<T, R, C> nt = mg::matmul(a, mg::transpose(bt));
    check_product(nt, a, mg::transpose(bt));
    const mg::matrix<T, R, C> tt = mg::matmul(mg::transpose(at), mg::transpose(bt));
    check_product(tt, mg::transpose(at), mg::transpose(bt));
}
}  // namespace

using element_types = boost::mpl::list<float, double>;

BOOST_AUTO_TEST_CASE_TEMPLATE(kernels_agree_with_the_reference_sum_run_time, T, element_types) {
    check_layouts<T, 1, 1, 1>();
    check_layouts<T, 1, 4, 3>();     // the homework's shapes: smaller than one vector
    check_layouts<T, 3, 5, 7>();     // remainders everywhere
    check_layouts<T, 4, 16, 24>();   // whole tiles
    check_layouts<T, 9, 33, 50>();   // tiles and remainders
    check_layouts<T, 64, 100, 37>();
    check_layouts<T, 1, 64, 31>();    // one row: wide dot tiles, then halves down to one column
    check_layouts<T, 1, 784, 40>();   // one row over a long inner extent
    check_layouts<T, 17, 70, 100>();  // eight-row panels and a lone row; inner remainder
    check_layouts<T, 5, 130, 19>();
    check_layouts<T, 16, 32, 8>();   // S1's first weight gradient: narrower than an AVX-512 vector
    // A convolution's shapes: a long inner extent in blocks of 128 and a shorter last one, split
    // by columns (wider than tall) and by rows; a product many times taller than wide.
    check_layouts<T, 16, 600, 40>();
    check_layouts<T, 40, 700, 24>();
    check_layouts<T, 400, 9, 24>();
}

// A product plus a vector on every row (the dense layer's forward pass), which the kernels add
// as they store: both operand layouts, against the reference sum plus the vector.
template <class T, std::size_t R, std::size_t K, std::size_t C>
void check_biased() {
    const auto a = random_tensor<T, mg::shape<R, K>>();
    const auto b = random_tensor<T, mg::shape<K, C>>();
    const auto bt = random_tensor<T, mg::shape<C, K>>();
    const auto bias = random_tensor<T, mg::shape<C>>();
    const double tolerance = (sizeof(T) == 4 ? 1e-5 : 1e-13) * static_cast<double>(K + 1);
    const mg::matrix<T, R, C> nn = mg::matmul(a, b) + mg::broadcast_rows<R>(bias);
    const mg::matrix<T, R, C> nt = mg::matmul(a, mg::transpose(bt)) + mg::broadcast_rows<R>(bias);
    double worst = 0;
    for (std::size_t r = 0; r < R; ++r)
        for (std::size_t c = 0; c < C; ++c) {
            worst = std::max(worst, std::abs(nn.at(r, c) - (reference(a, b, r, c) + bias[c])));
            worst = std::max(worst, std::abs(nt.at(r, c) - (reference(a, mg::transpose(bt), r, c) + bias[c])));
        }
    BOOST_TEST(worst <= tolerance);
}

BOOST_AUTO_TEST_CASE_TEMPLATE(kernels_add_a_row_vector_as_they_store_run_time, T, element_types) {
    check_biased<T, 1, 3, 2>();
    check_biased<T, 1, 100, 37>();
    check_biased<T, 9, 33, 50>();
    check_biased<T, 64, 48, 20>();
}

// w - s * product, the SGD step taken in the weight-gradient kernel: both weight-gradient
// layouts (A^T B, as dense layers have it, and A B), against w minus s times the reference sum.
template <class T, std::size_t R, std::size_t K, std::size_t C>
void check_subtract_scaled() {
    const auto at = random_tensor<T, mg::shape<K, R>>();
    const auto b = random_tensor<T, mg::shape<K, C>>();
    const auto w = random_tensor<T, mg::shape<R, C>>();
    const T scale = T(0.37);
    auto tn = w, nn = w;
    mg::eval::subtract_scaled_product(tn, scale, mg::matmul(mg::transpose(at), b));
    const auto a = mg::matrix<T, R, K>(mg::transpose(at));
    mg::eval::subtract_scaled_product(nn, scale, mg::matmul(a, b));
    const double tolerance = (sizeof(T) == 4 ? 1e-5 : 1e-13) * static_cast<double>(K + 1);
    double worst = 0;
    for (std::size_t r = 0; r < R; ++r)
        for (std::size_t c = 0; c < C; ++c) {
            const double expected = w.at(r, c) - scale * reference(a, b, r, c);
            worst = std::max({worst, std::abs(tn.at(r, c) - expected), std::abs(nn.at(r, c) - expected)});
        }
    BOOST_TEST(worst <= tolerance);
}

BOOST_AUTO_TEST_CASE_TEMPLATE(kernels_take_an_sgd_step_as_they_store_run_time, T, element_types) {
    check_subtract_scaled<T, 3, 1, 4>();     // plain loops
    check_subtract_scaled<T, 17, 5, 50>();   // panels, single vectors and a column remainder
    check_subtract_scaled<T, 40, 64, 33>();
    check_subtract_scaled<T, 9, 20, 29>();   // half and quarter vectors past the last whole one (AVX-512)
}

// One row times input-major weights (the predictor's broadcast form), bias added as it stores.
template <class T, std::size_t K, std::size_t C>
void check_lone_row() {
    const auto a = random_tensor<T, mg::shape<1, K>>();
    const auto b = random_tensor<T, mg::shape<K, C>>();
    const auto bias = random_tensor<T, mg::shape<C>>();
    mg::matrix<T, 1, C> out;
    mg::eval::lone_row_kernel<K, C>(out.data.data(), a.data.data(), b.data.data(),
                                    mg::eval::add_column_bias<T>{bias.data.data()});
    const double tolerance = (sizeof(T) == 4 ? 1e-5 : 1e-13) * static_cast<double>(K + 1);
    double worst = 0;
    for (std::size_t c = 0; c < C; ++c) worst = std::max(worst, std::abs(out.at(0, c) - (reference(a, b, 0, c) + bias[c])));
    BOOST_TEST(worst <= tolerance);
}

BOOST_AUTO_TEST_CASE_TEMPLATE(lone_row_broadcast_kernel_agrees_with_the_reference_sum_run_time, T, element_types) {
    check_lone_row<T, 1, 1>();
    check_lone_row<T, 3, 7>();      // no whole vector
    check_lone_row<T, 16, 32>();    // the W2 network's layers
    check_lone_row<T, 5, 50>();     // blocks, a pair, a single vector and scalar columns, as the width allows
    check_lone_row<T, 33, 112>();
    check_lone_row<T, 784, 256>();
}

// Rows of a batch through the broadcast form, with strides: each row bit for bit what the lone
// row's kernel gives it (a sequence run whole equals it streamed), and near the reference sum.
template <class T, std::size_t R, std::size_t K, std::size_t C>
void check_broadcast_rows() {
    constexpr std::size_t a_stride = K + 3, out_stride = C + 2;  // rows with gaps between them
    const auto a_owned = std::make_unique<mg::tensor<T, mg::shape<R, a_stride>>>(random_tensor<T, mg::shape<R, a_stride>>());
    const auto& a = *a_owned;
    const auto b = random_tensor<T, mg::shape<K, C>>();
    const auto bias = random_tensor<T, mg::shape<C>>();
    const auto out_owned = std::make_unique<mg::matrix<T, R, out_stride>>();
    auto& out = *out_owned;
    out.data.fill(T(7));
    mg::eval::broadcast_rows_kernel<R, K, C, a_stride, out_stride>(out.data.data(), a.data.data(), b.data.data(),
                                                                   mg::eval::add_column_bias<T>{bias.data.data()});
    // On the calling thread alone (a stream's step): the same values.
    const auto alone_owned = std::make_unique<mg::matrix<T, R, out_stride>>();
    alone_owned->data.fill(T(7));
    mg::eval::broadcast_rows_on_this_thread<R, K, C, a_stride, out_stride>(alone_owned->data.data(), a.data.data(), b.data.data(),
                                                                           mg::eval::add_column_bias<T>{bias.data.data()});
    BOOST_TEST((alone_owned->data == out.data));
    const double tolerance = (sizeof(T) == 4 ? 1e-5 : 1e-13) * static_cast<double>(K + 1);
    std::size_t differ = 0, gaps_written = 0;
    double worst = 0;
    for (std::size_t r = 0; r < R; ++r) {
        mg::vector<T, C> alone;
        mg::eval::lone_row_kernel<K, C>(alone.data.data(), &a[r * a_stride], b.data.data(), mg::eval::add_column_bias<T>{bias.data.data()});
        for (std::size_t c = 0; c < C; ++c) {
            differ += !(out.at(r, c) == alone[c]);
            double sum = 0;
            for (std::size_t k = 0; k < K; ++k) sum += static_cast<double>(a[r * a_stride + k]) * static_cast<double>(b.at(k, c));
            worst = std::max(worst, std::abs(static_cast<double>(out.at(r, c)) - (sum + static_cast<double>(bias[c]))));
        }
        for (std::size_t c = C; c < out_stride; ++c) gaps_written += out.at(r, c) != T(7);
    }
    BOOST_TEST(differ == 0u, differ << " sums differ from the lone row's (R " << R << ", K " << K << ", C " << C << ")");
    BOOST_TEST(gaps_written == 0u);
    BOOST_TEST(worst <= tolerance);
}

BOOST_AUTO_TEST_CASE_TEMPLATE(broadcast_rows_kernel_equals_the_lone_row_kernel_row_by_row_run_time, T, element_types) {
    check_broadcast_rows<T, 1, 1, 1>();
    check_broadcast_rows<T, 5, 3, 7>();     // whole tiles of rows and one more; no whole vector
    check_broadcast_rows<T, 9, 16, 48>();   // a GRU of 16's recurrent product
    check_broadcast_rows<T, 11, 5, 50>();   // scalar columns past the vectors
    check_broadcast_rows<T, 8, 33, 128>();  // K past the partial sums' multiple
    check_broadcast_rows<T, 1027, 33, 48>();  // past 2^20 multiply-adds: rows split between the threads
}

// The same B laid out in panels (eval::operand_layout): the same sums, bit for bit, from the
// lone row's kernel and the rows' kernel, and every element where `broadcast_operand` says.
template <class T, std::size_t R, std::size_t K, std::size_t C>
void check_panels_equal_rows() {
    using panels = mg::eval::broadcast_operand<T, K, C, mg::eval::operand_layout::panels>;
    const auto a = random_tensor<T, mg::shape<R, K>>();
    const auto b = random_tensor<T, mg::shape<K, C>>();
    const auto bias = random_tensor<T, mg::shape<C>>();
    const auto in_panels = std::make_unique<mg::matrix<T, K, C>>();
    std::vector<int> written(K * C, 0);
    for (std::size_t k = 0; k < K; ++k)
        for (std::size_t c = 0; c < C; ++c) {
            in_panels->data[panels::offset(k, c)] = b.at(k, c);
            ++written[panels::offset(k, c)];
        }
    BOOST_TEST(std::count(written.begin(), written.end(), 1) == static_cast<long>(K * C), "the layout is not a permutation");
    const auto from_rows = std::make_unique<mg::matrix<T, R, C>>();
    const auto from_panels = std::make_unique<mg::matrix<T, R, C>>();
    mg::eval::broadcast_rows_kernel<R, K, C, K, C>(from_rows->data.data(), a.data.data(), b.data.data(),
                                                   mg::eval::add_column_bias<T>{bias.data.data()});
    mg::eval::broadcast_rows_kernel<R, K, C, K, C, mg::eval::operand_layout::panels>(
        from_panels->data.data(), a.data.data(), in_panels->data.data(), mg::eval::add_column_bias<T>{bias.data.data()});
    BOOST_TEST((from_rows->data == from_panels->data), "rows' kernel, panels differ from rows (K " << K << ", C " << C << ")");
    mg::vector<T, C> alone;
    mg::eval::lone_row_kernel<K, C, mg::eval::operand_layout::panels>(alone.data.data(), a.data.data(), in_panels->data.data(),
                                                                      mg::eval::add_column_bias<T>{bias.data.data()});
    bool same = true;
    for (std::size_t c = 0; c < C; ++c) same = same && alone[c] == from_rows->at(0, c);
    BOOST_TEST(same, "lone row, panels differ from rows (K " << K << ", C " << C << ")");
}

BOOST_AUTO_TEST_CASE_TEMPLATE(broadcast_kernels_read_panels_as_they_read_rows_run_time, T, element_types) {
    constexpr std::size_t panel = mg::eval::broadcast_operand<T, 1, 1, mg::eval::operand_layout::panels>::panel;
    check_panels_equal_rows<T, 5, 3, 7>();                        // one narrow panel: the same layout as rows
    check_panels_equal_rows<T, 6, 16, 2 * panel>();               // whole panels only
    check_panels_equal_rows<T, 9, 64, 3 * panel + 16>();          // and a narrower one (a GRU of 64's recurrent product)
    check_panels_equal_rows<T, 7, 33, panel + 3>();               // a last panel of scalar columns only
    check_panels_equal_rows<T, 5, 5, 2 * panel + 5 * 4 + 1>();    // vectors and scalars in the last panel
}

// Column sums of rows in memory (a bias gradient), a row of vectors at a time at run time: the
// same values as the definition's sums, bit for bit, the sign of a zero included.
BOOST_AUTO_TEST_CASE_TEMPLATE(column_sums_of_rows_equal_the_definition_run_time, T, element_types) {
    auto a = random_tensor<T, mg::shape<7, 37>>();
    for (std::size_t r = 0; r < 7; ++r) a(r, 3) = T(-0.0);  // 0 + (-0) + ... is +0
    mg::vector<T, 37> sums;
    sums = mg::column_sums(a);
    for (std::size_t c = 0; c < 37; ++c) {
        T expected{};
        for (std::size_t r = 0; r < 7; ++r) expected += a(r, c);
        BOOST_TEST(sums[c] == expected);
        BOOST_TEST(std::signbit(sums[c]) == std::signbit(expected));
    }
}

// The transposing reduction: N vectors whose lane sums are known exactly.
template <class T, std::size_t N>
void check_lane_sums() {
    constexpr std::size_t w = mg::eval::lanes<T>;
    mg::eval::simd<T> v[N];
    for (std::size_t i = 0; i < N; ++i)
        for (std::size_t l = 0; l < w; ++l) v[i][l] = static_cast<T>(1000 * i + l * l);
    T sums[N];
    mg::eval::sum_lanes_of<N, T>(v, sums);
    for (std::size_t i = 0; i < N; ++i) {
        T expected = 0;
        for (std::size_t l = 0; l < w; ++l) expected += static_cast<T>(1000 * i + l * l);
        BOOST_TEST(sums[i] == expected);
    }
}

BOOST_AUTO_TEST_CASE_TEMPLATE(lane_sums_of_many_vectors_run_time, T, element_types) {
    check_lane_sums<T, 1>();
    check_lane_sums<T, 2>();
    check_lane_sums<T, 4>();
    check_lane_sums<T, 8>();
    check_lane_sums<T, 16>();
    check_lane_sums<T, 32>();
}

BOOST_AUTO_TEST_CASE_TEMPLATE(assigning_a_product_to_its_operand_is_safe_run_time, T, element_types) {
    auto a = random_tensor<T, mg::shape<6, 6>>();
    const auto b = random_tensor<T, mg::shape<6, 6>>();
    const mg::matrix<T, 6, 6> expected = mg::matmul(a, b);
    a = mg::matmul(a, b);  // reads a while writing it: goes through a temporary
    BOOST_TEST((a == expected));
    auto c = random_tensor<T, mg::shape<6, 6>>();
    const mg::matrix<T, 6, 6> expected_t = mg::matmul(b, mg::transpose(c));
    c = mg::matmul(b, mg::transpose(c));
    BOOST_TEST((c == expected_t));
}

// The constant-evaluation path is the reference loop: same numbers as the definition.
constexpr bool compile_time_product_is_the_definition() {
    const mg::matrix<double, 2, 3> a{{{1, 2, 3}, {4, 5, 6}}};
    const mg::matrix<double, 3, 2> b{{{1, 0}, {0, 1}, {2, -1}}};
    const mg::matrix<double, 2, 2> c = mg::matmul(a, b);
    return c == mg::matrix<double, 2, 2>{{{7, -1}, {16, -1}}};
}
static_assert(compile_time_product_is_the_definition());

BOOST_AUTO_TEST_CASE(the_dense_layer_agrees_between_phases_run_time) {
    // The same layer evaluated by the kernels (run time) and by the reference loops (in a
    // constexpr function forced to constant evaluation) gives the same output to rounding.
    using net = mg::sequential<mg::dense<5, 7>, mg::relu, mg::dense<3>>;
    constexpr auto output = [] {
        net::parameters<double> p;
        double v = 0.1;
        mg::for_each_tensor([&](auto& w) { for (auto& x : w) x = (v = v * 1.7 - static_cast<int>(v * 1.7)) - 0.4; }, p);
        const mg::tensor<double, mg::shape<2, 5>> x{0.1, -0.2, 0.3, 0.5, -0.7, 0.9, 0.2, -0.1, 0.0, 0.4};
        return net::forward(p, x);
    }();
    net::parameters<double> p;
    double v = 0.1;
    mg::for_each_tensor([&](auto& w) { for (auto& x : w) x = (v = v * 1.7 - static_cast<int>(v * 1.7)) - 0.4; }, p);
    const mg::tensor<double, mg::shape<2, 5>> x{0.1, -0.2, 0.3, 0.5, -0.7, 0.9, 0.2, -0.1, 0.0, 0.4};
    const auto run_time = net::forward(p, x);
    for (std::size_t i = 0; i < output.size; ++i) BOOST_TEST(run_time[i] == output[i], boost::test_tools::tolerance(1e-14));
}
