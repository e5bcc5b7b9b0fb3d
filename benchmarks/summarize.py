#!/usr/bin/python3
"""Summary of one benchmarks/run.sh run: for each workload of issue #4, metagrad against its
baselines (median of the repetitions, and their spread as min-max), the ratio to the best peer,
and the fraction of the machine bound that limits it. Usage:
    summarize.py run_time.json pytorch.txt
"""
import json
import re
import statistics
import sys

UNIT = {"ns": 1e-9, "us": 1e-6, "ms": 1e-3, "s": 1.0}


def load_runs(path):
    with open(path) as f:
        data = json.load(f)
    runs, counters = {}, {}
    for b in data["benchmarks"]:
        if b.get("run_type") != "iteration":
            continue
        name = b["run_name"]
        runs.setdefault(name, []).append(b["real_time"] * UNIT[b["time_unit"]])
        for key in ("peak_GFLOP/s", "peak2_GFLOP/s", "L2_GB/s", "fma_2v1"):
            if key in b:
                counters[key] = b[key]
        if "2t_vs_1t" in b:  # W5's pairs of epochs, one ratio per repetition
            counters.setdefault("w5_pairs", []).append(b["2t_vs_1t"])
    return data["context"], runs, counters


def load_pytorch(path):
    runs = {}
    with open(path) as f:
        for line in f:
            m = re.match(r"(pytorch_w[45]/threads:\d) median (\S+) s min (\S+) max (\S+)", line)
            if m:
                runs[m.group(1)] = (float(m.group(2)), float(m.group(3)), float(m.group(4)))
    return runs


def main():
    context, runs, counters = load_runs(sys.argv[1])
    pytorch = load_pytorch(sys.argv[2]) if len(sys.argv) > 2 else {}

    def stat(name):
        if name in runs:
            t = runs[name]
            return statistics.median(t), min(t), max(t)
        return pytorch.get(name)

    def show(name, scale=1e6, unit="µs"):
        s = stat(name)
        if s is None:
            return "n/a"
        return f"{s[0] * scale:.4g} {unit} ({s[1] * scale:.4g}-{s[2] * scale:.4g})"

    def median(name):
        s = stat(name)
        return s[0] if s else None

    peak = counters.get("peak_GFLOP/s", 0) * 1e9
    peak_two = counters.get("peak2_GFLOP/s", 0) * 1e9
    l2 = counters.get("L2_GB/s", 0) * 1e9
    weights = 784 * 256 + 256 * 128 + 128 * 10
    w4_flops = 2.0 * 64 * (2 * weights + 256 * 128 + 128 * 10)

    print(f"machine: {context.get('num_cpus')} CPUs at {context.get('mhz_per_cpu')} MHz (as reported); "
          f"FMA peak (best window) {peak / 1e9:.1f} GFLOP/s on 1 core, {peak_two / 1e9:.1f} on 2; "
          f"L2 read {l2 / 1e9:.1f} GB/s; two threads of FMAs typically {counters.get('fma_2v1', float('nan')):.2f}x one "
          f"(medians of windows)")
    print()
    print("| workload | metagrad | hand-written | Eigen | libtorch | PyTorch | result | bar |")
    print("|---|---|---|---|---|---|---|---|")

    def row(label, ours, hand, eigen, torch, py, result, bar, scale=1e6, unit="µs"):
        cells = [show(n, scale, unit) if n else "" for n in (ours, hand, eigen, torch, py)]
        print(f"| {label} | " + " | ".join(cells) + f" | {result} | {bar} |")

    def ratio(a, b):
        a, b = median(a), median(b)
        return a / b if a and b else float("nan")

    w1 = ratio("w1_metagrad", "w1_eigen")
    row("W1 homework, 1 sample, train step", "w1_metagrad", "w1_hand", "w1_eigen", "w1_libtorch", None,
        f"{w1:.2f}x Eigen", "≤ 1.0x Eigen", 1e9, "ns")
    best_w2 = min(x for x in (median("w2_hand"), median("w2_eigen")) if x)
    w2 = median("w2_metagrad") / best_w2
    row("W2 16-32-32-1 tanh, 1 sample, inference: `Net::forward`", "w2_metagrad", "w2_hand", "w2_eigen", "w2_libtorch",
        None, f"{w2:.2f}x best", "≤ 1.0x best", 1e9, "ns")
    if median("w2_predictor"):
        row("W2 with a `predictor` (weights packed)", "w2_predictor", None, None, None, None,
            f"{median('w2_predictor') / best_w2:.2f}x best", "≤ 1.0x best", 1e9, "ns")
    w3 = 4 * weights / median("w3_metagrad") / l2
    w3_eigen = 4 * weights / median("w3_eigen") / l2
    row("W3 784-256-128-10 softmax, 1 sample, inference: `Net::forward`", "w3_metagrad", None, "w3_eigen",
        "w3_libtorch", None, f"{w3:.0%} of L2 bound (Eigen {w3_eigen:.0%})", "≥ 85%")
    if median("w3_predictor"):
        row("W3 with a `predictor` (weights packed)", "w3_predictor", None, None, None, None,
            f"{4 * weights / median('w3_predictor') / l2:.0%} of L2 bound", "≥ 85%")
    w4 = w4_flops / median("w4_metagrad/threads:1") / peak
    w4_eigen = w4_flops / median("w4_eigen") / peak
    w4_torch = w4_flops / median("w4_libtorch/threads:1") / peak if median("w4_libtorch/threads:1") else float("nan")
    row("W4 same MLP, batch 64, train step, 1 thread", "w4_metagrad/threads:1", None, "w4_eigen",
        "w4_libtorch/threads:1", "pytorch_w4/threads:1",
        f"{w4:.0%} of FMA peak (Eigen {w4_eigen:.0%}, libtorch {w4_torch:.0%})", "≥ 75%")
    row("W4 on 2 threads", "w4_metagrad/threads:2", None, None, "w4_libtorch/threads:2", "pytorch_w4/threads:2",
        f"{ratio('w4_metagrad/threads:1', 'w4_metagrad/threads:2'):.2f}x 1 thread; "
        f"{w4_flops / median('w4_metagrad/threads:2') / peak_two:.0%} of the 2-core peak", "")
    w5_1, w5_2 = "w5_metagrad/threads:1/iterations:1", "w5_metagrad/threads:2/iterations:1"
    if median(w5_2) and "pytorch_w5/threads:2" in pytorch:
        vs_pytorch = pytorch["pytorch_w5/threads:2"][0] / median(w5_2)
        row("W5 epoch of Fashion-MNIST, 1 thread", w5_1, None, None, None, "pytorch_w5/threads:1",
            f"{pytorch['pytorch_w5/threads:1'][0] / median(w5_1):.2f}x faster than PyTorch", "", 1, "s")
        row("W5 epoch of Fashion-MNIST, 2 threads", w5_2, None, None, None, "pytorch_w5/threads:2",
            f"{vs_pytorch:.2f}x faster than PyTorch; {median(w5_1) / median(w5_2):.2f}x 1 thread",
            "≥ 2.5x PyTorch, ≥ 1.6x 1 thread", 1, "s")
    pairs = counters.get("w5_pairs")
    if pairs:
        print(f"| W5, 2 threads vs 1 from pairs of epochs taken in turn | | | | | | "
              f"{statistics.median(pairs):.2f}x ({min(pairs):.2f}-{max(pairs):.2f}, {len(pairs)} pairs) | ≥ 1.6x |")
    s1 = median("s1_hand") / median("s1_metagrad")
    row("S1 8-16-16-1 Adam, batch 32, train step", "s1_metagrad", "s1_hand", None, "s1_libtorch", None,
        f"{s1:.2f}x hand's samples/s", "≥ 1.0x")


if __name__ == "__main__":
    main()
