#!/usr/bin/env python3
"""A loopback swarm of libtorrent DHT nodes and one read-only libtorrent client, driven over stdio.

Run by libtorrent.bench.ts (never on its own): prints one JSON line
{"type": "ready", "nodes": ["127.0.0.1:port", ...]} once every node knows the others, then
answers each stdin line {"get": "<hex public key>"} with
{"type": "got", "firstMs", "endMs", "seq", "value", "queries"}: the times until the first
dht_mutable_item_alert with an item and until the authoritative one (the end of the lookup),
and how many BEP 44 gets the client sent. Exits when stdin closes or after --max-seconds.
Everything binds to 127.0.0.1.
"""
import argparse
import json
import os
import sys
import threading
import time
import warnings

import libtorrent as lt

# session.status() is deprecated but still the plain way to read the routing table size.
warnings.simplefilter("ignore", DeprecationWarning)


def settings(bootstrap, read_only=False):
    return {
        "listen_interfaces": "127.0.0.1:0",
        "enable_dht": True,
        "enable_lsd": False,
        "enable_upnp": False,
        "enable_natpmp": False,
        "dht_bootstrap_nodes": ",".join(bootstrap),
        # Every node is 127.0.0.1: lift the one-node-per-IP rules and BEP 42 id enforcement.
        "dht_restrict_routing_ips": False,
        "dht_restrict_search_ips": False,
        "dht_enforce_node_id": False,
        "dht_prefer_verified_node_ids": False,
        # libtorrent blocks an IP past 5 DHT packets/s and sends at most 8,000 B/s of DHT
        # replies by default: on loopback every query comes from 127.0.0.1.
        "dht_block_ratelimit": 1_000_000,
        "dht_upload_rate_limit": 100_000_000,
        "dht_read_only": read_only,
        "alert_mask": lt.alert.category_t.dht_notification | lt.alert.category_t.stats_notification,
    }


def dht_port(ses):
    # libtorrent runs the DHT on the UDP socket of its listen interface, same port as TCP.
    return ses.listen_port()


def exit_with_parent(ppid):
    while os.getppid() == ppid:
        time.sleep(0.5)
    os._exit(4)


def wait_until(pred, seconds):
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if pred():
            return True
        time.sleep(0.05)
    return False


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--nodes", type=int, default=32)
    ap.add_argument("--max-seconds", type=float, default=600)
    args = ap.parse_args()
    # A hard deadline whatever the parent does, and an exit as soon as the parent is gone.
    threading.Timer(args.max_seconds, lambda: os._exit(3)).start()
    threading.Thread(target=exit_with_parent, args=(os.getppid(),), daemon=True).start()

    swarm = []
    first = lt.session(settings([]))
    swarm.append(first)
    seeds = [f"127.0.0.1:{dht_port(first)}"]
    for i in range(1, args.nodes):
        ses = lt.session(settings(seeds))
        swarm.append(ses)
        if len(seeds) < 4:
            seeds.append(f"127.0.0.1:{dht_port(ses)}")
    # Tell the early nodes about the late ones too, as a running swarm would have.
    addrs = [("127.0.0.1", dht_port(s)) for s in swarm]
    for ses in swarm:
        for host, port in addrs:
            ses.add_dht_node((host, port))
    # A node never lists itself, and a few of its table slots may be still unverified.
    want = min(args.nodes // 2, 12)
    wait_until(lambda: all(s.status().dht_nodes >= want for s in swarm), 30)

    client = lt.session(settings([f"{h}:{p}" for h, p in addrs[:8]], read_only=True))
    for host, port in addrs:
        client.add_dht_node((host, port))
    wait_until(lambda: client.status().dht_nodes >= want, 30)
    print(json.dumps({
        "type": "ready",
        "nodes": [f"{h}:{p}" for h, p in addrs],
        "tableSizes": [s.status().dht_nodes for s in swarm],
        "clientTable": client.status().dht_nodes,
    }), flush=True)

    for line in sys.stdin:
        req = json.loads(line)
        key = bytes.fromhex(req["get"])
        print(json.dumps(timed_get(client, key)), flush=True)
    # stdin closed: the bench is done (or gone). Exit at once, without libtorrent's orderly shutdown.
    os._exit(0)


def get_counter(ses, name):
    ses.post_session_stats()
    idx = next(m.value_index for m in lt.session_stats_metrics() if m.name == name)
    deadline = time.monotonic() + 2
    while time.monotonic() < deadline:
        ses.wait_for_alert(100)
        for a in ses.pop_alerts():
            if isinstance(a, lt.session_stats_alert):
                return a.values[name] if isinstance(a.values, dict) else a.values[idx]
    return -1


def item_bytes(alert):
    # The binding's `item` is a dict of the alert's fields; the value is the decoded bencoded `v`.
    try:
        v = alert.item
    except RuntimeError:
        return None
    if isinstance(v, dict):
        v = v.get("value")
    return v.decode("latin-1") if isinstance(v, bytes) else None


def timed_get(ses, key):
    before = get_counter(ses, "dht.dht_get_out")
    ses.pop_alerts()
    start = time.perf_counter()
    ses.dht_get_mutable_item(key, b"")
    first = end = None
    seq, value = -1, None
    deadline = start + 10
    while end is None and time.perf_counter() < deadline:
        ses.wait_for_alert(50)
        for a in ses.pop_alerts():
            if not isinstance(a, lt.dht_mutable_item_alert) or bytes(a.key) != key:
                continue
            # Timed when Python sees the alert: libtorrent's figures include that wake-up, if anything
            # overstating its time.
            now = time.perf_counter()
            # An alert without an item (nothing found yet) has seq 0 and an undefined entry.
            if first is None and a.seq > 0:
                first, seq, value = now, a.seq, item_bytes(a)
            if a.authoritative:
                end = now
                if a.seq > seq:
                    seq, value = a.seq, item_bytes(a)
    queries = get_counter(ses, "dht.dht_get_out") - before
    ms = lambda t: None if t is None else (t - start) * 1000
    return {"type": "got", "firstMs": ms(first), "endMs": ms(end), "seq": seq, "value": value, "queries": queries}


if __name__ == "__main__":
    main()
