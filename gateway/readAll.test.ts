import { PassThrough, Readable } from "node:stream";
import { describe, expect, it } from "vitest";
import { readAll } from "./readAll.ts";

describe("readAll", () => {
  it("returns a one-chunk stream's bytes and joins many chunks in order", async () => {
    expect((await readAll(Readable.from([Buffer.from("{}")]))).toString()).toBe("{}");
    const parts = Array.from({ length: 50 }, (_, i) => Buffer.from(`${i},`));
    expect((await readAll(Readable.from(parts))).toString()).toBe(parts.join(""));
    expect((await readAll(Readable.from([]))).length).toBe(0);
  });

  it("fails with the limit's error past the limit and drains the rest", async () => {
    const stream = new PassThrough();
    const read = readAll(stream, { bytes: 10, error: () => new Error("too large") });
    stream.write(Buffer.alloc(8));
    stream.write(Buffer.alloc(8));
    await expect(read).rejects.toThrow("too large");
    // Still flowing: what the sender has left is read and dropped, so it is not stuck writing.
    stream.end(Buffer.alloc(1024));
    await new Promise((resolve) => stream.once("end", resolve));
  });

  it("fails when the stream errors or is destroyed before its end, never leaving the read pending", async () => {
    const broken = new PassThrough();
    const read = readAll(broken);
    broken.write("{");
    broken.destroy(Object.assign(new Error("socket hang up"), { code: "ECONNRESET" }));
    await expect(read).rejects.toMatchObject({ code: "ECONNRESET" });

    const closed = new PassThrough();
    const read2 = readAll(closed);
    closed.write("{");
    closed.destroy();
    await expect(read2).rejects.toMatchObject({ code: "ERR_STREAM_PREMATURE_CLOSE" });
  });
});
