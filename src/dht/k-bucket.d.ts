// Types for the parts of k-bucket 5 that the routing table uses (the package ships none).
declare module "k-bucket" {
  import { EventEmitter } from "node:events";

  interface KBucketContact {
    id: Uint8Array;
  }
  interface KBucketNode<C> {
    contacts: C[] | null;
    dontSplit: boolean;
    left: KBucketNode<C>;
    right: KBucketNode<C>;
  }
  interface KBucketOptions<C> {
    localNodeId?: Uint8Array;
    numberOfNodesPerKBucket?: number;
    numberOfNodesToPing?: number;
    arbiter?: (incumbent: C, candidate: C) => C;
    distance?: (a: Uint8Array, b: Uint8Array) => number;
  }
  class KBucket<C extends KBucketContact = KBucketContact> extends EventEmitter {
    constructor(opts?: KBucketOptions<C>);
    readonly localNodeId: Uint8Array;
    readonly root: KBucketNode<C>;
    add(contact: C): this;
    get(id: Uint8Array): C | null;
    remove(id: Uint8Array): this;
    count(): number;
    toArray(): C[];
    closest(id: Uint8Array, n?: number): C[];
  }
  export default KBucket;
}
