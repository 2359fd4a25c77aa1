#!/usr/bin/env python3
"""Fits the polynomials of the producers' E (e^x) and T (tanh) sequences.

docs/ProducerNumerics.md describes the sequences; lib/Numerics/ProducerNumerics.cpp
and unittests/Reference/ProducerReference.cpp hold the coefficients this prints
(binary32 bit patterns). Needs numpy only; long double (x87 80-bit on x86-64)
carries the targets.

  E: e^r = 1 + r + r^2 q(r) on [-0.35, 0.35] (|r| <= ln(2)/2), q of degree 5.
  T: tanh(x) = x + x^3 P(x^2) on x in [0, 0.75], P of degree 6 in t = x^2.

Each fit minimises the relative error of the whole function (the weights turn
an error in q or P into an error of e^r or tanh) by Lawson's iteratively
reweighted least squares on 4000 Chebyshev nodes, which approaches the minimax
polynomial; the coefficients are then rounded to binary32. The rounded
polynomials were then measured in the binary32 sequences over all 2^32 inputs.
"""
import numpy as np

ld = np.longdouble
NODES = 4000


def chebyshev_nodes(a, b, n):
    k = np.arange(n, dtype=ld)
    return (a + b) / 2 + (b - a) / 2 * np.cos((2 * k + 1) * np.pi / (2 * n))


def lawson(x, target, weight, degree, iterations=60):
    """Coefficients c (low order first) minimising max |weight * (sum c_i x^i - target)|."""
    basis = np.stack([x**i for i in range(degree + 1)], axis=1)
    w = np.ones(len(x), dtype=ld)
    for _ in range(iterations):
        sw = np.sqrt(w) * weight
        c, *_ = np.linalg.lstsq((basis * sw[:, None]).astype(np.float64),
                                (target * sw).astype(np.float64), rcond=None)
        err = np.abs((basis @ c.astype(ld) - target) * weight)
        w = w * err
        w = w / w.sum()
    return c, err.max()


def exp_q(r):
    """(e^r - 1 - r) / r^2 by its series (no cancellation near 0)."""
    s = np.zeros_like(r)
    term = np.full_like(r, ld(0.5))
    for k in range(2, 30):
        s += term
        term = term * r / (k + 1)
    return s


def tanh_p(t):
    """(tanh(x) - x) / x^3 for t = x^2, by its series below x = 0.05."""
    x = np.sqrt(t)
    out = np.empty_like(t)
    small = x < 0.05
    ts = t[small]
    out[small] = (-ld(1) / 3 + 2 * ts / 15 - 17 * ts**2 / 315 +
                  62 * ts**3 / 2835 - 1382 * ts**4 / 155925 +
                  ld(21844) * ts**5 / 6081075)
    xb = x[~small]
    out[~small] = (np.tanh(xb) - xb) / xb**3
    return out


def show(name, coeffs, err):
    print(f"{name}: relative error {float(err):.3g} before binary32 rounding")
    for c in np.float32(coeffs):
        print(f"    0x{int(np.float32(c).view(np.uint32)):08X}, // {float(c):.8g}")


def main():
    r = chebyshev_nodes(-0.35, 0.35, NODES)
    # An error d in q is an error r^2 d in e^r, relative r^2 d / e^r.
    c, err = lawson(r, exp_q(r), r**2 / np.exp(r), 5)
    show("E: q(r)", c, err)

    t = chebyshev_nodes(0.0, 0.75**2, NODES)
    x = np.sqrt(t)
    # An error d in P is an error x^3 d in tanh(x), relative x^3 d / tanh(x).
    weight = np.where(x > 0, x**3 / np.tanh(np.maximum(x, ld(1e-30))), t)
    c, err = lawson(t, tanh_p(t), weight, 6)
    show("T: P(t)", c, err)


if __name__ == "__main__":
    main()
