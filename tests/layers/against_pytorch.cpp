// The smooth activations, log_softmax and layer norm against PyTorch in float64: outputs and the
// gradients of <y, g> (tests/fixtures/make_fixtures.py activations). The laws (laws.cpp,
// laws_images.cpp) check each layer against its own finite differences; this checks that it is
// PyTorch's function, tails included.
#include <algorithm>
#include <cmath>
#include <cstddef>
#include <ratio>
#include <string>

#include <boost/test/unit_test.hpp>

#include "metagrad/metagrad.hpp"

namespace mg = metagrad;

namespace {
const mg::safetensors_file& reference() {
    static const auto file = mg::safetensors_file::read(METAGRAD_FIXTURES "/torch_activations.safetensors");
    return file;
}
template <class S>
mg::tensor<double, S> fixture(const std::string& name) {
    mg::tensor<double, S> t;
    reference().copy_to(name, t);
    return t;
}
template <class S>
void check_close(const mg::tensor<double, S>& got, const mg::tensor<double, S>& want, const std::string& what, double tolerance = 1e-12) {
    for (std::size_t i = 0; i < S::size; ++i)
        BOOST_TEST(std::abs(got[i] - want[i]) <= tolerance * std::max(1.0, std::abs(want[i])),
                   what << "[" << i << "]: " << got[i] << " against " << want[i]);
}

// A layer without parameters on the fixture's inputs `x`: its output, and dl/dx for dl/dy = g.
template <class Layer, class S>
void check_function(const std::string& prefix, const std::string& name) {
    using net = mg::network<S, Layer>;
    const typename net::template parameters<double> p;
    const auto x = fixture<S>(prefix + ".x");
    const auto trace = net::forward_trace(p, x);
    check_close(trace.output(), fixture<S>(name + ".y"), name + " output");
    const auto g = net::backward(p, trace, fixture<S>(prefix + ".g"));
    check_close(g.activations.input(), fixture<S>(name + ".dx"), name + " dl/dx");
}
}  // namespace

BOOST_AUTO_TEST_SUITE(against_pytorch)

BOOST_AUTO_TEST_CASE(smooth_activations) {
    using inputs = mg::shape<48>;  // -40 to 40, both tails
    check_function<mg::gelu, inputs>("activations", "gelu");
    check_function<mg::gelu_tanh, inputs>("activations", "gelu_tanh");
    check_function<mg::silu, inputs>("activations", "silu");
    check_function<mg::elu<>, inputs>("activations", "elu");
    check_function<mg::elu<std::ratio<1, 2>>, inputs>("activations", "elu_half");
    check_function<mg::softplus, inputs>("activations", "softplus");
}

BOOST_AUTO_TEST_CASE(log_softmax_over_rows) {
    check_function<mg::log_softmax, mg::shape<3, 5>>("log_softmax", "log_softmax");
}

// LayerNorm(4) on a batch of 2 sequences of 3 positions: the batch is given as 6 positions of 2
// samples, which is the same arithmetic as PyTorch's (2, 3, 4).
template <class Epsilon>
void check_layer_norm(const std::string& name) {
    using net = mg::network<mg::shape<3, 4>, mg::layer_norm<Epsilon>>;
    using X = mg::shape<2, 3, 4>;
    typename net::template parameters<double> p;
    p.template layer<0>().weight = fixture<mg::shape<4>>(name + ".weight");
    p.template layer<0>().bias = fixture<mg::shape<4>>(name + ".bias");
    const auto trace = net::forward_trace(p, fixture<X>(name + ".x"));
    check_close(trace.output(), fixture<X>(name + ".y"), name + " output");
    const auto g = net::backward(p, trace, fixture<X>(name + ".g"));
    check_close(g.activations.input(), fixture<X>(name + ".dx"), name + " dl/dx");
    check_close(g.parameters.template layer<0>().weight, fixture<mg::shape<4>>(name + ".dweight"), name + " dl/dweight");
    check_close(g.parameters.template layer<0>().bias, fixture<mg::shape<4>>(name + ".dbias"), name + " dl/dbias");
    // Inference computes the same: layer norm has no state and no batch coupling.
    check_close(net::forward(p, fixture<X>(name + ".x")), fixture<X>(name + ".y"), name + " inference output");
}

BOOST_AUTO_TEST_CASE(layer_norm_over_features) {
    check_layer_norm<std::ratio<1, 100000>>("layer_norm");
    check_layer_norm<std::ratio<1, 1000>>("layer_norm_eps");
}

BOOST_AUTO_TEST_SUITE_END()
