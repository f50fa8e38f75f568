/**
 * The HTTP transport: our own accept loop over `Deno.listen`, each connection served by `Deno.serveHttp` (the
 * same hyper-based HTTP/1.1 as `Deno.serve`), with the connection policy neither `Deno.serve` nor Deno's
 * `node:http` gives. Measured with Deno 2.9.6 (README, Reliability):
 * - `Deno.serve` has no header-read or idle timeout and no connection cap, and an EMFILE in its accept loop is an
 *   uncaught promise rejection that ends the process;
 * - `node:http` ignores `headersTimeout` and `keepAliveTimeout`, and its accept loop stops for good after an
 *   EMFILE or once `maxConnections` refused a socket (new connections then wait in the backlog for ever).
 *
 * So, here:
 * - an accept error (EMFILE, ENFILE, ...) is logged and retried after a backoff of 5 ms doubling to 1 s: never
 *   fatal, and the loop goes on;
 * - a connection must deliver a request's headers within `headersTimeoutMs` of opening, and a kept-alive one
 *   its next request within `keepAliveTimeoutMs` of the last response, else it is closed;
 * - past `maxConnections` open connections a new one gets a complete `503 overloaded` problem with
 *   `Retry-After` and is closed (past `REFUSING` such answers at once, it is closed without one), so open
 *   descriptors stay bounded (src/fd_limit.ts);
 * - on drain, the listener closes (new connections are refused by the kernel), idle connections close after
 *   `DRAIN_LINGER_MS` (a request arriving on one meanwhile gets a complete 503), responses say
 *   `Connection: close`, and requests in flight either complete or, when the grace period ends first, get a
 *   complete `503 not_ready` with `Retry-After`.
 *
 * `Deno.serveHttp` is deprecated and gone from Deno's type declarations, but present and working in 2.9.6;
 * startup fails with a message naming it if a later Deno removes it.
 */
import { ApiError, toProblem } from "../src/errors.ts";

/** The peer of a request, as `Deno.ServeHandlerInfo` has it (what middleware reads as `c.env`). */
export interface ConnInfo {
  remoteAddr: Deno.NetAddr;
}

/** What the app answers with. */
export type FetchHandler = (req: Request, info: ConnInfo) => Response | Promise<Response>;

/** A policy event, for logs and metrics. */
export type ConnectionEvent = "header_timeout" | "idle_timeout" | "refused" | "accept_error";

/** Where to listen and the connection policy (see the module note). */
export interface HttpServerOptions {
  port: number;
  hostname: string;
  headersTimeoutMs: number;
  keepAliveTimeoutMs: number;
  maxConnections: number;
  onEvent?: (event: ConnectionEvent, detail?: string) => void;
}

/** How a drain ended: every request completed, or some were answered 503 when the grace period ended. */
export interface DrainResult {
  outcome: "drained" | "cut";
  /** Requests answered 503 at the end of the grace period. */
  cut: number;
}

/** A listening server. */
export interface HttpServer {
  port: number;
  /** Open client connections. */
  readonly connections: number;
  /** Stops accepting, closes idle connections, waits up to `graceMs` for requests in flight (module note). */
  drain(graceMs: number): Promise<DrainResult>;
}

/** How long an idle connection stays open once draining starts (at most the keep-alive timeout). */
export const DRAIN_LINGER_MS = 1000;

/** Refusals over the cap that may be writing their 503 at once; more are closed without one. */
export const REFUSING = 16;

interface RequestEvent {
  request: Request;
  respondWith(r: Response | Promise<Response>): Promise<void>;
}
interface HttpConn {
  nextRequest(): Promise<RequestEvent | null>;
  close(): void;
}
type ServeHttp = (conn: Deno.Conn) => HttpConn;

interface Connection {
  http: HttpConn;
  busy: number;
  /** One per request being handled: aborted when the client closes the connection before its answer. */
  requests: Set<AbortController>;
  timer?: ReturnType<typeof setTimeout>;
}

interface Exchange {
  done: boolean;
  cut(response: Response): void;
}

const encoder = new TextEncoder();

/** Starts listening at once (the port is bound when this returns). */
export function startHttpServer(handler: FetchHandler, opts: HttpServerOptions): HttpServer {
  const serveHttp = (Deno as unknown as { serveHttp?: ServeHttp }).serveHttp;
  if (typeof serveHttp !== "function") {
    throw new Error(
      `Cannot start: this Deno (${Deno.version.deno}) has no Deno.serveHttp (routes/http_server.ts)`,
    );
  }
  const { headersTimeoutMs, keepAliveTimeoutMs, maxConnections, onEvent } = opts;
  const listener = Deno.listen({ hostname: opts.hostname, port: opts.port, transport: "tcp" });
  const connections = new Set<Connection>();
  const exchanges = new Set<Exchange>();
  let refusing = 0;
  let draining = false;
  let onIdle: (() => void) | undefined;

  const close = (c: Connection) => {
    clearTimeout(c.timer);
    try {
      c.http.close();
    } catch { /* already closed */ }
  };
  const arm = (c: Connection, ms: number, event: ConnectionEvent) => {
    clearTimeout(c.timer);
    c.timer = setTimeout(() => {
      onEvent?.(event);
      close(c);
    }, ms);
  };

  const refuse = (conn: Deno.Conn) => {
    onEvent?.("refused", `${connections.size} open`);
    if (refusing >= REFUSING) return closeConn(conn);
    refusing++;
    const { problem, headers } = toProblem(
      new ApiError(
        draining ? "not_ready" : "overloaded",
        draining
          ? "Cannot accept connection: the server is shutting down"
          : `Cannot accept connection: ${connections.size} connections are open (the limit)`,
        { retryAfterSeconds: 1 },
      ),
    );
    const body = JSON.stringify(problem);
    const head = Object.entries({
      ...headers,
      connection: "close",
      "content-length": String(encoder.encode(body).length),
    })
      .map(([k, v]) => `${k}: ${v}\r\n`).join("");
    const bytes = encoder.encode(`HTTP/1.1 503 Service Unavailable\r\n${head}\r\n${body}`);
    // A client that never reads must not hold the descriptor: the write gets one second.
    const timer = setTimeout(() => closeConn(conn), 1000);
    conn.write(bytes).catch(() => 0).finally(() => {
      clearTimeout(timer);
      closeConn(conn);
      refusing--;
    });
  };

  const serveConnection = async (conn: Deno.Conn) => {
    const info: ConnInfo = { remoteAddr: conn.remoteAddr as Deno.NetAddr };
    const c: Connection = { http: serveHttp(conn), busy: 0, requests: new Set() };
    connections.add(c);
    arm(c, headersTimeoutMs, "header_timeout");
    try {
      while (true) {
        const event = await c.http.nextRequest();
        if (!event) break;
        clearTimeout(c.timer);
        c.busy++;
        const answered = draining
          ? event.respondWith(shuttingDown()).catch(() => {})
          : respond(event, info, c);
        answered.finally(() => {
          c.busy--;
          if (c.busy > 0) return;
          // Draining: the answer said `Connection: close`, so hyper closes the connection once its bytes are
          // flushed (closing it here could drop them before they reach the socket); the timer is a backstop.
          if (draining) arm(c, DRAIN_LINGER_MS, "idle_timeout");
          else arm(c, keepAliveTimeoutMs, "idle_timeout");
        });
      }
    } catch {
      // A reset or malformed connection ends here; hyper has answered what it could.
    } finally {
      // `nextRequest` gives null as soon as the client closes, even while a request is still being handled
      // (Deno.serveHttp's own `request.signal` only aborts once the response is written): stop that work now.
      const gone = new ApiError("client_closed", "Cannot answer: the client closed the connection");
      for (const ac of c.requests) ac.abort(gone);
      clearTimeout(c.timer);
      connections.delete(c);
      if (draining && connections.size === 0) onIdle?.();
    }
  };

  const respond = async (event: RequestEvent, info: ConnInfo, conn: Connection) => {
    const abandoned = new AbortController();
    conn.requests.add(abandoned);
    // The handler sees a signal that aborts when the client leaves or the answer is over (as Deno.serve's).
    const request = new Request(event.request, { signal: abandoned.signal });
    let cut: (r: Response) => void = () => {};
    const ex: Exchange = { done: false, cut: (r) => cut(r) };
    exchanges.add(ex);
    const replaced = new Promise<Response>((r) => cut = r);
    const answer = (async () => await handler(request, info))().catch(() => {
      const { problem, headers } = toProblem(new Error("unhandled"));
      return new Response(JSON.stringify(problem), { status: 500, headers });
    });
    try {
      let response = await Promise.race([answer, replaced]);
      if (draining) {
        // Tell the client not to reuse a connection that is about to close.
        const headers = new Headers(response.headers);
        headers.set("connection", "close");
        response = new Response(response.body, { status: response.status, headers });
      }
      await event.respondWith(response);
    } catch {
      // The client went away before the response was written.
    } finally {
      ex.done = true;
      exchanges.delete(ex);
      conn.requests.delete(abandoned);
      // Answered, cut by the drain or the client gone: any work still running for it is wasted.
      abandoned.abort(new ApiError("client_closed", "Cannot answer: the exchange is over"));
      // A handler answer that lost to the 503 is dropped; its body must not stay open.
      answer.then((r) => {
        if (!r.bodyUsed) r.body?.cancel().catch(() => {});
      }, () => {});
    }
  };

  (async () => {
    let backoff = 0;
    while (true) {
      let conn: Deno.Conn;
      try {
        conn = await listener.accept();
        backoff = 0;
      } catch (err) {
        if (draining || err instanceof Deno.errors.BadResource) return;
        backoff = Math.min(1000, Math.max(5, backoff * 2));
        onEvent?.("accept_error", `${(err as Error).message}; retrying in ${backoff} ms`);
        await new Promise((r) => setTimeout(r, backoff));
        continue;
      }
      if (connections.size >= maxConnections || draining) refuse(conn);
      else serveConnection(conn);
    }
  })();

  return {
    port: (listener.addr as Deno.NetAddr).port,
    get connections() {
      return connections.size;
    },
    async drain(graceMs) {
      draining = true;
      try {
        listener.close(); // new connections are refused by the kernel from here on
      } catch { /* closed */ }
      // An idle kept-alive connection may carry a request already on its way: it stays open a moment, and a
      // request arriving now gets a complete 503 (`shuttingDown`) instead of a closed socket.
      for (const c of connections) {
        if (c.busy === 0) arm(c, Math.min(keepAliveTimeoutMs, DRAIN_LINGER_MS), "idle_timeout");
      }
      const idle = new Promise<void>((r) => {
        onIdle = r;
        if (connections.size === 0) r();
      });
      let timer: ReturnType<typeof setTimeout> | undefined;
      const grace = new Promise<"cut">((r) => timer = setTimeout(() => r("cut"), graceMs));
      const outcome = await Promise.race([idle.then(() => "drained" as const), grace]);
      clearTimeout(timer);
      if (outcome === "drained") return { outcome, cut: 0 };
      let cut = 0;
      for (const ex of [...exchanges]) {
        if (ex.done) continue;
        cut++;
        ex.cut(shuttingDown(`the grace period of ${graceMs} ms ended`));
      }
      // The 503s get a moment to be written before the caller exits.
      let wait: ReturnType<typeof setTimeout> | undefined;
      await Promise.race([idle, new Promise((r) => wait = setTimeout(r, 1000))]);
      clearTimeout(wait);
      for (const c of connections) close(c);
      return { outcome, cut };
    },
  };
}

/** The complete 503 a request gets once the server is draining: `not_ready`, `Retry-After`, `Connection: close`. */
function shuttingDown(why = "it stopped taking requests"): Response {
  const { problem, headers } = toProblem(
    new ApiError("not_ready", `Cannot finish request: the server is shutting down (${why})`, {
      retryAfterSeconds: 1,
    }),
  );
  return new Response(JSON.stringify(problem), { status: 503, headers: { ...headers, connection: "close" } });
}

function closeConn(conn: Deno.Conn): void {
  try {
    conn.close();
  } catch { /* already closed */ }
}
