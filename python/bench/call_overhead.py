#!/usr/bin/env python3
"""Per-call cost of nvfp4 from Python on the GPU (issue 12's targets).

    PYTHONPATH=python python3 python/bench/call_overhead.py [--calls 1000]

For each case: the median host time of one call over N back-to-back calls
(torch.cuda.synchronize only before and after the loop), the wall time per
call of the whole loop up to that synchronize, and the device time per call
(CUDA events around the loop). Kernels are compiled and cached before
timing. Cases: quantize (per_token, per_tensor, local_1x64) at 1 x 8192 and
8192 x 8192 bf16, matmul at M = 1, 16, 128 and N = K = 8192, the decode step
(quantize 1 x 8192 per token + GEMM with 8192 x 8192 NVFP4 weights, bf16
out) eager and replayed from a CUDA graph, and bf16 F.linear for
comparison. Prints a Markdown table with the device and the date. Not a
test: the numbers go to docs/Performance.md.
"""

import argparse
import datetime
import statistics
import time

import torch
import torch.nn.functional as F

import nvfp4
import nvfp4.torch  # noqa: F401  (registers the ops, as a model would)

A_RECIPE = "per_token, sf_layout = 128x4"
W_RECIPE = "per_tensor_2d, sf_layout = 128x4"
TARGETS = {"quantize": 15.0, "matmul": 15.0, "decode": 45.0}


def measure(fn, calls):
    """(median host us per call, wall us per call, device us per call)."""
    for _ in range(200):  # kernels cached, allocator and clocks warm
        fn()
    torch.cuda.synchronize()
    start, end = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
    host = []
    start.record()
    t0 = prev = time.perf_counter_ns()
    for _ in range(calls):
        fn()
        now = time.perf_counter_ns()
        host.append(now - prev)
        prev = now
    end.record()
    torch.cuda.synchronize()
    wall = (time.perf_counter_ns() - t0) / calls / 1e3
    return statistics.median(host) / 1e3, wall, start.elapsed_time(end) * 1e3 / calls


def graphed(fn):
    """fn captured in a CUDA graph, and the replay."""
    s = torch.cuda.Stream()
    s.wait_stream(torch.cuda.current_stream())
    with torch.cuda.stream(s):
        fn()
    torch.cuda.current_stream().wait_stream(s)
    g = torch.cuda.CUDAGraph()
    with torch.cuda.graph(g):
        fn()
    return g.replay


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--calls", type=int, default=1000)
    args = parser.parse_args()
    torch.manual_seed(0)
    dev = torch.device("cuda")
    rows = []

    def add(kind, name, fn):
        if not rows:
            measure(fn, args.calls)  # the first case runs twice: the host warms up
        host, wall, device = measure(fn, args.calls)
        target = TARGETS.get(kind)
        rows.append((name, host, wall, device,
                     "" if target is None else f"<= {target:g}"))

    with torch.inference_mode():
        for preset in ("per_token", "per_tensor", "local_1x64"):
            k = nvfp4.compile(preset, target="cuda", input_dtype="bf16")
            for m in (1, 8192):
                x = torch.randn(m, 8192, device=dev, dtype=torch.bfloat16)
                add("quantize", f"quantize {preset} {m}x8192 (Kernel)", lambda: k(x))
        x = torch.randn(1, 8192, device=dev, dtype=torch.bfloat16)
        add("quantize", "quantize per_token 1x8192 (nvfp4.quantize)",
            lambda: nvfp4.quantize(x, recipe=A_RECIPE))

        w = torch.randn(8192, 8192, device=dev, dtype=torch.bfloat16)
        wq = nvfp4.quantize(w, recipe=W_RECIPE)
        for m in (1, 16, 128):
            qa = nvfp4.quantize(torch.randn(m, 8192, device=dev, dtype=torch.bfloat16),
                                recipe=A_RECIPE)
            add("matmul", f"matmul M={m} N=K=8192", lambda: nvfp4.matmul(qa, wq))

        x = torch.randn(1, 8192, device=dev, dtype=torch.bfloat16)

        def decode():
            return nvfp4.matmul(nvfp4.quantize(x, recipe=A_RECIPE), wq)

        add("decode", "decode step 1x8192 (quantize + GEMM), eager", decode)
        add("decode", "decode step, CUDA graph replay", graphed(decode))

        def linear():
            return F.linear(x, w)

        add(None, "bf16 F.linear 1x8192 x 8192x8192, eager", linear)
        add(None, "bf16 F.linear, CUDA graph replay", graphed(linear))

    name = torch.cuda.get_device_name(dev)
    print(f"nvfp4 call overhead on {name}, {datetime.date.today().isoformat()}, "
          f"PyTorch {torch.__version__}, median of {args.calls} back-to-back calls\n")
    print("| case | host us/call (median) | wall us/call | device us/call (events) "
          "| target |")
    print("|---|---:|---:|---:|---|")
    for name, host, wall, device, target in rows:
        print(f"| {name} | {host:.1f} | {wall:.1f} | {device:.1f} | {target} |")


if __name__ == "__main__":
    main()
