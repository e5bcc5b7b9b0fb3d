// metagrad::field and metagrad::fields: how a parameter (or state) struct names its tensors, as
// one list of (name, member) pairs.
#pragma once

#include <cstddef>
#include <string_view>
#include <type_traits>

#include <boost/hana/tuple.hpp>

namespace metagrad {

/// A member's name as a template argument: `field<"weight">(...)`.
template <std::size_t N>
struct field_name {
    char text[N]{};
    constexpr field_name(const char (&name)[N]) {
        for (std::size_t i = 0; i < N; ++i) text[i] = name[i];
    }
    constexpr std::string_view view() const { return {text, N - 1}; }
};

/// One member of a described struct: its name and a pointer to it.
template <field_name Name, class Member>
struct named_member {
    Member member;
    static constexpr std::string_view name = Name.view();
};

/// `field<"weight">(&my_parameters::weight)`: the pair that names one member. A struct lists
/// every tensor it holds (or nested described struct) once, in `fields`:
///
///     template <class T, std::size_t N>
///     struct scale_shift_parameters {
///         vector<T, N> gamma = vector<T, N>::filled(T{1});
///         vector<T, N> beta{};
///         static constexpr auto fields = metagrad::fields(metagrad::field<"gamma">(&scale_shift_parameters::gamma),
///                                                         metagrad::field<"beta">(&scale_shift_parameters::beta));
///     };
///
/// That list is all optimizers, checks, checkpoints and counts use; a name and its member are
/// written together, so they cannot drift apart.
template <field_name Name, class Class, class Type>
constexpr named_member<Name, Type Class::*> field(Type Class::*member) {
    return {member};
}

/// `field<"0">(accessor)`: a member reached by a function object instead of a member pointer,
/// `accessor(s)` returning a reference into `s` (a sub-network's element of a tuple).
template <field_name Name, class Accessor>
    requires(!std::is_member_object_pointer_v<Accessor>)
constexpr named_member<Name, Accessor> field(Accessor accessor) {
    return {accessor};
}

/// The member a field names in struct `s`.
template <class S, class Field>
constexpr auto& member_of(S& s, const Field& f) {
    if constexpr (std::is_member_object_pointer_v<decltype(f.member)>)
        return s.*(f.member);
    else
        return f.member(s);
}

namespace detail {
constexpr std::size_t decimal_digits(std::size_t n) { return n < 10 ? 1 : 1 + decimal_digits(n / 10); }
template <std::size_t I>
constexpr field_name<decimal_digits(I) + 1> index_text() {
    char text[decimal_digits(I) + 1]{};
    std::size_t n = I;
    for (std::size_t k = decimal_digits(I); k-- > 0; n /= 10) text[k] = static_cast<char>('0' + n % 10);
    return field_name<decimal_digits(I) + 1>(text);
}
}  // namespace detail

/// A position as a field's name: `index_name<1>` is "1", as PyTorch names a sequential's modules.
template <std::size_t I>
inline constexpr auto index_name = detail::index_text<I>();

/// The list of a struct's named members, in the order they are saved and visited.
template <class... Members>
constexpr auto fields(Members... members) {
    return boost::hana::make_tuple(members...);
}

/// Whether `P` describes its members with `fields`.
template <class P>
concept described = requires { P::fields; };

}  // namespace metagrad
