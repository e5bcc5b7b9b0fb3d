// metagrad::random_generator: a seeded generator whose numbers are the same on every platform.
#pragma once

#include <array>
#include <cstdint>
#include <stdexcept>

#include "metagrad/detail/no_contract.hpp"
#include "metagrad/math/log.hpp"
#include "metagrad/math/sqrt.hpp"

namespace metagrad {

/// xoshiro256** (Blackman and Vigna), seeded through splitmix64. The standard library's engines
/// are reproducible but its distributions are not (libstdc++ and libc++ draw differently), so
/// every distribution here is written out: the same seed gives the same weights and the same
/// shuffles bit for bit, with any compiler, at compile time or at run time.
///
/// Its state is never all zeros (xoshiro's one fixed point: it would draw only zeros, and
/// `below` would never return): seeding cannot produce it (splitmix64's output function is a
/// bijection of a counter that takes four distinct values, so at most one word is zero), and
/// `restore` refuses it.
class random_generator {
public:
    using state_type = std::array<std::uint64_t, 4>;

    constexpr explicit random_generator(std::uint64_t seed = 0) {
        for (auto& word : state_) {
            seed += 0x9e3779b97f4a7c15u;  // splitmix64
            std::uint64_t z = seed;
            z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9u;
            z = (z ^ (z >> 27)) * 0x94d049bb133111ebu;
            word = z ^ (z >> 31);
        }
    }

    /// The next 64 random bits.
    constexpr std::uint64_t next() {
        const std::uint64_t result = rotate(state_[1] * 5, 7) * 9;
        const std::uint64_t t = state_[1] << 17;
        state_[2] ^= state_[0];
        state_[3] ^= state_[1];
        state_[1] ^= state_[2];
        state_[0] ^= state_[3];
        state_[2] ^= t;
        state_[3] = rotate(state_[3], 45);
        return result;
    }

    /// Uniform in [0, 1), from the top bits (53 for double, 24 for float): every value is a
    /// multiple of 2^-53 (2^-24), so the result is exact and the same everywhere.
    template <class T = double>
    constexpr T uniform() {
        if constexpr (sizeof(T) == sizeof(float))
            return static_cast<T>(next() >> 40) * T(0x1.0p-24);
        else
            return static_cast<T>(next() >> 11) * T(0x1.0p-53);
    }

    /// Uniform in [low, high). Contraction off here and in `normal`: the draws are the same at
    /// compile time and at run time, whatever the target.
    template <class T>
    METAGRAD_NO_CONTRACT constexpr T uniform(T low, T high) {
        METAGRAD_NO_CONTRACT_BODY
        return low + (high - low) * uniform<T>();
    }

    /// Standard normal, by Marsaglia's polar method (only log and sqrt, both metagrad's own).
    template <class T = double>
    METAGRAD_NO_CONTRACT constexpr T normal() {
        METAGRAD_NO_CONTRACT_BODY
        if (has_spare_) {
            has_spare_ = false;
            return static_cast<T>(spare_);
        }
        double u = 0, v = 0, s = 0;
        do {
            u = 2 * uniform<double>() - 1;
            v = 2 * uniform<double>() - 1;
            s = u * u + v * v;
        } while (s >= 1 || s == 0);
        const double scale = math::sqrt(-2 * math::log(s) / s);
        spare_ = v * scale;
        has_spare_ = true;
        return static_cast<T>(u * scale);
    }

    /// Uniform integer in [0, n), without modulo bias (rejection on the low word); 0 for n = 0.
    constexpr std::uint64_t below(std::uint64_t n) {
        if (n == 0) return 0;
        const std::uint64_t threshold = (0 - n) % n;
        for (;;) {
            const std::uint64_t r = next();
            if (r >= threshold) return r % n;
        }
    }

    /// The whole state, to save in a checkpoint and restore: a resumed run draws what the
    /// uninterrupted one would have drawn.
    struct snapshot {
        state_type words{};
        double spare = 0;
        bool has_spare = false;
        friend constexpr bool operator==(const snapshot&, const snapshot&) = default;
    };
    constexpr snapshot save() const { return {state_, spare_, has_spare_}; }
    /// Whether `s` can be restored: a state that is not all zeros.
    static constexpr bool restorable(const snapshot& s) {
        for (const std::uint64_t word : s.words)
            if (word) return true;
        return false;
    }
    /// Restores a snapshot taken by `save`. Throws `std::invalid_argument` for an all-zero state
    /// (`restorable`), which no generator can reach; in constant evaluation that is a compile error.
    constexpr void restore(const snapshot& s) {
        if (!restorable(s))
            // You restored a state that is all zeros: xoshiro256** would draw nothing but zeros.
            throw std::invalid_argument("metagrad::random_generator::restore: the state is all zeros, which draws only zeros");
        state_ = s.words;
        spare_ = s.spare;
        has_spare_ = s.has_spare;
    }

    friend constexpr bool operator==(const random_generator&, const random_generator&) = default;

private:
    static constexpr std::uint64_t rotate(std::uint64_t x, int k) { return (x << k) | (x >> (64 - k)); }

    state_type state_{};
    double spare_ = 0;
    bool has_spare_ = false;
};

}  // namespace metagrad
