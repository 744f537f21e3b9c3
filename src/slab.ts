// Short-lived byte arrays for the packet path, cut from shared slabs.
const SLAB = 65536;
let slab = new Uint8Array(0);
let slabAt = 0;

/**
 * `length` zero bytes cut from a 64 KiB slab, as Node's Buffer pool does: every typed array over
 * 64 bytes is a malloc and a backing store for the GC to track, and one per packet (its frame, its
 * sealed bytes) was a tenth of the send path. No byte is handed out twice, so a slice may live on
 * (a queued send, a frame kept for retransmission); it keeps its slab alive.
 */
export function slabAlloc(length: number): Uint8Array {
  if (length > SLAB / 4) return new Uint8Array(length);
  if (slabAt + length > slab.length) {
    slab = new Uint8Array(SLAB);
    slabAt = 0;
  }
  const out = slab.subarray(slabAt, slabAt + length);
  slabAt += (length + 7) & ~7; // 8-byte aligned, as an allocation would be
  return out;
}
