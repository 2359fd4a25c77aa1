#!/usr/bin/env python3
"""Static SASS instruction counts of the GPU quantize kernels, per recipe.

Builds each recipe's kernels for a chip through `nvfp4-opt --nvfp4-to-ptx`
(bf16 input, dynamic shapes, as the runtime compiles them), assembles the
PTX with ptxas and disassembles it with cuobjdump (needs nvdisasm on PATH),
then prints one row per kernel: SASS instructions (NOPs and the final
self-branch excluded), for the encode kernels instructions per input
element of one thread's work (16 for 1x16 blocks; 16x16 tiles loop over
their rows, so their count is per 16 elements of one loop trip plus setup),
and the longest loop (a backward branch's target to the branch, NOPs
excluded): the per-block body the instruction-bound kernels repeat.

  scripts/sass-count.py [--chip sm_90a] [--opt build/bin/nvfp4-opt] [recipes...]

cuobjdump and nvdisasm are not part of the toolkit installed here; the
`nvidia-cuda-cuobjdump` and `nvidia-cuda-nvdisasm` wheels carry them
(put their nvidia/cu13/bin on PATH).
"""

import argparse
import os
import re
import subprocess
import sys
import tempfile

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
RECIPES = [
    "per_token", "local_1x64", "per_tensor_2d", "per_tensor",
    "per_token, rounding = stochastic<seed = 7>", "four_over_six",
    "per_tensor_rht", "per_token, directions = [rowwise, columnwise]",
]


def module(recipe):
    window = "window" in recipe or "1x64" in recipe
    amax = "memref<?x?xf32>" if window else "memref<?xf32>"
    rowwise = "columnwise" not in recipe or "rowwise," in recipe
    columnwise = "columnwise" in recipe or "rht" in recipe
    args = ["%x: memref<?x?xbf16>"]
    parts = []
    for name, present in (("rowwise", rowwise), ("columnwise", columnwise)):
        if not present:
            continue
        i = len(args)
        args += [f"%d{i}: memref<?x?xi8>", f"%s{i}: memref<?x?xf8E4M3FN>",
                 f"%a{i}: {amax}"]
        parts.append(f"{name}(%d{i} : memref<?x?xi8>, %s{i} : "
                     f"memref<?x?xf8E4M3FN>, %a{i} : {amax})")
    return (f"func.func @k({', '.join(args)}) {{\n"
            f"  nvfp4.quantize %x : memref<?x?xbf16> recipe <{recipe}>\n"
            f"    {' '.join(parts)}\n  return\n}}\n")


def sass(recipe, chip, opt):
    with tempfile.TemporaryDirectory() as tmp:
        src = os.path.join(tmp, "k.mlir")
        with open(src, "w") as f:
            f.write(module(recipe))
        lowered = subprocess.run(
            [opt, src, f"--nvfp4-to-ptx=chip={chip} format=isa"],
            check=True, capture_output=True, text=True).stdout
        ptx = subprocess.run(
            [sys.executable, os.path.join(ROOT, "test/Target/extract-ptx.py")],
            input=lowered, check=True, capture_output=True, text=True).stdout
        with open(os.path.join(tmp, "k.ptx"), "w") as f:
            f.write(ptx)
        subprocess.run(["/usr/local/cuda/bin/ptxas", f"-arch={chip}",
                        os.path.join(tmp, "k.ptx"), "-o",
                        os.path.join(tmp, "k.cubin")], check=True)
        return subprocess.run(["cuobjdump", "-sass",
                               os.path.join(tmp, "k.cubin")],
                              check=True, capture_output=True,
                              text=True).stdout


def count(text):
    kernels, name = {}, None
    for line in text.splitlines():
        m = re.search(r"Function : (\S+)", line)
        if m:
            name = m.group(1)
            kernels[name] = []
            continue
        m = re.match(r"\s+/\*([0-9a-f]{4,})\*/\s+(.*?);", line)
        if m and name:
            kernels[name].append((int(m.group(1), 16), m.group(2).strip()))
    counts = {}
    for k, instrs in kernels.items():
        # Drop the padding NOPs and the `BRA` to itself after EXIT.
        body = [i for _, i in instrs if not i.startswith("NOP")]
        if body and body[-1].startswith("BRA"):
            body.pop()
        counts[k] = (body, longest_loop(instrs))
    return counts


def longest_loop(instrs):
    """Instructions (NOPs excluded) of the longest span from a backward
    branch's target to the branch: the kernel's main loop body."""
    at = {addr: i for i, (addr, _) in enumerate(instrs)}
    best = 0
    for i, (addr, text) in enumerate(instrs):
        m = re.search(r"BRA\s.*?0x([0-9a-f]+)", text)
        if not m:
            continue
        target = int(m.group(1), 16)
        if target < addr and target in at:
            span = instrs[at[target]:i + 1]
            best = max(best, sum(1 for _, t in span if not t.startswith("NOP")))
    return best


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--chip", default="sm_90a")
    p.add_argument("--opt", default=os.path.join(ROOT, "build/bin/nvfp4-opt"))
    p.add_argument("--dump", help="write each recipe's SASS to this folder")
    p.add_argument("recipes", nargs="*", default=RECIPES)
    a = p.parse_args()
    print(f"| recipe | kernel | SASS instructions | per element | longest loop |")
    print(f"|---|---|---:|---:|---:|")
    for recipe in a.recipes:
        text = sass(recipe, a.chip, a.opt)
        if a.dump:
            os.makedirs(a.dump, exist_ok=True)
            safe = re.sub(r"[^A-Za-z0-9_]+", "_", recipe)
            with open(os.path.join(a.dump, safe + ".sass"), "w") as f:
                f.write(text)
        for k, (body, loop) in sorted(count(text).items()):
            kind = k.split("_q0_")[-1]
            per = f"{len(body) / 16:.1f}" if kind.endswith("encode") else ""
            print(f"| {recipe} | {kind} | {len(body)} | {per} | {loop} |")


if __name__ == "__main__":
    main()
