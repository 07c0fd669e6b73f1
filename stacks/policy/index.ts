/**
 * Policy pack entry: `pulumi preview --policy-pack stacks/policy`. Constructing a
 * PolicyPack starts its gRPC server, so the rules live in policies.ts for tests.
 */
import { PolicyPack } from "@pulumi/policy";
import { GONKA_POLICIES, GONKA_STACK_POLICIES } from "./policies.ts";

new PolicyPack("gonka", { policies: [...GONKA_POLICIES, ...GONKA_STACK_POLICIES] });
