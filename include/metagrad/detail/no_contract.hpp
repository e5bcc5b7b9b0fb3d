// METAGRAD_NO_CONTRACT: floating-point contraction off in one function. Constant evaluation never
// fuses a * b + c into one fma, but a run-time build may (g++ by default when the target has FMA,
// clang within an expression), which rounds differently. Functions whose run-time results must
// equal their compile-time ones bit for bit (random draws, the maths behind them, error-free
// transformations that assume separate roundings) carry both halves:
//
//     METAGRAD_NO_CONTRACT constexpr double f(double x) {
//         METAGRAD_NO_CONTRACT_BODY
//         ...
//     }
#pragma once

#if defined(__clang__)
#define METAGRAD_NO_CONTRACT
#define METAGRAD_NO_CONTRACT_BODY _Pragma("clang fp contract(off)")
#elif defined(__GNUC__)
#define METAGRAD_NO_CONTRACT __attribute__((optimize("fp-contract=off")))
#define METAGRAD_NO_CONTRACT_BODY
#else
#define METAGRAD_NO_CONTRACT
#define METAGRAD_NO_CONTRACT_BODY
#endif
