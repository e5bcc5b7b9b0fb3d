#!/usr/bin/env python3
"""A model of one data-parallel step's communication (docs/distributed.md), and what it predicts
for the Fashion-MNIST demos on clusters of 8, 64 and 512 nodes.

    python3 benchmarks/distributed_model.py [MLP_US_PER_SAMPLE] [CNN_US_PER_SAMPLE]

Per step, every rank sends and receives the flat vector of the network's gradients, state and two
counters (S bytes) through dist/collectives.hpp's sum_all: recursive halving, then doubling, so
2 (P - 1) / P * S bytes each way in 2 log2 P messages:

    T_comm(P) = 2 log2(P) * alpha + 2 (P - 1) / P * S / bandwidth

Nothing overlaps it, so a rank's step takes T_compute + T_comm, and the efficiency (samples per
second on P ranks over P times one rank's, at the same batch per rank) is
T_compute / (T_compute + T_comm). T_compute is the block's forward, backward and optimizer step,
measured on one core of this machine (the per-sample times given, or the defaults below).
"""
import math
import sys

FLOAT = 4
networks = {
    # name: (parameters, state scalars, microseconds per sample of one training step on one core)
    "MLP 784-256-128-10": (235_146, 0, float(sys.argv[1]) if len(sys.argv) > 1 else 8.1),
    "CNN (conv 32, conv 64, dense 256)": (824_554, 192, float(sys.argv[2]) if len(sys.argv) > 2 else 377.0),
}
clusters = {
    # name: (latency per message in seconds, bytes per second)
    "25 Gbit/s Ethernet (alpha 10 us)": (10e-6, 25e9 / 8),
    "100 Gbit/s InfiniBand (alpha 2 us)": (2e-6, 100e9 / 8),
}


def comm_seconds(ranks, step_bytes, alpha, bandwidth):
    if ranks == 1:
        return 0.0
    return 2 * math.log2(ranks) * alpha + 2 * (ranks - 1) / ranks * step_bytes / bandwidth


def efficiency(ranks, step_bytes, compute, alpha, bandwidth):
    return compute / (compute + comm_seconds(ranks, step_bytes, alpha, bandwidth))


def table(batch, bytes_factor=1.0, title=""):
    print(f"\n{title}batch {batch} per rank\n")
    print("| network | bytes per step | cluster | T_compute | 8 nodes | 64 nodes | 512 nodes |")
    print("|---|---|---|---|---|---|---|")
    for name, (parameters, state, us) in networks.items():
        step_bytes = (parameters + state + 2) * FLOAT * bytes_factor
        compute = batch * us * 1e-6
        for cluster, (alpha, bandwidth) in clusters.items():
            cells = []
            for ranks in (8, 64, 512):
                t = comm_seconds(ranks, step_bytes, alpha, bandwidth)
                cells.append(f"{efficiency(ranks, step_bytes, compute, alpha, bandwidth):.0%} ({t * 1e3:.2f} ms)")
            print(f"| {name} | {step_bytes / 1e6:.2f} MB | {cluster} | {compute * 1e3:.2f} ms | " + " | ".join(cells) + " |")


print(__doc__.split("\n\n")[0])
table(64)
table(256)
table(64, bytes_factor=0.5, title="Gradients sent as 16-bit floats, ")
