/**
 * TEST-04: OpenAI API compatibility of a Gonka target, case by case. The target
 * comes from the environment (see target.ts); with nothing set it is a private
 * local stack. Cases are defined in cases/ as plain functions so the meta-test
 * can run the same ones against faulty backends; register.ts turns them into tests.
 */
import { afterAll } from "vitest";
import { registerConformance } from "./register.ts";
import { conformanceTarget } from "./target.ts";

const { suite, close } = await conformanceTarget();
afterAll(close, 60_000);

registerConformance(suite);
