// A user's layer without an ONNX form, in a network that is exported to ONNX.
#include "metagrad/metagrad.hpp"

// An element-wise activation written with maths only (no `to_onnx`, no `onnx_hook`).
struct cube : metagrad::elementwise_activation<cube> {
    template <class T>
    static constexpr T value(T x) {
        return x * x * x;
    }
    template <class T>
    static constexpr T derivative(T x, T) {
        return 3 * x * x;
    }
};

#ifdef METAGRAD_COMPILE_FAIL
using network = metagrad::sequential<metagrad::input<4>, metagrad::dense<3>, cube, metagrad::dense<2>>;
#else
using network = metagrad::sequential<metagrad::input<4>, metagrad::dense<3>, metagrad::relu, metagrad::dense<2>>;
#endif

int main() { return metagrad::onnx_graph_description<network>().empty(); }
