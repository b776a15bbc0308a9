// `--model git+URL#REV:FILE`: the parts, the defaults, and a UsageError naming
// the expected form for each way of getting it wrong.
import { describe, expect, test } from "vitest";
import { formatGitModelRef, isGitModelRef, parseGitModelRef } from "../engine/git";
import { canonicalRepo, isRemoteRepo } from "../engine/git/ref";
import { UsageError } from "../magics/types";

describe("parseGitModelRef", () => {
  test.each([
    ["git+https://github.com/me/models.git#v1.2:nets/mlp.ts", { repo: "https://github.com/me/models.git", rev: "v1.2", path: "nets/mlp.ts" }],
    ["git+ssh://git@host:2222/me/m.git#main:m.js", { repo: "ssh://git@host:2222/me/m.git", rev: "main", path: "m.js" }],
    ["git+git@github.com:me/models.git#0123abc:net.ts", { repo: "git@github.com:me/models.git", rev: "0123abc", path: "net.ts" }],
    ["git+file:///srv/repos/m#feature/x:a/b/c.ts", { repo: "file:///srv/repos/m", rev: "feature/x", path: "a/b/c.ts" }],
    ["git+../models#:net.ts", { repo: "../models", rev: "HEAD", path: "net.ts" }],
    ["git+./m#v1:dir/with:colon.ts", { repo: "./m", rev: "v1", path: "dir/with:colon.ts" }],
  ])("%s", (ref, expected) => {
    expect(parseGitModelRef(ref)).toEqual(expected);
    expect(parseGitModelRef(formatGitModelRef(parseGitModelRef(ref)))).toEqual(expected);
  });

  test.each([
    ["https://x/m.git#v1:a.ts", /is not a git model reference/],
    ["git+https://x/m.git", /names no revision and file/],
    ["git+https://x/m.git#v1", /names no file after the revision/],
    ["git+https://x/m.git#v1:", /names no file after "v1:"/],
    ["git+#v1:a.ts", /names no repository/],
  ])("refuses %s", (ref, message) => {
    expect(() => parseGitModelRef(ref)).toThrow(UsageError);
    expect(() => parseGitModelRef(ref)).toThrow(message);
    expect(() => parseGitModelRef(ref)).toThrow(/git\+URL#REV:FILE/);
  });

  test("isGitModelRef tells a git reference from a variable name or a file", () => {
    expect(isGitModelRef("git+./m#v1:a.ts")).toBe(true);
    expect(isGitModelRef("model")).toBe(false);
    expect(isGitModelRef({ layers: [] })).toBe(false);
  });
});

test("remote URLs and scp-like addresses stay as they are, local paths become absolute", () => {
  expect(isRemoteRepo("https://github.com/me/m.git")).toBe(true);
  expect(isRemoteRepo("git@github.com:me/m.git")).toBe(true);
  expect(isRemoteRepo("host:path/m.git")).toBe(true);
  expect(isRemoteRepo("file:///srv/m")).toBe(false);
  expect(isRemoteRepo("./m")).toBe(false);
  expect(isRemoteRepo("/srv/m")).toBe(false);
  expect(isRemoteRepo("dir/with:colon")).toBe(false);
  expect(isRemoteRepo("C:/repos/m")).toBe(false);
  expect(canonicalRepo("https://github.com/me/m.git/", "/nb")).toBe("https://github.com/me/m.git");
  expect(canonicalRepo("../m", "/nb/sub")).toBe("/nb/m");
  expect(canonicalRepo("file:///srv/my%20models", "/nb")).toBe("/srv/my models");
});
