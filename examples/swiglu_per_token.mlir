// SwiGLU (SiLU(gate) * up) feeding the per-token NVFP4 quantize of the
// down projection's input, with vLLM's layout: gate and up halves side by
// side in one (M, 2N) matrix. nvfp4-fuse-producers folds the pair into
// nvfp4.gated_act_quantize: every kernel computes act(g) * u where it reads
// a value, and the (M, N) activation is never written.
func.func @swiglu_quantize_per_token(%gate_up: memref<?x28672xbf16>,
                                     %data: memref<?x7168xi8>,
                                     %scale: memref<?x896xf8E4M3FN>,
                                     %amax: memref<?xf32>) {
  %c0 = arith.constant 0 : index
  %m = memref.dim %gate_up, %c0 : memref<?x28672xbf16>
  %act = memref.alloc(%m) : memref<?x14336xbf16>
  nvfp4.gated_act silu %gate_up : memref<?x28672xbf16>
      to %act : memref<?x14336xbf16>
  nvfp4.quantize %act : memref<?x14336xbf16> recipe <per_token>
      rowwise(%data : memref<?x7168xi8>, %scale : memref<?x896xf8E4M3FN>,
              %amax : memref<?xf32>)
  memref.dealloc %act : memref<?x14336xbf16>
  return
}
