// The one main() of metagrad's Boost.Test executables.
#define BOOST_TEST_MODULE metagrad
#include <boost/test/unit_test.hpp>
