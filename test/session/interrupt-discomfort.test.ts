// Interruption by discomfort from every session state ends in the slow return, upright (see interrupt-matrix.ts).
import { describe } from "vitest";
import { interruptionSuite } from "./interrupt-matrix.js";

describe("discomfort from every state", () => interruptionSuite("discomfort"));
