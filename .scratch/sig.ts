import process from "node:process";
const p = new Promise((r) => process.on("SIGINT", r));
setTimeout(() => process.emit("SIGINT", "SIGINT"), 10);
console.log("got", await p);
process.removeAllListeners("SIGINT");
