// Mixture of experts: tokens routed to 8 experts arrive as one matrix whose
// rows are split by expert (zero-size groups are legal). Each group gets its
// own per-tensor amax; the grouped GEMM multiplies each group by its
// expert's weights.
func.func @moe_quantize_and_matmul(%x: memref<?x2048xbf16>,
                                   %splits: memref<8xi64>,
                                   %a: memref<?x1024xi8>,
                                   %a_scale: memref<?x128xf8E4M3FN>,
                                   %a_amax: memref<8xf32>,
                                   %w: memref<8x1024x1024xi8>,
                                   %w_scale: memref<8x1024x128xf8E4M3FN>,
                                   %w_amax: memref<8xf32>,
                                   %d: memref<?x1024xbf16>) {
  nvfp4.grouped_quantize %x : memref<?x2048xbf16>
      splits(%splits : memref<8xi64>) recipe <per_tensor, sf_layout = 128x4>
      rowwise(%a : memref<?x1024xi8>, %a_scale : memref<?x128xf8E4M3FN>,
              %a_amax : memref<8xf32>)
  nvfp4.grouped_matmul splits(%splits : memref<8xi64>)
      a(%a : memref<?x1024xi8>, %a_scale : memref<?x128xf8E4M3FN>,
        %a_amax : memref<8xf32>) recipe <per_tensor, sf_layout = 128x4>
      b(%w : memref<8x1024x1024xi8>, %w_scale : memref<8x1024x128xf8E4M3FN>,
        %w_amax : memref<8xf32>) recipe <per_tensor, sf_layout = 128x4>
      outs(%d : memref<?x1024xbf16>)
  return
}
