// Per-token with the quotient numerics of the published per-token reference:
// enc = S' / sf with one division, and the outer amax floored at 1e-12.
// Differs from the reciprocal form in the last ulp of the encode scale.
func.func @quantize_per_token_quotient(%x: memref<?x2048xf16>,
                                       %data: memref<?x1024xi8>,
                                       %scale: memref<?x128xf8E4M3FN>,
                                       %amax: memref<?xf32>) {
  nvfp4.quantize %x : memref<?x2048xf16> recipe <per_token_quotient>
      rowwise(%data : memref<?x1024xi8>, %scale : memref<?x128xf8E4M3FN>,
              %amax : memref<?xf32>)
  return
}
