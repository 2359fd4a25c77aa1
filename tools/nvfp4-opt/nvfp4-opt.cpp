//===- nvfp4-opt.cpp - mlir-opt for the nvfp4 dialect ---------------------===//
//
// Parses, verifies, transforms and prints nvfp4 IR; runs any registered
// nvfp4 or upstream pass or pipeline. All registration lives in InitAll so
// that this tool, the runtime and the Python package see the same world.
//
//===----------------------------------------------------------------------===//

#include "nvfp4/InitAll.h"

#include "mlir/IR/DialectRegistry.h"
#include "mlir/Tools/mlir-opt/MlirOptMain.h"

int main(int argc, char **argv) {
  mlir::DialectRegistry registry;
  mlir::nvfp4::registerAllDialects(registry);
  mlir::nvfp4::registerAllExtensions(registry);
  mlir::nvfp4::registerAllPasses();
  return mlir::asMainReturnCode(mlir::MlirOptMain(
      argc, argv, "nvfp4 modular optimizer driver\n", registry));
}
