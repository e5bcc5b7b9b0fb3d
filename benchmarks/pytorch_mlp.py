#!/usr/bin/python3
"""PyTorch baselines of issue #4, timed on this machine like benchmarks/run_time.cpp:

  W4  784-256-128-10 ReLU MLP, softmax cross-entropy, batch 64: forward + backward + SGD step
  W5  one epoch of W4 over Fashion-MNIST's 60,000 training images (shuffled, last batch dropped)

on 1 and 2 threads (torch.set_num_threads). PyTorch gets its fastest plain set-up: tensors made
once and sliced per batch (no DataLoader), float32, zero_grad(set_to_none=True), and the BLAS
core type given by OPENBLAS_CORETYPE when set. Prints one line per result: name, median seconds,
and the spread (min and max) of the repetitions.
"""
import argparse
import gzip
import os
import statistics
import struct
import time

import torch


def read_idx(path):
    with gzip.open(path, "rb") as f:
        data = f.read()
    dims = data[3]
    shape = struct.unpack(">" + "I" * dims, data[4:4 + 4 * dims])
    return torch.frombuffer(bytearray(data[4 + 4 * dims:]), dtype=torch.uint8).reshape(shape)


def model():
    torch.manual_seed(1)
    return torch.nn.Sequential(torch.nn.Linear(784, 256), torch.nn.ReLU(), torch.nn.Linear(256, 128),
                               torch.nn.ReLU(), torch.nn.Linear(128, 10))


def step(net, optimizer, loss_fn, x, y):
    optimizer.zero_grad(set_to_none=True)
    loss = loss_fn(net(x), y)
    loss.backward()
    optimizer.step()
    return loss


def time_w4(threads, repetitions, seconds):
    torch.set_num_threads(threads)
    net = model()
    optimizer = torch.optim.SGD(net.parameters(), lr=0.001)
    loss_fn = torch.nn.CrossEntropyLoss()
    x = torch.rand(64, 784)
    y = torch.arange(64) % 10
    for _ in range(50):
        step(net, optimizer, loss_fn, x, y)
    results = []
    for _ in range(repetitions):
        n, start = 0, time.perf_counter()
        while True:
            for _ in range(20):
                step(net, optimizer, loss_fn, x, y)
            n += 20
            elapsed = time.perf_counter() - start
            if elapsed >= seconds:
                break
        results.append(elapsed / n)
    return results


def time_w5(threads, repetitions, data):
    torch.set_num_threads(threads)
    images = read_idx(os.path.join(data, "train-images-idx3-ubyte.gz")).reshape(-1, 784).float() / 255
    labels = read_idx(os.path.join(data, "train-labels-idx1-ubyte.gz")).long()
    net = model()
    optimizer = torch.optim.SGD(net.parameters(), lr=0.001)
    loss_fn = torch.nn.CrossEntropyLoss()
    generator = torch.Generator().manual_seed(2)
    batches = images.shape[0] // 64
    results = []
    for _ in range(repetitions):
        start = time.perf_counter()
        order = torch.randperm(images.shape[0], generator=generator)
        for b in range(batches):
            index = order[b * 64:(b + 1) * 64]
            step(net, optimizer, loss_fn, images[index], labels[index])
        results.append(time.perf_counter() - start)
    return results


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--data", default="/usr/share/datasets/fashion-mnist")
    parser.add_argument("--repetitions", type=int, default=3)
    parser.add_argument("--seconds", type=float, default=0.5)
    o = parser.parse_args()
    print(f"torch {torch.__version__}, OPENBLAS_CORETYPE={os.environ.get('OPENBLAS_CORETYPE', '(unset)')}, "
          f"cores {os.cpu_count()}")
    for threads in (1, 2):
        r = time_w4(threads, o.repetitions, o.seconds)
        print(f"pytorch_w4/threads:{threads} median {statistics.median(r):.6e} s min {min(r):.6e} max {max(r):.6e}")
    if os.path.exists(os.path.join(o.data, "train-images-idx3-ubyte.gz")):
        for threads in (1, 2):
            r = time_w5(threads, o.repetitions, o.data)
            print(f"pytorch_w5/threads:{threads} median {statistics.median(r):.4f} s min {min(r):.4f} max {max(r):.4f}")
    else:
        print(f"pytorch_w5: skipped, no Fashion-MNIST under {o.data}")


if __name__ == "__main__":
    main()
