// A UDP socket driven by stdin, for measuring the lab's NATs without the chat stack (runs on Node
// and Deno). `udp_probe.mjs PORT` binds 0.0.0.0:PORT and prints {"bound":PORT}; each stdin line
// "HOST:PORT TEXT" sends TEXT there; each datagram received prints {"from":"HOST:PORT","text":…}.
import { createSocket } from "node:dgram";
import { createInterface } from "node:readline";

const socket = createSocket("udp4");
socket.on("message", (buf, from) => {
  process.stdout.write(JSON.stringify({ from: `${from.address}:${from.port}`, text: buf.toString("utf8") }) + "\n");
});
socket.bind(Number(process.argv[2] ?? 0), "0.0.0.0", () => {
  process.stdout.write(JSON.stringify({ bound: socket.address().port }) + "\n");
});
createInterface({ input: process.stdin }).on("line", (line) => {
  const m = /^(\S+):(\d+) (.*)$/.exec(line);
  if (m) socket.send(m[3], Number(m[2]), m[1]);
}).on("close", () => socket.close());
