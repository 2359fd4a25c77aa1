#!/usr/bin/env python3
"""A bounded, deterministic mutation fuzzer for nvfp4-opt (issue 17).

Mutates the recipe text and IR of examples/*.mlir (token swaps, number
changes, duplicated recipe keys, huge shapes, deletions, insertions) and
feeds each mutant to nvfp4-opt: parse and verify, then --nvfp4-expand,
--nvfp4-to-cpu and --nvfp4-to-ptx (PTX text for sm_90a: no ptxas needed) on
what verifies. A diagnostic and a nonzero exit are fine;
a run that dies by a signal, prints "LLVM ERROR" or a "Stack dump", or
hangs past --run-timeout is a failure, reported with its reproducer (the
mutant is written to --out and printed).

Case i of seed s is generated from its own random.Random((s, i)), so a
reproducer is `--seed s --first i --count 1` whatever ran before it. Runs
stop after --count cases or --time seconds, whichever comes first.

    fuzz-nvfp4-opt.py NVFP4_OPT EXAMPLES_DIR [--seed 0] [--count 2000]
                      [--time 60] [--out DIR]
"""

from __future__ import annotations

import argparse
import os
import pathlib
import random
import re
import subprocess
import sys
import time

# Values that probe overflow and edge cases of shapes, windows, seeds and
# bounds: around int32/int64/uint64 limits and the tiles (16, 64, 128).
NUMBERS = ["0", "1", "-1", "2", "15", "16", "17", "32", "63", "64", "65", "127", "128",
           "129", "255", "256", "448", "4096", "65535", "2147483647", "2147483648",
           "4294967295", "4294967296", "4611686018427387904", "2305843009213693952",
           "9223372036854775807", "9223372036854775808", "18446744073709551615",
           "18446744073709551616", "99999999999999999999999", "0x10", "1e9", "-0"]

# Recipe keys and values (NVFP4Attrs.td), and IR punctuation, to insert.
RECIPE_KEYS = ["outer = tensor", "outer = row", "outer = window<64>", "outer = window<32>",
               "outer = window<0>", "outer = window<-16>", "block = 1x16",
               "block = 16x16", "numerics = reciprocal", "numerics = quotient",
               "select = map6", "select = four_over_six<mae>", "select = four_over_six<mse>",
               "e4m3_max = 448", "e4m3_max = 256", "e4m3_max = -1",
               "rounding = nearest", "rounding = stochastic<seed = 7>",
               "rounding = stochastic<seed = -1>", "transform = none", "transform = rht16",
               "transform = rht16<0xFFFF>", "directions = [rowwise]",
               "directions = [columnwise]", "directions = [rowwise, columnwise]",
               "directions = []", "sf_layout = linear", "sf_layout = 128x4",
               "sf_layout = 8x4", "per_tensor", "per_token", "local_1x64",
               "four_over_six", "per_tensor_rht", "per_tensor_2d"]
TOKENS = ["<", ">", "(", ")", "[", "]", "{", "}", ",", ":", "=", "x", "?", "%x", "%data",
          "memref<?xf32>", "memref<16x16xf32>", "i8", "f32", "bf16", "f8E4M3FN", "recipe",
          "rowwise", "columnwise", "splits", "bias", "outs", "nvfp4.quantize", "return",
          "#nvfp4.recipe<per_token>", "\"", "//", "\n"]

TOKEN_RE = re.compile(r"0x[0-9A-Fa-f]+|-?\d+|[A-Za-z_%#@][\w.$]*|\S")
NUMBER_RE = re.compile(r"(?<![\w.])\d+(?![\w.])")
RECIPE_RE = re.compile(r"recipe\s*<")
SHAPE_RE = re.compile(r"memref<([^>]*)>")


def recipe_spans(text):
    """(start, end) of the text inside each `recipe <...>` (nested <>)."""
    spans = []
    for m in RECIPE_RE.finditer(text):
        depth, i = 1, m.end()
        while i < len(text) and depth:
            depth += {"<": 1, ">": -1}.get(text[i], 0)
            i += 1
        spans.append((m.end(), i - 1))
    return spans


def swap_tokens(rng, text):
    toks = list(TOKEN_RE.finditer(text))
    if len(toks) < 2:
        return text
    a, b = sorted(rng.sample(range(len(toks)), 2))
    ta, tb = toks[a], toks[b]
    return (text[:ta.start()] + tb.group() + text[ta.end():tb.start()] + ta.group()
            + text[tb.end():])


def change_number(rng, text):
    nums = list(NUMBER_RE.finditer(text))
    if not nums:
        return text
    m = rng.choice(nums)
    return text[:m.start()] + rng.choice(NUMBERS) + text[m.end():]


def duplicate_key(rng, text):
    """A recipe key repeated, or another key appended (`outer = window<32>,
    outer = tensor` must not leave a hidden field)."""
    spans = recipe_spans(text)
    if not spans:
        return text
    start, end = rng.choice(spans)
    body = text[start:end]
    parts = [p.strip() for p in body.split(",") if p.strip()]
    # Half the time a key already there (with its value or another one).
    extra = rng.choice(parts if parts and rng.random() < 0.5 else RECIPE_KEYS)
    at = rng.randint(0, len(parts))
    new = ", ".join(parts[:at] + [extra] + parts[at:])
    return text[:start] + new + text[end:]


def replace_recipe(rng, text):
    """A recipe rebuilt from random keys (combinations the verifier must
    judge: 16x16 with per-row, four_over_six with quotient, ...)."""
    spans = recipe_spans(text)
    if not spans:
        return text
    start, end = rng.choice(spans)
    keys = rng.sample(RECIPE_KEYS, rng.randint(1, 4))
    return text[:start] + ", ".join(keys) + text[end:]


def huge_shapes(rng, text):
    """One leading dimension (M) set to one huge value in every memref that
    has it, so the operands still agree with each other: what the verifier
    must reject when a byte count overflows int64 (issue 17 item 1). Small
    leading dimensions (a per-tensor amax of 1, a group count) stay."""
    value = rng.choice(["4611686018427387904", "2305843009213693952",
                        "9223372036854775807", "1152921504606846976", "4294967296",
                        "2147483648", "?"])
    firsts = sorted({m.group(1).split("x")[0] for m in SHAPE_RE.finditer(text)})
    firsts = [d for d in firsts if not d.isdigit() or int(d) >= 16]
    if not firsts:
        return text
    target = rng.choice(firsts)

    def repl(m):
        dims = m.group(1).split("x")
        if dims[0] != target:
            return m.group(0)
        return "memref<" + "x".join([value] + dims[1:]) + ">"
    return SHAPE_RE.sub(repl, text)


def huge_dim(rng, text):
    """One dimension of one memref set to a huge value."""
    shapes = list(SHAPE_RE.finditer(text))
    if not shapes:
        return text
    m = rng.choice(shapes)
    dims = m.group(1).split("x")
    i = rng.randrange(max(1, len(dims) - 1))
    dims[i] = rng.choice(NUMBERS[14:] + ["?"])
    return text[:m.start()] + "memref<" + "x".join(dims) + ">" + text[m.end():]


def delete_span(rng, text):
    toks = list(TOKEN_RE.finditer(text))
    if not toks:
        return text
    i = rng.randrange(len(toks))
    j = min(len(toks) - 1, i + rng.choice([0, 0, 0, 1, 2, 5]))
    return text[:toks[i].start()] + text[toks[j].end():]


def insert_token(rng, text):
    toks = list(TOKEN_RE.finditer(text))
    if not toks:
        return text
    at = rng.choice(toks).start()
    return text[:at] + rng.choice(TOKENS + RECIPE_KEYS + NUMBERS) + " " + text[at:]


def truncate(rng, text):
    return text[:rng.randrange(len(text) + 1)]


# Weighted: huge shapes that still agree are what verifies and then reaches
# the lowerings; most other mutants stop at the parser or the verifier.
MUTATIONS = [swap_tokens, change_number, change_number, duplicate_key, replace_recipe,
             replace_recipe, huge_shapes, huge_shapes, huge_shapes, huge_dim, delete_span,
             insert_token, truncate]


def mutant(examples, seed, index):
    """Case `index` of `seed`: an example and 1 to 3 mutations."""
    rng = random.Random(f"{seed}:{index}")
    name, text = rng.choice(examples)
    applied = []
    for _ in range(rng.choice([1, 1, 2, 3])):
        mutation = rng.choice(MUTATIONS)
        text = mutation(rng, text)
        applied.append(mutation.__name__)
    return name, applied, text


CRASH_MARKERS = ("LLVM ERROR", "Stack dump", "PLEASE submit a bug report")


def run(opt, path, flags, timeout):
    """None, or why the run is a crash."""
    try:
        p = subprocess.run([opt, str(path), *flags, "-o", os.devnull],
                           capture_output=True, text=True, errors="replace",
                           timeout=timeout)
    except subprocess.TimeoutExpired:
        return f"timed out after {timeout} s", 1
    if p.returncode < 0:
        return f"killed by signal {-p.returncode}", p.returncode
    for marker in CRASH_MARKERS:
        if marker in p.stderr:
            lines = [l for l in p.stderr.splitlines() if marker in l or "error" in l]
            return f"printed {marker!r}: " + " | ".join(lines[:3]), p.returncode
    return None, p.returncode


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("opt", help="the nvfp4-opt binary")
    ap.add_argument("examples", help="the folder of examples/*.mlir")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--first", type=int, default=0, help="first case index")
    ap.add_argument("--count", type=int, default=2000, help="at most this many cases")
    ap.add_argument("--time", type=float, default=60, help="at most this many seconds")
    ap.add_argument("--run-timeout", type=float, default=60,
                    help="seconds one nvfp4-opt run may take before it counts as a hang")
    ap.add_argument("--out", default=None, help="folder for mutants and reproducers")
    ap.add_argument("--keep-going", action="store_true",
                    help="report every crash instead of stopping at the first 20")
    args = ap.parse_args()

    examples = [(p.name, p.read_text())
                for p in sorted(pathlib.Path(args.examples).glob("*.mlir"))]
    if not examples:
        sys.exit(f"error: no *.mlir in {args.examples}")
    out = pathlib.Path(args.out or os.environ.get("TMPDIR", "/tmp")) / "nvfp4-fuzz"
    out.mkdir(parents=True, exist_ok=True)

    start = time.monotonic()
    crashes, runs, verified, cases = [], 0, 0, 0
    for index in range(args.first, args.first + args.count):
        if time.monotonic() - start > args.time:
            break
        if len(crashes) >= 20 and not args.keep_going:
            break
        cases += 1
        name, applied, text = mutant(examples, args.seed, index)
        path = out / f"case-{args.seed}-{index}.mlir"
        path.write_text(text)
        stages = [[]]
        for flags in stages:
            runs += 1
            why, rc = run(args.opt, path, flags, args.run_timeout)
            if why:
                crashes.append((index, name, applied, flags, why, path, text))
                break
            if not flags and rc == 0:
                verified += 1
                stages += [["--nvfp4-expand"], ["--nvfp4-to-cpu"],
                           ["--nvfp4-to-ptx=chip=sm_90a format=isa"]]
        else:
            path.unlink()

    elapsed = time.monotonic() - start
    print(f"fuzz: seed {args.seed}, cases {args.first}..{args.first + cases - 1}: "
          f"{cases} mutants ({verified} verified), {runs} nvfp4-opt runs in {elapsed:.0f} s, "
          f"{len(crashes)} crashes")
    for index, name, applied, flags, why, path, text in crashes:
        print(f"\nCRASH case {index} ({name}; {', '.join(applied)}): {why}")
        print(f"  reproduce: {args.opt} {path} {' '.join(flags)}")
        print(f"  or: {sys.argv[0]} {args.opt} {args.examples} --seed {args.seed} "
              f"--first {index} --count 1")
        print("  ---- input ----")
        print("  " + text.replace("\n", "\n  "))
    if not verified:
        print("fuzz: no mutant verified: the lowerings were never run")
    sys.exit(1 if crashes or not verified else 0)


if __name__ == "__main__":
    main()
