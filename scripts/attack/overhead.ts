// Measures what one stored BEP 44 item costs beyond its bytes (ITEM_OVERHEAD in
// src/dht/constants.ts): fills a Store with N items and divides the heap growth.
// Run: node --expose-gc dist/scripts/attack/overhead.js
import { ITEM_OVERHEAD, LIMITS } from "../../src/dht/constants.ts";
import { itemSize, Store, type StoredItem } from "../../src/dht/store.ts";

const gc = (globalThis as { gc?: () => void }).gc;
if (!gc) throw new Error("Run with --expose-gc");
const N = 20_000;
const used = () => {
  gc!();
  const m = process.memoryUsage();
  return m.heapUsed + m.arrayBuffers;
};
for (const [label, mutable, size] of [["immutable, 10 B", false, 10], ["mutable, 200 B", true, 200], ["mutable, 1000 B", true, 1000]] as const) {
  const store = new Store({ ...LIMITS, items: N, itemBytes: Infinity, itemsPerIp: N }, () => new Uint8Array(20));
  const before = used();
  let bytes = 0;
  for (let i = 0; i < N; i++) {
    const item: StoredItem = mutable
      ? { raw: crypto.getRandomValues(new Uint8Array(size)), k: new Uint8Array(32).fill(i), sig: new Uint8Array(64), seq: i }
      : { raw: crypto.getRandomValues(new Uint8Array(size)) };
    bytes += itemSize(item) - ITEM_OVERHEAD;
    store.putItem(crypto.getRandomValues(new Uint8Array(20)), item, `10.0.${i >> 8 & 255}.${i & 255}`, 0);
  }
  const per = (used() - before - bytes) / N;
  console.log(`${label}: ${per.toFixed(0)} bytes of overhead per item (ITEM_OVERHEAD = ${ITEM_OVERHEAD})`);
  if (store.items !== N) throw new Error(`stored ${store.items}`);
}
