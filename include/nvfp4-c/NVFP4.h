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

/*===--------------------------------------------------------------------===*\
|* Additions (same ABI version: new functions only). Functions returning    *|
|* int return 0 on success and nonzero with a message in `error`.           *|
\*===--------------------------------------------------------------------===*/

typedef struct nvfp4_kernel nvfp4_kernel;
/* Operations of nvfp4_compile. */
enum { NVFP4_QUANTIZE = 0, NVFP4_DEQUANTIZE = 1 };

/* The full `#nvfp4.recipe<...>` text of `recipe` (NUL-terminated). */
int nvfp4_recipe_canonical(const char *recipe, char *out, size_t out_size,
                           char *error, size_t error_size);

/* The outputs of quantizing a rows x cols matrix: `present[d]` per
 * direction d, and for buffer k (NVFP4_DATA, _SCALE, _AMAX) of direction d
 * its rank `ndims[d*3+k]` and shape `shapes[(d*3+k)*2 ...]`; the recipe's
 * outer group (0 tensor, 1 row, 2 window) and E4M3 bound. Shape errors
 * are reported. */
int nvfp4_quantize_shapes(const char *recipe, int64_t rows, int64_t cols,
                          int present[2], int64_t shapes[12], int ndims[6],
                          int *outer, int *e4m3_max, char *error,
                          size_t error_size);

/* The scale shape (`shape[0..1]`) and amax shape (`shape[2..]`, rank
 * `*amax_ndim`) a dequantization of a quantized rows x cols matrix reads. */
int nvfp4_dequantize_shapes(const char *recipe, int64_t rows, int64_t cols,
                            int64_t shape[4], int *amax_ndim, char *error,
                            size_t error_size);

/* Dequantizes the quantized rows x cols matrix (data rows x cols/2 bytes,
 * scales and amaxes shaped as the recipe says) into `output` (rows x cols
 * floats), on the host. Unchecked: reads as many bytes as the recipe
 * implies (kept for ABI compatibility; new code calls
 * nvfp4_dequantize_host_sized). */
int nvfp4_dequantize_host(const char *recipe, const void *data,
                          const void *scale, const float *amax, int64_t rows,
                          int64_t cols, float *output, char *error,
                          size_t error_size);

/* nvfp4_dequantize_host with each buffer's size: `data_size` and
 * `scale_size` in bytes, `amax_count` and `output_count` in float32 values.
 * Each must equal what the recipe reads (or writes) for a rows x cols
 * matrix, as nvfp4_dequantize_shapes reports it; a mismatch is an error
 * naming the buffer, the size given and the size needed, before anything
 * is read. */
int nvfp4_dequantize_host_sized(const char *recipe, const void *data,
                                size_t data_size, const void *scale,
                                size_t scale_size, const float *amax,
                                size_t amax_count, int64_t rows, int64_t cols,
                                float *output, size_t output_count,
                                char *error, size_t error_size);

/* D = A * B^T (nvfp4.matmul) of two rowwise outputs in host memory: A is
 * m x k quantized with `a_recipe`, B is n x k with `b_recipe` (both with
 * sf_layout = 128x4; data, scale and amax as nvfp4_quantize returns them).
 * `bias` is n floats or NULL; `output` receives m x n values of `out_dtype`
 * (NVFP4_F32, _F16 or _BF16). Runs on `target`: "cpu", or a GPU
 * architecture ("sm_90a"), copying to and from the device. */
int nvfp4_matmul_host(const char *target, const char *a_recipe,
                      const void *a_data, const void *a_scale,
                      const float *a_amax, int64_t m, const char *b_recipe,
                      const void *b_data, const void *b_scale,
                      const float *b_amax, int64_t n, int64_t k,
                      const float *bias, float alpha, int out_dtype,
                      void *output, char *error, size_t error_size);

/* nvfp4_matmul_host with each buffer's size: data and scale in bytes, amax
 * and bias in float32 values, `output_size` in bytes (m x n values of
 * `out_dtype`). Each must equal what the recipes read for an m x k and an
 * n x k operand (`bias_count` is ignored when `bias` is NULL); a mismatch
 * is an error naming the operand, the buffer, the size given and the size
 * needed, before anything is read. nvfp4_matmul_host is the unchecked form,
 * kept for ABI compatibility. */
int nvfp4_matmul_host_sized(
    const char *target, const char *a_recipe, const void *a_data,
    size_t a_data_size, const void *a_scale, size_t a_scale_size,
    const float *a_amax, size_t a_amax_count, int64_t m, const char *b_recipe,
    const void *b_data, size_t b_data_size, const void *b_scale,
    size_t b_scale_size, const float *b_amax, size_t b_amax_count, int64_t n,
    int64_t k, const float *bias, size_t bias_count, float alpha,
    int out_dtype, void *output, size_t output_size, char *error,
    size_t error_size);

/* nvfp4_quantize with the size of `input` in bytes, which must equal
 * rows x cols values of `dtype` (checked before anything is read;
 * nvfp4_quantize is the unchecked form, kept for ABI compatibility). */
nvfp4_result *nvfp4_quantize_sized(nvfp4_runner *runner, const char *recipe,
                                   int dtype, const void *input,
                                   size_t input_size, int64_t rows,
                                   int64_t cols, char *error,
                                   size_t error_size);

/* nvfp4_quantize_sized for a recipe with `amax = given` (or
 * `given_encode_scale`): `amax` holds `amax_count` float32 outer amaxes
 * (encode scales) for the rowwise output and `amax_t` `amax_t_count` for
 * the columnwise one, one per outer group in the order of the result's
 * amax buffer (NULL and 0 for a direction the recipe does not produce).
 * Counts are checked before anything is read; the result's amax buffers
 * hold the given values. A recipe that computes its amax takes none. */
nvfp4_result *nvfp4_quantize_given(nvfp4_runner *runner, const char *recipe,
                                   int dtype, const void *input,
                                   size_t input_size, int64_t rows,
                                   int64_t cols, const float *amax,
                                   size_t amax_count, const float *amax_t,
                                   size_t amax_t_count, char *error,
                                   size_t error_size);

/* The outer amaxes of quantizing the rows x cols matrix at `input` with
 * `recipe` (nvfp4.amax), on the host: `amax` receives `amax_count` float32
 * values for the rowwise output and `amax_t` `amax_t_count` for the
 * columnwise one (NULL and 0 for a direction the recipe lacks), in the
 * order of a quantization's amax buffers; sizes are checked before the
 * input is read. Reduce them, then quantize with `amax = given`. */
int nvfp4_amax_host(nvfp4_runner *runner, const char *recipe, int dtype,
                    const void *input, size_t input_size, int64_t rows,
                    int64_t cols, float *amax, size_t amax_count,
                    float *amax_t, size_t amax_t_count, char *error,
                    size_t error_size);

/* The compiler target of CUDA device `device` ("sm_90a", "sm_100a"). */
int nvfp4_device_target(int device, char *out, size_t out_size, char *error,
                        size_t error_size);

/* Quantizes the row-major rows x cols matrix at device address `input`
 * on CUDA device `device`, enqueued on `stream` (a CUstream; NULL is the
 * legacy default stream; not synchronized). `buffers` holds the device
 * addresses of data, scale and amax for the rowwise then the columnwise
 * output (0 for a direction the recipe does not produce). With
 * `amax = given` (or `given_encode_scale`) in the recipe the amax buffers
 * are inputs the kernels read (and leave unchanged); the input is then
 * read once. */
int nvfp4_quantize_device(int device, const char *recipe, int dtype,
                          uint64_t input, int64_t rows, int64_t cols,
                          const uint64_t buffers[6], void *stream,
                          char *error, size_t error_size);

/* nvfp4_amax_host on the device: `amax[0]` and `amax[1]` are the device
 * addresses of the rowwise and columnwise amax outputs (0 for a direction
 * the recipe lacks), shaped as nvfp4_quantize_shapes says; enqueued on
 * `stream`, not synchronized. */
int nvfp4_amax_device(int device, const char *recipe, int dtype,
                      uint64_t input, int64_t rows, int64_t cols,
                      const uint64_t amax[2], void *stream, char *error,
                      size_t error_size);

/* Dequantizes on the device: data, scale, amax (device addresses) of a
 * quantized rows x cols matrix into the f32 `output`, on `stream`. */
int nvfp4_dequantize_device(int device, const char *recipe, uint64_t data,
                            uint64_t scale, uint64_t amax, int64_t rows,
                            int64_t cols, uint64_t output, void *stream,
                            char *error, size_t error_size);

/* Compiles `recipe` for `target` ("cpu", "sm_90a", "sm_100a") and `op`
 * (NVFP4_QUANTIZE for inputs of `dtype`, or NVFP4_DEQUANTIZE), through the
 * process-wide caches (memory, and disk for GPU targets). */
nvfp4_kernel *nvfp4_compile(const char *target, const char *recipe, int dtype,
                            int op, char *error, size_t error_size);
/* Number of GPU kernels (0 for cpu) and the name of kernel `i`. */
int nvfp4_kernel_count(const nvfp4_kernel *kernel);
const char *nvfp4_kernel_name(const nvfp4_kernel *kernel, int i);
/* The GPU image (cubin) and its size; NULL for cpu. */
const void *nvfp4_kernel_image(const nvfp4_kernel *kernel, size_t *size);
/* Where the compilation came from: 0 compiled, 1 memory cache, 2 disk. */
int nvfp4_kernel_source(const nvfp4_kernel *kernel);
void nvfp4_kernel_destroy(nvfp4_kernel *kernel);

/*===--------------------------------------------------------------------===*\
|* Device GEMMs and grouped forms (same ABI version: new functions only).   *|
|* Every device function enqueues on `stream` (a CUstream; NULL is the      *|
|* legacy default stream) and neither allocates, copies nor synchronizes,   *|
|* so a call may be captured in a CUDA graph. Recipes are parsed once per   *|
|* distinct string and process; kernels are compiled on first use.          *|
|* Errors (recipe, shape, alignment) are reported before anything is        *|
|* enqueued.                                                                *|
\*===--------------------------------------------------------------------===*/

/* nvfp4_quantize_shapes for the grouped form with `groups` groups. */
int nvfp4_grouped_quantize_shapes(const char *recipe, int64_t rows,
                                  int64_t cols, int64_t groups, int present[2],
                                  int64_t shapes[12], int ndims[6], int *outer,
                                  int *e4m3_max, char *error,
                                  size_t error_size);

/* Grouped (MoE) quantization on the device: `splits` is the device address
 * of `groups` int64 row counts (read by the kernels only); buffers as for
 * nvfp4_quantize_device, shaped as nvfp4_grouped_quantize_shapes says. */
int nvfp4_grouped_quantize_device(int device, const char *recipe, int dtype,
                                  uint64_t input, int64_t rows, int64_t cols,
                                  uint64_t splits, int64_t groups,
                                  const uint64_t buffers[6], void *stream,
                                  char *error, size_t error_size);

/* D = A * B^T on the device. `a` and `b` are the device addresses of data,
 * scale and amax of an m x k and an n x k rowwise quantization with
 * `a_recipe` / `b_recipe` (sf_layout = 128x4); `bias` is n device floats
 * or 0; `output` receives m x n values of `out_dtype` (NVFP4_F32, _F16,
 * _BF16). */
int nvfp4_matmul_device(int device, const char *a_recipe, const uint64_t a[3],
                        int64_t m, const char *b_recipe, const uint64_t b[3],
                        int64_t n, int64_t k, uint64_t bias, float alpha,
                        int out_dtype, uint64_t output, void *stream,
                        char *error, size_t error_size);

/* The grouped GEMM on the device: `a` is a grouped quantization of m rows
 * into `groups` groups whose int64 sizes are at device address `splits`
 * (empty groups legal); `b` holds `groups` stacked n x k operands (data
 * G x n x k/2, scales G x Np x Cp, amaxes G, G x n or G x n x k/64 by
 * recipe); `bias` is G x n device floats or 0; `output` is m x n. */
int nvfp4_grouped_matmul_device(int device, const char *a_recipe,
                                const uint64_t a[3], int64_t m,
                                uint64_t splits, int64_t groups,
                                const char *b_recipe, const uint64_t b[3],
                                int64_t n, int64_t k, uint64_t bias,
                                float alpha, int out_dtype, uint64_t output,
                                void *stream, char *error, size_t error_size);

/*===--------------------------------------------------------------------===*\
|* W4A16 GEMMs (same ABI version: new functions only).                      *|
\*===--------------------------------------------------------------------===*/

/* D = A * B^T (nvfp4.matmul_w4a16) in host memory: A is the row-major
 * m x k matrix of `a_dtype` (NVFP4_BF16 or NVFP4_F16, used as given, not
 * quantized; `a_size` bytes), B an n x k rowwise quantization with
 * `b_recipe` (sf_layout = 128x4, any outer group; sizes as for
 * nvfp4_matmul_host_sized). Every size is checked before anything is read.
 * Runs on `target` ("cpu" or a GPU architecture). */
int nvfp4_matmul_w4a16_host_sized(
    const char *target, int a_dtype, const void *a, size_t a_size, int64_t m,
    const char *b_recipe, const void *b_data, size_t b_data_size,
    const void *b_scale, size_t b_scale_size, const float *b_amax,
    size_t b_amax_count, int64_t n, int64_t k, const float *bias,
    size_t bias_count, float alpha, int out_dtype, void *output,
    size_t output_size, char *error, size_t error_size);

/* The W4A16 GEMM on the device: `a` is the device address of the row-major
 * m x k matrix of `a_dtype` (NVFP4_BF16 or NVFP4_F16, 16-byte aligned), `b`
 * the device addresses of data, scale and amax of an n x k quantization
 * with `b_recipe`; bias, output and stream as for nvfp4_matmul_device. */
int nvfp4_matmul_w4a16_device(int device, int a_dtype, uint64_t a, int64_t m,
                              const char *b_recipe, const uint64_t b[3],
                              int64_t n, int64_t k, uint64_t bias, float alpha,
                              int out_dtype, uint64_t output, void *stream,
                              char *error, size_t error_size);

/*===--------------------------------------------------------------------===*\
|* Producers fused into a quantize (SPEC.md section 15; same ABI version:  *|
|* new functions only). RMSNorm normalizes each row of an M x K `input`    *|
|* (after adding `residual`, when given) and scales it by `weight` (K      *|
|* values); a gated activation maps an M x 2N `input` (gate then up        *|
|* halves) to M x N. Values are of `dtype` throughout; `rstd` holds M       *|
|* float32 values (1/rms per row). A fused call quantizes the produced     *|
|* matrix (M x K or M x N) with `recipe` exactly as nvfp4_quantize would   *|
|* quantize it, so its shapes are nvfp4_quantize_shapes of that matrix.    *|
\*===--------------------------------------------------------------------===*/

/* Activations of a gated producer. */
enum { NVFP4_SILU = 0, NVFP4_GELU_TANH = 1 };

/* RMSNorm fused into the quantize of its result, on the host: `input` is
 * rows x cols values (`input_size` bytes), `weight` cols values
 * (`weight_size` bytes), `residual` rows x cols values or NULL
 * (`residual_size` bytes; read, then overwritten in place with
 * h = input + residual as stored). `rstd` receives `rstd_count` (= rows)
 * float32 values; `y` (NULL: not wanted) receives the rows x cols
 * normalized values (`y_size` bytes). `amax`/`amax_t` are as for
 * nvfp4_quantize_given (NULL and 0 unless the recipe's amax is given).
 * Every size is checked before anything is read; errors (eps finite and
 * > 0, shapes, the recipe's multiples of 16) leave every buffer as it was.
 * Returns the quantization of the normalized matrix. */
nvfp4_result *nvfp4_rms_norm_quantize_host_sized(
    nvfp4_runner *runner, const char *recipe, int dtype, const void *input,
    size_t input_size, const void *weight, size_t weight_size, void *residual,
    size_t residual_size, float eps, int64_t rows, int64_t cols, float *rstd,
    size_t rstd_count, void *y, size_t y_size, const float *amax,
    size_t amax_count, const float *amax_t, size_t amax_t_count, char *error,
    size_t error_size);

/* A gated activation (`act`: NVFP4_SILU or NVFP4_GELU_TANH) fused into the
 * quantize of its result, on the host: `input` is rows x cols values with
 * cols = 2N; `y` (NULL: not wanted) receives the rows x N result (`y_size`
 * bytes). Sizes, amaxes and errors as for nvfp4_rms_norm_quantize_host_sized. */
nvfp4_result *nvfp4_gated_act_quantize_host_sized(
    nvfp4_runner *runner, const char *recipe, int dtype, int act,
    const void *input, size_t input_size, int64_t rows, int64_t cols, void *y,
    size_t y_size, const float *amax, size_t amax_count, const float *amax_t,
    size_t amax_t_count, char *error, size_t error_size);

/* RMSNorm alone on the host (any number of columns): buffers as for
 * nvfp4_rms_norm_quantize_host_sized, `y` required. */
int nvfp4_rms_norm_host_sized(nvfp4_runner *runner, int dtype,
                              const void *input, size_t input_size,
                              const void *weight, size_t weight_size,
                              void *residual, size_t residual_size, float eps,
                              int64_t rows, int64_t cols, void *y,
                              size_t y_size, float *rstd, size_t rstd_count,
                              char *error, size_t error_size);

/* A gated activation alone on the host: `y` (rows x cols/2 values,
 * `y_size` bytes) required. */
int nvfp4_gated_act_host_sized(nvfp4_runner *runner, int dtype, int act,
                               const void *input, size_t input_size,
                               int64_t rows, int64_t cols, void *y,
                               size_t y_size, char *error, size_t error_size);

/* The device forms, enqueued on `stream` like nvfp4_quantize_device (no
 * allocation, copy or synchronization): device addresses of the operands
 * (16-element aligned; rstd 4-byte aligned), `residual` 0 for none
 * (overwritten in place with h), `y` 0 for none in the fused forms;
 * `buffers` as for nvfp4_quantize_device, shaped for the produced matrix.
 * RMSNorm rows hold at most 2^22 values on the GPU. */
int nvfp4_rms_norm_quantize_device(int device, const char *recipe, int dtype,
                                   uint64_t input, uint64_t weight,
                                   uint64_t residual, float eps, int64_t rows,
                                   int64_t cols, uint64_t rstd, uint64_t y,
                                   const uint64_t buffers[6], void *stream,
                                   char *error, size_t error_size);
int nvfp4_gated_act_quantize_device(int device, const char *recipe, int dtype,
                                    int act, uint64_t input, int64_t rows,
                                    int64_t cols, uint64_t y,
                                    const uint64_t buffers[6], void *stream,
                                    char *error, size_t error_size);
int nvfp4_rms_norm_device(int device, int dtype, uint64_t input,
                          uint64_t weight, uint64_t residual, float eps,
                          int64_t rows, int64_t cols, uint64_t y,
                          uint64_t rstd, void *stream, char *error,
                          size_t error_size);
int nvfp4_gated_act_device(int device, int dtype, int act, uint64_t input,
                           int64_t rows, int64_t cols, uint64_t y,
                           void *stream, char *error, size_t error_size);

#ifdef __cplusplus
}
#endif

#endif /* NVFP4_C_NVFP4_H */
