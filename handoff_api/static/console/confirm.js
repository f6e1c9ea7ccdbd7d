/** A confirmation step before an action that cannot be undone (resolve, hand back). */
import { t } from "./i18n.js";

const $ = (id) => document.getElementById(id);

/**
 * Ask in the #confirm-dialog; resolves true only when the agent presses the action's button
 * (Esc, "Cancelar" or closing the dialog resolve false).
 * @param {{title: string, text: string, ok: string}} what
 */
export function confirmAction({ title, text, ok }) {
  const dialog = $("confirm-dialog");
  $("confirm-title").textContent = title;
  $("confirm-text").textContent = text;
  $("confirm-ok").textContent = ok;
  $("confirm-cancel").textContent = t("cancel");
  dialog.returnValue = "";
  return new Promise((resolve) => {
    dialog.addEventListener("close", () => resolve(dialog.returnValue === "ok"), { once: true });
    dialog.showModal();
    $("confirm-ok").focus();
  });
}
