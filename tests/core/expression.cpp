// Tests of the expression templates (core/elementwise, transpose, matmul, reshape, broadcast,
// reduce) and of their evaluation (eval/assign.hpp): values, laziness, aliasing, lifetimes.
#include <boost/test/unit_test.hpp>

#include "../support.hpp"
#include "metagrad/metagrad.hpp"

namespace mg = metagrad;
using test_support::random_tensor;

constexpr mg::vector<double, 3> a{1, 2, 3};
constexpr mg::vector<double, 3> b{4, -5, 6};
constexpr mg::matrix<double, 2, 3> m{{{1, 2, 3}, {4, 5, 6}}};

// Element-wise arithmetic and scalar broadcast on either side, in constant evaluation.
static_assert(mg::vector<double, 3>(a + b) == mg::vector<double, 3>{5, -3, 9});
static_assert(mg::vector<double, 3>(a * b - 1.0) == mg::vector<double, 3>{3, -11, 17});
static_assert(mg::vector<double, 3>(2 * a / 4) == mg::vector<double, 3>{0.5, 1, 1.5});
static_assert(mg::vector<double, 3>(-a) == mg::vector<double, 3>{-1, -2, -3});
static_assert(mg::vector<double, 3>(mg::maximum(b, 0.0)) == mg::vector<double, 3>{4, 0, 6});
static_assert(mg::vector<double, 3>(mg::abs(b)) == mg::vector<double, 3>{4, 5, 6});
// Structural nodes.
static_assert(mg::matrix<double, 3, 2>(mg::transpose(m)) == mg::matrix<double, 3, 2>{{{1, 4}, {2, 5}, {3, 6}}});
static_assert(mg::matrix<double, 2, 2>(mg::matmul(m, mg::transpose(m))) == mg::matrix<double, 2, 2>{{{14, 32}, {32, 77}}});
static_assert(mg::vector<double, 3>(mg::column_sums(m)) == mg::vector<double, 3>{5, 7, 9});
static_assert(mg::vector<double, 2>(mg::row_sums(m * m)) == mg::vector<double, 2>{14, 77});
static_assert(mg::matrix<double, 2, 3>(mg::broadcast_rows<2>(a)) == mg::matrix<double, 2, 3>{{{1, 2, 3}, {1, 2, 3}}});
static_assert(mg::vector<double, 6>(mg::reshape<mg::shape<6>>(m)) == mg::vector<double, 6>{1, 2, 3, 4, 5, 6});
static_assert(std::is_same_v<mg::shape_of<decltype(mg::as_rows(a))>, mg::shape<1, 3>>);
static_assert(std::is_same_v<mg::shape_of<decltype(mg::as_rows(m))>, mg::shape<2, 3>>);
// Reductions.
static_assert(mg::sum(m) == 21 && mg::dot(a, b) == 12 && mg::max(b) == 6);
static_assert(mg::sum(mg::exp(mg::vector<double, 2>{})) == 2);

// Nodes keep named tensors by reference (no copy) and temporaries by value (no dangling).
constexpr mg::vector<double, 3> make() { return {7, 8, 9}; }
using sum_of_named = decltype(a + b);
static_assert(std::is_reference_v<decltype(std::declval<sum_of_named>().left)>);
using sum_with_temporary = decltype(a + make());
static_assert(!std::is_reference_v<decltype(std::declval<sum_with_temporary>().right)>);
static_assert(mg::detail::is_elementwise<decltype(a * b + 1.0)>);
static_assert(!mg::detail::is_elementwise<decltype(mg::matmul(m, mg::transpose(m)))>);

BOOST_AUTO_TEST_SUITE(expression)

BOOST_AUTO_TEST_CASE(runtime_matmul_against_loops) {
    const auto x = random_tensor<double, mg::shape<5, 7>>();
    const auto y = random_tensor<double, mg::shape<7, 3>>();
    const mg::matrix<double, 5, 3> product = mg::matmul(x, y);
    const mg::matrix<double, 3, 5> product_t = mg::matmul(mg::transpose(y), mg::transpose(x));
    for (std::size_t i = 0; i < 5; ++i)
        for (std::size_t j = 0; j < 3; ++j) {
            double expected = 0;
            for (std::size_t k = 0; k < 7; ++k) expected += x(i, k) * y(k, j);
            BOOST_TEST(product(i, j) == expected, boost::test_tools::tolerance(1e-14));
            BOOST_TEST(product_t(j, i) == expected, boost::test_tools::tolerance(1e-14));
        }
}

BOOST_AUTO_TEST_CASE(runtime_fused_elementwise_tree) {
    const auto x = random_tensor<float, mg::shape<4, 6>>();
    const auto y = random_tensor<float, mg::shape<4, 6>>();
    const mg::matrix<float, 4, 6> z = mg::exp(x) * 2.0f - y / 3.0f + 1.0f;
    for (std::size_t i = 0; i < z.size; ++i)
        BOOST_TEST(z[i] == mg::math::exp(x[i]) * 2.0f - y[i] / 3.0f + 1.0f);
}

BOOST_AUTO_TEST_CASE(runtime_assignment_that_reads_its_destination) {
    // Element-wise: in place. Matrix product: through a temporary, so the result is not corrupted.
    mg::matrix<double, 2, 2> p{{{1, 2}, {3, 4}}};
    p = p * p + p;
    BOOST_TEST((p == mg::matrix<double, 2, 2>{{{2, 6}, {12, 20}}}));
    mg::matrix<double, 2, 2> q{{{1, 2}, {3, 4}}};
    q = mg::matmul(q, q);
    BOOST_TEST((q == mg::matrix<double, 2, 2>{{{7, 10}, {15, 22}}}));
    mg::matrix<double, 2, 2> r{{{1, 2}, {3, 4}}};
    r = mg::transpose(r);
    BOOST_TEST((r == mg::matrix<double, 2, 2>{{{1, 3}, {2, 4}}}));
}

BOOST_AUTO_TEST_CASE(runtime_expression_outlives_its_temporary_operand) {
    const auto e = a + make();  // make()'s result is held inside e
    const mg::vector<double, 3> v = e;
    BOOST_TEST((v == mg::vector<double, 3>{8, 10, 12}));
}

BOOST_AUTO_TEST_SUITE_END()
