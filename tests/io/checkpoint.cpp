// Tests of include/metagrad/io/checkpoint.hpp: a run stopped and resumed from a checkpoint ends
// bit for bit where the uninterrupted run ends, with every optimizer; checkpoints that do not fit,
// or whose fields would break training, are refused; nothing that is not finite is saved.
#include <cmath>
#include <cstdint>
#include <cstring>
#include <limits>
#include <string>
#include <utility>

#include <boost/test/unit_test.hpp>

#include "files.hpp"
#include "metagrad/metagrad.hpp"

namespace mg = metagrad;
using test_files::expect_error;

namespace {
using net = mg::sequential<mg::input<6>, mg::dense<12>, mg::relu, mg::dense<3>>;
constexpr std::size_t batch = 8;

/// 100 samples of a synthetic three-class problem (class = argmax of three fixed projections).
mg::dataset<float, mg::shape<6>> synthetic() {
    mg::dataset<float, mg::shape<6>> d;
    d.classes = 3;
    mg::random_generator g(17);
    for (int i = 0; i < 100; ++i) {
        float s[3] = {};
        for (int j = 0; j < 6; ++j) {
            const float x = g.uniform<float>(-1, 1);
            d.features.push_back(x);
            s[j % 3] += x * static_cast<float>(j + 1);
        }
        d.labels.push_back(s[0] > s[1] ? (s[0] > s[2] ? 0u : 2u) : (s[1] > s[2] ? 1u : 2u));
    }
    return d;
}

template <class Optimizer, class Net = net>
struct run_with {
    typename Net::template parameters<float> parameters;
    Optimizer optimizer{};
    mg::training_position position{.seed = 9, .shuffle = mg::random_generator(3), .stopping = {.patience = 100}};
    mg::training_memory<Net, float, batch> memory;

    run_with() {
        mg::random_generator g(2);
        mg::initialize(parameters, mg::he_normal{}, g);
    }
    void epochs(const mg::dataset<float, mg::shape<6>>& data, std::size_t n) {
        const mg::warmup schedule{10, mg::cosine_decay{.initial = 0.01, .final = 0.001, .steps = 60}};
        for (std::size_t e = 0; e < n; ++e) {
            const auto m = mg::train_epoch(parameters, optimizer, schedule, data, mg::softmax_cross_entropy{}, position, memory,
                                           [](std::size_t, std::size_t, const mg::metrics&) {});
            const auto v = mg::evaluate(parameters, data, mg::softmax_cross_entropy{}, memory);
            position.curves.add({position.epoch, m.loss(), m.accuracy(), v.loss(), v.accuracy(), 0.01, 0, 0});
            (void)position.stopping.should_stop(v.loss());
        }
    }
};
using run = run_with<mg::adam<net, float>>;

/// A copy of safetensors file `bytes` whose metadata `key` has the (JSON-escaped) `value`; the
/// header keeps its 8-byte padding, and offsets are relative to the data area, so the tensors
/// stay valid.
std::string with_metadata(const std::string& bytes, const std::string& key, const std::string& value) {
    std::uint64_t length = 0;
    for (int i = 7; i >= 0; --i) length = length << 8 | static_cast<unsigned char>(bytes[static_cast<std::size_t>(i)]);
    std::string header = bytes.substr(8, length);
    const std::string needle = "\"" + key + "\":\"";
    const std::size_t at = header.find(needle);
    BOOST_REQUIRE(at != std::string::npos);
    const std::size_t begin = at + needle.size(), end = header.find('"', begin);
    header.replace(begin, end - begin, value);
    while (header.back() == ' ') header.pop_back();
    header.append((8 - header.size() % 8) % 8, ' ');
    std::string out(8, '\0');
    for (int i = 0; i < 8; ++i) out[static_cast<std::size_t>(i)] = static_cast<char>(header.size() >> (8 * i));
    return out + header + bytes.substr(8 + length);
}

/// A copy of the checkpoint at `path` whose float tensor `name` has `value` at flat `index`.
std::string with_element(const std::string& path, const std::string& name, std::size_t index, float value) {
    std::string bytes = test_files::read(path);
    const mg::safetensors_file file = mg::safetensors_file::read(path);
    std::uint64_t length = 0;
    for (int i = 7; i >= 0; --i) length = length << 8 | static_cast<unsigned char>(bytes[static_cast<std::size_t>(i)]);
    std::memcpy(bytes.data() + 8 + length + file.entries().at(name).begin + index * sizeof(float), &value, sizeof value);
    return bytes;
}

constexpr std::uint64_t most = std::numeric_limits<std::uint64_t>::max();
}  // namespace

BOOST_AUTO_TEST_CASE(the_same_seed_gives_the_same_weights_after_training) {
    const auto data = synthetic();
    run a, b, c;
    c.position.shuffle = mg::random_generator(4);  // another shuffling seed
    a.epochs(data, 3);
    b.epochs(data, 3);
    c.epochs(data, 3);
    BOOST_TEST(a.optimizer.steps == 36u);  // 3 epochs of 12 full batches of 8 (4 samples dropped each)
    BOOST_TEST((a.parameters == b.parameters));
    BOOST_TEST(!(a.parameters == c.parameters));
}

BOOST_AUTO_TEST_CASE(a_resumed_run_ends_where_the_uninterrupted_run_ends) {
    const auto data = synthetic();
    run straight;
    straight.epochs(data, 6);

    const std::string path = test_files::path("resume.safetensors");
    {
        run first;
        first.epochs(data, 3);
        mg::save_checkpoint(path, first.parameters, first.optimizer, first.position);
    }
    run resumed;  // fresh objects: everything must come from the file
    mg::load_checkpoint(path, resumed.parameters, resumed.optimizer, resumed.position);
    BOOST_TEST(resumed.position.epoch == 3u);
    resumed.epochs(data, 3);

    BOOST_TEST((resumed.parameters == straight.parameters));
    BOOST_TEST((resumed.optimizer.first_moment == straight.optimizer.first_moment));
    BOOST_TEST((resumed.optimizer.second_moment == straight.optimizer.second_moment));
    BOOST_TEST(resumed.optimizer.steps == straight.optimizer.steps);
    BOOST_TEST(resumed.position.step == straight.position.step);
    BOOST_TEST((resumed.position.shuffle == straight.position.shuffle));
    BOOST_TEST(resumed.position.stopping.best == straight.position.stopping.best);
    BOOST_TEST(resumed.position.curves.csv() == straight.position.curves.csv());
    // And training did something: the loss fell.
    BOOST_TEST(straight.position.curves.epochs.back().train_loss < straight.position.curves.epochs.front().train_loss);
}

// A network with state (batch norm's running statistics) and random numbers (dropout's masks):
// the statistics are saved under PyTorch's buffer names, and the masks of a resumed run are the
// uninterrupted run's, keyed by the seed and the step the checkpoint keeps.
using stateful_net = mg::sequential<mg::input<6>, mg::dense<12>, mg::batch_norm<>, mg::relu, mg::dropout<std::ratio<1, 4>>, mg::dense<3>>;
using stateful_run = run_with<mg::adam<stateful_net, float>, stateful_net>;

BOOST_AUTO_TEST_CASE(a_resumed_run_with_batch_norm_and_dropout_ends_where_the_uninterrupted_run_ends) {
    const auto data = synthetic();
    stateful_run straight;
    straight.epochs(data, 4);

    const std::string path = test_files::path("resume_stateful.safetensors");
    {
        stateful_run first;
        first.epochs(data, 2);
        mg::save_checkpoint(path, first.parameters, first.optimizer, first.position);
    }
    const mg::safetensors_file file = mg::safetensors_file::read(path);
    BOOST_TEST(file.contains("2.running_mean"));
    BOOST_TEST(file.contains("2.running_var"));
    BOOST_TEST(!file.contains("optimizer.first_moment.2.running_mean"));  // moments of the parameters only
    BOOST_TEST(file.metadata("position.seed") == "9");

    stateful_run resumed;
    mg::load_checkpoint(path, resumed.parameters, resumed.optimizer, resumed.position);
    BOOST_TEST(resumed.position.seed == 9u);
    resumed.epochs(data, 2);
    BOOST_TEST((resumed.parameters == straight.parameters));  // parameters and running statistics
    BOOST_TEST((resumed.optimizer.first_moment == straight.optimizer.first_moment));
    BOOST_TEST(resumed.position.curves.csv() == straight.position.curves.csv());
    // The statistics moved from their start (0 and 1), and another dropout seed trains otherwise.
    BOOST_TEST(straight.parameters.state<2>().running_mean[0] != 0.0f);
    stateful_run other;
    other.position.seed = 10;
    other.epochs(data, 4);
    BOOST_TEST(!(other.parameters == straight.parameters));
}

BOOST_AUTO_TEST_CASE(checkpoints_that_do_not_fit_are_refused) {
    run r;
    const std::string path = test_files::path("checkpoint.safetensors");
    mg::save_checkpoint(path, r.parameters, r.optimizer, r.position);

    // The checkpoint's model part loads as plain parameters? No: it also holds optimizer state,
    // which load_parameters does not expect.
    net::parameters<float> p;
    expect_error([&] { mg::load_parameters(path, p); }, {"tensor 'optimizer.", "the network does not have"});
    // Another optimizer's state.
    mg::sgd_momentum<net, float> momentum;
    expect_error([&] { mg::load_checkpoint(path, p, momentum, r.position); },
                 {"checkpoint.safetensors: __metadata__ 'optimizer': expected a checkpoint of the program's optimizer, sgd_momentum, "
                  "found one from another optimizer, adam"});
    // Another network: both are named.
    using wider = mg::sequential<mg::input<6>, mg::dense<13>, mg::relu, mg::dense<3>>;
    wider::parameters<float> w;
    mg::adam<wider, float> adam;
    expect_error([&] { mg::load_checkpoint(path, w, adam, r.position); },
                 {"checkpoint.safetensors: __metadata__ 'metagrad.network': expected a checkpoint of the program's network, "
                  "(6) -> input (6) -> dense (13) -> relu (13) -> dense (3), found one from another network, "
                  "(6) -> input (6) -> dense (12) -> relu (12) -> dense (3)"});
    // Even one whose tensors would fit: a checkpoint resumes the same run.
    using tanh_net = mg::sequential<mg::input<6>, mg::dense<12>, mg::tanh_layer, mg::dense<3>>;
    tanh_net::parameters<float> t;
    mg::adam<tanh_net, float> tanh_adam;
    expect_error([&] { mg::load_checkpoint(path, t, tanh_adam, r.position); },
                 {"'metagrad.network'", "program's network, (6) -> input (6) -> dense (12) -> tanh (12) -> dense (3)",
                  "another network, (6) -> input (6) -> dense (12) -> relu (12) -> dense (3)"});
    // A checkpoint written before networks were described is checked tensor by tensor, as then.
    std::string renamed = test_files::read(path);
    renamed.replace(renamed.find("\"metagrad.network\""), 18, "\"metagrad.xxxxxxx\"");  // same length
    const std::string old = test_files::write("old.safetensors", renamed);
    mg::load_checkpoint(old, p, r.optimizer, r.position);
    expect_error([&] { mg::load_checkpoint(old, w, adam, r.position); }, {"tensor '1.weight'", "shape [13, 6]", "found shape [12, 6]"});
    // A parameters file is not a checkpoint.
    const std::string plain = test_files::path("plain.safetensors");
    mg::save_parameters(plain, r.parameters);
    expect_error([&] { mg::load_checkpoint(plain, p, r.optimizer, r.position); }, {"plain.safetensors", "metagrad checkpoint"});
    // Damaged metadata.
    std::string bytes = test_files::read(path);
    const std::size_t at = bytes.find("\"position.step\":\"0\"");
    BOOST_REQUIRE(at != std::string::npos);
    bytes[at + 17] = 'x';
    expect_error([&] { mg::load_checkpoint(test_files::write("bad-meta.safetensors", bytes), p, r.optimizer, r.position); },
                 {"'position.step'", "a number", "'x'"});
}

// Regression tests for issue 12: fields of a checkpoint that would break training are refused on
// load, each with its place and what was found, and nothing that is not finite is saved.

namespace {
// Four epochs straight, and two then a checkpoint at `file` then two more from it: the two runs.
template <class Run>
std::pair<Run, Run> straight_and_resumed(const std::string& file) {
    const auto data = synthetic();
    std::pair<Run, Run> runs;
    auto& [straight, resumed] = runs;
    straight.epochs(data, 4);
    const std::string path = test_files::path(file);
    {
        Run first;
        first.epochs(data, 2);
        mg::save_checkpoint(path, first.parameters, first.optimizer, first.position);
    }
    mg::load_checkpoint(path, resumed.parameters, resumed.optimizer, resumed.position);
    BOOST_TEST(resumed.position.epoch == 2u);
    resumed.epochs(data, 2);
    return runs;
}
}  // namespace

BOOST_AUTO_TEST_CASE(a_checkpoint_of_plain_sgd_resumes_bit_for_bit) {
    const auto [straight, resumed] = straight_and_resumed<run_with<mg::sgd<float>>>("sgd.safetensors");
    BOOST_TEST((resumed.parameters == straight.parameters));
    BOOST_TEST(resumed.position.step == straight.position.step);
    BOOST_TEST((resumed.position.shuffle == straight.position.shuffle));
    BOOST_TEST(resumed.position.curves.csv() == straight.position.curves.csv());
    // It holds the parameters and no state; an Adam run refuses it, naming both optimizers.
    const std::string path = test_files::path("sgd.safetensors");
    BOOST_TEST(mg::safetensors_file::read(path).entries().size() == 4u);
    run adam_run;
    expect_error([&] { mg::load_checkpoint(path, adam_run.parameters, adam_run.optimizer, adam_run.position); },
                 {"'optimizer'", "program's optimizer, adam", "another optimizer, sgd"});
}

BOOST_AUTO_TEST_CASE(a_momentum_checkpoint_resumes_bit_for_bit) {
    const auto [straight, resumed] = straight_and_resumed<run_with<mg::sgd_momentum<net, float>>>("momentum.safetensors");
    BOOST_TEST((resumed.parameters == straight.parameters));
    BOOST_TEST((resumed.optimizer.velocity == straight.optimizer.velocity));
    BOOST_TEST(resumed.optimizer.steps == straight.optimizer.steps);
}

namespace {
/// A trained run's checkpoint, its bytes, and a fresh run to load into, which a refused file
/// must leave as it was.
struct damaged {
    run source, target;
    std::string path = test_files::path("valid.safetensors"), bytes;
    damaged() {
        source.epochs(synthetic(), 1);
        mg::save_checkpoint(path, source.parameters, source.optimizer, source.position);
        bytes = test_files::read(path);
    }
    void expect_refused(const std::string& name, const std::string& file_bytes, std::initializer_list<std::string> parts) {
        const run before;
        expect_error([&] { mg::load_checkpoint(test_files::write(name, file_bytes), target.parameters, target.optimizer, target.position); },
                     parts);
        BOOST_TEST((target.parameters == before.parameters));
        BOOST_TEST((target.optimizer.first_moment == before.optimizer.first_moment));
        BOOST_TEST(target.optimizer.steps == 0u);
        BOOST_TEST(target.position.step == 0u);
    }
};
}  // namespace

BOOST_AUTO_TEST_CASE(a_shuffling_state_of_zeros_is_refused) {
    damaged d;
    std::string bytes = d.bytes;
    for (const char* word : {"position.shuffle.0", "position.shuffle.1", "position.shuffle.2", "position.shuffle.3"})
        bytes = with_metadata(bytes, word, "0");
    d.expect_refused("zero-state.safetensors", bytes,
                     {"zero-state.safetensors: __metadata__ 'position.shuffle.0' to 'position.shuffle.3': expected a generator "
                      "state that is not all zeros (xoshiro256** would draw only zeros), found four zeros"});
    // The spare normal draw: finite, and has_spare 0 or 1.
    d.expect_refused("spare.safetensors", with_metadata(d.bytes, "position.shuffle.spare", std::to_string(0x7ff8000000000000u)),
                     {"__metadata__ 'position.shuffle.spare': expected a finite number, found nan"});
    d.expect_refused("has-spare.safetensors", with_metadata(d.bytes, "position.shuffle.has_spare", "2"),
                     {"__metadata__ 'position.shuffle.has_spare': expected 0 or 1, found 2"});
    // Three zero words are a valid state.
    mg::load_checkpoint(test_files::write("three-zeros.safetensors", with_metadata(with_metadata(with_metadata(
                            d.bytes, "position.shuffle.0", "0"), "position.shuffle.1", "0"), "position.shuffle.2", "0")),
                        d.target.parameters, d.target.optimizer, d.target.position);
    BOOST_TEST(d.target.position.shuffle.below(10) < 10u);
}

BOOST_AUTO_TEST_CASE(counters_at_their_limit_are_refused) {
    damaged d;
    const std::string max = std::to_string(most);
    d.expect_refused("steps.safetensors", with_metadata(d.bytes, "optimizer.steps", max),
                     {"steps.safetensors: __metadata__ 'optimizer.steps': expected a step count below 18446744073709551615 "
                      "(one that can count once more), found 18446744073709551615"});
    d.expect_refused("step.safetensors", with_metadata(d.bytes, "position.step", max),
                     {"__metadata__ 'position.step': expected a step count below 18446744073709551615"});
    d.expect_refused("epoch.safetensors", with_metadata(d.bytes, "position.epoch", max),
                     {"__metadata__ 'position.epoch': expected an epoch count below 18446744073709551615"});
    d.expect_refused("patience.safetensors", with_metadata(d.bytes, "position.stopping.epochs_without_improvement", max),
                     {"'position.stopping.epochs_without_improvement': expected an epoch count below"});
    // One below the limit loads, and the next Adam step leaves every parameter finite.
    const std::string almost = std::to_string(most - 1);
    mg::load_checkpoint(test_files::write("almost.safetensors", with_metadata(d.bytes, "optimizer.steps", almost)),
                        d.target.parameters, d.target.optimizer, d.target.position);
    BOOST_TEST(d.target.optimizer.steps == most - 1);
    d.target.epochs(synthetic(), 1);
    BOOST_TEST(d.target.optimizer.steps == most);  // saturated, not wrapped
    bool finite = true;
    mg::for_each_tensor([&](const auto& t) { for (const float x : t) finite = finite && std::isfinite(x); }, d.target.parameters);
    BOOST_TEST(finite);
    // A saturated count is not saved: the file would not load.
    expect_error([&] { mg::save_checkpoint(test_files::path("saturated.safetensors"), d.target.parameters, d.target.optimizer,
                                           d.target.position); },
                 {"saturated.safetensors: saving __metadata__ 'optimizer.steps': expected a step count below"});
}

BOOST_AUTO_TEST_CASE(values_that_are_not_finite_are_refused_on_load) {
    damaged d;
    const float nan = std::numeric_limits<float>::quiet_NaN(), inf = std::numeric_limits<float>::infinity();
    d.expect_refused("nan-moment.safetensors", with_element(d.path, "optimizer.first_moment.1.weight", 7, nan),
                     {"nan-moment.safetensors: tensor 'optimizer.first_moment.1.weight': expected finite values, found nan at "
                      "element [1, 1]"});
    d.expect_refused("inf-weight.safetensors", with_element(d.path, "3.bias", 2, -inf),
                     {"tensor '3.bias': expected finite values, found -inf at element [2]"});
    d.expect_refused("negative-moment.safetensors", with_element(d.path, "optimizer.second_moment.3.weight", 0, -1),
                     {"tensor 'optimizer.second_moment.3.weight': expected finite values, none negative, found -1 at element [0, 0]"});
    d.expect_refused("min-delta.safetensors", with_metadata(d.bytes, "position.stopping.min_delta", "nan"),
                     {"__metadata__ 'position.stopping.min_delta': expected a finite number, found nan"});
    d.expect_refused("best.safetensors", with_metadata(d.bytes, "position.stopping.best", "inf"),
                     {"__metadata__ 'position.stopping.best': expected a finite number, found inf"});
    const std::string header = "epoch,train_loss,train_accuracy,validation_loss,validation_accuracy,learning_rate,seconds,samples_per_second";
    d.expect_refused("rate.safetensors", with_metadata(d.bytes, "position.history", header + "\\n1,0.5,0.5,0.5,0.5,inf,1,100"),
                     {"__metadata__ 'position.history' line 2, learning_rate: expected a finite learning rate, found inf"});
    d.expect_refused("loss.safetensors", with_metadata(d.bytes, "position.history", header + "\\n1,0.5,0.5,nan,0.5,0.01,1,100"),
                     {"__metadata__ 'position.history' line 2, validation_loss: expected a number (not NaN), found nan"});
}

BOOST_AUTO_TEST_CASE(nothing_that_is_not_finite_is_saved) {
    run r;
    r.epochs(synthetic(), 1);
    const std::string path = test_files::path("kept.safetensors");
    mg::save_checkpoint(path, r.parameters, r.optimizer, r.position);
    const std::string good = test_files::read(path);

    run bad = r;
    bad.parameters.layer<1>().weight(2, 3) = std::numeric_limits<float>::quiet_NaN();
    expect_error([&] { mg::save_checkpoint(path, bad.parameters, bad.optimizer, bad.position); },
                 {"kept.safetensors: saving tensor '1.weight': expected finite values, found nan at element [2, 3]"});
    bad = r;
    bad.optimizer.second_moment.layer<3>().bias[1] = std::numeric_limits<float>::infinity();
    expect_error([&] { mg::save_checkpoint(path, bad.parameters, bad.optimizer, bad.position); },
                 {"saving tensor 'optimizer.second_moment.3.bias': expected finite values, none negative, found inf at element [1]"});
    bad = r;
    bad.position.stopping.best = std::numeric_limits<double>::quiet_NaN();
    expect_error([&] { mg::save_checkpoint(path, bad.parameters, bad.optimizer, bad.position); },
                 {"saving __metadata__ 'position.stopping.best': expected a finite number, found nan"});
    BOOST_TEST(test_files::read(path) == good);  // the previous checkpoint is kept

    // Parameters alone: refused by default, kept on request (a diverged model to inspect).
    bad = r;
    bad.parameters.layer<3>().bias[0] = -std::numeric_limits<float>::infinity();
    const std::string model = test_files::path("diverged.safetensors");
    expect_error([&] { mg::save_parameters(model, bad.parameters); }, {"saving tensor '3.bias': expected finite values, found -inf"});
    mg::save_parameters(model, bad.parameters, mg::non_finite_values::keep);
    net::parameters<float> loaded;
    mg::load_parameters(model, loaded);
    BOOST_TEST(std::isinf(loaded.layer<3>().bias[0]));
}

BOOST_AUTO_TEST_CASE(parameters_of_another_network_name_both_networks) {
    run r;
    const std::string path = test_files::path("model.safetensors");
    mg::save_parameters(path, r.parameters);
    using wider = mg::sequential<mg::input<6>, mg::dense<13>, mg::relu, mg::dense<3>>;
    wider::parameters<float> w;
    expect_error([&] { mg::load_parameters(path, w); },
                 {"model.safetensors: __metadata__ 'metagrad.network': expected parameters of the program's network, "
                  "(6) -> input (6) -> dense (13) -> relu (13) -> dense (3), found one from another network, "
                  "(6) -> input (6) -> dense (12) -> relu (12) -> dense (3)"});
    // Parameters whose tensors fit load into another network (fine-tuning with other activations).
    using tanh_net = mg::sequential<mg::input<6>, mg::dense<12>, mg::tanh_layer, mg::dense<3>>;
    tanh_net::parameters<float> t;
    mg::load_parameters(path, t);
    BOOST_TEST((t.layer<1>().weight == r.parameters.layer<1>().weight));
}
