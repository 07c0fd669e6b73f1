/**
 * Signing secrets at rest. The gateway must sign with an endpoint's secret, so unlike API
 * keys it cannot keep only a hash. With `GONKA_WEBHOOK_SECRET_KEY` set, secrets are stored
 * encrypted (AES-256-GCM, key = SHA-256 of the variable, a random IV per secret): a copy of
 * the database (a backup, a read replica, a leaked dump) does not reveal them. Without it
 * they are stored as issued. Values stored before the key was set still read (no prefix).
 */
import { createCipheriv, createDecipheriv, createHash, randomBytes } from "node:crypto";

const PREFIX = "enc:v1:";

export interface SecretBox {
  seal(secret: string): string;
  /** Throws when the value was sealed with a key this gateway does not have. */
  open(stored: string): string;
}

export function secretBox(passphrase: string | undefined): SecretBox {
  const key = passphrase ? createHash("sha256").update(passphrase).digest() : undefined;
  return {
    seal(secret) {
      if (!key) return secret;
      const iv = randomBytes(12);
      const cipher = createCipheriv("aes-256-gcm", key, iv);
      const sealed = Buffer.concat([cipher.update(secret, "utf8"), cipher.final()]);
      return `${PREFIX}${iv.toString("base64")}:${cipher.getAuthTag().toString("base64")}:${sealed.toString("base64")}`;
    },
    open(stored) {
      if (!stored.startsWith(PREFIX)) return stored;
      if (!key)
        throw new Error("the signing secret is encrypted, and GONKA_WEBHOOK_SECRET_KEY is not set here");
      const [iv, tag, data] = stored.slice(PREFIX.length).split(":");
      try {
        const decipher = createDecipheriv("aes-256-gcm", key, Buffer.from(iv!, "base64"));
        decipher.setAuthTag(Buffer.from(tag!, "base64"));
        return Buffer.concat([decipher.update(Buffer.from(data!, "base64")), decipher.final()]).toString(
          "utf8",
        );
      } catch {
        throw new Error("the signing secret was encrypted with another GONKA_WEBHOOK_SECRET_KEY");
      }
    },
  };
}
