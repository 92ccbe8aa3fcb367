// Which bridge process serves which device, learned from the retained `<base>/bridge/<id>/info` and
// `<base>/bridge/<id>/state` topics. Requests received through the shared subscription for a device
// served elsewhere are forwarded to its owner; see docs/bridge.md for the rules.

export interface BridgeInfo {
  bridgeId: string;
  /** Changes on every start, so a bridge can tell its previous run's info from its own. */
  run: string;
  /** Wall-clock ms when this run started serving: the older claim wins a conflict. */
  since: number;
  devices: string[];
}

/** Conflict order: the older claim first, then the smaller bridge id. */
export function claimBefore(a: Pick<BridgeInfo, "since" | "bridgeId">, b: Pick<BridgeInfo, "since" | "bridgeId">): boolean {
  return a.since !== b.since ? a.since < b.since : a.bridgeId < b.bridgeId;
}

export class OwnerMap {
  private readonly infos = new Map<string, BridgeInfo>();
  private readonly online = new Map<string, boolean>();

  setInfo(info: BridgeInfo | undefined, bridgeId: string): void {
    if (info) this.infos.set(bridgeId, info);
    else this.infos.delete(bridgeId);
  }

  /** The last device list `bridgeId` published, if any. */
  infoOf(bridgeId: string): BridgeInfo | undefined {
    return this.infos.get(bridgeId);
  }

  setOnline(bridgeId: string, online: boolean): void {
    this.online.set(bridgeId, online);
  }

  /** The online bridge (other than `self`) that claims the device, if any; the oldest claim when several do. */
  ownerOf(deviceId: string, self: string): BridgeInfo | undefined {
    const claims = [...this.infos.values()]
      .filter((i) => i.bridgeId !== self && this.online.get(i.bridgeId) === true && i.devices.includes(deviceId))
      .sort((a, b) => (claimBefore(a, b) ? -1 : 1));
    return claims[0];
  }
}

export function parseBridgeInfo(text: string): BridgeInfo | undefined {
  try {
    const v = JSON.parse(text) as Partial<BridgeInfo>;
    if (typeof v.bridgeId === "string" && typeof v.run === "string" && typeof v.since === "number" && Array.isArray(v.devices) && v.devices.every((d) => typeof d === "string")) {
      return { bridgeId: v.bridgeId, run: v.run, since: v.since, devices: v.devices };
    }
  } catch {
    // not ours or corrupt: ignored
  }
  return undefined;
}
