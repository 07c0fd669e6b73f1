import type * as pulumi from "@pulumi/pulumi";
import type { Gateway } from "../components/gateway.ts";
import type { ModelServer } from "../components/modelServer.ts";

/** Pulumi secrets from `gonka:adminKey` / `gonka:hfToken`; never unwrapped in plain resource inputs. */
export interface Secrets {
  readonly adminKey: pulumi.Output<string>;
  readonly hfToken: pulumi.Output<string>;
  readonly sshPrivateKey?: pulumi.Output<string>;
}

export interface TargetDeployment {
  readonly gateway: Gateway;
  readonly servers: readonly ModelServer[];
}
