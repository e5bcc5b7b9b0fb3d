// W6's peers: the same streamed models written by hand with Eigen's fixed-size matrices, as a
// real-time inference library's Eigen back end would write them: one sample in, one out, the
// state in members, nothing allocated, the gates' maths in Eigen's vectorized array functions
// (logistic, tanh). Weights are copied from metagrad's parameters (PyTorch's layout and gate
// order, row-major), so that both sides compute the same model; the benchmark checks that they
// agree before timing.
#pragma once

#include <cstddef>

#include <Eigen/Dense>

namespace stream_peers {

template <int Rows, int Columns>
Eigen::Matrix<float, Rows, Columns> from_row_major(const float* p) {
    Eigen::Matrix<float, Rows, Columns> m;
    for (int r = 0; r < Rows; ++r)
        for (int c = 0; c < Columns; ++c) m(r, c) = p[r * Columns + c];
    return m;
}

/// A recurrent layer of H units over one input (GRU when Gates is 3, LSTM when 4), then a dense
/// layer to one output.
template <int Gates, int H>
struct eigen_recurrent {
    Eigen::Matrix<float, Gates * H, 1> w_ih, b_ih, b_hh;
    Eigen::Matrix<float, Gates * H, H> w_hh;
    Eigen::Matrix<float, 1, H> w_out;
    float b_out = 0;
    Eigen::Matrix<float, H, 1> h = Eigen::Matrix<float, H, 1>::Zero(), c = Eigen::Matrix<float, H, 1>::Zero();

    void reset() {
        h.setZero();
        c.setZero();
    }

    template <class Recurrent, class Dense>
    void load(const Recurrent& r, const Dense& d) {
        w_ih = from_row_major<Gates * H, 1>(r.weight_ih_l0.data.data());
        w_hh = from_row_major<Gates * H, H>(r.weight_hh_l0.data.data());
        b_ih = from_row_major<Gates * H, 1>(r.bias_ih_l0.data.data());
        b_hh = from_row_major<Gates * H, 1>(r.bias_hh_l0.data.data());
        w_out = from_row_major<1, H>(d.weight.data.data());
        b_out = d.bias[0];
    }

    float step(float x) {
        const Eigen::Matrix<float, Gates * H, 1> g = w_ih * x + b_ih;
        const Eigen::Matrix<float, Gates * H, 1> q = w_hh * h + b_hh;
        if constexpr (Gates == 3) {
            // r, z, n (PyTorch's order).
            const Eigen::Array<float, 2 * H, 1> rz = (g.template head<2 * H>() + q.template head<2 * H>()).array().logistic();
            const Eigen::Array<float, H, 1> n =
                (g.template tail<H>().array() + rz.template head<H>() * q.template tail<H>().array()).tanh();
            const Eigen::Array<float, H, 1> z = rz.template tail<H>();
            h = ((1.0f - z) * n + z * h.array()).matrix();
        } else {
            // i, f, g, o.
            const Eigen::Matrix<float, 4 * H, 1> a = g + q;
            const Eigen::Array<float, 2 * H, 1> i_f = a.template head<2 * H>().array().logistic();
            const Eigen::Array<float, H, 1> cell = a.template segment<H>(2 * H).array().tanh();
            const Eigen::Array<float, H, 1> o = a.template tail<H>().array().logistic();
            c = (i_f.template tail<H>() * c.array() + i_f.template head<H>() * cell).matrix();
            h = (o * c.array().tanh()).matrix();
        }
        return w_out.dot(h) + b_out;
    }
};

/// A causal convolution of kernel K and dilation D from C to Out channels, its past inputs in a
/// ring of columns, each tap's weights an `Out x C` matrix.
template <int C, int Out, int K, int D>
struct eigen_causal_conv {
    static constexpr int ring = (K - 1) * D + 1;
    Eigen::Matrix<float, Out, C> taps[K];
    Eigen::Matrix<float, Out, 1> bias;
    Eigen::Matrix<float, C, ring> past = Eigen::Matrix<float, C, ring>::Zero();
    int newest = 0;

    // From metagrad's weight (Out x K x C, row-major) and bias.
    template <class P>
    void load(const P& p) {
        for (int k = 0; k < K; ++k)
            for (int o = 0; o < Out; ++o)
                for (int c = 0; c < C; ++c) taps[k](o, c) = p.weight[(o * K + k) * C + c];
        bias = from_row_major<Out, 1>(p.bias.data.data());
    }
    void reset() {
        past.setZero();
        newest = 0;
    }
    Eigen::Matrix<float, Out, 1> step(const Eigen::Matrix<float, C, 1>& x) {
        newest = newest + 1 == ring ? 0 : newest + 1;
        past.col(newest) = x;
        Eigen::Matrix<float, Out, 1> y = bias;
        for (int k = 0; k < K; ++k) {
            int at = newest - (K - 1 - k) * D;
            if (at < 0) at += ring;
            y.noalias() += taps[k] * past.col(at);
        }
        return y;
    }
};

/// W6's convolution stack: 1 -> 8 -> 8 -> 1 channels, kernel 3, dilations 1, 2, 4, tanh between.
struct eigen_conv_stack {
    eigen_causal_conv<1, 8, 3, 1> first;
    eigen_causal_conv<8, 8, 3, 2> second;
    eigen_causal_conv<8, 1, 3, 4> third;

    void reset() {
        first.reset();
        second.reset();
        third.reset();
    }
    float step(float x) {
        const Eigen::Matrix<float, 8, 1> a = first.step(Eigen::Matrix<float, 1, 1>::Constant(x)).array().tanh().matrix();
        const Eigen::Matrix<float, 8, 1> b = second.step(a).array().tanh().matrix();
        return third.step(b)(0);
    }
};

}  // namespace stream_peers
