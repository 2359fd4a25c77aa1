#!/usr/bin/env python3
"""NVFP4 Linear layers in a small bf16 MLP on CUDA.

    PYTHONPATH=python python3 examples/torch_linear.py [--tokens 16]

Builds a bf16 MLP, copies it, swaps the copy's nn.Linear layers for
nvfp4.torch.Linear (weights per_tensor_2d, activations per token, both
sf_layout = 128x4), and prints the output error against bf16 (relative
Frobenius norm) and the step time of both, eager and replayed from a CUDA
graph.
"""

import argparse
import copy
import time

import torch

import nvfp4.torch


def mlp(hidden, layers):
    blocks = []
    for _ in range(layers):
        blocks += [torch.nn.Linear(hidden, 4 * hidden), torch.nn.GELU(),
                   torch.nn.Linear(4 * hidden, hidden)]
    return torch.nn.Sequential(*blocks)


def step_time(fn, iters=200):
    """Microseconds per call: eager, and replayed from a CUDA graph."""
    for _ in range(10):
        fn()
    torch.cuda.synchronize()
    t0 = time.perf_counter()
    for _ in range(iters):
        fn()
    torch.cuda.synchronize()
    eager = (time.perf_counter() - t0) / iters * 1e6
    g = torch.cuda.CUDAGraph()
    with torch.cuda.graph(g):
        fn()
    g.replay()
    torch.cuda.synchronize()
    t0 = time.perf_counter()
    for _ in range(iters):
        g.replay()
    torch.cuda.synchronize()
    return eager, (time.perf_counter() - t0) / iters * 1e6


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tokens", type=int, default=16)
    parser.add_argument("--hidden", type=int, default=4096)
    parser.add_argument("--layers", type=int, default=2)
    args = parser.parse_args()
    if not torch.cuda.is_available():
        raise SystemExit("this example needs a CUDA device")
    torch.manual_seed(0)
    model = mlp(args.hidden, args.layers).to("cuda", torch.bfloat16).eval()
    quantized = nvfp4.torch.swap_linears(copy.deepcopy(model))
    x = torch.randn(args.tokens, args.hidden, device="cuda", dtype=torch.bfloat16)
    with torch.inference_mode():
        want, got = model(x).double(), quantized(x).double()
        error = ((got - want).norm() / want.norm()).item()
        print(f"MLP {args.layers} x ({args.hidden} -> {4 * args.hidden} -> {args.hidden}), "
              f"{args.tokens} tokens, on {torch.cuda.get_device_name()}")
        print(f"output error of NVFP4 vs bf16 (relative Frobenius): {error:.4f}")
        print("| model | eager us/step | CUDA graph us/step |")
        print("|---|---:|---:|")
        for name, m in (("bf16", model), ("NVFP4", quantized)):
            eager, graph = step_time(lambda: m(x))
            print(f"| {name} | {eager:.1f} | {graph:.1f} |")


if __name__ == "__main__":
    main()
