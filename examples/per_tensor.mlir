// Per-tensor NVFP4 (TransformerEngine's default for activations): one FP32
// outer amax for the whole tensor, an E4M3 scale per 16 values along K.
func.func @quantize_per_tensor(%x: memref<?x4096xbf16>,
                               %data: memref<?x2048xi8>,
                               %scale: memref<?x256xf8E4M3FN>,
                               %amax: memref<1xf32>) {
  nvfp4.quantize %x : memref<?x4096xbf16> recipe <per_tensor>
      rowwise(%data : memref<?x2048xi8>, %scale : memref<?x256xf8E4M3FN>,
              %amax : memref<1xf32>)
  return
}
