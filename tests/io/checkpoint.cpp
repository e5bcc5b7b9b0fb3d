// Tests of include/metagrad/io/checkpoint.hpp: a run stopped and resumed from a checkpoint ends
// bit for bit where the uninterrupted run ends; checkpoints that do not fit are refused.
#include <string>

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

struct run {
    net::parameters<float> parameters;
    mg::adam<net, float> optimizer{mg::adam_options<float>{.learning_rate = 0.01f}};
    mg::training_position position{.shuffle = mg::random_generator(3), .stopping = {.patience = 100}};
    mg::training_memory<net, float, batch> memory;

    run() {
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
    expect_error([&] { mg::load_checkpoint(path, p, momentum, r.position); }, {"'optimizer'", "state of sgd_momentum", "found adam"});
    // Another network.
    using wider = mg::sequential<mg::input<6>, mg::dense<13>, mg::relu, mg::dense<3>>;
    wider::parameters<float> w;
    mg::adam<wider, float> adam;
    expect_error([&] { mg::load_checkpoint(path, w, adam, r.position); }, {"tensor '1.weight'", "shape [13, 6]", "found shape [12, 6]"});
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
