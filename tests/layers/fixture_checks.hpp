// Reading a tensor from a fixture file, and comparing a result with a reference within a scaled
// tolerance (|got - want| / max(1, |want|)), reported once, at the worst element, or bit for bit.
#pragma once

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <string>

#include <boost/test/unit_test.hpp>

#include "metagrad/metagrad.hpp"

namespace test_support {

template <class T, class S>
metagrad::tensor<T, S> fixture(const metagrad::safetensors_file& file, const std::string& name) {
    metagrad::tensor<T, S> t;
    file.copy_to(name, t);
    return t;
}

template <class T, class S>
void check_close(const metagrad::tensor<T, S>& got, const metagrad::tensor<T, S>& want, T tolerance, const std::string& what) {
    T worst{};
    std::size_t at = 0;
    for (std::size_t i = 0; i < S::size; ++i) {
        const T error = std::abs(got[i] - want[i]) / std::max(T{1}, std::abs(want[i]));
        if (!(error <= worst)) worst = error, at = i;  // NaN is the worst of all
    }
    BOOST_TEST(worst <= tolerance, what << ": worst scaled error " << worst << " at " << at << " (" << got[at] << " against " << want[at] << ")");
}

/// Equal bit for bit (a NaN equals nothing): reports how many elements differ, and the first.
template <class T, class S>
void check_identical(const metagrad::tensor<T, S>& got, const metagrad::tensor<T, S>& want, const std::string& what) {
    std::size_t differ = 0, first = 0;
    for (std::size_t i = 0; i < S::size; ++i)
        if (!(got[i] == want[i]) && differ++ == 0) first = i;
    BOOST_TEST(differ == 0, what << ": " << differ << " of " << S::size << " values differ, the first at " << first << " ("
                                 << got[first] << " against " << want[first] << ")");
}

}  // namespace test_support
