/*===-- nvfp4-c/NVFP4.h - C ABI of the nvfp4 runtime --------------*- C -*-===*\
|*                                                                            *|
|* A small, stable C ABI over the host runner, so languages without a C++    *|
|* toolchain of the same ABI (Python through ctypes) can quantize tensors.   *|
|* Every function that can fail writes a one-line message into `error`       *|
|* (NUL-terminated, truncated to `error_size`) and returns NULL or nonzero.  *|
|*                                                                            *|
\*===----------------------------------------------------------------------===*/

#ifndef NVFP4_C_NVFP4_H
#define NVFP4_C_NVFP4_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef struct nvfp4_runner nvfp4_runner;
typedef struct nvfp4_result nvfp4_result;

/* Storage dtypes of the input. */
enum { NVFP4_F32 = 0, NVFP4_F16 = 1, NVFP4_BF16 = 2 };
/* Directions and buffers of a result. */
enum { NVFP4_ROWWISE = 0, NVFP4_COLUMNWISE = 1 };
enum { NVFP4_DATA = 0, NVFP4_SCALE = 1, NVFP4_AMAX = 2 };

/* The ABI version; bumped on any incompatible change. */
int nvfp4_abi_version(void);

/* A host (CPU) runner; NULL on failure. */
nvfp4_runner *nvfp4_host_runner_create(char *error, size_t error_size);
void nvfp4_runner_destroy(nvfp4_runner *runner);

/* Quantizes the row-major rows x cols matrix at `input` with `recipe`
 * (a preset name, the keys of #nvfp4.recipe<...>, or the attribute).
 * Returns NULL and a message on bad recipes and shapes. */
nvfp4_result *nvfp4_quantize(nvfp4_runner *runner, const char *recipe,
                             int dtype, const void *input, int64_t rows,
                             int64_t cols, char *error, size_t error_size);

/* The recipe's outer group (0 tensor, 1 row, 2 window) and E4M3 bound. */
void nvfp4_result_recipe(const nvfp4_result *result, int *outer,
                         int *e4m3_max);

/* Whether the result has `direction`. */
int nvfp4_result_has(const nvfp4_result *result, int direction);
/* Buffer `kind` of `direction`: its bytes, and its shape (`*ndim` <= 2). */
const void *nvfp4_result_buffer(const nvfp4_result *result, int direction,
                                int kind, int64_t shape[2], int *ndim);
void nvfp4_result_destroy(nvfp4_result *result);

#ifdef __cplusplus
}
#endif

#endif /* NVFP4_C_NVFP4_H */
