/**
 * The shared inference worker (`INFERENCE_WORKER=on`): opens, runs and releases sessions for src/session.ts on
 * its own thread, so a model run never blocks the main thread's event loop. Messages carry plain typed arrays;
 * results' buffers are transferred, not copied.
 */
import { type ModelSession, openModel, type OpenOptions } from "./session.ts";

const sessions = new Map<number, ModelSession>();
let next = 1;
const scope = self as unknown as {
  postMessage(message: unknown, transfer?: Transferable[]): void;
  onmessage: (e: MessageEvent) => void;
};
scope.onmessage = async (e: MessageEvent) => {
  const { id, op } = e.data;
  try {
    if (op === "open") {
      const s = await openModel(e.data.path, { ...(e.data.opts as OpenOptions), worker: false });
      const sid = next++;
      sessions.set(sid, s);
      scope.postMessage({
        id,
        ok: {
          sid,
          manifest: s.manifest,
          provider: s.provider,
          fallbackReason: s.fallbackReason,
          inputNames: [...s.inputNames],
          outputNames: [...s.outputNames],
        },
      });
    } else if (op === "run") {
      const out = await sessions.get(e.data.sid)!.run(e.data.feeds, e.data.outputs);
      scope.postMessage({ id, ok: out }, Object.values(out).map((t) => t.data.buffer as ArrayBuffer));
    } else if (op === "release") {
      await sessions.get(e.data.sid)?.release();
      sessions.delete(e.data.sid);
      scope.postMessage({ id, ok: true });
    }
  } catch (err) {
    scope.postMessage({ id, err: (err as Error).message });
  }
};
