/**
 * A minimal, safe unpickler for `dict name -> numpy array` files such as VGGFace2's `resnet50_ft_weight.pkl`
 * (Python 2, protocol 2, latin1 strings) and what numpy 1.x/2.x write with protocols 2-5. It executes no code: the
 * only globals it knows are numpy's array reconstructors (`numpy.core` and numpy 2's `numpy._core`), `numpy.dtype`,
 * `numpy.ndarray`, `collections.OrderedDict` and `_codecs.encode` (how Python 3 pickles bytes at protocol 2);
 * every other global is refused by name. Arrays come back as Float32Array whatever their float/int dtype.
 */
import { halfToFloat } from "./half.ts";

/** A decoded numpy array. `dtype` is numpy's type string, e.g. "<f4". */
export interface PickledArray {
  dtype: string;
  shape: number[];
  data: Float32Array;
}

class Global {
  constructor(readonly module: string, readonly name: string) {}
  get path(): string {
    return `${this.module}.${this.name}`;
  }
}
class Dtype {
  byteorder = "<";
  constructor(readonly code: string) {}
}
class NdArray {
  shape: number[] = [];
  dtype: Dtype | null = null;
  fortran = false;
  raw: Uint8Array = new Uint8Array();
}

const ALLOWED = new Set([
  "numpy.core.multiarray._reconstruct",
  "numpy._core.multiarray._reconstruct",
  "numpy.core.numeric._frombuffer",
  "numpy._core.numeric._frombuffer",
  "numpy.ndarray",
  "numpy.dtype",
  "collections.OrderedDict",
  "_codecs.encode",
]);

function fail(reason: string): never {
  throw new Error(`Cannot read pickle: ${reason}`);
}

/**
 * A Python 2 `str` (BINSTRING), kept as its raw bytes: array data arrives this way and can be 100+ MB, so it is
 * never turned into a JS string; names and dtype codes are decoded as latin1 when used as text.
 */
class PyBytesStr {
  constructor(readonly bytes: Uint8Array) {}
  toString(): string {
    return latin1Decode(this.bytes);
  }
}

/** Python's latin1: byte b <-> U+00bb (TextDecoder("latin1") is windows-1252 on the web platform). */
function latin1Decode(b: Uint8Array): string {
  let out = "";
  for (let i = 0; i < b.length; i += 8192) out += String.fromCharCode(...b.subarray(i, i + 8192));
  return out;
}

function latin1Bytes(s: string): Uint8Array {
  const out = new Uint8Array(s.length);
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c > 255) fail("byte string holds a character above U+00FF");
    out[i] = c;
  }
  return out;
}

function toBytes(v: unknown): Uint8Array {
  if (v instanceof Uint8Array) return v;
  if (v instanceof PyBytesStr) return v.bytes;
  if (typeof v === "string") return latin1Bytes(v);
  return fail(`expected array data bytes, got ${typeof v}`);
}

/** Calls one of the whitelisted globals; anything else never reaches here. */
function call(fn: Global, args: unknown[]): unknown {
  switch (fn.name) {
    case "_reconstruct":
      return new NdArray();
    case "dtype":
      return new Dtype(String(args[0]));
    case "OrderedDict": {
      const m = new Map<unknown, unknown>();
      for (const pair of (args[0] as unknown[][] | undefined) ?? []) m.set(pair[0], pair[1]);
      return m;
    }
    case "encode":
      return toBytes(args[0]);
    case "_frombuffer": {
      const a = new NdArray();
      a.raw = toBytes(args[0]);
      a.dtype = args[1] as Dtype;
      a.shape = (args[2] as number[]).map(Number);
      a.fortran = String(args[3]) === "F";
      return a;
    }
  }
  return fail(`global "${fn.path}" cannot be called`);
}

function build(obj: unknown, state: unknown): void {
  if (obj instanceof NdArray) {
    // ndarray.__setstate__: (version, shape, dtype, is_fortran, rawdata)
    const s = state as unknown[];
    const [shape, dtype, fortran, raw] = s.length === 5 ? s.slice(1) : s;
    obj.shape = (shape as number[]).map(Number);
    obj.dtype = dtype as Dtype;
    obj.fortran = Boolean(fortran);
    obj.raw = toBytes(raw);
  } else if (obj instanceof Dtype) {
    obj.byteorder = String((state as unknown[])[1]);
  } else {
    fail("BUILD on an object that is not a numpy array or dtype");
  }
}

const READERS: Record<string, [number, (v: DataView, o: number, le: boolean) => number]> = {
  f2: [2, (v, o, le) => halfToFloat(v.getUint16(o, le))],
  f4: [4, (v, o, le) => v.getFloat32(o, le)],
  f8: [8, (v, o, le) => v.getFloat64(o, le)],
  i1: [1, (v, o) => v.getInt8(o)],
  u1: [1, (v, o) => v.getUint8(o)],
  i2: [2, (v, o, le) => v.getInt16(o, le)],
  i4: [4, (v, o, le) => v.getInt32(o, le)],
  i8: [8, (v, o, le) => Number(v.getBigInt64(o, le))],
};

function toArray(name: string, a: NdArray): PickledArray {
  if (!a.dtype) fail(`array "${name}" has no dtype`);
  const code = a.dtype.code.replace(/^[<>=|]/, "");
  const reader = READERS[code];
  if (!reader) fail(`array "${name}" has unsupported dtype "${a.dtype.code}"`);
  const [size, read] = reader;
  const count = a.shape.reduce((x, y) => x * y, 1);
  if (a.raw.length !== count * size) {
    fail(`array "${name}" has ${a.raw.length} bytes for ${code} [${a.shape}]`);
  }
  const le = a.dtype.byteorder !== ">";
  const view = new DataView(a.raw.buffer, a.raw.byteOffset, a.raw.byteLength);
  const contiguous = !a.fortran || a.shape.length < 2;
  // The common case (little-endian float32, C order) is one copy, which also aligns the data.
  if (contiguous && code === "f4" && le) {
    return { dtype: "<f4", shape: a.shape, data: new Float32Array(a.raw.slice().buffer) };
  }
  const data = new Float32Array(count);
  if (contiguous) {
    for (let i = 0; i < count; i++) data[i] = read(view, i * size, le);
  } else {
    // Fortran order: the first index varies fastest in the stored data; write C order.
    const strides = a.shape.map((_, d) => a.shape.slice(0, d).reduce((x, y) => x * y, 1));
    const idx = new Array(a.shape.length).fill(0);
    for (let i = 0; i < count; i++) {
      let f = 0;
      for (let d = 0; d < idx.length; d++) f += idx[d] * strides[d];
      data[i] = read(view, f * size, le);
      for (let d = idx.length - 1; d >= 0 && ++idx[d] === a.shape[d]; d--) idx[d] = 0;
    }
  }
  return { dtype: `${le ? "<" : ">"}${code}`, shape: a.shape, data };
}

/** Runs the pickle VM and returns the top-level object. */
function unpickle(bytes: Uint8Array): unknown {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const utf8 = new TextDecoder("utf-8");
  const stack: unknown[] = [];
  const marks: number[] = [];
  const memo = new Map<number, unknown>();
  let pos = 0;
  const need = (n: number) => {
    if (pos + n > bytes.length) fail(`truncated at byte ${pos}`);
    const p = pos;
    pos += n;
    return p;
  };
  const u8 = () => bytes[need(1)];
  const u16 = () => view.getUint16(need(2), true);
  const u32 = () => view.getUint32(need(4), true);
  const u64 = () => Number(view.getBigUint64(need(8), true));
  const raw = (n: number) => bytes.subarray(need(n), pos);
  const line = () => {
    const end = bytes.indexOf(0x0a, pos);
    if (end < 0) fail(`unterminated line at byte ${pos}`);
    const s = latin1Decode(bytes.subarray(pos, end));
    pos = end + 1;
    return s;
  };
  const pop = () => (stack.length ? stack.pop() : fail("stack underflow"));
  const popMark = () => {
    const m = marks.pop();
    if (m === undefined) fail("MARK missing");
    return stack.splice(m);
  };
  const top = () => stack[stack.length - 1];
  const global = (module: string, name: string) => {
    const g = new Global(module, name);
    if (!ALLOWED.has(g.path)) fail(`refusing global "${g.path}" (only numpy arrays and dicts are read)`);
    return g;
  };
  const setItems = (target: unknown, items: unknown[]) => {
    if (!(target instanceof Map)) fail("SETITEM on something that is not a dict");
    for (let i = 0; i + 1 < items.length; i += 2) target.set(items[i], items[i + 1]);
  };
  while (true) {
    const opAt = pos;
    const code = u8();
    switch (code) {
      case 0x80:
        u8();
        break; // PROTO
      case 0x95:
        u64();
        break; // FRAME: frames are just a read-ahead hint
      case 0x2e:
        return pop(); // STOP
      case 0x28:
        marks.push(stack.length);
        break; // MARK
      case 0x7d:
        stack.push(new Map());
        break; // EMPTY_DICT
      case 0x5d:
        stack.push([]);
        break; // EMPTY_LIST
      case 0x29:
        stack.push([]);
        break; // EMPTY_TUPLE
      case 0x74:
        stack.push(popMark());
        break; // TUPLE
      case 0x85:
        stack.push([pop()]);
        break; // TUPLE1
      case 0x86: {
        const b = pop();
        stack.push([pop(), b]);
        break;
      } // TUPLE2
      case 0x87: {
        const c = pop(), b = pop();
        stack.push([pop(), b, c]);
        break;
      } // TUPLE3
      case 0x6c:
        stack.push(popMark());
        break; // LIST
      case 0x64: {
        const items = popMark();
        const m = new Map();
        setItems(m, items);
        stack.push(m);
        break;
      } // DICT
      case 0x61: {
        const v = pop();
        (top() as unknown[]).push(v);
        break;
      } // APPEND
      case 0x65: {
        const items = popMark();
        (top() as unknown[]).push(...items);
        break;
      } // APPENDS
      case 0x73: {
        const v = pop(), k = pop();
        setItems(top(), [k, v]);
        break;
      } // SETITEM
      case 0x75: {
        const items = popMark();
        setItems(top(), items);
        break;
      } // SETITEMS
      case 0x71:
        memo.set(u8(), top());
        break; // BINPUT
      case 0x72:
        memo.set(u32(), top());
        break; // LONG_BINPUT
      case 0x70:
        memo.set(Number(line()), top());
        break; // PUT
      case 0x94:
        memo.set(memo.size, top());
        break; // MEMOIZE
      case 0x68:
      case 0x6a:
      case 0x67: { // BINGET, LONG_BINGET, GET
        const k = code === 0x68 ? u8() : code === 0x6a ? u32() : Number(line());
        if (!memo.has(k)) fail(`memo key ${k} missing`);
        stack.push(memo.get(k));
        break;
      }
      case 0x63: {
        const module = line();
        stack.push(global(module, line()));
        break;
      } // GLOBAL
      case 0x93: {
        const name = String(pop());
        stack.push(global(String(pop()), name));
        break;
      } // STACK_GLOBAL
      case 0x52: { // REDUCE
        const args = pop() as unknown[];
        const fn = pop();
        if (!(fn instanceof Global)) fail("REDUCE on something that is not a global");
        stack.push(call(fn, args));
        break;
      }
      case 0x62: {
        const state = pop();
        build(top(), state);
        break;
      } // BUILD
      case 0x4e:
        stack.push(null);
        break; // NONE
      case 0x88:
        stack.push(true);
        break; // NEWTRUE
      case 0x89:
        stack.push(false);
        break; // NEWFALSE
      case 0x4a:
        stack.push(view.getInt32(need(4), true));
        break; // BININT
      case 0x4b:
        stack.push(u8());
        break; // BININT1
      case 0x4d:
        stack.push(u16());
        break; // BININT2
      case 0x49: {
        const s = line();
        stack.push(s === "01" ? true : s === "00" ? false : Number(s));
        break;
      } // INT
      case 0x8a: { // LONG1: little-endian two's complement
        const n = u8();
        let v = 0n;
        for (let i = n - 1; i >= 0; i--) v = (v << 8n) | BigInt(bytes[pos + i]);
        if (n > 0 && bytes[pos + n - 1] & 0x80) v -= 1n << BigInt(8 * n);
        need(n);
        stack.push(Number(v));
        break;
      }
      case 0x47:
        stack.push(view.getFloat64(need(8), false));
        break; // BINFLOAT (big-endian)
      case 0x58: {
        const n = u32();
        stack.push(utf8.decode(raw(n)));
        break;
      } // BINUNICODE
      case 0x8c: {
        const n = u8();
        stack.push(utf8.decode(raw(n)));
        break;
      } // SHORT_BINUNICODE
      case 0x8d: {
        const n = u64();
        stack.push(utf8.decode(raw(n)));
        break;
      } // BINUNICODE8
      case 0x55: {
        const n = u8();
        stack.push(new PyBytesStr(raw(n)));
        break;
      } // SHORT_BINSTRING (py2 str)
      case 0x54: {
        const n = u32();
        stack.push(new PyBytesStr(raw(n)));
        break;
      } // BINSTRING (py2 str)
      case 0x43:
        stack.push(raw(u8()));
        break; // SHORT_BINBYTES
      case 0x42:
        stack.push(raw(u32()));
        break; // BINBYTES
      case 0x8e:
        stack.push(raw(u64()));
        break; // BINBYTES8
      case 0x96:
        stack.push(raw(u64()));
        break; // BYTEARRAY8 (in-band PickleBuffer)
      case 0x98:
        break; // READONLY_BUFFER: no-op for our copies
      case 0x97:
        return fail("out-of-band buffers (NEXT_BUFFER) are not supported");
      default:
        fail(`unsupported opcode 0x${code.toString(16)} at byte ${opAt}`);
    }
  }
}

/**
 * Reads a pickle of `dict name -> numpy array` into `name -> {dtype, shape, data}` (data as Float32Array, C order).
 * Throws `Cannot read pickle: ...` for anything else: unknown globals (no code is ever run), truncated data,
 * unsupported dtypes, or a top-level object that is not such a dict.
 */
export function readNumpyPickle(bytes: Uint8Array): Map<string, PickledArray> {
  const obj = unpickle(bytes);
  if (!(obj instanceof Map)) fail("top-level object is not a dict");
  const out = new Map<string, PickledArray>();
  for (const [key, v] of obj) {
    const k = key instanceof PyBytesStr ? key.toString() : key;
    if (typeof k !== "string") fail(`dict key ${String(k)} is not a string`);
    if (!(v instanceof NdArray)) fail(`value of "${k}" is not a numpy array`);
    out.set(k, toArray(k, v));
  }
  return out;
}
