// `WS /v1/live` with the access token (browsers cannot set headers on a WebSocket). Reconnects
// with backoff; after any reconnect the caller reloads what it shows (the feed is not
// replayable: docs/live-feeds.md).

import { accessToken } from "./api.js";

const TYPES = "shipment.status,shipment.eta,driver.position,pod,incident";

export class LiveFeed {
  constructor({ onMessage, onState, onReconnect }) {
    this.onMessage = onMessage;
    this.onState = onState;
    this.onReconnect = onReconnect;
    this.delay = 500;
    this.stopped = false;
    this.opened = false;
  }

  async start() {
    if (this.stopped) return;
    this.onState("connecting");
    let token;
    try {
      token = await accessToken();
    } catch {
      this.onState("closed");
      return;
    }
    const scheme = location.protocol === "https:" ? "wss:" : "ws:";
    const query = new URLSearchParams({ access_token: token, types: TYPES });
    const socket = new WebSocket(`${scheme}//${location.host}/v1/live?${query}`);
    this.socket = socket;
    socket.addEventListener("open", () => {
      this.delay = 500;
      this.onState("open");
      if (this.opened) this.onReconnect();
      this.opened = true;
    });
    socket.addEventListener("message", (event) => {
      try {
        this.onMessage(JSON.parse(event.data));
      } catch (error) {
        console.error("live message not handled", error);
      }
    });
    socket.addEventListener("close", () => {
      if (this.stopped) return;
      this.onState("closed");
      setTimeout(() => this.start(), this.delay);
      this.delay = Math.min(this.delay * 2, 15_000);
    });
  }

  stop() {
    this.stopped = true;
    if (this.socket) this.socket.close(1000);
  }
}
