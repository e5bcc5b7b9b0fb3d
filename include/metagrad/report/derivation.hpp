// metagrad::derivation: the chain rule a network's generated backward pass implements, written
// out from the network type in the homework's notation, as plain text or LaTeX.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>
#include <type_traits>
#include <vector>

#include "metagrad/core/network.hpp"
#include "metagrad/layers/dense.hpp"
#include "metagrad/layers/identity.hpp"
#include "metagrad/layers/leaky_relu.hpp"
#include "metagrad/layers/relu.hpp"
#include "metagrad/layers/sigmoid.hpp"
#include "metagrad/layers/tanh.hpp"
#include "metagrad/losses/softmax_cross_entropy.hpp"
#include "metagrad/losses/squared_error.hpp"

// g++ 12 warns falsely on "literal" + std::string (-Wrestrict, GCC PR 105329); this header
// builds many such strings.
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wrestrict"
#endif

namespace metagrad {

/// Plain text (`dl/dW^1_ij = delta W^3_1i sigma'(z^2_i) h^1_j`) or LaTeX
/// (`\frac{\partial l}{\partial W^{1}_{ij}} = \delta W^{3}_{1i} \sigma'(z^{2}_{i}) h^{1}_{j}`).
enum class notation { text, latex };

/// How a layer appears in a derivation. The default is a layer with Jacobian J (written
/// generically); `affine` layers (dense) are W^k h + b^k; `activation` layers apply `symbol`
/// element by element, with derivative `derivative` (text and LaTeX, in z). Specialize it for
/// your own layers.
template <class L>
struct derivation_notation {
    static constexpr std::string_view kind = "other";
};
template <std::size_t... Sizes>
struct derivation_notation<dense<Sizes...>> {
    static constexpr std::string_view kind = "affine";
};
template <>
struct derivation_notation<identity> {
    static constexpr std::string_view kind = "identity";
};
template <std::size_t... Extents>
struct derivation_notation<input<Extents...>> {
    static constexpr std::string_view kind = "identity";
};
// The homework writes sigma for the ReLU.
template <>
struct derivation_notation<relu> {
    static constexpr std::string_view kind = "activation", text = "sigma", latex = "\\sigma";
    static constexpr std::string_view derivative_text = "1 if z > 0, else 0";
    static constexpr std::string_view derivative_latex = "\\begin{cases} 1 & z > 0 \\\\ 0 & z \\le 0 \\end{cases}";
};
template <class Slope>
struct derivation_notation<leaky_relu<Slope>> {
    static constexpr std::string_view kind = "activation", text = "sigma", latex = "\\sigma";
    static constexpr std::string_view derivative_text = "1 if z > 0, else the slope";
    static constexpr std::string_view derivative_latex = "\\begin{cases} 1 & z > 0 \\\\ a & z \\le 0 \\end{cases}";
};
template <>
struct derivation_notation<tanh_layer> {
    static constexpr std::string_view kind = "activation", text = "tanh", latex = "\\tanh";
    static constexpr std::string_view derivative_text = "1 - tanh(z)^2";
    static constexpr std::string_view derivative_latex = "1 - \\tanh^2(z)";
};
template <>
struct derivation_notation<sigmoid> {
    static constexpr std::string_view kind = "activation", text = "s", latex = "s";
    static constexpr std::string_view derivative_text = "s(z) (1 - s(z))";
    static constexpr std::string_view derivative_latex = "s(z)\\,(1 - s(z))";
};

/// What delta, the loss's gradient with respect to the network output h^L, is for a loss.
template <class Loss>
struct loss_notation {
    static constexpr std::string_view text = "dl/dh^L", latex = "\\frac{\\partial l}{\\partial h^{L}}";
};
template <>
struct loss_notation<squared_error> {
    static constexpr std::string_view text = "h^L - y", latex = "h^{L} - y";
};
template <>
struct loss_notation<mse> {
    static constexpr std::string_view text = "(2/n) (h^L - y)", latex = "\\tfrac{2}{n}(h^{L} - y)";
};
template <>
struct loss_notation<softmax_cross_entropy> {
    static constexpr std::string_view text = "softmax(h^L) - y", latex = "\\operatorname{softmax}(h^{L}) - y";
};

/// The derivation of network `Net`'s backward pass under `Loss`, in the homework's notation:
/// x is the input; the k-th dense layer (1-based) computes z^k = W^k h^(k-1) + b^k, and h^k is its
/// activation's output (or z^k itself, named h^k, when no activation follows); delta is dl/dh^L.
/// Everything is read off the layer types: names, sizes, which layers are affine and which act
/// element-wise. Formulas come in two forms: element-wise (with indices and sums, as the homework
/// writes them) and as matrix products (* or \odot is the element-wise product).
template <class Net, class Loss>
class derivation {
public:
    explicit derivation(notation n = notation::text) : n_(n) {}

    /// The name of activation `a` (0 = input, `Net::depth` = output): x, z^k or h^k.
    std::string activation(std::size_t a) const { return symbol(names()[a].base, names()[a].level, ""); }

    /// What delta is: "delta = h^L - y" for squared error, with L the output's level.
    std::string delta() const {
        std::string d = n_ == notation::text ? std::string(loss_notation<Loss>::text) : std::string(loss_notation<Loss>::latex);
        const std::string level = names()[Net::depth].level;
        for (std::size_t at; (at = d.find('L')) != std::string::npos;) d.replace(at, 1, level);
        return word("delta") + " = " + d;
    }

    /// The derivative of the element-wise activation after dense layer k: "sigma'(z) = 1 if z > 0, else 0".
    std::string activation_derivative(std::size_t k) const {
        std::string out;
        visit([&]<std::size_t I>(std::integral_constant<std::size_t, I>) {
            using N = derivation_notation<typename Net::template layer_type<I>>;
            if constexpr (N::kind == "activation") {
                if (out.empty() && I > 0 && affine_number(I - 1) == k)
                    out = (n_ == notation::text ? std::string(N::text) + "'(z)" : std::string(N::latex) + "'(z)") + " = " +
                          std::string(n_ == notation::text ? N::derivative_text : N::derivative_latex);
            }
        });
        return out;
    }

    /// dl/dW^k_ij, element-wise: "dl/dW^2_ij = delta W^3_1i sigma'(z^2_i) h^1_j".
    std::string weight_gradient_element(std::size_t k, std::string_view i = "i", std::string_view j = "j") const {
        const std::size_t at = affine_position(k);
        term t = element(at + 1, std::string(i));
        t.factors.push_back(symbol(names()[at].base, names()[at].level, std::string(j)));
        return partial("l", symbol("W", std::to_string(k), std::string(i) + std::string(j))) + " = " + render(t);
    }
    /// dl/db^k_i: "dl/db^3_1 = delta".
    std::string bias_gradient_element(std::size_t k, std::string_view i = "i") const {
        return partial("l", symbol("b", std::to_string(k), std::string(i))) + " = " + render(element(affine_position(k) + 1, std::string(i)));
    }
    /// dl/d(activation a)_j: "dl/dh^1_j = sum_m delta W^3_1m sigma'(z^2_m) W^2_mj".
    std::string activation_gradient_element(std::size_t a, std::string_view j = "j") const {
        return partial("l", symbol(names()[a].base, names()[a].level, std::string(j))) + " = " + render(element(a, std::string(j)));
    }

    /// dl/dW^k as a matrix: "dl/dW^2 = (((W^3)^T delta) * sigma'(z^2)) (h^1)^T".
    std::string weight_gradient(std::size_t k) const {
        const std::size_t at = affine_position(k);
        return partial("l", symbol("W", std::to_string(k), "")) + " = " + wrap(matrix(at + 1)) + " " +
               transposed(activation(at));
    }
    /// dl/db^k as a vector: "dl/db^2 = ((W^3)^T delta) * sigma'(z^2)".
    std::string bias_gradient(std::size_t k) const {
        return partial("l", symbol("b", std::to_string(k), "")) + " = " + matrix(affine_position(k) + 1);
    }
    /// dl/d(activation a) as a vector: "dl/dh^1 = (W^2)^T (((W^3)^T delta) * sigma'(z^2))".
    std::string activation_gradient(std::size_t a) const { return partial("l", activation(a)) + " = " + matrix(a); }

    /// The Jacobian of dense layer k's activated output h^k with respect to its own weights,
    /// one element: "dh^2_1/dW^2_1j = sigma'(z^2_1) h^1_j", or "= 0" when the weight's row r is
    /// not the output's row i (both numbers).
    std::string local_weight_jacobian_element(std::size_t k, std::string_view i, std::string_view r,
                                              std::string_view j = "j") const {
        const std::size_t at = affine_position(k);
        const std::string lhs = partial(out_symbol(at, std::string(i)), symbol("W", std::to_string(k), std::string(r) + std::string(j)));
        if (i != r) return lhs + " = 0";
        return lhs + " = " + join({local_derivative(at, std::string(i)), symbol(names()[at].base, names()[at].level, std::string(j))});
    }
    /// The same for all of W^k at once, one row per output: "dh^2_1/dW^2 = [sigma'(z^2_1) (h^1)^T; 0]".
    std::string local_weight_jacobian(std::size_t k, std::size_t i) const {
        const std::size_t at = affine_position(k);
        std::string rows;
        for (std::size_t r = 1; r <= outputs_of(at); ++r) {
            if (r > 1) rows += n_ == notation::text ? "; " : " \\\\ ";
            rows += r == i ? join({local_derivative(at, std::to_string(i)), transposed(activation(at))}) : "0";
        }
        const std::string matrix = n_ == notation::text ? "[" + rows + "]" : "\\begin{bmatrix} " + rows + " \\end{bmatrix}";
        return partial(out_symbol(at, std::to_string(i)), symbol("W", std::to_string(k), "")) + " = " + matrix;
    }
    /// The Jacobian of h^k with respect to h^(k-1), one element: "dh^2_1/dh^1_j = sigma'(z^2_1) W^2_1j".
    std::string local_input_jacobian_element(std::size_t k, std::string_view i, std::string_view j = "j") const {
        const std::size_t at = affine_position(k);
        return partial(out_symbol(at, std::string(i)), symbol(names()[at].base, names()[at].level, std::string(j))) + " = " +
               join({local_derivative(at, std::string(i)), symbol("W", std::to_string(k), std::string(i) + std::string(j))});
    }
    /// ... and whole: "dh^2/dh^1 = diag(sigma'(z^2)) W^2".
    std::string local_input_jacobian(std::size_t k) const {
        const std::size_t at = affine_position(k);
        const std::string d = local_derivative(at, "");
        const std::string scale = d.empty() ? "" : (n_ == notation::text ? "diag(" + d + ") " : "\\operatorname{diag}(" + d + ")\\, ");
        return partial(out_symbol(at, ""), activation(at)) + " = " + scale + symbol("W", std::to_string(k), "");
    }

    /// Every parameter's gradient, one line each, as matrix products, after the definition of delta.
    std::string chain_rule() const {
        std::string out = delta() + "\n";
        for (std::size_t k = affine_count(); k >= 1; --k) out += weight_gradient(k) + "\n" + bias_gradient(k) + "\n";
        return out;
    }

private:
    struct name {
        std::string base, level;
    };
    struct term {
        std::vector<std::string> sums, factors;
    };

    template <class F>
    static void visit(F&& f) {
        [&]<std::size_t... I>(std::index_sequence<I...>) {
            (f(std::integral_constant<std::size_t, I>{}), ...);
        }(std::make_index_sequence<Net::depth>{});
    }
    template <std::size_t I>
    static constexpr std::string_view kind_at = derivation_notation<typename Net::template layer_type<I>>::kind;

    static std::vector<std::string_view> kinds() {
        std::vector<std::string_view> out;
        visit([&]<std::size_t I>(std::integral_constant<std::size_t, I>) { out.push_back(kind_at<I>); });
        return out;
    }
    /// The 1-based number of the dense layer at position `at` (0 if it is not dense).
    static std::size_t affine_number(std::size_t at) {
        std::size_t k = 0;
        const auto all = kinds();
        for (std::size_t i = 0; i <= at; ++i) k += all[i] == "affine";
        return all[at] == "affine" ? k : 0;
    }
    static std::size_t affine_count() {
        std::size_t k = 0;
        for (const auto kind : kinds()) k += kind == "affine";
        return k;
    }
    static std::size_t affine_position(std::size_t k) {
        for (std::size_t at = 0; at < Net::depth; ++at)
            if (affine_number(at) == k) return at;
        return 0;
    }
    static std::size_t outputs_of(std::size_t at) {
        std::size_t out = 0;
        visit([&]<std::size_t I>(std::integral_constant<std::size_t, I>) {
            if (I == at) out = Net::template shape_at<I + 1>::last;
        });
        return out;
    }
    /// x for the input; z^k after dense layer k when an activation follows, else h^k; h^k
    /// after that activation; pass-through layers keep their input's name; others get a_i.
    static std::vector<name> names() {
        const auto all = kinds();
        std::vector<name> out{{"x", ""}};
        for (std::size_t at = 0; at < Net::depth; ++at) {
            if (all[at] == "affine") {
                const std::string k = std::to_string(affine_number(at));
                out.push_back({at + 1 < Net::depth && all[at + 1] == "activation" ? "z" : "h", k});
            } else if (all[at] == "activation" && out.back().base == "z") {
                out.push_back({"h", out.back().level});
            } else if (all[at] == "identity") {
                out.push_back(out.back());
            } else {
                out.push_back({"a", std::to_string(at + 1)});
            }
        }
        return out;
    }

    std::string word(std::string_view w) const {
        if (n_ == notation::text) return std::string(w);
        return "\\" + std::string(w);  // delta, sigma
    }
    std::string symbol(const std::string& base, const std::string& level, const std::string& index) const {
        if (n_ == notation::text) return base + (level.empty() ? "" : "^" + level) + (index.empty() ? "" : "_" + index);
        return base + (level.empty() ? "" : "^{" + level + "}") + (index.empty() ? "" : "_{" + index + "}");
    }
    std::string partial(const std::string& of, const std::string& by) const {
        if (n_ == notation::text) return "d" + of + "/d" + by;
        return "\\frac{\\partial " + of + "}{\\partial " + by + "}";
    }
    std::string transposed(const std::string& s) const {
        const bool simple = s.find('^') == std::string::npos;
        if (n_ == notation::text) return simple ? s + "^T" : "(" + s + ")^T";
        return simple ? s + "^{\\top}" : "(" + s + ")^{\\top}";
    }
    std::string wrap(const std::string& s) const {
        if (s.find(' ') == std::string::npos) return s;
        return n_ == notation::text ? "(" + s + ")" : "\\left(" + s + "\\right)";
    }
    static std::string join(const std::vector<std::string>& parts) {
        std::string out;
        for (const auto& p : parts)
            if (!p.empty()) out += (out.empty() ? "" : " ") + p;
        return out;
    }
    std::string render(const term& t) const {
        std::string out;
        for (const auto& s : t.sums) out += (n_ == notation::text ? "sum_" + s : "\\sum_{" + s + "}") + " ";
        return out + join(t.factors);
    }

    /// The name of the activated output of dense layer at `at` (h^k), with an index.
    std::string out_symbol(std::size_t at, const std::string& index) const {
        const std::size_t after = at + 1 < Net::depth && kinds()[at + 1] == "activation" ? at + 2 : at + 1;
        return symbol(names()[after].base, names()[after].level, index);
    }
    /// The derivative of the activation after the dense layer at `at`, at element `index`
    /// ("sigma'(z^2_1)"), or nothing when no activation follows.
    std::string local_derivative(std::size_t at, const std::string& index) const {
        std::string out;
        visit([&]<std::size_t I>(std::integral_constant<std::size_t, I>) {
            using N = derivation_notation<typename Net::template layer_type<I>>;
            if constexpr (N::kind == "activation")
                if (I == at + 1) out = activation_prime<N>(names()[I].level, index);
        });
        return out;
    }
    template <class N>
    std::string activation_prime(const std::string& level, const std::string& index) const {
        return std::string(n_ == notation::text ? N::text : N::latex) + "'(" + symbol("z", level, index) + ")";
    }

    /// (dl/da)_index for activation a, as sums of products, unrolled through every layer after a.
    term element(std::size_t a, const std::string& index, std::size_t depth_of_sums = 0) const {
        if (a == Net::depth) {
            const bool scalar = Net::output_shape::size == 1;
            return {{}, {scalar ? word("delta") : symbol(word("delta"), "", index)}};
        }
        term t;
        bool handled = false;
        visit([&]<std::size_t I>(std::integral_constant<std::size_t, I>) {
            if (I != a || handled) return;
            handled = true;
            using N = derivation_notation<typename Net::template layer_type<I>>;
            if constexpr (N::kind == "identity") {
                t = element(a + 1, index, depth_of_sums);
            } else if constexpr (N::kind == "activation") {
                t = element(a + 1, index, depth_of_sums);
                t.factors.push_back(activation_prime<N>(names()[a].level, index));
            } else if constexpr (N::kind == "affine") {
                const std::string k = std::to_string(affine_number(a));
                if (Net::template shape_at<I + 1>::last == 1) {
                    t = element(a + 1, "1", depth_of_sums);
                    t.factors.push_back(symbol("W", k, "1" + index));
                } else {
                    static constexpr std::string_view letters = "mnpqrstuv";
                    const std::string m(1, letters[depth_of_sums % letters.size()]);
                    t = element(a + 1, m, depth_of_sums + 1);
                    t.sums.insert(t.sums.begin(), m);
                    t.factors.push_back(symbol("W", k, m + index));
                }
            } else {
                const std::string grad = partial("l", activation(a + 1));
                t = {{}, {"(" + symbol("J", std::to_string(a + 1), "") + (n_ == notation::text ? "^T " : "^{\\top} ") + grad + ")_" + index}};
            }
        });
        return t;
    }

    /// dl/da for activation a as matrix products.
    std::string matrix(std::size_t a) const {
        if (a == Net::depth) return word("delta");
        std::string out;
        bool handled = false;
        visit([&]<std::size_t I>(std::integral_constant<std::size_t, I>) {
            if (I != a || handled) return;
            handled = true;
            using N = derivation_notation<typename Net::template layer_type<I>>;
            const std::string after = matrix(a + 1);
            if constexpr (N::kind == "identity") {
                out = after;
            } else if constexpr (N::kind == "activation") {
                out = wrap(after) + (n_ == notation::text ? " * " : " \\odot ") + activation_prime<N>(names()[a].level, "");
            } else if constexpr (N::kind == "affine") {
                out = transposed(symbol("W", std::to_string(affine_number(a)), "")) + " " + wrap(after);
            } else {
                out = transposed(symbol("J", std::to_string(a + 1), "")) + " " + wrap(after);
            }
        });
        return out;
    }

    notation n_;
};

}  // namespace metagrad

#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic pop
#endif
