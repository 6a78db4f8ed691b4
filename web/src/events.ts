/**
 * The live tail of edge events: `GET /accounts/{id}/events/stream` read with fetch (EventSource cannot
 * send the Authorization header), parsed as text/event-stream, reconnecting from the last id it saw.
 */
import { API_BASE, ApiFailure, authHeader } from "./api.ts";
import type { EdgeEvent } from "./types.ts";

export interface Tail {
  stop(): void;
}

export function tailEvents(
  accountId: string,
  query: string,
  onEvents: (events: EdgeEvent[]) => void,
  onState: (state: "live" | "reconnecting" | "stopped", error?: string) => void,
): Tail {
  const controller = new AbortController();
  let lastId: string | undefined;
  let stopped = false;

  const run = async () => {
    while (!stopped) {
      try {
        const response = await fetch(
          `${API_BASE}/accounts/${encodeURIComponent(accountId)}/events/stream${query}`,
          {
            headers: { ...authHeader(), ...(lastId ? { "last-event-id": lastId } : {}) },
            signal: controller.signal,
          },
        );
        if (!response.ok || !response.body) {
          const envelope = (await response.json().catch(() => ({}))) as {
            errors?: { code: number; message: string }[];
          };
          const first = envelope.errors?.[0];
          throw new ApiFailure(
            response.status,
            first?.code ?? 0,
            first?.message ?? `The stream answered ${response.status}`,
          );
        }
        onState("live");
        const reader = response.body.pipeThrough(new TextDecoderStream()).getReader();
        let buffer = "";
        for (;;) {
          const { value, done } = await reader.read();
          if (done) break;
          buffer += value;
          const blocks = buffer.split("\n\n");
          buffer = blocks.pop() ?? "";
          const batch: EdgeEvent[] = [];
          for (const block of blocks) {
            let data = "";
            for (const line of block.split("\n")) {
              if (line.startsWith("id:")) lastId = line.slice(3).trim();
              else if (line.startsWith("data:")) data += line.slice(5).trim();
            }
            if (data) {
              try {
                batch.push(JSON.parse(data) as EdgeEvent);
              } catch {
                // A malformed line is skipped, not fatal.
              }
            }
          }
          if (batch.length > 0) onEvents(batch);
        }
        if (stopped) return;
        onState("reconnecting");
      } catch (error) {
        if (stopped) return;
        if (error instanceof ApiFailure && error.status >= 400 && error.status < 500) {
          stopped = true;
          onState(
            "stopped",
            error.unavailable ? "The live tail is not available on this server." : error.message,
          );
          return;
        }
        onState("reconnecting", error instanceof Error ? error.message : String(error));
      }
      await new Promise((resolve) => setTimeout(resolve, 2000));
    }
  };
  void run();
  return {
    stop() {
      stopped = true;
      controller.abort();
      onState("stopped");
    },
  };
}
