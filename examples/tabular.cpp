// Trains a small network on scikit-learn's breast cancer data set (569 samples, 30 features,
// 2 classes), read from the CSV file Debian's python3-sklearn ships.
//
//   tabular [--data FILE] [--epochs N] [--seed S]
#include <cstdio>
#include <iostream>
#include <string>

// Only the areas this program uses (not all of metagrad/metagrad.hpp, which brings threads and
// every file format): the build takes about half as long.
#include <metagrad/core/network.hpp>
#include <metagrad/data/normalize.hpp>
#include <metagrad/init/initializers.hpp>
#include <metagrad/io/csv.hpp>
#include <metagrad/layers/dense.hpp>
#include <metagrad/layers/identity.hpp>  // input<...>
#include <metagrad/layers/tanh.hpp>
#include <metagrad/losses/softmax_cross_entropy.hpp>
#include <metagrad/optim/adam.hpp>
#include <metagrad/optim/schedule.hpp>
#include <metagrad/train/confusion_matrix.hpp>
#include <metagrad/train/loop.hpp>

#include "whole_number.hpp"

namespace mg = metagrad;

// [network]
using network = mg::sequential<mg::input<30>, mg::dense<16>, mg::tanh_layer, mg::dense<2>>;
constexpr std::size_t batch_size = 16;
// [network]

int main(int argc, char** argv) try {
    std::string path = "/usr/lib/python3/dist-packages/sklearn/datasets/data/breast_cancer.csv";
    std::size_t epochs = 60;
    std::uint64_t seed = 7;
    for (int i = 1; i + 1 < argc; i += 2) {
        const std::string flag = argv[i], value = argv[i + 1];
        if (flag == "--data") path = value;
        else if (flag == "--epochs") epochs = whole_number(argv[0], flag, value);
        else if (flag == "--seed") seed = whole_number(argv[0], flag, value);
        else throw std::invalid_argument("unknown option " + flag);
    }

    // [data]
    auto all = mg::load_csv<double, mg::shape<30>>(path, 2, {.sklearn_header = true});
    mg::random_generator split(seed);
    mg::shuffle(all, split);  // the file is not in random order
    const std::size_t test_size = all.size() / 5;
    auto test = all.slice(0, test_size);
    auto validation = all.slice(test_size, 2 * test_size);
    auto train = all.slice(2 * test_size, all.size());
    const auto scaling = mg::standardizer<double, mg::shape<30>>::fit(train);  // training statistics only
    for (auto* d : {&train, &validation, &test}) scaling.apply(*d);
    // [data]
    std::printf("breast cancer: %zu training, %zu validation, %zu test samples\n", train.size(), validation.size(), test.size());

    // A network this small is a plain value: parameters, optimizer and memory on the stack.
    network::parameters<double> parameters;
    mg::random_generator init(seed + 1);
    mg::initialize(parameters, mg::glorot_uniform{}, init);
    mg::adamw<network, double> optimizer({.learning_rate = 3e-3, .weight_decay = 1e-2});
    mg::training_memory<network, double, batch_size> memory;
    mg::training_position position{.shuffle = mg::random_generator(seed + 2), .stopping = {.patience = 10}};
    const mg::warmup schedule{20, mg::cosine_decay{.initial = 3e-3, .final = 1e-4, .steps = epochs * (train.size() / batch_size)}};

    for (std::size_t epoch = 0; epoch < epochs; ++epoch) {
        const auto fit = mg::train_epoch(parameters, optimizer, schedule, train, mg::softmax_cross_entropy{}, position,
                                         memory, [](std::size_t, std::size_t, const mg::metrics&) {});
        const auto held_out = mg::evaluate(parameters, validation, mg::softmax_cross_entropy{}, memory);
        if (epoch % 10 == 9 || epoch + 1 == epochs)
            std::printf("epoch %3zu  loss %.4f acc %.4f | validation loss %.4f acc %.4f\n", epoch + 1, fit.loss(), fit.accuracy(),
                        held_out.loss(), held_out.accuracy());
        if (position.stopping.should_stop(held_out.loss())) {
            std::printf("early stop after epoch %zu\n", epoch + 1);
            break;
        }
    }
    const auto result = mg::evaluate(parameters, test, mg::softmax_cross_entropy{}, memory);
    std::printf("test accuracy %.4f (loss %.4f) on %zu samples\n", result.accuracy(), result.loss(), test.size());
    // [confusion]
    // Which classes the errors fall in: rows are true classes, columns predictions.
    const mg::confusion_matrix confusion = mg::confusion_matrix_of(parameters, test, memory);
    std::printf("\n%s", confusion.table({"malignant", "benign"}).c_str());
    // [confusion]
    return 0;
} catch (const std::exception& e) {
    std::cerr << "tabular: " << e.what() << '\n';
    return 1;
}
