// float32 -> IEEE 754 binary16 bits, rounding to nearest, ties to even (what
// numpy's astype(float16) does, which is what the tfjs converter writes).
// tfjs only ships the decoder (io_utils getFloat16Decoder), so we encode.

const f32 = new Float32Array(1);
const u32 = new Uint32Array(f32.buffer);

export function float32ToFloat16Bits(value: number): number {
  f32[0] = value;
  const bits = u32[0];
  const sign = (bits >>> 16) & 0x8000;
  const exp = (bits >>> 23) & 0xff;
  let mant = bits & 0x7fffff;

  if (exp === 0xff) return sign | 0x7c00 | (mant ? 0x200 : 0); // Inf, or a quiet NaN
  const e = exp - 127 + 15; // re-biased exponent
  if (e >= 0x1f) return sign | 0x7c00; // too large: Inf, as numpy does

  if (e <= 0) {
    // Subnormal half (value = m * 2^-24) or underflow to signed zero.
    if (e < -10) return sign;
    mant |= 0x800000; // the implicit leading 1
    const shift = 14 - e; // 14..24
    let half = mant >>> shift;
    const rest = mant & ((1 << shift) - 1);
    const halfway = 1 << (shift - 1);
    if (rest > halfway || (rest === halfway && half & 1)) half++;
    return sign | half; // a carry into the exponent field is the correct result
  }

  let half = (e << 10) | (mant >>> 13);
  const rest = mant & 0x1fff;
  if (rest > 0x1000 || (rest === 0x1000 && half & 1)) half++; // may carry up to Inf: correct
  return sign | half;
}

export function encodeFloat16(values: Float32Array): Uint16Array {
  const out = new Uint16Array(values.length);
  for (let i = 0; i < values.length; i++) out[i] = float32ToFloat16Bits(values[i]);
  return out;
}
