// The bridge's own topic layout, next to the device protocol's <base>/<id>/{cmd,ack,tlm,evt,caps,status}.
// Names never collide with those channels, and "bridge" is reserved so it can never be a device id.

export const REQUEST_ACTIONS = ["start", "pause", "resume", "stop", "discomfort", "return", "select", "clear"] as const;
export type RequestAction = (typeof REQUEST_ACTIONS)[number];
/**
 * Actions that can make the table move, or re-enable motion after a safety fault latched it off
 * (`clear`): they must be signed.
 */
export const SIGNED_ACTIONS: ReadonlySet<RequestAction> = new Set(["start", "resume", "clear"]);

export function isRequestAction(s: string): s is RequestAction {
  return (REQUEST_ACTIONS as readonly string[]).includes(s);
}

export class BridgeTopics {
  constructor(readonly base: string) {}
  bridgeState(): string {
    return `${this.base}/bridge/state`;
  }
  /** Retained list of the devices each bridge process serves, for ownership (see docs/bridge.md). */
  bridgeInfo(bridgeId: string): string {
    return `${this.base}/bridge/${bridgeId}/info`;
  }
  bridgeInfoWildcard(): string {
    return `${this.base}/bridge/+/info`;
  }
  /** Per-process liveness, with its own last will, so peers know when an owner died. */
  bridgeProcessState(bridgeId: string): string {
    return `${this.base}/bridge/${bridgeId}/state`;
  }
  /** Requests handed on by a peer bridge to the owner of the device. */
  forward(bridgeId: string, deviceId: string, action: string): string {
    return `${this.base}/bridge/${bridgeId}/forward/${deviceId}/${action}`;
  }
  forwardWildcard(bridgeId: string): string {
    return `${this.base}/bridge/${bridgeId}/forward/+/+`;
  }
  state(id: string): string {
    return `${this.base}/${id}/state`;
  }
  availability(id: string): string {
    return `${this.base}/${id}/availability`;
  }
  request(id: string, action: string): string {
    return `${this.base}/${id}/request/${action}`;
  }
  requestWildcard(group?: string): string {
    const t = `${this.base}/+/request/+`;
    return group ? `$share/${group}/${t}` : t;
  }
  response(id: string, action: string): string {
    return `${this.base}/${id}/response/${action}`;
  }
  /** Splits "<base>/<id>/request/<action>" or "<base>/bridge/<b>/forward/<id>/<action>". */
  parseRequest(topic: string): { deviceId: string; action: string; forwarded: boolean } | undefined {
    if (!topic.startsWith(`${this.base}/`)) return undefined;
    const parts = topic.slice(this.base.length + 1).split("/");
    if (parts.length === 3 && parts[1] === "request" && parts[0] !== "bridge") return { deviceId: parts[0], action: parts[2], forwarded: false };
    if (parts.length === 5 && parts[0] === "bridge" && parts[2] === "forward") return { deviceId: parts[3], action: parts[4], forwarded: true };
    return undefined;
  }
}
