// Each containment guard of server/catalog-root.ts on its own, so that
// disabling any one of them fails a test here (the route tests would often
// still pass, as the next guard catches the case). The races (a component
// swapped between resolve() and open()) are staged by swapping the filesystem
// between the two calls.
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { mkdir, rename, rm, symlink, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { CatalogRoot, descriptorPath, hasHiddenSegment, isHiddenName, isInside } from "../../server/catalog-root";
import { readEntry } from "../../server/folders";
import { tempDir } from "./helpers";

describe("containment guards", () => {
  let base: string;
  let root: CatalogRoot;
  before(async () => {
    base = await tempDir("ota-root-");
    await mkdir(join(base, "fw", "inner"), { recursive: true });
    await mkdir(join(base, "fw", ".secret"));
    await mkdir(join(base, "fw-old"));
    await mkdir(join(base, "outside"));
    await writeFile(join(base, "fw", "inner", "ok.bin"), "inside");
    await writeFile(join(base, "fw", ".secret", "key.bin"), "hidden");
    await writeFile(join(base, "fw", ".env"), "SECRET=1");
    await writeFile(join(base, "outside", "ok.bin"), "outside");
    await writeFile(join(base, "fw-old", "ok.bin"), "sibling");
    await symlink(join(base, "outside", "ok.bin"), join(base, "fw", "leak.bin"));
    await symlink(join(base, "fw", ".secret", "key.bin"), join(base, "fw", "visible.bin"));
    await symlink(join(base, "fw", "inner", "ok.bin"), join(base, "fw", "alias.bin"));
    root = await CatalogRoot.open(join(base, "fw"));
  });
  after(() => rm(base, { recursive: true, force: true }));

  test("isInside: the root and below; not a sibling sharing its prefix, not a parent", () => {
    assert.ok(isInside("/srv/fw", "/srv/fw"));
    assert.ok(isInside("/srv/fw", "/srv/fw/a/b.bin"));
    assert.ok(!isInside("/srv/fw", "/srv/fw-old/b.bin"));
    assert.ok(!isInside("/srv/fw", "/srv"));
    assert.ok(!isInside("/srv/fw", "/etc/passwd"));
  });

  test("hidden names: dot files and folders, not '.'", () => {
    assert.ok(isHiddenName(".env") && isHiddenName(".git") && isHiddenName(".."));
    assert.ok(!isHiddenName(".") && !isHiddenName("fw.bin") && !isHiddenName("a.b"));
    assert.ok(hasHiddenSegment("a/.git/config") && !hasHiddenSegment("a/b/c.bin"));
  });

  test("guard 1, lexical: refuses '..' even where it would resolve inside, NUL, absolute paths, hidden segments", () => {
    const detail = (p: string, slash = false) => {
      const r = root.lexical(p, slash);
      return r.ok ? "ok" : `${r.reason}: ${r.detail}`;
    };
    assert.equal(detail("inner/../inner/ok.bin"), "forbidden: parent segment");
    assert.equal(detail("../fw-old/ok.bin"), "forbidden: parent segment");
    assert.equal(detail("inner/ok\0.bin"), "forbidden: NUL in path");
    assert.equal(detail("/etc/passwd"), "forbidden: absolute path");
    assert.equal(detail("//etc/passwd", true), "forbidden: absolute path");
    assert.equal(detail(".env"), "not-found: hidden segment");
    assert.equal(detail(".secret/key.bin"), "not-found: hidden segment");
    assert.equal(detail("inner/.git/config"), "not-found: hidden segment");
    assert.equal(detail("/inner/ok.bin", true), "ok");
    assert.equal(detail("./inner//ok.bin"), "ok");
  });

  test("guard 2, the resolved path: a symlink out of the root, or onto a hidden file, is refused though lexically fine", async () => {
    assert.ok(root.lexical("leak.bin").ok && root.lexical("visible.bin").ok);
    const leak = await root.resolve("leak.bin");
    assert.deepEqual(leak, { ok: false, reason: "forbidden", detail: "resolves outside the catalog" });
    const hidden = await root.resolve("visible.bin");
    assert.deepEqual(hidden, { ok: false, reason: "not-found", detail: "resolves to a hidden file" });
    const alias = await root.resolve("alias.bin");
    assert.ok(alias.ok && alias.relative === join("inner", "ok.bin"));
    assert.equal(root.contains(join(base, "fw-old", "ok.bin"))?.detail, "resolves outside the catalog");
    assert.equal(root.contains(join(base, "fw", "inner", "ok.bin")), undefined);
  });

  test("guard 3, O_NOFOLLOW: the file itself swapped for a symlink after resolve() is refused at open", async () => {
    const path = join(base, "fw", "inner", "swap.bin");
    await writeFile(path, "inside");
    const resolved = await root.resolve("inner/swap.bin");
    assert.ok(resolved.ok);
    await rm(path);
    await symlink(join(base, "outside", "ok.bin"), path);
    const opened = await root.openFile(resolved);
    assert.deepEqual(opened, { ok: false, reason: "forbidden", detail: "ELOOP" });
  });

  test("guard 4, the descriptor re-check: a folder on the way swapped for a symlink after resolve() is caught", { skip: descriptorPath(0) === undefined ? "no /proc" : false }, async () => {
    await mkdir(join(base, "fw", "moving"));
    await writeFile(join(base, "fw", "moving", "ok.bin"), "inside");
    await mkdir(join(base, "outside", "moving"));
    await writeFile(join(base, "outside", "moving", "ok.bin"), "outside");
    const resolved = await root.resolve("moving/ok.bin");
    assert.ok(resolved.ok);
    await rename(join(base, "fw", "moving"), join(base, "fw", "moved-away"));
    await symlink(join(base, "outside", "moving"), join(base, "fw", "moving"));
    const opened = await root.openFile(resolved);
    assert.deepEqual(opened, { ok: false, reason: "forbidden", detail: "descriptor outside the catalog" });
    // the same for a folder opened to be listed
    const folder = await root.openFolder({ path: join(base, "fw", "moving"), relative: "moving" });
    assert.equal(folder.ok, false);
  });

  test("guard 4 in the listing's reads (folders.ts readEntry): a descriptor outside the catalog is never read when the caller asks for the check", { skip: descriptorPath(0) === undefined ? "no /proc" : false }, async () => {
    const outside = join(base, "outside", "ok.bin");
    let reads = 0;
    const read = async () => ++reads;
    assert.equal(await readEntry(outside, root, true, read), undefined, "a symlink's target re-checked through its descriptor");
    assert.equal(reads, 0);
    assert.equal(await readEntry(join(base, "fw", "inner", "ok.bin"), root, true, read), 1, "inside: read");
    assert.equal(await readEntry(outside, root, false, read), 2, "no check asked (a plain entry already inside): read");
    assert.equal(await readEntry(join(base, "fw", "leak.bin"), root, false, read), undefined, "O_NOFOLLOW: a symlink itself is never opened");
  });

  test("guard 5, what the descriptor is: a FIFO opens without blocking and is refused; a folder is not a file", { timeout: 5000 }, async () => {
    execFileSync("mkfifo", [join(base, "fw", "pipe.bin")]);
    const resolved = await root.resolve("pipe.bin");
    assert.ok(resolved.ok);
    assert.deepEqual(await root.openFile(resolved), { ok: false, reason: "not-found", detail: "not a regular file" });
    const dir = await root.resolve("inner");
    assert.ok(dir.ok);
    assert.deepEqual(await root.openFile(dir), { ok: false, reason: "not-found", detail: "not a regular file" });
    const file = await root.resolve("inner/ok.bin");
    assert.ok(file.ok);
    assert.equal((await root.openFolder(file)).ok, false);
    const opened = await root.openFile(file);
    assert.ok(opened.ok);
    await opened.handle.close();
  });
});
