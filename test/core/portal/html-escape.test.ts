import { test, assert } from "../../harness/t";
import { esc, formatHHMM, formatSize, jsonForScript, layout } from "../../../modules/core/portal/html";

test("esc turns markup characters into entities, for text and attributes", () => {
  assert.equal(esc(`<script>alert("x")</script>`), "&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;");
  assert.equal(esc(`a' onmouseover='x`), "a&#39; onmouseover=&#39;x");
  assert.equal(esc("Tom & Jerry"), "Tom &amp; Jerry");
  assert.equal(esc("&lt;"), "&amp;lt;", "already-escaped text is escaped again, not trusted");
  assert.equal(esc(42), "42");
});

test("jsonForScript cannot close the script element", () => {
  const text = jsonForScript({ name: "</script><script>alert(1)</script>", amp: "&" });
  assert.doesNotMatch(text, /<|>|&/);
  assert.deepEqual(JSON.parse(text), { name: "</script><script>alert(1)</script>", amp: "&" });
  assert.equal(jsonForScript("\u2028"), '"\\u2028"');
});

test("formatSize reads like 1.5 MB", () => {
  assert.equal(formatSize(0), "0 B");
  assert.equal(formatSize(1023), "1023 B");
  assert.equal(formatSize(1024), "1 KB");
  assert.equal(formatSize(12800), "12.5 KB");
  assert.equal(formatSize(1572864), "1.5 MB");
  assert.equal(formatSize(2404), "2.3 KB");
  assert.equal(formatSize(200 * 1024), "200 KB");
  assert.equal(formatSize(-1), "?");
  assert.equal(formatSize(1048575), "1 MB", "rounding up carries into the next unit");
  assert.equal(formatSize(1023 * 1024), "1023 KB");
  assert.equal(formatSize(1023.6 * 1024), "1 MB");
});

test("formatHHMM keeps the first five characters, as AutoConnect shows time", () => {
  assert.equal(formatHHMM("10:55:15"), "10:55");
  assert.equal(formatHHMM("9:05"), "9:05");
  assert.equal(formatHHMM(""), "");
});

test("layout is a self-contained page readable on a phone", () => {
  const page = layout("<T>", "<p>body</p>", { appName: "A&B" });
  assert.match(page, /^<!DOCTYPE html>/);
  assert.match(page, /<meta name=viewport content="width=device-width,initial-scale=1">/);
  assert.match(page, /<title>&lt;T&gt; - A&amp;B<\/title>/);
  assert.match(page, /<style>/);
  assert.doesNotMatch(page, /<link |src=|@import|url\(/, "no external assets");
});
