/**
 * The one door to ffmpeg: `ffprobe` for a video's metadata and `ffmpeg` decoding it into raw RGB frames on
 * stdout at a requested rate and a bounded size, read frame by frame (never the whole video in memory) and
 * killed when the caller aborts. `FFMPEG_PATH` names the ffmpeg binary; ffprobe is the `ffprobe` beside it.
 * A missing binary is a 503 `ffmpeg_unavailable` naming the package to install.
 */
import { basename, dirname, join } from "node:path";
import { ApiError } from "../errors.ts";
import type { RawImage } from "../image.ts";

/** What ffprobe says about a video file (its first video stream). */
export interface VideoMeta {
  /** ffprobe's `format_name`, e.g. `mov,mp4,m4a,3gp,3g2,mj2`. */
  container: string;
  codec: string;
  width: number;
  height: number;
  /** Seconds. */
  duration: number;
  /** Source frame rate (frames per second). */
  fps: number;
  /** Frames in the stream (from the header, else duration x fps). */
  frames: number;
  /** File size in bytes. */
  size: number;
}

/** The ffprobe binary that belongs to an ffmpeg binary: `ffprobe` in the same folder (or on PATH). */
export function ffprobePath(ffmpeg: string): string {
  if (!ffmpeg.includes("/")) return "ffprobe";
  return join(dirname(ffmpeg), basename(ffmpeg).replace(/ffmpeg/, "ffprobe"));
}

function unavailable(binary: string): ApiError {
  return new ApiError(
    "ffmpeg_unavailable",
    `Cannot decode video: ffmpeg is not installed at "${binary}" (install the Debian package \`ffmpeg\`: ` +
      "`apt-get install -y ffmpeg`, or set FFMPEG_PATH)",
    { retryAfterSeconds: 60 },
  );
}

/** True when `binary` can be started. */
export async function ffmpegAvailable(binary: string): Promise<boolean> {
  try {
    const out = await new Deno.Command(binary, { args: ["-version"], stdout: "null", stderr: "null" })
      .output();
    return out.success;
  } catch {
    return false;
  }
}

function rate(text: string | undefined): number {
  const [a, b] = (text ?? "0/1").split("/").map(Number);
  return b ? a / b : a || 0;
}

/**
 * Reads a file's container, first video stream and duration with ffprobe. 503 when ffprobe is missing, 422
 * `undecodable_video` when it cannot read the file or finds no video stream.
 */
export async function probeVideo(
  path: string,
  { ffmpeg = "ffmpeg" }: { ffmpeg?: string } = {},
): Promise<VideoMeta> {
  const ffprobe = ffprobePath(ffmpeg);
  let out: Deno.CommandOutput;
  try {
    out = await new Deno.Command(ffprobe, {
      args: [
        "-v",
        "error",
        "-print_format",
        "json",
        "-show_format",
        "-show_streams",
        "-select_streams",
        "v:0",
        path,
      ],
      stdout: "piped",
      stderr: "piped",
    }).output();
  } catch (err) {
    if (err instanceof Deno.errors.NotFound || err instanceof Deno.errors.PermissionDenied) {
      throw unavailable(ffprobe);
    }
    throw err;
  }
  // ffprobe names the file: the client sees "the upload", not the server's path.
  const why = (new TextDecoder().decode(out.stderr).trim().split("\n").pop() ?? "").replaceAll(
    path,
    "the upload",
  );
  const info = out.success ? JSON.parse(new TextDecoder().decode(out.stdout)) : undefined;
  const stream = info?.streams?.[0];
  if (!stream) {
    throw new ApiError(
      "undecodable_video",
      `Cannot read video: ${why ? `ffprobe says "${why}"` : "the file has no video stream"}`,
    );
  }
  const fps = rate(stream.avg_frame_rate) || rate(stream.r_frame_rate);
  const duration = Number(info.format?.duration ?? stream.duration ?? 0);
  const frames = Number(stream.nb_frames) || Math.round(duration * fps);
  return {
    container: String(info.format?.format_name ?? ""),
    codec: String(stream.codec_name ?? ""),
    width: Number(stream.width ?? 0),
    height: Number(stream.height ?? 0),
    duration,
    fps,
    frames,
    size: Number(info.format?.size ?? 0),
  };
}

/** The size frames are decoded at: the source size scaled down (never up) so its longer side is <= `maxSide`. */
export function frameSize(width: number, height: number, maxSide: number): { width: number; height: number } {
  const k = Math.min(1, maxSide / Math.max(width, height));
  // Even sides: some scalers and pixel formats refuse odd ones.
  const even = (v: number) => Math.max(2, Math.round((v * k) / 2) * 2);
  return k === 1 ? { width, height } : { width: even(width), height: even(height) };
}

/** How to decode: rate, time range, output size, where to start, and the abort signal that kills ffmpeg. */
export interface DecodeVideoOptions {
  ffmpeg?: string;
  /** Output frames per second. */
  fps: number;
  /** Seconds from the start of the video. */
  start?: number;
  end?: number;
  width: number;
  height: number;
  /** Frames to drop before the first one yielded (resuming a job: they were done before). */
  skip?: number;
  signal?: AbortSignal;
  /** Called with the ffmpeg process id and its exit once it runs (a cancel waits for that exit). */
  onSpawn?: (pid: number, exited: Promise<void>) => void;
}

/**
 * Decodes `path` with ffmpeg into RGB frames of `width` x `height` at `fps`, yielded one at a time as they
 * arrive on stdout. Aborting `signal` (or leaving the loop) kills ffmpeg with SIGKILL and waits for it to exit.
 * 422 `undecodable_video` when ffmpeg fails, with its last stderr line.
 */
export async function* decodeVideo(path: string, o: DecodeVideoOptions): AsyncGenerator<RawImage> {
  const binary = o.ffmpeg ?? "ffmpeg";
  if (o.signal?.aborted) return;
  const args = ["-nostdin", "-v", "error", "-noautorotate"];
  if (o.start) args.push("-ss", String(o.start));
  args.push("-i", path);
  if (o.end !== undefined) args.push("-t", String(Math.max(0, o.end - (o.start ?? 0))));
  args.push(
    "-an",
    "-sn",
    "-vf",
    `fps=${o.fps},scale=${o.width}:${o.height}:flags=bilinear`,
    "-pix_fmt",
    "rgb24",
    "-f",
    "rawvideo",
    "pipe:1",
  );
  let child: Deno.ChildProcess;
  try {
    // Its own process group: a Ctrl-C at the terminal reaches this process, which decides (the server drains,
    // `deno task annotate` finishes the video), instead of killing ffmpeg mid-video behind its back.
    child = new Deno.Command(binary, {
      args,
      stdin: "null",
      stdout: "piped",
      stderr: "piped",
      detached: true,
    })
      .spawn();
  } catch (err) {
    if (err instanceof Deno.errors.NotFound || err instanceof Deno.errors.PermissionDenied) {
      throw unavailable(binary);
    }
    throw err;
  }
  let exited = false;
  const status = child.status.then((s) => {
    exited = true;
    return s;
  });
  o.onSpawn?.(child.pid, status.then(() => {}));
  const stderr = new Response(child.stderr).text();
  const kill = () => {
    if (!exited) {
      try {
        child.kill("SIGKILL");
      } catch { /* already gone */ }
    }
  };
  o.signal?.addEventListener("abort", kill, { once: true });
  const bytes = o.width * o.height * 3;
  const reader = child.stdout.getReader();
  let frame = new Uint8Array(bytes);
  let filled = 0;
  let index = 0;
  try {
    while (true) {
      const { done, value } = await reader.read();
      if (done) break;
      let at = 0;
      while (at < value.length) {
        const n = Math.min(bytes - filled, value.length - at);
        frame.set(value.subarray(at, at + n), filled);
        filled += n;
        at += n;
        if (filled === bytes) {
          if (index++ >= (o.skip ?? 0)) yield { data: frame, width: o.width, height: o.height, channels: 3 };
          frame = new Uint8Array(bytes);
          filled = 0;
        }
      }
    }
    const s = await status;
    if (!s.success && !o.signal?.aborted) {
      const why = (await stderr).trim().split("\n").pop() ?? "";
      throw new ApiError("undecodable_video", `Cannot decode video: ffmpeg exited with ${s.code} ("${why}")`);
    }
  } finally {
    o.signal?.removeEventListener("abort", kill);
    kill();
    reader.releaseLock();
    await child.stdout.cancel().catch(() => {});
    await status;
    await stderr.catch(() => "");
  }
}
