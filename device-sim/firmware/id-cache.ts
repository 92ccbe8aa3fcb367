// Recently seen command ids with their latest ack, bounded: a retried command is acknowledged again
// with the same result and never acted on twice; the oldest ids are forgotten first.
import type { AckResultT } from "../../protocol/index.js";

export interface CachedAck {
  result: AckResultT;
  reason?: string;
}

export class IdCache {
  private readonly map = new Map<string, CachedAck>();
  constructor(private readonly size: number) {}

  get(id: string): CachedAck | undefined {
    return this.map.get(id);
  }

  set(id: string, ack: CachedAck): void {
    if (!this.map.has(id) && this.map.size >= this.size) {
      const oldest = this.map.keys().next().value;
      if (oldest !== undefined) this.map.delete(oldest);
    }
    this.map.set(id, ack);
  }

  get length(): number {
    return this.map.size;
  }
}
