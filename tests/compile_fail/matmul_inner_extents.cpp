// A 2x3 matrix times a 4x2 matrix.
#include "metagrad/metagrad.hpp"

int main() {
    const metagrad::matrix<double, 2, 3> a{};
#ifdef METAGRAD_COMPILE_FAIL
    const metagrad::matrix<double, 4, 2> b{};
#else
    const metagrad::matrix<double, 3, 2> b{};
#endif
    return metagrad::sum(metagrad::matmul(a, b)) > 0;
}
