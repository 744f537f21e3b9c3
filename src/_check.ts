// Checks of the few JSON shapes on a command's start-up path (options, identity file, contacts, DHT
// state) without zod, whose import alone costs ~50 ms of a cold start on Node. Each check throws
// the first problem as zod words it, so errors read the same whichever the command uses.

export type Path = (string | number)[];
export type Check<T> = (value: unknown, path: Path) => T;

/** The first problem found, with where it is; `issues` has the shape cli.ts reads from zod. */
export class CheckError extends Error {
  override name = "CheckError";
  readonly issues: { path: Path; message: string }[];
  constructor(path: Path, message: string) {
    super(message);
    this.issues = [{ path, message }];
  }
}

export function fail(path: Path, message: string): never {
  throw new CheckError(path, message);
}

function received(v: unknown): string {
  if (v === null) return "null";
  if (Array.isArray(v)) return "array";
  if (typeof v === "number" && !Number.isFinite(v)) return String(v);
  return typeof v;
}

export function check<T>(schema: Check<T>, value: unknown): T {
  return schema(value, []);
}

export const optional = <T>(inner: Check<T>): Check<T | undefined> => (v, path) => (v === undefined ? undefined : inner(v, path));
export const withDefault = <T>(inner: Check<T>, value: T): Check<T> => (v, path) => (v === undefined ? value : inner(v, path));

export const boolean: Check<boolean> = (v, path) =>
  typeof v === "boolean" ? v : fail(path, `Invalid input: expected boolean, received ${received(v)}`);

export const literal = <T extends string | number>(expected: T): Check<T> => (v, path) =>
  v === expected ? expected : fail(path, `Invalid input: expected ${JSON.stringify(expected)}`);

export function string({ regex, message, min, max }: { regex?: RegExp; message?: string; min?: number; max?: number } = {}): Check<string> {
  return (v, path) => {
    if (typeof v !== "string") return fail(path, `Invalid input: expected string, received ${received(v)}`);
    if (min !== undefined && v.length < min) fail(path, `Too small: expected string to have >=${min} characters`);
    if (regex && !regex.test(v)) fail(path, message ?? `Invalid string: must match pattern ${regex}`);
    if (max !== undefined && v.length > max) fail(path, `Too big: expected string to have <=${max} characters`);
    return v;
  };
}

/** An option value as text (zod's `z.coerce.string()`). */
export const text: Check<string> = (v) => String(v);
export const textOf = (rules: { min?: number }): Check<string> => {
  const inner = string(rules);
  return (v, path) => inner(String(v), path);
};

export interface NumberRange {
  int?: boolean;
  min?: number;
  /** Exclusive lower bound (zod's `positive()` is `gt: 0`). */
  gt?: number;
  max?: number;
}

export function number({ int, min, gt, max }: NumberRange = {}): Check<number> {
  return (v, path) => {
    if (typeof v !== "number" || !Number.isFinite(v)) return fail(path, `Invalid input: expected number, received ${received(v)}`);
    if (int) {
      if (!Number.isInteger(v)) fail(path, "Invalid input: expected int, received number");
      if (v > Number.MAX_SAFE_INTEGER) fail(path, `Too big: expected int to be <=${Number.MAX_SAFE_INTEGER}`);
      if (v < Number.MIN_SAFE_INTEGER) fail(path, `Too small: expected int to be >=${Number.MIN_SAFE_INTEGER}`);
    }
    if (min !== undefined && v < min) fail(path, `Too small: expected number to be >=${min}`);
    if (gt !== undefined && v <= gt) fail(path, `Too small: expected number to be >${gt}`);
    if (max !== undefined && v > max) fail(path, `Too big: expected number to be <=${max}`);
    return v;
  };
}

/** An option value as a number (zod's `z.coerce.number()`). */
export const numeric = (range: NumberRange = {}): Check<number> => {
  const inner = number(range);
  return (v, path) => inner(Number(v), path);
};

export function array<T>(item: Check<T>, { max }: { max?: number } = {}): Check<T[]> {
  return (v, path) => {
    if (!Array.isArray(v)) return fail(path, `Invalid input: expected array, received ${received(v)}`);
    if (max !== undefined && v.length > max) fail(path, `Too big: expected array to have <=${max} items`);
    return v.map((x, i) => item(x, [...path, i]));
  };
}

export type Shape = Record<string, Check<unknown>>;
/** What a check returns, or what an object of this shape checks to. */
export type Infer<X> = X extends Check<infer T> ? T : X extends Shape ? { [K in keyof X]: ReturnType<X[K]> } : never;

/** An object of `shape`, keys checked in order; keys not in `shape` are dropped (as zod does). */
export function object<S extends Shape>(shape: S): Check<Infer<S>> {
  return (v, path) => {
    if (typeof v !== "object" || v === null || Array.isArray(v)) return fail(path, `Invalid input: expected object, received ${received(v)}`);
    const out: Record<string, unknown> = {};
    for (const [key, inner] of Object.entries(shape)) {
      const x = inner((v as Record<string, unknown>)[key], [...path, key]);
      if (x !== undefined) out[key] = x;
    }
    return out as Infer<S>;
  };
}
