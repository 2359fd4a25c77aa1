#!/usr/bin/env python3
"""One Linear layer's training step (forward + backward) three ways, in one
process, timed with CUDA events:

* bf16: ``torch.nn.Linear`` with bf16 weights (cuBLAS, three GEMMs);
* NVFP4: ``nvfp4.torch.TrainingLinear`` with a training recipe (the
  activation and gradient quantized in both directions, fprop, dgrad and
  wgrad as NVFP4 GEMMs), with the weight quantized every step (it changes
  every step) and cached (gradient accumulation);
* emulated: the same recipe with the pure-PyTorch quantizer
  (nvfp4._emulate) and bf16 matmuls of the dequantized values, the way
  recipes are emulated on Hopper.

    PYTHONPATH=python python3 python/bench/train_step.py [--m 4096 --n 4096 --k 4096]

Prints a Markdown table (median of --iters steps after warm-up; TFLOP/s
count the three GEMMs, 6 M N K), the forward output's difference between
NVFP4 and the emulation (same quantized values with round-to-nearest
forward recipes; bf16 vs fp32 accumulation), and the time of each
quantization and GEMM of the NVFP4 step alone next to a cuBLAS bf16 GEMM.
"""

import argparse
import statistics

import torch

import nvfp4.torch as nt
from nvfp4 import training as tr
from nvfp4._emulate import covers, fake_quantize


class _Emulated(torch.autograd.Function):
    """Y = X W^T with every GEMM operand fake-quantized (straight-through)."""

    @staticmethod
    def forward(ctx, x, w, bias, recipe):
        xr = fake_quantize(x, recipe.activation, "rowwise").to(torch.bfloat16)
        wr = fake_quantize(w, recipe.weight, "rowwise").to(torch.bfloat16)
        ctx.save_for_backward(fake_quantize(x, recipe.activation, "columnwise")
                              .to(torch.bfloat16),
                              fake_quantize(w, recipe.weight, "columnwise")
                              .to(torch.bfloat16))
        ctx.recipe = recipe
        return torch.addmm(bias.to(torch.bfloat16), xr, wr.t())

    @staticmethod
    def backward(ctx, dy):
        x_t, w_t = ctx.saved_tensors
        g = ctx.recipe.grad
        dy_r = fake_quantize(dy, g, "rowwise").to(torch.bfloat16)
        dy_t = fake_quantize(dy, g, "columnwise").to(torch.bfloat16)
        dx = dy_r @ w_t.t()
        dw = dy_t @ x_t.t()
        return dx, dw.to(torch.bfloat16), dy.float().sum(0).to(torch.bfloat16), None


def _time(fn, iters, warmup):
    for _ in range(warmup):
        fn()
    torch.cuda.synchronize()
    times = []
    for _ in range(iters):
        start, end = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
        start.record()
        fn()
        end.record()
        end.synchronize()
        times.append(start.elapsed_time(end))
    return statistics.median(times)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--m", type=int, default=4096, help="tokens")
    parser.add_argument("--n", type=int, default=4096, help="out_features")
    parser.add_argument("--k", type=int, default=4096, help="in_features")
    # The presets the PyTorch emulation covers (no 4over6, quotient or 1x64).
    emulated = [name for name, r in tr.TRAINING_PRESETS.items()
                if all(covers(r.role(role)) for role in tr.ROLES)]
    parser.add_argument("--recipe", default="te_default", choices=emulated)
    parser.add_argument("--iters", type=int, default=20)
    parser.add_argument("--warmup", type=int, default=5)
    parser.add_argument("--seed-period", type=int, default=4,
                        help="stochastic-rounding seeds in the pool (each a kernel, "
                             "compiled during warm-up)")
    args = parser.parse_args()
    if not torch.cuda.is_available():
        raise SystemExit("this benchmark needs a CUDA device")
    torch.manual_seed(0)
    m, n, k = args.m, args.n, args.k
    recipe = tr.get_recipe(args.recipe)
    dev = "cuda"
    x = torch.randn(m, k, device=dev, dtype=torch.bfloat16, requires_grad=True)
    dy = torch.randn(m, n, device=dev, dtype=torch.bfloat16) * 1e-2
    ref = torch.nn.Linear(k, n, device=dev, dtype=torch.bfloat16)
    lin = nt.TrainingLinear(k, n, recipe=recipe, device=dev, dtype=torch.bfloat16,
                            seeds=tr.SeedPolicy(seed=0, period=args.seed_period),
                            name="bench")
    with torch.no_grad():
        lin.weight.copy_(ref.weight)
        lin.bias.copy_(ref.bias)
    w = ref.weight.detach().clone().requires_grad_()
    b = ref.bias.detach().clone().requires_grad_()

    def fresh(*tensors):
        # Gradients are written, not accumulated, in every step.
        for t in (x,) + tensors:
            t.grad = None

    def bf16_step():
        fresh(ref.weight, ref.bias)
        ref(x).backward(dy)

    def nvfp4_step():
        fresh(lin.weight, lin.bias)
        lin._weight_cache = None  # the weight changed: quantize it again
        lin(x).backward(dy)

    def nvfp4_cached_step():
        fresh(lin.weight, lin.bias)
        lin(x).backward(dy)

    def emulated_step():
        fresh(w, b)
        _Emulated.apply(x, w, b, recipe).backward(dy)

    warmup = max(args.warmup, args.seed_period + 2)
    rows = [("bf16 nn.Linear (cuBLAS)", bf16_step),
            (f"NVFP4 TrainingLinear, {recipe.name} (weight quantized each step)", nvfp4_step),
            (f"NVFP4 TrainingLinear, {recipe.name} (weight cached)", nvfp4_cached_step),
            (f"emulated {recipe.name}: PyTorch quantizer + bf16 matmuls", emulated_step)]
    times = {name: _time(fn, args.iters, warmup) for name, fn in rows}
    flops = 6 * m * n * k
    base = times[rows[0][0]]
    emulated = times[rows[-1][0]]
    print(f"Linear training step (forward + backward), M = {m}, N = {n}, K = {k}, "
          f"bf16 activations, on {torch.cuda.get_device_name()}, torch {torch.__version__}")
    print()
    print("| step | ms | TFLOP/s | speed vs bf16 | speed vs emulated |")
    print("|---|---:|---:|---:|---:|")
    for name, _ in rows:
        t = times[name]
        print(f"| {name} | {t:.3f} | {flops / t / 1e9:.1f} | {base / t:.2f}x | "
              f"{emulated / t:.2f}x |")
    with torch.no_grad():
        got = lin(x).double()
        want = _Emulated.apply(x, w, b, recipe).double()
        diff = ((got - want).norm() / want.norm()).item()
    print()
    print(f"forward output, NVFP4 vs emulated (relative Frobenius): {diff:.2e}")
    print(recipe.table())
    _breakdown(recipe, x.detach(), lin.weight.detach(), dy, args.iters, warmup)


def _breakdown(recipe, x, w, dy, iters, warmup):
    """Where an NVFP4 step's time goes: each quantization and GEMM alone,
    next to one cuBLAS bf16 GEMM of the same size."""
    import nvfp4
    seed = tr.SeedPolicy(seed=0, period=1).seed_for("bench", 0)
    qx = tr.quantize(x, recipe.activation)
    qw = tr.quantize(w, recipe.weight)
    qg = tr.quantize(dy, recipe.grad, seed=seed)
    gemms = {}
    for gemm, name in (("fprop", "fprop Y = X W^T"), ("dgrad", "dgrad dX = dY W"),
                       ("wgrad", "wgrad dW = dY^T X")):
        (ra, da, _), (rb, db, _) = recipe.gemm_operands(gemm)
        q = {"activation": qx, "weight": qw, "grad": qg}
        a = tr.operand(q[ra], recipe.role(ra), da)
        b = tr.operand(q[rb], recipe.role(rb), db)
        gemms[name] = (lambda a=a, b=b: nvfp4.matmul(a, b, out_dtype="bf16"))
    rows = [("quantize X, both directions", lambda: tr.quantize(x, recipe.activation)),
            ("quantize W (16x16), both directions", lambda: tr.quantize(w, recipe.weight)),
            ("quantize dY, both directions",
             lambda: tr.quantize(dy, recipe.grad, seed=seed))]
    rows += list(gemms.items())
    xb, wb = x.to(torch.bfloat16), w.to(torch.bfloat16)
    rows.append(("cuBLAS bf16 GEMM X W^T", lambda: xb @ wb.t()))
    print()
    print("| piece | ms |")
    print("|---|---:|")
    for name, fn in rows:
        print(f"| {name} | {_time(fn, iters, warmup):.3f} |")


if __name__ == "__main__":
    main()
