// The queue's address: `redis://HOST:PORT[/DB]`, `redis://:PASSWORD@HOST:PORT`,
// `redis://USER:PASSWORD@HOST:PORT`, or `rediss://...` for TLS. The URL is
// parsed here once; everything else gets ioredis options and a `shown` form
// without credentials, so a password never reaches a log line, sweep.json or
// run.json. A probe with a bounded connect timeout turns an unreachable or
// refusing Redis into one line before anything is created.
import IORedis, { type RedisOptions } from "ioredis";
import { TscolabError, UsageError } from "../../errors";

export interface RedisTarget {
  host: string;
  port: number;
  db: number;
  username?: string;
  password?: string;
  tls: boolean;
  /** The URL without credentials: what logs and records show. */
  shown: string;
}

/** Where the queue URL may also come from, so a password need not sit in a command line (`ps` shows those). */
export const QUEUE_ENV = "TSCOLAB_QUEUE";

const FORM = "redis://HOST:PORT (or redis://:PASSWORD@HOST:PORT, redis://HOST:PORT/DB, rediss:// for TLS)";

export function parseRedisUrl(text: string, flag = "--queue"): RedisTarget {
  // A rejected URL is echoed only when it carries no credentials.
  const echo = text.includes("@") ? "(a URL with credentials, not shown)" : JSON.stringify(text);
  let url: URL;
  try {
    url = new URL(text.trim());
  } catch {
    throw new UsageError(`${flag}: expected ${FORM}, got ${echo}`);
  }
  if (url.protocol !== "redis:" && url.protocol !== "rediss:") throw new UsageError(`${flag}: expected ${FORM}, got ${echo} (scheme ${url.protocol.replace(/:$/, "")})`);
  const host = url.hostname.replace(/^\[(.*)\]$/, "$1");
  if (!host) throw new UsageError(`${flag}: expected ${FORM}, got ${echo} (no host)`);
  const port = url.port ? Number(url.port) : 6379;
  const dbText = url.pathname.replace(/^\//, "");
  if (dbText && !/^\d+$/.test(dbText)) throw new UsageError(`${flag}: the database after the port must be a number (redis://HOST:PORT/0), got ${echo}`);
  if (url.search || url.hash) throw new UsageError(`${flag}: no ?options or #fragment in the queue URL; expected ${FORM}, got ${echo}`);
  const db = dbText ? Number(dbText) : 0;
  const tls = url.protocol === "rediss:";
  const hostText = host.includes(":") ? `[${host}]` : host;
  return {
    host,
    port,
    db,
    username: url.username ? decodeURIComponent(url.username) : undefined,
    password: url.password ? decodeURIComponent(url.password) : undefined,
    tls,
    shown: `${tls ? "rediss" : "redis"}://${hostText}:${port}${db ? `/${db}` : ""}`,
  };
}

/** The queue URL from the flag, else $TSCOLAB_QUEUE; undefined when neither is set. */
export function queueUrlFrom(flag: string | undefined): string | undefined {
  return flag ?? (process.env[QUEUE_ENV] || undefined);
}

/** ioredis options for a target (never the URL itself, so no library message can quote it). */
export function redisOptions(t: RedisTarget, extra: RedisOptions = {}): RedisOptions {
  return {
    host: t.host,
    port: t.port,
    db: t.db,
    ...(t.username ? { username: t.username } : {}),
    ...(t.password ? { password: t.password } : {}),
    ...(t.tls ? { tls: {} } : {}),
    ...extra,
  };
}

/** Why a connection failed, in words, from the last error ioredis reported. */
export function describeRedisError(e: Error | undefined, timeoutS: number): string {
  const code = (e as NodeJS.ErrnoException | undefined)?.code;
  const msg = e?.message ?? "";
  if (code === "ECONNREFUSED") return "connection refused (nothing listens there)";
  if (code === "ENOTFOUND" || code === "EAI_AGAIN") return "the host name does not resolve";
  if (code === "ETIMEDOUT" || /timed? ?out/i.test(msg)) return `no answer within ${timeoutS} s`;
  if (/NOAUTH/.test(msg)) return "it needs a password (NOAUTH)";
  if (/WRONGPASS|invalid password|invalid username-password/i.test(msg)) return "it refused the user name or password (WRONGPASS)";
  if (/Protocol error/i.test(msg)) return "what answers there is not a Redis server";
  return msg.split("\n")[0] || "the connection closed";
}

/**
 * Connects, authenticates and PINGs within `timeoutMs`, or throws one line
 * saying why: nothing listens, the host does not resolve, no answer in time,
 * a missing or wrong password.
 */
export async function probeRedis(t: RedisTarget, timeoutMs: number, what: string): Promise<void> {
  const client = new IORedis(
    redisOptions(t, { lazyConnect: true, connectTimeout: timeoutMs, maxRetriesPerRequest: 0, retryStrategy: () => null, enableOfflineQueue: false, enableReadyCheck: true }),
  );
  let last: Error | undefined;
  client.on("error", (e: Error) => (last = e));
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(Object.assign(new Error("timed out"), { code: "ETIMEDOUT" })), timeoutMs + 500);
  });
  try {
    await Promise.race([
      (async () => {
        await client.connect();
        await client.ping();
      })(),
      timeout,
    ]);
  } catch (e) {
    const why = describeRedisError(last ?? (e as Error), Math.round(timeoutMs / 100) / 10);
    const fix = /password|NOAUTH/.test(why)
      ? "put the password in the URL as redis://:PASSWORD@HOST:PORT (or in $TSCOLAB_QUEUE)"
      : `start redis-server there (or fix the host and port in ${what}); --connect-timeout S sets how long to wait`;
    throw new TscolabError(`cannot reach the queue's Redis at ${t.shown}: ${why}`, fix);
  } finally {
    clearTimeout(timer);
    client.disconnect();
  }
}
