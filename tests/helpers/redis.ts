// Debian's redis-server for the queue tests. Missing, it is said loudly and
// the tests skip; with TSCOLAB_REQUIRE_REDIS=1 or TSCOLAB_REQUIRE_JUPYTER=1
// (.ci/run sets both, and installs redis-server) it is a failure instead.
import { findRedisServer } from "../../bench/redis_server";

export { startRedisServer, freePort, type RedisServer } from "../../bench/redis_server";

export const redisRequired = process.env.TSCOLAB_REQUIRE_REDIS === "1" || process.env.TSCOLAB_REQUIRE_JUPYTER === "1";

/** True when redis-server is there; false after a loud warning (throws when it is required). */
export function haveRedisServer(what: string): boolean {
  if (findRedisServer()) return true;
  const message = `${what} needs Debian's redis-server on PATH (apt-get install redis-server)`;
  if (redisRequired) throw new Error(`TSCOLAB_REQUIRE_REDIS=1 (or TSCOLAB_REQUIRE_JUPYTER=1) but ${message}`);
  console.warn(`\n!!! SKIPPED: ${message}\n`);
  return false;
}
