// metagrad checkpoints: parameters, optimizer state and training position in safetensors files.
#pragma once

#include <array>
#include <bit>
#include <charconv>
#include <cmath>
#include <concepts>
#include <cstdint>
#include <initializer_list>
#include <limits>
#include <memory>
#include <set>
#include <string>
#include <string_view>
#include <system_error>
#include <utility>

#include "metagrad/core/parameters.hpp"
#include "metagrad/core/summary.hpp"
#include "metagrad/io/safetensors.hpp"
#include "metagrad/train/position.hpp"

namespace metagrad {

namespace detail {
/// Which tensors of a `network_parameters` a file holds: a model's parameters and its layers'
/// state ("1.weight", "2.running_mean"), or only the parameters (an optimizer's moments, whose
/// state part is unused).
enum class saved_part { parameters_and_state, parameters };

/// Calls `f(name, tensor)` for every saved tensor of `p`, named "LAYER.MEMBER" ("1.weight").
template <saved_part Part = saved_part::parameters_and_state, class P, class F>
void for_each_saved_tensor(P& p, F&& f) {
    const auto named = [&](std::string_view path, auto& t) { f(std::string(path), t); };
    for_each_named_tensor(named, p);
    if constexpr (Part == saved_part::parameters_and_state) for_each_named_state_tensor(named, p);
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

/// Extents as the summary table prints them: "(12)", "(28, 28)".
template <class Extents>
std::string extents_text(const Extents& extents, std::size_t rank) {
    std::string out = "(";
    for (std::size_t k = 0; k < rank; ++k) {
        if (k) out += ", ";
        out += std::to_string(extents[k]);
    }
    return out + ")";
}

/// The network a checkpoint belongs to, in the library's words: the input shape, then each
/// layer's name and the shape it outputs, "(6) -> input (6) -> dense (12) -> relu (12) -> dense (3)".
/// Saved as metadata 'metagrad.network' so that a file from another network says so on load.
template <class Net>
std::string network_description() {
    using In = typename Net::input_shape;
    std::string out = extents_text(In::extents, In::rank);
    for (const layer_summary& row : network_summary<Net>::layers) {
        out += " -> ";
        out += row.name;
        out += ' ';
        out += extents_text(row.output_extents, row.output_rank);
    }
    return out;
}

/// "[3, 2]": the place of flat element `i` in a tensor of shape `S`.
template <class S>
std::string element_text(std::size_t i) {
    std::array<std::size_t, S::rank> index{};
    for (std::size_t k = S::rank; k-- > 0;) {
        index[k] = i % S::extents[k];
        i /= S::extents[k];
    }
    std::string out = "[";
    for (std::size_t k = 0; k < S::rank; ++k) out += (k ? ", " : "") + std::to_string(index[k]);
    return out + "]";
}

/// Throws `io_error` naming tensor `name` at its first element that is not finite (or, for
/// `non_negative` state, that is negative): such a value would make training NaN from then on.
template <class T, class S>
void check_values(const std::string& path, const std::string& where, const tensor<T, S>& t, bool non_negative) {
    for (std::size_t i = 0; i < S::size; ++i)
        if (!std::isfinite(t[i]) || (non_negative && t[i] < 0))
            throw io_error(path, where, non_negative ? "finite values, none negative" : "finite values",
                           number_text(t[i]) + " at element " + element_text<S>(i));
}

/// Checks every tensor `prefix + name` of `p` against the file (present, dtype, shape), before
/// anything is copied: a file that does not fit leaves the parameters as they were. Unless
/// `values` is `none`, also its values, read into a copy on the heap one tensor at a time.
enum class values_check { none, finite, finite_non_negative };
template <saved_part Part = saved_part::parameters_and_state, class Net, class T>
void check_tensors(const safetensors_file& file, const network_parameters<Net, T>& p, const std::string& prefix,
                   std::set<std::string>& used, values_check values = values_check::none) {
    for_each_saved_tensor<Part>(p, [&](const std::string& name, const auto& t) {
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
        if (values != values_check::none) {
            const auto copy = std::make_unique<std::remove_cvref_t<decltype(t)>>();
            file.copy_to(full, *copy);
            check_values(file.path(), "tensor '" + full + "'", *copy, values == values_check::finite_non_negative);
        }
        used.insert(full);
    });
}

template <saved_part Part = saved_part::parameters_and_state, class Net, class T>
void copy_tensors(const safetensors_file& file, network_parameters<Net, T>& p, const std::string& prefix) {
    for_each_saved_tensor<Part>(p, [&](const std::string& name, auto& t) { file.copy_to(prefix + name, t); });
}

template <saved_part Part = saved_part::parameters_and_state, class Net, class T>
void add_tensors(safetensors_writer& out, const network_parameters<Net, T>& p, const std::string& prefix) {
    for_each_saved_tensor<Part>(p, [&](const std::string& name, const auto& t) { out.add(prefix + name, t); });
}

inline void reject_unused(const safetensors_file& file, const std::set<std::string>& used) {
    for (const auto& [name, entry] : file.entries())
        if (!used.count(name))
            throw io_error(file.path(), "tensor '" + name + "'", "only the network's tensors", "a tensor the network does not have");
}

template <class Optimizer>
constexpr bool is_non_negative_state(std::string_view name) {
    if constexpr (requires { Optimizer::non_negative_states; })
        for (const std::string_view n : Optimizer::non_negative_states)
            if (n == name) return true;
    return false;
}

/// Throws `io_error` unless counter `value` can count once more (is below its type's maximum).
template <class Counter>
void check_counter(const std::string& path, const std::string& where, Counter value, const char* what) {
    if (value == std::numeric_limits<Counter>::max())
        throw io_error(path, where, std::string(what) + " below " + number_text(value) + " (one that can count once more)",
                       number_text(value));
}
inline void check_finite(const std::string& path, const std::string& where, double value) {
    if (!std::isfinite(value)) throw io_error(path, where, "a finite number", number_text(value));
}

/// The checks a training position passes before it is saved and after it is read, so that every
/// checkpoint `save_checkpoint` writes loads: counters below their maximum (the next step or epoch
/// would wrap to 0 and restart the schedule or the early stopping silently), finite early-stopping
/// numbers and spare normal draw, and a history without NaN and with finite learning rates.
/// `saving` prefixes the place ("saving " on save). Relations between the counters (steps
/// against epochs) are not checked: a loop of the user's own may keep them differently.
inline void check_position(const std::string& path, const std::string& saving, const training_position& p) {
    const auto key = [&](const char* name) { return saving + "__metadata__ '" + name + "'"; };
    check_counter(path, key("position.step"), p.step, "a step count");
    check_counter(path, key("position.epoch"), p.epoch, "an epoch count");
    check_counter(path, key("position.stopping.epochs_without_improvement"), p.stopping.epochs_without_improvement,
                  "an epoch count");
    check_finite(path, key("position.stopping.min_delta"), p.stopping.min_delta);
    check_finite(path, key("position.stopping.best"), p.stopping.best);
    check_finite(path, key("position.shuffle.spare"), p.shuffle.save().spare);
    for (std::size_t i = 0; i < p.curves.epochs.size(); ++i) {
        const epoch_record& r = p.curves.epochs[i];
        const std::pair<const char*, double> fields[] = {
            {"train_loss", r.train_loss},           {"train_accuracy", r.train_accuracy}, {"validation_loss", r.validation_loss},
            {"validation_accuracy", r.validation_accuracy}, {"learning_rate", r.learning_rate}, {"seconds", r.seconds},
            {"samples_per_second", r.samples_per_second}};
        for (const auto& [name, value] : fields) {
            const bool rate = std::string_view(name) == "learning_rate";
            if (std::isnan(value) || (rate && !std::isfinite(value)))
                throw io_error(path, key("position.history") + " line " + std::to_string(i + 2) + ", " + name,
                               rate ? "a finite learning rate" : "a number (not NaN)", number_text(value));
        }
    }
}

/// Throws `io_error` when the file's 'metagrad.network' (absent before it was saved) is not the
/// description of `Net`: the file is from another network.
template <class Net>
void check_network(const safetensors_file& file, const char* kind) {
    const auto it = file.metadata().find("metagrad.network");
    if (it == file.metadata().end()) return;
    const std::string ours = network_description<Net>();
    if (it->second != ours)
        throw io_error(file.path(), "__metadata__ 'metagrad.network'",
                       std::string(kind) + " of the program's network, " + ours,
                       "one from another network, " + it->second);
}
}  // namespace detail

/// What a checkpoint needs of an optimizer: a static `name` and `for_each_state(f)`, which calls
/// `f(name, tensors)` for each of its state tensors (none for plain `sgd`). Every optimizer of
/// the library has them; `save_checkpoint` and `load_checkpoint` assert it.
template <class Optimizer>
concept checkpointable_optimizer = requires(const Optimizer& o) {
    { Optimizer::name } -> std::convertible_to<std::string_view>;
    o.for_each_state([](std::string_view, const auto&) {});
};

/// What `save_parameters` does with parameters that are not finite (NaN or infinite).
enum class non_finite_values {
    refuse,  ///< throw `io_error` naming the tensor and write nothing (the default)
    keep     ///< write them: a diverged model, to inspect in numpy or PyTorch
};

namespace detail {
/// `save_parameters` with more metadata (`save_for_onnx` adds the graph): checks the values
/// unless `non_finite` is `keep`, then writes every parameter and state tensor and the metadata.
template <class Net, class T>
void save_parameters_with(const std::string& path, const network_parameters<Net, T>& p, non_finite_values non_finite,
                          std::initializer_list<std::pair<std::string, std::string>> metadata) {
    if (non_finite == non_finite_values::refuse)
        for_each_saved_tensor(p, [&](const std::string& name, const auto& t) { check_values(path, "saving tensor '" + name + "'", t, false); });
    safetensors_writer out;
    add_tensors(out, p, "");
    out.set_metadata("format", "pt");
    out.set_metadata("metagrad.network", network_description<Net>());
    for (const auto& [key, value] : metadata) out.set_metadata(key, value);
    out.write(path);
}
}  // namespace detail

/// Writes `p` as a safetensors file with one tensor per parameter, named "1.weight", "1.bias"...
/// (layer position, member name), and the network's description as metadata
/// ('metagrad.network'). PyTorch reads it with `safetensors.torch.load_file`; the names are an
/// `nn.Sequential` state_dict's when the layers sit at the same positions. A parameter that is
/// not finite makes it throw `io_error` naming the tensor, writing nothing, unless `non_finite`
/// is `keep`.
template <class Net, class T>
void save_parameters(const std::string& path, const network_parameters<Net, T>& p,
                     non_finite_values non_finite = non_finite_values::refuse) {
    detail::save_parameters_with(path, p, non_finite, {});
}

/// Reads parameters written by `save_parameters` or any tool (PyTorch, numpy) using the same
/// names. The file must hold exactly the network's tensors, with its dtype (F32 for float,
/// F64 for double) and shapes; otherwise `io_error` says which tensor and why (or, for a file
/// `save_parameters` wrote for another network, names both networks), and `p` is left
/// unchanged. Values are copied as they are: a file from elsewhere may hold any.
template <class Net, class T>
void load_parameters(const std::string& path, network_parameters<Net, T>& p) {
    const safetensors_file file = safetensors_file::read(path);
    std::set<std::string> used;
    try {
        detail::check_tensors(file, p, "", used);
        detail::reject_unused(file, used);
    } catch (const io_error&) {
        // The tensors do not fit: say so in terms of networks when the file names its own.
        detail::check_network<Net>(file, "parameters");
        throw;
    }
    detail::copy_tensors(file, p, "");
}

/// Writes everything needed to resume training exactly: the parameters (under their plain
/// names, so the file also loads as a model), the optimizer's state tensors ("optimizer.NAME.")
/// and step count, and the training position (steps, epochs, shuffling generator, early
/// stopping, learning curves) as metadata, with the network's description ('metagrad.network')
/// and the optimizer's name. Works with every optimizer of the library, plain `sgd` included.
///
/// Nothing is written, and `io_error` names the tensor or field, when a parameter or state
/// element is not finite (or an Adam second moment is negative), or the position would not load
/// (`load_checkpoint`'s checks): a checkpoint exists to resume training, and NaN resumes into
/// NaN. There is no opt-out; `save_parameters(..., non_finite_values::keep)` keeps a diverged
/// model for inspection. A previous file at `path` is kept as it was.
template <class Net, class T, class Optimizer>
void save_checkpoint(const std::string& path, const network_parameters<Net, T>& p, const Optimizer& optimizer,
                     const training_position& position) {
    static_assert(checkpointable_optimizer<Optimizer>,
                  "metagrad::save_checkpoint: the optimizer needs a static `name` and `for_each_state(f)` calling "
                  "f(name, tensors) for each state tensor, as metagrad's optimizers have");
    if constexpr (checkpointable_optimizer<Optimizer>) {
        detail::for_each_saved_tensor(p, [&](const std::string& name, const auto& t) {
            detail::check_values(path, "saving tensor '" + name + "'", t, false);
        });
        optimizer.for_each_state([&](std::string_view state, const auto& tensors) {
            const bool non_negative = detail::is_non_negative_state<Optimizer>(state);
            detail::for_each_saved_tensor<detail::saved_part::parameters>(tensors, [&](const std::string& name, const auto& t) {
                detail::check_values(path, "saving tensor 'optimizer." + std::string(state) + "." + name + "'", t, non_negative);
            });
        });
        if constexpr (requires { optimizer.steps; })
            detail::check_counter(path, "saving __metadata__ 'optimizer.steps'", optimizer.steps, "a step count");
        detail::check_position(path, "saving ", position);

        safetensors_writer out;
        detail::add_tensors(out, p, "");
        optimizer.for_each_state([&](std::string_view name, const auto& state) {
            detail::add_tensors<detail::saved_part::parameters>(out, state, "optimizer." + std::string(name) + ".");
        });
        out.set_metadata("format", "pt");
        out.set_metadata("metagrad.checkpoint", "1");
        out.set_metadata("metagrad.network", detail::network_description<Net>());
        out.set_metadata("optimizer", std::string(Optimizer::name));
        if constexpr (requires { optimizer.steps; })
            out.set_metadata("optimizer.steps", detail::number_text(optimizer.steps));
        out.set_metadata("position.step", detail::number_text(position.step));
        out.set_metadata("position.epoch", detail::number_text(position.epoch));
        out.set_metadata("position.seed", detail::number_text(position.seed));
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
}

/// Reads a checkpoint written by `save_checkpoint` for the same network, element type and
/// optimizer type. Everything is checked before anything is changed: on any mismatch,
/// `io_error` names it and `p`, `optimizer` and `position` are left as they were.
///
/// Refused, with the file, the place and what was found: a file of another network (when the
/// file describes its network, as every checkpoint since metagrad.network was added does; older
/// ones are checked tensor by tensor) or of another optimizer, naming both; a missing or extra
/// tensor, or one of another dtype or shape; a parameter or state element that is not finite,
/// or a negative Adam second moment; a step or epoch count at its maximum (the next step would
/// wrap it to 0); a shuffling state of all zeros (it would draw only zeros, and shuffling would
/// never end); early-stopping numbers or a spare normal draw that are not finite; a history
/// with NaN or a learning rate that is not finite.
template <class Net, class T, class Optimizer>
void load_checkpoint(const std::string& path, network_parameters<Net, T>& p, Optimizer& optimizer,
                     training_position& position) {
    static_assert(checkpointable_optimizer<Optimizer>,
                  "metagrad::load_checkpoint: the optimizer needs a static `name` and `for_each_state(f)` calling "
                  "f(name, tensors) for each state tensor, as metagrad's optimizers have");
    if constexpr (checkpointable_optimizer<Optimizer>) {
        const safetensors_file file = safetensors_file::read(path);
        if (!file.metadata().count("metagrad.checkpoint"))
            throw io_error(path, "__metadata__", "a metagrad checkpoint (written by save_checkpoint)", "no 'metagrad.checkpoint' key");
        detail::check_network<Net>(file, "a checkpoint");
        if (file.metadata("optimizer") != Optimizer::name)
            throw io_error(path, "__metadata__ 'optimizer'", "a checkpoint of the program's optimizer, " + std::string(Optimizer::name),
                           "one from another optimizer, " + file.metadata("optimizer"));
        std::set<std::string> used;
        detail::check_tensors(file, p, "", used, detail::values_check::finite);
        optimizer.for_each_state([&](std::string_view name, const auto& state) {
            detail::check_tensors<detail::saved_part::parameters>(file, state, "optimizer." + std::string(name) + ".", used,
                                  detail::is_non_negative_state<Optimizer>(name) ? detail::values_check::finite_non_negative
                                                                                  : detail::values_check::finite);
        });
        detail::reject_unused(file, used);

        [[maybe_unused]] std::uint64_t steps = 0;
        if constexpr (requires { optimizer.steps; }) {
            steps = detail::read_number<std::uint64_t>(file, "optimizer.steps");
            detail::check_counter(path, "__metadata__ 'optimizer.steps'", steps, "a step count");
        }
        training_position read;
        read.step = detail::read_number<std::size_t>(file, "position.step");
        read.epoch = detail::read_number<std::size_t>(file, "position.epoch");
        // Absent from checkpoints written before layers drew random numbers: their seed was 0.
        if (file.metadata().count("position.seed")) read.seed = detail::read_number<std::uint64_t>(file, "position.seed");
        random_generator::snapshot s;
        for (std::size_t i = 0; i < s.words.size(); ++i)
            s.words[i] = detail::read_number<std::uint64_t>(file, "position.shuffle." + std::to_string(i));
        if (!random_generator::restorable(s))
            throw io_error(path, "__metadata__ 'position.shuffle.0' to 'position.shuffle.3'",
                           "a generator state that is not all zeros (xoshiro256** would draw only zeros)", "four zeros");
        s.spare = std::bit_cast<double>(detail::read_number<std::uint64_t>(file, "position.shuffle.spare"));
        const int has_spare = detail::read_number<int>(file, "position.shuffle.has_spare");
        if (has_spare != 0 && has_spare != 1)
            throw io_error(path, "__metadata__ 'position.shuffle.has_spare'", "0 or 1", std::to_string(has_spare));
        s.has_spare = has_spare == 1;
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
        detail::check_position(path, "", read);

        detail::copy_tensors(file, p, "");
        optimizer.for_each_state([&](std::string_view name, auto& state) {
            detail::copy_tensors<detail::saved_part::parameters>(file, state, "optimizer." + std::string(name) + ".");
        });
        if constexpr (requires { optimizer.steps; }) optimizer.steps = steps;
        position = std::move(read);
    }
}

}  // namespace metagrad
