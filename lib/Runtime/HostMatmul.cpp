//===- HostMatmul.cpp - NVFP4 GEMMs on the host ---------------------------===//
//
// Builds the GEMM kernel module, checks operands on the host (SPEC.md
// sections 12 and 13), and runs the kernel through the host runner's JIT.
//
//===----------------------------------------------------------------------===//

#include "Errors.h"
#include "nvfp4/Dialect/NVFP4/IR/NVFP4Ops.h"
#include "nvfp4/Dialect/NVFP4/IR/NVFP4Shapes.h"
#include "nvfp4/Runtime/Matmul.h"

#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/ExecutionEngine/ExecutionEngine.h"
#include "mlir/IR/Builders.h"
#include "mlir/IR/BuiltinOps.h"
#include "llvm/ADT/STLExtras.h"
#include "llvm/Support/raw_ostream.h"

#include <cstring>
#include <deque>
#include <tuple>

using namespace mlir;
using namespace mlir::nvfp4;
using ::nvfp4::detail::makeError;

namespace {
/// Memref descriptors of any rank for `invokePacked`: each one is laid out
/// as {allocated, aligned, offset, sizes[N], strides[N]} in 64-bit words.
class PackedArgs {
public:
  void add(const void *data, ArrayRef<int64_t> shape) {
    std::vector<int64_t> &d = descriptors.emplace_back(3 + 2 * shape.size());
    static_assert(sizeof(void *) == sizeof(int64_t));
    std::memcpy(&d[0], &data, sizeof(data));
    std::memcpy(&d[1], &data, sizeof(data));
    d[2] = 0;
    int64_t stride = 1;
    for (size_t i = shape.size(); i-- > 0;) {
      d[3 + i] = shape[i];
      d[3 + shape.size() + i] = stride;
      stride *= shape[i];
    }
    pointers.push_back(d.data());
  }
  SmallVector<void *> &packed() {
    args.clear();
    for (void *&p : pointers)
      args.push_back(&p);
    return args;
  }

private:
  std::deque<std::vector<int64_t>> descriptors;
  std::deque<void *> pointers;
  SmallVector<void *> args;
};

MemRefType dynamicMemRef(unsigned rank, Type element) {
  return MemRefType::get(SmallVector<int64_t>(rank, ShapedType::kDynamic),
                         element);
}

std::string shapeStr(ArrayRef<int64_t> shape) {
  std::string s = "(";
  for (auto [i, d] : llvm::enumerate(shape))
    s += (i ? ", " : "") + std::to_string(d);
  return s + (shape.size() == 1 ? ",)" : ")");
}

std::string recipeStr(RecipeAttr recipe) {
  std::string s;
  llvm::raw_string_ostream os(s);
  Attribute(recipe).print(os);
  return s;
}

const char *layoutName(ScaleLayout layout) {
  switch (layout) {
  case ScaleLayout::Linear:
    return "linear";
  case ScaleLayout::Swizzle128x4:
    return "128x4";
  case ScaleLayout::Swizzle8x4:
    return "8x4";
  }
  return "?";
}

/// `func.func @kernel(types)` at the end of `module`, with `builder` at the
/// start of its body.
func::FuncOp kernelFunc(OpBuilder &builder, ModuleOp module,
                        ArrayRef<Type> types) {
  builder.setInsertionPointToEnd(module.getBody());
  auto func = func::FuncOp::create(builder, module.getLoc(), "kernel",
                                   builder.getFunctionType(types, {}));
  builder.setInsertionPointToStart(func.addEntryBlock());
  return func;
}

/// Checks one operand's buffers against the shapes its recipe implies.
llvm::Error checkOperand(StringRef name, RecipeAttr recipe,
                         const ::nvfp4::QuantizedOutput &q,
                         std::optional<int64_t> groups) {
  auto want = ::nvfp4::matmulOperandShape(name, recipe, q.rows, q.cols, groups);
  if (!want)
    return want.takeError();
  if (q.data.size() != size_t(q.rows * (q.cols / 2)))
    return makeError(name + " data holds " + Twine(q.data.size()) +
                     " bytes, expected " + Twine(q.rows) + " x " +
                     Twine(q.cols / 2));
  ArrayRef<int64_t> scale = want->scaleShape, amax = want->amaxShape;
  if (ArrayRef<int64_t>(q.scaleShape) != scale ||
      q.scale.size() != size_t(scale[0] * scale[1]))
    return makeError(name + " scale has shape " + shapeStr(q.scaleShape) +
                     ", expected " + shapeStr(scale) + " for " +
                     recipeStr(recipe));
  int64_t amaxCount = 1;
  for (int64_t d : amax)
    amaxCount *= d;
  if (ArrayRef<int64_t>(q.amaxShape) != amax ||
      q.amax.size() != size_t(amaxCount))
    return makeError(name + " amax has shape " + shapeStr(q.amaxShape) +
                     ", expected " + shapeStr(amax) + " for " +
                     recipeStr(recipe));
  return llvm::Error::success();
}
} // namespace

namespace nvfp4 {

size_t elementSize(ElementType type) {
  return type == ElementType::F32 ? 4 : 2;
}

llvm::Expected<QuantizedOutput>
matmulOperandShape(StringRef name, RecipeAttr recipe, int64_t rows, int64_t k,
                   std::optional<int64_t> groups) {
  if (recipe.getSfLayout() != ScaleLayout::Swizzle128x4)
    return makeError("matmul operands must use sf_layout = 128x4 scales (the "
                     "block-scaled MMA layout); " +
                     name + " uses " + layoutName(recipe.getSfLayout()));
  if (k % kBlockSize != 0)
    return makeError("expected K to be a multiple of 16, got " + Twine(k));
  // The bound every quantization meets (describeOutputs, the verifiers'
  // kMaxBufferBytes): no byte or padded-scale count below overflows.
  if (rows < 1 || k < 1 || mulSize(mulSize(rows, k), 4) > kMaxBufferBytes)
    return makeError("expected " + name + " to be a non-empty matrix of at "
                     "most 2^60 elements, got " + Twine(rows) + " x " +
                     Twine(k));
  QuantizedOutput q;
  q.rows = rows;
  q.cols = k;
  q.scaleShape = scaleShape(ScaleLayout::Swizzle128x4, rows, k);
  if (groups)
    q.scaleShape[0] =
        groupedScaleRows(ScaleLayout::Swizzle128x4, rows, *groups);
  q.amaxShape = amaxShape(recipe, rows, k);
  if (groups && recipe.getOuter() == OuterGroup::Tensor)
    q.amaxShape = {*groups};
  return q;
}

std::pair<unsigned, unsigned> matmulAmaxRanks(RecipeAttr a, RecipeAttr b,
                                              bool grouped) {
  auto rank = [](RecipeAttr r) {
    return r.getOuter() == OuterGroup::Window ? 2u : 1u;
  };
  unsigned bRank = rank(b);
  if (grouped && b.getOuter() != OuterGroup::Tensor)
    ++bRank;
  return {rank(a), bRank};
}

OwningOpRef<ModuleOp> buildMatmulModule(MLIRContext &ctx, RecipeAttr a,
                                        RecipeAttr b, ElementType out,
                                        bool bias, bool grouped,
                                        unsigned aAmaxRank, unsigned bAmaxRank,
                                        float alpha) {
  OpBuilder builder(&ctx);
  Location loc = builder.getUnknownLoc();
  Type i8 = builder.getI8Type(), f32 = builder.getF32Type();
  Type f8 = Float8E4M3FNType::get(&ctx);
  unsigned bRank = grouped ? 3 : 2;
  SmallVector<Type> types;
  if (grouped)
    types.push_back(dynamicMemRef(1, builder.getI64Type()));
  types.append({dynamicMemRef(2, i8), dynamicMemRef(2, f8),
                dynamicMemRef(aAmaxRank, f32), dynamicMemRef(bRank, i8),
                dynamicMemRef(bRank, f8), dynamicMemRef(bAmaxRank, f32)});
  if (bias)
    types.push_back(dynamicMemRef(grouped ? 2 : 1, f32));
  types.push_back(dynamicMemRef(2, elementTypeOf(&ctx, out)));

  OwningOpRef<ModuleOp> module = ModuleOp::create(loc);
  func::FuncOp func = kernelFunc(builder, *module, types);
  ValueRange args = func.getArguments();
  if (grouped)
    args = args.drop_front();
  Value biasValue = bias ? args[6] : Value();
  Value output = args.back();
  FloatAttr alphaAttr = builder.getF32FloatAttr(alpha);
  if (grouped)
    GroupedMatmulOp::create(builder, loc, func.getArgument(0), args[0], args[1],
                            args[2], a, args[3], args[4], args[5], b, biasValue,
                            output, alphaAttr);
  else
    MatmulOp::create(builder, loc, args[0], args[1], args[2], a, args[3],
                     args[4], args[5], b, biasValue, output, alphaAttr);
  func::ReturnOp::create(builder, loc);
  return module;
}

OwningOpRef<ModuleOp> buildMatmulW4A16Module(MLIRContext &ctx,
                                             ElementType aType, RecipeAttr b,
                                             ElementType out, bool bias,
                                             unsigned bAmaxRank, float alpha) {
  OpBuilder builder(&ctx);
  Location loc = builder.getUnknownLoc();
  Type f32 = builder.getF32Type();
  SmallVector<Type> types{
      dynamicMemRef(2, elementTypeOf(&ctx, aType)),
      dynamicMemRef(2, builder.getI8Type()),
      dynamicMemRef(2, Float8E4M3FNType::get(&ctx)),
      dynamicMemRef(bAmaxRank, f32)};
  if (bias)
    types.push_back(dynamicMemRef(1, f32));
  types.push_back(dynamicMemRef(2, elementTypeOf(&ctx, out)));

  OwningOpRef<ModuleOp> module = ModuleOp::create(loc);
  ValueRange args = kernelFunc(builder, *module, types).getArguments();
  MatmulW4A16Op::create(builder, loc, args[0], args[1], args[2], args[3], b,
                        bias ? args[4] : Value(), args.back(),
                        builder.getF32FloatAttr(alpha));
  func::ReturnOp::create(builder, loc);
  return module;
}

llvm::Error checkMatmulW4A16A(ElementType aType, int64_t m, int64_t k) {
  if (aType == ElementType::F32)
    return makeError("expected a W4A16 A of bf16 or f16, got f32 (quantize "
                     "it for nvfp4.matmul, or cast it)");
  if (k % kBlockSize != 0)
    return makeError("expected K to be a multiple of 16, got " + Twine(k));
  if (m < 1 || k < 1 || mulSize(mulSize(m, k), 4) > kMaxBufferBytes)
    return makeError("expected A to be a non-empty matrix of at most 2^60 "
                     "elements, got " +
                     Twine(m) + " x " + Twine(k));
  return llvm::Error::success();
}

llvm::Error checkMatmulW4A16Operands(ElementType aType, int64_t m, int64_t k,
                                     RecipeAttr bRecipe,
                                     const QuantizedOutput &b,
                                     const MatmulOptions &options) {
  if (llvm::Error e = checkMatmulW4A16A(aType, m, k))
    return e;
  if (llvm::Error e = checkOperand("B", bRecipe, b, std::nullopt))
    return e;
  if (b.cols != k)
    return makeError("expected A and B to share K, got A " + Twine(m) + "x" +
                     Twine(k) + " and B " + Twine(b.rows) + "x" +
                     Twine(b.cols));
  if (options.bias && options.bias->size() != size_t(b.rows))
    return makeError("expected a bias of " + Twine(b.rows) + " values, got " +
                     Twine(options.bias->size()));
  return llvm::Error::success();
}

llvm::Error checkMatmulOperands(RecipeAttr aRecipe, const QuantizedOutput &a,
                                RecipeAttr bRecipe, ArrayRef<QuantizedOutput> b,
                                const MatmulOptions &options,
                                std::optional<ArrayRef<int64_t>> splits) {
  std::optional<int64_t> groups;
  if (splits)
    groups = int64_t(splits->size());
  if (llvm::Error e = checkOperand("A", aRecipe, a, groups))
    return e;
  if (b.empty())
    return makeError("expected at least one B operand");
  for (const QuantizedOutput &bg : b) {
    if (llvm::Error e = checkOperand("B", bRecipe, bg, std::nullopt))
      return e;
    if (bg.cols != a.cols)
      return makeError("expected A and B to share K, got A " + Twine(a.rows) +
                       "x" + Twine(a.cols) + " and B " + Twine(bg.rows) + "x" +
                       Twine(bg.cols));
    if (bg.rows != b.front().rows)
      return makeError("expected every group's B to have the same N, got " +
                       Twine(b.front().rows) + " and " + Twine(bg.rows));
  }
  int64_t n = b.front().rows;
  if (splits) {
    if (splits->size() != b.size())
      return makeError("expected one B per group, got " + Twine(b.size()) +
                       " B operands for " + Twine(splits->size()) + " groups");
    int64_t total = 0;
    for (auto [g, split] : llvm::enumerate(*splits)) {
      if (split < 0)
        return makeError("expected non-negative group sizes, got " +
                         Twine(split) + " for group " + Twine(g));
      total += split;
    }
    if (total != a.rows)
      return makeError("expected group sizes to add up to " + Twine(a.rows) +
                       " rows, got " + Twine(total));
  }
  if (options.bias) {
    size_t want = size_t(n) * (splits ? splits->size() : 1);
    std::string shape =
        splits ? std::to_string(splits->size()) + " x " + std::to_string(n)
               : std::to_string(n);
    if (options.bias->size() != want)
      return makeError("expected a bias of " + shape + " values, got " +
                       Twine(options.bias->size()));
  }
  return llvm::Error::success();
}

namespace {
llvm::Expected<std::vector<uint8_t>>
runMatmul(HostRunner &runner, RecipeAttr aRecipe, const QuantizedOutput &a,
          RecipeAttr bRecipe, ArrayRef<QuantizedOutput> b,
          const MatmulOptions &options,
          std::optional<ArrayRef<int64_t>> splits) {
  if (llvm::Error e =
          checkMatmulOperands(aRecipe, a, bRecipe, b, options, splits))
    return std::move(e);
  bool grouped = splits.has_value();
  bool bias = options.bias.has_value();
  // Named variables, not a structured binding: the kernel builder below
  // captures them in a lambda (C++17 cannot capture structured bindings).
  unsigned aRank, bRank;
  std::tie(aRank, bRank) = matmulAmaxRanks(aRecipe, bRecipe, grouped);
  uint32_t alphaBits;
  std::memcpy(&alphaBits, &options.alpha, sizeof(alphaBits));
  std::string key = "matmul " + recipeStr(aRecipe) + " " + recipeStr(bRecipe) +
                    " " + std::to_string(int(options.out)) + " " +
                    std::to_string(bias) + std::to_string(grouped) + " " +
                    std::to_string(alphaBits);
  auto engine = runner.getOrCompileKernel(key, [&] {
    return buildMatmulModule(runner.getContext(), aRecipe, bRecipe, options.out,
                             bias, grouped, aRank, bRank, options.alpha);
  });
  if (!engine)
    return engine.takeError();

  int64_t m = a.rows, k = a.cols, n = b.front().rows;
  int64_t groups = int64_t(b.size());
  // A grouped B is one G x N x K/2 tensor (and so on): concatenate.
  std::vector<uint8_t> bData, bScale;
  std::vector<float> bAmax;
  const QuantizedOutput &b0 = b.front();
  if (grouped) {
    for (const QuantizedOutput &bg : b) {
      llvm::append_range(bData, bg.data);
      llvm::append_range(bScale, bg.scale);
      llvm::append_range(bAmax, bg.amax);
    }
  }
  std::vector<uint8_t> output(size_t(m * n) * elementSize(options.out));

  PackedArgs call;
  if (grouped)
    call.add(splits->data(), {groups});
  call.add(a.data.data(), {m, k / 2});
  call.add(a.scale.data(), a.scaleShape);
  call.add(a.amax.data(), a.amaxShape);
  if (grouped) {
    call.add(bData.data(), {groups, n, k / 2});
    call.add(bScale.data(), {groups, b0.scaleShape[0], b0.scaleShape[1]});
    SmallVector<int64_t, 3> amaxShape{groups};
    if (bRecipe.getOuter() != OuterGroup::Tensor)
      llvm::append_range(amaxShape, b0.amaxShape);
    call.add(bAmax.data(), amaxShape);
  } else {
    call.add(b0.data.data(), {n, k / 2});
    call.add(b0.scale.data(), b0.scaleShape);
    call.add(b0.amax.data(), b0.amaxShape);
  }
  if (bias) {
    if (grouped)
      call.add(options.bias->data(), {groups, n});
    else
      call.add(options.bias->data(), {n});
  }
  call.add(output.data(), {m, n});
  if (llvm::Error err =
          (*engine)->invokePacked("_mlir_ciface_kernel", call.packed()))
    return std::move(err);
  return output;
}
} // namespace

llvm::Expected<std::vector<uint8_t>>
HostRunner::matmul(RecipeAttr aRecipe, const QuantizedOutput &a,
                   RecipeAttr bRecipe, const QuantizedOutput &b,
                   const MatmulOptions &options) {
  return runMatmul(*this, aRecipe, a, bRecipe, ArrayRef(b), options,
                   std::nullopt);
}

llvm::Expected<std::vector<uint8_t>>
HostRunner::matmulW4A16(ElementType aType, const void *a, int64_t m,
                        int64_t k, RecipeAttr bRecipe, const QuantizedOutput &b,
                        const MatmulOptions &options) {
  if (llvm::Error e =
          checkMatmulW4A16Operands(aType, m, k, bRecipe, b, options))
    return std::move(e);
  bool bias = options.bias.has_value();
  unsigned bRank = matmulAmaxRanks(bRecipe, bRecipe, false).second;
  uint32_t alphaBits;
  std::memcpy(&alphaBits, &options.alpha, sizeof(alphaBits));
  std::string key = "matmul_w4a16 " + std::to_string(int(aType)) + " " +
                    recipeStr(bRecipe) + " " +
                    std::to_string(int(options.out)) + " " +
                    std::to_string(bias) + " " + std::to_string(alphaBits);
  auto engine = getOrCompileKernel(key, [&] {
    return buildMatmulW4A16Module(getContext(), aType, bRecipe, options.out,
                                  bias, bRank, options.alpha);
  });
  if (!engine)
    return engine.takeError();
  int64_t n = b.rows;
  std::vector<uint8_t> output(size_t(m * n) * elementSize(options.out));
  PackedArgs call;
  call.add(a, {m, k});
  call.add(b.data.data(), {n, k / 2});
  call.add(b.scale.data(), b.scaleShape);
  call.add(b.amax.data(), b.amaxShape);
  if (bias)
    call.add(options.bias->data(), {n});
  call.add(output.data(), {m, n});
  if (llvm::Error err =
          (*engine)->invokePacked("_mlir_ciface_kernel", call.packed()))
    return std::move(err);
  return output;
}

llvm::Expected<std::vector<uint8_t>>
HostRunner::matmulGrouped(RecipeAttr aRecipe, const QuantizedOutput &a,
                          ArrayRef<int64_t> splits, RecipeAttr bRecipe,
                          ArrayRef<QuantizedOutput> b,
                          const MatmulOptions &options) {
  if (splits.empty())
    return makeError("expected at least one group");
  return runMatmul(*this, aRecipe, a, bRecipe, b, options, splits);
}

} // namespace nvfp4
