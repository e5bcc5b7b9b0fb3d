// A layer whose parameter struct lists its tensors the earlier way (`members()` and `names`),
// not as (name, member) pairs in `fields`.
#include "metagrad/metagrad.hpp"

namespace mg = metagrad;

template <class T, std::size_t N>
struct offset_parameters {
    mg::vector<T, N> offset{};
#ifdef METAGRAD_COMPILE_FAIL
    static constexpr auto members() { return boost::hana::make_tuple(&offset_parameters::offset); }
    static constexpr std::array<std::string_view, 1> names{"offset"};
#else
    static constexpr auto fields = mg::fields(mg::field<"offset">(&offset_parameters::offset));
#endif
};

struct offset {
    template <class S>
    using output_shape = S;
    template <class T, class S>
    using parameters = offset_parameters<T, S::last>;
    template <class T, class S, class P>
    static constexpr mg::tensor<T, S> forward(const P& p, const mg::tensor<T, S>& x) {
        return mg::reshape<S>(mg::as_rows(x) + mg::broadcast_rows<S::rows>(p.offset));
    }
    template <class T, class S, class P>
    static constexpr mg::tensor<T, S> backward(const P&, const mg::tensor<T, S>&, const mg::tensor<T, S>&,
                                               const mg::tensor<T, S>& dl_dy, P& dl_dp) {
        dl_dp.offset = mg::column_sums(mg::as_rows(dl_dy));
        return dl_dy;
    }
};

using network = mg::sequential<mg::dense<4, 3>, offset, mg::dense<1>>;

int main() { return network::parameter_count > 0 ? 0 : 1; }
