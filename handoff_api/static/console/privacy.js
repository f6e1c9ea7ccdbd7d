/**
 * Supervisors only: "delete this customer's data" (GDPR art. 17). The dialog first counts what
 * would go (dry run), then erases for real after an explicit second click. The server checks the
 * role again; hiding the button from agents is only a convenience.
 */
import { post, ApiError } from "./api.js";
import { toast } from "./dom.js";
import { t } from "./i18n.js";

const $ = (id) => document.getElementById(id);
let current = null;

function request() {
  const body = {};
  for (const [field, id] of [["conversation_id", "erase-conversation"], ["email", "erase-email"], ["phone", "erase-phone"]]) {
    const value = $(id).value.trim();
    if (value) body[field] = value;
  }
  return body;
}

function say(text, kind = "") {
  const out = $("erase-result");
  out.textContent = text;
  out.className = `erase-result ${kind}`;
  out.hidden = !text;
}

async function check(e) {
  e.preventDefault();
  $("erase-confirm").hidden = true;
  const body = request();
  if (!Object.keys(body).length) return say(t("privacy.needOne"), "error");
  try {
    const res = await post("/api/privacy/erasure", { ...body, dry_run: true });
    current = body;
    say(t("privacy.preview", { n: res.conversations }));
    $("erase-confirm").hidden = res.conversations === 0 && !body.conversation_id;
  } catch (err) { say(err instanceof ApiError ? err.message : t("errors.network"), "error"); }
}

async function confirmErase() {
  if (!current) return;
  $("erase-confirm").disabled = true;
  try {
    const res = await post("/api/privacy/erasure", { ...current, confirm: true });
    const kind = res.complete ? "ok" : "error";
    say(t(res.complete ? "privacy.done" : "privacy.incomplete", { n: res.conversations, id: res.id }), kind);
    toast(t(res.complete ? "privacy.done" : "privacy.incomplete", { n: res.conversations, id: res.id }), res.complete ? "info" : "error");
    current = null;
    $("erase-confirm").hidden = true;
  } catch (err) { say(err instanceof ApiError ? err.message : t("errors.network"), "error"); }
  finally { $("erase-confirm").disabled = false; }
}

/** Show the button to supervisors; `conversationId()` pre-fills the open conversation. */
export function setupPrivacy(me, conversationId) {
  const open = $("privacy-open");
  open.hidden = me?.role !== "supervisor";
  if (open.dataset.ready) return;
  open.dataset.ready = "1";
  open.addEventListener("click", () => {
    for (const id of ["erase-conversation", "erase-email", "erase-phone"]) $(id).value = "";
    $("erase-conversation").value = conversationId() || "";
    say("");
    current = null;
    $("erase-confirm").hidden = true;
    $("erase-dialog").showModal();
  });
  $("erase-form").addEventListener("submit", check);
  $("erase-confirm").addEventListener("click", confirmErase);
  $("erase-close").addEventListener("click", () => $("erase-dialog").close());
}
