// Assigning a 3x2 expression to a 2x3 matrix.
#include "metagrad/metagrad.hpp"

int main() {
    const metagrad::matrix<double, 2, 3> a{};
    metagrad::matrix<double, 2, 3> b{};
#ifdef METAGRAD_COMPILE_FAIL
    b = metagrad::transpose(a);
#else
    b = a * 2.0;
#endif
    return b == a ? 0 : 1;
}
