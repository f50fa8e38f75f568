/**
 * Reading a request's image input in its three forms (multipart, raw image body, JSON base64), its options
 * (validated query string, overridden by JSON body fields) and video timestamps, with every failure as a typed
 * 400/413/415 error.
 */
import { Buffer } from "node:buffer";
import { z } from "@hono/zod-openapi";
import { ApiError } from "../src/errors.ts";

/** The media type of a request without parameters, lower-cased ("" when absent). */
export function mediaType(contentType: string | undefined): string {
  return (contentType ?? "").split(";")[0].trim().toLowerCase();
}

/**
 * Decodes base64 (standard or URL-safe, optional `data:` URL prefix); 400 naming `path` when it is not base64.
 * An empty string gives zero bytes, so an empty image is refused by the decoder with the same 422 as an empty
 * file or raw body.
 */
export function fromBase64(text: string, path: string): Uint8Array {
  const body = text.replace(/^data:[^,]*;base64,/, "").replace(/\s+/g, "");
  if (!/^[A-Za-z0-9+/_-]*={0,2}$/.test(body)) {
    throw new ApiError("invalid_request", `Cannot read ${path}: it is not base64 image data`, {
      issues: [{ path, message: "expected base64 image bytes" }],
    });
  }
  const buf = Buffer.from(body, "base64");
  return new Uint8Array(buf.buffer, buf.byteOffset, buf.length);
}

/**
 * Zod issues as the problem body lists them, each message naming its field (`maxFaces: Too big: ...`); an
 * unknown key becomes one issue per key, `unknown option "landmark"`.
 */
export function issuesOf(error: z.ZodError, prefix = ""): { path: string; message: string }[] {
  return error.issues.flatMap((i) => {
    const at = (keys: PropertyKey[]) => [prefix, ...keys.map(String)].filter(Boolean).join(".") || "(body)";
    if (i.code === "unrecognized_keys") {
      return i.keys.map((k) => ({ path: at([...i.path, k]), message: `unknown option "${k}"` }));
    }
    const path = at(i.path);
    return [{ path, message: `${path}: ${i.message}` }];
  });
}

/**
 * Query issues restated with what the query string held, since zod only sees the coerced value: a repeated
 * option (`maxFaces=1&maxFaces=2`) is `given 2 times, expected one value` instead of `received NaN`, and a number
 * that is not one says what it got (`expected a number, got "abc"`).
 */
export function queryIssues(
  issues: readonly { path: string; message: string }[],
  queries: Record<string, string[]>,
): { path: string; message: string }[] {
  return issues.map(({ path, message }) => {
    const key = path.startsWith("query.") ? path.slice("query.".length) : undefined;
    const values = key !== undefined && Object.hasOwn(queries, key) ? queries[key] : undefined;
    if (!values) return { path, message };
    if (values.length > 1) {
      return { path, message: `${path}: given ${values.length} times, expected one value` };
    }
    if (message.endsWith("received NaN")) {
      return { path, message: `${path}: expected a number, got ${JSON.stringify(values[0])}` };
    }
    return { path, message };
  });
}

/**
 * Form issues for an option sent as a multipart field (`maxFaces` beside `image`): still unknown there, but the
 * message says where it belongs, the query string, which multipart requests read their options from.
 */
export function formIssues(
  issues: readonly { path: string; message: string }[],
  options: readonly string[],
): { path: string; message: string }[] {
  return issues.map(({ path, message }) =>
    options.includes(path) && message.endsWith(`unknown option "${path}"`)
      ? {
        path,
        message: `${path}: unknown form field "${path}" (options go in the query string: ?${path}=...)`,
      }
      : { path, message }
  );
}

/** The problem detail for failed validation of `target`: names the fields (at most three, then a count). */
export function invalidDetail(target: string, issues: readonly { path: string; message: string }[]): string {
  const shown = issues.slice(0, 3).map((i) => i.message).join("; ");
  const more = issues.length > 3 ? ` (and ${issues.length - 3} more)` : "";
  return `Cannot read ${target}: ${shown}${more}`;
}

/**
 * The options of a request: the query string's (validated, with defaults) overridden by the option fields a JSON
 * body carries (validated; fields the body leaves out are undefined and keep the query's value).
 */
export function withBodyOptions<O extends object>(query: O, body: { [K in keyof O]?: O[K] } = {}): O {
  const out = { ...query };
  // The body's keys, not the query's: an optional option without a default (`model`) is absent from the query.
  for (const k of Object.keys(body) as (keyof O)[]) {
    if (body[k] !== undefined) out[k] = body[k] as O[keyof O];
  }
  return out;
}

/** True for a JSON media type (`application/json` or any `+json` suffix). */
export function isJson(type: string): boolean {
  return type === "application/json" || type.endsWith("+json");
}

const Timestamps = z.array(z.number());

/**
 * The multipart `timestamps` field (a JSON array of numbers, one per frame) as values; absent or empty gives one
 * `undefined` per frame. 400 naming the field when it is not such an array or has the wrong length.
 */
export function parseTimestamps(text: string | undefined, frames: number): (number | undefined)[] {
  if (text === undefined || text === "") return new Array(frames).fill(undefined);
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    throw new ApiError("invalid_request", "Cannot read timestamps: not valid JSON", {
      issues: [{ path: "timestamps", message: "expected a JSON array of numbers" }],
    });
  }
  const r = Timestamps.safeParse(json);
  if (!r.success) {
    throw new ApiError("invalid_request", "Cannot read timestamps: expected a JSON array of numbers", {
      issues: issuesOf(r.error, "timestamps"),
    });
  }
  if (r.data.length !== frames) {
    throw new ApiError(
      "invalid_request",
      `Cannot read timestamps: ${r.data.length} given for ${frames} frames`,
      {
        issues: [{ path: "timestamps", message: `expected ${frames} values` }],
      },
    );
  }
  return r.data;
}

/**
 * The raw body bytes of a request. An empty body is passed on: the decoder answers it 422 `undecodable_image`,
 * as it does an empty multipart file or JSON `""`, so an empty image gets one answer in every form.
 */
export async function rawBody(req: { arrayBuffer(): Promise<ArrayBuffer> }): Promise<Uint8Array> {
  return new Uint8Array(await req.arrayBuffer());
}

/** The body forms an endpoint accepts, for 415 messages. */
export const ACCEPTED = {
  expressions:
    "multipart/form-data (field `image`), image/jpeg, image/png, image/webp (raw body) or application/json",
  frames: "multipart/form-data (repeated field `frames`) or application/json",
} as const;

/** 415 naming the received media type and the accepted ones. */
export function unsupportedType(type: string, accepted: string): ApiError {
  return new ApiError(
    "unsupported_media_type",
    `Cannot read request: unsupported content type "${type}" (send ${accepted})`,
  );
}

/**
 * The uploaded file(s) in a multipart field, read straight from the form so a wrong field name, a text value or a
 * repeated single field gets a 400 naming the field it expected.
 */
export async function formFiles(
  req: { formData(): Promise<FormData> },
  field: string,
  { multiple = false }: { multiple?: boolean } = {},
): Promise<{ files: File[]; form: FormData }> {
  let form: FormData;
  try {
    form = await req.formData();
  } catch (err) {
    throw new ApiError("invalid_request", `Cannot read multipart body: ${(err as Error).message}`, {
      issues: [{ path: "(body)", message: "malformed multipart/form-data" }],
    });
  }
  const values = form.getAll(field);
  const files = values.filter((v): v is File => typeof v !== "string");
  const expected = multiple ? `one or more files in field \`${field}\`` : `one file in field \`${field}\``;
  const fields = [...new Set(form.keys())];
  const problem = values.length === 0
    ? `no field \`${field}\`${fields.length ? ` (got ${fields.map((f) => `\`${f}\``).join(", ")})` : ""}`
    : files.length !== values.length
    ? `field \`${field}\` holds text, not a file`
    : !multiple && files.length > 1
    ? `field \`${field}\` appears ${files.length} times`
    : undefined;
  if (problem) {
    throw new ApiError("invalid_request", `Cannot read multipart body: expected ${expected}, ${problem}`, {
      issues: [{ path: field, message: `expected ${expected}` }],
    });
  }
  return { files, form };
}

/** Reads an uploaded file's bytes. */
export async function fileBytes(file: File): Promise<Uint8Array> {
  return new Uint8Array(await file.arrayBuffer());
}
