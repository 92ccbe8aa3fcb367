// Interruption by link lost from every session state ends in the slow return, upright (see interrupt-matrix.ts).
import { describe } from "vitest";
import { interruptionSuite } from "./interrupt-matrix.js";

describe("link lost from every state", () => interruptionSuite("link-lost"));
