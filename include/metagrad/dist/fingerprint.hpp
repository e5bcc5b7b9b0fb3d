// metagrad::run_fingerprint and check_same_run: ranks agree on what they train before they train it.
#pragma once

#include <algorithm>
#include <array>
#include <bit>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <span>
#include <string>
#include <string_view>
#include <type_traits>
#include <vector>

#include "metagrad/core/parameters.hpp"
#include "metagrad/core/summary.hpp"
#include "metagrad/dist/collectives.hpp"
#include "metagrad/dist/communicator.hpp"
#include "metagrad/train/position.hpp"

namespace metagrad {

/// One thing ranks must agree on, as a 64-bit hash of all of it and a few words for messages.
struct fingerprint_item {
    std::uint64_t hash = 0xcbf29ce484222325u;
    std::array<char, 120> text{};

    /// FNV-1a over the bytes.
    void mix(std::span<const std::byte> bytes) {
        for (const std::byte b : bytes) hash = (hash ^ static_cast<std::uint64_t>(b)) * 0x100000001b3u;
    }
    void mix(std::string_view s) { mix(std::as_bytes(std::span<const char>(s.data(), s.size()))); }
    template <class V>
        requires std::is_trivially_copyable_v<V>
    void mix_value(const V& v) {
        mix(std::as_bytes(std::span<const V>(&v, 1)));
    }
    void describe(std::string_view words) {
        const std::size_t n = std::min(words.size(), text.size() - 1);
        std::memcpy(text.data(), words.data(), n);
        text[n] = '\0';
    }
    std::string_view words() const { return {text.data(), std::strlen(text.data())}; }
};

/// What ranks compare before training together: the network type, the parameter and state
/// values, the optimizer with its state, the data, the data-parallel plan and the training
/// position. Trivially copyable: it travels as bytes.
struct run_fingerprint {
    static constexpr std::array<std::string_view, 6> item_names{"network", "parameters", "optimizer", "data", "plan", "training position"};
    std::array<fingerprint_item, 6> items{};
};
static_assert(std::is_trivially_copyable_v<run_fingerprint>);

namespace detail {
template <class Net>
std::string network_words() {
    std::string words;
    for (const auto& layer : network_summary<Net>::layers) words += std::string(layer.name) + ' ';
    return words + "(" + std::to_string(Net::parameter_count) + " parameters)";
}

template <class Tensors>
void mix_tensors(fingerprint_item& item, const Tensors& tensors) {
    for_each_tensor([&](const auto& t) { item.mix(std::as_bytes(std::span(t.data.data(), t.data.size()))); }, tensors);
}

inline std::string hex(std::uint64_t h) {
    char text[20];
    std::snprintf(text, sizeof text, "%016llx", static_cast<unsigned long long>(h));
    return text;
}
}  // namespace detail

/// The fingerprint of a run on this rank. `data_words` describes the data set as every rank
/// should see it (its files and global size, not this rank's shard); `plan_words` the way a
/// global step is cut.
template <class Net, class T, class Optimizer>
run_fingerprint fingerprint_of(const network_parameters<Net, T>& p, const Optimizer& optimizer, const training_position& position,
                               std::string_view data_words, std::string_view plan_words) {
    run_fingerprint f;
    // References, not a structured binding: clang 14 cannot capture bindings in lambdas.
    fingerprint_item &network = f.items[0], &values = f.items[1], &optim = f.items[2], &data = f.items[3], &plan = f.items[4],
                     &place = f.items[5];
    const std::string net = detail::network_words<Net>();
    network.mix(net);
    for_each_named_tensor([&](const auto& path, const auto& t) { network.mix(path), network.mix_value(t.data.size()); }, p);
    for_each_named_state_tensor([&](const auto& path, const auto& t) { network.mix(path), network.mix_value(t.data.size()); }, p);
    network.mix_value(sizeof(T));
    network.describe(net);

    detail::mix_tensors(values, p);
    for_each_state_tensor([&](const auto& t) { values.mix(std::as_bytes(std::span(t.data.data(), t.data.size()))); }, p);
    values.describe("parameters and state with hash " + detail::hex(values.hash));

    std::string words(Optimizer::name);
    optim.mix(words);
    optimizer.for_each_state([&](std::string_view name, const auto& tensors) { optim.mix(name), detail::mix_tensors(optim, tensors); });
    if constexpr (requires { optimizer.options.learning_rate; }) {
        optim.mix_value(optimizer.options.learning_rate);  // the whole struct may have padding bytes
        words += ", learning rate " + std::to_string(static_cast<double>(optimizer.options.learning_rate));
    } else if constexpr (requires { optimizer.learning_rate; }) {
        optim.mix_value(optimizer.learning_rate);
        words += ", learning rate " + std::to_string(static_cast<double>(optimizer.learning_rate));
    }
    if constexpr (requires { optimizer.steps; }) {
        optim.mix_value(optimizer.steps);
        words += ", " + std::to_string(optimizer.steps) + " steps";
    }
    if constexpr (requires { optimizer.max_norm; }) {  // clip_by_global_norm's threshold
        optim.mix_value(optimizer.max_norm);
        words += ", gradients clipped at norm " + std::to_string(static_cast<double>(optimizer.max_norm));
    }
    optim.describe(words + ", state hash " + detail::hex(optim.hash));

    data.mix(data_words);
    data.describe(data_words);
    plan.mix(plan_words);
    plan.describe(plan_words);

    place.mix_value(position.step), place.mix_value(position.epoch), place.mix_value(position.seed);
    const auto shuffle = position.shuffle.save();
    place.mix_value(shuffle.words), place.mix_value(shuffle.spare), place.mix_value(shuffle.has_spare);
    place.describe("epoch " + std::to_string(position.epoch) + ", step " + std::to_string(position.step) + ", seed " +
                   std::to_string(position.seed) + ", shuffle hash " + detail::hex(place.hash));
    return f;
}

/// Gathers every rank's fingerprint and throws `distributed_error`, on every rank alike, when
/// any differs from rank 0's, naming the first thing that differs and both ranks' words for it:
/// ranks that would train different models, or the same model on different data, stop at once
/// instead of averaging nonsense.
template <communicator C>
void check_same_run(C& comm, const run_fingerprint& mine) {
    std::vector<run_fingerprint> all(comm.size());
    all[comm.rank()] = mine;
    gather_all(comm, std::as_writable_bytes(std::span<run_fingerprint>(all)), sizeof(run_fingerprint));
    for (std::size_t item = 0; item < run_fingerprint::item_names.size(); ++item)
        for (std::size_t r = 1; r < all.size(); ++r) {
            const fingerprint_item &first = all[0].items[item], &other = all[r].items[item];
            if (first.hash != other.hash)
                throw distributed_error("metagrad: the ranks disagree on the " + std::string(run_fingerprint::item_names[item]) + ": rank 0 has '" +
                                        std::string(first.words()) + "', rank " + std::to_string(r) + " has '" + std::string(other.words()) +
                                        "'" + (first.words() == other.words() ? " (the same words, different values)" : ""));
        }
}

}  // namespace metagrad
