// NVFP4 GEMM D = A * B^T: per-token activations (one amax per row of A)
// times per-tensor weights. Block scales are applied per 16-element K block
// inside the accumulation; the outer scales amax_A[i] * amax_B / (36 E^2),
// the user alpha and the bias are applied in the epilogue.
func.func @matmul_per_token(%a: memref<?x2048xi8>,
                            %a_scale: memref<?x256xf8E4M3FN>,
                            %a_amax: memref<?xf32>,
                            %b: memref<4096x2048xi8>,
                            %b_scale: memref<4096x256xf8E4M3FN>,
                            %b_amax: memref<1xf32>,
                            %bias: memref<4096xf32>,
                            %d: memref<?x4096xbf16>) {
  nvfp4.matmul
      a(%a : memref<?x2048xi8>, %a_scale : memref<?x256xf8E4M3FN>,
        %a_amax : memref<?xf32>) recipe <per_token, sf_layout = 128x4>
      b(%b : memref<4096x2048xi8>, %b_scale : memref<4096x256xf8E4M3FN>,
        %b_amax : memref<1xf32>) recipe <per_tensor, sf_layout = 128x4>
      bias(%bias : memref<4096xf32>)
      outs(%d : memref<?x4096xbf16>) {alpha = 1.0 : f32}
  return
}
