// The crypto layer's hot paths, @noble next to what the runtime offers natively (node:crypto and
// WebCrypto), in one run. Prints the runtime, then a markdown table of operations per second.
// Run: `node dist/scripts/bench/crypto.bench.js` or `deno run -A scripts/bench/crypto.bench.ts`.
import * as nodeCrypto from "node:crypto";
import { chacha20poly1305 } from "@noble/ciphers/chacha.js";
import { x25519 } from "@noble/curves/ed25519.js";
import { randomBytes } from "@noble/hashes/utils.js";
import { blindIdentity, blindPublicKey, signExpanded, verify, verifyAsync } from "../../src/crypto/blind.ts";
import { generateIdentity } from "../../src/crypto/identity.ts";
import { _useX25519, HandshakeState } from "../../src/crypto/noise.ts";
import { _nobleX25519, nativeX25519, type X25519 } from "../../src/crypto/x25519.ts";
import { openRecord, recordLookup, sealRecord } from "../../src/crypto/record.ts";

const BUDGET_MS = Number(process.env["CHAT_BENCH_MS"] ?? 500);
const subtle = globalThis.crypto.subtle;
const runtime = "Deno" in globalThis
  ? `deno v${(globalThis as unknown as { Deno: { version: { deno: string } } }).Deno.version.deno}`
  : `node ${process.version}`;

/** Operations per second of `fn`, run back to back for BUDGET_MS after a short warm-up. */
async function opsPerSecond(fn: () => unknown): Promise<number> {
  const run = async (ms: number) => {
    let n = 0;
    const start = performance.now();
    let elapsed = 0;
    while (elapsed < ms) {
      const r = fn();
      if (r instanceof Promise) await r;
      n++;
      elapsed = performance.now() - start;
    }
    return (n * 1000) / elapsed;
  };
  await run(BUDGET_MS / 4);
  return run(BUDGET_MS);
}

// ---- fixtures ----------------------------------------------------------------------------------
const alice = generateIdentity();
const p = 500_000;
const message = randomBytes(120); // about a BEP 44 signed buffer
const blinded = blindIdentity(alice, p);
const signature = signExpanded(blinded, message);
const sealed = sealRecord(alice, p, { addresses: [{ host: "192.0.2.1", port: 6881 }], t: p * 3600 }, p * 3600);
const lookup = recordLookup(alice.publicKey, p);

const SPKI_ED25519 = Uint8Array.from([0x30, 0x2a, 0x30, 0x05, 0x06, 0x03, 0x2b, 0x65, 0x70, 0x03, 0x21, 0x00]);
const SPKI_X25519 = Uint8Array.from([0x30, 0x2a, 0x30, 0x05, 0x06, 0x03, 0x2b, 0x65, 0x6e, 0x03, 0x21, 0x00]);
const PKCS8_X25519 = Uint8Array.from([0x30, 0x2e, 0x02, 0x01, 0x00, 0x30, 0x05, 0x06, 0x03, 0x2b, 0x65, 0x6e, 0x04, 0x22, 0x04, 0x20]);
const der = (prefix: Uint8Array, key: Uint8Array) => Buffer.concat([prefix, key]);
/** WebCrypto's types want ArrayBuffer-backed views; these are. */
const ab = (bytes: Uint8Array) => bytes as Uint8Array<ArrayBuffer>;

// Each DHT signature comes with its own key, so the native timings include importing the raw key.
const nodeVerify = () =>
  nodeCrypto.verify(null, message, nodeCrypto.createPublicKey({ key: der(SPKI_ED25519, blinded.publicKey), format: "der", type: "spki" }), signature);
const webVerify = async () => {
  const key = await subtle.importKey("raw", ab(blinded.publicKey), { name: "Ed25519" }, false, ["verify"]);
  return subtle.verify({ name: "Ed25519" }, key, ab(signature), ab(message));
};

const xa = x25519.keygen();
const xb = x25519.keygen();
const nodeX25519 = () =>
  nodeCrypto.diffieHellman({
    privateKey: nodeCrypto.createPrivateKey({ key: der(PKCS8_X25519, xa.secretKey), format: "der", type: "pkcs8" }),
    publicKey: nodeCrypto.createPublicKey({ key: der(SPKI_X25519, xb.publicKey), format: "der", type: "spki" }),
  });
const webPrivate = await subtle.importKey("pkcs8", der(PKCS8_X25519, xa.secretKey), { name: "X25519" }, false, ["deriveBits"]);
const webX25519 = async () => {
  const pub = await subtle.importKey("raw", ab(xb.publicKey), { name: "X25519" }, false, []);
  return subtle.deriveBits({ name: "X25519", public: pub }, webPrivate, 256);
};

const sr = x25519.keygen();
const si = x25519.keygen();
const prologue = new TextEncoder().encode("chat/1");
function ikHandshake() {
  const init = new HandshakeState({ pattern: "IK", initiator: true, prologue, s: si, rs: sr.publicKey });
  const resp = new HandshakeState({ pattern: "IK", initiator: false, prologue, s: sr });
  resp.readMessage(init.writeMessage(message.subarray(0, 45)));
  init.readMessage(resp.writeMessage(new Uint8Array(0)));
  return [init.split(), resp.split()];
}

/** One IK handshake with Noise switched to the given X25519 implementation. */
const handshakeWith = (impl: X25519) => () => {
  _useX25519(impl);
  return ikHandshake();
};

const aeadKey = randomBytes(32);
const nonce = randomBytes(12);
const nobleSeal = (pt: Uint8Array) => () => chacha20poly1305(aeadKey, nonce, undefined).encrypt(pt);
const nodeSeal = (pt: Uint8Array) => () => {
  const c = nodeCrypto.createCipheriv("chacha20-poly1305", aeadKey, nonce, { authTagLength: 16 });
  return Buffer.concat([c.update(pt), c.final(), c.getAuthTag()]);
};

// ---- the table ---------------------------------------------------------------------------------
type Row = { name: string; noble: () => unknown; node?: () => unknown; web?: () => unknown; note?: string };
const rows: Row[] = [
  { name: "blinding (blindIdentity + blindPublicKey)", noble: () => [blindIdentity(alice, p), blindPublicKey(alice.publicKey, p)], note: "no native API for h·A" },
  { name: "blinded signing (signExpanded)", noble: () => signExpanded(blinded, message), note: "no native expanded-key signing" },
  { name: "Ed25519 verify (native: raw, incl. key import)", noble: () => verify(signature, message, blinded.publicKey), node: nodeVerify, web: webVerify },
  { name: "verify() vs verifyAsync() (strict prechecks + WebCrypto)", noble: () => verify(signature, message, blinded.publicKey), web: () => verifyAsync(signature, message, blinded.publicKey) },
  { name: "record seal", noble: () => sealRecord(alice, p, { addresses: [{ host: "192.0.2.1", port: 6881 }], t: p * 3600 }, p * 3600) },
  { name: "record open (lookup precomputed)", noble: () => openRecord(lookup, sealed, p * 3600) },
  { name: "X25519 DH (native incl. key import)", noble: () => x25519.getSharedSecret(xa.secretKey, xb.publicKey), node: nodeX25519, web: webX25519 },
  {
    name: "IK handshake, both sides (10 X25519 operations)", noble: handshakeWith(_nobleX25519),
    ...(nativeX25519() ? { node: handshakeWith(nativeX25519()!) } : {}), note: "Noise uses node:crypto X25519 where available",
  },
  { name: "ChaCha20-Poly1305 seal 1 KiB", noble: nobleSeal(randomBytes(1024)), node: nodeSeal(randomBytes(1024)), note: "not in WebCrypto" },
  { name: "ChaCha20-Poly1305 seal 64 KiB", noble: nobleSeal(randomBytes(65536)), node: nodeSeal(randomBytes(65536)), note: "not in WebCrypto" },
];

const fmt = (n: number | undefined) => (n === undefined ? "—" : n >= 100 ? Math.round(n).toLocaleString("en-US") : n.toFixed(1));
console.log(runtime);
console.log("");
console.log("| operation | @noble ops/s | node:crypto ops/s | WebCrypto ops/s | best native ÷ noble |");
console.log("|---|--:|--:|--:|--:|");
for (const row of rows) {
  const noble = await opsPerSecond(row.noble);
  const native = row.node && (await opsPerSecond(row.node));
  const web = row.web && (await opsPerSecond(row.web));
  const best = Math.max(native ?? 0, web ?? 0);
  const ratio = best > 0 ? `${(best / noble).toFixed(1)}×` : row.note ?? "—";
  console.log(`| ${row.name} | ${fmt(noble)} | ${fmt(native)} | ${fmt(web)} | ${ratio} |`);
}
