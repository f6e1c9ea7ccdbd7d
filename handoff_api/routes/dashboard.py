"""The supervisors' dashboard: metrics of a date range, live queue numbers, CSV export.

Read-only (GET) and for supervisors only: an agent gets 403. Every number comes from
``handoff_api.metrics`` (definitions in docs/metrics.md); dates are whole days in the business
time zone (``BUSINESS_TZ``), ``end`` included.
"""

from __future__ import annotations

import csv
import io
from datetime import date, datetime, time, timedelta
from typing import Annotated, Any
from zoneinfo import ZoneInfo

from fastapi import APIRouter, HTTPException, Query
from fastapi.responses import Response
from sqlalchemy import func, select

from handoff_api.deps import CurrentSupervisor, ServicesDep, SessionDep
from handoff_api.eta import agents_present
from handoff_api.metrics import DEFAULT_RETURN_HOURS, compute_metrics
from handoff_api.models import Handoff
from handoff_api.queue import now_utc
from handoff_api.routes.common import errors

router = APIRouter(prefix="/api/dashboard", tags=["dashboard"])

MAX_DAYS = 366
Filter = Annotated[str | None, Query(max_length=32, pattern=r"^[A-Za-z0-9_.-]+$")]


def _window(start: date | None, end: date | None, tz: str) -> tuple[datetime, datetime]:
    zone = ZoneInfo(tz)
    today = now_utc().astimezone(zone).date()
    end = end or today
    start = start or end - timedelta(days=6)
    if start > end:
        raise HTTPException(422, "start must be on or before end")
    if (end - start).days + 1 > MAX_DAYS:
        raise HTTPException(422, f"A range is at most {MAX_DAYS} days")
    return (datetime.combine(start, time(), zone),
            datetime.combine(end + timedelta(days=1), time(), zone))


def _summary(session: Any, services: Any, start: date | None, end: date | None,
             channel: str | None, language: str | None, market: str | None,
             return_hours: float) -> dict[str, Any]:
    tz = services.settings.business_tz
    since, until = _window(start, end, tz)
    data = compute_metrics(session, since=since, until=until, fcr_window_hours=return_hours,
                           channel=channel, language=language, market=market, tz=tz)
    # the days in the store's calendar, ``last_day`` included: the page shows these, so a
    # supervisor whose browser is in another time zone sees (and gets) the store's "today"
    data["window"].update(first_day=since.date().isoformat(),
                          last_day=(until - timedelta(days=1)).date().isoformat())
    return data


ReturnHours = Annotated[float, Query(gt=0, le=24 * 30)]


@router.get("/summary", responses=errors(401, 403))
def summary(_supervisor: CurrentSupervisor, session: SessionDep, services: ServicesDep,
            start: date | None = None, end: date | None = None, channel: Filter = None,
            language: Filter = None, market: Filter = None,
            return_hours: ReturnHours = DEFAULT_RETURN_HOURS) -> dict:
    """Headline numbers, time series (hourly for ranges of up to 2 days, else daily), breakdowns
    by channel, language and market, per-agent handling, KB answers and gaps, hourly heat map.
    Without ``start``/``end`` the range is the store's last 7 days, today included (business time
    zone); ``window.first_day``/``last_day`` say which days were counted."""
    return _summary(session, services, start, end, channel, language, market, return_hours)


@router.get("/live", responses=errors(401, 403))
def live(_supervisor: CurrentSupervisor, session: SessionDep, services: ServicesDep) -> dict:
    """Right now: queue depth, longest wait, conversations with agents, agents online."""
    now = now_utc()
    queued, oldest = session.execute(
        select(func.count(), func.min(Handoff.created_at)).where(Handoff.status == "queued")).one()
    assigned = session.scalar(select(func.count()).select_from(Handoff)
                              .where(Handoff.status == "assigned"))
    offline = session.scalar(select(func.count()).select_from(Handoff)
                             .where(Handoff.status == "offline"))
    if oldest is not None and oldest.tzinfo is None:  # SQLite aggregate: naive UTC text
        from datetime import UTC
        oldest = oldest.replace(tzinfo=UTC)
    if isinstance(oldest, str):
        from datetime import UTC
        oldest = datetime.fromisoformat(oldest).replace(tzinfo=UTC)
    return {
        "at": now.isoformat(),
        "queue_depth": int(queued or 0),
        "longest_wait_seconds": round((now - oldest).total_seconds(), 1) if oldest else None,
        "assigned": int(assigned or 0),
        "offline_cases": int(offline or 0),
        "agents_online": agents_present(session, services.settings.presence_seconds, now),
    }


def _cell(value: Any) -> Any:
    """Spreadsheets run cells starting with = + - @ as formulas: such text gets a quote."""
    if isinstance(value, str) and value[:1] in ("=", "+", "-", "@", "\t", "\r"):
        return "'" + value
    return "" if value is None else value


@router.get("/export.csv", responses={**errors(401, 403),
                                      200: {"content": {"text/csv": {}}}})
def export_csv(_supervisor: CurrentSupervisor, session: SessionDep, services: ServicesDep,
               start: date | None = None, end: date | None = None, channel: Filter = None,
               language: Filter = None, market: Filter = None,
               return_hours: ReturnHours = DEFAULT_RETURN_HOURS) -> Response:
    """The dashboard's numbers as CSV: the total, each time bucket, each channel/language/market;
    the same filters as the summary (``market`` included: the rows then cover that market)."""
    data = _summary(session, services, start, end, channel, language, market, return_hours)
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(["group", "key", "conversations", "handoffs", "handoff_rate",
                     "contained", "containment_rate", "csat_bot", "csat_human",
                     "first_response_median_s", "handling_median_s", "ces_bot", "ces_human"])
    writer.writerow(["total", "all", data["conversations"], data["handoffs"],
                     data["handoff_rate"], data["containment"]["contained"],
                     data["containment"]["rate"], data["csat"]["bot"]["mean"],
                     data["csat"]["human"]["mean"], data["first_response_seconds"]["median"],
                     data["handling_seconds"]["median"], data["ces"]["bot"]["mean"],
                     data["ces"]["human"]["mean"]])
    for row in data["timeseries"]:
        writer.writerow([_cell(x) for x in [
            data["window"]["bucket"], row["bucket"], row["conversations"], row["handoffs"],
            None, row["contained"], row["containment_rate"], None, None, None, None, None,
            None]])
    for dim, groups in data["breakdowns"].items():
        for key, b in groups.items():
            writer.writerow([_cell(x) for x in [
                dim, key, b["conversations"], b["handoffs"], b["handoff_rate"], None,
                b["containment_rate"], b["csat_bot"], b["csat_human"], None,
                b["handling_median"], b["ces_bot"], b["ces_human"]]])
    # the days counted, the last one included (``end`` is the next day's midnight)
    name = f"atiende-metrics-{data['window']['first_day']}-{data['window']['last_day']}.csv"
    return Response(out.getvalue(), media_type="text/csv; charset=utf-8",
                    headers={"Content-Disposition": f'attachment; filename="{name}"'})
