// nginx (Debian's nginx-light) on a loopback port with a throw-away config,
// serving the same directory: the yardstick for the download figures. Not a
// system service: its own prefix, pid file and logs under a temp directory.
import { spawn, spawnSync, type ChildProcess } from "node:child_process";
import { existsSync } from "node:fs";
import { mkdir, writeFile } from "node:fs/promises";
import { join } from "node:path";

/** Debian installs nginx in /usr/sbin, which a non-root PATH may lack. */
export const NGINX = existsSync("/usr/sbin/nginx") ? "/usr/sbin/nginx" : "nginx";

export function hasNginx(): boolean {
  return spawnSync(NGINX, ["-v"]).status === 0;
}

export interface Nginx {
  pid: number;
  /** Master and workers: RSS is summed over all of them. */
  pids(): number[];
  stop(): Promise<void>;
}

/** What the server block does: serve `root` (the yardstick), sit in front of ota-server in X-Accel-Redirect mode, or balance several ota-servers. */
export type NginxSite =
  | { kind: "static"; root: string }
  | { kind: "accel"; upstreamPort: number; prefix: string; dir: string }
  | { kind: "balance"; upstreamPorts: number[] };

function siteConfig(site: NginxSite, port: number): string {
  // A server that is gone (killed, restarting) is skipped for a second; a GET it dropped goes to the next one.
  if (site.kind === "balance")
    return `  upstream ota_servers {
${site.upstreamPorts.map((p) => `    server 127.0.0.1:${p} max_fails=1 fail_timeout=1s;`).join("\n")}
    keepalive 64;
  }
  server {
    listen 127.0.0.1:${port};
    location / {
      proxy_pass http://ota_servers;
      proxy_http_version 1.1;
      proxy_set_header Connection "";
      proxy_set_header Host $http_host;
      proxy_connect_timeout 2s;
      proxy_next_upstream error timeout http_502 http_503;
    }
  }`;
  if (site.kind === "static")
    return `  server {
    listen 127.0.0.1:${port};
    root ${site.root};
    location /_catalog/ { alias ${site.root}/; autoindex on; autoindex_format json; }
  }`;
  // Snapshots are named by their SHA-256 and never change: their descriptors can be cached.
  return `  upstream ota_server { server 127.0.0.1:${site.upstreamPort}; keepalive 1024; keepalive_requests 1000000; }
  server {
    listen 127.0.0.1:${port};
    location / {
      proxy_pass http://ota_server;
      proxy_http_version 1.1;
      proxy_set_header Connection "";
      proxy_set_header Host $http_host;
    }
    location ${site.prefix} {
      internal;
      alias ${site.dir}/;
      open_file_cache max=256 inactive=60s;
      # nginx keeps only a few upstream headers on X-Accel-Redirect: put ours back
      etag off;
      add_header x-MD5 $upstream_http_x_md5;
      add_header x-SHA256 $upstream_http_x_sha256;
      add_header ETag $upstream_http_etag;
      add_header x-Firmware-Signature $upstream_http_x_firmware_signature;
    }
  }`;
}

export async function startNginx(root: string | NginxSite, port: number, workDir: string, workers: number, sendfile = true): Promise<Nginx> {
  const site: NginxSite = typeof root === "string" ? { kind: "static", root } : root;
  await mkdir(join(workDir, "tmp"), { recursive: true });
  const conf = join(workDir, "nginx.conf");
  await writeFile(
    conf,
    `${process.getuid?.() === 0 ? "user root;\n" : ""}worker_processes ${workers};
daemon off;
pid ${join(workDir, "nginx.pid")};
error_log ${join(workDir, "error.log")} warn;
events { worker_connections 4096; }
http {
  access_log off;
  sendfile ${sendfile ? "on" : "off"};
  tcp_nopush on;
  keepalive_requests 1000000;
  client_body_temp_path ${join(workDir, "tmp")};
  proxy_temp_path ${join(workDir, "tmp")};
  fastcgi_temp_path ${join(workDir, "tmp")};
  uwsgi_temp_path ${join(workDir, "tmp")};
  scgi_temp_path ${join(workDir, "tmp")};
  types { application/octet-stream bin; }
${siteConfig(site, port)}
}
`,
  );
  const child: ChildProcess = spawn(NGINX, ["-c", conf, "-p", workDir], { stdio: ["ignore", "ignore", "inherit"] });
  await new Promise<void>((resolve, reject) => {
    child.once("error", reject);
    child.once("exit", (code) => reject(new Error(`nginx exited ${code}; see ${join(workDir, "error.log")}`)));
    const poll = async () => {
      const { connect } = await import("node:net");
      const s = connect(port, "127.0.0.1");
      s.once("connect", () => (s.destroy(), resolve()));
      s.once("error", () => setTimeout(poll, 50));
    };
    void poll();
  });
  child.removeAllListeners("exit");
  const { childPids } = await import("./rss");
  return {
    pid: child.pid!,
    pids: () => [child.pid!, ...childPids(child.pid!)],
    stop: () =>
      new Promise((resolve) => {
        if (child.exitCode !== null) return resolve();
        child.once("exit", () => resolve());
        child.kill("SIGQUIT"); // nginx's graceful stop
      }),
  };
}
