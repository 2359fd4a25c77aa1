//===- nvfp4-quantize.cpp - Quantize a .npy tensor with a recipe ----------===//
//
//   nvfp4-quantize [recipe flags] --target=cpu INPUT.npy OUTDIR
//
// Writes data.npy, scale.npy, amax.npy (and *_t.npy for the columnwise
// output, dequant*.npy with --dequant) and recipe.mlir (the recipe's
// canonical `#nvfp4.recipe<...>` text) into OUTDIR, after removing these
// names left by an earlier run, so OUTDIR holds one run's outputs; other
// files there are kept. --target=sm_90a or sm_100a (or auto) runs the same
// recipe on the GPU and writes the same files. --amax/--amax-t give the
// outer amaxes (or encode scales) of a recipe with a given outer scale. Every
// failure prints one line naming the problem, exits non-zero and writes none of
// these files.
//
//===----------------------------------------------------------------------===//

#include "nvfp4/Dialect/NVFP4/IR/NVFP4Ops.h"
#include "nvfp4/Runtime/Api.h"
#include "nvfp4/Runtime/Runner.h"
#include "nvfp4/Support/File.h"
#include "nvfp4/Support/FloatBits.h"
#include "nvfp4/Support/Npy.h"
#include "nvfp4/Support/QuantizedFolder.h"

#include "mlir/IR/BuiltinOps.h"
#include "mlir/IR/Diagnostics.h"
#include "mlir/Parser/Parser.h"
#include "llvm/ADT/StringExtras.h"
#include "llvm/Support/CommandLine.h"
#include "llvm/Support/FileSystem.h"
#include "llvm/Support/InitLLVM.h"
#include "llvm/Support/Path.h"
#include "llvm/Support/SourceMgr.h"

using namespace llvm;
namespace npy = nvfp4::npy;

namespace {
cl::OptionCategory toolCat("nvfp4-quantize options");
cl::OptionCategory recipeCat("Recipe (SPEC.md); each flag overrides the preset");
cl::opt<std::string> recipeOpt("recipe", cl::desc("PRESET or FILE.mlir"),
                               cl::cat(recipeCat));
cl::opt<std::string> outerOpt("outer", cl::desc("tensor|row|window64"),
                              cl::cat(recipeCat));
cl::opt<std::string> blockOpt("block", cl::desc("1x16|16x16"),
                              cl::cat(recipeCat));
cl::opt<std::string> numericsOpt("numerics", cl::desc("reciprocal|quotient"),
                                 cl::cat(recipeCat));
cl::opt<std::string> selectOpt("select", cl::desc("map6|mae|mse"),
                               cl::cat(recipeCat));
cl::opt<std::string> e4m3Opt("e4m3-max", cl::desc("448|256"),
                             cl::cat(recipeCat));
cl::opt<std::string> roundingOpt("rounding", cl::desc("nearest|stochastic"),
                                 cl::cat(recipeCat));
cl::opt<uint64_t> seedOpt("seed", cl::desc("stochastic rounding seed"),
                          cl::init(0), cl::cat(recipeCat));
cl::opt<bool> rhtOpt("rht", cl::desc("RHT16 on the columnwise output"),
                     cl::cat(recipeCat));
cl::opt<bool> rowwiseOpt("rowwise", cl::desc("rowwise output (default)"),
                         cl::cat(recipeCat));
cl::opt<bool> columnwiseOpt("columnwise", cl::desc("columnwise output"),
                            cl::cat(recipeCat));
cl::opt<std::string> layoutOpt("sf-layout", cl::desc("linear|128x4|8x4"),
                               cl::cat(recipeCat));

cl::opt<std::string> amaxSourceOpt(
    "amax-source",
    cl::desc("computed|given|given_encode_scale: where the outer scale comes "
             "from (given with --amax when not set)"),
    cl::cat(recipeCat));

cl::OptionCategory givenCat("Given outer scales (recipes with amax = given "
                            "or given_encode_scale)");
cl::opt<std::string> amaxOpt(
    "amax",
    cl::desc("VALUE or FILE.npy: the rowwise outer amaxes (encode scales with "
             "given_encode_scale); a VALUE applies to every outer group, a "
             "float32 FILE.npy holds one value per group"),
    cl::cat(givenCat));
cl::opt<std::string> amaxTOpt(
    "amax-t", cl::desc("VALUE or FILE.npy: the same for the columnwise output"),
    cl::cat(givenCat));

cl::opt<std::string> inputDtypeOpt(
    "input-dtype",
    cl::desc("bf16|fp16|fp32: storage dtype the input is rounded to first "
             "(default: the file's dtype)"),
    cl::cat(toolCat));
cl::opt<std::string> targetOpt(
    "target",
    cl::desc("cpu, a GPU target (sm_90a, sm_100a, sm_103a, sm_110a, "
             "sm_120a, sm_121a: run on that GPU), or auto (the GPU if there "
             "is a supported one, else cpu)"),
    cl::init("cpu"), cl::cat(toolCat));
cl::opt<std::string> toolkitOpt("cuda-toolkit",
                                cl::desc("CUDA toolkit holding ptxas"),
                                cl::init("/usr/local/cuda"), cl::cat(toolCat));
cl::opt<bool> dequantOpt("dequant",
                         cl::desc("also write dequant.npy (and dequant_t.npy)"),
                         cl::cat(toolCat));
cl::opt<std::string> inputPath(cl::Positional, cl::desc("INPUT.npy"),
                               cl::Required, cl::cat(toolCat));
cl::opt<std::string> outDir(cl::Positional, cl::desc("OUTDIR"), cl::Required,
                            cl::cat(toolCat));

Error fail(const Twine &message) {
  return createStringError(inconvertibleErrorCode(), message);
}

/// Maps a flag value to recipe syntax, or fails naming the accepted values.
Expected<std::string> pick(cl::opt<std::string> &opt,
                           ArrayRef<std::pair<StringRef, StringRef>> table) {
  for (auto [flag, syntax] : table)
    if (opt == flag)
      return syntax.str();
  SmallVector<StringRef> names;
  for (auto [flag, syntax] : table)
    names.push_back(flag);
  return fail("unknown --" + opt.ArgStr + " value '" + opt + "' (expected " +
              join(names, ", ") + ")");
}

/// The recipe overrides the flags ask for, as `key = value` entries.
Expected<SmallVector<std::string>> flagOverrides() {
  SmallVector<std::string> keys;
  auto add = [&](cl::opt<std::string> &opt, StringRef key,
                 ArrayRef<std::pair<StringRef, StringRef>> table) -> Error {
    if (!opt.getNumOccurrences())
      return Error::success();
    Expected<std::string> v = pick(opt, table);
    if (!v)
      return v.takeError();
    keys.push_back((key + " = " + *v).str());
    return Error::success();
  };
  if (Error e = add(outerOpt, "outer",
                    {{"tensor", "tensor"}, {"row", "row"},
                     {"window64", "window<64>"}}))
    return std::move(e);
  if (Error e = add(blockOpt, "block", {{"1x16", "1x16"}, {"16x16", "16x16"}}))
    return std::move(e);
  if (Error e = add(numericsOpt, "numerics",
                    {{"reciprocal", "reciprocal"}, {"quotient", "quotient"}}))
    return std::move(e);
  if (Error e = add(selectOpt, "select",
                    {{"map6", "map6"},
                     {"mae", "four_over_six<mae>"},
                     {"mse", "four_over_six<mse>"}}))
    return std::move(e);
  if (Error e = add(e4m3Opt, "e4m3_max", {{"448", "448"}, {"256", "256"}}))
    return std::move(e);
  std::string stochastic =
      "stochastic<seed = " + std::to_string(seedOpt.getValue()) + ">";
  if (Error e = add(roundingOpt, "rounding",
                    {{"nearest", "nearest"}, {"stochastic", stochastic}}))
    return std::move(e);
  if (seedOpt.getNumOccurrences() && roundingOpt != "stochastic")
    return fail("--seed needs --rounding=stochastic");
  if (rhtOpt)
    keys.push_back("transform = rht16");
  if (rowwiseOpt || columnwiseOpt) {
    SmallVector<StringRef> dirs;
    if (rowwiseOpt)
      dirs.push_back("rowwise");
    if (columnwiseOpt)
      dirs.push_back("columnwise");
    keys.push_back("directions = [" + join(dirs, ", ") + "]");
  }
  if (Error e = add(layoutOpt, "sf_layout",
                    {{"linear", "linear"}, {"128x4", "128x4"}, {"8x4", "8x4"}}))
    return std::move(e);
  if (Error e = add(amaxSourceOpt, "amax",
                    {{"computed", "computed"},
                     {"given", "given"},
                     {"given_encode_scale", "given_encode_scale"}}))
    return std::move(e);
  return keys;
}

/// A recipe from --recipe=FILE.mlir: either a bare `#nvfp4.recipe<...>`
/// or a module whose first op with a `recipe` attribute supplies it.
Expected<mlir::nvfp4::RecipeAttr> recipeFromFile(nvfp4::Runner &runner,
                                                 StringRef path) {
  Expected<std::string> buffer =
      nvfp4::readRegularFile(path, nvfp4::kMaxRecipeFileBytes, "recipe file");
  if (!buffer)
    return buffer.takeError();
  StringRef text = StringRef(*buffer).trim();
  if (text.starts_with("#nvfp4.recipe"))
    return runner.parseRecipe(text);
  mlir::MLIRContext &ctx = runner.getContext();
  std::string message;
  mlir::ScopedDiagnosticHandler handler(&ctx, [&](mlir::Diagnostic &d) {
    if (message.empty())
      message = d.str();
    return mlir::success();
  });
  mlir::OwningOpRef<mlir::ModuleOp> module =
      mlir::parseSourceString<mlir::ModuleOp>(text, &ctx);
  if (!module)
    return fail(path + ": " + message);
  mlir::nvfp4::RecipeAttr recipe;
  module->walk([&](mlir::Operation *op) {
    if (!recipe)
      recipe = op->getAttrOfType<mlir::nvfp4::RecipeAttr>("recipe");
  });
  if (!recipe)
    return fail(path + ": no op with a recipe attribute");
  return recipe;
}

Expected<mlir::nvfp4::RecipeAttr> buildRecipe(nvfp4::Runner &runner) {
  Expected<SmallVector<std::string>> overrides = flagOverrides();
  if (!overrides)
    return overrides.takeError();
  StringRef recipe = recipeOpt;
  // Recipe syntax has no '/', so a path is always read as a file (and a
  // FIFO or device there is refused rather than taken for a preset name).
  if (recipe.ends_with(".mlir") || recipe.contains('/') ||
      sys::fs::exists(recipe)) {
    if (!overrides->empty())
      return fail("recipe flags cannot be combined with a recipe file; edit " +
                  recipe + " instead");
    return recipeFromFile(runner, recipe);
  }
  SmallVector<std::string> parts;
  parts.push_back(recipe.empty() ? "per_tensor" : recipe.str());
  // Directions the flags did not set keep the preset's.
  llvm::append_range(parts, *overrides);
  // Given values make the outer scale given unless a flag says which (a
  // recipe file must say it itself).
  if (!amaxSourceOpt.getNumOccurrences() &&
      (amaxOpt.getNumOccurrences() || amaxTOpt.getNumOccurrences()))
    parts.push_back("amax = given");
  return runner.parseRecipe(join(parts, ", "));
}

/// Reads INPUT.npy and converts it to the storage dtype's bytes.
Expected<std::pair<nvfp4::ElementType, std::vector<uint8_t>>>
loadInput(const npy::Array &array) {
  std::string dtype = inputDtypeOpt;
  if (dtype.empty())
    dtype = array.dtype == npy::DType::F16 ? "fp16" : "fp32";
  nvfp4::ElementType type;
  if (dtype == "fp32")
    type = nvfp4::ElementType::F32;
  else if (dtype == "fp16")
    type = nvfp4::ElementType::F16;
  else if (dtype == "bf16")
    type = nvfp4::ElementType::BF16;
  else
    return fail("unknown --input-dtype value '" + dtype +
                "' (expected bf16, fp16 or fp32)");
  std::vector<float> values = npy::toFloat32(array);
  std::vector<uint8_t> bytes;
  bytes.reserve(values.size() * (type == nvfp4::ElementType::F32 ? 4 : 2));
  for (float v : values) {
    uint32_t word = type == nvfp4::ElementType::F32 ? nvfp4::floatBits(v)
                    : type == nvfp4::ElementType::F16
                        ? nvfp4::floatToF16(v)
                        : nvfp4::floatToBF16(v);
    unsigned width = type == nvfp4::ElementType::F32 ? 4 : 2;
    for (unsigned i = 0; i < width; ++i)
      bytes.push_back(uint8_t(word >> (8 * i)));
  }
  return std::make_pair(type, std::move(bytes));
}

/// The values of --amax / --amax-t for an amax output of `count` values:
/// a number for every outer group, or a float32 .npy file of `count`
/// values. Empty when the flag is not set.
Expected<std::vector<float>> givenValues(cl::opt<std::string> &opt,
                                         StringRef direction, int64_t count) {
  if (!opt.getNumOccurrences())
    return std::vector<float>{};
  StringRef text = opt;
  std::string flag = "--" + opt.ArgStr.str();
  if (count == 0)
    return fail(flag + ": the recipe has no " + direction + " output");
  if (text.ends_with(".npy")) {
    Expected<npy::Array> array = npy::readNpy(text);
    if (!array)
      return array.takeError();
    if (array->dtype != npy::DType::F32)
      return fail(flag + "=" + text + ": expected float32 values, got " +
                  npy::dtypeName(array->dtype));
    std::vector<float> values = npy::toFloat32(*array);
    if (int64_t(values.size()) != count)
      return fail(flag + "=" + text + ": expected " + Twine(count) +
                  " values (one per outer group), got " +
                  Twine(values.size()));
    return values;
  }
  std::string copy = text.str();
  char *end = nullptr;
  float value = std::strtof(copy.c_str(), &end);
  if (copy.empty() || end != copy.c_str() + copy.size())
    return fail(flag + ": expected a number or a FILE.npy, got '" + text +
                "'");
  return std::vector<float>(size_t(count), value);
}

/// The files of one run, written together or not at all.
struct OutputSet {
  struct File {
    std::string name;
    npy::DType dtype;
    SmallVector<int64_t, 2> shape;
    const void *data;
  };
  std::vector<File> files;
  /// The recipe's canonical text, written as kRecipeFileName.
  std::string recipeText;

  /// Removes every name this tool writes (an earlier run's outputs, which
  /// this run may not overwrite, e.g. data_t.npy), then writes this run's
  /// files; on failure none of the tool's names is left behind.
  Error write(StringRef dir) {
    auto pathOf = [&](StringRef name) {
      SmallString<256> path(dir);
      sys::path::append(path, name);
      return path;
    };
    auto removeAll = [&]() -> Error {
      for (StringRef name : nvfp4::kQuantizeOutputNames) {
        SmallString<256> path = pathOf(name);
        if (std::error_code ec = sys::fs::remove(path))
          return fail(path + ": cannot remove the output of an earlier run: " +
                      ec.message());
      }
      return Error::success();
    };
    if (Error e = removeAll())
      return e;
    auto writeAll = [&]() -> Error {
      for (const File &f : files)
        if (Error e = npy::writeNpy(pathOf(f.name), f.dtype, f.shape, f.data))
          return e;
      SmallString<256> path = pathOf(nvfp4::kRecipeFileName);
      if (Error e = writeToOutput(path, [&](raw_ostream &os) {
            os << recipeText << "\n";
            return Error::success();
          }))
        return fail(path + ": cannot write file: " + toString(std::move(e)));
      return Error::success();
    };
    if (Error e = writeAll()) {
      consumeError(removeAll());
      return e;
    }
    return Error::success();
  }
};

Error run() {
  auto runner = nvfp4::Runner::create(targetOpt, toolkitOpt);
  if (!runner)
    return runner.takeError();
  Expected<npy::Array> array = npy::readNpy(inputPath);
  if (!array)
    return array.takeError();
  if (array->shape.size() != 2) {
    SmallVector<std::string> dims;
    for (int64_t d : array->shape)
      dims.push_back(std::to_string(d));
    return fail(inputPath + ": expected a 2-D array, got shape (" +
                join(dims, ", ") + ")");
  }
  if (array->dtype != npy::DType::F32 && array->dtype != npy::DType::F16)
    return fail(inputPath + ": unsupported dtype " +
                npy::dtypeName(array->dtype) +
                " (expected float32 or float16)");
  Expected<mlir::nvfp4::RecipeAttr> recipe = buildRecipe(**runner);
  if (!recipe)
    return recipe.takeError();
  auto input = loadInput(*array);
  if (!input)
    return input.takeError();
  int64_t rows = array->shape[0], cols = array->shape[1];
  auto shapes = nvfp4::describeOutputs(*recipe, rows, cols);
  if (!shapes)
    return shapes.takeError();
  auto countOf = [](const std::optional<nvfp4::QuantizedOutput> &o) {
    int64_t n = o ? 1 : 0;
    if (o)
      for (int64_t d : o->amaxShape)
        n *= d;
    return n;
  };
  auto amax = givenValues(amaxOpt, "rowwise", countOf(shapes->rowwise));
  if (!amax)
    return amax.takeError();
  auto amaxT =
      givenValues(amaxTOpt, "columnwise", countOf(shapes->columnwise));
  if (!amaxT)
    return amaxT.takeError();
  nvfp4::GivenAmax given{*amax, *amaxT};
  auto result = (*runner)->quantize(*recipe, input->first, input->second.data(),
                                    rows, cols, given);
  if (!result)
    return result.takeError();

  OutputSet out;
  raw_string_ostream(out.recipeText) << mlir::Attribute(*recipe);
  std::vector<std::vector<float>> dequantized;
  dequantized.reserve(2);
  for (auto [q, suffix] : {std::pair{&result->rowwise, ""},
                           std::pair{&result->columnwise, "_t"}}) {
    if (!*q)
      continue;
    const nvfp4::QuantizedOutput &o = **q;
    std::string s = suffix;
    out.files.push_back({"data" + s + ".npy", npy::DType::U8,
                         {o.rows, o.cols / 2}, o.data.data()});
    out.files.push_back(
        {"scale" + s + ".npy", npy::DType::U8, o.scaleShape, o.scale.data()});
    out.files.push_back(
        {"amax" + s + ".npy", npy::DType::F32, o.amaxShape, o.amax.data()});
    if (dequantOpt) {
      // Dequantization is a host-side view of the outputs on every target.
      auto d = nvfp4::dequantize(out.recipeText, o);
      if (!d)
        return d.takeError();
      dequantized.push_back(std::move(*d));
      out.files.push_back({"dequant" + s + ".npy", npy::DType::F32,
                           {o.rows, o.cols}, dequantized.back().data()});
    }
  }
  if (std::error_code ec = sys::fs::create_directories(outDir))
    return fail(outDir + ": cannot create output directory: " + ec.message());
  return out.write(outDir);
}
} // namespace

int main(int argc, char **argv) {
  InitLLVM init(argc, argv);
  // The tool's own flags only, not LLVM's internal ones.
  cl::HideUnrelatedOptions({&toolCat, &recipeCat, &givenCat});
  cl::ParseCommandLineOptions(
      argc, argv,
      "nvfp4-quantize: quantize a 2-D .npy tensor with an NVFP4 recipe\n");
  if (Error e = run()) {
    errs() << "nvfp4-quantize: error: " << toString(std::move(e)) << "\n";
    return 1;
  }
  return 0;
}
