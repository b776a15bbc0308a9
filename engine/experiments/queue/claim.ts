// A trial's claim: a lease in Redis that a worker holds for as long as it
// trains the trial, so two workers on different machines never train it at
// once (run.json's writer claim can only probe processes on its own host).
//
// - Taken with SET NX PX: one holder at a time; the holder renews it every
//   quarter of its time to live.
// - A holder that cannot confirm its claim for three quarters of the time to
//   live (Redis unreachable, the worker frozen) gives the trial up: it kills
//   the trial's process before anyone else can take the claim, and the trial
//   resumes from its last committed checkpoint wherever it is taken next.
// - A holder that finds the claim held by someone else gives up the same way.
// - A renewal that finds the key gone (expired while nobody held it, or Redis
//   lost its data) takes it again: nobody else trains a trial without holding
//   its claim.
import os from "node:os";
import { randomUUID } from "node:crypto";
import type IORedis from "ioredis";

export interface ClaimHolder {
  token: string;
  host: string;
  pid: number;
  since: string;
}

const RENEW = `
local v = redis.call('GET', KEYS[1])
if not v then redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2]) return 2 end
if v == ARGV[1] then redis.call('PEXPIRE', KEYS[1], ARGV[2]) return 1 end
return 0`;

const RELEASE = `
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0`;

export const claimKey = (queueName: string, jobId: string) => `tscolab:${queueName}:claim:${jobId}`;

export function describeHolder(value: string | null): string {
  if (!value) return "another worker";
  try {
    const h = JSON.parse(value) as ClaimHolder;
    return `worker ${h.host}:${h.pid} (since ${h.since})`;
  } catch {
    return "another worker";
  }
}

export class TrialClaim {
  private lastConfirmed = Date.now();
  private timer: NodeJS.Timeout | undefined;
  private lost = false;

  private constructor(
    private readonly redis: IORedis,
    readonly key: string,
    private readonly value: string,
    readonly ttlMs: number,
  ) {}

  /** The claim, or who holds it. */
  static async acquire(redis: IORedis, key: string, ttlMs: number): Promise<{ claim: TrialClaim } | { heldBy: string }> {
    const holder: ClaimHolder = { token: randomUUID(), host: os.hostname(), pid: process.pid, since: new Date().toISOString() };
    const value = JSON.stringify(holder);
    const ok = await redis.set(key, value, "PX", ttlMs, "NX");
    if (ok === "OK") return { claim: new TrialClaim(redis, key, value, ttlMs) };
    return { heldBy: describeHolder(await redis.get(key)) };
  }

  /** Renews until released; `onLost` is called once, as soon as the claim can no longer be vouched for. */
  keep(onLost: (why: string) => void): void {
    const fenceMs = this.ttlMs * 0.75;
    const tick = async () => {
      if (this.lost) return;
      // Checked before renewing: after a freeze (SIGSTOP, a paused VM) the claim may already be someone else's.
      if (Date.now() - this.lastConfirmed > fenceMs) return this.lose(onLost, `the claim went unconfirmed for ${Date.now() - this.lastConfirmed} ms`);
      try {
        const r = (await this.redis.eval(RENEW, 1, this.key, this.value, String(this.ttlMs))) as number;
        if (this.lost) return;
        if (r === 0) return this.lose(onLost, `another worker holds the claim: ${describeHolder(await this.redis.get(this.key).catch(() => null))}`);
        this.lastConfirmed = Date.now();
      } catch {
        // Unreachable: the next tick decides (fenceMs since the last confirmation).
      }
    };
    this.timer = setInterval(() => void tick(), Math.max(50, Math.floor(this.ttlMs / 4)));
  }

  private lose(onLost: (why: string) => void, why: string): void {
    this.lost = true;
    this.stop();
    onLost(why);
  }

  get isLost(): boolean {
    return this.lost;
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
  }

  /** Gives the claim up (only if it is still ours). */
  async release(): Promise<void> {
    this.stop();
    try {
      await this.redis.eval(RELEASE, 1, this.key, this.value);
    } catch {
      // Unreachable: it expires by itself.
    }
  }
}
