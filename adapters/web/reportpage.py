"""The reports page: a date range, a chart per series with its table under it, and a CSV
export of each table."""

from __future__ import annotations

import csv
import io
from datetime import date, timedelta

from markupsafe import Markup
from starlette.responses import PlainTextResponse, Response
from starlette.routing import Route

from adapters.web import charts
from adapters.web.parts import Parts, ago
from adapters.web.site import Ctx, signed_in
from bot.queries import Period, Report
from bot.reports import Row

DEFAULT_DAYS = 30
MAX_DAYS = 366
HEAD = ("opened", "closed", "first_median", "first_p90", "resolution_median", "resolution_p90",
        "within_sla", "csat_mean", "csat_1", "csat_2", "csat_3", "csat_4", "csat_5")  # fmt: skip
RENDERED_KEPT = 32  # rendered report bodies kept (a kept Report is reused while it is fresh)
ROW_TABLES = ("by_day", "by_category", "by_platform", "by_moderator")


def _period(p: Parts, ctx: Ctx) -> Period:
    """The range asked for (default: the last 30 days), at most a year."""
    q = ctx.request.query_params
    last = _date(q.get("to", "")) or p.today()
    first = _date(q.get("from", "")) or last - timedelta(days=DEFAULT_DAYS - 1)
    first = min(first, last)
    first = max(first, last - timedelta(days=MAX_DAYS - 1))
    return Period(first, last, p.queries.timezone)


def _date(raw: str) -> date | None:
    try:
        return date.fromisoformat(raw.strip())
    except ValueError:
        return None


def _minutes(seconds: float | None) -> float | None:
    return None if seconds is None else round(seconds / 60, 1)


def _charts(ctx: Ctx, report: Report) -> dict[str, charts.Chart]:
    days = [r.key for r in report.by_day]
    made = {
        "by_day": charts.bars(
            days,
            [(ctx.t("web_col_opened"), [r.opened for r in report.by_day]),
             (ctx.t("web_col_closed"), [r.closed for r in report.by_day])],
        ),
        "first_by_day": charts.bars(
            days,
            [(ctx.t("web_col_first_median"), [_minutes(r.first_median) for r in report.by_day]),
             (ctx.t("web_col_first_p90"), [_minutes(r.first_p90) for r in report.by_day])],
            "{:.0f}",
        ),
        "csat": charts.bars(
            ["1", "2", "3", "4", "5"], [(ctx.t("web_col_ratings"), list(report.total.csat))]
        ),
    }  # fmt: skip
    for table in ("by_category", "by_platform", "by_moderator"):
        rows: list[Row] = getattr(report, table)[:20]
        names = report.moderators if table == "by_moderator" else {}
        made[table] = charts.bars(
            [names.get(r.key, r.key) for r in rows],
            [(ctx.t("web_col_opened"), [r.opened for r in rows]),
             (ctx.t("web_col_closed"), [r.closed for r in rows])],
        )  # fmt: skip
    return made


def _csv(report: Report, table: str) -> list[list[object]]:
    if table in ROW_TABLES:
        # a moderator's row keeps their key (the identity) and adds the name they go by
        named = table == "by_moderator"
        lines: list[list[object]] = [["key", *(["name"] if named else []), *HEAD]]
        for r in getattr(report, table):
            lines.append([
                r.key, *([report.moderators.get(r.key, r.key)] if named else []), r.opened,
                r.closed, r.first_median, r.first_p90, r.resolution_median, r.resolution_p90,
                r.within_sla, r.csat_mean, *r.csat,
            ])  # fmt: skip
        return lines
    if table == "articles":
        return [["article", "solved", "not_solved", "rate"]] + [
            [a.article_id, a.solved, a.not_solved, round(a.rate, 4)] for a in report.articles
        ]
    pairs = report.found_nothing if table == "found_nothing" else report.not_solved
    return [["query", "count"]] + [[q, n] for q, n in pairs]


def routes(p: Parts) -> list[Route]:
    """The reports page and its CSV files."""

    rendered: dict[tuple[int, str], str] = {}  # (id of a kept Report, lang) -> its HTML

    @signed_in(p.guard)
    async def page(ctx: Ctx) -> Response:
        period = _period(p, ctx)
        report = await p.queries.report(period)
        key = (id(report), ctx.lang)
        body = rendered.get(key)
        if body is None:
            if len(rendered) >= RENDERED_KEPT:
                rendered.clear()
            body = rendered[key] = p.templates.text(
                ctx, "reports_main.html", report=report, period=period, minutes=_minutes,
                charts=_charts(ctx, report), ago=lambda seconds: ago(ctx, seconds),
                titles={a.article_id: p.queries.article_title(a.article_id, ctx.lang)
                        for a in report.articles},
            )  # fmt: skip
        return p.render(ctx, "reports.html", body=Markup(body), period=period)

    @signed_in(p.guard, page=False)
    async def export(ctx: Ctx) -> Response:
        table = str(ctx.request.path_params.get("table", ""))
        if table not in (*ROW_TABLES, "articles", "found_nothing", "not_solved"):
            return PlainTextResponse("not found", 404)
        period = _period(p, ctx)
        report = await p.queries.report(period)
        out = io.StringIO()
        csv.writer(out).writerows(_csv(report, table))
        name = f"kefu-{table}-{period.first}-{period.last}.csv"
        return Response(
            "\ufeff" + out.getvalue(),  # a BOM: spreadsheet programs then read UTF-8 (中文)
            media_type="text/csv; charset=utf-8",
            headers={"content-disposition": f'attachment; filename="{name}"'},
        )

    return [Route("/reports", page), Route("/reports/{table}.csv", export)]
