// The in-process byte link's outages, in virtual time.
import { describe, expect, it } from "vitest";
import { InprocLink, VirtualClock } from "../../protocol/index.js";

describe("InprocLink.dropFor", () => {
  it("a shorter outage inside a longer one does not end the longer one early", () => {
    const clock = new VirtualClock();
    const link = new InprocLink(clock);
    const got: number[] = [];
    link.b.onData((c) => got.push(...c));
    link.dropFor(10_000);
    clock.advance(2000);
    link.dropFor(1000);
    clock.advance(2000);
    link.a.write(Uint8Array.of(1));
    expect(got).toEqual([]);
    expect(link.faults.down).toBe(true);
    clock.advance(6000);
    expect(link.faults.down).toBe(false);
    link.a.write(Uint8Array.of(2));
    expect(got).toEqual([2]);
  });

  it("a longer outage started inside a shorter one extends it", () => {
    const clock = new VirtualClock();
    const link = new InprocLink(clock);
    link.dropFor(1000);
    clock.advance(500);
    link.dropFor(3000);
    clock.advance(1000);
    expect(link.faults.down).toBe(true);
    clock.advance(2500);
    expect(link.faults.down).toBe(false);
  });
});
