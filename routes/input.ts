/**
 * Reading a request's image input in its three forms (multipart, raw image body, JSON base64) and its options
 * (query string, plus JSON body fields), with every failure as a typed 400/413/415 error.
 */
import { Buffer } from "node:buffer";
import type { z } from "@hono/zod-openapi";
import { ApiError } from "../src/errors.ts";

/** The media type of a request without parameters, lower-cased ("" when absent). */
export function mediaType(contentType: string | undefined): string {
  return (contentType ?? "").split(";")[0].trim().toLowerCase();
}

/** Decodes base64 (standard or URL-safe, optional `data:` URL prefix); 400 naming `path` when it is not base64. */
export function fromBase64(text: string, path: string): Uint8Array {
  const body = text.replace(/^data:[^,]*;base64,/, "").replace(/\s+/g, "");
  if (!/^[A-Za-z0-9+/_-]*={0,2}$/.test(body) || body.length === 0) {
    throw new ApiError("invalid_request", `Cannot read ${path}: it is not base64 image data`, {
      issues: [{ path, message: "expected base64 image bytes" }],
    });
  }
  const buf = Buffer.from(body, "base64");
  return new Uint8Array(buf.buffer, buf.byteOffset, buf.length);
}

/** Zod issues as the problem body lists them. */
export function issuesOf(error: z.ZodError, prefix = ""): { path: string; message: string }[] {
  return error.issues.map((i) => ({
    path: [prefix, ...i.path.map(String)].filter(Boolean).join(".") || "(body)",
    message: i.message,
  }));
}

/**
 * Validates options from the query string merged with the option fields a JSON body carries (body wins).
 * Throws 400 with the zod issues.
 */
export function parseOptions<S extends z.ZodObject>(
  schema: S,
  query: Record<string, string>,
  json: Record<string, unknown> = {},
): z.output<S> {
  const picked: Record<string, unknown> = {};
  for (const k of Object.keys(schema.shape)) if (k in json) picked[k] = json[k];
  const r = schema.safeParse({ ...query, ...picked });
  if (!r.success) {
    throw new ApiError("invalid_request", "Cannot read options: some values are invalid", {
      issues: issuesOf(r.error),
    });
  }
  return r.data;
}

/** The raw body bytes of a request, 400 when empty. */
export async function rawBody(req: { arrayBuffer(): Promise<ArrayBuffer> }): Promise<Uint8Array> {
  const bytes = new Uint8Array(await req.arrayBuffer());
  if (bytes.length === 0) {
    throw new ApiError("invalid_request", "Cannot read request: the body is empty", {
      issues: [{ path: "(body)", message: "an image is required" }],
    });
  }
  return bytes;
}

/** Reads an uploaded file's bytes. */
export async function fileBytes(file: File): Promise<Uint8Array> {
  return new Uint8Array(await file.arrayBuffer());
}
