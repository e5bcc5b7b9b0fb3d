// metagrad checkpoints: parameters, optimizer state and training position in safetensors files.
#pragma once

#include <bit>
#include <charconv>
#include <cstdint>
#include <set>
#include <string>
#include <system_error>

#include "metagrad/core/parameters.hpp"
#include "metagrad/io/safetensors.hpp"
#include "metagrad/train/position.hpp"

namespace metagrad {

namespace detail {
/// Calls `f(name, tensor)` for every tensor of `p`, named "LAYER.MEMBER" ("1.weight").
template <class P, class F>
void for_each_saved_tensor(P& p, F&& f) {
    for_each_named_tensor([&](std::size_t layer, std::string_view member, auto& t) {
        std::string name = std::to_string(layer);
        name += '.';
        name += member;
        f(name, t);
    }, p);
}

/// Checks every tensor `prefix + name` of `p` against the file (present, dtype, shape), before
/// anything is copied: a file that does not fit leaves the parameters as they were.
template <class Net, class T>
void check_tensors(const safetensors_file& file, const network_parameters<Net, T>& p, const std::string& prefix,
                   std::set<std::string>& used) {
    for_each_saved_tensor(p, [&](const std::string& name, const auto& t) {
        using S = typename std::remove_cvref_t<decltype(t)>::shape_type;
        const std::string full = prefix + name;
        const auto it = file.entries().find(full);
        if (it == file.entries().end())
            throw io_error(file.path(), "header", "a tensor named '" + full + "' (" + std::to_string(file.entries().size()) +
                                                      " tensors in the file)", "none");
        const std::vector<std::uint64_t> want(S::extents.begin(), S::extents.end());
        if (it->second.dtype != dtype_of<T>())
            throw io_error(file.path(), "tensor '" + full + "'", "dtype " + std::string(dtype_of<T>()), it->second.dtype);
        if (it->second.shape != want)
            throw io_error(file.path(), "tensor '" + full + "'", "shape " + shape_text(want) + " (the network's)",
                           "shape " + shape_text(it->second.shape));
        used.insert(full);
    });
}

template <class Net, class T>
void copy_tensors(const safetensors_file& file, network_parameters<Net, T>& p, const std::string& prefix) {
    for_each_saved_tensor(p, [&](const std::string& name, auto& t) { file.copy_to(prefix + name, t); });
}

template <class Net, class T>
void add_tensors(safetensors_writer& out, const network_parameters<Net, T>& p, const std::string& prefix) {
    for_each_saved_tensor(p, [&](const std::string& name, const auto& t) { out.add(prefix + name, t); });
}

inline void reject_unused(const safetensors_file& file, const std::set<std::string>& used) {
    for (const auto& [name, entry] : file.entries())
        if (!used.count(name))
            throw io_error(file.path(), "tensor '" + name + "'", "only the network's tensors", "a tensor the network does not have");
}

template <class Number>
std::string number_text(Number v) {
    char text[40];
    return std::string(text, std::to_chars(text, text + sizeof text, v).ptr);
}
template <class Number>
Number read_number(const safetensors_file& file, const std::string& key) {
    const std::string& text = file.metadata(key);
    Number v{};
    const auto [end, error] = std::from_chars(text.data(), text.data() + text.size(), v);
    if (error != std::errc{} || end != text.data() + text.size())
        throw io_error(file.path(), "__metadata__ '" + key + "'", "a number", "'" + text + "'");
    return v;
}
}  // namespace detail

/// Writes `p` as a safetensors file with one tensor per parameter, named "1.weight", "1.bias"...
/// (layer position, member name). PyTorch reads it with `safetensors.torch.load_file`; the names
/// are an `nn.Sequential` state_dict's when the layers sit at the same positions.
template <class Net, class T>
void save_parameters(const std::string& path, const network_parameters<Net, T>& p) {
    safetensors_writer out;
    detail::add_tensors(out, p, "");
    out.set_metadata("format", "pt");
    out.write(path);
}

/// Reads parameters written by `save_parameters` or any tool (PyTorch, numpy) using the same
/// names. The file must hold exactly the network's tensors, with its dtype (F32 for float,
/// F64 for double) and shapes; otherwise `io_error` says which tensor and why, and `p` is
/// left unchanged.
template <class Net, class T>
void load_parameters(const std::string& path, network_parameters<Net, T>& p) {
    const safetensors_file file = safetensors_file::read(path);
    std::set<std::string> used;
    detail::check_tensors(file, p, "", used);
    detail::reject_unused(file, used);
    detail::copy_tensors(file, p, "");
}

/// Writes everything needed to resume training exactly: the parameters (under their plain
/// names, so the file also loads as a model), the optimizer's state tensors ("optimizer.NAME.")
/// and step count, and the training position (steps, epochs, shuffling generator, early
/// stopping, learning curves) as metadata.
template <class Net, class T, class Optimizer>
void save_checkpoint(const std::string& path, const network_parameters<Net, T>& p, const Optimizer& optimizer,
                     const training_position& position) {
    safetensors_writer out;
    detail::add_tensors(out, p, "");
    optimizer.for_each_state([&](std::string_view name, const auto& state) {
        detail::add_tensors(out, state, "optimizer." + std::string(name) + ".");
    });
    out.set_metadata("format", "pt");
    out.set_metadata("metagrad.checkpoint", "1");
    out.set_metadata("optimizer", std::string(Optimizer::name));
    out.set_metadata("optimizer.steps", detail::number_text(optimizer.steps));
    out.set_metadata("position.step", detail::number_text(position.step));
    out.set_metadata("position.epoch", detail::number_text(position.epoch));
    const random_generator::snapshot s = position.shuffle.save();
    for (std::size_t i = 0; i < s.words.size(); ++i)
        out.set_metadata("position.shuffle." + std::to_string(i), detail::number_text(s.words[i]));
    out.set_metadata("position.shuffle.spare", detail::number_text(std::bit_cast<std::uint64_t>(s.spare)));
    out.set_metadata("position.shuffle.has_spare", s.has_spare ? "1" : "0");
    out.set_metadata("position.stopping.patience", detail::number_text(position.stopping.patience));
    out.set_metadata("position.stopping.min_delta", detail::number_text(position.stopping.min_delta));
    out.set_metadata("position.stopping.best", detail::number_text(position.stopping.best));
    out.set_metadata("position.stopping.epochs_without_improvement",
                     detail::number_text(position.stopping.epochs_without_improvement));
    out.set_metadata("position.history", position.curves.csv());
    out.write(path);
}

/// Reads a checkpoint written by `save_checkpoint` for the same network, element type and
/// optimizer type. Everything is checked before anything is changed: on any mismatch,
/// `io_error` names it and `p`, `optimizer` and `position` are left as they were.
template <class Net, class T, class Optimizer>
void load_checkpoint(const std::string& path, network_parameters<Net, T>& p, Optimizer& optimizer,
                     training_position& position) {
    const safetensors_file file = safetensors_file::read(path);
    if (!file.metadata().count("metagrad.checkpoint"))
        throw io_error(path, "__metadata__", "a metagrad checkpoint (written by save_checkpoint)", "no 'metagrad.checkpoint' key");
    if (file.metadata("optimizer") != Optimizer::name)
        throw io_error(path, "__metadata__ 'optimizer'", "state of " + std::string(Optimizer::name), file.metadata("optimizer"));
    std::set<std::string> used;
    detail::check_tensors(file, p, "", used);
    optimizer.for_each_state([&](std::string_view name, const auto& state) {
        detail::check_tensors(file, state, "optimizer." + std::string(name) + ".", used);
    });
    detail::reject_unused(file, used);

    training_position read;
    const auto steps = detail::read_number<std::uint64_t>(file, "optimizer.steps");
    read.step = detail::read_number<std::size_t>(file, "position.step");
    read.epoch = detail::read_number<std::size_t>(file, "position.epoch");
    random_generator::snapshot s;
    for (std::size_t i = 0; i < s.words.size(); ++i)
        s.words[i] = detail::read_number<std::uint64_t>(file, "position.shuffle." + std::to_string(i));
    s.spare = std::bit_cast<double>(detail::read_number<std::uint64_t>(file, "position.shuffle.spare"));
    s.has_spare = detail::read_number<int>(file, "position.shuffle.has_spare") != 0;
    read.shuffle.restore(s);
    read.stopping.patience = detail::read_number<std::size_t>(file, "position.stopping.patience");
    read.stopping.min_delta = detail::read_number<double>(file, "position.stopping.min_delta");
    read.stopping.best = detail::read_number<double>(file, "position.stopping.best");
    read.stopping.epochs_without_improvement =
        detail::read_number<std::size_t>(file, "position.stopping.epochs_without_improvement");
    try {
        read.curves = history::from_csv(file.metadata("position.history"));
    } catch (const std::invalid_argument& e) {
        throw io_error(path, "__metadata__ 'position.history'", "the training history as CSV", e.what());
    }

    detail::copy_tensors(file, p, "");
    optimizer.for_each_state([&](std::string_view name, auto& state) {
        detail::copy_tensors(file, state, "optimizer." + std::string(name) + ".");
    });
    optimizer.steps = steps;
    position = std::move(read);
}

}  // namespace metagrad
