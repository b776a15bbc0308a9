// A minimal protocol-buffers *writer* (encoding only) for the handful of ONNX
// messages the converter emits.
//
// Why hand-written rather than protobufjs / onnx-proto: we only ever encode,
// never decode; the ONNX messages we need are nine small ones with stable,
// documented field numbers (onnx.proto, see onnx_messages.ts); and the bulk of
// a model is raw_data bytes, which this writer appends as zero-copy chunks
// instead of going through a generic reflection layer. That keeps the export
// dependency-free and fast, and the output is proven correct by onnxruntime
// and onnx.checker in tests/onnx*.test.ts.
//
// Wire format (https://protobuf.dev/programming-guides/encoding/): each field
// is a varint key (field_number << 3 | wire_type) followed by its payload.
// Wire types used: 0 = varint, 2 = length-delimited, 5 = 32-bit.

const WIRE_VARINT = 0;
const WIRE_LENGTH_DELIMITED = 2;
const WIRE_FIXED32 = 5;

const textEncoder = new TextEncoder();

export class ProtoWriter {
  private readonly chunks: Uint8Array[] = [];
  private pending: number[] = [];
  private size = 0;

  /** Total bytes written so far. */
  get length(): number {
    return this.size + this.pending.length;
  }

  private flushPending(): void {
    if (this.pending.length > 0) {
      this.chunks.push(Uint8Array.from(this.pending));
      this.size += this.pending.length;
      this.pending = [];
    }
  }

  private rawVarint(value: number | bigint): void {
    if (typeof value === "number" && Number.isInteger(value) && value >= 0 && value <= 0x7fffffff) {
      let v = value;
      while (v > 0x7f) {
        this.pending.push((v & 0x7f) | 0x80);
        v >>>= 7;
      }
      this.pending.push(v);
      return;
    }
    if (typeof value === "number" && !Number.isSafeInteger(value)) {
      throw new RangeError(`protobuf varint must be an integer, got ${value}`);
    }
    // Negative int64 values are sent as their 64-bit two's complement (10 bytes).
    let v = BigInt.asUintN(64, BigInt(value));
    while (v > 0x7fn) {
      this.pending.push(Number(v & 0x7fn) | 0x80);
      v >>= 7n;
    }
    this.pending.push(Number(v));
  }

  private key(field: number, wireType: number): void {
    this.rawVarint((field << 3) | wireType);
  }

  /** int32, int64, enum or bool field. */
  varint(field: number, value: number | bigint | boolean): this {
    this.key(field, WIRE_VARINT);
    this.rawVarint(typeof value === "boolean" ? (value ? 1 : 0) : value);
    return this;
  }

  /** float field (32-bit little-endian IEEE 754). */
  float(field: number, value: number): this {
    this.key(field, WIRE_FIXED32);
    const buf = new DataView(new ArrayBuffer(4));
    buf.setFloat32(0, value, true);
    for (let i = 0; i < 4; i++) this.pending.push(buf.getUint8(i));
    return this;
  }

  /** bytes field; large payloads are kept as a reference, not copied. */
  bytes(field: number, data: Uint8Array): this {
    this.key(field, WIRE_LENGTH_DELIMITED);
    this.rawVarint(data.length);
    this.flushPending();
    this.chunks.push(data);
    this.size += data.length;
    return this;
  }

  string(field: number, value: string): this {
    return this.bytes(field, textEncoder.encode(value));
  }

  /** Embedded message field, written by `fill` into its own writer. */
  message(field: number, fill: (w: ProtoWriter) => void): this {
    const sub = new ProtoWriter();
    fill(sub);
    sub.flushPending();
    this.key(field, WIRE_LENGTH_DELIMITED);
    this.rawVarint(sub.size);
    this.flushPending();
    for (const c of sub.chunks) this.chunks.push(c);
    this.size += sub.size;
    return this;
  }

  finish(): Uint8Array {
    this.flushPending();
    const out = new Uint8Array(this.size);
    let at = 0;
    for (const c of this.chunks) {
      out.set(c, at);
      at += c.length;
    }
    return out;
  }
}
