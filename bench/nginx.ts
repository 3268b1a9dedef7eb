// nginx (Debian's nginx-light) on a loopback port with a throw-away config,
// serving the same directory: the yardstick for the download figures. Not a
// system service: its own prefix, pid file and logs under a temp directory.
import { spawn, type ChildProcess } from "node:child_process";
import { mkdir, writeFile } from "node:fs/promises";
import { join } from "node:path";

export interface Nginx {
  pid: number;
  /** Master and workers: RSS is summed over all of them. */
  pids(): number[];
  stop(): Promise<void>;
}

export async function startNginx(root: string, port: number, workDir: string, workers: number, sendfile = true): Promise<Nginx> {
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
  server {
    listen 127.0.0.1:${port};
    root ${root};
    location /_catalog/ { alias ${root}/; autoindex on; autoindex_format json; }
  }
}
`,
  );
  const child: ChildProcess = spawn("nginx", ["-c", conf, "-p", workDir], { stdio: ["ignore", "ignore", "inherit"] });
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
