// Tests of include/metagrad/train/: a short run on a real subset of Fashion-MNIST reaching a
// stated accuracy, the progress display off a terminal, the CSV log and the SVG plot; and what
// each of them does with NaN and infinities (train_epoch and evaluate stop, the log and the plot
// mark them).
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <fstream>
#include <limits>
#include <memory>
#include <optional>
#include <sstream>
#include <string>
#include <string_view>
#include <type_traits>
#include <vector>

#include <boost/test/unit_test.hpp>

#include "../support.hpp"
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
    // The value axes' labels are round numbers: loss 0.3 to 1.1 in steps of 0.1, accuracy 0.55
    // to 0.8 in steps of 0.05 (they were 0.501, 0.447, ...: the extremes split in four).
    std::vector<std::string> labels;
    const std::string label = "text-anchor='end' font-size='11'>";
    for (std::size_t at = 0; (at = picture.find(label, at)) != std::string::npos; ++at) {
        const std::size_t begin = at + label.size();
        labels.push_back(picture.substr(begin, picture.find('<', begin) - begin));
    }
    const std::vector<std::string> expected{"0.3", "0.4", "0.5", "0.6", "0.7", "0.8", "0.9", "1.0", "1.1",
                                            "0.55", "0.60", "0.65", "0.70", "0.75", "0.80"};
    BOOST_TEST(labels == expected, boost::test_tools::per_element());
}

// The signatures docs/training.md gives for the learning curves.
static_assert(std::is_same_v<decltype(&mg::history::add), void (mg::history::*)(const mg::epoch_record&)>);
static_assert(std::is_same_v<decltype(static_cast<void (mg::history::*)(const std::string&) const>(&mg::history::write_csv)),
                             void (mg::history::*)(const std::string&) const>);
static_assert(std::is_same_v<decltype(&mg::history::write_csv<std::ostream>), void (mg::history::*)(const std::string&, std::ostream&) const>);
static_assert(std::is_same_v<decltype(&mg::history::csv), std::string (mg::history::*)() const>);
static_assert(std::is_same_v<decltype(&mg::history::non_finite_fields), std::string (mg::history::*)() const>);
static_assert(std::is_same_v<decltype(&mg::history::from_csv), mg::history (*)(std::string_view)>);
static_assert(std::is_same_v<decltype(&mg::write_learning_curves_svg), void (*)(const mg::history&, const std::string&, const std::string&)>);
static_assert(std::is_same_v<decltype(mg::history::epochs), std::vector<mg::epoch_record>>);
static_assert(std::is_same_v<decltype(mg::epoch_record::samples_per_second), double> && std::is_same_v<decltype(mg::epoch_record::epoch), std::size_t>);

BOOST_AUTO_TEST_CASE(plot_axes_step_by_one_two_or_five_times_a_power_of_ten) {
    const auto check = [](double low, double high, double first, double step, std::size_t intervals, int decimals) {
        const auto axis = mg::detail::round_axis(low, high);
        BOOST_TEST(axis.low == first, boost::test_tools::tolerance(1e-12));
        BOOST_TEST(axis.step == step, boost::test_tools::tolerance(1e-12));
        BOOST_TEST(axis.intervals == intervals);
        BOOST_TEST(axis.decimals == decimals);
        BOOST_TEST(axis.low <= low);
        BOOST_TEST(axis.high() >= high);
    };
    check(0.447, 0.501, 0.44, 0.01, 7, 2);
    check(0.2, 1.1, 0.2, 0.1, 9, 1);
    check(0, 130, 0, 20, 7, 0);
    check(-3.2, 7, -4, 2, 6, 0);
    check(3, 3, 2.5, 0.1, 10, 1);      // one value: a unit around it
    check(0.0, 0.0015, 0.0, 0.0002, 8, 4);
    check(1e6, 1e6 + 3, 1e6, 0.5, 6, 1);
    BOOST_TEST(mg::detail::number_text(-1e-17, 2) == "0.00");  // never "-0.00"
    const auto huge = mg::detail::round_axis(-1e308, 1e308);  // the span overflows: four plain steps
    BOOST_TEST(huge.intervals == 4u);
    BOOST_TEST(std::isfinite(huge.step));
}

// ---- Non-finite values --------------------------------------------------------------------------
namespace {
using tiny = mg::sequential<mg::input<4>, mg::dense<8>, mg::relu, mg::dense<3>>;
constexpr std::size_t tiny_batch = 4;

// 64 separable samples of 3 classes; `nan_at` (if below 64) gets a NaN feature.
mg::dataset<float, mg::shape<4>> tiny_data(std::size_t nan_at = 64) { return test_support::separable_classes(nan_at); }

struct tiny_run {
    std::unique_ptr<tiny::parameters<float>> p = std::make_unique<tiny::parameters<float>>();
    std::unique_ptr<mg::training_memory<tiny, float, tiny_batch>> memory = std::make_unique<mg::training_memory<tiny, float, tiny_batch>>();
    mg::training_position position{.shuffle = mg::random_generator(3)};
    tiny_run() {
        mg::random_generator g(1);
        mg::initialize(*p, mg::he_uniform{}, g);
    }
};

// Runs one epoch and returns the error it threw, with the parameters as the last finished step
// left them.
template <class Optimizer, class Schedule>
std::optional<mg::non_finite_error> failing_epoch(tiny_run& run, Optimizer& optimizer, Schedule schedule,
                                                  const mg::dataset<float, mg::shape<4>>& data, mg::finite_checks checks,
                                                  tiny::parameters<float>* last_good = nullptr) {
    if (last_good) *last_good = *run.p;
    try {
        mg::train_epoch(*run.p, optimizer, schedule, data, mg::softmax_cross_entropy{}, run.position, *run.memory,
                        [&](std::size_t, std::size_t, const mg::metrics&) {
                            if (last_good) *last_good = *run.p;
                        },
                        checks);
    } catch (const mg::non_finite_error& e) {
        return e;
    }
    return std::nullopt;
}
}  // namespace

// The finding: one NaN feature went through relu as 0, so every printed loss stayed finite while
// the first layer's weights became NaN. Now the loss of the batch holding it is NaN, and the
// epoch stops there with an error that says where, before that step changes anything.
BOOST_AUTO_TEST_CASE(a_nan_in_the_data_stops_the_epoch_at_its_step) {
    const auto data = tiny_data(37);
    tiny_run run;
    auto adam = std::make_unique<mg::adam<tiny, float>>(mg::adam_options<float>{.learning_rate = 1e-2f});
    tiny::parameters<float> last_good;
    const auto error = failing_epoch(run, *adam, mg::constant_rate{1e-2}, data, {}, &last_good);
    BOOST_REQUIRE(error.has_value());
    BOOST_TEST_MESSAGE(error->what());
    BOOST_TEST(error->epoch == 1u);
    BOOST_TEST(error->batches == 16u);
    BOOST_TEST(error->step == error->batch);  // the first epoch
    BOOST_TEST(error->tensor.empty());
    const std::string what = error->what();
    BOOST_TEST(what.find("the loss is nan at epoch 1, batch " + std::to_string(error->batch) + " of 16 (step " +
                         std::to_string(error->step) + " of the run)") != std::string::npos);
    BOOST_TEST(what.find("the parameters, the optimizer and the training position are as before that step") != std::string::npos);
    // Nothing was updated by the failing step: the parameters are the last good step's, all finite.
    BOOST_TEST((*run.p == last_good));
    BOOST_TEST(mg::first_non_finite(*run.p).empty());
    BOOST_TEST(run.position.step == error->step - 1);
    BOOST_TEST(run.position.epoch == 0u);
    // Plain SGD, whose update is fused into the backward pass, stops as early.
    tiny_run sgd_run;
    mg::sgd<float> sgd{0.1f};
    const auto sgd_error = failing_epoch(sgd_run, sgd, mg::constant_rate{0.1}, data, {}, &last_good);
    BOOST_REQUIRE(sgd_error.has_value());
    BOOST_TEST((*sgd_run.p == last_good));
    // With the check off, the epoch runs through and its loss says so.
    tiny_run unchecked;
    auto adam2 = std::make_unique<mg::adam<tiny, float>>(mg::adam_options<float>{.learning_rate = 1e-2f});
    const auto m = mg::train_epoch(*unchecked.p, *adam2, mg::constant_rate{1e-2}, data, mg::softmax_cross_entropy{}, unchecked.position,
                                   *unchecked.memory, [](std::size_t, std::size_t, const mg::metrics&) {}, mg::finite_checks{.loss = false});
    BOOST_TEST(std::isnan(m.loss()));
}

// A learning rate so large that the update overflows: without the tensor check the next step's
// loss stops the epoch; with it, the first update does, naming the first parameter that is not
// finite as checkpoints name it.
BOOST_AUTO_TEST_CASE(a_diverging_update_is_named_with_the_tensor_check) {
    const auto data = tiny_data();
    {
        tiny_run run;
        mg::sgd<float> sgd{1};
        const auto error = failing_epoch(run, sgd, mg::constant_rate{1e300}, data, {});  // inf as a float
        BOOST_REQUIRE(error.has_value());
        BOOST_TEST_MESSAGE(error->what());
        BOOST_TEST(error->batch == 2u);
        BOOST_TEST(error->tensor.empty());
    }
    {
        tiny_run run;
        mg::sgd<float> sgd{1};
        const auto error = failing_epoch(run, sgd, mg::constant_rate{1e300}, data, {.tensors = true});
        BOOST_REQUIRE(error.has_value());
        BOOST_TEST_MESSAGE(error->what());
        BOOST_TEST(error->batch == 1u);
        BOOST_TEST(error->tensor == "1.weight");
        BOOST_TEST(std::string(error->what()).find("parameter '1.weight' is not finite after the update at epoch 1, batch 1") !=
                   std::string::npos);
    }
    {
        // Parameters that come in with a NaN (a checkpoint, a hand edit): named before any step.
        tiny_run run;
        run.p->layer<3>().bias[1] = std::numeric_limits<float>::infinity();
        auto adam = std::make_unique<mg::adam<tiny, float>>(mg::adam_options<float>{.learning_rate = 1e-2f});
        const auto error = failing_epoch(run, *adam, mg::constant_rate{1e-2}, data, {.tensors = true});
        BOOST_REQUIRE(error.has_value());
        BOOST_TEST_MESSAGE(error->what());
        BOOST_TEST(error->tensor == "3.bias");
        BOOST_TEST(std::string(error->what()).find("before the step") != std::string::npos);
    }
    {
        // A gradient that is not finite, from a finite loss: an infinite input feature that every
        // unit of the first layer weighs negatively, so relu closes them all (z = -inf, relu 0) and
        // the loss stays finite, while the first layer's weight gradient is 0 * inf = NaN.
        auto data_inf = tiny_data();
        data_inf.features[2] = std::numeric_limits<float>::infinity();
        tiny_run run;
        for (std::size_t j = 0; j < 8; ++j) run.p->layer<1>().weight[j * 4 + 2] = -0.5f;
        auto adam = std::make_unique<mg::adam<tiny, float>>(mg::adam_options<float>{.learning_rate = 1e-2f});
        const auto error = failing_epoch(run, *adam, mg::constant_rate{1e-2}, data_inf, {.tensors = true});
        BOOST_REQUIRE(error.has_value());
        BOOST_TEST_MESSAGE(error->what());
        BOOST_TEST(error->tensor == "1.weight");
        BOOST_TEST(std::string(error->what()).find("the gradient of '1.weight' is not finite") != std::string::npos);
    }
}

// evaluate: a NaN loss is an error naming the batch and its samples; with the check off, the
// metrics carry it and a NaN score never counts as a right answer.
BOOST_AUTO_TEST_CASE(evaluate_refuses_a_loss_that_is_not_finite) {
    const auto data = tiny_data(37);
    tiny_run run;
    try {
        mg::evaluate(*run.p, data, mg::softmax_cross_entropy{}, *run.memory);
        BOOST_ERROR("evaluate accepted a NaN loss");
    } catch (const mg::non_finite_error& e) {
        BOOST_TEST_MESSAGE(e.what());
        BOOST_TEST(std::string(e.what()).find("metagrad::evaluate: the loss of batch 10 of 16 (samples 36 to 39, counted from 0) is nan") !=
                   std::string::npos);
        BOOST_TEST(e.batch == 10u);
    }
    const auto m = mg::evaluate(*run.p, data, mg::softmax_cross_entropy{}, *run.memory, mg::finite_checks{.loss = false});
    BOOST_TEST(std::isnan(m.loss()));
    const mg::tensor<float, mg::shape<2, 3>> scores{std::numeric_limits<float>::quiet_NaN(), 0.0f, -1.0f, 1.0f, 0.0f, -1.0f};
    const std::uint32_t labels[] = {0, 0};
    BOOST_TEST(mg::count_correct(scores, labels, 2) == 1u);  // the NaN row is wrong, even with label 0
}

// The log and the plot never carry NaN silently: the CSV writes "nan", "inf", "-inf" on purpose
// (never printf's "-nan"), reads them back, and warns; the SVG breaks its curves there and marks
// the epochs instead of writing points='70.0,-nan'.
BOOST_AUTO_TEST_CASE(the_log_and_the_plot_mark_values_that_are_not_finite) {
    mg::history h;
    h.add({1, 0.9, 0.6, 1.1, 0.55, 1e-3, 2.5, 24000});
    h.add({2, -std::numeric_limits<double>::quiet_NaN(), 0.1, std::numeric_limits<double>::infinity(), 0.1, 1e-3, 2.5, 24000});
    h.add({3, 0.5, 0.7, -std::numeric_limits<double>::infinity(), 0.75, 1e-3, 2.5, 24000});
    h.add({4, 0.4, 0.8, 0.6, 0.8, 1e-3, 2.5, 24000});
    const std::string csv = h.csv();
    BOOST_TEST(csv.find("\n2,nan,0.1,inf,") != std::string::npos);
    BOOST_TEST(csv.find("-nan") == std::string::npos);
    BOOST_TEST(csv.find("\n3,0.5,0.7,-inf,") != std::string::npos);
    const auto back = mg::history::from_csv(csv);
    BOOST_TEST(std::isnan(back.epochs[1].train_loss));
    BOOST_TEST(back.epochs[2].validation_loss == -std::numeric_limits<double>::infinity());
    std::ostringstream warnings;
    h.write_csv(std::string(METAGRAD_TEST_OUTPUT) + "/non_finite_log.csv", warnings);
    BOOST_TEST(warnings.str().find("epoch 2 train_loss nan, epoch 2 validation_loss inf, epoch 3 validation_loss -inf") !=
               std::string::npos);
    std::ostringstream quiet;
    mg::history finite;
    finite.add({1, 0.9, 0.6, 1.1, 0.55, 1e-3, 2.5, 24000});
    finite.write_csv(std::string(METAGRAD_TEST_OUTPUT) + "/finite_log.csv", quiet);
    BOOST_TEST(quiet.str().empty());

    const std::string svg = std::string(METAGRAD_TEST_OUTPUT) + "/non_finite_curves.svg";
    mg::write_learning_curves_svg(h, svg);
    std::ifstream in(svg);
    const std::string picture((std::istreambuf_iterator<char>(in)), {});
    for (std::size_t at = 0; (at = picture.find("points='", at)) != std::string::npos; ++at) {
        const std::string points = picture.substr(at, picture.find("'/>", at) - at);
        BOOST_TEST(points.find("nan") == std::string::npos, points);
        BOOST_TEST(points.find("inf") == std::string::npos, points);
    }
    // Training loss: epoch 1, gap, epochs 3-4; validation loss: 1, gap, gap, 4; accuracies whole.
    std::size_t curves = 0;
    for (std::size_t at = 0; (at = picture.find("<polyline", at)) != std::string::npos; ++at) ++curves;
    BOOST_TEST(curves == 6u);
    BOOST_TEST(picture.find(">nan</text>") != std::string::npos);
    BOOST_TEST(picture.find(">inf</text>") != std::string::npos);
    BOOST_TEST(picture.find(">-inf</text>") != std::string::npos);
}

BOOST_AUTO_TEST_CASE(numbers_for_people_spell_non_finite_values) {
    BOOST_TEST(mg::number_or_marker(0.25) == "0.2500");
    BOOST_TEST(mg::number_or_marker(-std::numeric_limits<double>::quiet_NaN()) == "nan");
    BOOST_TEST(mg::number_or_marker(std::numeric_limits<double>::infinity(), "%.1f") == "inf");
    BOOST_TEST(mg::number_or_marker(-std::numeric_limits<double>::infinity()) == "-inf");
}
