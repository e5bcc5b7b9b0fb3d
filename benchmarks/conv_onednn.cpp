// oneDNN reference rows of the convolution benchmarks (conv_time.cpp): the same convolutions,
// forward and backward (weights, bias and input gradients) at batch 64, on oneDNN's primitives
// with the memory formats it prefers (`format_tag::any`), the data laid out in them once, outside
// the timing: oneDNN's best case. Threads through OpenMP, which Debian's oneDNN uses.
#include <omp.h>

#include <oneapi/dnnl/dnnl.hpp>

#include <benchmark/benchmark.h>

#include "conv_shapes.hpp"

namespace {
void conv_onednn(benchmark::State& state, long h, long w, long in, long out) {
    using namespace dnnl;
    omp_set_num_threads(static_cast<int>(state.range(0)));
    engine eng(engine::kind::cpu, 0);
    stream s(eng);
    const long n = static_cast<long>(conv_batch);
    const memory::dims src_dims{n, in, h, w}, weight_dims{out, in, 3, 3}, bias_dims{out}, dst_dims{n, out, h, w};
    const memory::dims strides{1, 1}, padding{1, 1};
    using dt = memory::data_type;
    using tag = memory::format_tag;
    const memory::desc src_any(src_dims, dt::f32, tag::any), weight_any(weight_dims, dt::f32, tag::any),
        bias_md(bias_dims, dt::f32, tag::x), dst_any(dst_dims, dt::f32, tag::any);
    const convolution_forward::primitive_desc forward_pd(
        convolution_forward::desc(prop_kind::forward_training, algorithm::convolution_direct, src_any, weight_any, bias_md, dst_any,
                                  strides, padding, padding),
        eng);
    const convolution_backward_data::primitive_desc data_pd(
        convolution_backward_data::desc(algorithm::convolution_direct, src_any, weight_any, dst_any, strides, padding, padding), eng,
        forward_pd);
    const convolution_backward_weights::primitive_desc weights_pd(
        convolution_backward_weights::desc(algorithm::convolution_direct, src_any, weight_any, bias_md, dst_any, strides, padding,
                                           padding),
        eng, forward_pd);
    // Each primitive's preferred layouts; values do not change the timing, so none are reordered.
    memory src(forward_pd.src_desc(), eng), weights(forward_pd.weights_desc(), eng), bias(bias_md, eng), dst(forward_pd.dst_desc(), eng);
    memory diff_dst(data_pd.diff_dst_desc(), eng), diff_src(data_pd.diff_src_desc(), eng),
        data_weights(data_pd.weights_desc(), eng), weights_src(weights_pd.src_desc(), eng),
        weights_diff_dst(weights_pd.diff_dst_desc(), eng), diff_weights(weights_pd.diff_weights_desc(), eng), diff_bias(bias_md, eng);
    for (memory* m : {&src, &weights, &bias, &diff_dst, &data_weights, &weights_src, &weights_diff_dst}) {
        float* p = static_cast<float*>(m->get_data_handle());
        const std::size_t count = m->get_desc().get_size() / sizeof(float);
        for (std::size_t i = 0; i < count; ++i) p[i] = static_cast<float>((i * 7919) % 2000) / 1000.0f - 1.0f;
    }
    convolution_forward forward(forward_pd);
    convolution_backward_data backward_data(data_pd);
    convolution_backward_weights backward_weights(weights_pd);
    for (auto _ : state) {
        forward.execute(s, {{DNNL_ARG_SRC, src}, {DNNL_ARG_WEIGHTS, weights}, {DNNL_ARG_BIAS, bias}, {DNNL_ARG_DST, dst}});
        backward_data.execute(s, {{DNNL_ARG_DIFF_DST, diff_dst}, {DNNL_ARG_WEIGHTS, data_weights}, {DNNL_ARG_DIFF_SRC, diff_src}});
        backward_weights.execute(s, {{DNNL_ARG_SRC, weights_src}, {DNNL_ARG_DIFF_DST, weights_diff_dst},
                                     {DNNL_ARG_DIFF_WEIGHTS, diff_weights}, {DNNL_ARG_DIFF_BIAS, diff_bias}});
        s.wait();
        benchmark::DoNotOptimize(diff_src.get_data_handle());
    }
    omp_set_num_threads(1);
    state.counters["GFLOP/s"] = benchmark::Counter(conv_flops(static_cast<std::size_t>(h), static_cast<std::size_t>(w),
                                                              static_cast<std::size_t>(in), static_cast<std::size_t>(out)),
                                                   benchmark::Counter::kIsIterationInvariantRate, benchmark::Counter::kIs1000);
}
void c1_onednn(benchmark::State& state) { conv_onednn(state, 14, 14, 32, 64); }
void c2_onednn(benchmark::State& state) { conv_onednn(state, 28, 28, 1, 32); }
}  // namespace

BENCHMARK(c1_onednn)->ArgName("threads")->Arg(1)->Arg(2)->Unit(benchmark::kMillisecond);
BENCHMARK(c2_onednn)->ArgName("threads")->Arg(1)->Arg(2)->Unit(benchmark::kMillisecond);
