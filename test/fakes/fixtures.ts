// Wire captures from /work/shared/fixtures, inlined so engine-neutral tests
// (which cannot read files inside XS) can use them as test vectors.

/**
 * Body of autoconnect-updateserver-catalog-response.http: AutoConnect's reference
 * updateserver.py answering GET /_catalog?op=list&path=. (Content-Length: 301).
 */
export const REFERENCE_CATALOG =
  '[{"name": "readme.txt", "type": "file"}, {"name": "fw_v2.bin", "type": "bin", "date": "11/22/26", "time": "10:55:15", "size": 2404}, {"name": "subdir", "type": "file"}, {"name": "fw_v1.bin", "type": "bin", "date": "11/22/26", "time": "10:55:15", "size": 1028}, {"name": "not_esp.bin", "type": "file"}]';

/** Head of autoconnect-updateserver-binary-response-head.http (the reference server sending fw_v1.bin). */
export const REFERENCE_BINARY_HEAD: ReadonlyArray<readonly [string, string]> = [
  ["Server", "BaseHTTP/0.6 Python/3.11.7"],
  ["Date", "Sun, 22 Nov 2026 10:55:30 GMT"],
  ["Content-Type", "application/octet-stream"],
  ["Content-Disposition", "attachment; filename=fw_v1.bin"],
  ["Content-Length", "1028"],
  ["x-MD5", "d2a01b7710dae3fbd2d1c16aa499f328"],
];

/**
 * esp8266-httpupdate-request.http: the header lines (after the request line) the ESP8266
 * core's HTTPUpdate client sends; the ESP32 core sends the same set renamed x-ESP32-*.
 */
export const ESP8266_CHECKIN_HEADERS: ReadonlyArray<readonly [string, string]> = [
  ["Host", "192.168.1.10:8000"],
  ["User-Agent", "ESP8266-http-Update"],
  ["Connection", "close"],
  ["x-ESP8266-Chip-ID", "15602487"],
  ["x-ESP8266-STA-MAC", "DE:BA:7A:B1:E0:42"],
  ["x-ESP8266-AP-MAC", "DE:BA:7A:B1:E0:42"],
  ["x-ESP8266-free-space", "4194304"],
  ["x-ESP8266-sketch-size", "400000"],
  ["x-ESP8266-sketch-md5", "0123456789abcdef0123456789abcdef"],
  ["x-ESP8266-chip-size", "4194304"],
  ["x-ESP8266-sdk-version", "2.5.0"],
  ["x-ESP8266-mode", "sketch"],
  ["x-ESP8266-version", "1.0.0"],
  ["Content-Length", "0"],
];
