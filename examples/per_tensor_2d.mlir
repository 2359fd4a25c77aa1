// Per-tensor 2D weights: 16x16 scale tiles (each of a tile's 16 rows stores
// the same E4M3 scale), so the columnwise output is the nibble transpose of
// the rowwise one and one quantization serves both fprop and dgrad.
func.func @quantize_weight_2d(%w: memref<4096x4096xbf16>,
                              %data: memref<4096x2048xi8>,
                              %scale: memref<4096x256xf8E4M3FN>,
                              %amax: memref<1xf32>,
                              %data_t: memref<4096x2048xi8>,
                              %scale_t: memref<4096x256xf8E4M3FN>,
                              %amax_t: memref<1xf32>) {
  nvfp4.quantize %w : memref<4096x4096xbf16>
      recipe <per_tensor_2d, directions = [rowwise, columnwise]>
      rowwise(%data : memref<4096x2048xi8>, %scale : memref<4096x256xf8E4M3FN>,
              %amax : memref<1xf32>)
      columnwise(%data_t : memref<4096x2048xi8>,
                 %scale_t : memref<4096x256xf8E4M3FN>, %amax_t : memref<1xf32>)
  return
}
