// Tests of include/metagrad/train/: a short run on a real subset of Fashion-MNIST reaching a
// stated accuracy, the progress display off a terminal, the CSV log and the SVG plot.
#include <algorithm>
#include <fstream>
#include <memory>
#include <sstream>
#include <string>

#include <boost/test/unit_test.hpp>

#include "metagrad/metagrad.hpp"

namespace mg = metagrad;

// The loop sets the learning rate of plain SGD (a field of its own) and of the optimizers with
// options alike.
using small_network = mg::sequential<mg::dense<2, 1>>;
static_assert([] {
    mg::sgd<float> plain{0.1f};
    mg::adam<small_network, float> adam(mg::adam_options<float>{.learning_rate = 0.1f});
    mg::set_learning_rate(plain, 0.25f);
    mg::set_learning_rate(adam, 0.5f);
    return plain.learning_rate == 0.25f && adam.options.learning_rate == 0.5f;
}());

BOOST_AUTO_TEST_CASE(a_short_run_on_fashion_mnist_learns) {
    // 6,000 training images, two epochs of a 784-64-10 network; the first 2,000 test images.
    // Stated bar: at least 0.75 test accuracy (chance is 0.10; this run gets about 0.8).
    const std::string dir = "/usr/share/datasets/fashion-mnist";
    auto train = mg::load_idx<float, mg::shape<784>>(dir + "/train-images-idx3-ubyte.gz", dir + "/train-labels-idx1-ubyte.gz", 10)
                     .slice(0, 6000);
    auto test = mg::load_idx<float, mg::shape<784>>(dir + "/t10k-images-idx3-ubyte.gz", dir + "/t10k-labels-idx1-ubyte.gz", 10)
                    .slice(0, 2000);
    mg::scale_to_unit(train, 0.0f, 255.0f);
    mg::scale_to_unit(test, 0.0f, 255.0f);

    using net = mg::sequential<mg::input<784>, mg::dense<64>, mg::relu, mg::dense<10>>;
    auto p = std::make_unique<net::parameters<float>>();
    auto adam = std::make_unique<mg::adam<net, float>>(mg::adam_options<float>{.learning_rate = 2e-3f});
    auto memory = std::make_unique<mg::training_memory<net, float, 32>>();
    mg::random_generator g(1);
    mg::initialize(*p, mg::he_uniform{}, g);
    mg::training_position position{.shuffle = mg::random_generator(2)};
    std::ostringstream log;
    for (int epoch = 0; epoch < 2; ++epoch) {
        mg::progress_bar bar(log, "epoch", 6000 / 32, 32, false);
        const auto m = mg::train_epoch(*p, *adam, mg::constant_rate{2e-3}, train, mg::softmax_cross_entropy{}, position, *memory,
                                       [&](std::size_t done, std::size_t, const mg::metrics&) { bar.update(done, ""); });
        bar.finish("done");
        BOOST_TEST(m.samples == 6000u / 32 * 32);
    }
    const auto result = mg::evaluate(*p, test, mg::softmax_cross_entropy{}, *memory);
    BOOST_TEST_MESSAGE("test accuracy " << result.accuracy());
    BOOST_TEST(result.samples == 2000u);
    BOOST_TEST(result.accuracy() >= 0.75);
    // Off a terminal: plain lines, three quarter marks and a summary per epoch, with rate and time.
    const std::string text = log.str();
    BOOST_TEST(std::count(text.begin(), text.end(), '\n') == 8);
    BOOST_TEST(text.find("samples/s") != std::string::npos);
    BOOST_TEST(text.find('\r') == std::string::npos);
}

BOOST_AUTO_TEST_CASE(the_log_reads_back_and_the_plot_is_drawn) {
    mg::history h;
    h.add({1, 0.9, 0.6, 1.1, 0.55, 1e-3, 2.5, 24000});
    h.add({2, 0.1 + 0.2, 2.0 / 3, 0.7, 0.8, 5e-4, 2.25, 26666.666666666668});
    BOOST_TEST(mg::history::from_csv(h.csv()).csv() == h.csv());
    const auto back = mg::history::from_csv(h.csv());
    BOOST_TEST(back.epochs[1].train_loss == 0.1 + 0.2);  // exactly, not to 9 digits
    BOOST_CHECK_THROW(mg::history::from_csv("epoch\n1,2\n"), std::invalid_argument);

    const std::string csv = std::string(METAGRAD_TEST_OUTPUT) + "/log.csv", svg = std::string(METAGRAD_TEST_OUTPUT) + "/curves.svg";
    h.write_csv(csv);
    mg::write_learning_curves_svg(h, svg, "test <run> & plot");
    std::ifstream in(svg);
    const std::string picture((std::istreambuf_iterator<char>(in)), {});
    BOOST_TEST(picture.find("<svg") == 0u);
    BOOST_TEST(picture.find("<polyline") != std::string::npos);
    // Two panels, each a training and a validation curve.
    std::size_t curves = 0;
    for (std::size_t at = 0; (at = picture.find("<polyline", at)) != std::string::npos; ++at) ++curves;
    BOOST_TEST(curves == 4u);
    BOOST_TEST(picture.find("test &lt;run&gt; &amp; plot") != std::string::npos);
    BOOST_CHECK_THROW(h.write_csv("/nonexistent-directory/log.csv"), std::runtime_error);
}
