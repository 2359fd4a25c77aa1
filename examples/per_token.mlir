// Per-token (row-scaled) NVFP4: every row (token) has its own FP32 outer
// amax, so one outlier token no longer crushes the resolution of the others.
// Reciprocal numerics, as TransformerEngine's row-scaled recipe and
// FlashInfer's exact path compute them. M is dynamic: one kernel serves any
// batch.
func.func @quantize_per_token(%x: memref<?x4096xbf16>,
                              %data: memref<?x2048xi8>,
                              %scale: memref<?x256xf8E4M3FN>,
                              %amax: memref<?xf32>) {
  nvfp4.quantize %x : memref<?x4096xbf16> recipe <per_token>
      rowwise(%data : memref<?x2048xi8>, %scale : memref<?x256xf8E4M3FN>,
              %amax : memref<?xf32>)
  return
}
