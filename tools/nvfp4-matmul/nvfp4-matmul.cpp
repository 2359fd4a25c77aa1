//===- nvfp4-matmul.cpp - Multiply two NVFP4 tensors from .npy files ------===//
//
//   nvfp4-matmul [--a-recipe=R] [--b-recipe=R] [--alpha=X] [--bias=BIAS.npy]
//                [--out-dtype=bf16|f16|f32] [--target=cpu|sm_90a|sm_100a|auto]
//                A_DIR B_DIR OUT.npy
//   nvfp4-matmul [--a-dtype=bf16|f16] [--b-recipe=R] ... A.npy B_DIR OUT.npy
//
// A_DIR and B_DIR are output directories of nvfp4-quantize (data.npy,
// scale.npy, amax.npy of a rowwise output with sf_layout = 128x4): A is
// M x K, B is N x K, and OUT.npy receives D = A * B^T (SPEC.md section 12),
// M x N. Each operand's recipe comes from its folder's recipe.mlir; a
// --a-recipe/--b-recipe flag must then name the same recipe, and is required
// for a folder without recipe.mlir (written before the file existed). bf16
// output is written as float32 (NumPy has no bfloat16; the values are exactly
// the bf16 ones). Every failure prints one line naming the problem, exits
// non-zero and writes no output.
//
// W4A16 (`nvfp4.matmul_w4a16`): when A is a .npy file instead of a folder,
// it is an unquantized M x K activation used as given: float16 runs as
// f16; float32 is first rounded (RN) to --a-dtype, bf16 by default (NumPy
// has no bfloat16), as nvfp4-quantize rounds its input.
//
//===----------------------------------------------------------------------===//

#include "nvfp4/Dialect/NVFP4/IR/NVFP4Shapes.h"
#include "nvfp4/Runtime/Matmul.h"
#include "nvfp4/Runtime/Runner.h"
#include "nvfp4/Support/File.h"
#include "nvfp4/Support/FloatBits.h"
#include "nvfp4/Support/Npy.h"
#include "nvfp4/Support/QuantizedFolder.h"

#include "llvm/ADT/StringExtras.h"
#include "llvm/Support/CommandLine.h"
#include "llvm/Support/FileSystem.h"
#include "llvm/Support/InitLLVM.h"
#include "llvm/Support/Path.h"

#include <cstring>

using namespace llvm;
namespace npy = nvfp4::npy;

namespace {
cl::OptionCategory toolCat("nvfp4-matmul options");
cl::opt<std::string> aRecipeOpt(
    "a-recipe",
    cl::desc("recipe A was quantized with: a preset or the inside of "
             "#nvfp4.recipe<...> (e.g. 'per_token, sf_layout = 128x4'); "
             "default: A_DIR/recipe.mlir, which it must match"),
    cl::cat(toolCat));
cl::opt<std::string>
    bRecipeOpt("b-recipe",
               cl::desc("recipe B was quantized with; default: "
                        "B_DIR/recipe.mlir, which it must match"),
               cl::cat(toolCat));
cl::opt<float> alphaOpt("alpha", cl::desc("scale of the product (default 1)"),
                        cl::init(1.0f), cl::cat(toolCat));
cl::opt<std::string> biasOpt("bias",
                             cl::desc("BIAS.npy: N float32 values added to "
                                      "every row"),
                             cl::cat(toolCat));
cl::opt<std::string> outDtypeOpt("out-dtype", cl::desc("bf16|f16|f32"),
                                 cl::init("bf16"), cl::cat(toolCat));
cl::opt<std::string> targetOpt("target",
                               cl::desc("cpu, a GPU target (sm_90a, sm_100a, "
                                        "sm_103a, sm_110a, sm_120a, sm_121a: "
                                        "run on that GPU), or auto (the GPU "
                                        "if there is a supported one, else "
                                        "cpu)"),
                               cl::init("cpu"), cl::cat(toolCat));
cl::opt<std::string> aDtypeOpt(
    "a-dtype",
    cl::desc("W4A16 (A given as a .npy file): bf16|f16, the dtype a float32 "
             "A is rounded to (default bf16; a float16 A is f16)"),
    cl::cat(toolCat));
cl::opt<std::string> aDir(cl::Positional, cl::desc("A_DIR or A.npy"),
                          cl::Required, cl::cat(toolCat));
cl::opt<std::string> bDir(cl::Positional, cl::desc("B_DIR"), cl::Required,
                          cl::cat(toolCat));
cl::opt<std::string> outPath(cl::Positional, cl::desc("OUT.npy"), cl::Required,
                             cl::cat(toolCat));

Error fail(const Twine &message) {
  return createStringError(inconvertibleErrorCode(), message);
}

/// Reads `dir/name`, checking its dtype.
Expected<npy::Array> readArray(StringRef dir, StringRef name,
                               npy::DType dtype) {
  SmallString<256> path(dir);
  sys::path::append(path, name);
  Expected<npy::Array> array = npy::readNpy(path);
  if (!array)
    return array.takeError();
  if (array->dtype != dtype)
    return fail(path + ": expected dtype " + npy::dtypeName(dtype) + ", got " +
                npy::dtypeName(array->dtype));
  return array;
}

/// One operand as nvfp4-quantize wrote it.
Expected<nvfp4::QuantizedOutput> loadOperand(StringRef dir) {
  auto data = readArray(dir, "data.npy", npy::DType::U8);
  if (!data)
    return data.takeError();
  auto scale = readArray(dir, "scale.npy", npy::DType::U8);
  if (!scale)
    return scale.takeError();
  auto amax = readArray(dir, "amax.npy", npy::DType::F32);
  if (!amax)
    return amax.takeError();
  if (data->shape.size() != 2 || scale->shape.size() != 2)
    return fail(dir + ": expected 2-D data.npy and scale.npy");
  nvfp4::QuantizedOutput q;
  q.rows = data->shape[0];
  q.cols = data->shape[1] * 2;
  q.data.assign(data->bytes.begin(), data->bytes.end());
  q.scaleShape.assign(scale->shape.begin(), scale->shape.end());
  q.scale.assign(scale->bytes.begin(), scale->bytes.end());
  q.amaxShape.assign(amax->shape.begin(), amax->shape.end());
  q.amax = npy::toFloat32(*amax);
  return q;
}

std::string recipeText(mlir::nvfp4::RecipeAttr recipe) {
  std::string text;
  raw_string_ostream(text) << mlir::Attribute(recipe);
  return text;
}

/// The recipe of the operand in \p dir: the folder's recipe.mlir, which a
/// flag (--a-recipe/--b-recipe, given as \p opt) must agree with; the flag
/// alone for a folder without the file.
Expected<mlir::nvfp4::RecipeAttr>
operandRecipe(nvfp4::Runner &runner, cl::opt<std::string> &opt, StringRef dir) {
  mlir::nvfp4::RecipeAttr flagRecipe;
  if (opt.getNumOccurrences()) {
    auto r = runner.parseRecipe(opt);
    if (!r)
      return fail("--" + opt.ArgStr + ": " + toString(r.takeError()));
    flagRecipe = *r;
  }
  SmallString<256> path(dir);
  sys::path::append(path, nvfp4::kRecipeFileName);
  if (!sys::fs::exists(path)) {
    if (!flagRecipe)
      return fail("--" + opt.ArgStr + " is required: " + dir + " has no " +
                  nvfp4::kRecipeFileName);
    return flagRecipe;
  }
  Expected<std::string> text =
      nvfp4::readRegularFile(path, nvfp4::kMaxRecipeFileBytes, "recipe file");
  if (!text)
    return text.takeError();
  auto fileRecipe = runner.parseRecipe(*text);
  if (!fileRecipe)
    return fail(path + ": " + toString(fileRecipe.takeError()));
  if (flagRecipe && flagRecipe != *fileRecipe)
    return fail("--" + opt.ArgStr + " gives " + recipeText(flagRecipe) +
                ", but " + dir + " was quantized with " +
                recipeText(*fileRecipe) + " (" + path + ")");
  return *fileRecipe;
}

Expected<nvfp4::ElementType> outputType() {
  if (outDtypeOpt == "bf16")
    return nvfp4::ElementType::BF16;
  if (outDtypeOpt == "f16")
    return nvfp4::ElementType::F16;
  if (outDtypeOpt == "f32")
    return nvfp4::ElementType::F32;
  return fail("unknown --out-dtype value '" + outDtypeOpt +
              "' (expected bf16, f16 or f32)");
}

cl::opt<std::string> toolkitOpt("cuda-toolkit",
                                cl::desc("CUDA toolkit holding ptxas"),
                                cl::init("/usr/local/cuda"), cl::cat(toolCat));

/// A W4A16 A from a .npy file: its storage dtype and bytes (f16 or bf16
/// bit patterns).
Expected<std::pair<nvfp4::ElementType, std::vector<uint16_t>>>
loadActivation(StringRef path, int64_t &m, int64_t &k) {
  Expected<npy::Array> a = npy::readNpy(path);
  if (!a)
    return a.takeError();
  if (a->shape.size() != 2)
    return fail(path + ": expected a 2-D A (M x K)");
  m = a->shape[0];
  k = a->shape[1];
  std::vector<uint16_t> bits(size_t(m * k));
  if (a->dtype == npy::DType::F16) {
    if (aDtypeOpt.getNumOccurrences() && aDtypeOpt != "f16")
      return fail(path + ": a float16 A is f16, but --a-dtype=" + aDtypeOpt +
                  " was given");
    std::memcpy(bits.data(), a->bytes.data(), bits.size() * 2);
    return std::make_pair(nvfp4::ElementType::F16, std::move(bits));
  }
  if (a->dtype != npy::DType::F32)
    return fail(path + ": expected a float16 or float32 A, got " +
                npy::dtypeName(a->dtype));
  std::string dtype =
      aDtypeOpt.getNumOccurrences() ? std::string(aDtypeOpt) : "bf16";
  if (dtype != "bf16" && dtype != "f16")
    return fail("unknown --a-dtype value '" + dtype +
                "' (expected bf16 or f16)");
  std::vector<float> values = npy::toFloat32(*a);
  for (size_t i = 0; i < bits.size(); ++i)
    bits[i] = dtype == "bf16" ? nvfp4::floatToBF16(values[i])
                              : nvfp4::floatToF16(values[i]);
  return std::make_pair(dtype == "bf16" ? nvfp4::ElementType::BF16
                                        : nvfp4::ElementType::F16,
                        std::move(bits));
}

/// Writes the M x N output `d` of `out` (bf16 as float32) to OUT.npy.
Error writeOutput(nvfp4::ElementType out, int64_t m, int64_t n,
                  const std::vector<uint8_t> &d) {
  if (out == nvfp4::ElementType::F16)
    return npy::writeNpy(outPath, npy::DType::F16, {m, n}, d.data());
  std::vector<float> values(m * n);
  for (size_t i = 0; i < values.size(); ++i) {
    if (out == nvfp4::ElementType::F32) {
      std::memcpy(&values[i], &d[4 * i], 4);
    } else {
      uint16_t h = uint16_t(d[2 * i] | (d[2 * i + 1] << 8));
      values[i] = nvfp4::bf16ToFloat(h);
    }
  }
  return npy::writeNpy(outPath, npy::DType::F32, {m, n}, values.data());
}

/// Reads --bias for a B of `n` rows.
Error readBias(nvfp4::MatmulOptions &options, int64_t n) {
  if (biasOpt.empty())
    return Error::success();
  auto bias = npy::readNpy(biasOpt);
  if (!bias)
    return bias.takeError();
  if (bias->shape.size() != 1 || bias->shape[0] != n)
    return fail(biasOpt + ": expected a bias of shape (" + Twine(n) +
                ",) (N, the rows of B)");
  if (bias->dtype != npy::DType::F32)
    return fail(biasOpt + ": expected dtype float32, got " +
                npy::dtypeName(bias->dtype));
  options.bias = npy::toFloat32(*bias);
  return Error::success();
}

/// The W4A16 form: A.npy as given times the quantized B in B_DIR.
Error runW4A16(nvfp4::Runner &runner) {
  if (aRecipeOpt.getNumOccurrences())
    return fail("--a-recipe names the recipe of a quantized A; " + aDir +
                " is an unquantized A (W4A16)");
  auto bRecipe = operandRecipe(runner, bRecipeOpt, bDir);
  if (!bRecipe)
    return bRecipe.takeError();
  nvfp4::MatmulOptions options;
  auto type = outputType();
  if (!type)
    return type.takeError();
  options.out = *type;
  options.alpha = alphaOpt;
  int64_t m = 0, k = 0;
  auto a = loadActivation(aDir, m, k);
  if (!a)
    return a.takeError();
  auto b = loadOperand(bDir);
  if (!b)
    return b.takeError();
  if (Error e = readBias(options, b->rows))
    return e;
  auto d = runner.matmulW4A16(a->first, a->second.data(), m, k, *bRecipe, *b,
                              options);
  if (!d)
    return d.takeError();
  return writeOutput(options.out, m, b->rows, *d);
}

Error run() {
  auto runner = nvfp4::Runner::create(targetOpt, toolkitOpt);
  if (!runner)
    return runner.takeError();
  if (sys::fs::is_regular_file(aDir))
    return runW4A16(**runner);
  mlir::nvfp4::RecipeAttr aRecipe, bRecipe;
  for (auto [opt, dir, recipe] : {std::tuple{&aRecipeOpt, &aDir, &aRecipe},
                                  std::tuple{&bRecipeOpt, &bDir, &bRecipe}}) {
    auto r = operandRecipe(**runner, *opt, *dir);
    if (!r)
      return r.takeError();
    *recipe = *r;
  }
  nvfp4::MatmulOptions options;
  auto type = outputType();
  if (!type)
    return type.takeError();
  options.out = *type;
  options.alpha = alphaOpt;
  auto a = loadOperand(aDir);
  if (!a)
    return a.takeError();
  auto b = loadOperand(bDir);
  if (!b)
    return b.takeError();
  if (Error e = readBias(options, b->rows))
    return e;
  auto d = (*runner)->matmul(aRecipe, *a, bRecipe, *b, options);
  if (!d)
    return d.takeError();
  return writeOutput(options.out, a->rows, b->rows, *d);
}
} // namespace

int main(int argc, char **argv) {
  InitLLVM init(argc, argv);
  // The tool's own flags only, not LLVM's internal ones.
  cl::HideUnrelatedOptions(toolCat);
  cl::ParseCommandLineOptions(
      argc, argv,
      "nvfp4-matmul: D = A * B^T of two NVFP4 tensors written by "
      "nvfp4-quantize, or of an unquantized bf16/f16 A (W4A16) and one\n");
  if (Error e = run()) {
    errs() << "nvfp4-matmul: error: " << toString(std::move(e)) << "\n";
    return 1;
  }
  return 0;
}
