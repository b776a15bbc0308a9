// A throwaway redis-server (Debian's) on 127.0.0.1 at a free port, for the
// queue tests and the queue benchmark: started, stopped with a real signal,
// and started again on the same port and data folder.
import { spawn, type ChildProcess } from "node:child_process";
import fs from "node:fs";
import net from "node:net";
import os from "node:os";
import path from "node:path";
import IORedis from "ioredis";

export function findRedisServer(): string | undefined {
  const dirs = [...(process.env.PATH ?? "").split(path.delimiter), "/usr/bin", "/usr/sbin", "/usr/local/bin"];
  for (const d of dirs) {
    const p = path.join(d, "redis-server");
    try {
      fs.accessSync(p, fs.constants.X_OK);
      return p;
    } catch {
      // next
    }
  }
  return undefined;
}

export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.once("error", reject);
    srv.listen(0, "127.0.0.1", () => {
      const port = (srv.address() as net.AddressInfo).port;
      srv.close(() => resolve(port));
    });
  });
}

export interface RedisServerOptions {
  password?: string;
  /** Keep the data across a restart (append-only file, fsync on every write). */
  persist?: boolean;
}

export interface RedisServer {
  port: number;
  /** redis://127.0.0.1:PORT, with the password when there is one. */
  url: string;
  dir: string;
  pid(): number;
  /** Stops it with a real signal and waits for it to exit. */
  stop(signal?: NodeJS.Signals): Promise<void>;
  /** Starts it again on the same port and folder. */
  start(): Promise<void>;
  /** A client for looking inside. */
  client(): IORedis;
}

export async function startRedisServer(opts: RedisServerOptions = {}): Promise<RedisServer> {
  const bin = findRedisServer();
  if (!bin) throw new Error("redis-server is not installed (Debian: apt-get install redis-server)");
  const port = await freePort();
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "tscolab-redis-"));
  const args = ["--port", String(port), "--bind", "127.0.0.1", "--dir", dir, "--save", "", "--daemonize", "no", "--logfile", path.join(dir, "redis.log")];
  args.push(...(opts.persist ? ["--appendonly", "yes", "--appendfsync", "always"] : ["--appendonly", "no"]));
  if (opts.password) args.push("--requirepass", opts.password);
  let proc: ChildProcess | undefined;
  const clientOf = () => new IORedis({ host: "127.0.0.1", port, password: opts.password, lazyConnect: true, maxRetriesPerRequest: 1, retryStrategy: () => null });

  const start = async () => {
    proc = spawn(bin, args, { stdio: "ignore" });
    const child = proc;
    const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()));
    for (const end = Date.now() + 10_000; ;) {
      const c = clientOf();
      c.on("error", () => undefined);
      try {
        await c.connect();
        if ((await c.ping()) === "PONG") {
          c.disconnect();
          return;
        }
      } catch {
        // not up yet
      }
      c.disconnect();
      if (Date.now() > end || (await Promise.race([exited.then(() => true), new Promise((r) => setTimeout(() => r(false), 50))])))
        throw new Error(
          `redis-server did not start on port ${port}: ${fs.existsSync(path.join(dir, "redis.log")) ? fs.readFileSync(path.join(dir, "redis.log"), "utf8").slice(-800) : ""}`,
        );
    }
  };
  await start();
  return {
    port,
    dir,
    url: `redis://${opts.password ? `:${encodeURIComponent(opts.password)}@` : ""}127.0.0.1:${port}`,
    pid: () => proc?.pid ?? -1,
    start,
    client: () => new IORedis({ host: "127.0.0.1", port, password: opts.password, maxRetriesPerRequest: 1 }),
    async stop(signal: NodeJS.Signals = "SIGTERM") {
      const p = proc;
      if (!p || p.exitCode !== null || p.signalCode !== null) return;
      const exited = new Promise<void>((resolve) => p.once("exit", () => resolve()));
      p.kill(signal);
      await exited;
    },
  };
}
