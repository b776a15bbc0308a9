// The Jupyter wire protocol (messaging spec 5.3): multipart ZeroMQ frames
//   [identities..., "<IDS|MSG>", hmac, header, parent_header, metadata, content, buffers...]
// signed with HMAC-SHA256 over the four JSON parts.
import { createHmac, randomUUID, timingSafeEqual } from "node:crypto";
import { z } from "zod";

export const PROTOCOL_VERSION = "5.3";
const DELIMITER = Buffer.from("<IDS|MSG>");

export const header = z.object({
  msg_id: z.string(),
  session: z.string(),
  username: z.string().default(""),
  date: z.string().optional(),
  msg_type: z.string(),
  version: z.string().default(PROTOCOL_VERSION),
});
export type Header = z.infer<typeof header>;

export interface Message<C = Record<string, any>> {
  identities: Buffer[];
  header: Header;
  parent: Partial<Header>;
  metadata: Record<string, unknown>;
  content: C;
  buffers: Buffer[];
}

export class Signer {
  constructor(
    private readonly key: string,
    scheme = "hmac-sha256",
  ) {
    if (key && scheme !== "hmac-sha256") throw new Error(`unsupported signature scheme ${scheme}; use hmac-sha256`);
  }

  sign(parts: (string | Buffer)[]): string {
    if (!this.key) return "";
    const h = createHmac("sha256", this.key);
    for (const p of parts) h.update(p);
    return h.digest("hex");
  }

  verify(signature: string, parts: Buffer[]): boolean {
    if (!this.key) return true;
    const expected = Buffer.from(this.sign(parts));
    const got = Buffer.from(signature);
    return expected.length === got.length && timingSafeEqual(expected, got);
  }
}

export function decode(frames: Buffer[], signer: Signer): Message {
  const at = frames.findIndex((f) => f.equals(DELIMITER));
  if (at < 0) throw new Error("message without <IDS|MSG> delimiter");
  const [signature, ...rest] = frames.slice(at + 1);
  const signed = rest.slice(0, 4);
  if (signed.length < 4) throw new Error("message with fewer than four JSON parts");
  if (!signer.verify(signature.toString(), signed)) throw new Error("message with a bad HMAC signature");
  const [h, p, m, c] = signed.map((b) => JSON.parse(b.toString() || "{}"));
  return { identities: frames.slice(0, at), header: header.parse(h), parent: p, metadata: m, content: c, buffers: rest.slice(4) };
}

export function encode(msg: Message<unknown>, signer: Signer): Buffer[] {
  const parts = [msg.header, msg.parent, msg.metadata, msg.content].map((x) => Buffer.from(JSON.stringify(x)));
  return [...msg.identities, DELIMITER, Buffer.from(signer.sign(parts)), ...parts, ...msg.buffers];
}

/** A new message answering (or caused by) `parent`. */
export function reply<C>(parent: Message | undefined, msgType: string, content: C, session: string, identities?: Buffer[]): Message<C> {
  return {
    identities: identities ?? parent?.identities ?? [],
    header: { msg_id: randomUUID(), session, username: parent?.header.username ?? "tscolab", date: new Date().toISOString(), msg_type: msgType, version: PROTOCOL_VERSION },
    parent: parent?.header ?? {},
    metadata: {},
    content,
    buffers: [],
  };
}

export const connectionInfo = z.object({
  transport: z.string().default("tcp"),
  ip: z.string().default("127.0.0.1"),
  shell_port: z.number().int(),
  iopub_port: z.number().int(),
  stdin_port: z.number().int(),
  control_port: z.number().int(),
  hb_port: z.number().int(),
  key: z.string().default(""),
  signature_scheme: z.string().default("hmac-sha256"),
  kernel_name: z.string().optional(),
});
export type ConnectionInfo = z.infer<typeof connectionInfo>;

export function endpoint(info: ConnectionInfo, port: number): string {
  return info.transport === "ipc" ? `ipc://${info.ip}-${port}` : `tcp://${info.ip}:${port}`;
}
