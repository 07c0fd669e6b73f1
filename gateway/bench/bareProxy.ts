/**
 * The floor any Node gateway pays: receive a request, forward it with undici,
 * return the answer chunk by chunk. No parsing, no routing, no logging.
 * Usage: node gateway/bench/bareProxy.ts <upstream-base-url>
 */
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { Pool } from "undici";

const upstream = new Pool(process.argv[2]!, { connections: 256 });

const server = createServer((req, res) => {
  const chunks: Buffer[] = [];
  req.on("data", (c: Buffer) => chunks.push(c));
  req.on("end", async () => {
    try {
      const up = await upstream.request({
        method: "POST",
        path: req.url!,
        headers: { "content-type": "application/json" },
        body: Buffer.concat(chunks),
      });
      res.writeHead(up.statusCode, {
        "content-type": String(up.headers["content-type"] ?? "application/json"),
      });
      for await (const chunk of up.body) res.write(chunk);
      res.end();
    } catch {
      res.writeHead(502).end();
    }
  });
});
server.keepAliveTimeout = 65_000;
server.listen(0, "127.0.0.1", () => {
  console.log(
    JSON.stringify({ msg: "listening", url: `http://127.0.0.1:${(server.address() as AddressInfo).port}` }),
  );
});
process.stdin.on("end", () => process.exit(0));
process.stdin.resume();
process.on("SIGTERM", () => process.exit(0));
