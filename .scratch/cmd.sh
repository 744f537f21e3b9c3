set -e
cd /work/main
node -e '
import("./dist/src/commands/swarm.js").then(m => m.run([], { nodes: 20 }))' > /tmp/scratch/swarm.out &
PID=$!
sleep 2
cat /tmp/scratch/swarm.out
B=$(node -e 'const l=require("fs").readFileSync("/tmp/scratch/swarm.out","utf8").split("\n")[0]; console.log(JSON.parse(l).bootstrap.join(","))')
echo "bootstrap $B"
node -e '
const seed = "11".repeat(32);
require("fs").writeFileSync("/tmp/scratch/id.json", JSON.stringify({type:"chat-identity",version:1,publicKey:"x",seed}));'
node -e "import('./dist/src/commands/dht.js').then(m => m.run(['put','hello world'], { bootstrap: '$B', immutable: true })).then(c => console.error('exit', c))"
node -e "import('./dist/src/commands/dht.js').then(m => m.run(['find-node'], { bootstrap: '$B' })).then(c => console.error('exit', c))" | head -c 300; echo
node -e "import('./dist/src/commands/dht.js').then(m => m.run(['get','0000000000000000000000000000000000000000'], { bootstrap: '$B', stateDir: '/tmp/scratch/state' })).then(c => console.error('exit', c))" | head -c 300; echo
cat /tmp/scratch/state/dht.json | head -c 200; echo
kill -INT $PID; wait $PID || true
