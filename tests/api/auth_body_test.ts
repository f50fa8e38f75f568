/**
 * Auth before anything: with API_KEYS set, a request without a key is answered 401 before its body is read, for
 * every method (OPTIONS included), and a CORS preflight is answered without reading its body. Each request
 * announces a 24 MiB body and sends 1 KiB of it: an answer that waited for the body would only come at
 * BODY_TIMEOUT_MS (60 s here) as a 408, so an answer at all, and its status, shows the body was not awaited.
 * Against the real server on loopback.
 */
import assert from "node:assert/strict";
import { startLoopbackServer, tinyModelDir } from "./fixtures.ts";

const DECLARED = 24 * 1024 * 1024;

/** Sends `head` and 1 KiB of body, then waits (bounded) for one whole response and returns it. */
async function partialExchange(port: number, head: string): Promise<string> {
  const conn = await Deno.connect({ hostname: "127.0.0.1", port });
  const timer = setTimeout(() => conn.close(), 15_000); // a bound on a hang, not a timing check
  try {
    await conn.write(new TextEncoder().encode(head));
    await conn.write(new Uint8Array(1024));
    let text = "";
    const buf = new Uint8Array(65536);
    while (true) {
      const n = await conn.read(buf).catch(() => null);
      if (n === null) break;
      text += new TextDecoder().decode(buf.subarray(0, n));
      const m = text.match(/content-length: (\d+)\r\n[\s\S]*?\r\n\r\n/i);
      if (m && text.length >= text.indexOf("\r\n\r\n") + 4 + Number(m[1])) break;
      if (/^HTTP\/1\.1 204/.test(text) && text.includes("\r\n\r\n")) break;
    }
    return text;
  } finally {
    clearTimeout(timer);
    try {
      conn.close();
    } catch { /* closed by the timer */ }
  }
}

function head(method: string, path: string, extra = ""): string {
  return `${method} ${path} HTTP/1.1\r\nHost: x\r\nContent-Type: image/png\r\nContent-Length: ${DECLARED}\r\n${extra}\r\n`;
}

Deno.test("with API_KEYS, no body is read before the key is checked; a CORS preflight is answered unread", async () => {
  const dir = await tinyModelDir("fer-auth-");
  const server = startLoopbackServer(dir, {
    API_KEYS: "k1",
    CORS_ORIGINS: "https://app.example",
    BODY_TIMEOUT_MS: "60000",
  });
  try {
    await server.ready;
    const port = server.port;
    // 24 at once, as in the report (RSS 290 -> 1,216 MB when each body was buffered).
    const options = await Promise.all(
      Array.from({ length: 24 }, () => partialExchange(port, head("OPTIONS", "/v1/expressions"))),
    );
    for (const text of options) {
      assert.match(text, /^HTTP\/1\.1 401/, text.slice(0, 200));
      const problem = JSON.parse(text.slice(text.indexOf("\r\n\r\n") + 4));
      assert.equal(problem.code, "unauthorized");
    }
    for (const method of ["POST", "PUT", "DELETE", "PATCH"]) {
      const text = await partialExchange(port, head(method, "/v1/videos/frames"));
      assert.match(text, /^HTTP\/1\.1 401/, `${method}: ${text.slice(0, 200)}`);
    }
    // With a key, a method the route does not take is a 405, its body unread.
    const wrong = await partialExchange(port, head("PUT", "/v1/expressions", "X-API-Key: k1\r\n"));
    assert.match(wrong, /^HTTP\/1\.1 405/, wrong.slice(0, 200));
    // A browser preflight carries no key; the CORS middleware answers it first, without its body.
    const preflight = await partialExchange(
      port,
      head(
        "OPTIONS",
        "/v1/expressions",
        "Origin: https://app.example\r\nAccess-Control-Request-Method: POST\r\n",
      ),
    );
    assert.match(preflight, /^HTTP\/1\.1 204/, preflight.slice(0, 200));
    assert.match(preflight, /access-control-allow-origin: https:\/\/app\.example/i);
  } finally {
    await server.shutdown();
    await Deno.remove(dir, { recursive: true });
  }
});
