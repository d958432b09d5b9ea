/** The devnet launcher: real Veil processes on loopback (see docs/devnet.md). */
export { Devnet, type DevnetOptions, type NodeHandle } from "./devnet";
export { deployWorld, type World, type WorldOptions } from "./world";
export { startL1, type L1 } from "./l1";
export { ManagedProcess, type SpawnSpec, type ExitStatus } from "./process";
export { freePort, freePorts, isHealthy, waitUntil } from "./net";
