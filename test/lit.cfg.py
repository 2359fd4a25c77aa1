# -*- Python -*-
# lit configuration for the nvfp4 test suite.

import os
import sys

import lit.formats
from lit.llvm import llvm_config
from lit.llvm.subst import ToolSubst

config.name = "NVFP4"
# The internal shell: portable, and what lit will require from LLVM 23 on.
config.test_format = lit.formats.ShTest(execute_external=False)
config.suffixes = [".mlir", ".test"]
config.excludes = ["CMakeLists.txt", "README.md", "lit.cfg.py", "lit.site.cfg.py", "Inputs",
                   "extract-ptx.py"]
config.test_source_root = os.path.dirname(__file__)
config.test_exec_root = os.path.join(config.nvfp4_obj_root, "test")

config.substitutions.append(("%PATH%", config.environment["PATH"]))
config.substitutions.append(("%python", sys.executable))
config.substitutions.append(("%nvfp4_src_root", config.nvfp4_src_root))
config.substitutions.append(("%nvfp4_obj_root", config.nvfp4_obj_root))

# Strict FileCheck everywhere: variables are scoped to CHECK-LABEL blocks,
# and a prefix nobody checks is an error (a typo would hide a test).
config.environment["FILECHECK_OPTS"] = (
    "-enable-var-scope --allow-unused-prefixes=false"
)

llvm_config.with_system_environment(["HOME", "INCLUDE", "LIB", "TMP", "TEMP"])
llvm_config.use_default_substitutions()

tool_dirs = [config.nvfp4_tools_dir, config.llvm_tools_dir]
tools = [ToolSubst("nvfp4-opt", unresolved="fatal"),
         ToolSubst("nvfp4-quantize", unresolved="fatal"),
         ToolSubst("nvfp4-matmul", unresolved="fatal"),
         ToolSubst("nvfp4-bench", unresolved="fatal")]
llvm_config.add_tool_substitutions(tools, tool_dirs)

# Tier gating (DESIGN.md section 6): tests that need ptxas say REQUIRES and
# report UNSUPPORTED where it is missing, never PASS. (GPU runs are the unit
# tests' and scripts/device-check.sh's, which skip without a device.)
if config.ptxas and os.access(config.ptxas, os.X_OK):
    config.available_features.add("ptxas")
    config.substitutions.append(("%ptxas", config.ptxas))

# The CUDA toolkit that holds ptxas, for gpu-module-to-binary's `toolkit=`.
if "ptxas" in config.available_features:
    config.substitutions.append(
        ("%cuda_toolkit", os.path.dirname(os.path.dirname(config.ptxas))))
