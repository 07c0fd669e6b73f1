export type { ReasoningField } from "./chatRender.ts";
export { FAULT_MODES, type Fault, type FaultSetInput, parseFaults } from "./faults.ts";
export { loadScriptFile, parseScript, type Script, type ScriptRule } from "./script.ts";
export { createSimulator, type Simulator, type SimulatorOptions, type SimulatorStats } from "./server.ts";
export { type SpawnedSimulator, type SpawnOptions, spawnSimulator } from "./spawn.ts";
