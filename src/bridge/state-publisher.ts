// Rate-limited retained state: at most `hz` updates per second per device, except urgent changes
// (phase, link, outcome) which go out at once. Identical payloads are not republished. `publish` learns
// whether an update is urgent (or a republish), so telemetry-only updates can go at a cheaper QoS.
import type { Clock, TimerHandle } from "../../protocol/index.js";

export class StatePublisher {
  private last?: string;
  private lastAt = -Infinity;
  private timer?: TimerHandle;

  constructor(
    private readonly clock: Clock,
    private readonly hz: number,
    private readonly render: () => string,
    private readonly publish: (payload: string, urgent: boolean) => void,
  ) {}

  update(urgent: boolean): void {
    const gap = 1000 / this.hz;
    const now = this.clock.now();
    if (urgent || now - this.lastAt >= gap) {
      this.flush(urgent);
      return;
    }
    if (!this.timer) this.timer = this.clock.setTimeout(() => this.flush(false), this.lastAt + gap - now);
  }

  /** Publishes the current state even if unchanged (after a reconnect the broker may have lost it). */
  republish(): void {
    this.last = undefined;
    this.flush(true);
  }

  private flush(urgent: boolean): void {
    if (this.timer) {
      this.clock.clearTimeout(this.timer);
      this.timer = undefined;
    }
    const payload = this.render();
    if (payload === this.last) return;
    this.last = payload;
    this.lastAt = this.clock.now();
    this.publish(payload, urgent);
  }

  dispose(): void {
    this.clock.clearTimeout(this.timer);
    this.timer = undefined;
  }
}
