// A stand-in for a running session: tests push telemetry and events and settle `done` themselves.
import type { TelemetryMsg } from "../../protocol/index.js";
import type { RecordableSession } from "../../src/store/index.js";

export class FakeSession implements RecordableSession {
  private samples = new Set<(t: TelemetryMsg) => void>();
  private events = new Set<(e: unknown) => void>();
  private updates = new Set<(s: unknown) => void>();
  private settle!: { resolve: (v: unknown) => void; reject: (e: unknown) => void };
  readonly done: Promise<unknown>;

  constructor() {
    this.done = new Promise((resolve, reject) => {
      this.settle = { resolve, reject };
    });
  }

  onSample(cb: (t: TelemetryMsg) => void): () => void {
    this.samples.add(cb);
    return () => this.samples.delete(cb);
  }

  onEvent(cb: (e: unknown) => void): () => void {
    this.events.add(cb);
    return () => this.events.delete(cb);
  }

  onUpdate(cb: (s: unknown) => void): () => void {
    this.updates.add(cb);
    return () => this.updates.delete(cb);
  }

  get listeners(): number {
    return this.samples.size + this.events.size + this.updates.size;
  }

  update(snap: unknown): void {
    for (const cb of this.updates) cb(snap);
  }

  sample(t: number, tilt: number, extra: Partial<TelemetryMsg> = {}): void {
    const msg: TelemetryMsg = {
      v: 1, seq: 0, type: "tlm", t, tilt, tilt2: tilt + 0.1, vel: 1, current: 2, lock: true, sw: "ok", mode: "moving", faults: [], rxErr: 0,
      ...extra,
    } as TelemetryMsg;
    for (const cb of this.samples) cb(msg);
  }

  event(e: unknown): void {
    for (const cb of this.events) cb(e);
  }

  finish(summary: unknown): void {
    this.settle.resolve(summary);
  }

  crash(err: unknown): void {
    this.settle.reject(err);
  }
}
