"""The 25 KB domain sent to the action server once, not with every call (part ``domain_digest``).

Rasa 3.6 puts the whole domain (``domain.as_dict()``: intents, slots, forms, every response in
both languages, ~25 KB of JSON) into every call to the action server — two or more per turn —
and serialises it each time on the event loop; the action server parses it each time. Our action
server runs rasa-sdk 3.21 (``requirements/app.lock``), which speaks the newer protocol Rasa Pro
uses: a call carries ``domain_digest``; rasa-sdk keeps the last domain it was sent with its
digest, uses it for a call that carries only the digest, and answers **449** (``ActionMissing
DomainException``) when it does not hold that digest (a restarted or another replica of the
action server). Every action then runs with the same domain dict, so behaviour is identical.

Here, in the Rasa process:

* :func:`action_call_format` (``RemoteAction._action_call_format``): Rasa's body plus
  ``domain_digest`` (SHA-256 of the domain's canonical JSON, computed once per loaded domain);
  the ``domain`` itself is left out only for an action endpoint that has already *answered* a
  call which carried this domain (a 2xx), i.e. has stored it;
* :func:`request` (``EndpointConfig.request``): a call without the domain that comes back 449
  is sent again at once with the domain (what Rasa Pro does), and the endpoint is marked as
  not holding it until a call with the domain succeeds.

An action server with an older rasa-sdk would ignore the digest and run actions with an empty
domain: ``tests/actions/test_domain_digest.py`` checks the pinned rasa-sdk's side of the
protocol. ``ATIENDE_RASA_SPEEDUPS_OFF=domain_digest`` (or ``ATIENDE_RASA_SPEEDUPS=0``): Rasa's
own body, the domain every time.
"""

from __future__ import annotations

import hashlib
import json
from collections import OrderedDict
from typing import Any

DIGEST = "domain_digest"
MISSING_DOMAIN = 449  # rasa-sdk's answer to a digest it does not hold
_ATTRIBUTE = "_atiende_domain_digest"
KEPT = 8  # domains by digest (one per loaded model)

#: Rasa's own functions, replaced by install()
STOCK: dict[str, Any] = {}
#: digest -> the domain dict it was computed from (to send it again after a 449)
_domains: OrderedDict[str, dict[str, Any]] = OrderedDict()
#: (endpoint URL, digest) pairs whose action server has answered a call that carried the domain
_held: set[tuple[str, str]] = set()


def digest_of(domain: Any) -> str:
    """SHA-256 of the domain's canonical JSON, once per ``Domain`` object (Rasa never changes
    a loaded domain's ``as_dict()``; a new model is a new object)."""
    known = domain.__dict__.get(_ATTRIBUTE)
    data = domain.as_dict()
    if known is not None and known[0] is data:
        return known[1]
    text = json.dumps(data, sort_keys=True, ensure_ascii=False, separators=(",", ":"),
                      default=str)
    digest = hashlib.sha256(text.encode("utf-8")).hexdigest()
    domain.__dict__[_ATTRIBUTE] = (data, digest)
    _domains[digest] = data
    _domains.move_to_end(digest)
    while len(_domains) > KEPT:
        _domains.popitem(last=False)
    return digest


def _url(endpoint: Any) -> str:
    return str(getattr(endpoint, "url", ""))


def action_call_format(self: Any, tracker: Any, domain: Any) -> dict[str, Any]:
    """``RemoteAction._action_call_format`` with the digest, and without the domain for an
    endpoint known to hold it."""
    body = STOCK["action_call_format"](self, tracker, domain)
    if "domain" not in body or self.action_endpoint is None:
        return body  # selective domain left it out: nothing to do
    digest = digest_of(domain)
    body[DIGEST] = digest
    if (_url(self.action_endpoint), digest) in _held:
        del body["domain"]
    return body


async def request(self: Any, method: str = "post", subpath: str | None = None,
                  content_type: str | None = "application/json", compress: bool = False,
                  **kwargs: Any) -> Any:
    """``EndpointConfig.request``; a digest-only action call answered 449 is sent again with
    the domain."""
    stock = STOCK["request"]
    body = kwargs.get("json")
    if not isinstance(body, dict) or DIGEST not in body:
        return await stock(self, method, subpath, content_type, compress, **kwargs)
    key = (_url(self), body[DIGEST])
    if "domain" not in body:
        from rasa.utils.endpoints import ClientResponseError

        domain = _domains.get(body[DIGEST])
        try:
            return await stock(self, method, subpath, content_type, compress, **kwargs)
        except ClientResponseError as error:
            if error.status != MISSING_DOMAIN or domain is None:
                raise
            _held.discard(key)
            kwargs["json"] = body = {**body, "domain": domain}
    answer = await stock(self, method, subpath, content_type, compress, **kwargs)
    _held.add(key)
    return answer


def install() -> None:
    """Called by ``bot.rasa_speedups.install`` when the part is on."""
    if STOCK:
        return
    from rasa.core.actions.action import RemoteAction
    from rasa.utils.endpoints import EndpointConfig

    STOCK.update(action_call_format=RemoteAction._action_call_format,
                 request=EndpointConfig.request)
    RemoteAction._action_call_format = action_call_format  # type: ignore[method-assign]
    EndpointConfig.request = request  # type: ignore[method-assign]


def uninstall() -> None:
    """Rasa's own functions back (tests)."""
    if not STOCK:
        return
    from rasa.core.actions.action import RemoteAction
    from rasa.utils.endpoints import EndpointConfig

    RemoteAction._action_call_format = STOCK.pop("action_call_format")  # type: ignore
    EndpointConfig.request = STOCK.pop("request")  # type: ignore[method-assign]
    _held.clear()
