import { test } from "uvu";
import * as assert from "uvu/assert";
import { ed25519 } from "@noble/curves/ed25519.js";
test("noble loads", () => { assert.is(ed25519.getPublicKey(new Uint8Array(32)).length, 32); });
test.run();
