// Interruption by stop from every session state ends in the slow return, upright (see interrupt-matrix.ts).
import { describe } from "vitest";
import { interruptionSuite } from "./interrupt-matrix.js";

describe("stop from every state", () => interruptionSuite("stop"));
