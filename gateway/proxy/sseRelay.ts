import type { ServerResponse } from "node:http";
import { createParser } from "eventsource-parser";
import type { GatewayError } from "../errors.ts";
import { mayCarryReasoning, normaliseReasoningOut, type ReasoningOutput } from "./reasoning.ts";

export interface RelayOptions {
  /** The client asked for `stream_options.include_usage`; otherwise the usage chunk is dropped. */
  readonly clientWantsUsage: boolean;
  readonly reasoningOutput: ReasoningOutput;
  /** Sees every event, parsed (a session assembling the reply); without it most are not parsed. */
  readonly observe?: ((event: Record<string, unknown>) => void) | undefined;
}

export interface RelayState {
  usage: unknown;
  sawDone: boolean;
  sawError: boolean;
  firstEventAt: number | null;
}

/**
 * The one place SSE is framed. Forwards each upstream event as it arrives; parses
 * an event only when it must be changed (reasoning fields, usage chunk). Events
 * from one upstream chunk go out in one write, without waiting for more.
 */
export class SseRelay {
  readonly state: RelayState = { usage: null, sawDone: false, sawError: false, firstEventAt: null };
  private readonly res: ServerResponse;
  private readonly options: RelayOptions;
  private readonly decoder = new TextDecoder();
  private out = "";
  private readonly parser = createParser({ onEvent: (e) => this.onData(e.data) });

  constructor(res: ServerResponse, options: RelayOptions) {
    this.res = res;
    this.options = options;
  }

  static headers(res: ServerResponse, requestId: string, extra: Record<string, string>): void {
    res.writeHead(200, {
      ...extra,
      "content-type": "text/event-stream; charset=utf-8",
      "cache-control": "no-cache",
      "x-accel-buffering": "no",
      "x-request-id": requestId,
    });
  }

  /**
   * Feeds one upstream chunk and writes the complete events it held (except [DONE]).
   * Returns false when the client is slow and the caller should wait for 'drain'.
   */
  push(chunk: Buffer): boolean {
    this.parser.feed(this.decoder.decode(chunk, { stream: true }));
    if (!this.out) return true;
    const out = this.out;
    this.out = "";
    return this.res.write(out);
  }

  /** Writes the closing `[DONE]`; held back until the caller has recorded the outcome. */
  finish(): void {
    this.res.end("data: [DONE]\n\n");
  }

  /** Ends a stream that broke after the first byte with an error event a client SDK will raise. */
  fail(error: GatewayError): void {
    this.state.sawError = true;
    if (this.res.writableEnded || this.res.destroyed) return;
    this.res.end(`data: ${JSON.stringify(error.toBody())}\n\n`);
  }

  private onData(data: string): void {
    this.state.firstEventAt ??= Date.now();
    if (data === "[DONE]") {
      this.state.sawDone = true;
      return;
    }
    const mayHaveUsage = data.includes('"usage"');
    const mayHaveReasoning = mayCarryReasoning(data);
    const mayHaveError = data.startsWith('{"error"') || data.includes('"object":"error"');
    if (!mayHaveUsage && !mayHaveReasoning && !mayHaveError && !this.options.observe) {
      this.out += `data: ${data}\n\n`;
      return;
    }
    let event: Record<string, unknown>;
    try {
      event = JSON.parse(data) as Record<string, unknown>;
    } catch {
      this.out += `data: ${data}\n\n`;
      return;
    }
    if (event["error"] || event["object"] === "error") this.state.sawError = true;
    this.options.observe?.(event);
    let changed = false;
    if (mayHaveUsage && event["usage"]) {
      this.state.usage = event["usage"];
      const choices = event["choices"];
      if (!this.options.clientWantsUsage) {
        if (Array.isArray(choices) && choices.length === 0) return;
        delete event["usage"];
        changed = true;
      }
    }
    if (mayHaveReasoning && Array.isArray(event["choices"])) {
      for (const choice of event["choices"] as Record<string, unknown>[]) {
        const delta = choice?.["delta"] as Record<string, unknown> | undefined;
        if (delta && normaliseReasoningOut(delta, this.options.reasoningOutput)) changed = true;
      }
    }
    this.out += `data: ${changed ? JSON.stringify(event) : data}\n\n`;
  }
}
