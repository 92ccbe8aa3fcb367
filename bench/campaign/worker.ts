// Child process of the campaign: runs the seeds it is handed and reports each result.
import { RotatingStore } from "./engine.js";
import { runCampaignSessionSafe } from "./run-session.js";

const stores = process.env.CAMPAIGN_HISTORY === "0" ? undefined : new RotatingStore();

process.on("message", (m: { type: "run"; seeds: number[] } | { type: "end" }) => {
  if (m.type === "end") {
    stores?.close();
    process.disconnect();
    return;
  }
  void (async () => {
    for (const seed of m.seeds) {
      const r = await runCampaignSessionSafe(seed, stores ? { store: stores.get() } : {});
      process.send?.({ type: "result", result: { seed: r.seed, program: r.program, outcome: r.outcome, faults: r.faults, violations: r.violations, simS: r.simS, samples: r.samples } });
    }
    process.send?.({ type: "idle" });
  })().catch((err: unknown) => {
    console.error(`campaign worker: ${(err as Error)?.stack ?? String(err)}`);
    process.exit(1);
  });
});
