// The backpropagation homework that started metagrad (shared/seeds/homework3-backprop.md):
// a 4-3-2-1 ReLU network, every quantity it asks for computed by the library, printed with its
// formula, and checked against central finite differences by static_assert at compile time.
//
// Notation (the homework's): x = h^0; z^k = W^k h^(k-1); h^k = sigma(z^k) with sigma = ReLU for
// k = 1, 2; the output h^3 = W^3 h^2 is linear. Loss l = 1/2 (h^3 - y)^2, so
// delta = dl/dh^3 = h^3 - y. (The homework writes "sigma" for delta in question 1.) Biases are
// part of metagrad's dense layer; here they are zero, so z^k = W^k h^(k-1) exactly.
//
// Where the homework's written answers are wrong (each printed answer carries a note too):
//   Q1        writes sigma for delta (the value is right).
//   Q7, Q12   drop the ReLU derivative sigma'(z^2_1).
//   Q8, Q9    h^2_1 does not depend on row 2 of W^2: those derivatives are 0, not a copy of Q7.
//   Q10, Q11  drop sigma'(z^2_i): a unit with z^2_i < 0 passes no gradient to its weights.
//   Q13       dh^2/dh^1 is the 2 x 3 matrix diag(sigma'(z^2)) W^2, not one row of W^2.
//   Q14, Q15  drop sigma'(z^2_i) inside the sum.
//   Q16, Q17  dl/dW^1_ij = dl/dh^1_i sigma'(z^1_i) x_j: the written answer sums over k instead of
//             taking row i, and drops sigma'(z^1_i), so all its rows are equal.
#include <cstdio>
#include <string>

#include "metagrad/constexpr.hpp"
#include "metagrad/report/derivation.hpp"
#include "print.hpp"

namespace mg = metagrad;
using examples::format;

// Layers 0..4; activations a0 = x, a1 = z^1, a2 = h^1, a3 = z^2, a4 = h^2, a5 = h^3.
using homework_network = mg::sequential<mg::dense<4, 3>, mg::relu, mg::dense<3, 2>, mg::relu, mg::dense<2, 1>>;
using parameters = homework_network::parameters<double>;

constexpr parameters homework_parameters() {
    parameters p;
    p.layer<0>().weight = mg::matrix<double, 3, 4>{{{0.2, -0.1, 0.4, 0.3}, {-0.5, 0.3, 0.1, -0.2}, {0.1, 0.2, -0.3, 0.4}}};
    p.layer<2>().weight = mg::matrix<double, 2, 3>{{{0.6, -0.4, 0.5}, {-0.7, 0.2, 0.3}}};
    p.layer<4>().weight = mg::matrix<double, 1, 2>{{{0.8, -0.6}}};
    return p;
}

constexpr parameters params = homework_parameters();
constexpr mg::vector<double, 4> x{1.0, -2.0, 0.5, 3.0};
constexpr mg::vector<double, 1> y{0.5};

// One forward pass keeps every activation; one backward pass gives dl/d(every parameter) and
// dl/d(every activation).
constexpr auto trace = homework_network::forward_trace(params, x);
constexpr auto grads = homework_network::backward(params, trace, mg::squared_error::gradient(trace.output(), y));

constexpr auto z1 = trace.get<1>();
constexpr auto h1 = trace.get<2>();
constexpr auto z2 = trace.get<3>();
constexpr auto h2 = trace.get<4>();
constexpr double delta = trace.output()[0] - y[0];

// sigma'(z), element-wise: the ReLU layer's own derivative.
template <class S>
constexpr mg::tensor<double, S> relu_derivative(const mg::tensor<double, S>& z) {
    return mg::map([](double v) { return mg::relu::derivative(v, v); }, z);
}

// ---- Library answers -------------------------------------------------------------------------
// Parameter gradients come straight from the backward pass.
constexpr auto dl_dW3 = grads.parameters.layer<4>().weight;  // Q1-Q3
constexpr auto dl_dW2 = grads.parameters.layer<2>().weight;  // Q10-Q11
constexpr auto dl_dW1 = grads.parameters.layer<0>().weight;  // Q16-Q17
// Activation gradients too: dl/dh^2 is the gradient at a4, dl/dh^1 at a2.
constexpr auto dl_dh2 = grads.activations.get<4>();  // Q4-Q5
constexpr auto dl_dh1 = grads.activations.get<2>();  // Q14-Q15

// Questions 7-9 and 12-13 ask for derivatives of h^2 itself, not of l. The sub-network
// h^1 -> z^2 -> h^2 (layers 2 and 3) answers them: a backward pass seeded with e_i instead of
// dl/dh^2 gives row i of the Jacobian (a vector-Jacobian product).
using layer2 = homework_network::slice<2, 4>;
constexpr auto layer2_params = homework_network::slice_parameters<2, 4>(params);
constexpr auto seeded_backward(std::size_t i) {
    mg::vector<double, 2> seed;
    seed[i] = 1.0;
    return layer2::backward(layer2_params, layer2::forward_trace(layer2_params, h1), seed);
}
constexpr auto dh2_1_dW2 = seeded_backward(0).parameters.layer<0>().weight;  // Q7-Q9
constexpr mg::matrix<double, 2, 3> dh2_dh1 = [] {                             // Q12-Q13
    mg::matrix<double, 2, 3> jacobian;
    for (std::size_t i = 0; i < 2; ++i)
        for (std::size_t j = 0; j < 3; ++j) jacobian(i, j) = seeded_backward(i).activations.input()[j];
    return jacobian;
}();

// ---- Independent check: central finite differences, at compile time --------------------------
constexpr double loss_of(const parameters& p) {
    return mg::squared_error::value(homework_network::forward(p, x), y);
}
constexpr auto fd_params = mg::numeric_gradient(loss_of, params);

constexpr auto fd_dl_dh2 = mg::numeric_gradient(
    [](const mg::vector<double, 2>& h) {
        using tail = homework_network::slice<4, 5>;
        return mg::squared_error::value(tail::forward(homework_network::slice_parameters<4, 5>(params), h), y);
    },
    h2);
constexpr auto fd_dl_dh1 = mg::numeric_gradient(
    [](const mg::vector<double, 3>& h) {
        using tail = homework_network::slice<2, 5>;
        return mg::squared_error::value(tail::forward(homework_network::slice_parameters<2, 5>(params), h), y);
    },
    h1);
constexpr auto fd_dh2_1_dW2 = mg::numeric_gradient(
    [](const layer2::parameters<double>& q) { return layer2::forward(q, h1)[0]; }, layer2_params);
constexpr mg::matrix<double, 2, 3> fd_dh2_dh1 = [] {
    mg::matrix<double, 2, 3> jacobian;
    for (std::size_t i = 0; i < 2; ++i) {
        const auto row = mg::numeric_gradient([i](const mg::vector<double, 3>& h) { return layer2::forward(layer2_params, h)[i]; }, h1);
        for (std::size_t j = 0; j < 3; ++j) jacobian(i, j) = row[j];
    }
    return jacobian;
}();
constexpr auto fd_relu_derivative(const auto& z) {
    return mg::numeric_gradient([](const auto& v) { return mg::sum(mg::map([](double e) { return mg::relu::value(e); }, v)); }, z);
}

constexpr double tolerance = 1e-9;
static_assert(mg::max_scaled_error(dl_dW3, fd_params.layer<4>().weight) < tolerance, "Q1-Q3");
static_assert(mg::max_scaled_error(dl_dh2, fd_dl_dh2) < tolerance, "Q4-Q5");
static_assert(mg::max_scaled_error(relu_derivative(z1), fd_relu_derivative(z1)) < tolerance, "Q6");
static_assert(mg::max_scaled_error(relu_derivative(z2), fd_relu_derivative(z2)) < tolerance, "Q6");
static_assert(mg::max_scaled_error(dh2_1_dW2, fd_dh2_1_dW2.layer<0>().weight) < tolerance, "Q7-Q9");
static_assert(mg::max_scaled_error(dl_dW2, fd_params.layer<2>().weight) < tolerance, "Q10-Q11");
static_assert(mg::max_scaled_error(dh2_dh1, fd_dh2_dh1) < tolerance, "Q12-Q13");
static_assert(mg::max_scaled_error(dl_dh1, fd_dl_dh1) < tolerance, "Q14-Q15");
static_assert(mg::max_scaled_error(dl_dW1, fd_params.layer<0>().weight) < tolerance, "Q16-Q17");
// And the whole network at once, with the library's own checker:
static_assert(mg::gradcheck(params, x, y, mg::squared_error{}) < 1e-6);

// ---- Output -------------------------------------------------------------------------------------
namespace {
void answer(const char* question, const std::string& formula, const std::string& value, const char* note = nullptr) {
    std::printf("%-4s %s\n     = %s\n", question, formula.c_str(), value.c_str());
    if (note) std::printf("     note: %s\n", note);
}
std::string number(double v) { return examples::format_number(v); }
std::string at(const auto& t, std::size_t i) { return number(t[i]); }
std::string at(const auto& t, std::size_t i, std::size_t j) { return number(t(i, j)); }
template <class T, std::size_t R, std::size_t C>
std::string row(const mg::matrix<T, R, C>& m, std::size_t i) {
    mg::vector<T, C> r;
    for (std::size_t j = 0; j < C; ++j) r[j] = m(i, j);
    return format(r);
}
}  // namespace

int main() {
    std::printf("Homework 3: backpropagation through a 4-3-2-1 ReLU network, computed by metagrad\n\n");
    std::printf("x   = %s, y = %s\n", format(x).c_str(), format(y).c_str());
    std::printf("W^1 = %s\nW^2 = %s\nW^3 = %s   (biases 0)\n\n", format(params.layer<0>().weight).c_str(),
                format(params.layer<2>().weight).c_str(), format(params.layer<4>().weight).c_str());
    std::printf("z^1 = W^1 x   = %s    h^1 = sigma(z^1) = %s\n", format(z1).c_str(), format(h1).c_str());
    std::printf("z^2 = W^2 h^1 = %s          h^2 = sigma(z^2) = %s\n", format(z2).c_str(), format(h2).c_str());
    std::printf("h^3 = W^3 h^2 = %s,  l = 1/2 (h^3 - y)^2 = %s,  delta = h^3 - y = %s\n\n",
                number(trace.output()[0]).c_str(), number(mg::squared_error::value(trace.output(), y)).c_str(),
                number(delta).c_str());

    // Every formula below is derived by the library from the network type (report/derivation.hpp);
    // only the values are this file's.
    // [derivation]
    const mg::derivation<homework_network, mg::squared_error> d;
    std::printf("%s, where %s is the network output; sigma is the ReLU.\n\n", d.delta().c_str(), d.activation(5).c_str());
    answer("Q1", d.weight_gradient_element(3, "1", "1"), at(dl_dW3, 0, 0), "the homework writes sigma for delta");
    answer("Q2", d.weight_gradient_element(3, "1", "2"), at(dl_dW3, 0, 1));
    answer("Q3", d.weight_gradient(3), format(dl_dW3));
    answer("Q4", d.activation_gradient_element(4, "1"), at(dl_dh2, 0));
    answer("Q5", d.activation_gradient(4), format(dl_dh2));
    answer("Q6", d.activation_derivative(1) + "; at z^1", format(relu_derivative(z1)));
    answer("", "at z^2", format(relu_derivative(z2)));
    answer("Q7", d.local_weight_jacobian_element(2, "1", "1"), row(dh2_1_dW2, 0),
           "the homework gives sigma(z^1_j) = h^1_j alone: it drops sigma'(z^2_1)");
    answer("Q8", d.local_weight_jacobian_element(2, "1", "2"), row(dh2_1_dW2, 1),
           "the homework repeats Q7's row; h^2_1 does not depend on W^2_2j");
    answer("Q9", d.local_weight_jacobian(2, 1), format(dh2_1_dW2), "second row is 0, not a copy of the first");
    answer("Q10", d.weight_gradient_element(2), at(dl_dW2, 0, 0) + " (i = j = 1)", "the homework drops sigma'(z^2_i)");
    answer("Q11", d.weight_gradient(2), format(dl_dW2),
           "row 2 is 0 because z^2_2 < 0; the homework's formula gives a non-zero row");
    answer("Q12", d.local_input_jacobian_element(2, "1"), row(dh2_dh1, 0), "the homework drops sigma'(z^2_1)");
    answer("Q13", d.local_input_jacobian(2), format(dh2_dh1), "the homework gives only the first row, without sigma'");
    answer("Q14", d.activation_gradient_element(2), at(dl_dh1, 0) + " (j = 1)", "the homework drops sigma'(z^2_m)");
    answer("Q15", d.activation_gradient(2), format(dl_dh1));
    answer("Q16", d.weight_gradient_element(1), at(dl_dW1, 0, 0) + " (i = j = 1)",
           "the homework sums over k instead of taking row i, and drops sigma'(z^1_i)");
    answer("Q17", d.weight_gradient(1), format(dl_dW1),
           "rows differ (row 2 is 0 since z^1_2 < 0); the homework's rows are all equal");

    std::printf("\nThe chain rule of the generated backward pass, in LaTeX:\n%s",
                mg::derivation<homework_network, mg::squared_error>(mg::notation::latex).chain_rule().c_str());
    // [derivation]
    std::printf("\nEvery value above equals central finite differences to %g, checked by static_assert at"
                " compile time;\nthe whole network's gradcheck (all 26 parameters and the input) is below 1e-6.\n",
                tolerance);
}
