// Interruption by device fault from every session state ends in the slow return, upright (see interrupt-matrix.ts).
import { describe } from "vitest";
import { interruptionSuite } from "./interrupt-matrix.js";

describe("device fault from every state", () => interruptionSuite("device-fault"));
