// Tests of include/metagrad/core/tensor.hpp: construction, access, copy and comparison.
#include <boost/test/unit_test.hpp>

#include "metagrad/core/tensor.hpp"
#include "metagrad/eval/assign.hpp"  // evaluates the expressions assigned to tensors

namespace mg = metagrad;

constexpr mg::matrix<double, 2, 3> rows{{{1, 2, 3}, {4, 5, 6}}};
constexpr mg::matrix<double, 2, 3> flat{1, 2, 3, 4, 5, 6};
static_assert(rows == flat);
static_assert(rows(1, 0) == 4 && rows[5] == 6 && rows.at(0, 2) == 3);
static_assert(mg::vector<float, 3>::filled(2.5f) == mg::vector<float, 3>{2.5f, 2.5f, 2.5f});
static_assert(mg::vector<double, 2>{} == mg::vector<double, 2>{0, 0});
static_assert(sizeof(mg::matrix<float, 3, 4>) == 12 * sizeof(float));  // inline storage, nothing else
static_assert(!std::is_constructible_v<mg::vector<double, 3>, double, double>);  // count is checked
static_assert(!std::is_convertible_v<double, mg::vector<double, 1>>);           // no accidental scalar
static_assert(!std::is_convertible_v<mg::vector<double, 2>, mg::vector<float, 2>>);
static_assert(std::is_constructible_v<mg::vector<float, 2>, mg::vector<double, 2>>);

constexpr mg::tensor<double, mg::shape<2, 2, 2>> cube() {
    mg::tensor<double, mg::shape<2, 2, 2>> t;
    t(1, 0, 1) = 7;
    return t;
}
static_assert(cube()[5] == 7);  // (1, 0, 1) is 1*4 + 0*2 + 1

BOOST_AUTO_TEST_SUITE(tensor)

BOOST_AUTO_TEST_CASE(runtime_access_and_copy) {
    mg::matrix<double, 2, 3> m = rows;
    m(0, 1) = -1;
    BOOST_TEST(m[1] == -1);
    BOOST_TEST(!(m == rows));
    auto copy = m;
    BOOST_TEST((copy == m));
    double total = 0;
    for (double v : m) total += v;
    BOOST_TEST(total == 1 - 1 + 3 + 4 + 5 + 6);
}

BOOST_AUTO_TEST_CASE(runtime_element_type_conversion) {
    const mg::vector<double, 2> d{0.1, 0.2};
    const mg::vector<float, 2> f(d);
    BOOST_TEST(f[0] == 0.1f);
    BOOST_TEST(f[1] == 0.2f);
}

BOOST_AUTO_TEST_SUITE_END()
