// A seeded random stream whose whole state is four 32-bit words, so a
// checkpoint can save it and a resumed run continues the exact same sequence;
// every random stream a run uses is one of these. xoshiro128** (Blackman &
// Vigna): fast in plain JS integer arithmetic and good enough for shuffling
// and dropout seeds.
import { z } from "zod";

export const rngStateSchema = z.array(z.number().int().min(0).max(0xffffffff)).length(4);
export type RngState = z.infer<typeof rngStateSchema>;

/** splitmix32: spreads a small seed over the 128-bit state (no all-zero state). */
function splitmix32(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (s + 0x9e3779b9) >>> 0;
    let z = s;
    z = Math.imul(z ^ (z >>> 16), 0x85ebca6b) >>> 0;
    z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35) >>> 0;
    return (z ^ (z >>> 16)) >>> 0;
  };
}

/** FNV-1a, so that each named stream (`shuffle`, `dropout`, ...) gets its own seed. */
function hashName(name: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < name.length; i++) h = Math.imul(h ^ name.charCodeAt(i), 0x01000193) >>> 0;
  return h;
}

export class Rng {
  private s: Uint32Array;

  private constructor(state: ArrayLike<number>) {
    this.s = Uint32Array.from(state);
  }

  /** A stream for `seed`; different `stream` names give independent sequences. */
  static create(seed: number, stream = ""): Rng {
    const mix = splitmix32((seed >>> 0) ^ hashName(stream));
    const state = [mix(), mix(), mix(), mix()];
    if (state.every((w) => !w)) state[0] = 1;
    return new Rng(state);
  }

  static fromState(state: RngState): Rng {
    return new Rng(rngStateSchema.parse(state));
  }

  getState(): RngState {
    return [...this.s];
  }

  setState(state: RngState): void {
    this.s = Uint32Array.from(rngStateSchema.parse(state));
  }

  nextUint32(): number {
    const s = this.s;
    const result = Math.imul(rotl(Math.imul(s[1], 5) >>> 0, 7), 9) >>> 0;
    const t = (s[1] << 9) >>> 0;
    s[2] ^= s[0];
    s[3] ^= s[1];
    s[1] ^= s[2];
    s[0] ^= s[3];
    s[2] ^= t;
    s[3] = rotl(s[3], 11);
    return result;
  }

  /** Uniform in [0, 1) with 32 bits of resolution. */
  nextFloat(): number {
    return this.nextUint32() / 4294967296;
  }

  /** Uniform integer in [0, n). */
  nextInt(n: number): number {
    return Math.floor(this.nextFloat() * n);
  }

  /** A non-zero seed for tfjs ops (tfjs treats a seed of 0 as "unseeded"). */
  nextSeed(): number {
    return (this.nextUint32() % 2147483646) + 1;
  }

  /** Fisher–Yates permutation of 0..n-1. */
  permutation(n: number): Int32Array {
    const p = new Int32Array(n);
    for (let i = 0; i < n; i++) p[i] = i;
    for (let i = n - 1; i > 0; i--) {
      const j = this.nextInt(i + 1);
      const tmp = p[i];
      p[i] = p[j];
      p[j] = tmp;
    }
    return p;
  }
}

function rotl(x: number, k: number): number {
  return ((x << k) | (x >>> (32 - k))) >>> 0;
}

/**
 * Runs `fn` with Math.random drawing from `rng`. tfjs initializers and dropout
 * without an explicit seed call Math.random for their seed, so this makes
 * initial weights (of any model: zoo, user file) and dropout masks a function
 * of our seeded, saveable stream alone. `fn` must be synchronous.
 */
export function withSeededMathRandom<T>(rng: Rng, fn: () => T): T {
  const original = Math.random;
  Math.random = () => rng.nextFloat();
  try {
    return fn();
  } finally {
    Math.random = original;
  }
}
