#!/usr/bin/env python3
"""The coefficients of eval::tanh (include/metagrad/eval/vector_math.hpp), reproducibly.

tanh(x) ~ x P(x^2) / Q(x^2) on [0, 9.02] (tanh rounds to 1 in float beyond), P and Q of the
degrees given, Q(0) = 1, minimizing the largest relative error: a linearized least-squares fit
(each pass divides by the previous denominator) with weights that grow where the error is
largest (Lawson's iteration), in 40-digit arithmetic. Then the coefficients are rounded to float,
and the evaluation is emulated in float, with fused multiply-adds, to estimate the worst error in
ulp (the C++ test sweeps the real thing: tests/eval/vector_math.cpp).

Needs mpmath (Debian: python3-mpmath). Takes about 20 s.
    python3 scripts/fit_tanh.py [P degree] [Q degree]      (default 4 4)
"""
import math
import random
import struct
import sys

import mpmath as mp

mp.mp.dps = 40
p_degree = int(sys.argv[1]) if len(sys.argv) > 1 else 4
q_degree = int(sys.argv[2]) if len(sys.argv) > 2 else 4
clamp = mp.mpf("9.02")
points = 500

# Denser near the clamp, where tanh flattens and the relative error is hardest to hold.
xs = [clamp * mp.sin(mp.pi / 2 * (i + mp.mpf(0.5)) / points) for i in range(points)]
ts = [x * x for x in xs]
targets = [mp.tanh(x) / x for x in xs]


def polynomial(coefficients, t):
    value = mp.mpf(0)
    for c in reversed(coefficients):
        value = value * t + c
    return value


weights = [mp.mpf(1)] * points
previous_q = [mp.mpf(1)] * points
for iteration in range(40):
    rows, rhs = [], []
    for i in range(points):
        scale = mp.sqrt(weights[i]) / (previous_q[i] * targets[i])  # relative error, linearized
        rows.append([scale * ts[i] ** k for k in range(p_degree + 1)] +
                    [-scale * targets[i] * ts[i] ** k for k in range(1, q_degree + 1)])
        rhs.append(scale * targets[i])
    solution, _ = mp.qr_solve(mp.matrix(rows), mp.matrix(rhs))
    P = [solution[k] for k in range(p_degree + 1)]
    Q = [mp.mpf(1)] + [solution[p_degree + k] for k in range(1, q_degree + 1)]
    errors = [polynomial(P, ts[i]) / polynomial(Q, ts[i]) / targets[i] - 1 for i in range(points)]
    previous_q = [polynomial(Q, t) for t in ts]
    total = sum(weights[i] * abs(errors[i]) for i in range(points))
    weights = [weights[i] * abs(errors[i]) / total for i in range(points)]
print(f"largest relative error in real arithmetic: {float(max(abs(e) for e in errors)):.3g}")


def to_float(v):
    return struct.unpack("f", struct.pack("f", float(v)))[0]


P32, Q32 = [to_float(c) for c in P], [to_float(c) for c in Q]
print("P (from t^0):", ", ".join(repr(c) for c in P32))
print("Q (from t^0):", ", ".join(repr(c) for c in Q32))


def tanh_in_float(x):
    x = max(min(to_float(x), to_float(clamp)), -to_float(clamp))
    t = to_float(x * x)
    p, q = P32[-1], Q32[-1]
    for c in reversed(P32[:-1]):
        p = to_float(p * t + c)  # a product of floats is exact in double: one rounding, as an FMA
    for c in reversed(Q32[:-1]):
        q = to_float(q * t + c)
    return to_float(to_float(x * p) / q)


def ulps(a, exact):
    bits = lambda v: struct.unpack("i", struct.pack("f", v))[0]
    return abs(bits(a) - bits(to_float(exact)))


random.seed(1)
sweep = [to_float(10 ** random.uniform(-8, 1.2)) for _ in range(200000)] + [k * 1e-4 for k in range(1, 100000)]
worst = max((ulps(tanh_in_float(x), math.tanh(x)), x) for x in sweep)
print(f"worst error in float with FMA, sampled: {worst[0]} ulp at x = {worst[1]}")
