// 4over6 with the mean-absolute-error metric and the E4M3 bound 256: each
// block tries "map to 6" and "map to 4" (scale x1.5) and keeps the one with
// the smaller error; ties keep map-to-6.
func.func @quantize_four_over_six(%x: memref<?x4096xbf16>,
                                  %data: memref<?x2048xi8>,
                                  %scale: memref<?x256xf8E4M3FN>,
                                  %amax: memref<1xf32>) {
  nvfp4.quantize %x : memref<?x4096xbf16> recipe <four_over_six>
      rowwise(%data : memref<?x2048xi8>, %scale : memref<?x256xf8E4M3FN>,
              %amax : memref<1xf32>)
  return
}
