import { test, assert } from "../../harness/t";
import { CatalogParser, CatalogError, NOT_A_CATALOG } from "../../../modules/core/engine/catalog-parser";
import { utf8Encode } from "../../../modules/core/bytes";
import { REFERENCE_CATALOG } from "../../fakes/fixtures"; // /work/shared/fixtures/autoconnect-updateserver-catalog-response.http

const REFERENCE_ENTRIES = [
  { name: "fw_v2.bin", date: "11/22/26", time: "10:55:15", size: 2404 },
  { name: "fw_v1.bin", date: "11/22/26", time: "10:55:15", size: 1028 },
];

function parse(text: string | Uint8Array, chunk = 4096, limits?: ConstructorParameters<typeof CatalogParser>[0]): ReturnType<CatalogParser["end"]> {
  const bytes = typeof text === "string" ? utf8Encode(text) : text;
  const p = new CatalogParser(limits);
  for (let i = 0; i < bytes.length; i += chunk) p.push(bytes.subarray(i, i + chunk));
  return p.end();
}

function parseError(text: string, chunk = 4096, limits?: ConstructorParameters<typeof CatalogParser>[0]): string {
  try {
    parse(text, chunk, limits);
  } catch (e) {
    assert.ok(e instanceof CatalogError, `expected a CatalogError, got ${String(e)}`);
    return e.message;
  }
  return assert.fail(`parsed without error: ${text.slice(0, 40)}`);
}

test("the reference server's catalog keeps only its bin rows, in order", () => {
  assert.equal(REFERENCE_CATALOG.length, 301, "fixture body length matches its Content-Length");
  assert.deepEqual(parse(REFERENCE_CATALOG), REFERENCE_ENTRIES);
});

test("the catalog parses the same whatever the chunking (every split, 1-byte chunks)", () => {
  const bytes = utf8Encode(REFERENCE_CATALOG);
  for (let cut = 0; cut <= bytes.length; cut++) {
    const p = new CatalogParser();
    p.push(bytes.subarray(0, cut));
    p.push(bytes.subarray(cut));
    assert.deepEqual(p.end(), REFERENCE_ENTRIES, `split at ${cut}`);
  }
  assert.deepEqual(parse(REFERENCE_CATALOG, 1), REFERENCE_ENTRIES);
});

test("unknown fields, nested values, escapes and braces inside strings are tolerated", () => {
  const text = ` \n[ {"name":"a}{\\"b.bin","type":"bin","size":10,"extra":{"x":[1,{"y":"]"}]},"sha":"z"} ,\r\n{"type":"bin","name":"é.bin","size":7,"date":5} ]\n `;
  assert.deepEqual(parse(text, 3), [
    { name: 'a}{"b.bin', date: "", time: "", size: 10 },
    { name: "é.bin", date: "", time: "", size: 7 },
  ]);
});

test("bin rows without a usable name or size are skipped, not fatal", () => {
  const text = '[{"type":"bin","size":5},{"type":"bin","name":"x.bin","size":"5"},{"type":"bin","name":"y.bin","size":-1},{"type":"bin","name":"ok.bin","size":5}]';
  assert.deepEqual(parse(text).map((e) => e.name), ["ok.bin"]);
});

test("an empty list and a list without bin rows give no entries", () => {
  assert.deepEqual(parse("[]"), []);
  assert.deepEqual(parse(' [ {"name":"readme.txt","type":"file"} ] '), []);
});

test("anything but a JSON array of objects is 'not a catalog'", () => {
  for (const text of ["<html><body>Hello</body></html>", '{"name":"fw.bin"}', "[1,2]", '[{"name":"a"} {"name":"b"}]', '[{"name":"a"},]', '[{"name":"a"}] x', '[{"name": nope}]']) {
    assert.equal(parseError(text), NOT_A_CATALOG, text);
  }
  assert.equal(parseError('[{"name":"fw.bin","type":"bin","size":1}'), NOT_A_CATALOG, "cut short");
  assert.equal(parseError(""), "Not a catalog: the server sent an empty answer");
});

test("more than 64 firmwares is 'catalog too large'", () => {
  const row = (i: number) => `{"name":"f${i}.bin","type":"bin","size":${i}}`;
  const rows = (n: number) => `[${Array.from({ length: n }, (_, i) => row(i)).join(",")}]`;
  assert.equal(parse(rows(64)).length, 64);
  assert.equal(parseError(rows(65)), "Catalog too large: more than 64 firmwares");
});

test("a body over 16 KB is 'catalog too large', whatever it holds", () => {
  const pad = `[{"name":"readme.txt","type":"file","pad":"${"x".repeat(900)}"}`;
  let text = pad;
  while (text.length <= 16 * 1024) text += `,${pad.slice(1)}`;
  assert.equal(parseError(`${text}]`, 1000), "Catalog too large: over 16 KB");
});

test("one object over the entry buffer is 'catalog too large' (the buffer never grows)", () => {
  const text = `[{"name":"fw.bin","type":"bin","size":1,"note":"${"n".repeat(2000)}"}]`;
  assert.equal(parseError(text), "Catalog too large: an entry is over 1024 bytes");
  const small = { maxEntries: 64, maxBytes: 16384, maxEntryBytes: 64 };
  assert.equal(parse(`[{"name":"fw.bin","type":"bin","size":1}]`, 7, small).length, 1);
  assert.equal(parseError(`[{"name":"fw.bin","type":"bin","size":1,"note":"${"n".repeat(40)}"}]`, 7, small), "Catalog too large: an entry is over 64 bytes");
});
