//===- JitFunction.h - One builder-made function, JIT-compiled --*- C++ -*-===//
//
// The numerics tests build `func @f(args) -> results` with a callback,
// lower it through the CPU pipeline and call it through the packed
// interface, so each builder function is checked on its own.
//
//===----------------------------------------------------------------------===//

#ifndef NVFP4_UNITTESTS_NUMERICS_JITFUNCTION_H
#define NVFP4_UNITTESTS_NUMERICS_JITFUNCTION_H

#include "nvfp4/Dialect/NVFP4/IR/NVFP4Attrs.h"
#include "nvfp4/InitAll.h"
#include "nvfp4/Pipelines/Pipelines.h"

#include "mlir/AsmParser/AsmParser.h"
#include "llvm/Support/TargetSelect.h"

#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/ExecutionEngine/ExecutionEngine.h"
#include "mlir/IR/BuiltinOps.h"
#include "mlir/IR/MLIRContext.h"
#include "mlir/Pass/PassManager.h"
#include "gtest/gtest.h"

#include <functional>
#include <memory>

namespace nvfp4 {
namespace testing {

class JitFunction {
public:
  using Body = std::function<llvm::SmallVector<mlir::Value>(
      mlir::OpBuilder &, mlir::Location, llvm::ArrayRef<mlir::Value>)>;

  JitFunction(mlir::MLIRContext &ctx, llvm::ArrayRef<mlir::Type> args,
              llvm::ArrayRef<mlir::Type> results, const Body &body) {
    mlir::OpBuilder b(&ctx);
    mlir::Location loc = b.getUnknownLoc();
    mlir::OwningOpRef<mlir::ModuleOp> module = mlir::ModuleOp::create(loc);
    b.setInsertionPointToEnd(module->getBody());
    auto func = mlir::func::FuncOp::create(b, loc, "f",
                                           b.getFunctionType(args, results));
    b.setInsertionPointToStart(func.addEntryBlock());
    llvm::SmallVector<mlir::Value> values(func.getArguments());
    mlir::func::ReturnOp::create(b, loc, body(b, loc, values));
    mlir::PassManager pm(&ctx);
    mlir::nvfp4::buildCPUPipeline(pm);
    if (mlir::failed(pm.run(*module))) {
      ADD_FAILURE() << "lowering failed";
      return;
    }
    auto created = mlir::ExecutionEngine::create(*module);
    if (!created) {
      ADD_FAILURE() << llvm::toString(created.takeError());
      return;
    }
    engine = std::move(*created);
  }

  /// Calls f with one pointer per argument, then one pointer to the
  /// results: several results come back as one struct (laid out like an
  /// array when they share a type).
  void call(llvm::SmallVector<void *> pointers) {
    ASSERT_TRUE(engine);
    llvm::Error err = engine->invokePacked("f", pointers);
    ASSERT_FALSE(bool(err)) << llvm::toString(std::move(err));
  }

private:
  std::unique_ptr<mlir::ExecutionEngine> engine;
};

/// A fixture for JIT-compiled builder functions: every dialect loaded, the
/// host target initialised, recipes parsed from their text.
class JitTest : public ::testing::Test {
protected:
  static void SetUpTestSuite() {
    llvm::InitializeNativeTarget();
    llvm::InitializeNativeTargetAsmPrinter();
  }
  JitTest() { mlir::nvfp4::loadAllDialects(ctx); }

  mlir::nvfp4::RecipeAttr recipe(llvm::StringRef text) {
    auto r = llvm::dyn_cast_or_null<mlir::nvfp4::RecipeAttr>(
        mlir::parseAttribute(("#nvfp4.recipe<" + text + ">").str(), &ctx));
    EXPECT_TRUE(r) << text.str();
    return r;
  }

  mlir::MLIRContext ctx;
};

} // namespace testing
} // namespace nvfp4

#endif // NVFP4_UNITTESTS_NUMERICS_JITFUNCTION_H
