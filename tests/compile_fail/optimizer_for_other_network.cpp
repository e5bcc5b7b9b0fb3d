// Misuse: an optimizer made for one network updates another network's parameters.
#include "metagrad/constexpr.hpp"

namespace mg = metagrad;
using small = mg::sequential<mg::dense<2, 3>, mg::relu, mg::dense<1>>;
using wide = mg::sequential<mg::dense<2, 5>, mg::relu, mg::dense<1>>;

int main() {
    small::parameters<double> p;
#ifdef METAGRAD_COMPILE_FAIL
    mg::adam<wide, double> adam;
#else
    mg::adam<small, double> adam;
#endif
    const mg::vector<double, 2> x{1, 2};
    const mg::vector<double, 1> y{0.5};
    return mg::train_step(p, x, y, mg::squared_error{}, adam) > 0;
}
