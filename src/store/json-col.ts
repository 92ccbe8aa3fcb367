// JSON columns: stored as text, parsed on read; a damaged value reads as null rather than failing a listing.
export function toJson(v: unknown): string | null {
  return v === undefined ? null : JSON.stringify(v);
}

export function fromJson(s: unknown): unknown {
  if (typeof s !== "string") return null;
  try {
    return JSON.parse(s) as unknown;
  } catch {
    return null;
  }
}
