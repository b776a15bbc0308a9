import { defineConfig } from "vitest/config";

// Kernel and notebook tests start real processes; give them room on 2 cores.
export default defineConfig({
  test: {
    include: ["tests/**/*.test.ts"],
    // Runs go to ./drive of each test's working folder, not the shared default Drive root.
    setupFiles: ["tests/helpers/isolated_drive.ts"],
    testTimeout: 120_000,
    hookTimeout: 120_000,
    pool: "forks",
    maxWorkers: 2,
  },
});
