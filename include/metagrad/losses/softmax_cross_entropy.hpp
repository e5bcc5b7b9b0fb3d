// metagrad::softmax_cross_entropy: cross-entropy of class probabilities against softmax(logits).
#pragma once

#include <cstddef>
#include <string_view>
#include <type_traits>

#include "metagrad/core/tensor.hpp"
#include "metagrad/eval/vector_math.hpp"
#include "metagrad/losses/loss.hpp"
#include "metagrad/math/exp.hpp"
#include "metagrad/math/log.hpp"

namespace metagrad {

/// Takes logits z (no softmax layer before it) and target probabilities t (one-hot or soft):
/// l = -sum_j t_j log softmax(z)_j = sum_j t_j (lse(z) - z_j), with lse(z) = m + log s,
/// s = sum_k e^{z_k - m}, m = max z, so that large logits neither overflow nor lose the answer.
/// dl/dz_j = (sum_k t_k) softmax(z)_j - t_j, with softmax(z)_j = e^{z_j - m} / s. A batch's loss
/// is the mean of its samples'. `value_and_gradient` computes both from one set of exponentials
/// (a training step's way); `value` and `gradient` alone give the same numbers. At run time,
/// float exponentials are taken a vector at a time (eval/vector_math.hpp, within 1 ulp).
struct softmax_cross_entropy {
    static constexpr std::string_view name = "softmax_cross_entropy";

    template <class T, class P, class Q>
    static constexpr T value(const tensor<T, P>& z, const tensor<T, Q>& t) {
        tensor<T, P> g;
        return value_and_gradient(z, t, g);
    }

    template <class T, class P, class Q>
    static constexpr tensor<T, P> gradient(const tensor<T, P>& z, const tensor<T, Q>& t) {
        tensor<T, P> g;
        value_and_gradient(z, t, g);
        return g;
    }

    /// The loss, with dl/dz written into `g`.
    template <class T, class P, class Q>
    static constexpr T value_and_gradient(const tensor<T, P>& z, const tensor<T, Q>& t, tensor<T, P>& g) {
        if constexpr (detail::check_loss_shapes<P, Q>()) {
            constexpr std::size_t n = P::last;
            // e^{z_j - m} into g, row by row: the shifted logits first, then the exponentials of
            // all of them at once.
            T top[P::rows]{};
            for (std::size_t r = 0; r < P::rows; ++r) {
                top[r] = z[r * n];
                for (std::size_t j = 1; j < n; ++j) top[r] = z[r * n + j] > top[r] ? z[r * n + j] : top[r];
                for (std::size_t j = 0; j < n; ++j) g[r * n + j] = z[r * n + j] - top[r];
            }
            exponentials(g);
            T total_loss{};
            for (std::size_t r = 0; r < P::rows; ++r) {
                T sum{}, mass{};
                for (std::size_t j = 0; j < n; ++j) sum += g[r * n + j], mass += t[r * n + j];
                const T lse = top[r] + math::log(sum);
                for (std::size_t j = 0; j < n; ++j) {
                    total_loss += t[r * n + j] * (lse - z[r * n + j]);
                    g[r * n + j] = (mass * (g[r * n + j] / sum) - t[r * n + j]) / static_cast<T>(P::rows);
                }
            }
            return total_loss / static_cast<T>(P::rows);
        } else {
            return T{};
        }
    }

private:
    template <class T, class P>
    static constexpr void exponentials(tensor<T, P>& x) {
        if constexpr (std::is_same_v<T, float>) {
            if (!std::is_constant_evaluated()) {
                eval::map_lanes<P::size>(x.data.data(), x.data.data(), [](eval::simd<float> v) { return eval::exp(v); });
                return;
            }
        }
        for (auto& v : x) v = math::exp(v);
    }
};

}  // namespace metagrad
