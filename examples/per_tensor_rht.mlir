// Per-tensor with a random Hadamard transform on the columnwise (wgrad)
// output only, as TransformerEngine does for activations and gradients. The
// rowwise output is plain per-tensor; the columnwise output quantizes
// RHT16(X^T) with its own amax. Scales go straight into the 128x4 layout
// the GEMM reads.
func.func @quantize_activation_rht(%x: memref<8192x4096xbf16>,
                                   %data: memref<8192x2048xi8>,
                                   %scale: memref<8192x256xf8E4M3FN>,
                                   %amax: memref<1xf32>,
                                   %data_t: memref<4096x4096xi8>,
                                   %scale_t: memref<4096x512xf8E4M3FN>,
                                   %amax_t: memref<1xf32>) {
  nvfp4.quantize %x : memref<8192x4096xbf16>
      recipe <per_tensor_rht, sf_layout = 128x4>
      rowwise(%data : memref<8192x2048xi8>, %scale : memref<8192x256xf8E4M3FN>,
              %amax : memref<1xf32>)
      columnwise(%data_t : memref<4096x4096xi8>,
                 %scale_t : memref<4096x512xf8E4M3FN>, %amax_t : memref<1xf32>)
  return
}
