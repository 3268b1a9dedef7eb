// "Install a file from this phone" on the UPDATE page: a file input, and a
// script that hashes the file (MD5, for the board's x-MD5 check), then sends
// it as the raw body of POST /update/upload (an app mod, *.xsa: POST
// /update/mod) and, on 202, opens /progress.
// Plain HTTP on 192.168.4.1 is no secure context, so the page has no
// WebCrypto: MD5_JS is RFC 1321 in about 1 KB, fed the file in 64 KB slices
// (File.slice + arrayBuffer), never the whole file at once. On a board that
// takes only signed images the form also asks for the .sig, sent base64 in
// x-Firmware-Signature (portal/upload.ts). Proven against
// RFC 1321's vectors and node:crypto in Chromium (test/e2e/upload-form.test.ts).
//
// The script (2.8 KB) is its own response, GET /update/upload.js, cached by
// the browser for the boot it names: inline, it would leave the UPDATE page
// room for only about 10 catalog rows under the 8 KB a page may take.
import type { PortalResponse } from "../ports";
import type { Route } from "./router";
import { esc } from "./html";
import { encodeComponent } from "./form";
import { MAX_SIGNATURE_FILE } from "../signature/sig-file";
/** Bytes hashed per slice; a multiple of 64 so only the last slice has a partial block. */
export const HASH_SLICE = 65536;

/**
 * `function(file, progress)` -> Promise of the file's MD5 in lowercase hex;
 * `progress(fraction)` after each slice. Rejects when the file shrinks while read.
 * K[i] = floor(abs(sin(i + 1)) * 2^32) (RFC 1321 3.4), computed, not listed.
 */
export const MD5_JS = (
  "function(f,p){var K=[],S=[7,12,17,22,5,9,14,20,4,11,16,23,6,10,15,21],h=[1732584193,-271733879,-1732584194,271733878],n=f.size,A=0,Z=__SLICE__,i;" +
  "for(i=0;i<64;i++)K[i]=Math.abs(Math.sin(i+1))*4294967296|0;" +
  // One 64-byte block at offset o of DataView v (RFC 1321 3.4): F, G, H, I and the message word of each of the 64 steps.
  "function B(v,o){for(var a=h[0],b=h[1],c=h[2],d=h[3],x,g,t,i=0;i<64;i++){x=i<16?b&c|~b&d:i<32?d&b|~d&c:i<48?b^c^d:c^(b|~d);" +
  "g=(i<16?i:i<32?5*i+1:i<48?3*i+5:7*i)&15;t=d;d=c;c=b;x=a+x+K[i]+v.getInt32(o+g*4,!0)|0;g=S[i>>4<<2|i&3];b=b+(x<<g|x>>>32-g)|0;a=t}" +
  "h[0]=h[0]+a|0;h[1]=h[1]+b|0;h[2]=h[2]+c|0;h[3]=h[3]+d|0}" +
  // Slice by slice; the last one gets the padding: 0x80, zeros, the bit length (64-bit little-endian).
  "function R(){return f.slice(A,A+Z).arrayBuffer().then(function(u){var m=u.byteLength,v=new DataView(u),o=0,q;A+=m;" +
  "if(A<n){if(m<Z)throw Error('it changed while read');for(;o<m;o+=64)B(v,o);p(A/n);return R()}" +
  "for(;o+64<=m;o+=64)B(v,o);q=new Uint8Array(m-o<56?64:128);q.set(new Uint8Array(u,o));q[m-o]=128;v=new DataView(q.buffer);" +
  "v.setUint32(q.length-8,n*8>>>0,!0);v.setUint32(q.length-4,n/536870912|0,!0);for(o=0;o<q.length;o+=64)B(v,o);" +
  "for(m='',o=0;o<16;o++)m+=(h[o>>2]>>>o%4*8&255|256).toString(16).slice(1);p(1);return m})}return R()}"
)
  .split("__SLICE__")
  .join(String(HASH_SLICE));

// Errors the board sends ({"ok":false,"error":"..."}) go to #error as text;
// while the body is sent, /api/progress (one poll in flight) says how far the
// board has written (T is 0 once it failed: a late poll shows nothing). The
// page leaves for /progress only on the 202: leaving while the body is still
// being sent would cut the upload. window.B tells the catalog poller not to
// reload the page.
const UPLOAD_JS =
  "(function(){var M=__MD5__,d=document,$=function(i){return d.getElementById(i)},I=$('upload-file'),G=$('upload-sig'),b=$('upload-btn'),s=$('upload-status'),g=$('upload-progress'),e=$('error'),T,w,f;" +
  "b.disabled=!1;I.onchange=function(){window.B=1};if(G)G.onchange=I.onchange;" +
  "function u(x,t){x=x*100|0;g.hidden=!1;g.value=x;s.textContent=t+': '+x+' %'}" +
  "function F(t){clearInterval(T);T=0;e.textContent=t;s.textContent='';g.hidden=!0;b.disabled=I.disabled=!1;if(G)G.disabled=!1;e.scrollIntoView()}" +
  "function W(){w=0}function P(){if(w)return;w=1;fetch('/api/progress',{cache:'no-store'}).then(function(r){return r.json()})" +
  ".then(function(j){T&&/ing$/.test(j.phase)&&j.total&&u(j.received/j.total,'Installing')}).then(W,W)}" +
  "$('upload-form').onsubmit=function(v){v.preventDefault();f=I.files[0];if(!f)return;var n=0,q=G&&G.files[0],h={'Content-Type':'application/octet-stream'};" +
  // A board that takes only signed images would refuse the image after the whole upload: say so before sending.
  "if(G&&!q)return F('This board installs only signed images: choose the image\\'s .sig file too');" +
  "window.B=1;b.disabled=I.disabled=!0;if(G)G.disabled=!0;e.textContent='';" +
  // The .sig is short text (ota-server sign writes it): sent whole, base64, in one header.
  "(q?q.text().then(function(t){if(t.length>__SIGMAX__||!/^[\\n\\r -~]+$/.test(t))throw Error(q.name+' is not a signature file');h['x-Firmware-Signature']=btoa(t)}):Promise.resolve())" +
  ".then(function(){return M(f,function(x){u(x,'Checking the file')})}).then(function(m){n=1;u(0,'Sending');T=setInterval(P,1000);" +
  // x-Filename names the progress page's target; a header carries printable ASCII only.
  "h['x-MD5']=m;if(/^[ -~]{1,64}$/.test(f.name))h['x-Filename']=f.name;" +
  // An app mod (.xsa) goes to /update/mod, anything else to the firmware upload.
  "return fetch(/\\.xsa$/i.test(f.name)?'/update/mod':'/update/upload',{method:'POST',headers:h,body:f})})" +
  ".then(function(r){if(r.status==202)return location.href='/progress';var t='Upload refused (HTTP '+r.status+')';" +
  "return r.json().then(function(j){F(j.error||t)},function(){F(t)})}," +
  "function(x){F(n?'The connection to the board was lost':'Could not read the file: '+x.message)})}})()";

export const UPLOAD_SCRIPT = UPLOAD_JS.split("__SIGMAX__").join(String(MAX_SIGNATURE_FILE)).split("__MD5__").join(MD5_JS);

export const UPLOAD_SCRIPT_PATH = "/update/upload.js";

/** The script can change only with a new boot, which the page's link names: the browser keeps it that long. */
function scriptResponse(body: string): PortalResponse {
  return {
    status: 200,
    headers: [
      ["Content-Type", "text/javascript; charset=utf-8"],
      ["Cache-Control", "private, max-age=86400"],
      ["X-Content-Type-Options", "nosniff"],
    ],
    body,
  };
}

export const uploadScriptRoute: Route = { path: UPLOAD_SCRIPT_PATH, get: () => scriptResponse(UPLOAD_SCRIPT), guarded: true };

/**
 * The form; its button stays disabled until the script runs. A board that
 * takes only signed images also asks for the .sig; a board that hosts mods
 * also takes an app mod (.xsa), which the script sends to /update/mod.
 */
export function uploadSection(bootId: string, signedOnly = false, mods = false): string {
  return (
    `<section><h2>Install a file from this phone</h2><form id=upload-form>` +
    `<label for=upload-file>${mods ? "Firmware (.bin) or app mod (.xsa)" : "Firmware file (.bin)"}</label>` +
    // application/octet-stream too: iOS offers no file for an extension it has no type for.
    `<input type=file id=upload-file name=file accept="${mods ? ".bin,.xsa" : ".bin"},application/octet-stream" required>` +
    (signedOnly ? `<label for=upload-sig>Its signature (.sig, from ota-server sign)</label><input type=file id=upload-sig name=sig accept=".sig,text/plain,application/octet-stream">` : "") +
    `<noscript><p class=why id=upload-noscript>Uploads need JavaScript, which is off in this browser.</p></noscript>` +
    `<progress id=upload-progress max=100 value=0 hidden></progress>` +
    `<p id=upload-status class=meta aria-live=polite></p>` +
    `<button id=upload-btn disabled>Install this file</button></form>` +
    `<script defer src="${UPLOAD_SCRIPT_PATH}?boot=${esc(encodeComponent(bootId))}"></script></section>`
  );
}
