import { test, assert } from "../../harness/t";
import { hostName, isPortalHost, isProbePath, PROBE_PATHS } from "../../../modules/core/portal/captive";

test("OS connectivity probes are recognised, case-insensitively", () => {
  for (const p of ["/generate_204", "/gen_204", "/hotspot-detect.html", "/library/test/success.html", "/connecttest.txt", "/ncsi.txt", "/redirect", "/canonical.html", "/success.txt"]) {
    assert.ok(isProbePath(p), p);
    assert.ok(PROBE_PATHS.indexOf(p) >= 0, p);
  }
  assert.ok(isProbePath("/Hotspot-Detect.html"));
  assert.ok(!isProbePath("/update"));
  assert.ok(!isProbePath("/"));
});

test("hostName drops the port and case, keeps IPv6 brackets", () => {
  assert.equal(hostName("192.168.4.1:80"), "192.168.4.1");
  assert.equal(hostName("Captive.Apple.COM"), "captive.apple.com");
  assert.equal(hostName("[fe80::1]:8080"), "[fe80::1]");
});

test("isPortalHost: own names and addresses pass, foreign hosts do not", () => {
  const own = ["192.168.4.1", "192.168.4.1", "192.168.1.57"];
  assert.ok(isPortalHost(undefined, own), "HTTP/1.0 without Host");
  assert.ok(isPortalHost("192.168.4.1", own));
  assert.ok(isPortalHost("192.168.4.1:80", own));
  assert.ok(isPortalHost("192.168.1.57", own), "reached over the station address");
  assert.ok(!isPortalHost("connectivitycheck.gstatic.com", own));
  assert.ok(!isPortalHost("192.168.4.10", own));
  assert.ok(isPortalHost("127.0.0.1:8123", ["127.0.0.1:8123", undefined]), "a host twin's portal host carries a port");
});
