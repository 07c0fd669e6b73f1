/**
 * The gateway's request path without keys, limits or metering, for the benchmark's
 * "core" row: node gateway/bench/coreGateway.ts --config <file>
 */
import { parseArgs } from "node:util";
import { createGateway } from "../app.ts";
import { loadConfig } from "../config/load.ts";
import { createLogger, flushLogs } from "../logger.ts";

const { values } = parseArgs({ options: { config: { type: "string" } } });
const config = loadConfig(values.config!);
const log = createLogger(config.logLevel);
const gateway = createGateway({ config, log });
const url = await gateway.listen(0, "127.0.0.1");
log.child({}, { level: "info" }).info({ url }, "listening");
flushLogs(log);
process.on("SIGTERM", () => void gateway.shutdown(1_000).then(() => process.exit(0)));
