// The C++ side of the ONNX export tests (tests/python/test_onnx.py): networks whose seeded
// parameters, graph description, sample inputs and inference outputs this program writes, so that
// python/metagrad_onnx.py makes their ONNX models and an evaluation without metagrad checks them.
//
//   onnx_export_models DIR     writes, for each network NAME below:
//                                DIR/NAME.safetensors   save_for_onnx: parameters, state, graph
//                                DIR/NAME.json          onnx_graph_description alone
//                                DIR/NAME_io.safetensors  "x" (a batch of 5) and "y" = forward(x)
//
// Exits with 1 and the message on an error, 2 on wrong arguments.
#include <cstdio>
#include <exception>
#include <fstream>
#include <memory>
#include <ratio>
#include <string>
#include <string_view>

#include "metagrad/metagrad.hpp"

namespace mg = metagrad;

namespace {
// The two Fashion-MNIST demos' networks, exactly (examples/fashion_mnist.cpp, fashion_cnn.cpp).
using fashion_mlp = mg::sequential<mg::input<784>, mg::dense<256>, mg::relu, mg::dense<128>, mg::relu, mg::dense<10>>;
using fashion_cnn = mg::sequential<mg::input<28, 28, 1>, mg::random_flip,
                                   mg::conv2d<32, mg::kernel<3>, mg::padding<1>, mg::without_bias>, mg::batch_norm<>, mg::relu,
                                   mg::max_pool2d<mg::kernel<2>>,
                                   mg::conv2d<64, mg::kernel<3>, mg::padding<1>, mg::without_bias>, mg::batch_norm<>, mg::relu,
                                   mg::max_pool2d<mg::kernel<2>>,
                                   mg::flatten, mg::dense<256>, mg::relu, mg::dropout<std::ratio<1, 4>>, mg::dense<10>>;

// Blocks: residual (identity and projection), parallel (concatenation and sum), chains inside,
// layer norm on images, global pooling, and a residual block on vectors.
using blocks = mg::sequential<
    mg::input<6, 5, 3>, mg::conv2d<4, mg::kernel<3>, mg::padding<1>>, mg::batch_norm<>, mg::relu,
    mg::residual<mg::chain<mg::conv2d<4, mg::kernel<3>, mg::padding<1>, mg::without_bias>, mg::batch_norm<>, mg::relu,
                           mg::conv2d<4, mg::kernel<3>, mg::padding<1>>>>,
    mg::residual<mg::chain<mg::conv2d<6, mg::kernel<3>, mg::padding<1>>, mg::gelu>, mg::conv2d<6, mg::kernel<1>>>,
    mg::parallel<mg::merge::concatenate, mg::max_pool2d<mg::kernel<3>, mg::stride<1>, mg::padding<1>>,
                 mg::avg_pool2d<mg::kernel<3>, mg::stride<1>, mg::padding<1>>, mg::chain<mg::conv2d<2, mg::kernel<1>>, mg::tanh_layer>>,
    mg::parallel<mg::merge::sum, mg::identity, mg::conv2d<14, mg::kernel<3>, mg::padding<1>, mg::groups<2>>>, mg::layer_norm<>,
    mg::global_avg_pool, mg::dense<8>, mg::residual<mg::chain<mg::dense<8>, mg::silu>, mg::dense<8>>,
    mg::residual<mg::chain<mg::batch_norm<>, mg::dense<8>>>, mg::dense<5>, mg::softmax>;

// Every activation, batch norm and layer norm on vectors, dropout and identity.
using activations =
    mg::sequential<mg::input<12>, mg::dense<12>, mg::relu, mg::dense<12>, mg::leaky_relu<std::ratio<1, 5>>, mg::dense<12>,
                   mg::elu<std::ratio<3, 2>>, mg::dense<12>, mg::sigmoid, mg::dense<12>, mg::tanh_layer, mg::dense<12>, mg::silu,
                   mg::dense<12>, mg::softplus, mg::dense<12>, mg::gelu, mg::dense<12>, mg::gelu_tanh, mg::identity, mg::dropout<>,
                   mg::batch_norm<>, mg::layer_norm<>, mg::dense<5>, mg::log_softmax>;

// Sequences: conv1d with padding, dilation, groups and stride, batch norm, the 1-D pools (a
// dilated mean among them).
using sequences = mg::sequential<mg::input<16, 3>, mg::conv1d<6, mg::kernel<3>, mg::padding<2>, mg::dilation<2>>, mg::batch_norm<>,
                                 mg::leaky_relu<>, mg::max_pool1d<mg::kernel<2>>,
                                 mg::conv1d<6, mg::kernel<3>, mg::groups<3>, mg::stride<2>, mg::without_bias>,
                                 mg::avg_pool1d<mg::kernel<2>, mg::stride<1>, mg::padding<1>>,
                                 mg::avg_pool1d<mg::kernel<2>, mg::stride<1>, mg::dilation<2>>, mg::flatten, mg::dense<4>>;

// Images: the augmentations (left out), a strided, dilated, grouped rectangular convolution, a
// dilated mean pool, a padded rectangular max pool.
using images = mg::sequential<mg::input<9, 8, 4>, mg::random_flip, mg::random_shift<1>,
                              mg::conv2d<6, mg::kernel<3, 2>, mg::stride<2, 1>, mg::dilation<1, 2>, mg::groups<2>>, mg::elu<>,
                              mg::avg_pool2d<mg::kernel<2>, mg::stride<1>, mg::dilation<2>>,
                              mg::max_pool2d<mg::kernel<2, 1>, mg::padding<1, 0>>, mg::dropout<>, mg::flatten, mg::dense<3>>;

// Recurrent layers (ONNX's GRU and LSTM with their gates reordered): every step's state into a
// dense layer at each step; a causal convolution (channels first) into a stateful LSTM (exported
// from zeros) into a GRU's last state; an LSTM's last state.
using sequence_gru = mg::sequential<mg::input<7, 3>, mg::gru<8>, mg::per_step<mg::dense<1>>>;
using sequence_stack = mg::sequential<mg::input<6, 4>, mg::causal_conv1d<5, mg::kernel<2>, mg::without_bias>,
                                      mg::lstm<6, mg::stateful>, mg::gru<4, mg::last_step>, mg::dense<3>>;
using sequence_last = mg::sequential<mg::input<5, 3>, mg::lstm<4, mg::last_step>, mg::dense<2>>;

// Causal, dilated convolutions over time (Conv with padding before the start only).
using causal_convs = mg::sequential<mg::input<12, 2>, mg::causal_conv1d<8, mg::kernel<3>, mg::dilation<1>>, mg::tanh_layer,
                                    mg::causal_conv1d<1, mg::kernel<3>, mg::dilation<2>>>;

// Nothing but the identity in inference: the graph is one Identity node.
using nothing = mg::sequential<mg::input<3>, mg::dropout<>>;

constexpr std::size_t batch = 5;

/// Seeded parameters, with every rank-1 tensor (biases, the norms' scales and shifts, batch
/// norm's running statistics) away from its default, so that an export that dropped or mixed
/// them up would change the outputs.
template <class Net>
void randomize(typename Net::template parameters<float>& p, std::uint64_t seed) {
    mg::random_generator g(seed);
    mg::initialize(p, mg::glorot_normal{}, g);
    const auto ends_with = [](std::string_view name, std::string_view end) {
        return name.size() >= end.size() && name.substr(name.size() - end.size()) == end;
    };
    mg::for_each_named_tensor(
        [&](std::string_view name, auto& t) {
            if constexpr (std::remove_cvref_t<decltype(t)>::shape_type::rank == 1)
                for (auto& v : t) v = ends_with(name, "weight") ? g.uniform(0.5f, 1.5f) : g.uniform(-0.5f, 0.5f);
        },
        p);
    mg::for_each_named_state_tensor(
        [&](std::string_view name, auto& t) {
            for (auto& v : t) v = ends_with(name, "running_var") ? g.uniform(0.5f, 2.0f) : g.uniform(-0.5f, 0.5f);
        },
        p);
}

template <class Net>
void write(const std::string& dir, const std::string& name, std::uint64_t seed) {
    auto p = std::make_unique<typename Net::template parameters<float>>();
    randomize<Net>(*p, seed);
    // [export]
    // Parameters, state and the graph in one file: python3 python/metagrad_onnx.py FILE model.onnx
    mg::save_for_onnx(dir + "/" + name + ".safetensors", *p);
    // The graph alone, from the type: for a file save_parameters or save_checkpoint wrote (--graph).
    std::ofstream(dir + "/" + name + ".json") << mg::onnx_graph_description<Net>();
    // [export]

    using X = mg::batch_of<batch, typename Net::input_shape>;
    auto x = std::make_unique<mg::tensor<float, X>>();
    mg::random_generator g(seed + 1000);
    for (auto& v : *x) v = 1.5f * g.normal<float>();
    // On the heap: the CNN's activations and caches for a batch are megabytes.
    auto trace = std::make_unique<typename Net::template trace_for<float, X>>();
    Net::template forward_trace_into<mg::inference_mode>(*p, *x, *trace);
    mg::safetensors_writer out;
    out.add("x", *x);
    out.add("y", trace->output());
    out.write(dir + "/" + name + "_io.safetensors");
}
}  // namespace

int main(int argc, char** argv) {
    if (argc != 2) {
        std::fprintf(stderr, "usage: onnx_export_models DIR\n");
        return 2;
    }
    const std::string dir = argv[1];
    try {
        write<fashion_mlp>(dir, "fashion_mlp", 1);
        write<fashion_cnn>(dir, "fashion_cnn", 2);
        write<blocks>(dir, "blocks", 3);
        write<activations>(dir, "activations", 4);
        write<sequences>(dir, "sequences", 5);
        write<images>(dir, "images", 6);
        write<nothing>(dir, "nothing", 7);
        write<sequence_gru>(dir, "sequence_gru", 8);
        write<sequence_stack>(dir, "sequence_stack", 9);
        write<sequence_last>(dir, "sequence_last", 10);
        write<causal_convs>(dir, "causal_convs", 11);
    } catch (const std::exception& e) {
        std::fprintf(stderr, "onnx_export_models: %s\n", e.what());
        return 1;
    }
    return 0;
}
