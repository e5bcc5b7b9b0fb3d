// Tests of include/metagrad/core/shape.hpp: shape algebra, at compile time and at run time.
#include <boost/test/unit_test.hpp>

#include "metagrad/core/shape.hpp"

namespace mg = metagrad;

static_assert(mg::shape<3>::rank == 1 && mg::shape<3>::size == 3 && mg::shape<3>::last == 3);
static_assert(mg::shape<2, 3>::rank == 2 && mg::shape<2, 3>::size == 6 && mg::shape<2, 3>::rows == 2);
static_assert(mg::shape<4, 2, 3>::rows == 8 && mg::shape<4, 2, 3>::extent<1> == 2);
static_assert(std::is_same_v<mg::with_last<mg::shape<4>, 3>, mg::shape<3>>);
static_assert(std::is_same_v<mg::with_last<mg::shape<64, 784>, 10>, mg::shape<64, 10>>);
static_assert(std::is_same_v<mg::batch_of<8, mg::shape<4>>, mg::shape<8, 4>>);
static_assert(std::is_same_v<mg::drop_first<mg::shape<8, 4>>, mg::shape<4>>);
static_assert(mg::shape_type<mg::shape<1>> && !mg::shape_type<int>);
static_assert(mg::same_shape<mg::shape<2, 3>, mg::shape<2, 3>> && !mg::same_shape<mg::shape<2, 3>, mg::shape<3, 2>>);

BOOST_AUTO_TEST_SUITE(shape)

BOOST_AUTO_TEST_CASE(runtime_extents) {
    const auto e = mg::shape<2, 3, 5>::extents;
    BOOST_TEST(e.size() == 3u);
    BOOST_TEST(e[0] == 2u);
    BOOST_TEST(e[1] == 3u);
    BOOST_TEST(e[2] == 5u);
    BOOST_TEST((mg::shape<2, 3, 5>::size == 30u));
}

BOOST_AUTO_TEST_SUITE_END()
