#!/usr/bin/python3
"""PyTorch baseline of issue #13: the CNN of examples/fashion_cnn.cpp (random horizontal flips,
two blocks of 3x3 convolution without bias, BatchNorm2d, ReLU and 2x2 max pooling, then Linear
256, ReLU, Dropout(0.25), Linear 10), trained on Fashion-MNIST as the demo trains it: the last 5,000
training images held out, batches of 64 (last one dropped), Adam at 1e-3 with a cosine decay to a
hundredth of it per step, He-uniform weights, softmax cross-entropy. PyTorch gets its fastest
plain set-up: tensors made once and sliced per batch (no DataLoader), float32,
zero_grad(set_to_none=True), channels-last memory when it is faster, torch.set_num_threads.

    benchmarks/pytorch_cnn.py [--data DIR] [--epochs N] [--threads T ...]

Prints, for each thread count, one line per epoch (seconds, samples per second, validation
accuracy) and the test accuracy after the last epoch.
"""
import argparse
import gzip
import math
import os
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
    net = torch.nn.Sequential(
        torch.nn.Conv2d(1, 32, 3, padding=1, bias=False), torch.nn.BatchNorm2d(32), torch.nn.ReLU(), torch.nn.MaxPool2d(2),
        torch.nn.Conv2d(32, 64, 3, padding=1, bias=False), torch.nn.BatchNorm2d(64), torch.nn.ReLU(), torch.nn.MaxPool2d(2),
        torch.nn.Flatten(), torch.nn.Linear(64 * 7 * 7, 256), torch.nn.ReLU(), torch.nn.Dropout(0.25), torch.nn.Linear(256, 10))
    for m in net.modules():
        if isinstance(m, (torch.nn.Conv2d, torch.nn.Linear)):
            torch.nn.init.kaiming_uniform_(m.weight, nonlinearity="relu")
            if m.bias is not None:
                torch.nn.init.zeros_(m.bias)
    return net


def accuracy(net, images, labels):
    net.eval()
    correct = 0
    with torch.no_grad():
        for b in range(0, images.shape[0], 1000):
            correct += (net(images[b:b + 1000]).argmax(1) == labels[b:b + 1000]).sum().item()
    net.train()
    return correct / images.shape[0]


def run(threads, epochs, data):
    torch.set_num_threads(threads)
    images = read_idx(os.path.join(data, "train-images-idx3-ubyte.gz")).reshape(-1, 1, 28, 28).float() / 255
    labels = read_idx(os.path.join(data, "train-labels-idx1-ubyte.gz")).long()
    test_images = read_idx(os.path.join(data, "t10k-images-idx3-ubyte.gz")).reshape(-1, 1, 28, 28).float() / 255
    test_labels = read_idx(os.path.join(data, "t10k-labels-idx1-ubyte.gz")).long()
    train_x, train_y = images[:-5000].contiguous(), labels[:-5000]
    valid_x, valid_y = images[-5000:], labels[-5000:]
    net = model()
    optimizer = torch.optim.Adam(net.parameters(), lr=1e-3)
    loss_fn = torch.nn.CrossEntropyLoss()
    batches = train_x.shape[0] // 64
    total = epochs * batches
    generator = torch.Generator().manual_seed(2)
    step = 0
    for epoch in range(epochs):
        start = time.perf_counter()
        order = torch.randperm(train_x.shape[0], generator=generator)
        for b in range(batches):
            rate = 1e-5 + 0.5 * (1e-3 - 1e-5) * (1 + math.cos(math.pi * step / total))
            for group in optimizer.param_groups:
                group["lr"] = rate
            index = order[b * 64:(b + 1) * 64]
            x, y = train_x[index], train_y[index]
            flip = torch.rand(64, generator=generator) < 0.5
            x = torch.where(flip[:, None, None, None], x.flip(3), x)
            optimizer.zero_grad(set_to_none=True)
            loss = loss_fn(net(x), y)
            loss.backward()
            optimizer.step()
            step += 1
        seconds = time.perf_counter() - start
        print("pytorch_cnn threads %d epoch %d: %.2f s, %.0f samples/s, loss %.4f, validation accuracy %.4f"
              % (threads, epoch + 1, seconds, batches * 64 / seconds, loss.item(), accuracy(net, valid_x, valid_y)), flush=True)
    print("pytorch_cnn threads %d: test accuracy %.4f after %d epochs" % (threads, accuracy(net, test_images, test_labels), epochs),
          flush=True)


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--data", default="/usr/share/datasets/fashion-mnist")
    parser.add_argument("--epochs", type=int, default=1)
    parser.add_argument("--threads", type=int, nargs="+", default=[1, 2])
    args = parser.parse_args()
    for threads in args.threads:
        run(threads, args.epochs, args.data)


if __name__ == "__main__":
    main()
