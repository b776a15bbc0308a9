// Encoders for the ONNX protobuf messages the converter writes.
// Field numbers are those of onnx/onnx.proto (IR version 8+), quoted next to
// each message so a reader can check them without leaving this file.
import { ProtoWriter } from "./protobuf_writer";

/** TensorProto.DataType values we emit. */
export const DataType = { FLOAT: 1, INT32: 6, INT64: 7 } as const;
export type DataTypeCode = (typeof DataType)[keyof typeof DataType];

/** AttributeProto.AttributeType values we emit. */
const AttributeType = { FLOAT: 1, INT: 2, STRING: 3, FLOATS: 6, INTS: 7, STRINGS: 8 } as const;

export type AttributeValue =
  | { kind: "float"; value: number }
  | { kind: "int"; value: number }
  | { kind: "string"; value: string }
  | { kind: "floats"; value: number[] }
  | { kind: "ints"; value: number[] }
  | { kind: "strings"; value: string[] };

export const attr = {
  float: (value: number): AttributeValue => ({ kind: "float", value }),
  int: (value: number): AttributeValue => ({ kind: "int", value }),
  string: (value: string): AttributeValue => ({ kind: "string", value }),
  floats: (value: number[]): AttributeValue => ({ kind: "floats", value }),
  ints: (value: number[]): AttributeValue => ({ kind: "ints", value }),
  strings: (value: string[]): AttributeValue => ({ kind: "strings", value }),
};

export interface NodeDef {
  opType: string;
  /** Operator set of a non-standard op (e.g. "com.microsoft"); the default ONNX domain when absent. */
  domain?: string;
  name: string;
  inputs: string[];
  outputs: string[];
  attributes: Record<string, AttributeValue>;
}

export interface TensorDef {
  name: string;
  dataType: DataTypeCode;
  dims: number[];
  /** Little-endian element bytes (TensorProto.raw_data). */
  raw: Uint8Array;
}

/** A dimension: a fixed size, or a symbolic name such as "batch". */
export type Dim = number | string;

export interface ValueInfoDef {
  name: string;
  elemType: DataTypeCode;
  shape: Dim[];
}

export interface ModelDef {
  irVersion: number;
  opsetVersion: number;
  producerName: string;
  producerVersion: string;
  docString?: string;
  graphName: string;
  nodes: NodeDef[];
  initializers: TensorDef[];
  inputs: ValueInfoDef[];
  outputs: ValueInfoDef[];
  metadata: Record<string, string>;
  /** Operator sets beyond the default domain's, by domain (e.g. { "com.microsoft": 1 }). */
  extraOpsets?: Record<string, number>;
}

// AttributeProto: name=1 f=2 i=3 s=4 floats=7 ints=8 strings=9 type=20
function writeAttribute(w: ProtoWriter, name: string, a: AttributeValue): void {
  w.string(1, name);
  switch (a.kind) {
    case "float":
      w.float(2, a.value).varint(20, AttributeType.FLOAT);
      break;
    case "int":
      w.varint(3, a.value).varint(20, AttributeType.INT);
      break;
    case "string":
      w.string(4, a.value).varint(20, AttributeType.STRING);
      break;
    case "floats":
      for (const f of a.value) w.float(7, f);
      w.varint(20, AttributeType.FLOATS);
      break;
    case "ints":
      for (const i of a.value) w.varint(8, i);
      w.varint(20, AttributeType.INTS);
      break;
    case "strings":
      for (const s of a.value) w.string(9, s);
      w.varint(20, AttributeType.STRINGS);
      break;
  }
}

// NodeProto: input=1 output=2 name=3 op_type=4 attribute=5 domain=7
function writeNode(w: ProtoWriter, n: NodeDef): void {
  for (const i of n.inputs) w.string(1, i);
  for (const o of n.outputs) w.string(2, o);
  w.string(3, n.name).string(4, n.opType);
  for (const [name, a] of Object.entries(n.attributes)) w.message(5, (aw) => writeAttribute(aw, name, a));
  if (n.domain) w.string(7, n.domain);
}

// TensorProto: dims=1 data_type=2 name=8 raw_data=9
function writeTensor(w: ProtoWriter, t: TensorDef): void {
  for (const d of t.dims) w.varint(1, d);
  w.varint(2, t.dataType).string(8, t.name).bytes(9, t.raw);
}

// ValueInfoProto: name=1 type=2; TypeProto: tensor_type=1;
// TypeProto.Tensor: elem_type=1 shape=2; TensorShapeProto: dim=1;
// Dimension: dim_value=1 dim_param=2
function writeValueInfo(w: ProtoWriter, v: ValueInfoDef): void {
  w.string(1, v.name);
  w.message(2, (tw) =>
    tw.message(1, (tt) => {
      tt.varint(1, v.elemType);
      tt.message(2, (sw) => {
        for (const d of v.shape) sw.message(1, (dw) => (typeof d === "number" ? dw.varint(1, d) : dw.string(2, d)));
      });
    }),
  );
}

// GraphProto: node=1 name=2 initializer=5 input=11 output=12
function writeGraph(w: ProtoWriter, m: ModelDef): void {
  for (const n of m.nodes) w.message(1, (nw) => writeNode(nw, n));
  w.string(2, m.graphName);
  for (const t of m.initializers) w.message(5, (tw) => writeTensor(tw, t));
  for (const v of m.inputs) w.message(11, (vw) => writeValueInfo(vw, v));
  for (const v of m.outputs) w.message(12, (vw) => writeValueInfo(vw, v));
}

// ModelProto: ir_version=1 producer_name=2 producer_version=3 doc_string=6
// graph=7 opset_import=8 metadata_props=14; OperatorSetIdProto: domain=1
// version=2; StringStringEntryProto: key=1 value=2
export function encodeModel(m: ModelDef): Uint8Array {
  const w = new ProtoWriter();
  w.varint(1, m.irVersion).string(2, m.producerName).string(3, m.producerVersion);
  if (m.docString) w.string(6, m.docString);
  w.message(7, (gw) => writeGraph(gw, m));
  w.message(8, (ow) => ow.string(1, "").varint(2, m.opsetVersion));
  for (const [domain, version] of Object.entries(m.extraOpsets ?? {})) w.message(8, (ow) => ow.string(1, domain).varint(2, version));
  for (const [k, v] of Object.entries(m.metadata)) w.message(14, (mw) => mw.string(1, k).string(2, v));
  return w.finish();
}
