// Adding a 3-vector to a 4-vector.
#include "metagrad/metagrad.hpp"

int main() {
    const metagrad::vector<double, 3> a{1, 2, 3};
#ifdef METAGRAD_COMPILE_FAIL
    const metagrad::vector<double, 4> b{1, 2, 3, 4};
#else
    const metagrad::vector<double, 3> b{1, 2, 3};
#endif
    return metagrad::sum(a + b) > 0;
}
