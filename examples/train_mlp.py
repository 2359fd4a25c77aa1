#!/usr/bin/env python3
"""Training a residual MLP with NVFP4 recipes: loss curves against bf16.

    PYTHONPATH=python python3 examples/train_mlp.py [--steps 400] [--png loss.png]

The task and data are generated here (nothing is downloaded): inputs are
standard normal vectors of 256 features, labels the argmax of a fixed
random teacher network's 64 logits. The student is a residual MLP
(256 -> 512, four blocks of LayerNorm, 512 -> 2048 -> 512 with GELU, and a
512 -> 64 head: 10 Linear layers) trained with AdamW on fresh batches of
1024 samples, the same batches for every run. It is trained three times
from the same initialization:

* bf16: ``nn.Linear`` under ``torch.autocast(bfloat16)``, float32 masters;
* NVFP4 ``te_default``: TransformerEngine's recipe (activations and
  gradients per-tensor 1x16, weights 16x16, RHT and stochastic rounding on
  the gradient, RHT on the wgrad operands);
* NVFP4 ``per_token_4over6``: per-token activations, 4over6 everywhere.

Every Linear layer becomes ``nvfp4.torch.TrainingLinear`` in the NVFP4
runs (float32 master weights; LayerNorm, GELU and the loss as in the bf16
run), except those --high-precision names (TE practice keeps e.g. the first
and last layers in bf16: ``--high-precision 0,6``). Prints the loss every --log steps, the final training loss (mean of
the last 50 steps), a held-out loss, the difference to bf16 and the median
step time; writes the curves to --png (matplotlib when importable,
otherwise a plain PNG drawn here).
"""

import argparse
import json
import math
import statistics
import struct
import time
import zlib

import torch

import nvfp4.torch as nt
from nvfp4 import training as tr

IN, WIDTH, FFN, CLASSES, BLOCKS = 256, 512, 2048, 64, 4
COLORS = {"bf16": (0, 0, 0), "te_default": (31, 119, 180),
          "per_token_4over6": (214, 39, 40)}


class Block(torch.nn.Module):
    def __init__(self):
        super().__init__()
        self.norm = torch.nn.LayerNorm(WIDTH)
        self.fc1 = torch.nn.Linear(WIDTH, FFN)
        self.fc2 = torch.nn.Linear(FFN, WIDTH)

    def forward(self, x):
        return x + self.fc2(torch.nn.functional.gelu(self.fc1(self.norm(x))))


def student():
    return torch.nn.Sequential(torch.nn.Linear(IN, WIDTH),
                               *[Block() for _ in range(BLOCKS)],
                               torch.nn.LayerNorm(WIDTH), torch.nn.Linear(WIDTH, CLASSES))


class Task:
    """Labels from a fixed random teacher; batch i is the same in every run."""

    def __init__(self, device, batch):
        g = torch.Generator().manual_seed(1234)
        self.w1 = torch.randn(IN, 1024, generator=g) / IN ** 0.5
        self.w2 = torch.randn(1024, CLASSES, generator=g) / 1024 ** 0.5
        self.device, self.batch = device, batch

    def sample(self, index, size=None):
        g = torch.Generator().manual_seed(10_000 + index)
        x = torch.randn(size or self.batch, IN, generator=g)
        y = (torch.tanh(x @ self.w1) @ self.w2).argmax(1)
        return x.to(self.device), y.to(self.device)


def lr_at(step, steps, peak):
    warm = max(1, steps // 20)
    if step < warm:
        return peak * (step + 1) / warm
    t = (step - warm) / max(1, steps - warm)
    return peak * (0.1 + 0.9 * 0.5 * (1 + math.cos(math.pi * t)))


def train(recipe, task, args):
    torch.manual_seed(0)
    model = student().to(args.device)
    if recipe is not None:
        # Layers named by --high-precision stay nn.Linear (bf16 under autocast).
        keep = {p: None for p in args.high_precision.split(",") if p}
        nt.prepare_training(model, tr.RecipePolicy(recipe, keep),
                            seeds=tr.SeedPolicy(seed=args.seed, period=args.seed_period))
    opt = torch.optim.AdamW(model.parameters(), lr=args.lr, weight_decay=0.01)
    losses, times = [], []
    autocast = torch.autocast(args.device, dtype=torch.bfloat16)
    for step in range(args.steps):
        for group in opt.param_groups:
            group["lr"] = lr_at(step, args.steps, args.lr)
        x, y = task.sample(step)
        start = time.perf_counter()
        with autocast:
            loss = torch.nn.functional.cross_entropy(model(x.to(torch.bfloat16)), y)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        if args.device == "cuda":
            torch.cuda.synchronize()
        times.append(time.perf_counter() - start)
        losses.append(loss.item())
        if step % args.log == 0 or step == args.steps - 1:
            print(f"  {recipe_name(recipe):>16} step {step:5d}  loss {losses[-1]:.4f}",
                  flush=True)
    model.eval()
    with torch.no_grad(), autocast:
        x, y = task.sample(-1, 4096)
        held_out = torch.nn.functional.cross_entropy(model(x.to(torch.bfloat16)), y).item()
    return losses, held_out, times


def recipe_name(recipe):
    return "bf16" if recipe is None else recipe


def smooth(values, beta=0.9):
    out, avg = [], values[0]
    for v in values:
        avg = beta * avg + (1 - beta) * v
        out.append(avg)
    return out


def write_png(path, curves):
    """The curves (name -> losses), smoothed, as an 800 x 500 PNG. Without
    matplotlib the axes carry no labels: the console lists the colors."""
    try:
        import matplotlib
        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        plt = None
    if plt is not None:
        fig, ax = plt.subplots(figsize=(8, 5), dpi=100)
        for name, losses in curves.items():
            ax.plot(smooth(losses), label=name, color=[c / 255 for c in COLORS[name]])
        ax.set_xlabel("step")
        ax.set_ylabel("training loss (EMA 0.9)")
        ax.set_title("Residual MLP on a synthetic task: bf16 vs NVFP4 recipes")
        ax.legend()
        ax.grid(alpha=0.3)
        fig.tight_layout()
        fig.savefig(path)
        return "matplotlib"
    w, h, pad = 800, 500, 40
    img = [[(255, 255, 255)] * w for _ in range(h)]
    series = {n: smooth(v) for n, v in curves.items()}
    lo = min(min(v) for v in series.values())
    hi = max(max(v) for v in series.values())
    steps = max(len(v) for v in series.values())

    def point(i, v):
        x = pad + int((w - 2 * pad - 1) * i / max(1, steps - 1))
        y = h - pad - 1 - int((h - 2 * pad - 1) * (v - lo) / max(hi - lo, 1e-12))
        return x, y

    for x in range(pad, w - pad):
        img[h - pad][x] = img[pad - 1][x] = (128, 128, 128)
    for y in range(pad - 1, h - pad + 1):
        img[y][pad - 1] = img[y][w - pad] = (128, 128, 128)
    for name, values in series.items():
        color = COLORS[name]
        prev = point(0, values[0])
        for i, v in enumerate(values[1:], 1):
            cur = point(i, v)
            n = max(abs(cur[0] - prev[0]), abs(cur[1] - prev[1]), 1)
            for t in range(n + 1):
                px = prev[0] + (cur[0] - prev[0]) * t // n
                py = prev[1] + (cur[1] - prev[1]) * t // n
                for dy in (0, 1):
                    img[min(py + dy, h - 1)][px] = color
            prev = cur
    raw = b"".join(b"\x00" + bytes(c for px in row for c in px) for row in img)

    def chunk(kind, data):
        return (struct.pack(">I", len(data)) + kind + data
                + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF))

    with open(path, "wb") as f:
        f.write(b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", w, h, 8, 2, 0, 0, 0))
                + chunk(b"IDAT", zlib.compress(raw, 9)) + chunk(b"IEND", b""))
    return "built-in writer (no labels; colors: " + ", ".join(
        f"{n} rgb{COLORS[n]}" for n in curves) + f"; y from {lo:.3f} to {hi:.3f})"


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=400)
    parser.add_argument("--batch", type=int, default=1024)
    parser.add_argument("--lr", type=float, default=2e-3)
    parser.add_argument("--seed", type=int, default=0, help="stochastic-rounding seed")
    parser.add_argument("--seed-period", type=int, default=16)
    parser.add_argument("--recipes", default="te_default,per_token_4over6")
    parser.add_argument("--high-precision", default="",
                        help="comma-separated layer-name patterns kept in bf16 (a "
                             "per-layer override), e.g. 0,6 for the first and last "
                             "Linear; default: every Linear layer in NVFP4")
    parser.add_argument("--log", type=int, default=50)
    parser.add_argument("--png", default="train_mlp_loss.png")
    parser.add_argument("--losses", default="",
                        help="also write every run's per-step losses, held-out loss "
                             "and step times to this JSON file")
    parser.add_argument("--device", default="cuda")
    args = parser.parse_args()
    if args.device == "cuda" and not torch.cuda.is_available():
        raise SystemExit("this example needs a CUDA device (or --device cpu, slowly)")
    task = Task(args.device, args.batch)
    recipes = [None] + [r for r in args.recipes.split(",") if r]
    where = torch.cuda.get_device_name() if args.device == "cuda" else "CPU"
    print(f"residual MLP ({IN} -> {WIDTH}, {BLOCKS} x ({WIDTH} -> {FFN} -> {WIDTH}), "
          f"-> {CLASSES}), batch {args.batch}, {args.steps} steps, AdamW lr {args.lr}, "
          f"on {where}, torch {torch.__version__}; kept in bf16: "
          f"{args.high_precision or 'none'}")
    results = {}
    for recipe in recipes:
        results[recipe_name(recipe)] = train(recipe, task, args)
    base_final = statistics.mean(results["bf16"][0][-50:])
    base_time = statistics.median(results["bf16"][2][min(20, args.steps - 1):])
    print()
    print("| run | final loss (mean of last 50 steps) | vs bf16 | held-out loss | "
          "median step (ms) | step time vs bf16 |")
    print("|---|---:|---:|---:|---:|---:|")
    for name, (losses, held_out, times) in results.items():
        final = statistics.mean(losses[-50:])
        step = statistics.median(times[min(20, len(times) - 1):])
        print(f"| {name} | {final:.4f} | {100 * (final - base_final) / base_final:+.2f}% | "
              f"{held_out:.4f} | {1e3 * step:.2f} | {base_time / step:.2f}x |")
    if args.losses:
        with open(args.losses, "w") as f:
            json.dump({n: {"loss": r[0], "held_out": r[1], "step_s": r[2]}
                       for n, r in results.items()}, f)
    how = write_png(args.png, {n: r[0] for n, r in results.items()})
    print(f"\nloss curves: {args.png} ({how})")


if __name__ == "__main__":
    main()
