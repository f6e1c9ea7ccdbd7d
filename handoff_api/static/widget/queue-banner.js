/**
 * The banner a waiting shopper sees above the conversation: their real place in the queue,
 * the estimated wait (or, when nobody is connected, that no estimate can be given), and the
 * control to leave the queue and carry on with the assistant. DOM only.
 */
import { el } from "./dom.js";

/** Words for one queue state (pure, so it is easy to check). */
export function queueLines(state, t) {
  const place = state.position <= 1 ? t("queueNext") : t("queuePosition", { position: state.position });
  let wait;
  if (state.etaSeconds == null) {
    wait = t("queueNobody");
    if (state.timeoutMinutes) wait += ` ${t("queueNobodyTimeout", { minutes: Math.round(state.timeoutMinutes) })}`;
  } else if (state.etaSeconds < 60) {
    wait = t("queueEtaUnder");
  } else {
    wait = t("queueEta", { minutes: Math.round(state.etaSeconds / 60) });
  }
  return { place, wait };
}

export class QueueBanner {
  /**
   * @param {(key: string, f?: object) => string} t
   * @param {() => void} onLeave  the shopper wants the assistant back
   */
  constructor(t, onLeave) {
    this.t = t;
    this.place = el("p", { class: "queue-place" });
    this.wait = el("p", { class: "queue-wait" });
    this.leave = el("button", {
      type: "button", class: "leave",
      onclick: () => { this.leave.disabled = true; this.leave.textContent = t("leavingQueue"); onLeave(); },
    }, t("leaveQueue"));
    this.node = el("div", { class: "queue", role: "status", "aria-live": "polite", hidden: true },
      el("div", { class: "queue-text" }, this.place, this.wait), this.leave);
  }

  /** Show the banner while queued; hide it otherwise (with an agent, or back with the bot). */
  update(state) {
    const queued = state.status === "queued";
    this.node.hidden = !queued;
    if (!queued) {
      this.leave.disabled = false;
      this.leave.textContent = this.t("leaveQueue");
      return;
    }
    const { place, wait } = queueLines(state, this.t);
    this.place.textContent = place;
    this.wait.textContent = wait;
    this.node.classList.toggle("nobody", state.etaSeconds == null);
  }
}
