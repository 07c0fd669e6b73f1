// Entry the policy runner loads (package.json `main`): see PulumiPolicy.yaml for why an .mjs.
import "./index.ts";
