import type * as pulumi from "@pulumi/pulumi";
import type { Gateway } from "../components/gateway.ts";
import type { ModelServer } from "../components/modelServer.ts";

/** Pulumi secrets from `gonka:*` secret config; never unwrapped in plain resource inputs. */
export interface Secrets {
  readonly adminKey: pulumi.Output<string>;
  readonly hfToken: pulumi.Output<string>;
  /** The key every engine demands (VLLM_API_KEY / LLAMA_API_KEY); only the gateway holds it too. */
  readonly engineApiKey: pulumi.Output<string>;
  /** Redis `requirepass`; reaches the gateway only inside REDIS_URL from a secret. */
  readonly redisPassword: pulumi.Output<string>;
  readonly sshPrivateKey?: pulumi.Output<string>;
  /** Password of the `postgres` container (database kind `container`). */
  readonly databasePassword?: pulumi.Output<string>;
  /** `gonka:database.url` (database kind `external`); carries a password. */
  readonly databaseUrl?: pulumi.Output<string>;
}

export interface TargetDeployment {
  readonly gateway: Gateway;
  readonly servers: readonly ModelServer[];
}
