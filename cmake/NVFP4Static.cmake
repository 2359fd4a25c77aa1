# NVFP4_STATIC: link tools fully statically so they can be carried to a
# machine without LLVM/MLIR (the GPU machine). Debian's exported static
# MLIR targets still point at the shared libraries in two ways, fixed here:
#  * they depend on the imported `LLVM` target (libLLVM.so): point it at a
#    linker script that groups every libLLVM*.a instead;
#  * MLIRExecutionEngine and MLIRMlirOptMain list `MLIR` (libMLIR.so): drop
#    it, the static MLIR*.a archives they also list provide the symbols.
# libstdc++/libgcc and zlib are linked statically; glibc and libzstd.so.1
# stay dynamic (both present on the GPU machine).

file(GLOB _nvfp4_llvm_archives "${LLVM_LIBRARY_DIR}/libLLVM*.a")
if(NOT _nvfp4_llvm_archives)
  message(FATAL_ERROR "NVFP4_STATIC needs the static LLVM archives "
                      "(libLLVM*.a from llvm-22-dev) in ${LLVM_LIBRARY_DIR}")
endif()
list(JOIN _nvfp4_llvm_archives " " _nvfp4_group)
set(_nvfp4_script "${CMAKE_BINARY_DIR}/libLLVM-static.ld")
file(WRITE "${_nvfp4_script}" "GROUP(${_nvfp4_group})\n")

foreach(_config "" _RELWITHDEBINFO _RELEASE _DEBUG _NOCONFIG)
  set_property(TARGET LLVM PROPERTY IMPORTED_LOCATION${_config} "${_nvfp4_script}")
endforeach()
set_property(TARGET LLVM PROPERTY INTERFACE_LINK_LIBRARIES "")

foreach(_target MLIRExecutionEngine MLIRMlirOptMain MLIROptLib)
  if(TARGET ${_target})
    get_target_property(_libs ${_target} INTERFACE_LINK_LIBRARIES)
    if(_libs)
      list(REMOVE_ITEM _libs MLIR)
      set_property(TARGET ${_target} PROPERTY INTERFACE_LINK_LIBRARIES "${_libs}")
    endif()
  endif()
endforeach()

# LLVMSupport's link interface names the shared libz3 (only LLVM's optional
# Z3 solver uses it; nothing of ours pulls that object in) and shared zlib:
# replace both so the binaries need neither on the GPU machine.
find_library(NVFP4_LIBZ_STATIC NAMES libz.a REQUIRED)
if(TARGET LLVMSupport)
  get_target_property(_libs LLVMSupport INTERFACE_LINK_LIBRARIES)
  list(FILTER _libs EXCLUDE REGEX "libz3|ZLIB::ZLIB")
  list(APPEND _libs ${NVFP4_LIBZ_STATIC})
  set_property(TARGET LLVMSupport PROPERTY INTERFACE_LINK_LIBRARIES "${_libs}")
endif()
find_library(NVFP4_LIBZSTD NAMES libzstd.so.1 zstd REQUIRED)
link_libraries(${NVFP4_LIBZ_STATIC} ${NVFP4_LIBZSTD})
add_link_options(-static-libstdc++ -static-libgcc -fuse-ld=lld)
set(MLIR_LINK_MLIR_DYLIB OFF)
set(LLVM_LINK_LLVM_DYLIB OFF)
