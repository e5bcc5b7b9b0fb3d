// Tests of include/metagrad/report/derivation.hpp and summary_table.hpp: the formulas derived from
// network types, compared with the expected strings, in text and LaTeX.
#include <string>

#include <boost/test/unit_test.hpp>

#include "metagrad/metagrad.hpp"
#include "metagrad/report/derivation.hpp"

namespace mg = metagrad;

using homework = mg::sequential<mg::dense<4, 3>, mg::relu, mg::dense<2>, mg::relu, mg::dense<1>>;

BOOST_AUTO_TEST_CASE(the_homework_quantities_in_text) {
    const mg::derivation<homework, mg::squared_error> d;
    BOOST_TEST(d.delta() == "delta = h^3 - y");
    BOOST_TEST(d.activation(0) == "x");
    BOOST_TEST(d.activation(1) == "z^1");
    BOOST_TEST(d.activation(4) == "h^2");
    BOOST_TEST(d.weight_gradient_element(3, "1", "1") == "dl/dW^3_11 = delta h^2_1");                   // Q1
    BOOST_TEST(d.weight_gradient(3) == "dl/dW^3 = delta (h^2)^T");                                      // Q3
    BOOST_TEST(d.activation_gradient_element(4, "1") == "dl/dh^2_1 = delta W^3_11");                    // Q4
    BOOST_TEST(d.activation_gradient(4) == "dl/dh^2 = (W^3)^T delta");                                  // Q5
    BOOST_TEST(d.activation_derivative(1) == "sigma'(z) = 1 if z > 0, else 0");                         // Q6
    BOOST_TEST(d.local_weight_jacobian_element(2, "1", "1") == "dh^2_1/dW^2_1j = sigma'(z^2_1) h^1_j");  // Q7
    BOOST_TEST(d.local_weight_jacobian_element(2, "1", "2") == "dh^2_1/dW^2_2j = 0");                   // Q8
    BOOST_TEST(d.local_weight_jacobian(2, 1) == "dh^2_1/dW^2 = [sigma'(z^2_1) (h^1)^T; 0]");            // Q9
    BOOST_TEST(d.weight_gradient_element(2) == "dl/dW^2_ij = delta W^3_1i sigma'(z^2_i) h^1_j");        // Q10
    BOOST_TEST(d.weight_gradient(2) == "dl/dW^2 = (((W^3)^T delta) * sigma'(z^2)) (h^1)^T");            // Q11
    BOOST_TEST(d.local_input_jacobian_element(2, "1") == "dh^2_1/dh^1_j = sigma'(z^2_1) W^2_1j");       // Q12
    BOOST_TEST(d.local_input_jacobian(2) == "dh^2/dh^1 = diag(sigma'(z^2)) W^2");                       // Q13
    BOOST_TEST(d.activation_gradient_element(2) == "dl/dh^1_j = sum_m delta W^3_1m sigma'(z^2_m) W^2_mj");  // Q14
    BOOST_TEST(d.activation_gradient(2) == "dl/dh^1 = (W^2)^T (((W^3)^T delta) * sigma'(z^2))");        // Q15
    BOOST_TEST(d.weight_gradient_element(1) ==
               "dl/dW^1_ij = sum_m delta W^3_1m sigma'(z^2_m) W^2_mi sigma'(z^1_i) x_j");              // Q16
    BOOST_TEST(d.weight_gradient(1) == "dl/dW^1 = (((W^2)^T (((W^3)^T delta) * sigma'(z^2))) * sigma'(z^1)) x^T");  // Q17
    BOOST_TEST(d.bias_gradient_element(2) == "dl/db^2_i = delta W^3_1i sigma'(z^2_i)");
}

BOOST_AUTO_TEST_CASE(the_homework_quantities_in_latex) {
    const mg::derivation<homework, mg::squared_error> d(mg::notation::latex);
    BOOST_TEST(d.delta() == "\\delta = h^{3} - y");
    BOOST_TEST(d.weight_gradient_element(2) ==
               "\\frac{\\partial l}{\\partial W^{2}_{ij}} = \\delta W^{3}_{1i} \\sigma'(z^{2}_{i}) h^{1}_{j}");
    BOOST_TEST(d.weight_gradient(2) == "\\frac{\\partial l}{\\partial W^{2}} = \\left(\\left((W^{3})^{\\top} \\delta\\right) "
                                       "\\odot \\sigma'(z^{2})\\right) (h^{1})^{\\top}");
    BOOST_TEST(d.activation_gradient_element(2) ==
               "\\frac{\\partial l}{\\partial h^{1}_{j}} = \\sum_{m} \\delta W^{3}_{1m} \\sigma'(z^{2}_{m}) W^{2}_{mj}");
    BOOST_TEST(d.local_input_jacobian(2) == "\\frac{\\partial h^{2}}{\\partial h^{1}} = \\operatorname{diag}(\\sigma'(z^{2}))\\, W^{2}");
}

BOOST_AUTO_TEST_CASE(other_networks_and_losses) {
    // Wider output, two sums, other activations, a leading input layer and a loss of its own.
    using net = mg::sequential<mg::input<5>, mg::dense<4>, mg::tanh_layer, mg::dense<3>, mg::sigmoid, mg::dense<2>>;
    const mg::derivation<net, mg::softmax_cross_entropy> d;
    BOOST_TEST(d.delta() == "delta = softmax(h^3) - y");
    BOOST_TEST(d.activation(0) == "x");
    BOOST_TEST(d.activation(1) == "x");  // input<5> passes x through
    BOOST_TEST(d.weight_gradient_element(3) == "dl/dW^3_ij = delta_i h^2_j");
    BOOST_TEST(d.weight_gradient_element(1) ==
               "dl/dW^1_ij = sum_m sum_n delta_n W^3_nm s'(z^2_m) W^2_mi tanh'(z^1_i) x_j");
    BOOST_TEST(d.activation_derivative(1) == "tanh'(z) = 1 - tanh(z)^2");
    BOOST_TEST(d.activation_derivative(2) == "s'(z) = s(z) (1 - s(z))");
    BOOST_TEST(d.chain_rule() ==
               "delta = softmax(h^3) - y\n"
               "dl/dW^3 = delta (h^2)^T\n"
               "dl/db^3 = delta\n"
               "dl/dW^2 = (((W^3)^T delta) * s'(z^2)) (h^1)^T\n"
               "dl/db^2 = ((W^3)^T delta) * s'(z^2)\n"
               "dl/dW^1 = (((W^2)^T (((W^3)^T delta) * s'(z^2))) * tanh'(z^1)) x^T\n"
               "dl/db^1 = ((W^2)^T (((W^3)^T delta) * s'(z^2))) * tanh'(z^1)\n");
}
