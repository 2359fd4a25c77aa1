// RMSNorm with a residual add feeding a per-token NVFP4 quantize: the input
// of a transformer block's attention or MLP GEMMs. Written unfused, as a
// framework would emit it; nvfp4-fuse-producers (first in nvfp4-to-cpu and
// nvfp4-to-ptx) folds the pair into nvfp4.rms_norm_quantize, which reads x,
// the residual and the weight once per row and never writes the normalized
// matrix, because `%y` is a temporary no one else reads.
func.func @rms_norm_quantize_per_token(%x: memref<?x4096xbf16>,
                                       %residual: memref<?x4096xbf16>,
                                       %weight: memref<4096xbf16>,
                                       %rstd: memref<?xf32>,
                                       %data: memref<?x2048xi8>,
                                       %scale: memref<?x256xf8E4M3FN>,
                                       %amax: memref<?xf32>) {
  %c0 = arith.constant 0 : index
  %m = memref.dim %x, %c0 : memref<?x4096xbf16>
  %y = memref.alloc(%m) : memref<?x4096xbf16>
  nvfp4.rms_norm %x : memref<?x4096xbf16>, %weight : memref<4096xbf16>
      residual(%residual : memref<?x4096xbf16>) eps 1.0e-06
      to %y : memref<?x4096xbf16>, %rstd : memref<?xf32>
  nvfp4.quantize %y : memref<?x4096xbf16> recipe <per_token>
      rowwise(%data : memref<?x2048xi8>, %scale : memref<?x256xf8E4M3FN>,
              %amax : memref<?xf32>)
  memref.dealloc %y : memref<?x4096xbf16>
  return
}
