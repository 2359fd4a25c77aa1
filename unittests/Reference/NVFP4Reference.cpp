//===- NVFP4Reference.cpp - Scalar reference for SPEC.md numerics ---------===//
//
// Part of the nvfp4-mlir project.
//
//===----------------------------------------------------------------------===//
//
// A literal, scalar transcription of SPEC.md. Speed is a non-goal: every
// formula is written the way the spec writes it, one binary32 operation at a
// time, so that a reader can check it line by line against the text.
//
//===----------------------------------------------------------------------===//

#include "NVFP4Reference.h"

#include <algorithm>
#include <cfloat>
#include <cmath>
#include <cstring>
#include <stdexcept>
#include <string>

// The spec's formulas are sequences of separately rounded binary32 operations;
// a fused multiply-add would change the bytes. GCC ignores this pragma (the
// build passes -ffp-contract=off), and the volatile helpers below make the
// code correct even without either.
#ifdef __clang__
#pragma STDC FP_CONTRACT OFF
#endif

#if !defined(FLT_EVAL_METHOD) || FLT_EVAL_METHOD != 0
#error "the reference needs binary32 arithmetic evaluated in binary32"
#endif

using namespace nvfp4::ref;

namespace {

//===----------------------------------------------------------------------===//
// One-rounding binary32 operations
//===----------------------------------------------------------------------===//

// Storing through a volatile float forces each result to be materialised as
// a binary32 value, so no product can be fused with a following add
// whatever the optimisation flags.
float mul(float a, float b) {
  volatile float r = a * b;
  return r;
}
float add(float a, float b) {
  volatile float r = a + b;
  return r;
}
float sub(float a, float b) {
  volatile float r = a - b;
  return r;
}
float div(float a, float b) {
  volatile float r = a / b;
  return r;
}

const float kFltMax = bitsToFloat(0x7F7FFFFFu);
const float kRcp6 = bitsToFloat(0x3E2AAAABu); // RN(1/6)

// C fminf/fmaxf: a NaN operand is ignored.
float fminf_(float a, float b) { return std::fmin(a, b); }
float fmaxf_(float a, float b) { return std::fmax(a, b); }

//===----------------------------------------------------------------------===//
// E4M3 by table
//===----------------------------------------------------------------------===//

// The 127 finite non-negative f8E4M3FN values in code order (which is value
// order), and the midpoints between neighbours. Conversion by comparison
// against the midpoints is a direct reading of "round to nearest-even" and
// independent of any bit-twiddling a lowering might use.
struct E4M3Table {
  float value[127];
  float mid[126];
  E4M3Table() {
    for (int c = 0; c < 127; ++c) {
      int e = c >> 3, m = c & 7;
      value[c] =
          e == 0 ? std::ldexp(float(m), -9) : std::ldexp(float(8 + m), e - 10);
    }
    // Neighbours have at most 5 significant bits between them: their sum
    // and its half are exact in binary32.
    for (int c = 0; c < 126; ++c)
      mid[c] = 0.5f * (value[c] + value[c + 1]);
  }
};

const E4M3Table &e4m3Table() {
  static const E4M3Table table;
  return table;
}

//===----------------------------------------------------------------------===//
// Recipe and shape checks
//===----------------------------------------------------------------------===//

void fail(const std::string &msg) { throw std::invalid_argument(msg); }

bool isFourOverSix(const Recipe &r) { return r.select != Select::Map6; }

// SPEC §6: exactly these combinations are meaningless.
void validate(const Recipe &r) {
  if (r.outer == Outer::Row && r.block == Block::B16x16)
    fail("per-row outer scale is incompatible with 16x16 blocks");
  if (r.outer == Outer::Window && r.block == Block::B16x16)
    fail("1x64 window outer scale is incompatible with 16x16 blocks");
  if (isFourOverSix(r) && r.numerics == Numerics::Quotient)
    fail("four_over_six requires the reciprocal numerics form");
  if (isFourOverSix(r) && r.rounding == Rounding::Stochastic)
    fail("four_over_six is incompatible with stochastic rounding");
  if (r.rht && !r.columnwise)
    fail("rht requires a columnwise output");
  if (isFourOverSix(r) && r.amaxSource == AmaxSource::GivenEncodeScale)
    fail("four_over_six needs an amax, not a given encode scale");
  if (r.globalScaleInv != 0.0f &&
      (isFourOverSix(r) || r.amaxSource == AmaxSource::GivenEncodeScale))
    fail("a global scale combines with neither four_over_six nor a given "
         "encode scale");
  if (r.e4m3Max != 448 && r.e4m3Max != 256)
    fail("expected e4m3 bound 448 or 256, got " + std::to_string(r.e4m3Max));
  if (r.outer == Outer::Window && (r.window == 0 || r.window % 16 != 0))
    fail("expected window to be a positive multiple of 16, got " +
         std::to_string(r.window));
}

//===----------------------------------------------------------------------===//
// Quantization of one direction
//===----------------------------------------------------------------------===//

// A row-major matrix of fp32 values after dtype rounding (and RHT).
struct Plane {
  int64_t rows = 0, cols = 0;
  std::vector<float> v;
  float at(int64_t r, int64_t c) const { return v[r * cols + c]; }
};

int64_t roundUp(int64_t x, int64_t m) { return (x + m - 1) / m * m; }

int64_t numWindows(const Recipe &r, int64_t cols) {
  return (cols + r.window - 1) / r.window;
}

// The outer group geometry shared by quantize and dequantize.
struct Groups {
  const Recipe &r;
  int64_t rows, cols;
  int64_t index(int64_t row, int64_t col) const {
    switch (r.outer) {
    case Outer::Tensor:
      return 0;
    case Outer::Row:
      return row;
    case Outer::Window:
      return row * numWindows(r, cols) + col / r.window;
    }
    return 0;
  }
  std::vector<int64_t> shape() const {
    switch (r.outer) {
    case Outer::Tensor:
      return {1};
    case Outer::Row:
      return {rows};
    case Outer::Window:
      return {rows, numWindows(r, cols)};
    }
    return {};
  }
  int64_t count() const {
    int64_t n = 1;
    for (int64_t d : shape())
      n *= d;
    return n;
  }
};

// Scale and reciprocal for one block under the map6 candidate (SPEC §4).
struct BlockEncode {
  uint8_t sf;
  float enc;
};

// The encode scale of an outer group whose amax (or, for a given encode
// scale, the scale itself) is `g`: SPEC §3, floored for the quotient form.
float groupEncodeScale(const Recipe &r, float g) {
  if (r.amaxSource == AmaxSource::GivenEncodeScale)
    return g;
  float a = r.numerics == Numerics::Reciprocal ? g : fmaxf_(g, 1e-12f);
  if (r.globalScaleInv != 0.0f) {
    float s = fminf_(div(div(1.0f, r.globalScaleInv), a), kFltMax);
    return a == 0.0f || s == 0.0f ? 1.0f : s;
  }
  return outerScale(a, r.e4m3Max);
}

BlockEncode encodeReciprocal(float aB, float s) {
  float sDec = div(1.0f, s);
  float k = mul(s, kRcp6);
  uint8_t sf = toE4M3(fminf_(mul(aB, k), kFltMax));
  // sf == 0 gives RN(1 / 0) = +Inf, clamped to FLT_MAX: the spec's special
  // case falls out of the formula.
  float enc = fminf_(div(1.0f, mul(fromE4M3(sf), sDec)), kFltMax);
  return {sf, enc};
}

BlockEncode encodeQuotient(float aB, float s) {
  uint8_t sf = toE4M3(mul(aB, mul(s, kRcp6)));
  float sfv = fromE4M3(sf);
  float enc = sfv == 0.0f ? 0.0f : div(s, sfv);
  return {sf, enc};
}

// The two 4over6 candidates of a block (SPEC §7); [0] is map-to-4, [1] is
// map-to-6.
struct Candidates {
  BlockEncode c[2];
};

Candidates fourOverSixCandidates(float aB, float amaxG, unsigned E) {
  float s = outerScale(amaxG, E);
  float sDec = div(1.0f, s);
  // Divide-first, unlike §4: this is what TE's 4over6 kernels do.
  float base = mul(div(aB, 6.0f), s);
  uint8_t sf4 = toE4M3(fminf_(mul(base, 1.5f), 448.0f));
  uint8_t sf6 = toE4M3(fminf_(base, 448.0f));
  Candidates out;
  uint8_t sfs[2] = {sf4, sf6};
  for (int i = 0; i < 2; ++i) {
    float inv = fminf_(div(1.0f, mul(fromE4M3(sfs[i]), sDec)), kFltMax);
    out.c[i] = {sfs[i], inv};
  }
  return out;
}

// Error of one 16-element row of a block under one candidate (SPEC §7),
// accumulated sequentially in element order.
float fourOverSixRowError(const float *x, BlockEncode cand, float amaxG,
                          unsigned E, bool mse) {
  float sixE = float(6 * E); // exact
  float sfv = fromE4M3(cand.sf);
  float err = 0.0f;
  for (int i = 0; i < 16; ++i) {
    uint8_t code = toE2M1(mul(x[i], cand.enc));
    float val = div(mul(mul(fromE2M1(code), sfv), amaxG), sixE);
    float d = sub(val, x[i]);
    err = add(err, mse ? mul(d, d) : std::fabs(d));
  }
  return err;
}

Quantized quantizePlane(const Recipe &r, const Plane &p, uint32_t stream,
                        const std::vector<float> &given) {
  const int64_t rows = p.rows, cols = p.cols, C = cols / 16;
  const unsigned E = r.e4m3Max;
  Quantized q;
  q.rows = rows;
  q.cols = cols;

  // Outer amax per group (SPEC §3): exact, NaN ignored, -0 counts as 0.
  Groups groups{r, rows, cols};
  q.amaxShape = groups.shape();
  q.amax.assign(groups.count(), 0.0f);
  if (r.amaxSource != AmaxSource::Computed) {
    // A given amax replaces max |x| in every formula, even when it is
    // smaller than the data's (values then saturate).
    if (int64_t(given.size()) != groups.count())
      fail("expected " + std::to_string(groups.count()) +
           " given outer values, got " + std::to_string(given.size()));
    q.amax = given;
  } else {
    for (int64_t i = 0; i < rows; ++i)
      for (int64_t j = 0; j < cols; ++j) {
        float &a = q.amax[groups.index(i, j)];
        a = fmaxf_(a, std::fabs(p.at(i, j)));
      }
  }

  // Block amax: a 1x16 segment, or a 16x16 tile over the rows present (a
  // partial last tile of rows never reads past the matrix).
  const int64_t tileRows = r.block == Block::B16x16 ? 16 : 1;
  auto blockAmax = [&](int64_t r0, int64_t c) {
    float a = 0.0f;
    for (int64_t i = r0; i < std::min(r0 + tileRows, rows); ++i)
      for (int64_t j = 0; j < 16; ++j)
        a = fmaxf_(a, std::fabs(p.at(i, c * 16 + j)));
    return a;
  };

  // Per-row-block scale byte and encode multiplier; 16x16 tiles replicate
  // theirs over the tile's rows (SPEC §5).
  std::vector<BlockEncode> enc(rows * C);
  for (int64_t r0 = 0; r0 < rows; r0 += tileRows) {
    int64_t r1 = std::min(r0 + tileRows, rows);
    for (int64_t c = 0; c < C; ++c) {
      float aB = blockAmax(r0, c);
      // Groups never straddle a block (windows are multiples of 16 and
      // 16x16 tiles only combine with the per-tensor group).
      float amaxG = q.amax[groups.index(r0, c * 16)];
      BlockEncode chosen;
      if (!isFourOverSix(r)) {
        float s = groupEncodeScale(r, amaxG);
        chosen = r.numerics == Numerics::Reciprocal ? encodeReciprocal(aB, s)
                                                    : encodeQuotient(aB, s);
      } else {
        bool mse = r.select == Select::FourOverSixMSE;
        Candidates cand = fourOverSixCandidates(aB, amaxG, E);
        float err[2];
        for (int k = 0; k < 2; ++k) {
          // Row errors, summed for 16x16 in the fixed tree of SPEC §7.
          // Missing rows of a partial tile contribute +0, which leaves every
          // partial sum unchanged.
          float v[16] = {};
          for (int64_t i = r0; i < r1; ++i)
            v[i - r0] = fourOverSixRowError(&p.v[i * cols + c * 16], cand.c[k],
                                            amaxG, E, mse);
          if (tileRows == 16)
            for (int w = 8; w >= 1; w /= 2)
              for (int j = 0; j < w; ++j)
                v[j] = add(v[j], v[j + w]);
          err[k] = v[0];
        }
        // Strict: a tie keeps map-to-6.
        chosen = err[0] < err[1] ? cand.c[0] : cand.c[1];
      }
      for (int64_t i = r0; i < r1; ++i)
        enc[i * C + c] = chosen;
    }
  }

  // Element codes (SPEC §4 last line, §8) and packing (SPEC §1).
  q.data.assign(rows * cols / 2, 0);
  const uint32_t key[2] = {uint32_t(r.seed), uint32_t(r.seed >> 32)};
  for (int64_t i = 0; i < rows; ++i)
    for (int64_t c = 0; c < C; ++c) {
      uint32_t words[4] = {0, 0, 0, 0};
      if (r.rounding == Rounding::Stochastic) {
        // One Philox call per 1x16 row block, indexed in the output's
        // (rows, cols/16) grid, so the bits do not depend on tiling.
        uint64_t b = uint64_t(i * C + c);
        const uint32_t ctr[4] = {uint32_t(b), uint32_t(b >> 32), stream, 0};
        philox4x32_10(key, ctr, words);
      }
      const BlockEncode &be = enc[i * C + c];
      for (int j = 0; j < 16; ++j) {
        float v = mul(p.at(i, c * 16 + j), be.enc);
        uint8_t code;
        if (r.rounding == Rounding::Nearest) {
          code = toE2M1(v);
        } else {
          uint8_t r8 = uint8_t((words[j / 4] >> (8 * (j % 4))) & 0xFF);
          code = toE2M1(stochasticE2M1Value(v, r8));
        }
        int64_t col = c * 16 + j;
        uint8_t &byte = q.data[i * (cols / 2) + col / 2];
        byte |= uint8_t(col % 2 == 0 ? code : code << 4);
      }
    }

  // Scales in the requested layout; padding stays 0 (SPEC §10).
  switch (r.layout) {
  case SfLayout::Linear:
    q.scaleRows = rows;
    q.scaleCols = C;
    break;
  case SfLayout::Swizzle128x4:
    q.scaleRows = roundUp(rows, 128);
    q.scaleCols = roundUp(C, 4);
    break;
  case SfLayout::Swizzle8x4:
    q.scaleRows = roundUp(rows, 8);
    q.scaleCols = roundUp(C, 4);
    break;
  }
  q.scale.assign(q.scaleRows * q.scaleCols, 0);
  for (int64_t i = 0; i < rows; ++i)
    for (int64_t c = 0; c < C; ++c)
      q.scale[scaleOffset(r.layout, i, c, C)] = enc[i * C + c].sf;
  return q;
}

} // namespace

//===----------------------------------------------------------------------===//
// Conversions
//===----------------------------------------------------------------------===//

float nvfp4::ref::bitsToFloat(uint32_t bits) {
  float f;
  std::memcpy(&f, &bits, sizeof(f));
  return f;
}

uint32_t nvfp4::ref::floatToBits(float f) {
  uint32_t bits;
  std::memcpy(&bits, &f, sizeof(bits));
  return bits;
}

float nvfp4::ref::roundTo(DType d, float v) {
  switch (d) {
  case DType::F32:
    return v;
  case DType::F16:
    return roundToF16(v);
  case DType::BF16:
    return roundToBF16(v);
  }
  return v;
}

uint8_t nvfp4::ref::toE2M1(float v) {
  if (std::isnan(v))
    return 0x7; // +6 whatever the NaN's sign, like the hardware cvt
  uint8_t sign = std::signbit(v) ? 0x8 : 0x0;
  float a = std::fabs(v);
  // The table of SPEC §2: closed bounds are ties that go to the even code.
  uint8_t code;
  if (a <= 0.25f)
    code = 0;
  else if (a < 0.75f)
    code = 1;
  else if (a <= 1.25f)
    code = 2;
  else if (a < 1.75f)
    code = 3;
  else if (a <= 2.5f)
    code = 4;
  else if (a < 3.5f)
    code = 5;
  else if (a <= 5.0f)
    code = 6;
  else
    code = 7;
  return sign | code;
}

float nvfp4::ref::fromE2M1(uint8_t code) {
  static const float kValues[8] = {0.0f, 0.5f, 1.0f, 1.5f,
                                   2.0f, 3.0f, 4.0f, 6.0f};
  float v = kValues[code & 7];
  return (code & 8) ? -v : v;
}

uint8_t nvfp4::ref::toE4M3(float v) {
  if (std::isnan(v))
    return 0x7F;
  uint8_t sign = std::signbit(v) ? 0x80 : 0x00;
  float a = std::fabs(v); // +Inf compares above every midpoint: saturates
  const E4M3Table &t = e4m3Table();
  for (int c = 0; c < 126; ++c) {
    if (a < t.mid[c])
      return sign | uint8_t(c);
    if (a == t.mid[c])
      return sign | uint8_t(c % 2 == 0 ? c : c + 1);
  }
  // Above the 416/448 midpoint: 448, including finite overflow (satfinite).
  return sign | 0x7E;
}

float nvfp4::ref::fromE4M3(uint8_t b) {
  if ((b & 0x7F) == 0x7F)
    return std::nanf("");
  float v = e4m3Table().value[b & 0x7F];
  return (b & 0x80) ? -v : v;
}

float nvfp4::ref::roundToBF16(float v) {
  uint32_t bits = floatToBits(v);
  if (std::isnan(v))
    // Keep it a (quiet) NaN: truncating a payload held only in the low bits
    // would turn it into Inf.
    return bitsToFloat((bits | 0x00400000u) & 0xFFFF0000u);
  bits += 0x7FFFu + ((bits >> 16) & 1u);
  return bitsToFloat(bits & 0xFFFF0000u);
}

float nvfp4::ref::roundToF16(float v) {
  if (std::isnan(v))
    return v;
  float a = std::fabs(v);
  // 65520 is the midpoint between 65504 and 2^16; the tie goes to the even
  // "2^16", which is out of range: Inf.
  if (a >= 65520.0f)
    return std::copysign(INFINITY, v);
  // Quantum of the binade (11 significant bits), or the subnormal quantum.
  int e;
  std::frexp(a, &e); // a = f * 2^e, f in [0.5, 1)
  int quantumExp = a < std::ldexp(1.0f, -14) ? -24 : e - 11;
  // Scaling by powers of two is exact; nearbyint rounds ties to even.
  float m = std::nearbyint(std::ldexp(a, -quantumExp));
  return std::copysign(std::ldexp(m, quantumExp), v);
}

int64_t nvfp4::ref::scaleOffset(SfLayout l, int64_t r, int64_t c, int64_t C) {
  int64_t Cp = roundUp(C, 4);
  switch (l) {
  case SfLayout::Linear:
    return r * C + c;
  case SfLayout::Swizzle128x4:
    return (r / 128) * (128 * Cp) + (c / 4) * 512 + (r % 32) * 16 +
           ((r % 128) / 32) * 4 + (c % 4);
  case SfLayout::Swizzle8x4:
    return (r / 8) * (Cp / 4 * 32) + (c / 4) * 32 + (r % 8) * 4 + (c % 4);
  }
  return 0;
}

void nvfp4::ref::philox4x32_10(const uint32_t key[2], const uint32_t ctr[4],
                               uint32_t out[4]) {
  const uint32_t kM0 = 0xD2511F53u, kM1 = 0xCD9E8D57u;
  const uint32_t kW0 = 0x9E3779B9u, kW1 = 0xBB67AE85u;
  uint32_t k0 = key[0], k1 = key[1];
  uint32_t c0 = ctr[0], c1 = ctr[1], c2 = ctr[2], c3 = ctr[3];
  for (int round = 0; round < 10; ++round) {
    // The key is bumped between rounds, not before the first (Random123).
    if (round > 0) {
      k0 += kW0;
      k1 += kW1;
    }
    uint64_t p0 = uint64_t(kM0) * c0;
    uint64_t p1 = uint64_t(kM1) * c2;
    uint32_t hi0 = uint32_t(p0 >> 32), lo0 = uint32_t(p0);
    uint32_t hi1 = uint32_t(p1 >> 32), lo1 = uint32_t(p1);
    c0 = hi1 ^ c1 ^ k0;
    c1 = lo1;
    c2 = hi0 ^ c3 ^ k1;
    c3 = lo0;
  }
  out[0] = c0;
  out[1] = c1;
  out[2] = c2;
  out[3] = c3;
}

/// The Walsh-Hadamard transform of `t` (a power-of-two length) in the
/// butterfly order SPEC.md section 9 leaves open and docs/Rationale.md
/// fixes: neighbours first. Pairing t_{2k} with t_{2k+1} gives sums u_k and
/// differences v_k; the transform of u fills the even outputs and that of v
/// the odd ones, so the pairs of the later stages lie 2, 4, 8 apart.
static std::vector<float> walshHadamard(const std::vector<float> &t) {
  if (t.size() == 1)
    return t;
  std::vector<float> u, v;
  for (size_t k = 0; k < t.size() / 2; ++k) {
    u.push_back(add(t[2 * k], t[2 * k + 1]));
    v.push_back(sub(t[2 * k], t[2 * k + 1]));
  }
  u = walshHadamard(u);
  v = walshHadamard(v);
  std::vector<float> y(t.size());
  for (size_t m = 0; m < u.size(); ++m) {
    y[2 * m] = u[m];
    y[2 * m + 1] = v[m];
  }
  return y;
}

std::array<float, 16> nvfp4::ref::rht16(const std::array<float, 16> &x,
                                        uint16_t mask) {
  // s_i * x_i is x_i with its sign flipped where bit i of the mask is set:
  // exact. No +0 starts the sums, so a zero y_j keeps the sign IEEE
  // addition gives it along the butterfly.
  std::vector<float> t(x.begin(), x.end());
  for (int i = 0; i < 16; ++i)
    if ((mask >> i) & 1)
      t[i] = -t[i];
  std::vector<float> sums = walshHadamard(t);
  std::array<float, 16> y;
  for (int j = 0; j < 16; ++j)
    y[j] = roundToBF16(mul(0.25f, sums[j]));
  return y;
}

float nvfp4::ref::outerScale(float amax, unsigned e4m3Max) {
  float sixE = float(6 * e4m3Max); // 2688 or 1536: exact
  float s = fminf_(div(sixE, amax), kFltMax);
  if (amax == 0.0f || s == 0.0f)
    s = 1.0f;
  return s;
}

float nvfp4::ref::stochasticE2M1Value(float v, uint8_t r8) {
  if (std::isnan(v))
    return 6.0f;
  // SPEC.md section 8 literally, in binary64, where t is exact: r8/256*step
  // is a multiple of 2^-9 below 2, and t < 8 has a binary64 ulp of at most
  // 2^-50, no coarser than a's binary32 ulp whenever a >= 2^-27. Below
  // that t may round, but stays below 0.5 - 2^-9 + 2^-27 < 0.5 either way.
  // Inf gives t = Inf and q = 6.
  double a = std::fabs(double(v));
  double step = a >= 4 ? 2 : (a >= 2 ? 1 : 0.5);
  double t = a + double(r8) / 256 * step;
  double stepT = t >= 4 ? 2 : (t >= 2 ? 1 : 0.5);
  double q = std::fmin(std::floor(t / stepT) * stepT, 6.0);
  return std::copysign(float(q), v);
}

float nvfp4::ref::finalScale(uint8_t sf, float amax, unsigned e4m3Max) {
  float invSixE = div(1.0f, float(6 * e4m3Max));
  return mul(mul(fromE4M3(sf), amax), invSixE);
}

float nvfp4::ref::gemmAlpha(float amaxA, float amaxB, unsigned eA,
                            unsigned eB) {
  // 36 * E_A * E_B < 2^24 for E in {256, 448}: exact as an integer and as a
  // float.
  float c = div(1.0f, float(36u * eA * eB));
  return mul(mul(amaxA, amaxB), c);
}

std::vector<uint8_t> nvfp4::ref::packCodes(const std::vector<uint8_t> &codes) {
  if (codes.size() % 2 != 0)
    fail("expected an even number of e2m1 codes, got " +
         std::to_string(codes.size()));
  std::vector<uint8_t> out(codes.size() / 2);
  for (size_t j = 0; j < out.size(); ++j)
    out[j] = uint8_t((codes[2 * j] & 0xF) | ((codes[2 * j + 1] & 0xF) << 4));
  return out;
}

uint8_t nvfp4::ref::codeAt(const Quantized &q, int64_t r, int64_t c) {
  uint8_t byte = q.data[r * (q.cols / 2) + c / 2];
  return c % 2 == 0 ? (byte & 0xF) : (byte >> 4);
}

uint8_t nvfp4::ref::scaleAt(const Recipe &rec, const Quantized &q, int64_t r,
                            int64_t c) {
  return q.scale[scaleOffset(rec.layout, r, c, q.cols / 16)];
}

//===----------------------------------------------------------------------===//
// Entry points
//===----------------------------------------------------------------------===//

Result nvfp4::ref::quantize(const Recipe &r, const float *x, int64_t M,
                            int64_t K, DType dtype) {
  validate(r);
  if (M < 0 || K < 0)
    fail("expected non-negative shape");
  if (r.rowwise && K % 16 != 0)
    fail("expected quantized dimension K to be a multiple of 16, got " +
         std::to_string(K));
  if (r.columnwise && M % 16 != 0)
    fail("expected quantized dimension M (columnwise) to be a multiple of "
         "16, got " +
         std::to_string(M));

  Plane rowPlane;
  rowPlane.rows = M;
  rowPlane.cols = K;
  rowPlane.v.resize(M * K);
  for (int64_t i = 0; i < M * K; ++i)
    rowPlane.v[i] = roundTo(dtype, x[i]);

  Result res;
  if (r.rowwise)
    res.rowwise = quantizePlane(r, rowPlane, /*stream=*/0, r.given);
  if (r.columnwise) {
    // A real transposed quantization of X^T (SPEC §9).
    Plane colPlane;
    colPlane.rows = K;
    colPlane.cols = M;
    colPlane.v.resize(M * K);
    for (int64_t m = 0; m < M; ++m)
      for (int64_t k = 0; k < K; ++k)
        colPlane.v[k * M + m] = rowPlane.v[m * K + k];
    if (r.rht) {
      for (int64_t k = 0; k < K; ++k)
        for (int64_t m0 = 0; m0 < M; m0 += 16) {
          std::array<float, 16> g;
          for (int i = 0; i < 16; ++i)
            g[i] = colPlane.v[k * M + m0 + i];
          std::array<float, 16> y = rht16(g, r.rhtMask);
          for (int i = 0; i < 16; ++i)
            colPlane.v[k * M + m0 + i] = y[i];
        }
    }
    res.columnwise = quantizePlane(r, colPlane, /*stream=*/1, r.givenT);
  }
  return res;
}

std::vector<float> nvfp4::ref::dequantize(const Recipe &r, const Quantized &q) {
  validate(r);
  if (r.amaxSource == AmaxSource::GivenEncodeScale || r.globalScaleInv != 0.0f)
    fail("dequantization needs outer amaxes that decode alone");
  Groups groups{r, q.rows, q.cols};
  if (int64_t(q.amax.size()) != groups.count())
    fail("expected " + std::to_string(groups.count()) +
         " outer amax values for this recipe, got " +
         std::to_string(q.amax.size()));
  const int64_t C = q.cols / 16;
  std::vector<float> out(q.rows * q.cols);
  for (int64_t i = 0; i < q.rows; ++i)
    for (int64_t j = 0; j < q.cols; ++j) {
      float amaxG = q.amax[groups.index(i, j)];
      // The quotient form encoded with the floored amax; decode with it.
      if (r.numerics == Numerics::Quotient)
        amaxG = fmaxf_(amaxG, 1e-12f);
      uint8_t sf = q.scale[scaleOffset(r.layout, i, j / 16, C)];
      float fs = finalScale(sf, amaxG, r.e4m3Max);
      float v = mul(fromE2M1(codeAt(q, i, j)), fs);
      // SPEC.md gives NaN no payload; the project writes the canonical
      // quiet NaN (docs/Rationale.md).
      uint32_t quietNaN = 0x7FC00000u;
      if (std::isnan(v))
        std::memcpy(&v, &quietNaN, 4);
      out[i * q.cols + j] = v;
    }
  return out;
}
