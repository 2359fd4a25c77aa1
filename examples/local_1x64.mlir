// 1x64 local encode: every 64 consecutive values of a row share one FP32
// outer amax (4 scale blocks per window). K need not be a multiple of 64:
// the last window of a row is shorter. Amaxes are (M, ceil(K/64)).
func.func @quantize_local_1x64(%x: memref<?x4000xbf16>,
                               %data: memref<?x2000xi8>,
                               %scale: memref<?x250xf8E4M3FN>,
                               %amax: memref<?x63xf32>) {
  nvfp4.quantize %x : memref<?x4000xbf16> recipe <local_1x64>
      rowwise(%data : memref<?x2000xi8>, %scale : memref<?x250xf8E4M3FN>,
              %amax : memref<?x63xf32>)
  return
}
