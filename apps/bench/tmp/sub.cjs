const fs = require("fs");
const dir = process.argv[2];
const p = JSON.parse(fs.readFileSync(dir + "/" + fs.readdirSync(dir).sort().pop()));
const byId = new Map(p.nodes.map((n) => [n.id, n]));
const parent = new Map();
for (const n of p.nodes) for (const c of n.children || []) parent.set(c, n.id);
const cnt = new Map();
p.samples.forEach((s, i) => cnt.set(s, (cnt.get(s) || 0) + (p.timeDeltas[i] || 0)));
const under = (id) => {
  for (let x = id; x !== undefined; x = parent.get(x)) {
    if (byId.get(x).callFrame.functionName === "doMunmap") return true;
  }
  return false;
};
const self = new Map();
let tot = 0;
for (const n of p.nodes) {
  if (!under(n.id)) continue;
  const v = cnt.get(n.id) || 0;
  tot += v;
  const k = n.callFrame.functionName + ":" + n.callFrame.lineNumber;
  self.set(k, (self.get(k) || 0) + v);
}
console.log("munmap total ms", (tot / 1000).toFixed(0));
[...self.entries()]
  .sort((a, b) => b[1] - a[1])
  .slice(0, 16)
  .forEach(([k, v]) => console.log(((v / tot) * 100).toFixed(1) + "%", k));
