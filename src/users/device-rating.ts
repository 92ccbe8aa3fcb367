// The user limits a device is rated for (caps.userMaxKg/userMaxCm), read by connecting to it once.
import { openDevice } from "../link/connect.js";
import type { RatedLimits } from "./profiles.js";

export async function deviceRating(uri: string | undefined): Promise<RatedLimits | undefined> {
  if (uri === undefined) return undefined;
  const conn = await openDevice(uri, {});
  try {
    const caps = await conn.link.handshake();
    return { userMaxKg: caps.userMaxKg, userMaxCm: caps.userMaxCm };
  } finally {
    await conn.close();
  }
}
