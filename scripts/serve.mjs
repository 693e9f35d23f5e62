// A small static server for the browser demo (`npm run demo`): serves the repository root read-only.
//   node scripts/serve.mjs [--port 8080] [--csp] [--isolate] [--root DIR] [--host H] [--log]   (PORT env works too)
// Listens on 127.0.0.1 unless --host says otherwise. `--csp` sends Content-Security-Policy: script-src 'self' 'wasm-unsafe-eval' on every response.
// `--isolate` sends Cross-Origin-Opener-Policy: same-origin and Cross-Origin-Embedder-Policy: require-corp, which make
// pages cross-origin isolated (crossOriginIsolated, SharedArrayBuffer: what wasm threads need).
// Tests: `const { url, close } = await startServer({ root, port: 0, csp: true, isolate: true })`.
import { createServer } from "node:http";
import { createReadStream } from "node:fs";
import { stat, realpath } from "node:fs/promises";
import { dirname, extname, join, resolve, sep } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";

export const CSP = "script-src 'self' 'wasm-unsafe-eval'; worker-src 'self'";
export const ISOLATION = { "Cross-Origin-Opener-Policy": "same-origin", "Cross-Origin-Embedder-Policy": "require-corp" };
export const DEMO_PATH = "/examples/browser/";
const MIME = {
  ".html": "text/html; charset=utf-8", ".js": "text/javascript; charset=utf-8", ".mjs": "text/javascript; charset=utf-8",
  ".css": "text/css; charset=utf-8", ".json": "application/json; charset=utf-8", ".map": "application/json; charset=utf-8",
  ".wasm": "application/wasm", ".svg": "image/svg+xml", ".png": "image/png", ".ico": "image/x-icon",
  ".txt": "text/plain; charset=utf-8", ".md": "text/plain; charset=utf-8",
};
const defaultRoot = resolve(dirname(fileURLToPath(import.meta.url)), "..");
const inside = (root, p) => p === root || p.startsWith(root.endsWith(sep) ? root : root + sep);

/** Starts the server; resolves to { url (the demo's), origin, port, close() }. port 0 = any free port. */
export async function startServer({ root = defaultRoot, port = 8080, csp = false, isolate = false, host = "127.0.0.1", log = false } = {}) {
  const base = await realpath(resolve(root));
  const server = createServer(async (req, res) => {
    const send = (code, text, extra = {}) => {
      res.writeHead(code, { "Content-Type": "text/plain; charset=utf-8", ...extra });
      res.end(req.method === "HEAD" ? undefined : text + "\n");
    };
    if (csp) res.setHeader("Content-Security-Policy", CSP);
    if (isolate) for (const [k, v] of Object.entries(ISOLATION)) res.setHeader(k, v);
    res.setHeader("X-Content-Type-Options", "nosniff");
    res.setHeader("Cache-Control", "no-store");
    if (log) console.log(req.method, req.url);
    if (req.method !== "GET" && req.method !== "HEAD") return send(405, "method not allowed", { Allow: "GET, HEAD" });
    let rel, search;
    try {
      const u = new URL(req.url ?? "/", "http://x");
      rel = decodeURIComponent(u.pathname);
      search = u.search;
    } catch {
      return send(400, "bad request");
    }
    if (rel.includes("\0")) return send(400, "bad request");
    if (/[\\/]\./.test(rel)) return send(404, "not found"); // no dotfiles (.git, …)
    let file = resolve(join(base, rel));
    if (!inside(base, file)) return send(403, "forbidden");
    try {
      let st = await stat(file);
      if (st.isDirectory()) {
        if (!rel.endsWith("/")) return send(301, "moved", { Location: encodeURI(rel + "/") + search });
        file = join(file, "index.html");
        st = await stat(file);
      }
      const real = await realpath(file); // no symlinks out of the root either
      if (!inside(base, real) || !st.isFile()) return send(403, "forbidden");
      res.writeHead(200, { "Content-Type": MIME[extname(real).toLowerCase()] ?? "application/octet-stream", "Content-Length": st.size });
      if (req.method === "HEAD") return res.end();
      createReadStream(real).on("error", () => res.destroy()).pipe(res);
    } catch {
      send(404, "not found");
    }
  });
  const listen = (p) => new Promise((ok, fail) => {
    const onError = (err) => { server.off("listening", onListening); fail(err); };
    const onListening = () => { server.off("error", onError); ok(); };
    server.once("error", onError).once("listening", onListening).listen(p, host);
  });
  try {
    await listen(port);
  } catch (err) {
    if (err.code !== "EADDRINUSE") throw err;
    await listen(0); // busy: any free port
  }
  const actual = server.address().port;
  const origin = `http://localhost:${actual}`;
  return {
    url: origin + DEMO_PATH, origin, port: actual, server,
    close: () => new Promise((ok) => { server.closeAllConnections?.(); server.close(() => ok()); }),
  };
}

function parseArgs(argv) {
  const opts = { port: process.env.PORT ? Number(process.env.PORT) : 8080, csp: false, isolate: false, root: defaultRoot, log: false };
  for (let k = 0; k < argv.length; k++) {
    const [flag, inline] = argv[k].split("=", 2);
    const value = () => inline ?? argv[++k];
    if (flag === "--port" || flag === "-p") opts.port = Number(value());
    else if (flag === "--csp") opts.csp = true;
    else if (flag === "--isolate") opts.isolate = true;
    else if (flag === "--root") opts.root = resolve(value());
    else if (flag === "--host") opts.host = value();
    else if (flag === "--log") opts.log = true;
    else if (flag === "--help" || flag === "-h") {
      console.log("usage: node scripts/serve.mjs [--port N] [--csp] [--isolate] [--root DIR] [--host 127.0.0.1] [--log]   (PORT env also sets the port)");
      process.exit(0);
    } else throw new Error(`unknown argument ${argv[k]} (try --help)`);
  }
  if (!Number.isInteger(opts.port) || opts.port < 0 || opts.port > 65535) throw new Error(`bad port: ${opts.port}`);
  return opts;
}

if (process.argv[1] && import.meta.url === pathToFileURL(resolve(process.argv[1])).href) {
  let opts;
  try {
    opts = parseArgs(process.argv.slice(2));
  } catch (err) {
    console.error(err.message);
    process.exit(2);
  }
  const { url, port, close } = await startServer(opts);
  if (port !== opts.port && opts.port !== 0) console.log(`port ${opts.port} is busy; using ${port}`);
  console.log(`lstm-wasm demo: ${url}${opts.csp ? `   (CSP: ${CSP})` : ""}${opts.isolate ? "   (cross-origin isolated: COOP/COEP)" : ""}`);
  console.log("serving " + opts.root + " read-only · Ctrl+C to stop");
  const stop = () => close().then(() => process.exit(0));
  process.on("SIGINT", stop);
  process.on("SIGTERM", stop);
}
