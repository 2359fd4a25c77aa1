//===- Runner.cpp - The runner of a target name ---------------------------===//

#include "nvfp4/Runtime/Runner.h"
#include "Errors.h"
#include "nvfp4/Runtime/Device.h"
#include "nvfp4/Runtime/GPURunner.h"
#include "nvfp4/Runtime/HostRunner.h"

namespace nvfp4 {

Runner::~Runner() = default;

llvm::Expected<std::unique_ptr<Runner>>
Runner::create(llvm::StringRef target, llvm::StringRef toolkit) {
  if (target == "auto") {
    // No driver, no device or a device the compiler has no target for: the
    // host runs the recipe.
    std::string chip = "cpu";
    if (auto device = Device::shared()) {
      if (auto gpuTarget = (*device)->target())
        chip = *gpuTarget;
      else
        llvm::consumeError(gpuTarget.takeError());
    } else {
      llvm::consumeError(device.takeError());
    }
    return create(chip, toolkit);
  }
  if (target == "cpu")
    return HostRunner::create();
  if (target == "sm_90a" || target == "sm_100a")
    return GPURunner::create(target, toolkit);
  return detail::makeError("unknown target '" + target +
                           "' (expected cpu, sm_90a, sm_100a or auto)");
}

} // namespace nvfp4
